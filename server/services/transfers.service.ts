import { randomUUID } from 'node:crypto';
import { and, asc, eq, inArray, isNull, sql } from 'drizzle-orm';
import type { AppContext } from '../context.ts';
import type { Database, Queryable, Tx } from '../db/database.ts';
import {
  auditLog, backgroundJobs, customers, members, outgoingWrites, transferBatches, transferItems,
  type TransferItemState, type TransferKind,
} from '../db/schema.ts';
import { DomainError } from '../http/domain-error.ts';
import { reason } from '../http/reason.ts';
import { customerScopeSql } from '../policy/customer-scope.ts';
import type { TransferResultItem } from '../wecom/api-types.ts';
import type { WecomClient } from '../wecom/client.ts';
import { describeErrcode } from '../wecom/errors.ts';
import { auditDeniedCustomers, checkCustomers, deniedError } from './assignment.service.ts';
import { audit } from './audit.service.ts';
import { updateBackgroundJob } from './background-jobs.service.ts';
import { loadAccessSubject } from './customer-access.service.ts';
import { rowsOf } from './customer-filter.ts';
import { isAdmin } from './members.service.ts';
import { MEMBER_LEFT } from './org-sync.service.ts';
import { customersById, memberWithinScope, moveOwners } from './owner-moves.ts';
import { enqueueWrite, recordWrite } from './wecom-writes.service.ts';
import type { Queues } from '../../jobs/queues.ts';

/**
 * Transfers of the WeCom relationship (在职继承 / 离职继承, wecom-api.md §7). A request becomes one
 * batch per (handover, takeover) pair; each customer is an item:
 *
 *   pending ──send (≤ 100 per call, through the wecom-writes queue)──▶ waiting
 *   waiting ──transfer_result / transfer_fail──▶ done | refused | over_limit | failed
 *
 * `waiting` with `errcode` null means the call is queued and WeCom has not answered yet; errcode 0
 * means WeCom started the handover (the takeover follows 24 h later unless the customer refuses).
 * Customers over WeCom's 2-in-90-days rule are reported as `over_limit` (40128) and never sent.
 * Which write carried which customers is kept in the `transfer.sent` audit entries (the schema has
 * no write id on items).
 */

export const TRANSFER_CHUNK = 100;
/** WeCom: a customer can be transferred in service at most twice within 90 days (40128). */
export const TRANSFERS_PER_90_DAYS = 2;
export const MANUAL_TRANSFER_MAX = 10_000;

export interface PlannedTransfer {
  externalUserId: string;
  handover: string | null;
  takeover: string;
}

export interface NotSent {
  externalUserId: string;
  state: TransferItemState | 'not_created';
  errcode: number | null;
  reason: string;
}

export interface CreatedBatch {
  id: string;
  kind: TransferKind;
  handover: string;
  takeover: string;
  customers: number;
  toSend: number;
}

interface PlanRow {
  id: string;
  handover: string | null;
  takeover: string;
  known: boolean;
  handover_status: number | null;
  follows: boolean;
  recent: number;
  open_batch: string | null;
}

const OVER_LIMIT_ERRCODES = new Set([40128, 40099]);

function stateForErrcode(errcode: number): TransferItemState {
  return OVER_LIMIT_ERRCODES.has(errcode) ? 'over_limit' : 'failed';
}

/**
 * Creates the batches and items of one request inside the caller's transaction, after the caller
 * decided the request is allowed. Customers that cannot be sent are recorded (or reported) with the
 * reason, never sent: no handover, handover = takeover, handover not a follower (40131), already in an
 * open transfer (40129), or over the 2-in-90-days rule (40128).
 */
