// Customer list, count, detail and reveal over real HTTP against the whole product (sandbox, PGlite),
// with the roles, probation, masking, grant and audit admin APIs that shape them. What it proves:
// every access path tried by a member without permission leaks nothing (the 404 is byte-identical to a
// missing id, lists and counts do not include the customer) and writes an audit entry; phone numbers
// never appear in full in any response to a member without `unmask`; grants, probation and role
// edits take effect on the next request; the audit API filters and the chain verifies.
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessGrants, auditLog } from '../../server/db/schema.ts';
import { readPolicyVersion } from '../../server/services/policy-version.ts';
import type { CompanyFixture } from '../../wecom-sim/index.ts';
import { startTestProduct, waitFor, type ApiClient, type ApiResponse, type TestProduct } from '../support/test-product.ts';

const PHONE_A = '13812345678';
const PHONE_B = '13987654321';
const PHONE_C = '13700001111';
const PHONES = [PHONE_A, PHONE_B, PHONE_C];

/** 总部 → 华东 → 上海 (two reps, their manager) and 华南 (an outsider and a service agent). */
const fixture = {
  departments: [
    { id: 1, name: '总部', parentid: 0, order: 1 },
    { id: 2, name: '华东大区', parentid: 1, order: 1 },
    { id: 21, name: '上海', parentid: 2, order: 1 },
    { id: 3, name: '华南大区', parentid: 1, order: 2 },
  ],
  users: [
    { userid: 'boss', name: '老板', department: [1], is_leader_in_dept: [0], position: '总经理', status: 1 },
    { userid: 'east', name: '华东经理', department: [2], is_leader_in_dept: [1], position: '大区经理', status: 1 },
    { userid: 'repa', name: '导购甲', department: [21], is_leader_in_dept: [0], position: '导购', status: 1 },
    { userid: 'repb', name: '导购乙', department: [21], is_leader_in_dept: [0], position: '导购', status: 1 },
    { userid: 'south', name: '华南导购', department: [3], is_leader_in_dept: [0], position: '导购', status: 1 },
    { userid: 'agent', name: '客服', department: [3], is_leader_in_dept: [0], position: '客服', status: 1 },
  ],
  corpTags: [
    { group_name: '客户等级', tag: [{ name: 'VIP' }, { name: '普通' }] },
    { group_name: '投诉记录', tag: [{ name: '严重投诉' }] },
  ],
  customers: [
    { external_userid: 'wmAlpha', name: '甲客户', type: 2, corp_name: '星河科技有限公司', position: '采购经理', follow_users: [
      { userid: 'repa', tags: ['客户等级/VIP', '投诉记录/严重投诉'], remark: '甲-老客', state: '', remark_mobiles: [PHONE_A], createtime: 1760000000 },
    ] },
    { external_userid: 'wmBeta', name: '乙客户', type: 1, follow_users: [
      { userid: 'repb', tags: ['客户等级/普通'], remark: '乙-会员', state: '', remark_mobiles: [PHONE_B], createtime: 1760000100 },
    ] },
    { external_userid: 'wmGamma', name: '丙客户', type: 1, follow_users: [
      { userid: 'south', tags: ['客户等级/VIP'], remark: '丙', state: '', remark_mobiles: [PHONE_C], createtime: 1760000200 },
    ] },
  ],
} as unknown as CompanyFixture;

const MISSING = 'wmNoSuchCustomer000000000000000';
const detail = (id: string): string => `/api/customers/${id}`;

let t: TestProduct;
let boss: ApiClient;
let east: ApiClient;
let repa: ApiClient;
let repb: ApiClient;
let south: ApiClient;
let agent: ApiClient;
let tagIds: Record<string, string>;
const db = () => t.product.ctx.db;
/** Every body a member received, to grep for phone numbers at the end. */
const received: { who: string; body: string }[] = [];

async function call(client: ApiClient, who: string, method: string, path: string, body?: unknown): Promise<ApiResponse> {
  const res = await client.request(method, path, body);
  received.push({ who, body: JSON.stringify(res.body) });
  return res;
}

async function listAll(client: ApiClient, who: string, query = ''): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | null = null;
  do {
    const res = await call(client, who, 'GET', `/api/customers?limit=1${query}${cursor ? `&cursor=${cursor}` : ''}`);
    expect(res.status).toBe(200);
    ids.push(...res.body.items.map((i: { externalUserId: string }) => i.externalUserId));
    cursor = res.body.nextCursor;
  } while (cursor);
  return ids.sort();
}

