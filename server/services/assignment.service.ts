import { sql } from 'drizzle-orm';
import type { AppContext } from '../context.ts';
import type { Database, Queryable } from '../db/database.ts';
import { customers } from '../db/schema.ts';
import { DomainError } from '../http/domain-error.ts';
import { reason } from '../http/reason.ts';
import { customerScopeSql, effectiveScope, type AccessSubject, type CustomerAction } from '../policy/customer-scope.ts';
import { audit } from './audit.service.ts';
import { createBackgroundJob, updateBackgroundJob } from './background-jobs.service.ts';
import { loadAccessSubject } from './customer-access.service.ts';
import { customerFilterSql, idList, rowsOf, unknownFilterTags, type CustomerFilter } from './customer-filter.ts';
import { customersById, memberWithinScope, moveOwners } from './owner-moves.ts';
import type { PolicyCache } from './tag-policy.service.ts';

/** At most this many customers per manual assignment; more goes through assign-by-filter. */
export const MANUAL_ASSIGN_MAX = 500;
/** Customers per transaction in bulk assignment (one set-based statement each). */
export const BULK_ASSIGN_BATCH = 5_000;

export interface CustomerCheck {
  /** Outside the actor's view scope, or no such customer: the same answer for both. */
  notFound: string[];
  /** Visible, but the action is not allowed on them. */
  notAllowed: string[];
}

/**
 * Which of the named customers the subject may not act on, decided by the permission core's SQL
 * predicates (never by filtering rows here). Rows are locked when `lock` is set, so the decision and
 * the change that follows happen on the same rows.
 */
export async function checkCustomers(db: Queryable, subject: AccessSubject, action: CustomerAction, ids: readonly string[], lock = false): Promise<CustomerCheck> {
  const rows = await rowsOf<{ id: string; viewable: boolean; allowed: boolean }>(db, sql`
    select ${customers.externalUserId} as id, (${customerScopeSql(subject, 'view')}) as viewable, (${customerScopeSql(subject, action)}) as allowed
    from ${customers} where ${customers.externalUserId} in (${idList(ids)})
    order by ${customers.externalUserId} ${lock ? sql`for update of ${customers}` : sql``}`);
  const byId = new Map(rows.map((r) => [r.id, r]));
  return {
    notFound: ids.filter((id) => !byId.get(id)?.viewable),
    notAllowed: ids.filter((id) => byId.get(id)?.viewable === true && !byId.get(id)!.allowed),
  };
}

/** One `denied` audit entry per customer named in a refused request (committed on its own). */
export async function auditDeniedCustomers(db: Database, actor: string, action: string, ids: readonly string[], details: Record<string, unknown>): Promise<void> {
  await db.transaction(async (tx) => {
    for (const id of ids.length ? ids : ['-']) {
      await audit(tx, { actor, action, subjectType: 'customer', subjectId: id, outcome: 'denied', details });
    }
  });
}

export function deniedError(action: string, check: CustomerCheck): DomainError {
  const parts = [
    check.notFound.length ? `no such customer among yours: ${check.notFound.join(', ')}` : '',
    check.notAllowed.length ? `you may not ${action} ${check.notAllowed.join(', ')}` : '',
  ].filter(Boolean);
  return new DomainError(check.notAllowed.length ? 'FORBIDDEN' : 'NOT_FOUND', `nothing changed: ${parts.join('; ')}`, { notFound: check.notFound, notAllowed: check.notAllowed },
    reason('ownership.customers_refused', { action, notFound: check.notFound.length, notAllowed: check.notAllowed.length }));
}

export interface AssignRequest {
  externalUserIds: string[];
  owner: string;
}

export interface AssignResult {
  owner: string;
  changed: { externalUserId: string; fromUserid: string | null }[];
  unchanged: string[];
}

/**
 * Manual assignment: every customer must be one the actor may `assign`, and the new owner must be
 * inside the actor's own scope. All or nothing; the refused request is audited per customer.
 * Concurrent assignments of the same customer serialise on its row lock, so each history row's
 * `from` is the owner the previous assignment left.
 */