export async function createTransferBatches(tx: Tx, actor: string | null, backgroundJobId: string, planned: PlannedTransfer[]): Promise<{ batches: CreatedBatch[]; notSent: NotSent[] }> {
  // One creator at a time: the open-transfer and 90-day checks must see every earlier request.
  await tx.execute(sql`select pg_advisory_xact_lock(hashtext('transfers:create'))`);
  const request = JSON.stringify(planned.map((p) => ({ id: p.externalUserId, handover: p.handover, takeover: p.takeover })));
  const rows = await rowsOf<PlanRow>(tx, sql`
    with req as (select * from json_to_recordset(${request}::json) as r(id text, handover text, takeover text))
    select req.id, req.handover, req.takeover, m.status as handover_status,
      exists (select 1 from customers c where c.external_userid = req.id) as known,
      exists (select 1 from follow_relations fr where fr.external_userid = req.id and fr.userid = req.handover and fr.status = 'active') as follows,
      (select count(*)::int from transfer_items ti join transfer_batches b on b.id = ti.batch_id
        where ti.external_userid = req.id and b.kind = 'in_service' and b.created_at > now() - interval '90 days'
          and (ti.errcode = 0 or ti.state = 'waiting')) as recent,
      (select ti.batch_id from transfer_items ti where ti.external_userid = req.id and ti.state in ('pending', 'waiting') limit 1) as open_batch
    from req left join members m on m.userid = req.handover
    order by req.id`);
  const notSent: NotSent[] = [];
  const groups = new Map<string, { handover: string; takeover: string; kind: TransferKind; items: (typeof transferItems.$inferInsert)[] }>();
  for (const row of rows) {
    if (!row.known) {
      notSent.push({ externalUserId: row.id, state: 'not_created', errcode: null, reason: 'no such customer' });
      continue;
    }
    if (!row.handover) {
      notSent.push({ externalUserId: row.id, state: 'not_created', errcode: null, reason: 'the customer has no owner to hand over from: name the handover member' });
      continue;
    }
    if (row.handover_status === null) {
      notSent.push({ externalUserId: row.id, state: 'not_created', errcode: null, reason: `${row.handover} is not a known member` });
      continue;
    }
    if (row.handover === row.takeover) {
      notSent.push({ externalUserId: row.id, state: 'not_created', errcode: 40130, reason: describeErrcode(40130).text });
      continue;
    }
    const kind: TransferKind = row.handover_status === MEMBER_LEFT ? 'resigned' : 'in_service';
    const key = `${row.handover}\u0000${row.takeover}`;
    const group = groups.get(key) ?? { handover: row.handover, takeover: row.takeover, kind, items: [] };
    groups.set(key, group);
    let state: TransferItemState = 'pending';
    let errcode: number | null = null;
    let error: string | null = null;
    if (row.open_batch) [state, errcode, error] = ['failed', 40129, `already being transferred (transfer ${row.open_batch})`];
    else if (!row.follows) [state, errcode, error] = ['failed', 40131, describeErrcode(40131).text];
    else if (kind === 'in_service' && row.recent >= TRANSFERS_PER_90_DAYS) [state, errcode, error] = ['over_limit', 40128, describeErrcode(40128).text];
    group.items.push({ batchId: '', externalUserId: row.id, state, errcode, error });
    if (state !== 'pending') notSent.push({ externalUserId: row.id, state, errcode, reason: error! });
  }
  const batches: CreatedBatch[] = [];
  for (const group of groups.values()) {
    const id = `transfer-${randomUUID()}`;
    await tx.insert(transferBatches).values({ id, kind: group.kind, handoverUserid: group.handover, takeoverUserid: group.takeover, requestedBy: actor, backgroundJobId });
    for (let i = 0; i < group.items.length; i += 1_000) {
      await tx.insert(transferItems).values(group.items.slice(i, i + 1_000).map((item) => ({ ...item, batchId: id })));
    }
    const toSend = group.items.filter((i) => i.state === 'pending').length;
    await audit(tx, {
      actor, action: 'transfer.requested', subjectType: 'transfer', subjectId: id, outcome: 'allowed',
      details: {
        kind: group.kind, handover: group.handover, takeover: group.takeover, backgroundJobId,
        customers: group.items.map((i) => i.externalUserId), notSent: group.items.filter((i) => i.state !== 'pending').map((i) => ({ id: i.externalUserId, errcode: i.errcode })),
      },
    });
    batches.push({ id, kind: group.kind, handover: group.handover, takeover: group.takeover, customers: group.items.length, toSend });
  }
  return { batches, notSent };
}

export interface TransferRequest {
  externalUserIds: string[];
  takeover: string;
  /** Default: each customer's owner. */
  handover?: string;
}

export interface TransferRequestResult {
  jobId: string;
  transfers: CreatedBatch[];
  notSent: NotSent[];
}

/**
 * `POST /api/transfers`: the actor needs `transfer` on every customer and the takeover member must be
 * inside their own scope; otherwise nothing is created and the refusal is audited.
 */
