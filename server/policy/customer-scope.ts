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
  /**
   * Optional, filled by loadAccessSubject: department subtrees already expanded (root → every id
   * below and including it) and the member's departments with their ancestors, so the predicate
   * needs no recursive walk. Without it (or for a root it lacks) the SQL walks the tree itself.
   */
  expanded?: { subtrees: Record<number, number[]>; poolDepartments: number[] };
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

/**
 * An integer array as one bound parameter (ids are integers, checked), behind a scalar subquery: the
 * planner then does not estimate every element (hundreds of department ids cost milliseconds of
 * planning per use); it is evaluated once per statement.
 */
const intArrayParam = (ids: readonly number[]): SQL => sql`(select ${`{${ids.filter((id) => Number.isInteger(id)).join(',')}}`}::integer[])::integer[]`;

/**
 * The ids of the departments in the subtrees below (and including) `roots`, as an integer[]
 * expression: the expansion the subject carries, or a recursive walk (cycles terminate: UNION).
 */
function subtreeArray(subject: AccessSubject, roots: readonly number[]): SQL {
  const known = subject.expanded?.subtrees;
  if (known && roots.every((r) => Array.isArray(known[r]))) return intArrayParam([...new Set(roots.flatMap((r) => known[r]!))]);
  return sql`array(with recursive sub(id) as (select unnest(${intArray(roots)}) union select d.id from departments d join sub on d.parent_id = sub.id) select id from sub)`;
}

/** Members (any status) of the given departments' subtrees. */
function membersOf(subject: AccessSubject, roots: readonly number[]): SQL {
  return sql`select md.userid from member_departments md where md.department_id = any (${subtreeArray(subject, roots)})`;
}

/**
 * Two equivalent SQL shapes, because PostgreSQL cannot pick between "gather the few customers, then
 * sort" and "walk the list order, test each row" when the set is a union it cannot estimate:
 * - `set`: `id IN (union of small indexed selects)`. Right for `own` scopes (a member's few hundred
 *   customers plus the pools of their departments): gathered through the owner and relation indexes.
 * - `row`: an OR of tests on the row itself (owner in a hashed member set, pool, named ids) and one
 *   correlated index probe of follow relations. Right for department-wide sets (a manager of a large
 *   subtree): the list walks (created_at desc, id) and stops after the page; and for one-row checks.
 * `auto` uses `row` as soon as a department subtree is involved (`dept` scope or a department grant).
 */
export type ScopeShape = 'auto' | 'set' | 'row';

interface Arms {
  /** Holders: the member themself, and members of department subtrees (managed, or granted). */
  self: boolean;
  /** Roots of each subtree whose members' customers are covered. */
  memberSets: number[][];
  pool: boolean;
  customerIds: string[];
}

function collectArms(subject: AccessSubject, action: CustomerAction): Arms | 'all' {
  const scope = effectiveScope(subject, action);
  if (scope === 'all') return 'all';
  const arms: Arms = { self: scope === 'own' || scope === 'dept', memberSets: [], pool: action === 'view' && subject.active, customerIds: [] };
  const managed = (subject.managedDepartments ?? []).filter((d) => Number.isInteger(d));
  if (scope === 'dept' && managed.length) arms.memberSets.push([...new Set(managed)].sort((a, b) => a - b));
  for (const grant of activeGrants(subject, action)) {
    if (grant.customerIds?.length) arms.customerIds.push(...grant.customerIds);
    else if (grant.departmentId !== undefined) arms.memberSets.push([grant.departmentId]);
  }
  arms.customerIds = [...new Set(arms.customerIds)].sort();
  return arms;
}

/**
 * A key equal for two actions exactly when their predicates are the same (same arms), so a caller
 * evaluating several actions on one row computes each distinct predicate once.
 */
export function customerScopeKey(subject: AccessSubject, action: CustomerAction): string {
  return JSON.stringify(collectArms(subject, action));
}

/** The member's departments and all their ancestors (integer[]): the pools whose subtree holds the member. */
function poolDepartmentsArray(subject: AccessSubject): SQL {
  if (subject.expanded) return intArrayParam(subject.expanded.poolDepartments);
  return sql`array(with recursive up(id) as (select md.department_id from member_departments md where md.userid = ${subject.userid}
      union select d.parent_id from departments d join up on d.id = up.id where d.parent_id is not null) select id from up)`;
}

function setShape(subject: AccessSubject, arms: Arms): SQL {
  const selects: SQL[] = [];
  if (arms.self) {
    selects.push(sql`select o.external_userid from customers o where o.owner_userid = ${subject.userid}`);
    selects.push(sql`select f.external_userid from follow_relations f where f.status = 'active' and f.userid = ${subject.userid}`);
  }
  for (const members of arms.memberSets.map((roots) => membersOf(subject, roots))) {
    selects.push(sql`select o.external_userid from customers o where o.owner_userid in (${members})`);
    selects.push(sql`select f.external_userid from follow_relations f where f.status = 'active' and f.userid in (${members})`);
  }
  if (arms.pool) {
    selects.push(sql`select p.external_userid from customers p where p.in_pool_since is not null and p.pool_department_id is null`);
    selects.push(sql`select p.external_userid from customers p where p.in_pool_since is not null and p.pool_department_id = any (${poolDepartmentsArray(subject)})`);
  }
  if (arms.customerIds.length) selects.push(sql`select g.external_userid from customers g where g.external_userid in (${list(arms.customerIds)})`);
  if (!selects.length) return sql`false`;
  return sql`${customers.externalUserId} in (${sql.join(selects, sql` union all `)})`;
}

