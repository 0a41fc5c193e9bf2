// Control: an admin changes a member's userid in the WeCom admin console (allowed once for a
// system-generated userid). WeCom then knows the member only by the new id, and sends the contact
// change callback `change_contact` / `update_user` with `UserID` (old) and `NewUserID` (new).
import express from 'express';
import type { Router } from 'express';
import { z } from 'zod';
import { badRequest } from '../errors.ts';
import type { SimContext } from '../context.ts';
import type { CorpState } from '../state.ts';
import { control, input } from './common.ts';

const renameSchema = z.object({
  userid: z.string().min(1),
  new_userid: z.string().min(1).max(64).regex(/^[A-Za-z0-9_.@-]+$/, 'new_userid: letters, digits and _ . @ - only'),
});

/** Moves every reference to a member from one userid to another inside the corp. */
export function renameMemberInCorp(corp: CorpState, from: string, to: string): void {
  corp.members = new Map([...corp.members].map(([id, member]) => (id === from ? [to, { ...member, userid: to }] : [id, member])));
  const swap = (id: string): string => (id === from ? to : id);
  for (const customer of corp.customers.values()) {
    for (const follow of customer.follows) {
      follow.userid = swap(follow.userid);
      follow.oper_userid = swap(follow.oper_userid);
    }
  }
  for (const way of corp.contactWays.values()) way.user = way.user.map(swap);
  for (const strategy of corp.strategies) {
    strategy.admin_list = strategy.admin_list.map(swap);
    strategy.range = strategy.range.map((item) => (item.type === 1 ? { type: 1, userid: swap(item.userid) } : item));
  }
  for (const transfer of corp.transfers) {
    transfer.handover_userid = swap(transfer.handover_userid);
    transfer.takeover_userid = swap(transfer.takeover_userid);
  }
  for (const msg of corp.groupMsgs) {
    msg.creator = swap(msg.creator);
    for (const task of msg.tasks) task.userid = swap(task.userid);
  }
  for (const code of [...corp.oauthCodes.values(), ...corp.welcomeCodes.values()]) code.userid = swap(code.userid);
}

export function membersControlRouter(ctx: SimContext): Router {
  const router = express.Router();

  router.post('/members/rename', control(ctx, (req) => {
    const body = input(renameSchema, req.body);
    if (!ctx.corp.members.has(body.userid)) badRequest(`unknown member ${body.userid}`);
    if (ctx.corp.members.has(body.new_userid)) badRequest(`userid ${body.new_userid} is already taken`);
    renameMemberInCorp(ctx.corp, body.userid, body.new_userid);
    const record = ctx.callbacks.send({ Event: 'change_contact', ChangeType: 'update_user', UserID: body.userid, NewUserID: body.new_userid });
    return { userid: body.new_userid, previous: body.userid, event: record.id };
  }));

  return router;
}
