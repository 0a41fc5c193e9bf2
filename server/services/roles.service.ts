import { inArray, sql } from 'drizzle-orm';
import type { Queryable } from '../db/database.ts';
import { roles } from '../db/schema.ts';
import type { CustomerAction, CustomerScope } from '../policy/customer-scope.ts';

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