export async function requestTransfers(ctx: AppContext, actor: string, request: TransferRequest): Promise<TransferRequestResult> {
  const ids = [...new Set(request.externalUserIds)].sort();
  if (ids.length > MANUAL_TRANSFER_MAX) throw new DomainError('BAD_REQUEST', `at most ${MANUAL_TRANSFER_MAX} customers per transfer request`);
  const subject = await loadAccessSubject(ctx.db, actor, ctx.config.adminUserIds);
  const check = await checkCustomers(ctx.db, subject, 'transfer', ids);
  const takeoverOk = await memberWithinScope(ctx.db, subject, 'transfer', request.takeover);
  if (check.notFound.length || check.notAllowed.length || !takeoverOk) {
    await auditDeniedCustomers(ctx.db, actor, 'transfer.request', ids, { takeover: request.takeover, handover: request.handover ?? null, notFound: check.notFound, notAllowed: check.notAllowed, takeoverOutsideScope: !takeoverOk });
    if (check.notFound.length || check.notAllowed.length) throw deniedError('transfer', check);
    throw new DomainError('FORBIDDEN', `nothing changed: ${request.takeover} is not an active member inside your scope`, { takeover: request.takeover, notFound: [], notAllowed: [] }, reason('ownership.member_outside_scope', { member: request.takeover }));
  }
  const owners = request.handover
    ? new Map<string, string | null>()
    : new Map((await ctx.db.select({ id: customers.externalUserId, owner: customers.ownerUserid }).from(customers).where(inArray(customers.externalUserId, ids))).map((r) => [r.id, r.owner]));
  const planned = ids.map((id) => ({ externalUserId: id, handover: request.handover ?? owners.get(id) ?? null, takeover: request.takeover }));
  const jobId = `transfer-job-${randomUUID()}`;
  const created = await ctx.db.transaction(async (tx) => {
    await tx.insert(backgroundJobs).values({ id: jobId, kind: 'transfer', requestedBy: actor, total: ids.length });
    return createTransferBatches(tx, actor, jobId, planned);
  });
  await enqueueTransferJob(ctx.queues, jobId);
  return { jobId, transfers: created.batches, notSent: created.notSent };
}

export async function enqueueTransferJob(queues: Queues, backgroundJobId: string): Promise<void> {
  await queues.transfers.add('send', { backgroundJobId }, { jobId: backgroundJobId });
}

// ── the job: send, then wait for WeCom's answers ─────────────────────────────────────────────────

export interface TransferDeps {
  db: Database;
  queues: Queues;
  wecom: WecomClient;
  adminUserIds: string[];
}

/**
 * Authority is re-checked when the job runs: items whose customer left the requester's `transfer`
 * scope (or whose takeover member left it) since the request fail without being sent.
 */
async function recheckAuthority(deps: TransferDeps, batch: typeof transferBatches.$inferSelect): Promise<void> {
  if (!batch.requestedBy) return;
  const subject = await loadAccessSubject(deps.db, batch.requestedBy, deps.adminUserIds);
  const takeoverOk = await memberWithinScope(deps.db, subject, 'transfer', batch.takeoverUserid);
  await deps.db.transaction(async (tx) => {
    const failed = await rowsOf<{ id: string }>(tx, sql`
      update transfer_items ti set state = 'failed', error = 'no longer allowed when the transfer was sent', updated_at = now()
      from ${customers}
      where ti.batch_id = ${batch.id} and ti.state = 'pending' and ${customers.externalUserId} = ti.external_userid
        and ${takeoverOk ? sql`not (${customerScopeSql(subject, 'transfer')})` : sql`true`}
      returning ti.external_userid as id`);
    if (failed.length) {
      await audit(tx, {
        actor: batch.requestedBy, action: 'transfer.send', subjectType: 'transfer', subjectId: batch.id, outcome: 'denied',
        details: { reason: takeoverOk ? 'customers outside the requester\'s transfer scope when the job ran' : 'takeover member outside the requester\'s scope when the job ran', customers: failed.map((f) => f.id) },
      });
    }
  });
}

