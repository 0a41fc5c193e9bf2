import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, relationTags, visibilityRules } from '../../server/db/schema.ts';
import { bumpPolicyVersion } from '../../server/services/policy-version.ts';
import { verifyAuditChain } from '../../server/services/audit.service.ts';
import type { CompanyFixture } from '../../wecom-sim/index.ts';
import { startTestProduct, waitFor, type ApiClient, type TestProduct } from '../support/test-product.ts';

/** 总部 → 华东 → 上海, and 华南: two regions that must not see each other's complaint tags. */
const fixture = {
  departments: [
    { id: 1, name: '总部', parentid: 0, order: 1 },
    { id: 2, name: '华东大区', parentid: 1, order: 1 },
    { id: 21, name: '上海', parentid: 2, order: 1 },
    { id: 3, name: '华南大区', parentid: 1, order: 2 },
  ],
  users: [
    { userid: 'zhuxiaoyan', name: '朱晓燕', department: [1], is_leader_in_dept: [1], position: '总经理', status: 1 },
    { userid: 'wangfang', name: '王芳', department: [21], is_leader_in_dept: [0], position: '导购', status: 1 },
    { userid: 'lihua', name: '李华', department: [3], is_leader_in_dept: [0], position: '导购', status: 1 },
    { userid: 'chenjun', name: '陈军', department: [2], is_leader_in_dept: [1], position: '大区经理', status: 1 },
    // Follows nothing and manages nobody: outside every customer (chenjun manages wangfang's customers).
    { userid: 'zhaolei', name: '赵磊', department: [3], is_leader_in_dept: [0], position: '导购', status: 1 },
  ],
  corpTags: [
    { group_name: '客户等级', tag: [{ name: 'VIP' }, { name: '普通' }] },
    { group_name: '投诉记录', tag: [{ name: '严重投诉' }, { name: '一般投诉' }] },
  ],
  customers: [
    { external_userid: 'wmShared', name: '共享客户', type: 1, follow_users: [
      { userid: 'wangfang', tags: ['投诉记录/严重投诉'], remark: '', state: '' },
      { userid: 'lihua', tags: ['客户等级/普通'], remark: '', state: '' },
    ] },
  ],
} as unknown as CompanyFixture;