async function deniedAudits(actor: string, subjectId: string): Promise<{ action: string; details: Record<string, unknown> }[]> {
  return db().select({ action: auditLog.action, details: auditLog.details }).from(auditLog)
    .where(and(eq(auditLog.actor, actor), eq(auditLog.subjectId, subjectId), eq(auditLog.outcome, 'denied')));
}

beforeAll(async () => {
  t = await startTestProduct({ env: { ADMIN_USERIDS: 'boss' } });
  const reset = await t.sim.reset(fixture);
  tagIds = Object.fromEntries(reset.tagGroups.flatMap((g) => g.tags.map((tag) => [tag.name, tag.id])));
  boss = await t.as('boss');
  const sync = await boss.post('/api/admin/sync');
  await waitFor(async () => (await boss.get(`/api/jobs/${sync.body.jobId}`)).body.state === 'completed', 'the sync');
  [east, repa, repb, south, agent] = await Promise.all(['east', 'repa', 'repb', 'south', 'agent'].map((u) => t.as(u))) as [ApiClient, ApiClient, ApiClient, ApiClient, ApiClient];
  // 投诉记录 is seen in 华东 only: south may not see 严重投诉.
  const groups = Object.fromEntries(reset.tagGroups.map((g) => [g.group_name, g.group_id]));
  expect((await boss.request('PUT', `/api/admin/tag-groups/${groups['投诉记录']}/visibility`, { see: { departments: [2] } })).status).toBe(200);
});

afterAll(async () => {
  await t?.stop();
});

describe('scopes over HTTP', () => {
  it('list, count and detail agree for each member: own, dept and all', async () => {
    const expected: [ApiClient, string, string[]][] = [
      [boss, 'boss', ['wmAlpha', 'wmBeta', 'wmGamma']],
      [east, 'east', ['wmAlpha', 'wmBeta']],
      [repa, 'repa', ['wmAlpha']],
      [repb, 'repb', ['wmBeta']],
      [south, 'south', ['wmGamma']],
      [agent, 'agent', []],
    ];
    for (const [client, who, ids] of expected) {
      expect(await listAll(client, who)).toEqual(ids);
      expect((await call(client, who, 'GET', '/api/customers/count')).body).toEqual({ count: ids.length });
      for (const id of ['wmAlpha', 'wmBeta', 'wmGamma']) {
        const res = await call(client, who, 'GET', detail(id));
        expect(res.status, `${who} ${id}`).toBe(ids.includes(id) ? 200 : 404);
      }
    }
  });

  it('the detail keeps its shape and adds owner, masked fields and permissions', async () => {
    const res = await call(repa, 'repa', 'GET', detail('wmAlpha'));
    expect(res.body).toMatchObject({
      externalUserId: 'wmAlpha', name: '甲客户', ownerUserid: 'repa', owner: { userid: 'repa', name: '导购甲', active: true },
      permissions: { view: true, edit: true, tag: true, export: false, delete: false, assign: false, transfer: false, unmask: true },
      // Masked even for a member who may unmask: full values only through an audited reveal.
      masked: ['relation.remarkMobiles'],
    });
    expect(res.body.relations[0]).toMatchObject({ userid: 'repa', name: '导购甲', remark: '甲-老客', remarkMobiles: ['138********'], status: 'active' });
    const managerView = await call(east, 'east', 'GET', detail('wmAlpha'));
    expect(managerView.body.permissions).toEqual({ view: true, edit: true, tag: true, export: true, delete: false, assign: true, transfer: true, unmask: true });
  });
});

