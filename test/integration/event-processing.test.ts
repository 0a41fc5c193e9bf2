import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { customers, followRelations, inboxEvents, personalTags, relationTagChanges, relationTags, tags, transferFailures } from '../../server/db/schema.ts';
import type { CompanyFixture } from '../../wecom-sim/index.ts';
import { startTestProduct, waitFor, type ApiClient, type DatabaseKind, type TestProduct } from '../support/test-product.ts';

/** A small company, so every assertion can name exact members, customers and tags. */
function fixture(): CompanyFixture {
  return {
    departments: [
      { id: 1, name: '总部', parentid: 0, order: 1 },
      { id: 2, name: '华东大区', parentid: 1, order: 1 },
      { id: 3, name: '华南大区', parentid: 1, order: 2 },
    ],
    users: [
      { userid: 'zhuxiaoyan', name: '朱晓燕', department: [1], is_leader_in_dept: [1], position: '总经理', status: 1 },
      { userid: 'wangfang', name: '王芳', department: [2], is_leader_in_dept: [0], position: '导购', status: 1 },
      { userid: 'lihua', name: '李华', department: [3], is_leader_in_dept: [0], position: '导购', status: 1 },
    ],
    corpTags: [
      { group_name: '客户等级', tag: [{ name: 'VIP' }, { name: '普通' }] },
      { group_name: '行业', tag: [{ name: '零售' }, { name: '教育' }] },
    ],
    strategies: [{ strategy_name: '华东规则组', range: [{ type: 2, partyid: 2 }], tagGroups: [{ group_name: '华东专属', tag: [{ name: '华东VIP' }] }] }],
    customers: [
      { external_userid: 'wmCustomerA', name: '客户甲', type: 1, follow_users: [{ userid: 'wangfang', tags: ['客户等级/VIP'], personal_tags: ['爱喝茶'], remark: '甲', state: 'shop_sh_01', remark_mobiles: ['13812345678'] }] },
      { external_userid: 'wmCustomerB', name: '客户乙', type: 1, follow_users: [{ userid: 'wangfang', tags: ['行业/零售'], remark: '乙', state: '' }, { userid: 'lihua', tags: [], remark: '乙', state: '' }] },
    ],
  } as unknown as CompanyFixture;
}