/** Sends the batch's pending items in calls of at most 100 customers, through the write queue. */
async function sendPending(deps: TransferDeps, batch: typeof transferBatches.$inferSelect): Promise<void> {
  const api = batch.kind === 'resigned' ? 'resigned_transfer_customer' as const : 'transfer_customer' as const;
  for (;;) {
    const writeId = await deps.db.transaction(async (tx) => {
      const chunk = await tx.select({ id: transferItems.externalUserId }).from(transferItems)
        .where(and(eq(transferItems.batchId, batch.id), eq(transferItems.state, 'pending')))
        .orderBy(asc(transferItems.externalUserId)).limit(TRANSFER_CHUNK).for('update');
      if (chunk.length === 0) return null;
      const ids = chunk.map((c) => c.id);
      const id = await recordWrite(tx, { api, payload: { handover_userid: batch.handoverUserid, takeover_userid: batch.takeoverUserid, external_userid: ids } }, batch.requestedBy);
      await tx.update(transferItems).set({ state: 'waiting', errcode: null, error: null, updatedAt: sql`now()` })
        .where(and(eq(transferItems.batchId, batch.id), inArray(transferItems.externalUserId, ids)));
      await audit(tx, { actor: batch.requestedBy, action: 'transfer.sent', subjectType: 'transfer', subjectId: batch.id, outcome: 'done', details: { writeId: id, api, externalUserIds: ids } });
      return id;
    });
    if (writeId === null) return;
    // Bulk work: behind interactive writes (tags) in the shared write queue.
    await enqueueWrite(deps.queues, writeId, { priority: 5 });
  }
}

/**
 * Applies WeCom's per-customer answers of the batch's sent calls to items still waiting for them.
 * Returns how many items are still without an answer (their call is queued or being retried).
 */
export async function reconcileSentWrites(db: Database, batchId: string): Promise<number> {
  const unanswered = new Set((await db.select({ id: transferItems.externalUserId }).from(transferItems)
    .where(and(eq(transferItems.batchId, batchId), eq(transferItems.state, 'waiting'), isNull(transferItems.errcode)))).map((r) => r.id));
  if (unanswered.size === 0) return 0;
  const sent = await db.select({ details: auditLog.details }).from(auditLog)
    .where(and(eq(auditLog.subjectType, 'transfer'), eq(auditLog.subjectId, batchId), eq(auditLog.action, 'transfer.sent')))
    .orderBy(asc(auditLog.id));
  let still = 0;
  for (const entry of sent) {
    const writeId = Number(entry.details.writeId);
    const externalUserIds = entry.details.externalUserIds as string[];
    const [write] = await db.select().from(outgoingWrites).where(eq(outgoingWrites.id, writeId));
    if (!write || write.state === 'queued') {
      still += externalUserIds.filter((id) => unanswered.has(id)).length;
      continue;
    }
    await db.transaction(async (tx) => {
      const answered: Record<string, string[]> = {};
      const setState = async (ids: string[], state: TransferItemState, errcode: number | null, error: string | null): Promise<string[]> => {
        if (ids.length === 0) return [];
        const changed = await tx.update(transferItems).set({ state, errcode, error, updatedAt: sql`now()` })
          .where(and(eq(transferItems.batchId, batchId), inArray(transferItems.externalUserId, ids), eq(transferItems.state, 'waiting'), isNull(transferItems.errcode)))
          .returning({ id: transferItems.externalUserId });
        return changed.map((c) => c.id);
      };
      if (write.state === 'done') {
        const results = ((write.result as { customer?: { external_userid: string; errcode: number }[] } | null)?.customer ?? []);
        const byCode = new Map<number, string[]>();
        for (const r of results) byCode.set(r.errcode, [...(byCode.get(r.errcode) ?? []), r.external_userid]);
        for (const [errcode, ids] of byCode) {
          const changed = errcode === 0
            ? await setState(ids, 'waiting', 0, null)
            : await setState(ids, stateForErrcode(errcode), errcode, describeErrcode(errcode).text);
          if (changed.length) answered[String(errcode)] = changed;
        }
        const missing = externalUserIds.filter((id) => !results.some((r) => r.external_userid === id));
        const lost = await setState(missing, 'failed', null, 'WeCom did not answer for this customer');
        if (lost.length) answered.unanswered = lost;
      } else {
        const errcode = write.errcode ?? null;
        const error = write.error ?? 'the WeCom call failed';
        const changed = await setState(externalUserIds, errcode === null ? 'failed' : stateForErrcode(errcode), errcode, error);
        if (changed.length) answered[String(errcode ?? 'failed')] = changed;
      }
      if (Object.keys(answered).length) {
        await audit(tx, { actor: null, action: 'transfer.answered', subjectType: 'transfer', subjectId: batchId, outcome: write.state === 'done' ? 'done' : 'failed', details: { writeId, byErrcode: answered } });
      }
    });
  }
  return still;
}

