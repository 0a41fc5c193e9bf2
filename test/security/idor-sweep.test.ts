// IDOR sweep: every route of the real app that takes an id (customer, tag, contact way, job, grant,
// export, transfer, personal tag, member, ...) is called by a member outside the owner's scope with a
// real id and with a missing one. The answer is a 404 (or, on role-gated routes, the same 403 whatever
// the id), identical for both, so ids are no oracle; nothing changes in the database; refusals the
// product audits leave a denied entry. The route list comes from the mounted app: a route with an id
// parameter that is not in this sweep fails the test.
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../server/app.ts';
import { auditLog, relationTags } from '../../server/db/schema.ts';
import { listRoutes, type RouteEntry } from '../../server/http/route-table.ts';
import { startOwnershipWorld, type OwnershipWorld } from '../support/ownership-company.ts';
import { waitFor } from '../support/test-product.ts';
import { changedTables, databaseState, fillPath } from './database-state.ts';

/** The outsider: a rep of 华南 who neither owns, follows nor manages anything of 华东. */
const OUTSIDER = 'south_rep';

interface SweepCase {
  /** The real id of something the outsider may not reach (owned or requested by someone else). */
  id: () => string;
  /** A body that passes validation, so the refusal is about the id and not about the input. */
  body?: () => unknown;
  status: 404 | 403;
  code: string;
  /** The product records this refusal in the audit log (subject = the id). */
  audited?: boolean;
  /** Real values of the route's other parameters (the swept id fills the rest). */
  params?: () => Record<string, string>;
}

const ids: Record<string, string> = {};
let w: OwnershipWorld;
let routes: RouteEntry[];

