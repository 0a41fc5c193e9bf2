// Property tests of the customer scope on random worlds (organization, roles, probation, leavers,
// owners, follow relations, pools, grants in every state), run on in-memory PGlite:
// - the SQL predicate (after loadAccessSubject) ≡ the independent reference evaluator
//   (customer-reference.ts) for every (member, customer, action), in both SQL shapes, with the
//   department trees expanded by the loader or walked in SQL;
// - the list ≡ the check: keyset pages of size 1, 2 and 50 give exactly the customers the detail
//   shows, each once, in order;
// - adding a grant never removes access; an expired grant (expiring now or earlier) equals no grant.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inArray, sql } from 'drizzle-orm';
import { openDatabase, type Database, type OpenDatabase } from '../../server/db/database.ts';
import {
  accessGrants, appAdmins, customers, departments, followRelations, memberDepartments, memberManagedDepartments, memberRoles, members, roles,
} from '../../server/db/schema.ts';
import { customerScopeSql, type AccessGrantFact, type AccessSubject, type CustomerAction, type ScopeShape } from '../../server/policy/customer-scope.ts';
import { loadAccessSubject } from '../../server/services/customer-access.service.ts';
import { listCustomers } from '../../server/services/customer-list.service.ts';
import { readCustomer } from '../../server/services/customer-read.service.ts';
import { ACTIONS, referenceAllows, type Action, type Scope, type World, type WorldGrant, type WorldMember } from './customer-reference.ts';

const RUNS = 60;
const NOW = new Date('2026-06-01T12:00:00.000Z');
const SCOPES: Scope[] = ['none', 'own', 'dept', 'all'];
const ROLE_NAMES = ['admin', 'manager', 'rep', 'service', 'custom1', 'custom2', 'ghost'];
/** A few instants, so that many customers share a created_at (the keyset's tie-break is exercised). */
const CREATED = [0, 1, 2].map((i) => new Date(NOW.getTime() - i * 86_400_000 - 123_456));

// fast-check builds records without a prototype; the jsonb column wants a plain object.
const scopesArb = fc.record(Object.fromEntries(ACTIONS.map((a) => [a, fc.constantFrom(...SCOPES)])) as Record<Action, fc.Arbitrary<Scope>>).map((s) => ({ ...s }));
const offsetArb = fc.constantFrom(-86_400_000, -1_000, 0, 1_000, 86_400_000);