/** Progress of a transfer job: an item counts once WeCom has answered for it (or it was never sendable). */
export async function updateTransferProgress(db: Database, backgroundJobId: string): Promise<{ done: number; total: number }> {
  const [row] = await rowsOf<{ done: number; total: number }>(db, sql`
    select count(*) filter (where not (ti.state = 'pending' or (ti.state = 'waiting' and ti.errcode is null)))::int as done, count(*)::int as total
    from transfer_items ti join transfer_batches b on b.id = ti.batch_id where b.background_job_id = ${backgroundJobId}`);
  await updateBackgroundJob(db, backgroundJobId, { done: row!.done, total: row!.total });
  return row!;
}

export class TransferNotAnsweredYet extends Error {
  override name = 'TransferNotAnsweredYet';
}

/**
 * The `wecom-transfers` send job. Safe to run again: items already sent are not sent twice (the send
 * marks them waiting in the same transaction that records the write), and answers are applied once.
 */
export async function runTransferJob(deps: TransferDeps, backgroundJobId: string, options: { waitMs?: number } = {}): Promise<void> {
  const batches = await deps.db.select().from(transferBatches).where(eq(transferBatches.backgroundJobId, backgroundJobId)).orderBy(asc(transferBatches.id));
  await updateBackgroundJob(deps.db, backgroundJobId, { state: 'running' });
  for (const batch of batches) {
    await recheckAuthority(deps, batch);
    await sendPending(deps, batch);
  }
  const deadline = Date.now() + (options.waitMs ?? 600_000);
  for (;;) {
    let unanswered = 0;
    for (const batch of batches) unanswered += await reconcileSentWrites(deps.db, batch.id);
    await updateTransferProgress(deps.db, backgroundJobId);
    if (unanswered === 0) break;
    if (Date.now() > deadline) throw new TransferNotAnsweredYet(`${unanswered} customers still wait for WeCom's answer to the transfer call`);
    await new Promise((r) => setTimeout(r, 200));
  }
  await updateBackgroundJob(deps.db, backgroundJobId, { state: 'completed', error: null });
}

// ── results: polling transfer_result, and transfer_fail callbacks ───────────────────────────────

const STATUS_STATE: Record<TransferResultItem['status'], TransferItemState> = { 1: 'done', 2: 'waiting', 3: 'refused', 4: 'over_limit', 5: 'failed' };
const STATUS_TEXT: Record<TransferResultItem['status'], string | null> = {
  1: null, 2: null, 3: 'the customer refused the transfer', 4: 'the takeover member reached the customer cap', 5: 'WeCom has no record of this transfer',
};

interface Pair { kind: TransferKind; handover: string; takeover: string }

/**
 * Applies one `transfer_result` answer to the pair's waiting items. Done items move the owner to the
 * takeover member (history reason `transfer`, or `departure` for a member who left).
 */