describe('a member without permission: nothing leaks, every attempt audited', () => {
  it('detail: the same 404 as a missing id, and an audit entry', async () => {
    const hidden = await call(south, 'south', 'GET', detail('wmAlpha'));
    const missing = await call(south, 'south', 'GET', detail(MISSING));
    expect(hidden.status).toBe(404);
    expect(hidden.body).toEqual(missing.body);
    expect(JSON.stringify(hidden.body)).not.toContain('甲客户');
    expect((await deniedAudits('south', 'wmAlpha')).map((a) => a.action)).toContain('customer.view');
  });

  it('list and count: not there, whatever the search, owner, pool or page size', async () => {
    for (const query of ['', '&q=甲', '&q=老客', '&owner=repa', '&pool=0', `&tags=${tagIds.VIP}`]) {
      const page = await call(south, 'south', 'GET', `/api/customers?limit=50${query}`);
      expect(page.status).toBe(200);
      expect(page.body.items.map((i: { externalUserId: string }) => i.externalUserId)).not.toContain('wmAlpha');
      const count = await call(south, 'south', 'GET', `/api/customers/count?${query.slice(1)}`);
      expect(count.body.count).toBe(page.body.items.length);
    }
    // Searching by the phone number finds nothing, even for the member who may unmask it.
    for (const [client, who] of [[repa, 'repa'], [boss, 'boss']] as const) {
      expect((await call(client, who, 'GET', `/api/customers?q=${PHONE_A}`)).body.items).toEqual([]);
      expect((await call(client, who, 'GET', `/api/customers?q=${PHONE_A.slice(0, 5)}`)).body.items).toEqual([]);
    }
  });

  it('reveal: 404 outside the view scope (as for a missing id), audited', async () => {
    const hidden = await call(south, 'south', 'POST', `${detail('wmAlpha')}/reveal`, { field: 'relation.remarkMobiles', userid: 'repa' });
    const missing = await call(south, 'south', 'POST', `${detail(MISSING)}/reveal`, { field: 'relation.remarkMobiles', userid: 'repa' });
    expect(hidden.status).toBe(404);
    expect(hidden.body).toEqual(missing.body);
    expect((await deniedAudits('south', 'wmAlpha')).map((a) => a.action)).toContain('customer.unmask');
  });

  it('a tag the member may not see answers exactly like a tag that does not exist', async () => {
    // south may not see 严重投诉 (华东 only), which wmAlpha carries; south does see VIP.
    const hiddenTag = await call(south, 'south', 'GET', `/api/customers?tags=${tagIds['严重投诉']}`);
    const noTag = await call(south, 'south', 'GET', '/api/customers?tags=etNoSuchTag000');
    expect(hiddenTag.status).toBe(200);
    expect(hiddenTag.body).toEqual(noTag.body);
    expect(hiddenTag.body).toEqual({ items: [], nextCursor: null });
    expect((await call(south, 'south', 'GET', `/api/customers/count?tags=${tagIds['严重投诉']}`)).body).toEqual({ count: 0 });
    // Even an admin-visible customer in south's own list is not matched through a hidden tag (all).
    const mixed = await call(south, 'south', 'GET', `/api/customers?tagMatch=all&tags=${tagIds.VIP},${tagIds['严重投诉']}`);
    expect(mixed.body.items).toEqual([]);
    // The same filter by a member who sees the tag does find it.
    expect((await call(repa, 'repa', 'GET', `/api/customers?tags=${tagIds['严重投诉']}`)).body.items.map((i: { externalUserId: string }) => i.externalUserId)).toEqual(['wmAlpha']);
  });
});