const worldArb: fc.Arbitrary<World> = fc.record({
  // Department i+1 hangs under an earlier one, at the top, or under a department that does not exist.
  parents: fc.array(fc.nat({ max: 20 }), { minLength: 1, maxLength: 6 }),
  memberCount: fc.integer({ min: 1, max: 6 }),
  memberSeeds: fc.array(fc.record({
    status: fc.constantFrom(1, 1, 1, 1, 2, 5),
    departments: fc.array(fc.record({ pick: fc.nat(), leader: fc.boolean() }), { maxLength: 2 }),
    probation: fc.option(fc.option(offsetArb, { nil: null }), { nil: undefined }),
    namedRoles: fc.subarray(['manager', 'service', 'custom1', 'custom2', 'ghost']),
    managed: fc.array(fc.nat(), { maxLength: 2 }),
    appAdmin: fc.boolean(),
    configuredAdmin: fc.boolean(),
  }), { minLength: 6, maxLength: 6 }),
  roleRows: fc.array(fc.record({ name: fc.constantFrom(...ROLE_NAMES.slice(0, 6)), scopes: scopesArb }), { maxLength: 4 }),
  customerSeeds: fc.array(fc.record({
    owner: fc.option(fc.nat(), { nil: null }),
    created: fc.nat({ max: CREATED.length - 1 }),
    pool: fc.option(fc.option(fc.nat(), { nil: null }), { nil: undefined }),
    follows: fc.array(fc.record({ pick: fc.nat(), active: fc.boolean() }), { maxLength: 3 }),
  }), { maxLength: 10 }),
  grantSeeds: fc.array(fc.record({
    requester: fc.nat(),
    state: fc.constantFrom('requested', 'active', 'active', 'active', 'revoked', 'expired', 'rejected'),
    actions: fc.subarray(ACTIONS, { minLength: 1 }),
    target: fc.oneof(fc.record({ customers: fc.array(fc.nat(), { minLength: 1, maxLength: 3 }) }), fc.record({ department: fc.nat() })),
    expires: offsetArb,
  }), { maxLength: 5 }),
}).map((seed) => {
  const departmentList = seed.parents.map((p, i) => ({ id: i + 1, parentId: p % (i + 3) === 0 || i === 0 ? null : p % (i + 3) > i + 1 ? 99 : (p % (i + 3)) }));
  const deptIds = departmentList.map((d) => d.id);
  const memberList: WorldMember[] = seed.memberSeeds.slice(0, seed.memberCount).map((m, i) => {
    const depts = new Map<number, boolean>();
    for (const d of m.departments) depts.set(deptIds[d.pick % deptIds.length]!, d.leader);
    return {
      userid: `u${i}`,
      status: m.status,
      departments: [...depts].map(([id, leader]) => ({ id, leader })),
      probation: m.probation === undefined ? { on: false, until: null } : { on: true, until: m.probation === null ? null : new Date(NOW.getTime() + m.probation) },
      namedRoles: m.namedRoles,
      managed: [...new Set(m.managed.map((x) => deptIds[x % deptIds.length]!))],
      appAdmin: m.appAdmin && i % 3 === 0,
    };
  });
  const userids = memberList.map((m) => m.userid);
  const customerList = seed.customerSeeds.map((c, i) => ({
    id: `c${i}`,
    owner: c.owner === null ? null : userids[c.owner % userids.length]!,
    createdAt: CREATED[c.created]!,
    pool: c.pool === undefined ? null : { department: c.pool === null ? null : deptIds[c.pool % deptIds.length]! },
  }));
  const follows = new Map<string, { customer: string; userid: string; status: 'active' | 'ended' }>();
  seed.customerSeeds.forEach((c, i) => {
    for (const f of c.follows) {
      const userid = userids[f.pick % userids.length]!;
      follows.set(`c${i}/${userid}`, { customer: `c${i}`, userid, status: f.active ? 'active' : 'ended' });
    }
  });
  const roleRows = new Map(seed.roleRows.map((r) => [r.name, r]));
  return {
    now: NOW,
    configuredAdmins: seed.memberSeeds.slice(0, seed.memberCount).flatMap((m, i) => (m.configuredAdmin && i % 4 === 1 ? [`u${i}`] : [])),
    departments: departmentList,
    members: memberList,
    roles: [...roleRows.values()],
    customers: customerList,
    follows: [...follows.values()],
    grants: seed.grantSeeds.flatMap((g, i): WorldGrant[] => {
      if (!customerList.length && 'customers' in g.target) return [];
      return [{
        id: `g${i}`,
        requester: userids[g.requester % userids.length]!,
        state: g.state,
        actions: g.actions,
        customerIds: 'customers' in g.target ? [...new Set(g.target.customers.map((x) => customerList[x % customerList.length]!.id))] : null,
        departmentId: 'department' in g.target ? deptIds[g.target.department % deptIds.length]! : null,
        expiresAt: new Date(NOW.getTime() + g.expires),
      }];
    }),
  };
});

let database: OpenDatabase;
const db = (): Database => database.db;

