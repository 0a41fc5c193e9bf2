import { sql, type SQL } from 'drizzle-orm';
import { customers } from '../db/schema.ts';

/**
 * Customer data permissions, pure (no I/O): a member's facts (`AccessSubject`, loaded by
 * services/customer-access.service.ts) and an action become one SQL predicate over `customers`.
 * Lists, counts, detail (`predicate AND id = $1`), exports and bulk actions all use it, so "may I
 * see X" and "is X in my list" cannot disagree. Anything unknown or inexpressible is `false`.
 */

export const CUSTOMER_ACTIONS = ['view', 'edit', 'tag', 'export', 'delete', 'assign', 'transfer', 'unmask'] as const;
export type CustomerAction = typeof CUSTOMER_ACTIONS[number];

export const CUSTOMER_SCOPES = ['none', 'own', 'dept', 'all'] as const;
export type CustomerScope = typeof CUSTOMER_SCOPES[number];

export interface AccessGrantFact {
  actions: CustomerAction[];
  /** Either named customers ... */
  customerIds?: string[];
  /** ... or customers owned or followed by members of this department's subtree. */
  departmentId?: number;
  expiresAt: Date;
}

export interface AccessSubject {
  userid: string;
  /** Active in WeCom (status 1). Anyone else has no access at all, pool included. */
  active: boolean;
  /** Read-only probation in force now: every action but `view` is denied, grants included. */
  probation: boolean;
  /** Most permissive scope per action over every role the member holds. */
  scopes: Record<CustomerAction, CustomerScope>;
  /** Roots of the department subtrees the member manages (WeCom leader, or named by an admin). */
  managedDepartments: number[];
  /** Approved or emergency-activated grants; those with `expiresAt <= now` count for nothing. */
  grants: AccessGrantFact[];
  /** The request's clock: grant expiry is decided against it. */
  now: Date;
}

const SCOPE_RANK: Record<CustomerScope, number> = { none: 0, own: 1, dept: 2, all: 3 };

export function isCustomerAction(value: unknown): value is CustomerAction {
  return typeof value === 'string' && (CUSTOMER_ACTIONS as readonly string[]).includes(value);
}

export function isCustomerScope(value: unknown): value is CustomerScope {
  return typeof value === 'string' && (CUSTOMER_SCOPES as readonly string[]).includes(value);
}

/** The wider of two scopes (`none` < `own` < `dept` < `all`); anything unrecognised counts as `none`. */
export function widerScope(a: unknown, b: unknown): CustomerScope {
  const x = isCustomerScope(a) ? a : 'none';
  const y = isCustomerScope(b) ? b : 'none';
  return SCOPE_RANK[x] >= SCOPE_RANK[y] ? x : y;
}

/** Scopes of several roles merged: the most permissive wins per action; unknown values are `none`. */
export function mergeScopes(roleScopes: Partial<Record<string, unknown>>[]): Record<CustomerAction, CustomerScope> {
  const out = Object.fromEntries(CUSTOMER_ACTIONS.map((a) => [a, 'none'])) as Record<CustomerAction, CustomerScope>;
  for (const scopes of roleScopes) for (const action of CUSTOMER_ACTIONS) out[action] = widerScope(out[action], scopes[action]);
  return out;
}

/** The scope that applies to an action after activity and probation (fail closed on anything odd). */
export function effectiveScope(subject: AccessSubject, action: CustomerAction): CustomerScope {
  if (!subject.active || !isCustomerAction(action)) return 'none';
  if (subject.probation && action !== 'view') return 'none';
  const scope = subject.scopes?.[action];
  return isCustomerScope(scope) ? scope : 'none';
}

/** Grants in force for an action at `subject.now` (none while on probation, except for `view`). */
export function activeGrants(subject: AccessSubject, action: CustomerAction): AccessGrantFact[] {
  if (!subject.active || !isCustomerAction(action)) return [];
  if (subject.probation && action !== 'view') return [];
  const now = subject.now.getTime();
  return (subject.grants ?? []).filter((g) => g.actions.includes(action) && g.expiresAt instanceof Date && g.expiresAt.getTime() > now
    && ((g.customerIds?.length ?? 0) > 0 || Number.isInteger(g.departmentId)));
}

const list = (values: readonly (string | number)[]): SQL => sql.join(values.map((v) => sql`${v}`), sql`, `);
const intArray = (ids: readonly number[]): SQL => sql`array[${list(ids)}]::integer[]`;

/** Ids of the departments in the subtrees below (and including) `roots`. Cycles terminate (UNION). */
function subtree(roots: readonly number[]): SQL {
  return sql`with recursive sub(id) as (select unnest(${intArray(roots)}) union select d.id from departments d join sub on d.parent_id = sub.id) select id from sub`;
}

/** Members (any status) of the given departments' subtrees. */
function membersOf(roots: readonly number[]): SQL {
  return sql`select md.userid from member_departments md where md.department_id in (${subtree(roots)})`;
}

/**
 * Customer ids owned or actively followed by `members` (a SQL set of userids or one userid). Each arm
 * is a plain indexed select so the planner can either probe per row (large sets, list in order) or
 * gather the set first (a rep's few hundred customers).
 */
