// Customer transfers run on the simulator clock: a transfer waits 24 h (status 2), then completes
// (status 1) unless the customer refused (3) or the takeover member hit the cap (4). Completion
// moves the relation: the old one is removed — for in-service transfers with a del_external_contact
// event carrying Source=DELETE_BY_TRANSFER — and the takeover member gets one with add_way 202 and
// an add_external_contact event, unless they already had the customer (then no event, as in WeCom).
import { badRequest } from './errors.ts';
import type { SimContext } from './context.ts';
import type { Transfer } from './state.ts';

export const TAKEOVER_DELAY_SECONDS = 24 * 3600;

function complete(ctx: SimContext, transfer: Transfer, now: number): void {
  transfer.status = 1;
  const customer = ctx.corp.customers.get(transfer.external_userid);
  if (!customer) return;
  const old = customer.follows.find((f) => f.userid === transfer.handover_userid);
  customer.follows = customer.follows.filter((f) => f !== old);
  if (old && transfer.kind === 'onjob') {
    ctx.callbacks.send({
      Event: 'change_external_contact',
      ChangeType: 'del_external_contact',
      UserID: transfer.handover_userid,
      ExternalUserID: customer.external_userid,
      Source: 'DELETE_BY_TRANSFER',
    });
  }
  if (customer.follows.some((f) => f.userid === transfer.takeover_userid && !f.half)) return;
  customer.follows = customer.follows.filter((f) => f.userid !== transfer.takeover_userid);
  // Corp tags and the remark travel with the customer; rule-group tags only where the new member is
  // in the group's range; personal tags belong to the old member and stay behind.
  const tagIds = (old?.tagIds ?? []).filter((id) => {
    const found = ctx.corp.findTag(id);
    if (!found) return false;
    if (found.group.strategyId === undefined) return true;
    const strategy = ctx.corp.strategy(found.group.strategyId);
    return strategy !== undefined && ctx.corp.inRange(strategy.range, transfer.takeover_userid);
  });
  customer.follows.push({
    userid: transfer.takeover_userid,
    remark: old?.remark ?? '',
    description: old?.description ?? '',
    createtime: now,
    tagIds,
    personalTags: [],
    remark_corp_name: old?.remark_corp_name ?? '',
    remark_mobiles: old?.remark_mobiles ?? [],
    oper_userid: transfer.handover_userid,
    add_way: 202,
    half: false,
    customerDeleted: false,
  });
  ctx.callbacks.send({
    Event: 'change_external_contact',
    ChangeType: 'add_external_contact',
    UserID: transfer.takeover_userid,
    ExternalUserID: customer.external_userid,
  });
}

/** Completes every waiting transfer whose takeover time has come (called on each request and clock move). */
export function processDueTransfers(ctx: SimContext): void {
  const now = ctx.clock.now();
  for (const transfer of ctx.corp.transfers) {
    if (transfer.status === 2 && transfer.takeover_time <= now) complete(ctx, transfer, now);
  }
}

/** The customer refuses (or the takeover member is at the cap): the transfer fails with a callback. */
export function failTransfer(ctx: SimContext, externalUserid: string, reason: 'customer_refused' | 'customer_limit_exceed'): Transfer {
  const transfer = ctx.corp.transfers.find((t) => t.external_userid === externalUserid && t.status === 2);
  if (!transfer) badRequest(`no waiting transfer for customer ${externalUserid}`);
  transfer.status = reason === 'customer_refused' ? 3 : 4;
  ctx.callbacks.send({
    Event: 'change_external_contact',
    ChangeType: 'transfer_fail',
    FailReason: reason,
    UserID: transfer.takeover_userid,
    ExternalUserID: externalUserid,
  });
  return transfer;
}
