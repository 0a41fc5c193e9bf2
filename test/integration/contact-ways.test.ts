import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, contactWays } from '../../server/db/schema.ts';
import { contactWaysCompany, inboxSettled, restrictTag, syncAll, tagIdsOf } from '../support/contact-ways-company.ts';
import { startTestProduct, type ApiClient, type TestProduct } from '../support/test-product.ts';

interface SimCall { path: string; body: Record<string, any>; errcode: number }

describe('contact ways (admin API against the simulator)', () => {
  let t: TestProduct;
  let admin: ApiClient;
  let tagIds: Record<string, string>;

  const calls = async (api: string): Promise<SimCall[]> => (await t.simCall<{ calls: SimCall[] }>('GET', `/sim/calls?path=/cgi-bin/externalcontact/${api}`)).calls;
  const wecomSide = (configId: string) => t.product.ctx.wecom.getContactWay(configId).then((r) => r.contact_way);
  const auditsOf = (configId: string) => t.product.ctx.db.select().from(auditLog).where(and(eq(auditLog.subjectType, 'contact_way'), eq(auditLog.subjectId, configId)));

  beforeAll(async () => {
    t = await startTestProduct();
    tagIds = tagIdsOf(await t.sim.reset(contactWaysCompany()));
    admin = await t.as('zhuxiaoyan');
    await syncAll(admin);
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('creates a single-member QR code in WeCom with a generated state, stores it and audits it', async () => {
    const created = await admin.post('/api/admin/contact-ways', { users: ['wangfang'], rules: { tagIds: [tagIds['客户等级/VIP']], owner: { mode: 'adder' } } });
    expect(created.status).toBe(201);
    const way = created.body.contactWay;
    expect(way).toMatchObject({ type: 1, scene: 2, skipVerify: true, users: ['wangfang'], parties: [], rules: { tagIds: [tagIds['客户等级/VIP']], owner: { mode: 'adder' } } });
    expect(way.state).toMatch(/^cw_[0-9a-f]{16}$/);
    expect(way.qrCode).toMatch(/^http/);
    expect(created.body.warnings).toEqual([]);

    const sent = (await calls('add_contact_way')).filter((c) => c.body.state === way.state);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.body).toMatchObject({ type: 1, scene: 2, skip_verify: true, state: way.state, user: ['wangfang'] });
    expect(await wecomSide(way.configId)).toMatchObject({ config_id: way.configId, state: way.state, user: ['wangfang'], scene: 2 });

    const [row] = await t.product.ctx.db.select().from(contactWays).where(eq(contactWays.configId, way.configId));
    expect(row).toMatchObject({ state: way.state, qrCode: way.qrCode, createdBy: 'zhuxiaoyan', deletedAt: null });
    expect(await auditsOf(way.configId)).toEqual([expect.objectContaining({ actor: 'zhuxiaoyan', action: 'contact_way.created', outcome: 'done' })]);

    const listed = await admin.get('/api/admin/contact-ways');
    expect(listed.status).toBe(200);
    expect(listed.body.contactWays.map((w: { configId: string }) => w.configId)).toContain(way.configId);
    const one = await admin.get(`/api/admin/contact-ways/${way.configId}`);
    expect(one.body).toMatchObject({ contactWay: { configId: way.configId, state: way.state }, warnings: [] });
    const byState = await admin.get(`/api/admin/contact-ways?state=${way.state}`);
    expect(byState.body.contactWays).toHaveLength(1);
  });

  it('derives type 2 for several members and departments and downloads the QR image', async () => {
    const created = await admin.post('/api/admin/contact-ways', {
      users: ['wangfang', 'zhaolei'], parties: [3], skipVerify: false, remark: '展会二维码', state: 'expo_2026-spring',
      rules: { tagIds: [tagIds['渠道/展会']], owner: { mode: 'round_robin', departmentId: 3 }, remarkTemplate: '{customer_name}', welcome: { text: '您好，我是{member_name}' } },
    });
    expect(created.status).toBe(201);
    expect(created.body.contactWay).toMatchObject({ type: 2, skipVerify: false, remark: '展会二维码', state: 'expo_2026-spring', parties: [3] });
    expect(await wecomSide(created.body.contactWay.configId)).toMatchObject({ type: 2, skip_verify: false, remark: '展会二维码', user: ['wangfang', 'zhaolei'], party: [3] });

    const qr = await admin.get(`/api/admin/contact-ways/${created.body.contactWay.configId}/qr`);
    expect(qr.status).toBe(200);
    expect(qr.headers.get('content-type')).toContain('image/svg+xml');
    expect(qr.headers.get('content-disposition')).toContain('contact-way-expo_2026-spring.svg');
    expect(String(qr.body)).toContain('<svg');
  });

  it('updates WeCom and the local copy, and leaves WeCom alone when only the rules change', async () => {
    const created = await admin.post('/api/admin/contact-ways', { users: ['lihua', 'chenjing'], state: 'update_me', rules: { tagIds: [], owner: { mode: 'adder' } } });
    const configId = created.body.contactWay.configId as string;

    const updated = await admin.request('PUT', `/api/admin/contact-ways/${configId}`, { users: ['chenjing'], parties: [3], remark: '改过', state: 'updated_state', skipVerify: false });
    expect(updated.status).toBe(200);
    expect(updated.body.contactWay).toMatchObject({ users: ['chenjing'], parties: [3], remark: '改过', state: 'updated_state', skipVerify: false, type: 2 });
    const sent = (await calls('update_contact_way')).filter((c) => c.body.config_id === configId);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.body).toMatchObject({ user: ['chenjing'], party: [3], remark: '改过', state: 'updated_state', skip_verify: false });
    expect(await wecomSide(configId)).toMatchObject({ user: ['chenjing'], party: [3], remark: '改过', state: 'updated_state', skip_verify: false });

    const rulesOnly = await admin.request('PUT', `/api/admin/contact-ways/${configId}`, { rules: { tagIds: [tagIds['客户等级/普通']], owner: { mode: 'fixed', userid: 'lihua' }, descriptionTemplate: '来自{state}，{date}' } });
    expect(rulesOnly.status).toBe(200);
    expect(rulesOnly.body.contactWay.rules).toMatchObject({ tagIds: [tagIds['客户等级/普通']], owner: { mode: 'fixed', userid: 'lihua' } });
    expect((await calls('update_contact_way')).filter((c) => c.body.config_id === configId)).toHaveLength(1);

    const actions = (await auditsOf(configId)).map((a) => `${a.action}:${a.outcome}`);
    expect(actions).toEqual(['contact_way.created:done', 'contact_way.updated:done', 'contact_way.updated:done']);

    const single = await admin.post('/api/admin/contact-ways', { users: ['lihua'], rules: { tagIds: [], owner: { mode: 'adder' } } });
    const widened = await admin.request('PUT', `/api/admin/contact-ways/${single.body.contactWay.configId}`, { users: ['lihua', 'chenjing'] });
    expect(widened.status).toBe(400);
    expect(widened.body.error.message).toContain('type 1');
  });

  it('deletes in WeCom and locally; the state of a deleted code is not reused', async () => {
    const created = await admin.post('/api/admin/contact-ways', { users: ['zhaolei'], state: 'short_lived', rules: { tagIds: [], owner: { mode: 'adder' } } });
    const configId = created.body.contactWay.configId as string;
    const deleted = await admin.request('DELETE', `/api/admin/contact-ways/${configId}`);
    expect(deleted.status).toBe(200);
    expect((await calls('del_contact_way')).filter((c) => c.body.config_id === configId)).toHaveLength(1);
    await expect(wecomSide(configId)).rejects.toMatchObject({ errcode: 41044 });
    expect((await admin.get(`/api/admin/contact-ways/${configId}`)).status).toBe(404);
    expect((await admin.get('/api/admin/contact-ways')).body.contactWays.map((w: { configId: string }) => w.configId)).not.toContain(configId);
    expect((await admin.request('DELETE', `/api/admin/contact-ways/${configId}`)).status).toBe(404);

    const again = await admin.post('/api/admin/contact-ways', { users: ['zhaolei'], state: 'short_lived', rules: { tagIds: [], owner: { mode: 'adder' } } });
    expect(again.status).toBe(409);
    expect(again.body.error.message).toContain('deleted contact way');
  });

  it('answers 409 for a state already in use, without creating anything in WeCom', async () => {
    const first = await admin.post('/api/admin/contact-ways', { users: ['wangfang'], state: 'live_2026_11', rules: { tagIds: [], owner: { mode: 'adder' } } });
    expect(first.status).toBe(201);
    const second = await admin.post('/api/admin/contact-ways', { users: ['lihua'], state: 'live_2026_11', rules: { tagIds: [], owner: { mode: 'adder' } } });
    expect(second.status).toBe(409);
    expect(second.body.error).toMatchObject({ code: 'CONFLICT', field: 'state', configId: first.body.contactWay.configId });
    expect((await calls('add_contact_way')).filter((c) => c.body.state === 'live_2026_11')).toHaveLength(1);

    const other = await admin.post('/api/admin/contact-ways', { users: ['lihua'], state: 'taken_by_update', rules: { tagIds: [], owner: { mode: 'adder' } } });
    const clash = await admin.request('PUT', `/api/admin/contact-ways/${other.body.contactWay.configId}`, { state: 'live_2026_11' });
    expect(clash.status).toBe(409);
    expect(await wecomSide(other.body.contactWay.configId)).toMatchObject({ state: 'taken_by_update' });
    const denied = (await auditsOf(other.body.contactWay.configId)).filter((a) => a.outcome === 'denied');
    expect(denied).toEqual([expect.objectContaining({ action: 'contact_way.updated', details: expect.objectContaining({ reason: 'state_taken' }) })]);
  });

  it('refuses invalid input with clear messages and calls WeCom for none of it', async () => {
    const before = (await calls('add_contact_way')).length;
    const rules = { tagIds: [], owner: { mode: 'adder' } };
    const cases: [unknown, number, string][] = [
      [{ users: ['wangfang'], state: 'x'.repeat(31), rules }, 400, 'state must be 1 to 30 characters'],
      [{ users: ['wangfang'], state: '直播码', rules }, 400, 'state must be 1 to 30 characters'],
      [{ users: ['wangfang'], rules: { ...rules, tagIds: ['etNOPE000'] } }, 400, 'unknown tag ids: etNOPE000'],
      [{ users: ['wangfang', 'lihua'], type: 1, rules }, 400, 'type 1'],
      [{ rules }, 400, 'at least one member'],
      [{ users: ['ghost'], rules }, 400, 'unknown members: ghost'],
      [{ parties: [999], rules }, 400, 'unknown departments: 999'],
      [{ users: ['wangfang'], rules: { ...rules, remarkTemplate: '{customer_nickname}' } }, 400, 'unknown placeholder'],
      [{ users: ['wangfang'], rules: { ...rules, remarkTemplate: '这是一个远远超过二十个字的备注模板文字内容啊' } }, 400, 'at most 20 characters'],
      [{ users: ['wangfang'], rules: { ...rules, owner: { mode: 'round_robin', departmentId: 999 } } }, 400, 'unknown department 999'],
      [{ users: ['wangfang'], rules: { ...rules, owner: { mode: 'fixed', userid: 'ghost' } } }, 400, 'unknown member ghost'],
      [{ users: ['wangfang'], rules: { ...rules, owner: { mode: 'everyone' } } }, 400, 'owner.mode must be'],
      [{ users: ['wangfang'], rules: { ...rules, welcome: {} } }, 400, 'welcome needs text or attachments'],
      [{ users: ['wangfang'], skip_verify: false, rules }, 400, 'skip_verify'],
      [{ users: ['wangfang'] }, 400, 'rules'],
    ];
    for (const [body, status, message] of cases) {
      const answer = await admin.post('/api/admin/contact-ways', body);
      expect({ body, status: answer.status }).toEqual({ body, status });
      expect(answer.body.error.message).toContain(message);
    }
    expect((await admin.request('PUT', '/api/admin/contact-ways/nope', { remark: 'x' })).status).toBe(404);
    const somebody = (await admin.get('/api/admin/contact-ways')).body.contactWays[0].configId;
    expect((await admin.request('PUT', `/api/admin/contact-ways/${somebody}`, {})).status).toBe(400);
    expect((await calls('add_contact_way')).length).toBe(before);
  });

  it('warns when a rule tag is outside some members\' use audience, outside a rule group\'s range, or deleted', async () => {
    // 门店 may be seen by everyone but used only by 华南大区 (dept 3).
    await restrictTag(t, tagIds['渠道/门店']!, { see: [1], use: [3] });
    const created = await admin.post('/api/admin/contact-ways', {
      users: ['wangfang', 'lihua'], state: 'warn_me',
      rules: { tagIds: [tagIds['渠道/门店'], tagIds['华东专属/华东VIP'], tagIds['客户等级/VIP'], tagIds['渠道/直播']], owner: { mode: 'adder' } },
    });
    expect(created.status).toBe(201);
    const warnings = created.body.warnings as { code: string; tagId: string; members: string[]; message: string }[];
    expect(warnings).toEqual(expect.arrayContaining([
      expect.objectContaining({ code: 'TAG_NOT_USABLE', tagId: tagIds['渠道/门店'], members: ['wangfang'] }),
      expect.objectContaining({ code: 'RULE_GROUP_RANGE', tagId: tagIds['华东专属/华东VIP'], members: ['lihua'] }),
    ]));
    expect(warnings).toHaveLength(2);
    expect(warnings.find((w) => w.code === 'RULE_GROUP_RANGE')!.message).toContain('华东规则组');

    // 直播 is deleted in the WeCom console; the change_external_tag callback marks it deleted here.
    await t.simCall('POST', '/sim/admin/tags', { action: 'delete', tag_id: [tagIds['渠道/直播']] });
    await inboxSettled(t);
    const again = await admin.get(`/api/admin/contact-ways/${created.body.contactWay.configId}`);
    expect(again.body.warnings).toEqual(expect.arrayContaining([expect.objectContaining({ code: 'TAG_DELETED', tagId: tagIds['渠道/直播'] })]));
  });

  it('refuses every contact-way route to members who are not admins', async () => {
    const rep = await t.as('wangfang');
    const someone = (await admin.get('/api/admin/contact-ways')).body.contactWays[0].configId as string;
    const before = (await calls('add_contact_way')).length;
    expect((await rep.get('/api/admin/contact-ways')).status).toBe(403);
    expect((await rep.post('/api/admin/contact-ways', { users: ['wangfang'], rules: { tagIds: [], owner: { mode: 'adder' } } })).status).toBe(403);
    expect((await rep.get(`/api/admin/contact-ways/${someone}`)).status).toBe(403);
    expect((await rep.request('PUT', `/api/admin/contact-ways/${someone}`, { remark: 'x' })).status).toBe(403);
    expect((await rep.request('DELETE', `/api/admin/contact-ways/${someone}`)).status).toBe(403);
    expect((await rep.get(`/api/admin/contact-ways/${someone}/qr`)).status).toBe(403);
    expect((await t.anonymous().get('/api/admin/contact-ways')).status).toBe(401);
    expect((await calls('add_contact_way')).length).toBe(before);
    expect((await admin.get(`/api/admin/contact-ways/${someone}`)).status).toBe(200);
  });
});