async function load(world: World): Promise<void> {
  await db().execute(sql`truncate customers, follow_relations, members, member_departments, member_managed_departments, member_roles, roles, access_grants, departments, app_admins`);
  const insert = async <T>(rows: T[], fn: (rows: T[]) => Promise<unknown>) => { if (rows.length) await fn(rows); };
  await insert(world.departments.map((d) => ({ id: d.id, name: `d${d.id}`, parentId: d.parentId })), (rows) => db().insert(departments).values(rows));
  await insert(world.members.map((m) => ({ userid: m.userid, name: m.userid, status: m.status, probation: m.probation.on, probationUntil: m.probation.until })), (rows) => db().insert(members).values(rows));
  await insert(world.members.flatMap((m) => m.departments.map((d) => ({ userid: m.userid, departmentId: d.id, isLeader: d.leader }))), (rows) => db().insert(memberDepartments).values(rows));
  await insert(world.members.flatMap((m) => m.managed.map((departmentId) => ({ userid: m.userid, departmentId }))), (rows) => db().insert(memberManagedDepartments).values(rows));
  await insert(world.members.flatMap((m) => m.namedRoles.map((role) => ({ userid: m.userid, role }))), (rows) => db().insert(memberRoles).values(rows));
  await insert(world.members.filter((m) => m.appAdmin).map((m) => ({ userid: m.userid })), (rows) => db().insert(appAdmins).values(rows));
  await insert(world.roles.map((r) => ({ name: r.name, label: r.name, scopes: r.scopes })), (rows) => db().insert(roles).values(rows));
  await insert(world.customers.map((c) => ({ externalUserId: c.id, name: c.id, ownerUserid: c.owner, createdAt: c.createdAt, inPoolSince: c.pool ? NOW : null, poolDepartmentId: c.pool?.department ?? null })), (rows) => db().insert(customers).values(rows));
  await insert(world.follows.map((f) => ({ externalUserId: f.customer, userid: f.userid, status: f.status })), (rows) => db().insert(followRelations).values(rows));
  await insert(world.grants.map((g) => ({ id: g.id, requester: g.requester, state: g.state, actions: g.actions, customerIds: g.customerIds, departmentId: g.departmentId, reason: 'p', durationSeconds: 60, expiresAt: g.expiresAt })), (rows) => db().insert(accessGrants).values(rows));
}

async function allowedBySql(subject: AccessSubject, action: CustomerAction, shape: ScopeShape = 'auto'): Promise<string[]> {
  return (await db().select({ id: customers.externalUserId }).from(customers).where(customerScopeSql(subject, action, shape))).map((r) => r.id).sort();
}

const expectedSet = (world: World, userid: string, action: Action): string[] =>
  world.customers.filter((c) => referenceAllows(world, userid, c.id, action)).map((c) => c.id).sort();

/** Every userid of the world plus one nobody knows. */
const subjectsOf = (world: World): string[] => [...world.members.map((m) => m.userid), 'stranger'];

beforeAll(async () => {
  database = await openDatabase({ pgliteMemory: true });
});
afterAll(async () => {
  await database?.close();
});

