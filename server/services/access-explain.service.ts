import { and, eq, inArray, sql } from 'drizzle-orm';
import type { AppContext } from '../context.ts';
import type { Queryable } from '../db/database.ts';
import { customers, followRelations, memberDepartments, members } from '../db/schema.ts';
import { DomainError } from '../http/domain-error.ts';
import {
  activeGrants, CUSTOMER_ACTIONS, explainCustomerAccess, isCustomerScope,
  type AccessSubject, type CustomerAction, type CustomerScope,
} from '../policy/customer-scope.ts';
import { audit } from './audit.service.ts';
import { assertCustomerAccess, customerNotFound, customerPermissions, loadAccessSubject, memberRoleNames } from './customer-access.service.ts';
import { roleDefinitions } from './roles.service.ts';

/**
 * Why a member may or may not take each action on one customer: the roles giving each scope, the
 * member's relation to the customer (owner, follower, department, pool), grants in force, probation
 * and status, in words. The decision itself comes from the permission check (the SQL predicate);
 * the words come from the pure explainer over the same facts, and `agrees` says they match. Every
 * explanation is audited (`customer.access_explained`).
 */

export interface ActionExplanation {
  action: CustomerAction;
  allowed: boolean;
  /** The widest scope the member's roles give for this action (after status and probation). */
  scope: CustomerScope;
  /** Roles that give a scope other than `none` for this action. */
  roles: { role: string; scope: CustomerScope }[];
  /** Grants in force that include this action. */
  grants: { expiresAt: string; customers?: number; departmentId?: number }[];
  because: string[];
  agrees: boolean;
}

export interface AccessExplanationView {
  member: { userid: string; name: string | null; active: boolean; probation: boolean; roles: string[]; managedDepartments: number[] };
  customer: { externalUserId: string; owner: string | null; inPool: boolean; poolDepartmentId: number | null; activeFollowers: string[] };
  actions: ActionExplanation[];
}

/** Which of `holders` belong to the subtrees below `roots` (expanded in the subject when known). */
async function holdersIn(db: Queryable, subject: AccessSubject, roots: number[], holders: string[]): Promise<string[]> {
  if (!roots.length || !holders.length) return [];
  const known = subject.expanded?.subtrees;
  const ids = known && roots.every((r) => known[r]) ? [...new Set(roots.flatMap((r) => known[r]!))] : null;
  const departmentsBelow = ids
    ? sql`(select ${`{${ids.join(',')}}`}::integer[])::integer[]`
    : sql`array(with recursive sub(id) as (select unnest(${`{${roots.join(',')}}`}::integer[]) union select d.id from departments d join sub on d.parent_id = sub.id) select id from sub)`;
  const rows = await db.selectDistinct({ userid: memberDepartments.userid }).from(memberDepartments)
    .where(and(inArray(memberDepartments.userid, holders), sql`${memberDepartments.departmentId} = any (${departmentsBelow})`));
  return rows.map((r) => r.userid);
}

export async function explainMemberAccess(ctx: AppContext, viewer: string, memberId: string, externalUserId: string, mode: 'self' | 'admin'): Promise<AccessExplanationView> {
  const subject = await loadAccessSubject(ctx.db, memberId, ctx.config.adminUserIds);
  // About oneself: a customer outside the view scope is the same 404 as a missing one (audited).
  if (mode === 'self') await assertCustomerAccess(ctx, subject, 'view', externalUserId);
  const [customer] = await ctx.db.select({ owner: customers.ownerUserid, inPoolSince: customers.inPoolSince, poolDepartmentId: customers.poolDepartmentId })
    .from(customers).where(eq(customers.externalUserId, externalUserId));
  if (!customer) throw customerNotFound();
  const [person] = await ctx.db.select({ name: members.name }).from(members).where(eq(members.userid, memberId));
  if (mode === 'admin' && !person) throw new DomainError('NOT_FOUND', `no member ${memberId}`);

  const followers = (await ctx.db.select({ userid: followRelations.userid }).from(followRelations)
    .where(and(eq(followRelations.externalUserId, externalUserId), eq(followRelations.status, 'active')))).map((r) => r.userid).sort();
  const holders = [...new Set([...(customer.owner ? [customer.owner] : []), ...followers])];
  const managedMembers = await holdersIn(ctx.db, subject, subject.managedDepartments, holders);
  const grantDepartmentMembers = new Map<number, string[]>();
  for (const grant of subject.grants) {
    if (grant.departmentId !== undefined && !grantDepartmentMembers.has(grant.departmentId)) {
      grantDepartmentMembers.set(grant.departmentId, await holdersIn(ctx.db, subject, [grant.departmentId], holders));
    }
  }
  const held = await memberRoleNames(ctx.db, memberId, ctx.config.adminUserIds);
  const definitions = await roleDefinitions(ctx.db, held.roles);
  const permissions = await customerPermissions(ctx.db, subject, externalUserId);

  const facts = {
    ownerUserid: customer.owner, activeFollowers: followers, managedMembers, inPool: customer.inPoolSince !== null, poolDepartmentId: customer.poolDepartmentId,
    memberDepartmentsWithAncestors: subject.expanded?.poolDepartments ?? [], externalUserId, grantDepartmentMembers,
  };
  const actions = CUSTOMER_ACTIONS.map((action): ActionExplanation => {
    const words = explainCustomerAccess(subject, action, facts);
    const allowed = permissions?.[action] === true;
    return {
      action,
      allowed,
      scope: words.scope,
      roles: definitions.map((d) => ({ role: d.name, scope: isCustomerScope(d.scopes[action]) ? d.scopes[action] as CustomerScope : 'none' as const })).filter((r) => r.scope !== 'none'),
      grants: activeGrants(subject, action).map((g) => ({ expiresAt: g.expiresAt.toISOString(), ...(g.customerIds ? { customers: g.customerIds.length } : {}), ...(g.departmentId !== undefined ? { departmentId: g.departmentId } : {}) })),
      because: words.because,
      agrees: words.allowed === allowed,
    };
  });
  await ctx.db.transaction((tx) => audit(tx, {
    actor: viewer, action: 'customer.access_explained', subjectType: 'customer', subjectId: externalUserId, outcome: 'allowed',
    details: { member: memberId, mode, allowed: actions.filter((a) => a.allowed).map((a) => a.action) },
  }));
  return {
    member: { userid: memberId, name: person?.name ?? null, active: subject.active, probation: subject.probation, roles: held.roles, managedDepartments: held.managedDepartments },
    customer: { externalUserId, owner: customer.owner, inPool: customer.inPoolSince !== null, poolDepartmentId: customer.poolDepartmentId, activeFollowers: followers },
    actions,
  };
}
