import { and, eq, inArray } from 'drizzle-orm';
import type { Database, Queryable, Tx } from '../db/database.ts';
import { followRelations, outgoingWrites, relationTagChanges, relationTags, type OutgoingWriteState } from '../db/schema.ts';
import type { WecomClient } from '../wecom/client.ts';
import type * as Api from '../wecom/api-types.ts';
import { strategyTagIds } from './relation-tags.ts';
import { writeJobId, type Queues } from '../../jobs/queues.ts';

/**
 * Every write to WeCom goes through the `wecom-writes` queue: recorded in `outgoing_writes`, rate
 * limited per API, retried on transient errors, and followed by the local change (WeCom sends no
 * callback for changes made through its API, so local state is updated here).
 */
export type WriteRequest =
  | { api: 'mark_tag'; payload: Api.MarkTagRequest }
  | { api: 'remark'; payload: Api.RemarkRequest }
  | { api: 'send_welcome_msg'; payload: Api.SendWelcomeMsgRequest }
  | { api: 'transfer_customer'; payload: Api.TransferCustomerRequest }
  | { api: 'resigned_transfer_customer'; payload: Api.ResignedTransferCustomerRequest }
  | { api: 'message_send'; payload: Api.AppMessageRequest }
  | { api: 'add_msg_template'; payload: Api.AddMsgTemplateRequest };

export type WriteApi = WriteRequest['api'];

/** The WeCom path of each write, used as the rate-limit bucket (WeCom limits per corp per API). */
export const WRITE_PATHS: Record<WriteApi, string> = {
  mark_tag: '/cgi-bin/externalcontact/mark_tag',
  remark: '/cgi-bin/externalcontact/remark',
  send_welcome_msg: '/cgi-bin/externalcontact/send_welcome_msg',
  transfer_customer: '/cgi-bin/externalcontact/transfer_customer',
  resigned_transfer_customer: '/cgi-bin/externalcontact/resigned/transfer_customer',
  message_send: '/cgi-bin/message/send',
  add_msg_template: '/cgi-bin/externalcontact/add_msg_template',
};

export async function queueWrite(db: Database, queues: Queues, request: WriteRequest, requestedBy: string | null, options: { priority?: number } = {}): Promise<number> {
  const id = await recordWrite(db, request, requestedBy);
  await enqueueWrite(queues, id, options);
  return id;
}

/** Records a write inside the caller's transaction; enqueue it with `enqueueWrite` after commit. */
export async function recordWrite(db: Queryable, request: WriteRequest, requestedBy: string | null): Promise<number> {
  const [row] = await db.insert(outgoingWrites).values({ api: request.api, payload: request.payload as unknown as Record<string, unknown>, requestedBy }).returning({ id: outgoingWrites.id });
  return row!.id;
}

/**
 * A failed enqueue leaves the row `queued`; the maintenance sweep re-enqueues it. BullMQ runs jobs
 * without a priority before prioritised ones, so interactive writes pass none; a `priority` marks
 * bulk work that may wait.
 */
export async function enqueueWrite(queues: Queues, id: number, options: { priority?: number } = {}): Promise<void> {
  await queues.writes.add('write', { writeId: id }, { jobId: writeJobId(id), priority: options.priority }).catch(() => undefined);
}

/** Waits (bounded) for a write to finish, so an interactive caller can answer with its outcome. */
export async function awaitWrite(db: Queryable, id: number, timeoutMs: number): Promise<{ state: OutgoingWriteState; errcode: number | null; error: string | null }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [row] = await db.select({ state: outgoingWrites.state, errcode: outgoingWrites.errcode, error: outgoingWrites.error }).from(outgoingWrites).where(eq(outgoingWrites.id, id));
    if (!row || row.state !== 'queued' || Date.now() > deadline) return row ?? { state: 'failed', errcode: null, error: 'write not found' };
    await new Promise((r) => setTimeout(r, 40));
  }
}

/** Calls WeCom for one write. Returns the API's answer (kept as the write's result). */
export async function performWrite(wecom: WecomClient, request: WriteRequest): Promise<Record<string, unknown>> {
  switch (request.api) {
    case 'mark_tag': await wecom.markTag(request.payload); return {};
    case 'remark': await wecom.remark(request.payload); return {};
    case 'send_welcome_msg': await wecom.sendWelcomeMsg(request.payload); return {};
    case 'transfer_customer': return { ...(await wecom.transferCustomer(request.payload)) };
    case 'resigned_transfer_customer': return { ...(await wecom.resignedTransferCustomer(request.payload)) };
    case 'message_send': return { ...(await wecom.sendAppMessage(request.payload)) };
    case 'add_msg_template': return { ...(await wecom.addMsgTemplate(request.payload)) };
  }
}

/** The local change that mirrors a successful write, in the same transaction that records it. */
export async function applyWriteLocally(tx: Tx, request: WriteRequest): Promise<void> {
  if (request.api === 'mark_tag') {
    const { userid, external_userid: externalUserId, add_tag: add = [], remove_tag: remove = [] } = request.payload;
    const ruleGroup = await strategyTagIds(tx, add);
    if (remove.length) {
      await tx.delete(relationTags).where(and(eq(relationTags.externalUserId, externalUserId), eq(relationTags.userid, userid), inArray(relationTags.tagId, remove)));
    }
    if (add.length) {
      await tx.insert(relationTags).values(add.map((tagId) => ({ externalUserId, userid, tagId, kind: ruleGroup.has(tagId) ? 'strategy' as const : 'corp' as const }))).onConflictDoNothing();
    }
    await tx.insert(relationTagChanges).values({ externalUserId, userid, added: add, removed: remove, source: 'api' });
  } else if (request.api === 'remark') {
    const p = request.payload;
    const change: Partial<typeof followRelations.$inferInsert> = {};
    if (p.remark !== undefined) change.remark = p.remark;
    if (p.description !== undefined) change.description = p.description;
    if (p.remark_company !== undefined) change.remarkCorpName = p.remark_company;
    if (p.remark_mobiles !== undefined) change.remarkMobiles = p.remark_mobiles.filter((m) => m !== '');
    if (Object.keys(change).length) {
      await tx.update(followRelations).set(change).where(and(eq(followRelations.externalUserId, p.external_userid), eq(followRelations.userid, p.userid)));
    }
  }
}