/** Member routes with an id, each with what the outsider must get. Admin routes are swept as a class below. */
const MEMBER_SWEEP: Record<string, SweepCase> = {
  'GET /api/customers/:externalUserId': { id: () => 'wmEast1', status: 404, code: 'NOT_FOUND', audited: true },
  'POST /api/customers/:externalUserId/reveal': { id: () => 'wmEast1', body: () => ({ field: 'relation.remarkMobiles', userid: 'east_rep1' }), status: 404, code: 'NOT_FOUND', audited: true },
  'POST /api/customers/:externalUserId/tags': { id: () => 'wmEast1', body: () => ({ add: [ids.vipTag] }), status: 404, code: 'NOT_FOUND', audited: true },
  'GET /api/customers/:externalUserId/access/explain': { id: () => 'wmEast1', status: 404, code: 'NOT_FOUND' },
  'PATCH /api/customers/:externalUserId/notes/:noteId': { id: () => ids.note!, params: () => ({ externalUserId: 'wmEast1' }), body: () => ({ content: '改写' }), status: 404, code: 'NOT_FOUND' },
  'DELETE /api/customers/:externalUserId/notes/:noteId': { id: () => ids.note!, params: () => ({ externalUserId: 'wmEast1' }), status: 404, code: 'NOT_FOUND' },
  'GET /api/campaigns/:id': { id: () => ids.campaign!, status: 404, code: 'NOT_FOUND' },
  'GET /api/campaigns/:id/preview': { id: () => ids.campaign!, status: 404, code: 'NOT_FOUND' },
  'POST /api/campaigns/:id/send': { id: () => ids.campaign!, body: () => ({}), status: 403, code: 'FORBIDDEN' },
  'POST /api/campaigns/:id/cancel': { id: () => ids.campaign!, body: () => ({}), status: 404, code: 'NOT_FOUND' },
  'POST /api/campaigns/:id/refresh': { id: () => ids.campaign!, body: () => ({}), status: 404, code: 'NOT_FOUND' },
  'GET /api/campaigns/:id/touches': { id: () => ids.campaign!, status: 404, code: 'NOT_FOUND' },
  'GET /api/campaigns/:id/touches.csv': { id: () => ids.campaign!, status: 404, code: 'NOT_FOUND' },
  'POST /api/materials/:id/sent': { id: () => ids.material!, body: () => ({ externalUserId: 'wmEast1' }), status: 404, code: 'NOT_FOUND' },
  'PUT /api/material-library/:id': { id: () => ids.material!, body: () => ({ kind: 'text', title: '改写', content: { text: '改写' }, tagGroupIds: [ids.vipGroup] }), status: 404, code: 'NOT_FOUND' },
  'DELETE /api/material-library/:id': { id: () => ids.material!, status: 404, code: 'NOT_FOUND' },
  'GET /api/customers/:externalUserId/notes': { id: () => 'wmEast1', status: 404, code: 'NOT_FOUND', audited: true },
  'POST /api/customers/:externalUserId/notes': { id: () => 'wmEast1', body: () => ({ content: '越权备注' }), status: 404, code: 'NOT_FOUND', audited: true },
  'POST /api/customers/:externalUserId/release': { id: () => 'wmEast1', body: () => ({}), status: 404, code: 'NOT_FOUND', audited: true },
  'POST /api/pool/:externalUserId/claim': { id: () => 'wmEast2', body: () => ({}), status: 404, code: 'NOT_FOUND', audited: true },
  'POST /api/grants/:id/approve': { id: () => ids.grant!, status: 404, code: 'NOT_FOUND', audited: true },
  'POST /api/grants/:id/reject': { id: () => ids.grant!, status: 404, code: 'NOT_FOUND', audited: true },
  'POST /api/grants/:id/revoke': { id: () => ids.grant!, status: 404, code: 'NOT_FOUND', audited: true },
  'GET /api/jobs/:id': { id: () => ids.job!, status: 404, code: 'NOT_FOUND' },
  'GET /api/transfers/:id': { id: () => ids.transfer!, status: 404, code: 'NOT_FOUND', audited: true },
  'POST /api/transfers/:id/refresh': { id: () => ids.transfer!, body: () => ({}), status: 404, code: 'NOT_FOUND', audited: true },
  'PATCH /api/personal-tags/:id': { id: () => ids.personalTag!, body: () => ({ name: '改名' }), status: 404, code: 'NOT_FOUND' },
  'DELETE /api/personal-tags/:id': { id: () => ids.personalTag!, status: 404, code: 'NOT_FOUND' },
  'GET /api/exports/:id': { id: () => ids.export!, status: 404, code: 'NOT_FOUND' },
  'GET /api/exports/:id/download': { id: () => ids.export!, status: 404, code: 'NOT_FOUND' },
  // Departures are for members with assign scope: a rep gets the same 403 for every member id.
  'GET /api/admin/departures/:userid/customers': { id: () => 'leaver', status: 403, code: 'FORBIDDEN', audited: true },
  'POST /api/admin/departures/:userid/reassign': { id: () => 'leaver', body: () => ({ to: OUTSIDER }), status: 403, code: 'FORBIDDEN', audited: true },
};

/** A value of the same shape as a real id that names nothing. */
function missingId(real: string): string {
  if (/^[0-9a-f]{8}-[0-9a-f]{4}-/.test(real)) return '00000000-0000-4000-8000-000000000000';
  if (/^\d+$/.test(real)) return '999999999';
  return `${real.slice(0, 2)}Missing${real.length}`;
}

/** Real ids for the admin routes, by parameter name (the guard refuses before any lookup, whatever the id). */
function adminParam(name: string): string {
  return ({ configId: ids.contactWay, tagId: ids.vipTag, groupId: ids.vipGroup, name: 'rep', userid: 'east_rep1' } as Record<string, string | undefined>)[name] ?? ids.vipGroup!;
}

async function auditAfter(sinceId: number) {
  return w.db.select().from(auditLog).where(sql`${auditLog.id} > ${sinceId}`).orderBy(auditLog.id);
}