export async function assignCustomers(ctx: AppContext, actor: string, request: AssignRequest): Promise<AssignResult> {
  const ids = [...new Set(request.externalUserIds)].sort();
  if (ids.length > MANUAL_ASSIGN_MAX) throw new DomainError('BAD_REQUEST', `at most ${MANUAL_ASSIGN_MAX} customers per assignment: use /api/customers/assign-by-filter for more`);
  const subject = await loadAccessSubject(ctx.db, actor, ctx.config.adminUserIds);
  type Outcome = { denied: { check: CustomerCheck; ownerOk: boolean } } | { result: AssignResult };
  const outcome = await ctx.db.transaction(async (tx): Promise<Outcome> => {
    const check = await checkCustomers(tx, subject, 'assign', ids, true);
    const ownerOk = await memberWithinScope(tx, subject, 'assign', request.owner);
    if (check.notFound.length || check.notAllowed.length || !ownerOk) return { denied: { check, ownerOk } };
    const moved = await moveOwners(tx, customersById(ids), request.owner, 'assign', actor, { returnRows: true });
    for (const change of moved.changed) {
      await audit(tx, { actor, action: 'customer.assign', subjectType: 'customer', subjectId: change.externalUserId, outcome: 'done', details: { from: change.fromUserid, to: request.owner } });
    }
    const changedIds = new Set(moved.changed.map((c) => c.externalUserId));
    return { result: { owner: request.owner, changed: moved.changed, unchanged: ids.filter((id) => !changedIds.has(id)) } };
  });
  if ('result' in outcome) return outcome.result;
  const { check, ownerOk } = outcome.denied;
  await auditDeniedCustomers(ctx.db, actor, 'customer.assign', ids, { owner: request.owner, notFound: check.notFound, notAllowed: check.notAllowed, ownerOutsideScope: !ownerOk });
  if (check.notFound.length || check.notAllowed.length) throw deniedError('assign', check);
  throw new DomainError('FORBIDDEN', `nothing changed: ${request.owner} is not an active member inside your scope`, { owner: request.owner, notFound: [], notAllowed: [] }, reason('ownership.member_outside_scope', { member: request.owner }));
}

export interface AssignByFilterJob {
  backgroundJobId: string;
  actor: string;
  owner: string;
  filter: CustomerFilter;
}

/** Reasons a bulk assignment may not run (checked on request and again when the job runs). */
async function bulkAssignRefusal(db: Queryable, policy: PolicyCache, subject: AccessSubject, owner: string, filter: CustomerFilter): Promise<{ code: 'TAG_NOT_FOUND' | 'FORBIDDEN'; message: string; details: Record<string, unknown> } | null> {
  const unknown = await unknownFilterTags(db, await policy.view(subject.userid), subject.userid, filter);
  if (unknown.length) return { code: 'TAG_NOT_FOUND', message: `no such tag: ${unknown.join(', ')}`, details: { tags: unknown } };
  if (effectiveScope(subject, 'assign') === 'none') return { code: 'FORBIDDEN', message: 'you may not assign customers', details: {} };
  if (!(await memberWithinScope(db, subject, 'assign', owner))) {
    return { code: 'FORBIDDEN', message: `${owner} is not an active member inside your scope`, details: { owner } };
  }
  return null;
}

