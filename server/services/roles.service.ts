import { eq, inArray, sql } from 'drizzle-orm';
import type { Queryable } from '../db/database.ts';
import { departments, memberManagedDepartments, memberRoles, members, roles } from '../db/schema.ts';
import { DomainError } from '../http/domain-error.ts';
import type { CustomerAction, CustomerScope } from '../policy/customer-scope.ts';
import { audit } from './audit.service.ts';
import { bumpPolicyVersion } from './policy-version.ts';

export interface RoleDefinition {
  name: string;
  label: string;
  scopes: Record<CustomerAction, CustomerScope>;
  /** Holders may self-activate emergency grants (short window, flagged for review). */
  allowEmergency: boolean;
}

const scopes = (view: CustomerScope, edit: CustomerScope, tag: CustomerScope, exp: CustomerScope, del: CustomerScope, assign: CustomerScope, transfer: CustomerScope, unmask: CustomerScope): Record<CustomerAction, CustomerScope> =>
  ({ view, edit, tag, export: exp, delete: del, assign, transfer, unmask });

/**
 * The built-in roles and their defaults (issue 5). Admins may edit them but not delete them. `admin`,
 * `manager` and `rep` are also held implicitly (configured admins, department leaders, every active
 * member); `service` only when an admin names it, and it may self-activate emergency grants.
 */
export const BUILTIN_ROLES: readonly RoleDefinition[] = [
  { name: 'admin', label: '管理员', scopes: scopes('all', 'all', 'all', 'all', 'all', 'all', 'all', 'all'), allowEmergency: false },
  { name: 'manager', label: '主管', scopes: scopes('dept', 'dept', 'dept', 'dept', 'none', 'dept', 'dept', 'dept'), allowEmergency: false },
  { name: 'rep', label: '销售', scopes: scopes('own', 'own', 'own', 'none', 'none', 'none', 'none', 'own'), allowEmergency: false },
  { name: 'service', label: '客服', scopes: scopes('all', 'none', 'none', 'none', 'none', 'none', 'none', 'none'), allowEmergency: true },
];

export const BUILTIN_ROLE_NAMES = new Set(BUILTIN_ROLES.map((r) => r.name));

/** Seeds the built-in roles once; an admin's later edits are kept (insert, never overwrite). */
export async function ensureBuiltinRoles(db: Queryable): Promise<void> {
  await db.insert(roles).values(BUILTIN_ROLES.map((r) => ({ ...r, builtin: true }))).onConflictDoNothing({ target: roles.name });
  // A row created before `builtin` was set (e.g. by hand) is still a built-in: it may not be deleted.
  await db.update(roles).set({ builtin: true }).where(sql`${roles.name} in ('admin', 'manager', 'rep', 'service') and not ${roles.builtin}`);
}

/**
 * Role definitions by name. A built-in missing from the table (not seeded yet) answers with its
 * defaults; an unknown name answers nothing, so it grants nothing.
 */
export async function roleDefinitions(db: Queryable, names: string[]): Promise<RoleDefinition[]> {
  if (!names.length) return [];
  const rows = await db.select().from(roles).where(inArray(roles.name, names));
  const found = new Map<string, RoleDefinition>(rows.map((r) => [r.name, { name: r.name, label: r.label, scopes: r.scopes, allowEmergency: r.allowEmergency }]));
  for (const builtin of BUILTIN_ROLES) if (names.includes(builtin.name) && !found.has(builtin.name)) found.set(builtin.name, builtin);
  return [...found.values()];
}

// ── Admin changes (each in the caller's transaction, audited, bumping the tag policy version) ──────

export const ROLE_NAME_PATTERN = /^[a-z][a-z0-9_-]{1,31}$/;

export interface RoleRow extends RoleDefinition { builtin: boolean; members: number }

/** Every role with how many members an admin named to it (implicit holders are not counted). */
export async function listRoles(db: Queryable): Promise<RoleRow[]> {
  const rows = await db.select().from(roles).orderBy(roles.name);
  const counts = await db.select({ role: memberRoles.role, n: sql<number>`count(*)::int` }).from(memberRoles).groupBy(memberRoles.role);
  const countOf = new Map(counts.map((c) => [c.role, c.n]));
  return rows.map((r) => ({ name: r.name, label: r.label, scopes: r.scopes, allowEmergency: r.allowEmergency, builtin: r.builtin, members: countOf.get(r.name) ?? 0 }));
}

async function roleRow(db: Queryable, name: string): Promise<RoleRow | undefined> {
  return (await listRoles(db)).find((r) => r.name === name);
}

export async function createRole(tx: Queryable, role: RoleDefinition, actor: string): Promise<RoleRow> {
  const inserted = await tx.insert(roles).values({ ...role, builtin: false }).onConflictDoNothing({ target: roles.name }).returning({ name: roles.name });
  if (!inserted.length) throw new DomainError('CONFLICT', `a role named ${role.name} already exists`);
  await audit(tx, { actor, action: 'role.created', subjectType: 'role', subjectId: role.name, outcome: 'done', details: { after: role } });
  await bumpPolicyVersion(tx);
  return (await roleRow(tx, role.name))!;
}