describe('masking', () => {
  it('without unmask: phone numbers and configured fields masked, reveal refused (403, audited)', async () => {
    expect((await boss.request('PUT', '/api/admin/members/agent/roles', { roles: ['service'] })).status).toBe(200);
    expect((await boss.request('PUT', '/api/admin/masking', { fields: ['customer.corpName'] })).body.fields).toEqual(['customer.corpName', 'relation.remarkMobiles']);
    const res = await call(agent, 'agent', 'GET', detail('wmAlpha'));
    expect(res.status).toBe(200);
    expect(res.body.permissions.unmask).toBe(false);
    expect(res.body.relations[0].remarkMobiles).toEqual(['138********']);
    expect(res.body.corpName).toBe('星河科*****');
    expect(res.body.masked).toEqual(['customer.corpName', 'relation.remarkMobiles']);
    const page = await call(agent, 'agent', 'GET', '/api/customers?limit=50');
    expect(page.body.items.find((i: { externalUserId: string }) => i.externalUserId === 'wmAlpha').corpName).toBe('星河科*****');

    const reveal = await call(agent, 'agent', 'POST', `${detail('wmAlpha')}/reveal`, { field: 'relation.remarkMobiles', userid: 'repa' });
    expect(reveal.status).toBe(403);
    expect(reveal.body.error.code).toBe('FORBIDDEN');
    expect((await deniedAudits('agent', 'wmAlpha')).map((a) => a.action)).toContain('customer.unmask');
  });

  it('with unmask: still masked in the detail and the list; reveal returns one value and is audited without the value', async () => {
    const res = await call(repa, 'repa', 'GET', detail('wmAlpha'));
    expect(res.body.permissions.unmask).toBe(true);
    expect(res.body.relations[0].remarkMobiles).toEqual(['138********']);
    expect(res.body.corpName).toBe('星河科*****');
    expect(res.body.masked).toEqual(['customer.corpName', 'relation.remarkMobiles']);
    expect(JSON.stringify((await call(repa, 'repa', 'GET', '/api/customers?limit=50')).body)).not.toContain('星河科技有限公司');
    const reveal = await repa.post(`${detail('wmAlpha')}/reveal`, { field: 'relation.remarkMobiles', userid: 'repa' });
    expect(reveal.status).toBe(200);
    expect(reveal.body).toEqual({ field: 'relation.remarkMobiles', userid: 'repa', index: 0, value: PHONE_A });
    const [entry] = await db().select().from(auditLog).where(and(eq(auditLog.action, 'customer.reveal'), eq(auditLog.actor, 'repa')));
    expect(entry).toMatchObject({ subjectId: 'wmAlpha', outcome: 'allowed', details: { field: 'relation.remarkMobiles', relation: 'repa', index: 0 } });
    const company = await repa.post(`${detail('wmAlpha')}/reveal`, { field: 'customer.corpName' });
    expect(company.body.value).toBe('星河科技有限公司');
  });

  it('a role edit takes unmask away at once', async () => {
    expect((await boss.request('PATCH', '/api/admin/roles/rep', { scopes: { unmask: 'none' } })).status).toBe(200);
    const res = await call(repa, 'repa', 'GET', detail('wmAlpha'));
    expect(res.body.relations[0].remarkMobiles).toEqual(['138********']);
    expect(res.body.permissions.unmask).toBe(false);
    expect((await repa.post(`${detail('wmAlpha')}/reveal`, { field: 'relation.remarkMobiles', userid: 'repa' })).status).toBe(403);
    expect((await boss.request('PATCH', '/api/admin/roles/rep', { scopes: { unmask: 'own' } })).status).toBe(200);
  });
});