function rowShape(subject: AccessSubject, arms: Arms): SQL {
  const tests: SQL[] = [];
  const holders: SQL[] = [];
  if (arms.self) {
    tests.push(sql`${customers.ownerUserid} = ${subject.userid}`);
    holders.push(sql`f.userid = ${subject.userid}`);
  }
  for (const roots of arms.memberSets) {
    // Is the owner (or a follower, below) in the subtree? One primary-key probe of member_departments
    // per row against the subtree as an array (computed once per statement), rather than building the
    // subtree's whole member set first: a one-row check stays cheap, a list walk stays per row.
    const departmentsBelow = subtreeArray(subject, roots);
    tests.push(sql`exists (select 1 from member_departments md where md.userid = ${customers.ownerUserid} and md.department_id = any (${departmentsBelow}))`);
    holders.push(sql`exists (select 1 from member_departments md where md.userid = f.userid and md.department_id = any (${departmentsBelow}))`);
  }
  if (arms.pool) {
    tests.push(sql`(${customers.inPoolSince} is not null and (${customers.poolDepartmentId} is null or ${customers.poolDepartmentId} = any (${poolDepartmentsArray(subject)})))`);
  }
  if (arms.customerIds.length) tests.push(sql`${customers.externalUserId} in (${list(arms.customerIds)})`);
  if (holders.length) {
    // OFFSET 0 keeps this a per-row index probe: PostgreSQL would otherwise hash every relation of
    // every member of the set before the first row.
    tests.push(sql`exists (select 1 from follow_relations f where f.external_userid = ${customers.externalUserId} and f.status = 'active' and (${sql.join(holders, sql` or `)}) offset 0)`);
  }
  if (!tests.length) return sql`false`;
  return sql`(${sql.join(tests, sql` or `)})`;
}

/**
 * The predicate over `customers` for (subject, action). Scopes: `own` = customers the member owns or
 * actively follows; `dept` = `own` plus customers owned or actively followed by members of the
 * departments they manage (sub-departments included); `all` = every customer. `view` also covers pool
 * customers of the member's departments. Active grants add their customers. Nothing allowed = `false`.
 * Both shapes (see ScopeShape) select exactly the same customers. `outsidePools` leaves the pool arm
 * out; it is equivalent only together with `in_pool_since is null` (the list's `pool=0`).
 */
export function customerScopeSql(subject: AccessSubject, action: CustomerAction, shape: ScopeShape = 'auto', options: { outsidePools?: boolean } = {}): SQL {
  const arms = collectArms(subject, action);
  if (arms === 'all') return sql`true`;
  // Only for callers that also require `in_pool_since is null`: the pool arm could add nothing then.
  if (options.outsidePools) arms.pool = false;
  const chosen = shape === 'auto' ? (arms.memberSets.length ? 'row' : 'set') : shape;
  return chosen === 'row' ? rowShape(subject, arms) : setShape(subject, arms);
}

/**
 * The same scope as predicates whose union is `customerScopeSql(subject, action)` (or `all`): for a
 * list, each part is paged on its own (`order by created_at desc, id limit n` on its own index: a
 * member's customers, their relations, a department-wide walk, each pool) and the pages are merged,
 * so a page costs about the page size per part, whatever the size of each set.
 */
export function customerScopeParts(subject: AccessSubject, action: CustomerAction, options: { outsidePools?: boolean } = {}): SQL[] | 'all' {
  const arms = collectArms(subject, action);
  if (arms === 'all') return 'all';
  const parts: SQL[] = [];
  if (arms.self) {
    parts.push(sql`${customers.ownerUserid} = ${subject.userid}`);
    parts.push(sql`${customers.externalUserId} in (select f.external_userid from follow_relations f where f.status = 'active' and f.userid = ${subject.userid})`);
  }
  if (arms.memberSets.length) parts.push(rowShape(subject, { self: false, memberSets: arms.memberSets, pool: false, customerIds: [] }));
  if (arms.pool && !options.outsidePools) {
    parts.push(sql`${customers.inPoolSince} is not null and ${customers.poolDepartmentId} is null`);
    parts.push(sql`${customers.inPoolSince} is not null and ${customers.poolDepartmentId} = any (${poolDepartmentsArray(subject)})`);
  }
  if (arms.customerIds.length) parts.push(sql`${customers.externalUserId} in (${list(arms.customerIds)})`);
  return parts;
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
