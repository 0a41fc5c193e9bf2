import { eq, sql } from 'drizzle-orm';
import type { AppContext } from '../context.ts';
import type { Database, Queryable } from '../db/database.ts';
import { customers } from '../db/schema.ts';
import { DomainError } from '../http/domain-error.ts';
// `reason` is the release's free-text reason here; the localized message builder is `coded`.
import { reason as coded, type Reason } from '../http/reason.ts';
import { customerScopeSql } from '../policy/customer-scope.ts';
import { audit } from './audit.service.ts';
import { createBackgroundJob, updateBackgroundJob } from './background-jobs.service.ts';
import { assertCustomerAccess, customerPermissions, loadAccessSubject } from './customer-access.service.ts';
import { rowsOf } from './customer-filter.ts';
import { customersById, moveOwners } from './owner-moves.ts';
import { readOwnershipSettings } from './ownership-settings.service.ts';
import type { Queues } from '../../jobs/queues.ts';

/**
 * The public pool (公海). A customer is in the pool while `in_pool_since` is set and it has no owner;
 * `pool_department_id` names the department subtree whose members see it (null: corp-wide). The daily
 * job releases customers without an owner, and customers whose owner has had no activity for the
 * configured number of days. Activity (`last_activity_at`) is a follow-up note, a tag or remark
 * change by the owner, a new relation, or a new owner. Claims are atomic and limited per member per
 * day; releases by the owner or a manager are actions too. Every move leaves an owner_history row.
 */

export const POOL_ACTOR = 'public-pool';
export const POOL_RELEASE_BATCH = 5_000;
/** Claims are counted per calendar day in the corp's time zone (WeCom corps are in China). */
const CORP_TIME_ZONE = 'Asia/Shanghai';

// ── activity ────────────────────────────────────────────────────────────────────────────────────

/** Restarts the pool clock: for any change when `by` is null, else only when `by` owns the customer. */
export async function recordOwnerActivity(db: Queryable, externalUserId: string, by: string | null): Promise<void> {
  await db.execute(sql`update customers set last_activity_at = now()
    where external_userid = ${externalUserId} ${by === null ? sql`` : sql`and owner_userid = ${by}`}`);
}

/** From a WeCom callback: a new relation counts; an edit (tags, remark) counts when the owner made it. */
export async function recordActivityFromEvent(tx: Queryable, changeType: string, externalUserId: string, userid: string): Promise<void> {
  if (changeType === 'add_external_contact' || changeType === 'add_half_external_contact') await recordOwnerActivity(tx, externalUserId, null);
  else if (changeType === 'edit_external_contact') await recordOwnerActivity(tx, externalUserId, userid);
}

// ── the daily release ───────────────────────────────────────────────────────────────────────────

export async function requestPoolRelease(ctx: AppContext, actor: string): Promise<string> {
  const id = await createBackgroundJob(ctx.db, 'pool-release', actor);
  await ctx.queues.pool.add('release', { backgroundJobId: id, requestedBy: actor }, { jobId: id });
  return id;
}

export async function schedulePoolRelease(queues: Queues): Promise<void> {
  await queues.pool.upsertJobScheduler('pool-release-daily', { pattern: '0 3 * * *', tz: CORP_TIME_ZONE }, { name: 'release', data: {} });
}

/**
 * Releases every customer without an owner, or whose owner's last activity is older than the setting,
 * in keyset batches of one set-based statement each. Idempotent: customers already in the pool are
 * not selected again.
 */
