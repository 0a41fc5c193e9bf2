// The customer scope against a decision matrix kept as data: every member kind (admin, manager,
// named manager, rep, service, a custom role held with rep, probation, left, a member with grants)
// × every customer relation (owner, follower, ended follower, department colleague's, other
// department's, a leaver's, pools of each kind, grant active/expired/revoked, department grant) ×
// every action. One test per cell, on PGlite and on PostgreSQL, through assertCustomerAccess (404 /
// 403 / allowed, denials audited) AND the SQL predicate.
import { and, desc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../server/context.ts';
import type { OpenDatabase } from '../../server/db/database.ts';
import {
  accessGrants, auditLog, customers, departments, followRelations, memberDepartments, memberManagedDepartments, memberRoles, members, roles,
} from '../../server/db/schema.ts';
import { DomainError } from '../../server/http/domain-error.ts';
import { CUSTOMER_ACTIONS, customerScopeSql, type CustomerAction } from '../../server/policy/customer-scope.ts';
import { assertCustomerAccess, loadAccessSubject } from '../../server/services/customer-access.service.ts';
import { ensureBuiltinRoles } from '../../server/services/roles.service.ts';
import { openTestDatabase, type DatabaseKind } from '../support/test-product.ts';

const NOW = new Date();
const HOUR = 3_600_000;
const ADMINS = ['boss'];

/**
 * Departments: 总部(1) → 华东(2) → 上海(21); 华南(3).
 * Members: boss (admin, in 1), mgr (leader of 华东), named (in 华南, named to manage 上海), rep, peer
 * and probie (上海, probie on probation and following rep's customer), gone (上海, left), south (华南,
 * with grants), svc (华南, role service, with a department grant on 上海), multi (华南, custom role
 * `auditor` = view all + export all, following south's customer).
 */
const DEPARTMENTS = [{ id: 1, name: '总部', parentId: null }, { id: 2, name: '华东', parentId: 1 }, { id: 21, name: '上海', parentId: 2 }, { id: 3, name: '华南', parentId: 1 }];
const MEMBERS: { userid: string; department: number; leader?: boolean; status?: number; probation?: boolean }[] = [
  { userid: 'boss', department: 1 },
  { userid: 'mgr', department: 2, leader: true },
  { userid: 'named', department: 3 },
  { userid: 'rep', department: 21 },
  { userid: 'peer', department: 21 },
  { userid: 'probie', department: 21, probation: true },
  { userid: 'gone', department: 21, status: 5 },
  { userid: 'south', department: 3 },
  { userid: 'svc', department: 3 },
  { userid: 'multi', department: 3 },
];

/** Customers by their relation to the members above. */
const CUSTOMERS: { id: string; owner: string | null; follows?: { userid: string; status: 'active' | 'ended' }[]; pool?: number | null }[] = [
  { id: 'cRep', owner: 'rep', follows: [{ userid: 'rep', status: 'active' }, { userid: 'probie', status: 'active' }] },
  { id: 'cRepFollows', owner: 'peer', follows: [{ userid: 'rep', status: 'active' }] },
  { id: 'cRepEnded', owner: 'peer', follows: [{ userid: 'rep', status: 'ended' }] },
  { id: 'cPeer', owner: 'peer' },
  { id: 'cSouth', owner: 'south', follows: [{ userid: 'multi', status: 'active' }] },
  { id: 'cGone', owner: 'gone' },
  { id: 'cPoolEast', owner: null, pool: 2 },
  { id: 'cPoolSouth', owner: null, pool: 3 },
  { id: 'cPoolCorp', owner: null, pool: null },
  { id: 'cGrantActive', owner: 'peer' },
  { id: 'cGrantExpired', owner: 'peer' },
  { id: 'cGrantRevoked', owner: 'peer' },
];

/**
 * The matrix. Columns: the actions in order view, edit, tag, export, delete, assign, transfer,
 * unmask. A: allowed; F: visible but forbidden (403); N: not visible (404, like a missing customer).
 */
const MATRIX: Record<string, Record<string, string>> = {
  boss: Object.fromEntries(CUSTOMERS.map((c) => [c.id, 'AAAAAAAA'])),
  // manager: view/edit/tag/export/assign/transfer/unmask dept, delete none; dept = 华东 + 上海.
  mgr: {
    cRep: 'AAAAFAAA', cRepFollows: 'AAAAFAAA', cRepEnded: 'AAAAFAAA', cPeer: 'AAAAFAAA', cSouth: 'NNNNNNNN', cGone: 'AAAAFAAA',
    cPoolEast: 'AFFFFFFF', cPoolSouth: 'NNNNNNNN', cPoolCorp: 'AFFFFFFF', cGrantActive: 'AAAAFAAA', cGrantExpired: 'AAAAFAAA', cGrantRevoked: 'AAAAFAAA',
  },
  // named to manage 上海 only, works in 华南: 华南's pool, not 华东's.
  named: {
    cRep: 'AAAAFAAA', cRepFollows: 'AAAAFAAA', cRepEnded: 'AAAAFAAA', cPeer: 'AAAAFAAA', cSouth: 'NNNNNNNN', cGone: 'AAAAFAAA',
    cPoolEast: 'NNNNNNNN', cPoolSouth: 'AFFFFFFF', cPoolCorp: 'AFFFFFFF', cGrantActive: 'AAAAFAAA', cGrantExpired: 'AAAAFAAA', cGrantRevoked: 'AAAAFAAA',
  },
  // rep: view/edit/tag/unmask own (owned or actively followed).
  rep: {
    cRep: 'AAAFFFFA', cRepFollows: 'AAAFFFFA', cRepEnded: 'NNNNNNNN', cPeer: 'NNNNNNNN', cSouth: 'NNNNNNNN', cGone: 'NNNNNNNN',
    cPoolEast: 'AFFFFFFF', cPoolSouth: 'NNNNNNNN', cPoolCorp: 'AFFFFFFF', cGrantActive: 'NNNNNNNN', cGrantExpired: 'NNNNNNNN', cGrantRevoked: 'NNNNNNNN',
  },
  // on probation: view only.
  probie: {
    cRep: 'AFFFFFFF', cRepFollows: 'NNNNNNNN', cRepEnded: 'NNNNNNNN', cPeer: 'NNNNNNNN', cSouth: 'NNNNNNNN', cGone: 'NNNNNNNN',
    cPoolEast: 'AFFFFFFF', cPoolSouth: 'NNNNNNNN', cPoolCorp: 'AFFFFFFF', cGrantActive: 'NNNNNNNN', cGrantExpired: 'NNNNNNNN', cGrantRevoked: 'NNNNNNNN',
  },
  // left: nothing at all, not even the corp-wide pool or the customers still owned.
  gone: Object.fromEntries(CUSTOMERS.map((c) => [c.id, 'NNNNNNNN'])),
  // grants: view+edit active on cGrantActive; view expired on cGrantExpired; view revoked on cGrantRevoked.
  south: {
    cRep: 'NNNNNNNN', cRepFollows: 'NNNNNNNN', cRepEnded: 'NNNNNNNN', cPeer: 'NNNNNNNN', cSouth: 'AAAFFFFA', cGone: 'NNNNNNNN',
    cPoolEast: 'NNNNNNNN', cPoolSouth: 'AFFFFFFF', cPoolCorp: 'AFFFFFFF', cGrantActive: 'AAFFFFFF', cGrantExpired: 'NNNNNNNN', cGrantRevoked: 'NNNNNNNN',
  },
  // service: view all; an active department grant of edit on 上海 (customers owned or followed there).
  svc: {
    cRep: 'AAFFFFFF', cRepFollows: 'AAFFFFFF', cRepEnded: 'AAFFFFFF', cPeer: 'AAFFFFFF', cSouth: 'AFFFFFFF', cGone: 'AAFFFFFF',
    cPoolEast: 'AFFFFFFF', cPoolSouth: 'AFFFFFFF', cPoolCorp: 'AFFFFFFF', cGrantActive: 'AAFFFFFF', cGrantExpired: 'AAFFFFFF', cGrantRevoked: 'AAFFFFFF',
  },
  // rep + auditor (view all, export all): the most permissive scope wins per action.
  multi: {
    cRep: 'AFFAFFFF', cRepFollows: 'AFFAFFFF', cRepEnded: 'AFFAFFFF', cPeer: 'AFFAFFFF', cSouth: 'AAAAFFFA', cGone: 'AFFAFFFF',
    cPoolEast: 'AFFAFFFF', cPoolSouth: 'AFFAFFFF', cPoolCorp: 'AFFAFFFF', cGrantActive: 'AFFAFFFF', cGrantExpired: 'AFFAFFFF', cGrantRevoked: 'AFFAFFFF',
  },
};

type Outcome = 'A' | 'F' | 'N';
interface Cell { userid: string; customer: string; action: CustomerAction; expected: Outcome }

const CELLS: Cell[] = Object.entries(MATRIX).flatMap(([userid, row]) => Object.entries(row).flatMap(([customer, outcomes]) =>
  CUSTOMER_ACTIONS.map((action, i) => ({ userid, customer, action, expected: outcomes[i] as Outcome }))));

async function seed(db: OpenDatabase['db']): Promise<void> {
  await ensureBuiltinRoles(db);
  await db.insert(roles).values({ name: 'auditor', label: '稽核', scopes: { view: 'all', edit: 'none', tag: 'none', export: 'all', delete: 'none', assign: 'none', transfer: 'none', unmask: 'none' } });
  await db.insert(departments).values(DEPARTMENTS);
  await db.insert(members).values(MEMBERS.map((m) => ({ userid: m.userid, name: m.userid, status: m.status ?? 1, probation: m.probation ?? false })));
  await db.insert(memberDepartments).values(MEMBERS.map((m) => ({ userid: m.userid, departmentId: m.department, isLeader: m.leader ?? false })));
  await db.insert(memberManagedDepartments).values({ userid: 'named', departmentId: 21, grantedBy: 'boss' });
  await db.insert(memberRoles).values([{ userid: 'svc', role: 'service' }, { userid: 'multi', role: 'auditor' }]);
  await db.insert(customers).values(CUSTOMERS.map((c) => ({ externalUserId: c.id, name: c.id, ownerUserid: c.owner, ...(c.pool !== undefined ? { inPoolSince: NOW, poolDepartmentId: c.pool } : {}) })));
  const follows = CUSTOMERS.flatMap((c) => (c.follows ?? []).map((f) => ({ externalUserId: c.id, userid: f.userid, status: f.status })));
  await db.insert(followRelations).values(follows);
  const grant = (id: string, requester: string, state: 'active' | 'revoked', actions: CustomerAction[], target: { customerIds?: string[]; departmentId?: number }, expiresAt: Date) =>
    ({ id, requester, approver: 'boss', state, actions, customerIds: target.customerIds ?? null, departmentId: target.departmentId ?? null, reason: 'matrix', durationSeconds: 3600, startsAt: new Date(expiresAt.getTime() - HOUR), expiresAt });
  await db.insert(accessGrants).values([
    grant('g-active', 'south', 'active', ['view', 'edit'], { customerIds: ['cGrantActive'] }, new Date(NOW.getTime() + HOUR)),
    grant('g-expired', 'south', 'active', ['view'], { customerIds: ['cGrantExpired'] }, new Date(NOW.getTime() - 1_000)),
    grant('g-revoked', 'south', 'revoked', ['view'], { customerIds: ['cGrantRevoked'] }, new Date(NOW.getTime() + HOUR)),
    grant('g-dept', 'svc', 'active', ['edit'], { departmentId: 21 }, new Date(NOW.getTime() + HOUR)),
  ]);
}

describe.each<DatabaseKind>(['pglite', 'postgres'])('customer scope decision matrix on %s', (kind) => {
  let database: OpenDatabase;
  let ctx: AppContext;

  beforeAll(async () => {
    database = await openTestDatabase(kind);
    await seed(database.db);
    // assertCustomerAccess reads the database and the configured admins only.
    ctx = { db: database.db, config: { adminUserIds: ADMINS } } as unknown as AppContext;
  });
  afterAll(async () => {
    await database?.close();
  });

  it('covers every member and every customer of the fixture', () => {
    expect(Object.keys(MATRIX).sort()).toEqual(MEMBERS.map((m) => m.userid).filter((u) => u !== 'peer').sort());
    for (const [userid, row] of Object.entries(MATRIX)) {
      expect(Object.keys(row).sort(), userid).toEqual(CUSTOMERS.map((c) => c.id).sort());
      for (const outcomes of Object.values(row)) expect(outcomes).toMatch(/^(N{8}|A[AF]{7})$/);
    }
  });

  it.each(CELLS)('$userid × $customer × $action → $expected', async ({ userid, customer, action, expected }) => {
    const subject = await loadAccessSubject(database.db, userid, ADMINS, NOW);
    const [row] = await database.db.select({ id: customers.externalUserId }).from(customers)
      .where(and(eq(customers.externalUserId, customer), customerScopeSql(subject, action)));
    expect(Boolean(row), 'SQL predicate').toBe(expected === 'A');

    const outcome = await assertCustomerAccess(ctx, subject, action, customer).then(() => 'A' as const, (error: unknown) => {
      if (error instanceof DomainError && error.code === 'NOT_FOUND') return 'N' as const;
      if (error instanceof DomainError && error.code === 'FORBIDDEN') return 'F' as const;
      throw error;
    });
    expect(outcome, 'assertCustomerAccess').toBe(expected);
    if (expected !== 'A') {
      const [last] = await database.db.select().from(auditLog).orderBy(desc(auditLog.id)).limit(1);
      expect(last).toMatchObject({ actor: userid, action: `customer.${action}`, subjectId: customer, outcome: 'denied', details: { reason: expected === 'N' ? 'not_visible' : 'action_not_allowed' } });
    }
  });
});