export async function applyTransferResults(db: Database, pair: Pair, results: TransferResultItem[], queues?: Queues): Promise<number> {
  const byStatus = new Map<TransferResultItem['status'], TransferResultItem[]>();
  for (const r of results) byStatus.set(r.status, [...(byStatus.get(r.status) ?? []), r]);
  let updated = 0;
  const messages: number[] = [];
  await db.transaction(async (tx) => {
    const perBatch = new Map<string, { requestedBy: string | null; changes: Record<string, string[]> }>();
    for (const [status, items] of byStatus) {
      const state = STATUS_STATE[status];
      if (!state) continue;
      for (let i = 0; i < items.length; i += 1_000) {
        const slice = items.slice(i, i + 1_000);
        const values = JSON.stringify(slice.map((s) => ({ id: s.external_userid, t: s.takeover_time ?? null })));
        const changed = await rowsOf<{ id: string; batch_id: string; requested_by: string | null }>(tx, sql`
          with r as (select * from json_to_recordset(${values}::json) as x(id text, t bigint))
          update transfer_items ti set state = ${state}, takeover_time = r.t, error = ${STATUS_TEXT[status]}::text, updated_at = now()
          from transfer_batches b, r
          where b.id = ti.batch_id and b.kind = ${pair.kind} and b.handover_userid = ${pair.handover} and b.takeover_userid = ${pair.takeover}
            and ti.external_userid = r.id and ti.state = 'waiting' and ti.errcode = 0
            and (ti.state is distinct from ${state} or ti.takeover_time is distinct from r.t)
          returning ti.external_userid as id, ti.batch_id, b.requested_by`);
        for (const row of changed) {
          const entry = perBatch.get(row.batch_id) ?? { requestedBy: row.requested_by, changes: {} };
          perBatch.set(row.batch_id, entry);
          (entry.changes[state] ??= []).push(row.id);
        }
        updated += changed.length;
      }
    }
    for (const [batchId, entry] of perBatch) {
      const done = entry.changes.done ?? [];
      if (done.length) {
        await moveOwners(tx, customersById(done), pair.takeover, pair.kind === 'resigned' ? 'departure' : 'transfer', entry.requestedBy);
        messages.push(await recordWrite(tx, { api: 'message_send', payload: { touser: pair.takeover, msgtype: 'text', text: { content: await takeoverMessage(tx, done) } } }, null));
      }
      const final = Object.fromEntries(Object.entries(entry.changes).filter(([state]) => state !== 'waiting'));
      if (Object.keys(final).length) {
        await audit(tx, { actor: entry.requestedBy, action: 'transfer.result', subjectType: 'transfer', subjectId: batchId, outcome: 'done', details: { source: 'transfer_result', ...final } });
      }
    }
  });
  // Without queues (or if Redis refuses) the maintenance sweep queues the recorded messages.
  if (queues) for (const id of messages) await enqueueWrite(queues, id);
  return updated;
}

const NAMES_IN_MESSAGE = 10;

/** The new owner's app message: which customers are now theirs (names only, never phone numbers). */
async function takeoverMessage(tx: Queryable, externalUserIds: string[]): Promise<string> {
  const rows = await tx.select({ name: customers.name }).from(customers).where(inArray(customers.externalUserId, externalUserIds.slice(0, NAMES_IN_MESSAGE))).orderBy(asc(customers.externalUserId));
  const names = rows.map((r) => `「${r.name}」`).join('');
  const more = externalUserIds.length > rows.length;
  return [
    `客户${names}${more ? ` 等 ${externalUserIds.length} 位` : ''}已成功转接给您，您现在是${externalUserIds.length > 1 ? '他们' : '该客户'}的负责人，请及时跟进。`,
    `${externalUserIds.length} customer(s) were transferred to you and are now yours: ${rows.map((r) => r.name).join(', ')}${more ? ', …' : ''}. Please follow up.`,
  ].join('\n');
}

/**
 * The repeatable poll: every pair with items WeCom accepted and not yet finished is asked again.
 * Also answers items whose send job stopped before reading its calls' results.
 */
export async function pollTransferResults(deps: { db: Database; wecom: WecomClient; queues?: Queues }, onlyBatch?: string): Promise<{ pairs: number; updated: number; failed: { pair: Pair; error: string }[] }> {
  const unresolved = await rowsOf<{ batch_id: string }>(deps.db, sql`
    select distinct ti.batch_id from transfer_items ti where ti.state = 'waiting' and ti.errcode is null
    ${onlyBatch ? sql`and ti.batch_id = ${onlyBatch}` : sql``}`);
  for (const row of unresolved) await reconcileSentWrites(deps.db, row.batch_id);
  const pairs = await rowsOf<{ kind: TransferKind; handover: string; takeover: string }>(deps.db, sql`
    select distinct b.kind, b.handover_userid as handover, b.takeover_userid as takeover
    from transfer_items ti join transfer_batches b on b.id = ti.batch_id
    where ti.state = 'waiting' and ti.errcode = 0 ${onlyBatch ? sql`and b.id = ${onlyBatch}` : sql``}
    order by 1, 2, 3`);
  let updated = 0;
  const failed: { pair: Pair; error: string }[] = [];
  for (const pair of pairs) {
    // One pair WeCom cannot answer for (e.g. a member deleted since) does not hold up the others.
    try {
      const results = pair.kind === 'resigned'
        ? await deps.wecom.resignedTransferResult(pair.handover, pair.takeover)
        : await deps.wecom.transferResult(pair.handover, pair.takeover);
      updated += await applyTransferResults(deps.db, pair, results, deps.queues);
    } catch (error) {
      failed.push({ pair, error: error instanceof Error ? error.message.slice(0, 300) : String(error) });
    }
  }
  return { pairs: pairs.length, updated, failed };
}

