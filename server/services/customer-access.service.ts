import { sql, type SQL } from 'drizzle-orm';
import type { AppContext } from '../context.ts';
import type { Queryable } from '../db/database.ts';
import { customers } from '../db/schema.ts';
import { DomainError } from '../http/domain-error.ts';
import { reason } from '../http/reason.ts';
import {
  CUSTOMER_ACTIONS, customerScopeKey, customerScopeSql, isCustomerAction, mergeScopes,
  type AccessSubject, type CustomerAction,
} from '../policy/customer-scope.ts';
import { audit } from './audit.service.ts';
import { MEMBER_ACTIVE } from './org-sync.service.ts';
import { BUILTIN_ROLES, roleDefinitions } from './roles.service.ts';

/** The one answer for a customer that does not exist and for one outside the member's view scope. */
export const CUSTOMER_NOT_FOUND = 'no such customer among yours';
export const customerNotFound = (): DomainError => new DomainError('NOT_FOUND', CUSTOMER_NOT_FOUND, undefined, reason('customer.not_found'));

export interface MemberRoles {
  /** Every role the member holds: implicit (admin, manager, rep) and named by an admin. */
  roles: string[];
  managedDepartments: number[];
}

const NO_SCOPES = mergeScopes([]);

/** Both drivers (pg and PGlite) answer raw queries with `{ rows }`. */
async function rowsOf<T>(db: Queryable, query: SQL): Promise<T[]> {
  return ((await db.execute(query)) as unknown as { rows: T[] }).rows;
}

/** jsonb as either driver returns it (parsed, or text). */
const json = <T>(value: unknown): T => (typeof value === 'string' ? JSON.parse(value) : value) as T;

/**
 * The roles a member holds. Implicit: `admin` (ADMIN_USERIDS and app_admins), `manager` (leader of a
 * department in WeCom, or named to manage departments), `rep` (every active member). Plus the roles an
 * admin named in member_roles. Inactive members hold none. One statement.
 */
export async function memberRoleNames(db: Queryable, userid: string, configuredAdmins: string[]): Promise<MemberRoles & { active: boolean; probation: { on: boolean; until: Date | null } }> {
  const [member] = await rowsOf<{ status: number; probation: boolean; probation_until: string | Date | null; leader_of: unknown; named: unknown; roles: unknown; app_admin: boolean }>(db, sql`
    select m.status, m.probation, m.probation_until,
      (select coalesce(jsonb_agg(md.department_id), '[]'::jsonb) from member_departments md where md.userid = m.userid and md.is_leader) as leader_of,
      (select coalesce(jsonb_agg(mm.department_id), '[]'::jsonb) from member_managed_departments mm where mm.userid = m.userid) as named,
      (select coalesce(jsonb_agg(mr.role), '[]'::jsonb) from member_roles mr where mr.userid = m.userid) as roles,
      exists (select 1 from app_admins a where a.userid = m.userid) as app_admin
    from members m where m.userid = ${userid}`);
  if (!member || Number(member.status) !== MEMBER_ACTIVE) return { active: false, roles: [], managedDepartments: [], probation: { on: false, until: null } };
  const leaderOf = json<number[]>(member.leader_of);
  const named = json<number[]>(member.named);
  const names = new Set<string>(['rep', ...json<string[]>(member.roles)]);
  if (leaderOf.length || named.length) names.add('manager');
  if (configuredAdmins.includes(userid) || member.app_admin) names.add('admin');
  return {
    active: true,
    roles: [...names].sort(),
    managedDepartments: [...new Set([...leaderOf, ...named].map(Number))].sort((x, y) => x - y),
    probation: { on: member.probation, until: member.probation_until === null ? null : new Date(member.probation_until) },
  };
}

interface GrantRow { actions: unknown; customer_ids: string[] | null; department_id: number | null; expires_at: string }

/**
 * Everything the customer scope needs about one member, read now in two statements. A member who is
 * unknown, left, disabled or not activated gets no access at all. Grants count while approved (or
 * emergency-active) and not expired at `now`; the predicate checks expiry against `now` again. The
 * department subtrees (managed, granted) and the member's departments with their ancestors come
 * expanded (the same walks as the predicate's fallback: roots included even when unknown; cycles
 * terminate), so the predicate tests membership in a list instead of walking the tree per statement.
 */