describe.each<DatabaseKind>(['pglite', 'postgres'])('callback event processing (%s)', (kind) => {
  let t: TestProduct;
  let admin: ApiClient;
  let db: TestProduct['product']['ctx']['db'];
  let tagIds: Record<string, string>;

  const syncAll = async (): Promise<void> => {
    const started = await admin.post('/api/admin/sync');
    expect(started.status).toBe(202);
    const job = await waitFor(async () => {
      const polled = await admin.get(`/api/jobs/${started.body.jobId}`);
      return ['completed', 'failed'].includes(polled.body.state) ? polled.body : undefined;
    }, 'the full sync');
    expect(job).toMatchObject({ state: 'completed', error: null });
    expect(job.done).toBe(job.total);
  };
  const inboxSettled = async (): Promise<void> => {
    await t.sim.idle();
    await waitFor(async () => {
      const [row] = await db.select({ n: sql<number>`count(*)::int` }).from(inboxEvents).where(eq(inboxEvents.status, 'pending'));
      return row!.n === 0;
    }, 'every inbox event to be processed');
  };
  const relation = async (externalUserId: string, userid: string) =>
    (await db.select().from(followRelations).where(and(eq(followRelations.externalUserId, externalUserId), eq(followRelations.userid, userid))))[0];
  const tagsOf = async (externalUserId: string, userid: string) =>
    (await db.select({ tagId: relationTags.tagId, kind: relationTags.kind }).from(relationTags)
      .where(and(eq(relationTags.externalUserId, externalUserId), eq(relationTags.userid, userid)))).map((r) => `${r.kind}:${r.tagId}`).sort();

  beforeAll(async () => {
    t = await startTestProduct({ database: kind });
    db = t.product.ctx.db;
    const reset = await t.sim.reset(fixture());
    tagIds = Object.fromEntries(reset.tagGroups.flatMap((g) => g.tags.map((tag) => [`${g.group_name}/${tag.name}`, tag.id])));
    admin = await t.as('zhuxiaoyan');
    await syncAll();
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('imports the organization, tag library, rule groups and every customer in a full sync', async () => {
    const [count] = await db.select({ n: sql<number>`count(*)::int` }).from(customers);
    expect(count!.n).toBe(2);
    expect((await relation('wmCustomerB', 'lihua'))?.status).toBe('active');
    expect(await tagsOf('wmCustomerA', 'wangfang')).toEqual([`corp:${tagIds['客户等级/VIP']}`]);
    const [ruleTag] = await db.select().from(tags).where(eq(tags.name, '华东VIP'));
    expect(ruleTag?.strategyId).toBeTypeOf('number');
  });

  it('changes nothing when the same data is synced again', async () => {
    const before = await db.select({ n: sql<number>`count(*)::int` }).from(relationTagChanges);
    const updatedBefore = await db.select({ id: customers.externalUserId, at: customers.updatedAt }).from(customers);
    await syncAll();
    const after = await db.select({ n: sql<number>`count(*)::int` }).from(relationTagChanges);
    const updatedAfter = await db.select({ id: customers.externalUserId, at: customers.updatedAt }).from(customers);
    expect(after[0]!.n).toBe(before[0]!.n);
    expect(updatedAfter).toEqual(updatedBefore);
  });

  it('adds a customer who scans a contact-way code: relation with state, owner, processed once', async () => {
    const added = await t.simCall<{ external_userid: string }>('POST', '/sim/customers/add', { userid: 'wangfang', state: 'live_2026_11', name: '扫码客户' });
    await inboxSettled();
    const [customer] = await db.select().from(customers).where(eq(customers.externalUserId, added.external_userid));
    expect(customer).toMatchObject({ name: '扫码客户', ownerUserid: 'wangfang' });
    expect(await relation(added.external_userid, 'wangfang')).toMatchObject({ status: 'active', state: 'live_2026_11' });
    const events = await db.select().from(inboxEvents).where(sql`${inboxEvents.payload}->>'ExternalUserID' = ${added.external_userid}`);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ status: 'done', changeType: 'add_external_contact' });
  });

  it('records the tag diff of an edit made in the WeCom client, personal tags included', async () => {
    await t.simCall('POST', '/sim/customers/edit-tags', {
      userid: 'wangfang', external_userid: 'wmCustomerA', add: [tagIds['行业/教育']], remove: [tagIds['客户等级/VIP']], personal_add: ['周末到店'],
    });
    await inboxSettled();
    const [personal] = await db.select().from(personalTags).where(and(eq(personalTags.userid, 'wangfang'), eq(personalTags.name, '周末到店')));
    expect(personal).toBeDefined();
    const current = await tagsOf('wmCustomerA', 'wangfang');
    expect(current).toContain(`corp:${tagIds['行业/教育']}`);
    expect(current).toContain(`personal:${personal!.id}`);
    expect(current).not.toContain(`corp:${tagIds['客户等级/VIP']}`);
    const [change] = await db.select().from(relationTagChanges)
      .where(and(eq(relationTagChanges.externalUserId, 'wmCustomerA'), eq(relationTagChanges.source, 'callback')))
      .orderBy(sql`${relationTagChanges.id} desc`).limit(1);
    expect(change!.added).toEqual(expect.arrayContaining([tagIds['行业/教育'], personal!.id]));
    expect(change!.removed).toEqual([tagIds['客户等级/VIP']]);
  });

  it('ends a relation the customer deleted and keeps it ended through later syncs', async () => {
    await t.simCall('POST', '/sim/customers/delete-member', { userid: 'lihua', external_userid: 'wmCustomerB' });
    await inboxSettled();
    expect(await relation('wmCustomerB', 'lihua')).toMatchObject({ status: 'ended', endReason: 'customer_deleted' });
    await syncAll();
    expect(await relation('wmCustomerB', 'lihua')).toMatchObject({ status: 'ended', endReason: 'customer_deleted' });
    expect(await relation('wmCustomerB', 'wangfang')).toMatchObject({ status: 'active' });
  });

  it('ends a relation the member deleted, keeping its history', async () => {
    await t.simCall('POST', '/sim/members/delete-customer', { userid: 'wangfang', external_userid: 'wmCustomerB' });
    await inboxSettled();
    expect(await relation('wmCustomerB', 'wangfang')).toMatchObject({ status: 'ended', endReason: 'member_deleted', remark: '乙' });
  });

  it('records a refused transfer against the customer and the takeover member', async () => {
    const started = await t.product.ctx.wecom.transferCustomer({ handover_userid: 'wangfang', takeover_userid: 'lihua', external_userid: ['wmCustomerA'] });
    expect(started.customer[0]?.errcode).toBe(0);
    await t.simCall('POST', '/sim/transfers/refuse', { external_userid: 'wmCustomerA' });
    await inboxSettled();
    const failures = await db.select().from(transferFailures).where(eq(transferFailures.externalUserId, 'wmCustomerA'));
    expect(failures).toEqual([expect.objectContaining({ takeoverUserid: 'lihua', reason: 'customer_refused' })]);
  });

  it('follows tag library changes made in the admin console', async () => {
    const created = await t.simCall<{ events?: unknown }>('POST', '/sim/admin/tags', { action: 'create', group_name: '购物风格', tag: [{ name: '理性' }, { name: '冲动' }] });
    expect(created).toBeDefined();
    await inboxSettled();
    const [rational] = await db.select().from(tags).where(eq(tags.name, '理性'));
    expect(rational?.deletedAt).toBeNull();
    await t.simCall('POST', '/sim/admin/tags', { action: 'update', id: rational!.tagId, name: '理性消费' });
    await t.simCall('POST', '/sim/admin/tags', { action: 'delete', tag_id: [tagIds['行业/教育']] });
    await inboxSettled();
    expect((await db.select().from(tags).where(eq(tags.tagId, rational!.tagId)))[0]?.name).toBe('理性消费');
    expect((await db.select().from(tags).where(eq(tags.tagId, tagIds['行业/教育']!)))[0]?.deletedAt).not.toBeNull();
    // WeCom removes a deleted tag from every customer; so does the local copy.
    expect(await tagsOf('wmCustomerA', 'wangfang')).not.toContain(`corp:${tagIds['行业/教育']}`);
  });

  it('retries transient WeCom errors and parks permanent ones for an admin to retry', async () => {
    await t.simCall('POST', '/sim/faults', { path: '/cgi-bin/externalcontact/get', errcode: -1, count: 2 });
    const transient = await t.simCall<{ external_userid: string }>('POST', '/sim/customers/add', { userid: 'lihua', name: '重试客户' });
    await inboxSettled();
    expect(await relation(transient.external_userid, 'lihua')).toMatchObject({ status: 'active' });

    await t.simCall('POST', '/sim/faults', { path: '/cgi-bin/externalcontact/get', errcode: 48002, count: 1 });
    const parked = await t.simCall<{ external_userid: string }>('POST', '/sim/customers/add', { userid: 'lihua', name: '失败客户' });
    await t.sim.idle();
    const failed = await waitFor(async () => {
      const list = await admin.get('/api/admin/events?status=failed');
      return list.body.events.find((e: { externalUserId: string }) => e.externalUserId === parked.external_userid);
    }, 'the event to be parked as failed');
    expect(failed.lastError).toContain('48002');
    expect(await relation(parked.external_userid, 'lihua')).toBeUndefined();

    const retried = await admin.post(`/api/admin/events/${failed.id}/retry`);
    expect(retried.status).toBe(202);
    await inboxSettled();
    expect(await relation(parked.external_userid, 'lihua')).toMatchObject({ status: 'active' });
    expect((await admin.post(`/api/admin/events/${failed.id}/retry`)).status).toBe(409);
    expect((await admin.post('/api/admin/events/999999999/retry')).status).toBe(404);
  });

  it('refuses admin routes to members who are not admins', async () => {
    const rep = await t.as('wangfang');
    expect((await rep.post('/api/admin/sync')).status).toBe(403);
    expect((await rep.get('/api/admin/events?status=failed')).status).toBe(403);
    expect((await admin.get('/api/admin/events?status=bogus')).status).toBe(400);
  });
});