describe('grants', () => {
  const grantOf = async (id: string) => (await db().select().from(accessGrants).where(eq(accessGrants.id, id)))[0]!;

  it('request → approval by a holder (never the requester, never a non-holder) → access → revoke', async () => {
    const requested = await south.post('/api/grants', { actions: ['view'], customerIds: ['wmAlpha'], durationSeconds: 3600, reason: '协助处理投诉' });
    expect(requested.status).toBe(201);
    expect(requested.body).toMatchObject({ state: 'requested', inForce: false });
    const id = requested.body.id as string;
    expect((await call(south, 'south', 'GET', detail('wmAlpha'))).status).toBe(404);

    expect((await south.post(`/api/grants/${id}/approve`)).status).toBe(403);
    // A non-holder cannot see the request at all: the same 404 as a missing grant.
    expect((await repb.post(`/api/grants/${id}/approve`)).status).toBe(404);
    expect((await repb.get('/api/grants')).body.toDecide).toEqual([]);
    expect((await east.get('/api/grants')).body.toDecide.map((g: { id: string }) => g.id)).toEqual([id]);

    const approved = await east.post(`/api/grants/${id}/approve`);
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({ state: 'active', approver: 'east', inForce: true });
    expect((await call(south, 'south', 'GET', detail('wmAlpha'))).status).toBe(200);
    expect(await listAll(south, 'south')).toEqual(['wmAlpha', 'wmGamma']);
    // view was granted, not unmask.
    expect((await call(south, 'south', 'GET', detail('wmAlpha'))).body.relations[0].remarkMobiles).toEqual(['138********']);

    expect((await south.post(`/api/grants/${id}/revoke`)).body.state).toBe('revoked');
    expect((await call(south, 'south', 'GET', detail('wmAlpha'))).status).toBe(404);
    const actions = (await db().select({ action: auditLog.action }).from(auditLog).where(eq(auditLog.subjectId, id))).map((a) => a.action);
    expect(actions).toEqual(expect.arrayContaining(['grant.requested', 'grant.approved', 'grant.revoked']));
  });

  it('access ends at expires_at without any job', async () => {
    const requested = await south.post('/api/grants', { actions: ['view'], customerIds: ['wmBeta'], durationSeconds: 3600, reason: '查询订单' });
    await boss.post(`/api/grants/${requested.body.id}/approve`);
    expect((await call(south, 'south', 'GET', detail('wmBeta'))).status).toBe(200);
    // Time passes: the grant's end moves into the past; nothing else runs.
    await db().update(accessGrants).set({ expiresAt: sql`now() - interval '1 second'` }).where(eq(accessGrants.id, requested.body.id));
    expect((await call(south, 'south', 'GET', detail('wmBeta'))).status).toBe(404);
    expect(await listAll(south, 'south')).toEqual(['wmGamma']);
    expect((await grantOf(requested.body.id)).state).toBe('active');
    expect((await south.get('/api/grants')).body.mine.find((g: { id: string }) => g.id === requested.body.id)).toMatchObject({ state: 'expired', inForce: false });
  });

  it('durations above the maximum are refused; emergency grants only for roles that allow them, then flagged for review', async () => {
    expect((await south.post('/api/grants', { actions: ['view'], customerIds: ['wmAlpha'], durationSeconds: 30 * 86_400, reason: 'x' })).status).toBe(400);
    const refused = await south.post('/api/grants', { actions: ['view', 'unmask'], customerIds: ['wmAlpha'], durationSeconds: 600, reason: '投诉', emergency: true });
    expect(refused.status).toBe(403);

    const emergency = await agent.post('/api/grants', { actions: ['unmask'], customerIds: ['wmAlpha'], durationSeconds: 600, reason: '客户投诉来电', emergency: true });
    expect(emergency.status).toBe(201);
    expect(emergency.body).toMatchObject({ state: 'active', emergency: true, inForce: true, approver: null });
    expect((await call(agent, 'agent', 'GET', detail('wmAlpha'))).body.permissions.unmask).toBe(true);
    expect((await call(agent, 'agent', 'POST', `${detail('wmAlpha')}/reveal`, { field: 'relation.remarkMobiles', userid: 'repa' })).body.value).toBe(PHONE_A);
    expect((await agent.post('/api/grants', { actions: ['unmask'], customerIds: ['wmAlpha'], durationSeconds: 7200, reason: 'x', emergency: true })).status).toBe(400);

    const review = await boss.get('/api/admin/grants?review=1');
    expect(review.body.grants.map((g: { id: string }) => g.id)).toEqual([emergency.body.id]);
    expect((await boss.post(`/api/admin/grants/${emergency.body.id}/review`, { note: '已核实' })).status).toBe(200);
    expect((await boss.get('/api/admin/grants?review=1')).body.grants).toEqual([]);
    expect((await boss.post(`/api/grants/${emergency.body.id}/revoke`)).body.state).toBe('revoked');
    expect((await call(agent, 'agent', 'GET', detail('wmAlpha'))).body.permissions.unmask).toBe(false);
    expect((await agent.post(`${detail('wmAlpha')}/reveal`, { field: 'relation.remarkMobiles', userid: 'repa' })).status).toBe(403);
  });
});

