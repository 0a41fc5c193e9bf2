import { sql, type SQL } from 'drizzle-orm';
import type { Queryable } from '../db/database.ts';
import { customers, type OwnershipReason } from '../db/schema.ts';
import { effectiveScope, type AccessSubject, type CustomerAction } from '../policy/customer-scope.ts';
import { departmentSubtreeSql, rowsOf } from './customer-filter.ts';

/**
 * The one way owners change for assignment, bulk assignment, transfers, departures and the pool:
 * rows are locked in id order, every real change gets an `owner_history` row in the same statement,
 * and a pool move remembers the pool (the old owner's main department, or corp-wide).
 */
export interface OwnerMoveResult {
  /** Customers selected (changed or already as asked). */
  seen: number;
  /** The greatest external_userid selected (the keyset cursor of bulk jobs). */
  last: string | null;
  changedCount: number;
  /** Filled when `returnRows` was asked. */
  changed: { externalUserId: string; fromUserid: string | null }[];
}

export interface OwnerMoveOptions {
  /** Release to the pool instead of assigning (`to` must then be null). */
  toPool?: boolean;
  returnRows?: boolean;
}

/**
 * Sets the owner of the customers whose ids `selected` (a subquery of external_userids) returns.
 * An assignment also takes the customer out of the pool and restarts the pool clock for the new owner.
 */
export async function moveOwners(
  db: Queryable, selected: SQL, to: string | null, reason: OwnershipReason, actor: string | null, options: OwnerMoveOptions = {},
): Promise<OwnerMoveResult> {
  const pool = options.toPool === true;
  const set = pool
    ? sql`owner_userid = null, in_pool_since = now(),
          pool_department_id = (select m.main_department from members m where m.userid = locked.owner_userid), updated_at = now()`
    : sql`owner_userid = ${to}::text, in_pool_since = null, pool_department_id = null, last_activity_at = now(), updated_at = now()`;
  const needsChange = pool
    ? sql`locked.in_pool_since is null`
    : sql`(locked.owner_userid is distinct from ${to}::text or locked.in_pool_since is not null)`;
  const changedRows = options.returnRows
    ? sql`coalesce((select json_agg(json_build_object('externalUserId', external_userid, 'fromUserid', from_userid) order by external_userid) from changed), '[]'::json)`
    : sql`'[]'::json`;
  const [row] = await rowsOf<{ seen: number; last: string | null; changed_count: number; changed: OwnerMoveResult['changed'] }>(db, sql`
    with locked as (
      select c.external_userid, c.owner_userid, c.in_pool_since from customers c
      where c.external_userid in (${selected})
      order by c.external_userid
      for update
    ), changed as (
      update ${customers} set ${set}
      from locked
      where ${customers.externalUserId} = locked.external_userid and ${needsChange}
      returning ${customers.externalUserId} as external_userid, locked.owner_userid as from_userid
    ), history as (
      insert into owner_history (external_userid, from_userid, to_userid, reason, actor)
      select external_userid, from_userid, ${to}::text, ${reason}::text, ${actor}::text from changed
      returning 1
    )
    select (select count(*)::int from locked) as seen,
           (select max(external_userid) from locked) as last,
           (select count(*)::int from history) as changed_count,
           ${changedRows} as changed`);
  return { seen: row!.seen, last: row!.last, changedCount: row!.changed_count, changed: row!.changed };
}

/** Customers given by id, as a subquery for `moveOwners` (one JSON parameter, however many ids). */
export function customersById(ids: readonly string[]): SQL {
  return sql`select json_array_elements_text(${JSON.stringify(ids)}::json)`;
}

/**
 * "The new owner must be inside the actor's own scope": for `all` any active member, for `dept` an
 * active member of a department the actor manages (sub-departments included), for `own` the actor.
 * A predicate over the userid expression given.
 */
export function memberWithinScopeSql(subject: AccessSubject, action: CustomerAction, userid: SQL): SQL {
  const scope = effectiveScope(subject, action);
  const active = sql`exists (select 1 from members m where m.userid = ${userid} and m.status = 1)`;
  if (scope === 'all') return active;
  if (scope === 'own') return sql`(${userid} = ${subject.userid}::text and ${active})`;
  if (scope === 'dept' && subject.managedDepartments.length) {
    return sql`(${active} and exists (select 1 from member_departments md where md.userid = ${userid}
      and md.department_id in (${departmentSubtreeSql(subject.managedDepartments)})))`;
  }
  return sql`false`;
}

export async function memberWithinScope(db: Queryable, subject: AccessSubject, action: CustomerAction, userid: string): Promise<boolean> {
  const [row] = await rowsOf<{ ok: boolean }>(db, sql`select (${memberWithinScopeSql(subject, action, sql`${userid}::text`)}) as ok`);
  return row?.ok === true;
}