beforeAll(async () => {
  w = await startOwnershipWorld();
  routes = listRoutes(createApp(w.t.product.ctx));
  ids.vipTag = w.tagIds['客户等级/VIP']!;
  ids.vipGroup = w.reset.tagGroups.find((g) => g.group_name === '客户等级')!.group_id;
  const eastRep = await w.as('east_rep1');
  // A 华东 pool customer: released by its owner into 华东's pool, which 华南 cannot see.
  expect((await eastRep.post('/api/customers/wmEast2/release', {})).status).toBe(200);
  const grant = await eastRep.post('/api/grants', { actions: ['view'], customerIds: ['wmEast3'], durationSeconds: 3600, reason: '协助' });
  expect(grant.status).toBe(201);
  ids.grant = grant.body.id;
  const sync = await w.admin.post('/api/admin/sync');
  expect(sync.status).toBe(202);
  ids.job = sync.body.jobId;
  await w.job(w.admin, ids.job!);
  const transfer = await w.admin.post('/api/transfers', { externalUserIds: ['wmEast4'], takeover: 'east_rep1' });
  expect(transfer.status).toBe(202);
  ids.transfer = transfer.body.transfers[0].id;
  await w.job(w.admin, transfer.body.jobId);
  const tag = await eastRep.post('/api/personal-tags', { name: '私人标签' });
  expect(tag.status).toBe(201);
  ids.personalTag = String(tag.body.id);
  const exported = await w.admin.post('/api/exports', { format: 'csv' });
  expect(exported.status).toBe(202);
  ids.export = exported.body.id;
  // Background work finishes first, so the fingerprints below see only what the sweep's requests do.
  await waitFor(async () => (await w.admin.get(`/api/exports/${ids.export}`)).body.state === 'completed', 'the export to complete');
  const way = await w.admin.post('/api/admin/contact-ways', { users: ['east_rep1'], rules: { tagIds: [], owner: { mode: 'adder' } } });
  expect(way.status).toBe(201);
  ids.contactWay = way.body.contactWay.configId;
  const note = await eastRep.post('/api/customers/wmEast1/notes', { content: '东区备注' });
  expect(note.status).toBe(201);
  ids.note = String(note.body.id ?? note.body.note?.id);
  const campaign = await (await w.as('east_mgr')).post('/api/campaigns', {
    name: '华东活动', audience: { enterpriseTags: [ids.vipTag], personalTags: [], conditions: {}, directedTags: [] }, content: { text: { content: '您好' } },
  });
  expect(campaign.status, JSON.stringify(campaign.body)).toBe(201);
  ids.campaign = String(campaign.body.id ?? campaign.body.campaign?.id);
  const material = await w.admin.post('/api/material-library', { kind: 'text', title: '华东素材', content: { text: '华东专用' }, tagGroupIds: [ids.vipGroup], departmentId: 2 });
  expect(material.status, JSON.stringify(material.body)).toBe(201);
  ids.material = String(material.body.id ?? material.body.material?.id);
  await w.inboxSettled();
});

afterAll(async () => {
  await w?.stop();
});