export async function loadAccessSubject(db: Queryable, userid: string, configuredAdmins: string[], now: Date = new Date()): Promise<AccessSubject> {
  const held = await memberRoleNames(db, userid, configuredAdmins);
  if (!held.active) return { userid, active: false, probation: false, scopes: NO_SCOPES, managedDepartments: [], grants: [], now };
  const managed = `{${held.managedDepartments.join(',')}}`;
  const [facts] = await rowsOf<{ roles: unknown; grants: unknown; subtrees: unknown; pool: unknown }>(db, sql`
    with recursive g as (
      select ag.actions, ag.customer_ids, ag.department_id, ag.expires_at from access_grants ag
      where ag.requester = ${userid} and ag.state = 'active' and ag.expires_at > ${now.toISOString()}::timestamptz
    ), roots(r) as (
      select unnest(${managed}::integer[])
      union select g.department_id from g where g.department_id is not null and coalesce(jsonb_array_length(g.customer_ids), 0) = 0
    ), sub(root, id) as (
      select r, r from roots
      union select sub.root, d.id from departments d join sub on d.parent_id = sub.id
    ), up(id) as (
      select md.department_id from member_departments md where md.userid = ${userid}
      union select d.parent_id from departments d join up on d.id = up.id where d.parent_id is not null
    )
    select
      (select coalesce(jsonb_agg(jsonb_build_object('name', r.name, 'scopes', r.scopes)), '[]'::jsonb) from roles r where r.name in (${sql.join(held.roles.map((n) => sql`${n}`), sql`, `)})) as roles,
      (select coalesce(jsonb_agg(jsonb_build_object('actions', g.actions, 'customer_ids', g.customer_ids, 'department_id', g.department_id, 'expires_at', g.expires_at)), '[]'::jsonb) from g) as grants,
      (select coalesce(jsonb_object_agg(t.root, t.ids), '{}'::jsonb) from (select root, jsonb_agg(id) as ids from sub group by root) t) as subtrees,
      (select coalesce(jsonb_agg(up.id), '[]'::jsonb) from up) as pool`);
  // A built-in role missing from the table (not seeded yet) has its defaults; unknown names grant nothing.
  const rows = json<{ name: string; scopes: Record<string, unknown> }[]>(facts!.roles);
  const definitions = [...rows, ...BUILTIN_ROLES.filter((b) => held.roles.includes(b.name) && !rows.some((r) => r.name === b.name))];
  const grants = json<GrantRow[]>(facts!.grants).map((g) => ({
    actions: (Array.isArray(g.actions) ? g.actions : []).filter(isCustomerAction),
    ...(g.customer_ids?.length ? { customerIds: g.customer_ids } : {}),
    ...(g.department_id !== null && !g.customer_ids?.length ? { departmentId: g.department_id } : {}),
    expiresAt: new Date(g.expires_at),
  }));
  const subtrees = Object.fromEntries(Object.entries(json<Record<string, number[]>>(facts!.subtrees)).map(([root, ids]) => [Number(root), ids.map(Number)]));
  return {
    userid,
    active: true,
    probation: held.probation.on && (held.probation.until === null || held.probation.until.getTime() > now.getTime()),
    scopes: mergeScopes(definitions.map((d) => d.scopes)),
    managedDepartments: held.managedDepartments,
    grants,
    now,
    expanded: { subtrees, poolDepartments: [...new Set(json<number[]>(facts!.pool).map(Number))] },
  };
}

/** Whether the member may emergency-activate grants: any held role with the flag set. */
export async function mayActivateEmergency(db: Queryable, userid: string, configuredAdmins: string[]): Promise<boolean> {
  const held = await memberRoleNames(db, userid, configuredAdmins);
  if (!held.active) return false;
  return (await roleDefinitions(db, held.roles)).some((d) => d.allowEmergency);
}

/**
 * One boolean column per distinct predicate (actions sharing the same arms share a column), in the
 * row shape: evaluated on one row, never on a whole set. `read` turns a result row into per-action
 * booleans.
 */
export function permissionColumns(subject: AccessSubject): { columns: Record<string, SQL<boolean>>; read(row: Record<string, unknown>): Record<CustomerAction, boolean> } {
  const keys = new Map<string, string>();
  const columns: Record<string, SQL<boolean>> = {};
  const columnOf = {} as Record<CustomerAction, string>;
  for (const action of CUSTOMER_ACTIONS) {
    const key = customerScopeKey(subject, action);
    let column = keys.get(key);
    if (!column) {
      column = `may_${keys.size}`;
      keys.set(key, column);
      columns[column] = sql<boolean>`(${customerScopeSql(subject, action, 'row')})`;
    }
    columnOf[action] = column;
  }
  return { columns, read: (row) => Object.fromEntries(CUSTOMER_ACTIONS.map((a) => [a, row[columnOf[a]] === true])) as Record<CustomerAction, boolean> };
}

/** Which actions the subject has on one customer, or undefined when it is not in their view scope. */
export async function customerPermissions(db: Queryable, subject: AccessSubject, externalUserId: string): Promise<Record<CustomerAction, boolean> | undefined> {
  const { columns, read } = permissionColumns(subject);
  const selected = sql.join(Object.entries(columns).map(([name, predicate]) => sql`${predicate} as ${sql.identifier(name)}`), sql`, `);
  const result = (await db.execute(sql`select ${selected} from ${customers}
    where ${customers.externalUserId} = ${externalUserId} and ${customerScopeSql(subject, 'view', 'row')}`)) as unknown as { rows: Record<string, unknown>[] };
  const row = result.rows[0];
  return row ? read(row) : undefined;
}

/**
 * Throws unless the subject may take `action` on the customer: 404 (the same as a missing customer)
 * when it is outside their view scope, 403 FORBIDDEN when visible but the action is not allowed.
 * Every refusal is audited.
 */
export async function assertCustomerAccess(ctx: AppContext, subject: AccessSubject, action: CustomerAction, externalUserId: string): Promise<void> {
  const permissions = isCustomerAction(action) ? await customerPermissions(ctx.db, subject, externalUserId) : undefined;
  if (permissions?.[action]) return;
  const visible = permissions !== undefined;
  await ctx.db.transaction((tx) => audit(tx, {
    actor: subject.userid, action: `customer.${String(action)}`, subjectType: 'customer', subjectId: externalUserId, outcome: 'denied',
    details: { reason: visible ? 'action_not_allowed' : 'not_visible', ...(subject.probation ? { probation: true } : {}) },
  }));
  if (!visible) throw customerNotFound();
  const onProbation = subject.probation && action !== 'view';
  throw new DomainError('FORBIDDEN', onProbation
    ? `read-only probation: you may view this customer but not ${action} it`
    : `your roles do not allow ${action} on this customer`, { action }, reason(onProbation ? 'customer.probation' : 'customer.action_not_allowed', { action: String(action) }));
}