describe('probation and roles', () => {
  it('probation: view only, until cleared; audited', async () => {
    expect((await boss.request('PUT', '/api/admin/members/repa/probation', { on: true })).body).toEqual({ userid: 'repa', probation: { on: true, until: null } });
    const res = await call(repa, 'repa', 'GET', detail('wmAlpha'));
    expect(res.status).toBe(200);
    expect(res.body.permissions).toEqual({ view: true, edit: false, tag: false, export: false, delete: false, assign: false, transfer: false, unmask: false });
    expect(res.body.relations[0].remarkMobiles).toEqual(['138********']);
    const tag = await repa.post(`${detail('wmAlpha')}/tags`, { add: [tagIds['普通']!] });
    expect(tag.status).toBe(403);
    expect(tag.body.error.message).toMatch(/probation/);
    // A probation that ended yesterday is no probation.
    await boss.request('PUT', '/api/admin/members/repa/probation', { on: true, until: new Date(Date.now() - 86_400_000).toISOString() });
    expect((await call(repa, 'repa', 'GET', detail('wmAlpha'))).body.permissions.unmask).toBe(true);
    expect((await boss.request('PUT', '/api/admin/members/repa/probation', { on: false })).status).toBe(200);
    const actions = (await db().select({ action: auditLog.action }).from(auditLog).where(eq(auditLog.subjectId, 'repa'))).map((a) => a.action);
    expect(actions).toEqual(expect.arrayContaining(['member.probation_set', 'member.probation_cleared']));
  });

  it('roles: built-ins editable not deletable; custom roles created, named to members, deleted; each change bumps the policy version', async () => {
    expect((await boss.request('DELETE', '/api/admin/roles/manager')).status).toBe(409);
    const before = await readPolicyVersion(db());
    const created = await boss.post('/api/admin/roles', { name: 'auditor', label: '稽核', scopes: { view: 'all', edit: 'none', tag: 'none', export: 'all', delete: 'none', assign: 'none', transfer: 'none', unmask: 'none' } });
    expect(created.status).toBe(201);
    expect((await boss.post('/api/admin/roles', { name: 'auditor', label: 'x', scopes: created.body.scopes })).status).toBe(409);
    expect((await boss.request('PUT', '/api/admin/members/south/roles', { roles: ['auditor'] })).status).toBe(200);
    expect(await listAll(south, 'south')).toEqual(['wmAlpha', 'wmBeta', 'wmGamma']);
    const access = await boss.get('/api/admin/members/south/access');
    expect(access.body).toMatchObject({ roles: ['auditor', 'rep'], namedRoles: ['auditor'], scopes: { view: 'all', export: 'all', unmask: 'own' } });
    expect((await boss.request('DELETE', '/api/admin/roles/auditor')).body).toEqual({ name: 'auditor', removedFrom: ['south'] });
    expect(await listAll(south, 'south')).toEqual(['wmGamma']);
    expect(await readPolicyVersion(db())).toBeGreaterThanOrEqual(before + 3);
    expect((await boss.request('PUT', '/api/admin/members/south/roles', { roles: ['nosuchrole'] })).status).toBe(400);
    expect((await south.request('PUT', '/api/admin/members/south/roles', { roles: ['service'] })).status).toBe(403);
  });

  it('a member named to manage a department sees its subtree', async () => {
    expect(await listAll(repb, 'repb')).toEqual(['wmBeta']);
    const named = await boss.request('PUT', '/api/admin/members/repb/roles', { roles: [], managedDepartments: [21] });
    expect(named.body).toMatchObject({ roles: ['manager', 'rep'], managedDepartments: [21] });
    expect(await listAll(repb, 'repb')).toEqual(['wmAlpha', 'wmBeta']);
    await boss.request('PUT', '/api/admin/members/repb/roles', { roles: [], managedDepartments: [] });
    expect(await listAll(repb, 'repb')).toEqual(['wmBeta']);
  });
});

describe('audit API', () => {
  it('filters by actor, customer, action and time; pages; the chain verifies; logins are recorded', async () => {
    const denied = await boss.get('/api/admin/audit?actor=south&action=customer.*&limit=2');
    expect(denied.status).toBe(200);
    expect(denied.body.entries).toHaveLength(2);
    expect(denied.body.entries.every((e: { actor: string; action: string }) => e.actor === 'south' && e.action.startsWith('customer.'))).toBe(true);
    const next = await boss.get(`/api/admin/audit?actor=south&action=customer.*&limit=2&cursor=${denied.body.nextCursor}`);
    expect(next.body.entries[0].id).toBeLessThan(denied.body.entries[1].id);
    const customer = await boss.get('/api/admin/audit?customer=wmAlpha&action=customer.reveal');
    expect(customer.body.entries.map((e: { actor: string }) => e.actor)).toContain('repa');
    const future = await boss.get(`/api/admin/audit?from=${encodeURIComponent(new Date(Date.now() + 3_600_000).toISOString())}`);
    expect(future.body.entries).toEqual([]);
    const logins = await boss.get('/api/admin/audit?action=auth.login&actor=south');
    expect(logins.body.entries[0]).toMatchObject({ outcome: 'allowed', subjectId: 'south' });
    expect((await boss.get('/api/admin/audit/verify')).body).toMatchObject({ ok: true, firstBrokenId: null });
    expect((await south.get('/api/admin/audit')).status).toBe(403);
  });

  it('no phone number was ever sent in full to a member without unmask, nor written to the audit log', async () => {
    const mayUnmask: Record<string, string[]> = { repa: [PHONE_A], repb: [PHONE_B], south: [PHONE_C], east: [PHONE_A, PHONE_B], boss: PHONES, agent: [PHONE_A] };
    for (const { who, body } of received) {
      for (const phone of PHONES) {
        if (!mayUnmask[who]!.includes(phone)) expect(body, `${who} received ${phone}`).not.toContain(phone);
      }
    }
    // The agent's one full value came through a reveal under its emergency grant; it is the only one.
    expect(received.filter((r) => r.who === 'agent' && r.body.includes(PHONE_A))).toHaveLength(1);
    const rows = await db().select({ details: auditLog.details }).from(auditLog);
    for (const row of rows) for (const phone of PHONES) expect(JSON.stringify(row.details)).not.toContain(phone);
  });
});