describe('tag policy enforced on every path', () => {
  let t: TestProduct;
  let admin: ApiClient;
  let wangfang: ApiClient;
  let lihua: ApiClient;
  let ids: Record<string, string>;
  let groups: Record<string, string>;
  const db = () => t.product.ctx.db;
  const markTagCalls = async () => (await t.simCall<{ calls: unknown[] }>('GET', '/sim/calls?path=/cgi-bin/externalcontact/mark_tag')).calls.length;
  const wecomTags = async (userid: string) => {
    const customer = await t.simCall<{ follow_user: { userid: string; tags: { tag_id?: string }[] }[] }>('GET', '/sim/customers/wmShared');
    return customer.follow_user.find((f) => f.userid === userid)!.tags.map((tag) => tag.tag_id).filter(Boolean).sort();
  };
  const localTags = async (userid: string) =>
    (await db().select({ tagId: relationTags.tagId }).from(relationTags).where(and(eq(relationTags.externalUserId, 'wmShared'), eq(relationTags.userid, userid)))).map((r) => r.tagId).sort();
  const settle = async () => {
    await t.sim.idle();
    await waitFor(async () => {
      const rows = (await db().execute(sql`select (select count(*) from inbox_events where status = 'pending') + (select count(*) from outgoing_writes where state = 'queued') as n`)) as unknown as { rows: { n: string }[] };
      return Number(rows.rows[0]!.n) === 0;
    }, 'events and writes to settle');
  };

  beforeAll(async () => {
    t = await startTestProduct();
    const reset = await t.sim.reset(fixture);
    ids = Object.fromEntries(reset.tagGroups.flatMap((g) => g.tags.map((tag) => [tag.name, tag.id])));
    groups = Object.fromEntries(reset.tagGroups.map((g) => [g.group_name, g.group_id]));
    admin = await t.as('zhuxiaoyan');
    const sync = await admin.post('/api/admin/sync');
    await waitFor(async () => (await admin.get(`/api/jobs/${sync.body.jobId}`)).body.state === 'completed', 'the sync');
    wangfang = await t.as('wangfang');
    lihua = await t.as('lihua');
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('saves rules that narrow and refuses rules that would widen, naming the parent', async () => {
    const complaints = await admin.request('PUT', `/api/admin/tag-groups/${groups['投诉记录']}/visibility`, { see: { departments: [2] } });
    expect(complaints.status).toBe(200);
    expect(complaints.body.rule).toMatchObject({ see: { departments: [2] }, use: { departments: [2] }, mode: 'enforce' });

    const vip = await admin.request('PUT', `/api/admin/tags/${ids.VIP}/visibility`, { see: { departments: [1] }, use: { roles: ['manager'] } });
    expect(vip.status).toBe(200);

    const wider = await admin.request('PUT', `/api/admin/tags/${ids['严重投诉']}/visibility`, { see: { departments: [3] } });
    expect(wider.status).toBe(409);
    expect(wider.body.error.message).toContain('投诉记录');

    const useWider = await admin.request('PUT', `/api/admin/tags/${ids['一般投诉']}/visibility`, { see: { departments: [21] }, use: { departments: [2] } });
    expect(useWider.status).toBe(409);
    expect(useWider.body.error.message).toMatch(/use audience is wider than the see audience/);

    const unknown = await admin.request('PUT', `/api/admin/tags/${ids['一般投诉']}/visibility`, { see: { departments: [999], users: ['ghost'] } });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.message).toMatch(/department 999.*member ghost/);

    expect((await wangfang.request('PUT', `/api/admin/tags/${ids.VIP}/visibility`, { see: null })).status).toBe(403);
    const read = await admin.get(`/api/admin/tags/${ids['严重投诉']}/visibility`);
    expect(read.body).toMatchObject({ rule: null, inherited: [{ node: { type: 'group', name: '投诉记录' }, see: { departments: [2] } }] });
  });

  it('shows each member only the tags they may see, on the next request after a change', async () => {
    const seenBy = async (client: ApiClient) =>
      (await client.get('/api/customers/wmShared')).body.relations.flatMap((r: { tags: { name: string }[] }) => r.tags.map((tag) => tag.name)).sort();
    expect(await seenBy(wangfang)).toEqual(['严重投诉', '普通']);
    expect(await seenBy(lihua)).toEqual(['普通']);
    // Widening the group again is visible at once (the policy version moves with the change).
    await admin.request('PUT', `/api/admin/tag-groups/${groups['投诉记录']}/visibility`, { see: { departments: [1] } });
    expect(await seenBy(lihua)).toEqual(['严重投诉', '普通']);
    await admin.request('PUT', `/api/admin/tag-groups/${groups['投诉记录']}/visibility`, { see: { departments: [2] } });
    expect(await seenBy(lihua)).toEqual(['普通']);
  });

  it('gives each member their visible tag tree, with locked tags and the reason', async () => {
    const mine = await wangfang.get('/api/tags');
    expect(mine.status).toBe(200);
    const groupNames = mine.body.tree.map((g: { name: string }) => g.name);
    expect(groupNames).toEqual(expect.arrayContaining(['客户等级', '投诉记录']));
    const vip = mine.body.tree.find((g: { name: string }) => g.name === '客户等级').tags.find((tag: { name: string }) => tag.name === 'VIP');
    expect(vip).toMatchObject({ usable: false, lockedReason: expect.stringMatching(/see but not use/) });
    const theirs = await lihua.get('/api/tags');
    expect(theirs.body.tree.map((g: { name: string }) => g.name)).not.toContain('投诉记录');
    expect(JSON.stringify(theirs.body)).not.toContain('严重投诉');
  });

  it('lets an admin view the app as a member, read-only, and audits it', async () => {
    const viewer = await t.as('zhuxiaoyan');
    expect((await viewer.post('/api/admin/view-as', { userid: 'lihua' })).status).toBe(200);
    const me = await viewer.get('/api/me');
    expect(me.body).toMatchObject({ userid: 'lihua', viewAs: { by: 'zhuxiaoyan', readOnly: true } });
    const seen = await viewer.get('/api/customers/wmShared');
    expect(JSON.stringify(seen.body)).not.toContain('严重投诉');
    const write = await viewer.post('/api/customers/wmShared/tags', { add: [ids['普通']] });
    expect(write.status).toBe(403);
    expect(write.body.error.message).toMatch(/read-only/);
    expect((await viewer.request('DELETE', '/api/admin/view-as')).status).toBe(200);
    expect((await viewer.get('/api/me')).body).toMatchObject({ userid: 'zhuxiaoyan', viewAs: null });
    const audited = await db().select().from(auditLog).where(eq(auditLog.action, 'view_as.started'));
    expect(audited).toEqual([expect.objectContaining({ actor: 'zhuxiaoyan', subjectId: 'lihua' })]);
    expect((await wangfang.post('/api/admin/view-as', { userid: 'lihua' })).status).toBe(403);
  });

  it('explains a decision in words, naming the department that granted it', async () => {
    const explained = await admin.get(`/api/admin/explain/tag?userid=wangfang&tagId=${ids.VIP}`);
    expect(explained.status).toBe(200);
    expect(explained.body).toMatchObject({ see: true, use: false });
    expect(explained.body.because.join('\n')).toMatch(/王芳 is in 上海, inside department 总部/);
    expect(explained.body.because.join('\n')).toMatch(/see but not use/);
    const manager = await admin.get(`/api/admin/explain/tag?userid=chenjun&tagId=${ids.VIP}`);
    expect(manager.body).toMatchObject({ see: true, use: true });
    expect(manager.body.because.join('\n')).toMatch(/role manager/);
    expect((await admin.get('/api/admin/explain/tag?userid=nobody&tagId=x')).status).toBe(404);
  });

  it('refuses a tag the member may see but not use (403 with reasons) and changes nothing anywhere', async () => {
    const callsBefore = await markTagCalls();
    const deniedCount = async () => (await db().select({ n: sql<number>`count(*)::int` }).from(auditLog).where(eq(auditLog.outcome, 'denied')))[0]!.n;
    const auditBefore = await deniedCount();
    const refused = await wangfang.post('/api/customers/wmShared/tags', { add: [ids['普通'], ids.VIP] });
    expect(refused.status).toBe(403);
    expect(refused.body.error).toMatchObject({ code: 'TAG_NOT_ALLOWED', tags: [expect.objectContaining({ tagId: ids.VIP, name: 'VIP' })] });
    expect(await markTagCalls()).toBe(callsBefore);
    expect(await localTags('wangfang')).toEqual([ids['严重投诉']]);
    expect(await wecomTags('wangfang')).toEqual([ids['严重投诉']]);
    expect(await deniedCount()).toBe(auditBefore + 1);
  });

  it('answers a tag the member may not see exactly like a tag that does not exist', async () => {
    const hidden = await lihua.post('/api/customers/wmShared/tags', { add: [ids['一般投诉']] });
    const missing = await lihua.post('/api/customers/wmShared/tags', { add: ['etDoesNotExist'] });
    expect(hidden.status).toBe(404);
    expect(missing.status).toBe(404);
    expect(hidden.body.error.code).toBe(missing.body.error.code);
    expect(Object.keys(hidden.body.error)).toEqual(Object.keys(missing.body.error));
  });

  it('writes an allowed tag through to WeCom and to local state', async () => {
    const done = await wangfang.post('/api/customers/wmShared/tags', { add: [ids['普通']] });
    expect(done.status).toBe(200);
    expect(done.body.wecom).toMatchObject({ state: 'done' });
    expect(await wecomTags('wangfang')).toEqual([ids['严重投诉'], ids['普通']].sort());
    expect(await localTags('wangfang')).toEqual([ids['严重投诉'], ids['普通']].sort());
  });

  it('answers 404 to a member outside the customer and 409 to an admin or a manager without a relation', async () => {
    const zhaolei = await t.as('zhaolei');
    expect((await zhaolei.post('/api/customers/wmShared/tags', { add: [ids['普通']] })).status).toBe(404);
    expect((await zhaolei.get('/api/customers/wmShared')).status).toBe(404);
    const noRelation = await admin.post('/api/customers/wmShared/tags', { add: [ids['普通']] });
    expect(noRelation.status).toBe(409);
    expect(noRelation.body.error.code).toBe('NO_RELATION');
    // chenjun manages wangfang (华东 ⊃ 上海), so the customer is in his scope, but the relation is not his.
    const manager = await (await t.as('chenjun')).post('/api/customers/wmShared/tags', { add: [ids['普通']] });
    expect({ status: manager.status, code: manager.body.error?.code }).toEqual({ status: 409, code: 'NO_RELATION' });
    expect((await wangfang.post('/api/customers/wmShared/tags', {})).status).toBe(400);
  });

  it('reverts a forbidden tag added in the WeCom client and tells the member why', async () => {
    await t.simCall('POST', '/sim/customers/edit-tags', { userid: 'wangfang', external_userid: 'wmShared', add: [ids.VIP] });
    await settle();
    expect(await wecomTags('wangfang')).not.toContain(ids.VIP);
    expect(await localTags('wangfang')).not.toContain(ids.VIP);
    const messages = await t.simCall<{ messages: { recipients: string[]; body: { text?: { content: string } } }[] }>('GET', '/sim/messages');
    expect(messages.messages.some((m) => m.recipients.includes('wangfang') && m.body.text?.content.includes('VIP'))).toBe(true);
    const [reverted] = await db().select().from(auditLog).where(eq(auditLog.outcome, 'reverted'));
    expect(reverted).toMatchObject({ actor: 'wangfang', subjectId: 'wmShared', details: expect.objectContaining({ tags: [ids.VIP] }) });
  });

  it('only reports (no revert) when the refusing rule is in report-only mode', async () => {
    await admin.request('PUT', `/api/admin/tags/${ids.VIP}/visibility`, { see: { departments: [1] }, use: { roles: ['manager'] }, mode: 'report' });
    // The same member edits the same customer again within the simulator's second: WeCom's event is
    // then identical to the previous one, and the re-read after a "duplicate" must still catch it.
    await t.simCall('POST', '/sim/customers/edit-tags', { userid: 'wangfang', external_userid: 'wmShared', add: [ids.VIP] });
    const reported = await waitFor(async () => {
      const rows = await db().select().from(auditLog).where(eq(auditLog.outcome, 'reported'));
      return rows.length ? rows : undefined;
    }, 'the report-only audit entry');
    await settle();
    expect(reported).toHaveLength(1);
    expect(await wecomTags('wangfang')).toContain(ids.VIP);
    expect(await verifyAuditChain(db())).toBeNull();
    // The chain detects an edited entry.
    const [first] = await db().select({ id: auditLog.id, outcome: auditLog.outcome }).from(auditLog).orderBy(auditLog.id).limit(1);
    await db().execute(sql`update audit_log set outcome = ${first!.outcome === 'allowed' ? 'done' : 'allowed'} where id = ${first!.id}`);
    expect(await verifyAuditChain(db())).toBe(first!.id);
    await db().execute(sql`update audit_log set outcome = ${first!.outcome} where id = ${first!.id}`);
  });

  it('lists policy conflicts for admins, each with a fix', async () => {
    // Written around the API (which refuses them) to stand for data that aged: a wider child rule,
    // and a rule naming a member who no longer exists.
    await db().insert(visibilityRules).values([
      { nodeType: 'tag', nodeId: ids['一般投诉']!, see: { departments: [3], users: [], roles: [] }, use: { departments: [3], users: [], roles: [] } },
      { nodeType: 'tag', nodeId: ids['普通']!, see: { departments: [1], users: [], roles: [] }, use: { departments: [], users: ['departed'], roles: [{ name: 'ghost-role' }] } },
    ]);
    await bumpPolicyVersion(db());
    await t.simCall('POST', '/sim/admin/tags', { action: 'create', group_name: '客户等级', tag: [{ name: '金卡#1' }] });
    await settle();
    const listed = await admin.get('/api/admin/tag-policy/conflicts');
    expect(listed.status).toBe(200);
    const kinds = listed.body.conflicts.map((c: { kind: string }) => c.kind);
    expect(kinds).toEqual(expect.arrayContaining(['rule_wider_than_parent', 'rule_names_missing', 'tag_name_invalid']));
    const wider = listed.body.conflicts.find((c: { kind: string }) => c.kind === 'rule_wider_than_parent');
    expect(wider.message).toContain('投诉记录');
    expect(wider.fix).toBeTruthy();
    const missing = listed.body.conflicts.find((c: { kind: string }) => c.kind === 'rule_names_missing');
    expect(missing.message).toMatch(/member departed.*role ghost-role/);
    expect(listed.body.conflicts.find((c: { kind: string }) => c.kind === 'tag_name_invalid').message).toContain('#');
    expect((await wangfang.get('/api/admin/tag-policy/conflicts')).status).toBe(403);
  });
});
