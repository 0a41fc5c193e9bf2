import { and, eq, gt, sql, type SQL } from 'drizzle-orm';
import type { AppContext } from '../context.ts';
import type { Queryable } from '../db/database.ts';
import { accessGrants, customers, memberDepartments, memberManagedDepartments, memberRoles, members } from '../db/schema.ts';
import { DomainError } from '../http/domain-error.ts';
import {
  CUSTOMER_ACTIONS, customerScopeKey, customerScopeSql, isCustomerAction, mergeScopes,
  type AccessSubject, type CustomerAction,
} from '../policy/customer-scope.ts';
import { audit } from './audit.service.ts';
import { isAdmin } from './members.service.ts';
import { MEMBER_ACTIVE } from './org-sync.service.ts';
import { roleDefinitions } from './roles.service.ts';

/** The one answer for a customer that does not exist and for one outside the member's view scope. */
export const CUSTOMER_NOT_FOUND = 'no such customer among yours';
export const customerNotFound = (): DomainError => new DomainError('NOT_FOUND', CUSTOMER_NOT_FOUND);

export interface MemberRoles {
  /** Every role the member holds: implicit (admin, manager, rep) and named by an admin. */
  roles: string[];
  managedDepartments: number[];
}

const NO_SCOPES = mergeScopes([]);

/**
 * The roles a member holds. Implicit: `admin` (ADMIN_USERIDS and app_admins), `manager` (leader of a
 * department in WeCom, or named to manage departments), `rep` (every active member). Plus the roles an
 * admin named in member_roles. Inactive members hold none.
 */
export async function memberRoleNames(db: Queryable, userid: string, configuredAdmins: string[]): Promise<MemberRoles & { active: boolean; probation: { on: boolean; until: Date | null } }> {
  const [member] = await db.select({ status: members.status, probation: members.probation, probationUntil: members.probationUntil }).from(members).where(eq(members.userid, userid));
  if (!member || member.status !== MEMBER_ACTIVE) return { active: false, roles: [], managedDepartments: [], probation: { on: false, until: null } };
  const leaderOf = await db.select({ id: memberDepartments.departmentId }).from(memberDepartments).where(and(eq(memberDepartments.userid, userid), eq(memberDepartments.isLeader, true)));
  const named = await db.select({ id: memberManagedDepartments.departmentId }).from(memberManagedDepartments).where(eq(memberManagedDepartments.userid, userid));
  const explicit = await db.select({ role: memberRoles.role }).from(memberRoles).where(eq(memberRoles.userid, userid));
  const names = new Set<string>(['rep', ...explicit.map((r) => r.role)]);
  if (leaderOf.length || named.length) names.add('manager');
  if (await isAdmin(db, userid, configuredAdmins)) names.add('admin');
  return {
    active: true,
    roles: [...names].sort(),
    managedDepartments: [...new Set([...leaderOf, ...named].map((d) => d.id))].sort((a, b) => a - b),
    probation: { on: member.probation, until: member.probationUntil },
  };
}

/**
 * Everything the customer scope needs about one member, read now. A member who is unknown, left,
 * disabled or not activated gets no access at all. Grants count while approved (or emergency-active)
 * and not expired at `now`; the predicate checks expiry against `now` again.
 */
export async function loadAccessSubject(db: Queryable, userid: string, configuredAdmins: string[], now: Date = new Date()): Promise<AccessSubject> {
  const held = await memberRoleNames(db, userid, configuredAdmins);
  if (!held.active) return { userid, active: false, probation: false, scopes: NO_SCOPES, managedDepartments: [], grants: [], now };
  const definitions = await roleDefinitions(db, held.roles);
  const grantRows = await db.select({ actions: accessGrants.actions, customerIds: accessGrants.customerIds, departmentId: accessGrants.departmentId, expiresAt: accessGrants.expiresAt })
    .from(accessGrants)
    .where(and(eq(accessGrants.requester, userid), eq(accessGrants.state, 'active'), gt(accessGrants.expiresAt, now)));
  return {
    userid,
    active: true,
    probation: held.probation.on && (held.probation.until === null || held.probation.until.getTime() > now.getTime()),
    scopes: mergeScopes(definitions.map((d) => d.scopes)),
    managedDepartments: held.managedDepartments,
    grants: grantRows.map((g) => ({
      actions: (g.actions ?? []).filter(isCustomerAction),
      ...(g.customerIds?.length ? { customerIds: g.customerIds } : {}),
      ...(g.departmentId !== null && !g.customerIds?.length ? { departmentId: g.departmentId } : {}),
      expiresAt: g.expiresAt!,
    })),
    now,
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
  throw new DomainError('FORBIDDEN', subject.probation && action !== 'view'
    ? `read-only probation: you may view this customer but not ${action} it`
    : `your roles do not allow ${action} on this customer`, { action });
}