describe('customer scope properties (PGlite)', () => {
  it('the SQL predicate agrees with the reference evaluator for every (member, customer, action)', async () => {
    await fc.assert(fc.asyncProperty(worldArb, async (world) => {
      await load(world);
      for (const userid of subjectsOf(world)) {
        const subject = await loadAccessSubject(db(), userid, world.configuredAdmins, NOW);
        for (const action of ACTIONS) {
          const expected = expectedSet(world, userid, action);
          // Both SQL shapes, and the automatic choice between them, select the same customers, with
          // the department trees expanded by the loader or walked in SQL.
          for (const [how, variant] of [['expanded', subject], ['walked', { ...subject, expanded: undefined }]] as const) {
            for (const shape of ['auto', 'set', 'row'] as const) expect(await allowedBySql(variant, action, shape), `${userid} ${action} ${shape} ${how}`).toEqual(expected);
          }
        }
      }
    }), { numRuns: RUNS });
  }, 180_000);

  it('list ≡ check: keyset pages of size 1, 2 and 50 give each visible customer once, in order', async () => {
    await fc.assert(fc.asyncProperty(worldArb, async (world) => {
      await load(world);
      const viewer = { seeTags: new Set<string>(), maskedFields: new Set<never>() };
      for (const userid of subjectsOf(world)) {
        const subject = await loadAccessSubject(db(), userid, world.configuredAdmins, NOW);
        const visible = world.customers.filter((c) => referenceAllows(world, userid, c.id, 'view'))
          .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? -1 : 1)).map((c) => c.id);
        for (const limit of [1, 2, 50]) {
          const listed: string[] = [];
          let cursor: string | undefined;
          for (let pages = 0; pages <= world.customers.length + 1; pages++) {
            const page = await listCustomers(db(), subject, viewer, { limit, cursor, tagMatch: 'any' });
            expect(page.items.length).toBeLessThanOrEqual(limit);
            listed.push(...page.items.map((i) => i.externalUserId));
            if (!page.nextCursor) break;
            cursor = page.nextCursor;
          }
          expect(listed, `${userid} pages of ${limit}`).toEqual(visible);
        }
        for (const c of world.customers) {
          const detail = await readCustomer(db(), c.id, { subject, ...viewer });
          expect(detail !== undefined, `${userid} detail ${c.id}`).toBe(visible.includes(c.id));
        }
      }
    }), { numRuns: RUNS });
  }, 180_000);

  const extraGrantArb = fc.record({
    member: fc.nat(),
    actions: fc.subarray(ACTIONS, { minLength: 1 }),
    target: fc.oneof(fc.record({ customers: fc.array(fc.nat(), { minLength: 1, maxLength: 3 }) }), fc.record({ department: fc.nat() })),
  });
  const grantFact = (world: World, g: { actions: Action[]; target: { customers: number[] } | { department: number } }, expiresAt: Date): AccessGrantFact =>
    'customers' in g.target && world.customers.length
      ? { actions: g.actions, customerIds: g.target.customers.map((x) => world.customers[x % world.customers.length]!.id), expiresAt }
      : { actions: g.actions, departmentId: world.departments[('department' in g.target ? g.target.department : 0) % world.departments.length]!.id, expiresAt };

  it('adding a grant never removes access', async () => {
    await fc.assert(fc.asyncProperty(worldArb, extraGrantArb, async (world, extra) => {
      await load(world);
      const userid = world.members[extra.member % world.members.length]!.userid;
      const subject = await loadAccessSubject(db(), userid, world.configuredAdmins, NOW);
      const granted = { ...subject, grants: [...subject.grants, grantFact(world, extra, new Date(NOW.getTime() + 60_000))] };
      for (const action of ACTIONS) {
        const before = await allowedBySql(subject, action);
        const after = await allowedBySql(granted, action);
        for (const id of before) expect(after, `${userid} ${action} lost ${id}`).toContain(id);
      }
    }), { numRuns: RUNS });
  });

  it('an expired grant (ending now or earlier) equals no grant, in the predicate and when loaded', async () => {
    await fc.assert(fc.asyncProperty(worldArb, extraGrantArb, fc.constantFrom(0, 1, 3_600_000), async (world, extra, ago) => {
      await load(world);
      const userid = world.members[extra.member % world.members.length]!.userid;
      const subject = await loadAccessSubject(db(), userid, world.configuredAdmins, NOW);
      const expiresAt = new Date(NOW.getTime() - ago);
      const withExpired = { ...subject, grants: [...subject.grants, grantFact(world, extra, expiresAt)] };
      const fact = grantFact(world, extra, expiresAt);
      await db().insert(accessGrants).values({ id: 'g-extra', requester: userid, state: 'active', actions: fact.actions, customerIds: fact.customerIds ?? null, departmentId: fact.departmentId ?? null, reason: 'p', durationSeconds: 60, expiresAt });
      const reloaded = await loadAccessSubject(db(), userid, world.configuredAdmins, NOW);
      for (const action of ACTIONS) {
        const without = await allowedBySql(subject, action);
        expect(await allowedBySql(withExpired, action), `${userid} ${action}`).toEqual(without);
        expect(await allowedBySql(reloaded, action), `${userid} ${action} reloaded`).toEqual(without);
      }
      await db().delete(accessGrants).where(inArray(accessGrants.id, ['g-extra']));
    }), { numRuns: RUNS });
  });
});