describe('IDOR sweep', () => {
  it('every route with an id parameter is in the sweep', () => {
    const withId = routes.filter((r) => r.path.includes(':'));
    expect(withId.length).toBeGreaterThan(40);
    const unswept = withId.filter((r) => r.permission !== 'admin' && !MEMBER_SWEEP[`${r.method} ${r.path}`]).map((r) => `${r.method} ${r.path}`);
    expect(unswept).toEqual([]);
    // And the sweep names no route that no longer exists.
    const names = new Set(withId.map((r) => `${r.method} ${r.path}`));
    expect(Object.keys(MEMBER_SWEEP).filter((k) => !names.has(k))).toEqual([]);
  });

  it('the owner side sees what the sweep targets (the ids are real)', async () => {
    const eastRep = await w.as('east_rep1');
    expect((await eastRep.get('/api/customers/wmEast1')).status).toBe(200);
    expect((await eastRep.get('/api/personal-tags')).body.tags.map((t: { id: unknown }) => String(t.id))).toContain(ids.personalTag);
    expect((await w.admin.get(`/api/jobs/${ids.job}`)).status).toBe(200);
    expect((await w.admin.get(`/api/transfers/${ids.transfer}`)).status).toBe(200);
    expect((await w.admin.get(`/api/exports/${ids.export}`)).status).toBe(200);
    expect((await w.admin.get(`/api/admin/contact-ways/${ids.contactWay}`)).status).toBe(200);
    expect((await (await w.as('east_mgr')).get('/api/grants')).body.toDecide.map((g: { id: string }) => g.id)).toContain(ids.grant);
    expect((await (await w.as('east_mgr')).get('/api/pool')).body.items.map((c: { externalUserId: string }) => c.externalUserId)).toContain('wmEast2');
  });

  it('member routes: the outsider gets the answer of a missing id, nothing changes, refusals are audited', async () => {
    const outsider = await w.as(OUTSIDER);
    for (const [key, test] of Object.entries(MEMBER_SWEEP)) {
      const route = routes.find((r) => `${r.method} ${r.path}` === key)!;
      const real = test.id();
      const before = await databaseState(w.db);
      const auditFrom = await w.lastAuditId();
      const other = test.params?.() ?? {};
      const res = await outsider.request(route.method, fillPath(route.path, (name) => other[name] ?? real), test.body?.() ?? (route.method === 'GET' || route.method === 'DELETE' ? undefined : {}));
      expect(res.status, `${key} with a real id: ${JSON.stringify(res.body)}`).toBe(test.status);
      expect(res.body.error.code, key).toBe(test.code);
      expect(JSON.stringify(res.body), key).not.toMatch(/东客|13812345678|私人标签/);
      expect(changedTables(before, await databaseState(w.db)), `${key} changed nothing`).toEqual([]);
      const entries = await auditAfter(auditFrom);
      expect(entries.filter((e) => e.outcome !== 'denied'), `${key} wrote only refusals`).toEqual([]);
      if (test.audited) expect(entries.some((e) => e.actor === OUTSIDER && e.subjectId === real), `${key} audited`).toBe(true);

      const missing = await outsider.request(route.method, fillPath(route.path, (name) => other[name] ?? missingId(real)), test.body?.() ?? (route.method === 'GET' || route.method === 'DELETE' ? undefined : {}));
      expect({ status: missing.status, code: missing.body.error.code }, `${key} with a missing id`).toEqual({ status: test.status, code: test.code });
    }
  });

  it('admin routes with an id: a rep and a manager get the same 403 for a real and a missing id, and nothing changes', async () => {
    const adminRoutes = routes.filter((r) => r.path.includes(':') && r.permission === 'admin');
    expect(adminRoutes.length).toBeGreaterThan(25);
    const before = await databaseState(w.db);
    for (const who of [OUTSIDER, 'east_mgr']) {
      const client = await w.as(who);
      for (const route of adminRoutes) {
        for (const id of [adminParam, (name: string) => missingId(adminParam(name))]) {
          const res = await client.request(route.method, fillPath(route.path, id), route.method === 'GET' ? undefined : {});
          expect({ status: res.status, code: res.body.error?.code }, `${who} ${route.method} ${route.path}`).toEqual({ status: 403, code: 'FORBIDDEN' });
        }
      }
    }
    expect(await databaseState(w.db)).toEqual(before);
  });

  it('a tag the member may see but not use is a 403 with its reason, and the relation keeps its tags', async () => {
    // 客户等级 stays visible to everyone; only 华南 may use it.
    const rule = await w.admin.request('PUT', `/api/admin/tag-groups/${ids.vipGroup}/visibility`, { see: { departments: [1] }, use: { departments: [3] } });
    expect(rule.status).toBe(200);
    const tagsBefore = await w.db.select().from(relationTags).where(and(eq(relationTags.externalUserId, 'wmEast1'), eq(relationTags.userid, 'east_rep1')));
    expect(tagsBefore.map((t) => t.tagId)).toEqual([ids.vipTag]);
    const before = await databaseState(w.db);
    const eastRep = await w.as('east_rep1');
    const normal = w.tagIds['客户等级/普通']!;
    const res = await eastRep.post('/api/customers/wmEast1/tags', { add: [normal] });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('TAG_NOT_ALLOWED');
    expect(res.body.error.message.length).toBeGreaterThan(10);
    expect(await databaseState(w.db)).toEqual(before);
  });
});