export async function updateRole(tx: Queryable, name: string, patch: { label?: string; scopes?: Partial<Record<CustomerAction, CustomerScope>>; allowEmergency?: boolean }, actor: string): Promise<RoleRow> {
  const [before] = await tx.select().from(roles).where(eq(roles.name, name)).for('update');
  if (!before) throw new DomainError('NOT_FOUND', `no role ${name}`);
  const after = { label: patch.label ?? before.label, scopes: { ...before.scopes, ...patch.scopes }, allowEmergency: patch.allowEmergency ?? before.allowEmergency };
  await tx.update(roles).set(after).where(eq(roles.name, name));
  await audit(tx, {
    actor, action: 'role.updated', subjectType: 'role', subjectId: name, outcome: 'done',
    details: { before: { label: before.label, scopes: before.scopes, allowEmergency: before.allowEmergency }, after },
  });
  await bumpPolicyVersion(tx);
  return (await roleRow(tx, name))!;
}

/** Built-in roles cannot be deleted; a custom role is removed from every member who held it. */
export async function deleteRole(tx: Queryable, name: string, actor: string): Promise<{ name: string; removedFrom: string[] }> {
  const [row] = await tx.select().from(roles).where(eq(roles.name, name)).for('update');
  if (!row) throw new DomainError('NOT_FOUND', `no role ${name}`);
  if (row.builtin || BUILTIN_ROLE_NAMES.has(name)) throw new DomainError('CONFLICT', `${name} is a built-in role: edit its scopes instead of deleting it`);
  const removed = await tx.delete(memberRoles).where(eq(memberRoles.role, name)).returning({ userid: memberRoles.userid });
  await tx.delete(roles).where(eq(roles.name, name));
  const removedFrom = removed.map((r) => r.userid).sort();
  await audit(tx, { actor, action: 'role.deleted', subjectType: 'role', subjectId: name, outcome: 'done', details: { before: { label: row.label, scopes: row.scopes, allowEmergency: row.allowEmergency }, removedFrom } });
  await bumpPolicyVersion(tx);
  return { name, removedFrom };
}

/**
 * The roles an admin names for a member (replacing the previous ones) and, when given, the
 * departments they manage. `admin` is not named here (admins are ADMIN_USERIDS and app_admins) and
 * `rep` is everyone's already.
 */
export async function setMemberRoles(tx: Queryable, userid: string, input: { roles: string[]; managedDepartments?: number[] }, actor: string): Promise<void> {
  const [member] = await tx.select({ userid: members.userid }).from(members).where(eq(members.userid, userid));
  if (!member) throw new DomainError('NOT_FOUND', `no member ${userid}`);
  const wanted = [...new Set(input.roles)].sort();
  if (wanted.includes('admin')) throw new DomainError('BAD_REQUEST', 'admin is not a role to name here: admins are ADMIN_USERIDS and the app admins list');
  const known = wanted.length ? new Set((await tx.select({ name: roles.name }).from(roles).where(inArray(roles.name, wanted))).map((r) => r.name)) : new Set<string>();
  const unknown = wanted.filter((r) => !known.has(r));
  if (unknown.length) throw new DomainError('BAD_REQUEST', `no such role: ${unknown.join(', ')}`, { roles: unknown });
  const beforeRoles = (await tx.select({ role: memberRoles.role }).from(memberRoles).where(eq(memberRoles.userid, userid))).map((r) => r.role).sort();
  await tx.delete(memberRoles).where(eq(memberRoles.userid, userid));
  if (wanted.length) await tx.insert(memberRoles).values(wanted.map((role) => ({ userid, role, grantedBy: actor })));
  const details: Record<string, unknown> = { before: { roles: beforeRoles }, after: { roles: wanted } };
  if (input.managedDepartments) {
    const departmentIds = [...new Set(input.managedDepartments)].sort((a, b) => a - b);
    const existing = departmentIds.length ? new Set((await tx.select({ id: departments.id }).from(departments).where(inArray(departments.id, departmentIds))).map((d) => d.id)) : new Set<number>();
    const missing = departmentIds.filter((d) => !existing.has(d));
    if (missing.length) throw new DomainError('BAD_REQUEST', `no such department: ${missing.join(', ')}`, { departments: missing });
    const beforeDepartments = (await tx.select({ id: memberManagedDepartments.departmentId }).from(memberManagedDepartments).where(eq(memberManagedDepartments.userid, userid))).map((d) => d.id).sort((a, b) => a - b);
    await tx.delete(memberManagedDepartments).where(eq(memberManagedDepartments.userid, userid));
    if (departmentIds.length) await tx.insert(memberManagedDepartments).values(departmentIds.map((departmentId) => ({ userid, departmentId, grantedBy: actor })));
    (details.before as Record<string, unknown>).managedDepartments = beforeDepartments;
    (details.after as Record<string, unknown>).managedDepartments = departmentIds;
  }
  await audit(tx, { actor, action: 'member.roles_set', subjectType: 'member', subjectId: userid, outcome: 'done', details });
  await bumpPolicyVersion(tx);
}

/** Read-only probation on (until a date, or until cleared with `until: null`) or off. */
export async function setProbation(tx: Queryable, userid: string, input: { on: boolean; until: Date | null }, actor: string): Promise<{ on: boolean; until: Date | null }> {
  const [before] = await tx.select({ probation: members.probation, until: members.probationUntil }).from(members).where(eq(members.userid, userid)).for('update');
  if (!before) throw new DomainError('NOT_FOUND', `no member ${userid}`);
  const after = { on: input.on, until: input.on ? input.until : null };
  await tx.update(members).set({ probation: after.on, probationUntil: after.until }).where(eq(members.userid, userid));
  await audit(tx, {
    actor, action: after.on ? 'member.probation_set' : 'member.probation_cleared', subjectType: 'member', subjectId: userid, outcome: 'done',
    details: { before: { on: before.probation, until: before.until?.toISOString() ?? null }, after: { on: after.on, until: after.until?.toISOString() ?? null } },
  });
  return after;
}