/**
 * A `transfer_fail` callback (its UserID is the takeover member): the customer's waiting item for that
 * takeover member becomes refused or over_limit. Runs inside the inbox transaction.
 */
export async function recordTransferFailure(tx: Queryable, failure: { externalUserId: string; takeoverUserid: string; reason: string; inboxEventId: number }): Promise<void> {
  const state: TransferItemState = failure.reason === 'customer_limit_exceed' ? 'over_limit' : failure.reason === 'customer_refused' ? 'refused' : 'failed';
  const text = failure.reason === 'customer_refused' ? 'the customer refused the transfer' : failure.reason === 'customer_limit_exceed' ? 'the takeover member reached the customer cap' : `transfer failed: ${failure.reason}`;
  const changed = await rowsOf<{ batch_id: string; requested_by: string | null }>(tx, sql`
    update transfer_items ti set state = ${state}, errcode = coalesce(ti.errcode, 0), error = ${text}, updated_at = now()
    from transfer_batches b
    where b.id = ti.batch_id and b.takeover_userid = ${failure.takeoverUserid} and ti.external_userid = ${failure.externalUserId} and ti.state = 'waiting'
    returning ti.batch_id, b.requested_by`);
  for (const row of changed) {
    await audit(tx, {
      actor: row.requested_by, action: 'transfer.result', subjectType: 'transfer', subjectId: row.batch_id, outcome: 'done',
      details: { source: 'transfer_fail', [state]: [failure.externalUserId], reason: failure.reason, inboxEventId: failure.inboxEventId },
    });
  }
}

// ── reading ─────────────────────────────────────────────────────────────────────────────────────

/** A transfer as its requester (or an admin) sees it; anyone else gets the 404 of a missing one. */
export async function readTransfer(ctx: AppContext, viewer: string, id: string) {
  const [batch] = await ctx.db.select().from(transferBatches).where(eq(transferBatches.id, id));
  if (!batch || (batch.requestedBy !== viewer && !(await isAdmin(ctx.db, viewer, ctx.config.adminUserIds)))) {
    await ctx.db.transaction((tx) => audit(tx, { actor: viewer, action: 'transfer.read', subjectType: 'transfer', subjectId: id, outcome: 'denied', details: { reason: batch ? 'not the requester' : 'no such transfer' } }));
    throw new DomainError('NOT_FOUND', 'no such transfer');
  }
  const items = await ctx.db.select({
    externalUserId: transferItems.externalUserId, state: transferItems.state, errcode: transferItems.errcode, error: transferItems.error,
    takeoverTime: transferItems.takeoverTime, updatedAt: transferItems.updatedAt,
  }).from(transferItems).where(eq(transferItems.batchId, id)).orderBy(asc(transferItems.externalUserId));
  const counts: Record<string, number> = {};
  for (const item of items) counts[item.state] = (counts[item.state] ?? 0) + 1;
  const [takeover] = await ctx.db.select({ name: members.name }).from(members).where(eq(members.userid, batch.takeoverUserid));
  return {
    id: batch.id, kind: batch.kind, handover: batch.handoverUserid, takeover: batch.takeoverUserid, takeoverName: takeover?.name ?? null,
    requestedBy: batch.requestedBy, jobId: batch.backgroundJobId, createdAt: batch.createdAt, counts, items,
  };
}

/** `POST /api/transfers/:id/refresh`: asks WeCom for this transfer's results now. */
export async function refreshTransfer(ctx: AppContext, viewer: string, id: string) {
  await readTransfer(ctx, viewer, id);
  const polled = await pollTransferResults({ db: ctx.db, wecom: ctx.wecom, queues: ctx.queues }, id);
  if (polled.failed.length) throw new DomainError('WECOM_ERROR', `WeCom did not answer transfer_result: ${polled.failed[0]!.error}`);
  return readTransfer(ctx, viewer, id);
}
