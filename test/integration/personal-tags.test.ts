import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, inboxEvents, personalTags, relationTags } from '../../server/db/schema.ts';
import type { CompanyFixture } from '../../wecom-sim/index.ts';
import { startTestProduct, waitFor, type ApiClient, type DatabaseKind, type TestProduct } from '../support/test-product.ts';

function fixture(): CompanyFixture {
  return {
    departments: [{ id: 1, name: '总部', parentid: 0, order: 1 }, { id: 2, name: '华东大区', parentid: 1, order: 1 }],
    users: [
      { userid: 'zhuxiaoyan', name: '朱晓燕', department: [1], is_leader_in_dept: [1], position: '总经理', status: 1 },
      { userid: 'wangfang', name: '王芳', department: [2], is_leader_in_dept: [0], position: '导购', status: 1 },
      { userid: 'lihua', name: '李华', department: [2], is_leader_in_dept: [0], position: '导购', status: 1 },
    ],
    corpTags: [{ group_name: '客户等级', tag: [{ name: 'VIP' }] }],
    customers: [
      { external_userid: 'wmCustomerA', name: '客户甲', type: 1, follow_users: [{ userid: 'wangfang', tags: [], remark: '甲', state: '' }, { userid: 'lihua', tags: [], remark: '甲', state: '' }] },
    ],
  } as unknown as CompanyFixture;
}