describe('customers with more than 500 followers', () => {
  let t: TestProduct;
  beforeAll(async () => {
    t = await startTestProduct();
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('imports every follow relation across externalcontact/get pages', async () => {
    const users = Array.from({ length: 620 }, (_, i) => ({ userid: `rep${i}`, name: `导购${i}`, department: [1], is_leader_in_dept: [0], position: '导购', status: 1 }));
    await t.sim.reset({
      departments: [{ id: 1, name: '总部', parentid: 0, order: 1 }],
      users,
      corpTags: [{ group_name: '客户等级', tag: [{ name: 'VIP' }] }],
      customers: [{ external_userid: 'wmPopular', name: '人气客户', type: 1, follow_users: users.map((u) => ({ userid: u.userid, tags: ['VIP'], remark: '', state: '' })) }],
    } as unknown as CompanyFixture);
    // Processing an edit for this customer reads every page of followers.
    await t.simCall('POST', '/sim/customers/edit-tags', { userid: 'rep1', external_userid: 'wmPopular', remark: '改备注' });
    const db = t.product.ctx.db;
    await waitFor(async () => {
      const [row] = await db.select({ n: sql<number>`count(*)::int` }).from(followRelations).where(eq(followRelations.externalUserId, 'wmPopular'));
      return row!.n === 620;
    }, '620 follow relations');
    const calls = await t.simCall<{ calls: { path: string }[] }>('GET', '/sim/calls?path=/cgi-bin/externalcontact/get');
    expect(calls.calls.length).toBeGreaterThanOrEqual(2);
  });
});