export async function releaseInactiveCustomers(db: Database, options: { backgroundJobId?: string; requestedBy?: string | null } = {}): Promise<{ released: number; days: number }> {
  const { poolInactiveDays: days } = await readOwnershipSettings(db);
  const due = sql`${customers.inPoolSince} is null and (${customers.ownerUserid} is null
    or coalesce(${customers.lastActivityAt}, ${customers.createdAt}) < now() - make_interval(days => ${days}::int))`;
  const backgroundJobId = options.backgroundJobId ?? await createBackgroundJob(db, 'pool-release', options.requestedBy ?? null);
  const [count] = await rowsOf<{ n: number }>(db, sql`select count(*)::int as n from ${customers} where ${due}`);
  await updateBackgroundJob(db, backgroundJobId, { state: 'running', total: count!.n, done: 0, error: null });
  let after = '';
  let released = 0;
  for (;;) {
    const batch = sql`select ${customers.externalUserId} from ${customers} where ${customers.externalUserId} > ${after} and ${due}
      order by ${customers.externalUserId} limit ${POOL_RELEASE_BATCH}`;
    const moved = await db.transaction(async (tx) => {
      const result = await moveOwners(tx, batch, null, 'pool_release', options.requestedBy ?? POOL_ACTOR, { toPool: true, returnRows: true });
      if (result.changedCount) {
        await audit(tx, {
          actor: options.requestedBy ?? POOL_ACTOR, action: 'pool.release', subjectType: 'job', subjectId: backgroundJobId, outcome: 'done',
          details: { inactiveDays: days, customers: result.changed.map((c) => ({ id: c.externalUserId, from: c.fromUserid })) },
        });
      }
      return result;
    });
    if (moved.seen === 0 || moved.last === null) break;
    after = moved.last;
    released += moved.changedCount;
    await updateBackgroundJob(db, backgroundJobId, { done: released, total: Math.max(count!.n, released) });
  }
  await updateBackgroundJob(db, backgroundJobId, { state: 'completed', done: released, total: released });
  return { released, days };
}

// ── reading and claiming ────────────────────────────────────────────────────────────────────────

export interface PoolCustomer {
  externalUserId: string;
  name: string;
  poolDepartmentId: number | null;
  poolDepartmentName: string | null;
  inPoolSince: Date;
  lastActivityAt: Date | null;
}

/** Pool customers the member may see (pools of their departments, corp-wide; admins every pool). */
export async function listPool(ctx: AppContext, actor: string, page: { after?: string; limit: number; department?: number }): Promise<{ items: PoolCustomer[]; nextCursor: string | null; claimsLeftToday: number }> {
  const subject = await loadAccessSubject(ctx.db, actor, ctx.config.adminUserIds);
  const items = await rowsOf<PoolCustomer>(ctx.db, sql`
    select ${customers.externalUserId} as "externalUserId", ${customers.name} as name, ${customers.poolDepartmentId} as "poolDepartmentId",
      d.name as "poolDepartmentName", ${customers.inPoolSince} as "inPoolSince", ${customers.lastActivityAt} as "lastActivityAt"
    from ${customers} left join departments d on d.id = ${customers.poolDepartmentId}
    where ${customers.inPoolSince} is not null and ${customers.ownerUserid} is null and (${customerScopeSql(subject, 'view')})
      and ${customers.externalUserId} > ${page.after ?? ''}
      ${page.department !== undefined ? sql`and ${customers.poolDepartmentId} = ${page.department}` : sql``}
    order by ${customers.externalUserId} limit ${page.limit + 1}`);
  const more = items.length > page.limit;
  const shown = more ? items.slice(0, page.limit) : items;
  const { poolDailyClaimLimit } = await readOwnershipSettings(ctx.db);
  const claimed = await claimsToday(ctx.db, actor);
  return { items: shown, nextCursor: more ? shown[shown.length - 1]!.externalUserId : null, claimsLeftToday: Math.max(0, poolDailyClaimLimit - claimed) };
}

async function claimsToday(db: Queryable, userid: string): Promise<number> {
  const [row] = await rowsOf<{ n: number }>(db, sql`select count(*)::int as n from owner_history
    where actor = ${userid} and reason = 'pool_claim'
      and created_at >= (date_trunc('day', now() at time zone ${CORP_TIME_ZONE}) at time zone ${CORP_TIME_ZONE})`);
  return row!.n;
}

/**
 * Claims one pool customer. Atomic: one conditional UPDATE (owner still null, still in the pool, still
 * in the claimer's view scope); of two concurrent claims the second finds the row changed and gets a
 * 409. Claims of one member are serialised so the daily limit holds under concurrency.
 */