describe.each<DatabaseKind>(['pglite', 'postgres'])('personal tags: each member\'s own, invisible to everyone else (admins included) (%s)', (kind) => {
  let t: TestProduct;
  let db: TestProduct['product']['ctx']['db'];
  let wangfang: ApiClient;
  let lihua: ApiClient;
  let admin: ApiClient;
  let tea: { id: string; name: string };

  const inboxSettled = async (): Promise<void> => {
    await t.sim.idle();
    await waitFor(async () => {
      const [row] = await db.select({ n: sql<number>`count(*)::int` }).from(inboxEvents).where(eq(inboxEvents.status, 'pending'));
      return row!.n === 0;
    }, 'every inbox event to be processed');
  };

  beforeAll(async () => {
    t = await startTestProduct({ database: kind });
    db = t.product.ctx.db;
    await t.sim.reset(fixture());
    admin = await t.as('zhuxiaoyan');
    wangfang = await t.as('wangfang');
    lihua = await t.as('lihua');
    const started = await admin.post('/api/admin/sync');
    await waitFor(async () => ['completed', 'failed'].includes((await admin.get(`/api/jobs/${started.body.jobId}`)).body.state), 'the full sync');
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('creates a personal tag for the session member only', async () => {
    const res = await wangfang.post('/api/personal-tags', { name: '爱喝茶', groupName: '兴趣' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ name: '爱喝茶', groupName: '兴趣', customers: 0 });
    expect(res.body.id).toMatch(/^pt_/);
    tea = res.body;
    const [row] = await db.select().from(personalTags).where(eq(personalTags.id, tea.id));
    expect(row).toMatchObject({ userid: 'wangfang', name: '爱喝茶' });
    expect((await wangfang.get('/api/personal-tags')).body.tags).toEqual([expect.objectContaining({ id: tea.id, name: '爱喝茶' })]);
  });

  it('does not show it to another member or to an admin, and their own lists stay separate', async () => {
    expect((await lihua.get('/api/personal-tags')).body.tags).toEqual([]);
    expect((await admin.get('/api/personal-tags')).body.tags).toEqual([]);
    expect((await lihua.post('/api/personal-tags', { name: '爱喝茶' })).status).toBe(201);
    expect((await lihua.get('/api/personal-tags')).body.tags.map((x: { name: string }) => x.name)).toEqual(['爱喝茶']);
    expect((await wangfang.get('/api/personal-tags')).body.tags).toHaveLength(1);
    // Nothing in the admin tag library either.
    expect(JSON.stringify((await admin.get('/api/admin/tag-library')).body)).not.toContain(tea.id);
  });

  it('answers 404 when another member (admins included) touches it, and changes nothing', async () => {
    for (const other of [lihua, admin]) {
      const rename = await other.request('PATCH', `/api/personal-tags/${tea.id}`, { name: '偷改' });
      expect(rename.status).toBe(404);
      expect(rename.body.error.code).toBe('NOT_FOUND');
      expect((await other.request('DELETE', `/api/personal-tags/${tea.id}`)).status).toBe(404);
    }
    // The same answer as for an id that does not exist (no existence oracle).
    const missing = await lihua.request('PATCH', '/api/personal-tags/pt_missing', { name: '偷改' });
    expect(missing.status).toBe(404);
    expect((await db.select().from(personalTags).where(eq(personalTags.id, tea.id)))[0]!.name).toBe('爱喝茶');
  });

  it('applies the naming rules and uniqueness per member', async () => {
    const dup = await wangfang.post('/api/personal-tags', { name: '爱喝茶' });
    expect(dup.status).toBe(409);
    expect(dup.body.error.code).toBe('TAG_NAME_TAKEN');
    const bad = await wangfang.post('/api/personal-tags', { name: '爱#喝' });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'TAG_NAME_INVALID', character: '#', position: 2 });
    expect(bad.body.error.message).toContain('"#" at position 2');
    expect((await wangfang.post('/api/personal-tags', { name: '  ' })).status).toBe(400);
    expect((await wangfang.post('/api/personal-tags', { name: '好', groupName: '组/别' })).body.error).toMatchObject({ field: 'groupName', character: '/' });
    expect((await wangfang.post('/api/personal-tags', { name: 'x'.repeat(31) })).body.error).toMatchObject({ problem: 'too_long' });
  });

  it('renames its own tag; a clash with another of its own is 409', async () => {
    const coffee = await wangfang.post('/api/personal-tags', { name: '爱咖啡' });
    const clash = await wangfang.request('PATCH', `/api/personal-tags/${coffee.body.id}`, { name: '爱喝茶' });
    expect(clash.status).toBe(409);
    const renamed = await wangfang.request('PATCH', `/api/personal-tags/${tea.id}`, { name: '爱喝绿茶', groupName: null });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ id: tea.id, name: '爱喝绿茶', groupName: null });
    expect((await wangfang.request('PATCH', `/api/personal-tags/${tea.id}`, {})).status).toBe(400);
  });

  it('deletes its own tag and takes it off the member\'s customers (not another member\'s)', async () => {
    // The members tag the customer with personal tags in the WeCom client; callbacks bring them here.
    await t.simCall('POST', '/sim/customers/edit-tags', { userid: 'wangfang', external_userid: 'wmCustomerA', personal_add: ['周末到店'] });
    await t.simCall('POST', '/sim/customers/edit-tags', { userid: 'lihua', external_userid: 'wmCustomerA', personal_add: ['周末到店'] });
    await inboxSettled();
    const mine = (await wangfang.get('/api/personal-tags')).body.tags.find((x: { name: string }) => x.name === '周末到店');
    expect(mine).toMatchObject({ customers: 1 });
    const theirs = (await lihua.get('/api/personal-tags')).body.tags.find((x: { name: string }) => x.name === '周末到店');
    expect(theirs.id).not.toBe(mine.id);
    const customerTags = async (client: ApiClient) => ((await client.get('/api/customers/wmCustomerA')).body.relations as { userid: string; tags: { tagId: string }[] }[])
      .flatMap((r) => r.tags.map((x) => `${r.userid}:${x.tagId}`));
    expect(await customerTags(wangfang)).toContain(`wangfang:${mine.id}`);
    // An admin reading the customer sees neither member's personal tags.
    expect((await customerTags(admin)).some((x) => x.includes('pt_'))).toBe(false);

    const res = await wangfang.request('DELETE', `/api/personal-tags/${mine.id}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ id: mine.id, customersUntagged: 1 });
    expect(await db.select().from(relationTags).where(eq(relationTags.tagId, mine.id))).toEqual([]);
    expect(await db.select().from(personalTags).where(eq(personalTags.id, mine.id))).toEqual([]);
    expect(await db.select().from(relationTags).where(and(eq(relationTags.tagId, theirs.id), eq(relationTags.userid, 'lihua')))).toHaveLength(1);
    expect((await wangfang.request('DELETE', `/api/personal-tags/${mine.id}`)).status).toBe(404);
  });

  it('audits by id only: personal tag names never reach the audit log admins read', async () => {
    const entries = await db.select().from(auditLog).where(eq(auditLog.subjectType, 'personal_tag'));
    expect(entries.map((e) => e.action)).toEqual(expect.arrayContaining(['personal_tag.create', 'personal_tag.update', 'personal_tag.delete']));
    for (const entry of entries) {
      expect(entry.actor).toMatch(/^(wangfang|lihua)$/);
      expect(JSON.stringify(entry)).not.toMatch(/爱喝|周末|咖啡/);
    }
  });

  it('needs a session', async () => {
    expect((await t.anonymous().get('/api/personal-tags')).status).toBe(401);
    expect((await t.anonymous().post('/api/personal-tags', { name: 'x' })).status).toBe(401);
  });
});