/** Bulk assignment by filter: checks now, then runs as a job with progress (`GET /api/jobs/:id`). */
export async function requestAssignByFilter(ctx: AppContext, actor: string, request: { filter: CustomerFilter; owner: string }): Promise<{ jobId: string; matching: number }> {
  const subject = await loadAccessSubject(ctx.db, actor, ctx.config.adminUserIds);
  const refusal = await bulkAssignRefusal(ctx.db, ctx.policy, subject, request.owner, request.filter);
  if (refusal) {
    await ctx.db.transaction((tx) => audit(tx, {
      actor, action: 'customer.assign_by_filter', subjectType: 'customer_filter', subjectId: '-', outcome: 'denied',
      details: { filter: request.filter, owner: request.owner, reason: refusal.message },
    }));
    throw new DomainError(refusal.code, refusal.message, refusal.details);
  }
  const [count] = await rowsOf<{ n: number }>(ctx.db, sql`select count(*)::int as n from ${customers}
    where (${customerFilterSql(request.filter)}) and (${customerScopeSql(subject, 'assign')})`);
  const jobId = await createBackgroundJob(ctx.db, 'assign-by-filter', actor);
  await updateBackgroundJob(ctx.db, jobId, { total: count!.n });
  await ctx.db.transaction((tx) => audit(tx, {
    actor, action: 'customer.assign_by_filter', subjectType: 'job', subjectId: jobId, outcome: 'allowed',
    details: { filter: request.filter, owner: request.owner, matching: count!.n },
  }));
  const data: AssignByFilterJob = { backgroundJobId: jobId, actor, owner: request.owner, filter: request.filter };
  await ctx.queues.assignment.add('assign-by-filter', data, { jobId });
  return { jobId, matching: count!.n };
}

export interface BulkAssignDeps {
  db: Database;
  policy: PolicyCache;
  adminUserIds: string[];
}

/**
 * The job: authority is loaded again (a member who lost `assign`, or whose new owner left their scope
 * since the request, assigns nothing), then customers matching the filter within the actor's `assign`
 * scope are assigned in keyset batches, each one set-based statement (lock, update, history) plus one
 * audit entry. A retried job starts over; customers already assigned are counted, not changed again.
 */
export async function runAssignByFilter(deps: BulkAssignDeps, job: AssignByFilterJob): Promise<{ assigned: number; matched: number } | { refused: string }> {
  const { db } = deps;
  const subject = await loadAccessSubject(db, job.actor, deps.adminUserIds);
  const refusal = await bulkAssignRefusal(db, deps.policy, subject, job.owner, job.filter);
  if (refusal) {
    await db.transaction((tx) => audit(tx, {
      actor: job.actor, action: 'customer.assign_by_filter', subjectType: 'job', subjectId: job.backgroundJobId, outcome: 'denied',
      details: { reason: `re-checked when the job ran: ${refusal.message}` },
    }));
    await updateBackgroundJob(db, job.backgroundJobId, { state: 'failed', error: `refused when the job ran: ${refusal.message}` });
    return { refused: refusal.message };
  }
  const where = sql`(${customerFilterSql(job.filter)}) and (${customerScopeSql(subject, 'assign')})`;
  const [count] = await rowsOf<{ n: number }>(db, sql`select count(*)::int as n from ${customers} where ${where}`);
  await updateBackgroundJob(db, job.backgroundJobId, { state: 'running', total: count!.n, done: 0, error: null });
  let after = '';
  let matched = 0;
  let assigned = 0;
  for (;;) {
    const batch = sql`select ${customers.externalUserId} from ${customers}
      where ${customers.externalUserId} > ${after} and ${where}
      order by ${customers.externalUserId} limit ${BULK_ASSIGN_BATCH}`;
    const moved = await db.transaction(async (tx) => {
      const result = await moveOwners(tx, batch, job.owner, 'bulk_assign', job.actor);
      if (result.seen) {
        await audit(tx, {
          actor: job.actor, action: 'customer.bulk_assign_batch', subjectType: 'job', subjectId: job.backgroundJobId, outcome: 'done',
          details: { owner: job.owner, after, last: result.last, matched: result.seen, changed: result.changedCount },
        });
      }
      return result;
    });
    if (moved.seen === 0 || moved.last === null) break;
    after = moved.last;
    matched += moved.seen;
    assigned += moved.changedCount;
    await updateBackgroundJob(db, job.backgroundJobId, { done: matched, total: Math.max(count!.n, matched) });
  }
  await db.transaction((tx) => audit(tx, {
    actor: job.actor, action: 'customer.assign_by_filter', subjectType: 'job', subjectId: job.backgroundJobId, outcome: 'done',
    details: { owner: job.owner, filter: job.filter, matched, assigned },
  }));
  await updateBackgroundJob(db, job.backgroundJobId, { state: 'completed', done: matched, total: matched });
  return { assigned, matched };
}