export async function claimFromPool(ctx: AppContext, actor: string, externalUserId: string): Promise<{ externalUserId: string; owner: string; claimsLeftToday: number }> {
  const subject = await loadAccessSubject(ctx.db, actor, ctx.config.adminUserIds);
  await assertCustomerAccess(ctx, subject, 'view', externalUserId);
  const denied = async (why: string, details: Record<string, unknown>, localized: Reason): Promise<never> => {
    await ctx.db.transaction((tx) => audit(tx, { actor, action: 'pool.claim', subjectType: 'customer', subjectId: externalUserId, outcome: 'denied', details: { reason: why, ...details } }));
    throw new DomainError('FORBIDDEN', why, details, localized);
  };
  if (subject.probation) await denied('read-only probation: you may not claim customers', {}, coded('pool.claim_probation'));
  const { poolDailyClaimLimit: limit } = await readOwnershipSettings(ctx.db);
  const outcome = await ctx.db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${'pool-claim:' + actor}))`);
    const used = await claimsToday(tx, actor);
    if (used >= limit) return { limited: used } as const;
    const [before] = await tx.select({ pool: customers.poolDepartmentId }).from(customers).where(eq(customers.externalUserId, externalUserId));
    const [row] = await rowsOf<{ n: number }>(tx, sql`
      with claimed as (
        update ${customers} set owner_userid = ${actor}, in_pool_since = null, pool_department_id = null, last_activity_at = now(), updated_at = now()
        where ${customers.externalUserId} = ${externalUserId} and ${customers.ownerUserid} is null and ${customers.inPoolSince} is not null
          and (${customerScopeSql(subject, 'view')})
        returning ${customers.externalUserId} as external_userid
      ), history as (
        insert into owner_history (external_userid, from_userid, to_userid, reason, actor)
        select external_userid, null, ${actor}::text, 'pool_claim', ${actor}::text from claimed returning 1
      )
      select count(*)::int as n from history`);
    await audit(tx, {
      actor, action: 'pool.claim', subjectType: 'customer', subjectId: externalUserId, outcome: row!.n ? 'done' : 'failed',
      details: row!.n ? { pool: before?.pool ?? null } : { reason: 'no longer in the pool (claimed by someone else or released)' },
    });
    return { claimed: row!.n === 1, used: used + row!.n } as const;
  });
  if ('limited' in outcome) return denied(`daily claim limit reached (${limit} per day)`, { reason: 'DAILY_CLAIM_LIMIT', limit }, coded('pool.daily_limit', { limit }));
  if (!outcome.claimed) throw new DomainError('CONFLICT', 'this customer is no longer in the pool: someone else claimed it first', undefined, coded('pool.claimed_by_other'));
  return { externalUserId, owner: actor, claimsLeftToday: Math.max(0, limit - outcome.used) };
}

/**
 * Release to the pool by the owner (who may edit the customer) or by a manager (who may assign it).
 * The pool is the old owner's main department subtree (corp-wide when unknown).
 */
export async function releaseCustomer(ctx: AppContext, actor: string, externalUserId: string, reason?: string): Promise<{ externalUserId: string; poolDepartmentId: number | null }> {
  const subject = await loadAccessSubject(ctx.db, actor, ctx.config.adminUserIds);
  await assertCustomerAccess(ctx, subject, 'view', externalUserId);
  const permissions = await customerPermissions(ctx.db, subject, externalUserId);
  const [customer] = await ctx.db.select({ owner: customers.ownerUserid, inPool: customers.inPoolSince }).from(customers).where(eq(customers.externalUserId, externalUserId));
  if (customer?.inPool) throw new DomainError('CONFLICT', 'this customer is already in the pool', undefined, coded('pool.already_in_pool'));
  const allowed = permissions?.assign === true || (customer?.owner === actor && permissions?.edit === true);
  if (!allowed) {
    await ctx.db.transaction((tx) => audit(tx, { actor, action: 'pool.release', subjectType: 'customer', subjectId: externalUserId, outcome: 'denied', details: { reason: 'neither the owner nor allowed to assign it' } }));
    throw new DomainError('FORBIDDEN', 'only the owner or a manager who may assign this customer can release it to the pool', undefined, coded('pool.release_not_allowed'));
  }
  return ctx.db.transaction(async (tx) => {
    const moved = await moveOwners(tx, customersById([externalUserId]), null, 'pool_release', actor, { toPool: true, returnRows: true });
    if (moved.changedCount === 0) throw new DomainError('CONFLICT', 'this customer is already in the pool', undefined, coded('pool.already_in_pool'));
    const [after] = await tx.select({ pool: customers.poolDepartmentId }).from(customers).where(eq(customers.externalUserId, externalUserId));
    await audit(tx, {
      actor, action: 'pool.release', subjectType: 'customer', subjectId: externalUserId, outcome: 'done',
      details: { from: moved.changed[0]?.fromUserid ?? null, pool: after?.pool ?? null, ...(reason ? { reason } : {}) },
    });
    return { externalUserId, poolDepartmentId: after?.pool ?? null };
  });
}