function heldBy(userids: SQL, one: boolean): SQL[] {
  const match = (column: SQL): SQL => (one ? sql`${column} = ${userids}` : sql`${column} in (${userids})`);
  return [
    sql`select o.external_userid from customers o where ${match(sql`o.owner_userid`)}`,
    sql`select f.external_userid from follow_relations f where f.status = 'active' and ${match(sql`f.userid`)}`,
  ];
}

/** Pool customers whose pool subtree contains one of the member's departments (null pool = corp-wide). */
function poolArm(userid: string): SQL {
  return sql`select p.external_userid from customers p where p.in_pool_since is not null and (p.pool_department_id is null or p.pool_department_id in (
    with recursive up(id) as (select md.department_id from member_departments md where md.userid = ${userid}
      union select d.parent_id from departments d join up on d.id = up.id where d.parent_id is not null) select id from up))`;
}

/** The SELECTs whose union is the set of customer ids the subject may act on (empty: nothing). */
function accessArms(subject: AccessSubject, action: CustomerAction): SQL[] | 'all' {
  const scope = effectiveScope(subject, action);
  if (scope === 'all') return 'all';
  const arms: SQL[] = [];
  if (scope === 'own' || scope === 'dept') arms.push(...heldBy(sql`${subject.userid}`, true));
  const managed = (subject.managedDepartments ?? []).filter((d) => Number.isInteger(d));
  if (scope === 'dept' && managed.length) arms.push(...heldBy(membersOf(managed), false));
  if (action === 'view' && subject.active) arms.push(poolArm(subject.userid));
  for (const grant of activeGrants(subject, action)) {
    if (grant.customerIds?.length) arms.push(sql`select g.external_userid from customers g where g.external_userid in (${list(grant.customerIds)})`);
    else if (grant.departmentId !== undefined) arms.push(...heldBy(membersOf([grant.departmentId]), false));
  }
  return arms;
}

/**
 * The predicate over `customers` for (subject, action). Scopes: `own` = customers the member owns or
 * actively follows; `dept` = `own` plus customers owned or actively followed by members of the
 * departments they manage (sub-departments included); `all` = every customer. `view` also covers pool
 * customers of the member's departments. Active grants add their customers. Nothing allowed = `false`.
 */
export function customerScopeSql(subject: AccessSubject, action: CustomerAction): SQL {
  const arms = accessArms(subject, action);
  if (arms === 'all') return sql`true`;
  if (!arms.length) return sql`false`;
  return sql`${customers.externalUserId} in (${sql.join(arms, sql` union all `)})`;
}

export interface AccessExplanation {
  allowed: boolean;
  scope: CustomerScope;
  because: string[];
}

/**
 * A decision explained in words from facts already known (no I/O): the customer's holders, the
 * members of the subtrees the subject manages, and the subject's departments with their ancestors.
 */
export function explainCustomerAccess(subject: AccessSubject, action: CustomerAction, facts: {
  ownerUserid: string | null;
  activeFollowers: string[];
  /** Userids of members in the departments the subject manages (subtrees). */
  managedMembers: string[];
  inPool: boolean;
  poolDepartmentId: number | null;
  memberDepartmentsWithAncestors: number[];
  externalUserId: string;
  /** For department grants: members of each granted department's subtree. */
  grantDepartmentMembers?: Map<number, string[]>;
}): AccessExplanation {
  const because: string[] = [];
  if (!subject.active) return { allowed: false, scope: 'none', because: ['the member is not active in WeCom (left, disabled or not activated)'] };
  if (subject.probation && action !== 'view') return { allowed: false, scope: 'none', because: [`read-only probation: only view is allowed, not ${action}`] };
  const scope = effectiveScope(subject, action);
  const holders = new Set([...(facts.ownerUserid ? [facts.ownerUserid] : []), ...facts.activeFollowers]);
  let allowed = false;
  if (scope === 'all') { allowed = true; because.push(`scope all for ${action}`); }
  if ((scope === 'own' || scope === 'dept') && holders.has(subject.userid)) {
    allowed = true;
    because.push(facts.ownerUserid === subject.userid ? 'you own this customer' : 'you follow this customer');
  }
  if (scope === 'dept' && facts.managedMembers.some((m) => holders.has(m))) { allowed = true; because.push('owned or followed by a member of a department you manage'); }
  if (action === 'view' && facts.inPool && (facts.poolDepartmentId === null || facts.memberDepartmentsWithAncestors.includes(facts.poolDepartmentId))) {
    allowed = true;
    because.push(facts.poolDepartmentId === null ? 'in the corp-wide pool' : 'in the pool of one of your departments');
  }
  for (const grant of activeGrants(subject, action)) {
    if (grant.customerIds?.includes(facts.externalUserId)) { allowed = true; because.push(`granted until ${grant.expiresAt.toISOString()}`); }
    if (grant.departmentId !== undefined && (facts.grantDepartmentMembers?.get(grant.departmentId) ?? []).some((m) => holders.has(m))) {
      allowed = true;
      because.push(`granted on department ${grant.departmentId} until ${grant.expiresAt.toISOString()}`);
    }
  }
  if (!allowed) because.push(scope === 'none' ? `no role gives ${action}` : `scope ${scope} for ${action} does not cover this customer`);
  return { allowed, scope, because };
}
