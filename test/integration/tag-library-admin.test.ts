import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, inboxEvents, relationTags, strategies, strategyRanges, tagFolders, tagGroups, tags, visibilityRules, type AudienceGrants } from '../../server/db/schema.ts';
import { bumpPolicyVersion, readPolicyVersion } from '../../server/services/policy-version.ts';
import type { CompanyFixture } from '../../wecom-sim/index.ts';
import { startTestProduct, waitFor, type ApiClient, type DatabaseKind, type TestProduct } from '../support/test-product.ts';

/** A small company: 总部 → 华东大区 → 上海, 总部 → 华南大区; console-made corp tags; one app rule group. */
function fixture(): CompanyFixture {
  return {
    departments: [
      { id: 1, name: '总部', parentid: 0, order: 1 },
      { id: 2, name: '华东大区', parentid: 1, order: 1 },
      { id: 3, name: '华南大区', parentid: 1, order: 2 },
      { id: 4, name: '上海', parentid: 2, order: 1 },
    ],
    users: [
      { userid: 'zhuxiaoyan', name: '朱晓燕', department: [1], is_leader_in_dept: [1], position: '总经理', status: 1 },
      { userid: 'wangfang', name: '王芳', department: [2], is_leader_in_dept: [0], position: '导购', status: 1 },
      { userid: 'lihua', name: '李华', department: [3], is_leader_in_dept: [0], position: '导购', status: 1 },
      { userid: 'zhaolei', name: '赵磊', department: [4], is_leader_in_dept: [0], position: '导购', status: 1 },
    ],
    corpTags: [{ group_name: '客户等级', tag: [{ name: 'VIP' }, { name: '普通' }] }],
    strategies: [
      { strategy_name: '华东规则组', range: [{ type: 2, partyid: 2 }], tagGroups: [{ group_name: '华东专属', tag: [{ name: '华东VIP' }] }] },
      { strategy_name: '控制台规则组', createdBy: 'console', range: [{ type: 2, partyid: 3 }], tagGroups: [{ group_name: '控制台组', tag: [{ name: '控制台标签' }] }] },
    ],
    customers: [
      { external_userid: 'wmCustomerA', name: '客户甲', type: 1, follow_users: [{ userid: 'wangfang', tags: ['客户等级/VIP'], remark: '甲', state: '' }] },
    ],
  } as unknown as CompanyFixture;
}

interface SimCall { path: string; body: Record<string, unknown>; errcode: number }
const grants = (partial: Partial<AudienceGrants>): AudienceGrants => ({ departments: [], users: [], roles: [], ...partial });

describe.each<DatabaseKind>(['pglite', 'postgres'])('tag library admin API (against the simulator) (%s)', (kind) => {
  let t: TestProduct;
  let admin: ApiClient;
  let rep: ApiClient;
  let db: TestProduct['product']['ctx']['db'];
  let consoleTags: Record<string, string>;

  const calls = async (path: string): Promise<SimCall[]> => (await t.simCall<{ calls: SimCall[] }>('GET', `/sim/calls?path=${encodeURIComponent(path)}`)).calls;
  const auditOf = async (action: string) => db.select().from(auditLog).where(eq(auditLog.action, action)).orderBy(auditLog.id);
  const wecomCorpTags = async () => (await t.product.ctx.wecom.getCorpTagList()).tag_group;
  const patch = (path: string, body: unknown) => admin.request('PATCH', path, body);
  const del = (path: string) => admin.request('DELETE', path);
  const setRule = async (nodeType: 'folder' | 'group' | 'tag', nodeId: string | number, see: AudienceGrants, use: AudienceGrants = see) => {
    await db.transaction(async (tx) => {
      await tx.insert(visibilityRules).values({ nodeType, nodeId: String(nodeId), see, use })
        .onConflictDoUpdate({ target: [visibilityRules.nodeType, visibilityRules.nodeId], set: { see, use } });
      await bumpPolicyVersion(tx);
    });
  };
  const inboxSettled = async (): Promise<void> => {
    await t.sim.idle();
    await waitFor(async () => {
      const [row] = await db.select({ n: sql<number>`count(*)::int` }).from(inboxEvents).where(eq(inboxEvents.status, 'pending'));
      return row!.n === 0;
    }, 'every inbox event to be processed');
  };
  const createGroup = async (name: string, tagNames: string[], extra: Record<string, unknown> = {}) => {
    const res = await admin.post('/api/admin/tag-groups', { name, tags: tagNames.map((n) => ({ name: n })), ...extra });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body as { groupId: string; name: string; folderId: number | null; tags: { tagId: string; name: string }[] };
  };
  const createFolder = async (name: string, parentId?: number) => {
    const res = await admin.post('/api/admin/tag-folders', { name, ...(parentId ? { parentId } : {}) });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body as { id: number; name: string; parentId: number | null };
  };

  beforeAll(async () => {
    t = await startTestProduct({ database: kind });
    db = t.product.ctx.db;
    const reset = await t.sim.reset(fixture());
    consoleTags = Object.fromEntries(reset.tagGroups.flatMap((g) => [[g.group_name, g.group_id], ...g.tags.map((tag) => [`${g.group_name}/${tag.name}`, tag.id])]));
    admin = await t.as('zhuxiaoyan');
    rep = await t.as('wangfang');
    const started = await admin.post('/api/admin/sync');
    await waitFor(async () => ['completed', 'failed'].includes((await admin.get(`/api/jobs/${started.body.jobId}`)).body.state), 'the full sync');
    await inboxSettled();
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('refuses every admin tag endpoint to members who are not admins, and calls nothing in WeCom', async () => {
    await t.simCall('DELETE', '/sim/calls');
    const attempts: [string, string, unknown?][] = [
      ['GET', '/api/admin/tag-library'], ['GET', '/api/admin/tag-name-rules'], ['PUT', '/api/admin/tag-name-rules', { forbiddenCharacters: [] }],
      ['POST', '/api/admin/tag-groups', { name: 'X', tags: [{ name: 'x' }] }], ['POST', `/api/admin/tag-groups/${consoleTags['客户等级']}/tags`, { tags: [{ name: 'x' }] }],
      ['PATCH', `/api/admin/tag-groups/${consoleTags['客户等级']}`, { name: 'Y' }], ['DELETE', `/api/admin/tag-groups/${consoleTags['客户等级']}`],
      ['PATCH', `/api/admin/tags/${consoleTags['客户等级/VIP']}`, { name: 'Y' }], ['DELETE', `/api/admin/tags/${consoleTags['客户等级/VIP']}`],
      ['POST', '/api/admin/tag-folders', { name: 'F' }], ['PATCH', '/api/admin/tag-folders/1', { name: 'F' }], ['DELETE', '/api/admin/tag-folders/1'],
      ['GET', '/api/admin/rule-groups'], ['GET', '/api/admin/rule-groups/1'], ['POST', '/api/admin/rule-groups', { name: 'R', range: { users: ['wangfang'] } }],
      ['PATCH', '/api/admin/rule-groups/1', { name: 'R' }], ['DELETE', '/api/admin/rule-groups/1'],
      ['POST', '/api/admin/rule-groups/1/tag-groups', { name: 'G', tags: [{ name: 'x' }] }], ['PATCH', '/api/admin/rule-group-tags/x', { name: 'y' }], ['DELETE', '/api/admin/rule-group-tags/x'],
    ];
    for (const [method, path, body] of attempts) {
      const res = await rep.request(method, path, body);
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(res.body.error.code).toBe('FORBIDDEN');
      expect((await t.anonymous().request(method, path, body)).status, `${method} ${path} anonymous`).toBe(401);
    }
    expect((await t.simCall<{ calls: SimCall[] }>('GET', '/sim/calls')).calls.filter((c) => !c.path.includes('gettoken'))).toEqual([]);
  });

  it('returns the whole tree: groups and tags, rule groups with their groups, rule flags', async () => {
    const [ruleGroup] = await db.select().from(strategies).where(eq(strategies.name, '华东规则组'));
    await setRule('group', consoleTags['客户等级']!, grants({ departments: [1] }));
    const res = await admin.get('/api/admin/tag-library');
    expect(res.status).toBe(200);
    const level = res.body.tree.find((n: { name: string }) => n.name === '客户等级');
    expect(level).toMatchObject({ kind: 'group', id: consoleTags['客户等级'], hasRule: true, ruleMode: 'enforce', strategyId: null });
    expect(level.children.map((c: { name: string; kind: string; hasRule: boolean }) => [c.kind, c.name, c.hasRule]).sort()).toEqual([['tag', 'VIP', false], ['tag', '普通', false]]);
    const east = res.body.tree.find((n: { kind: string; name: string }) => n.kind === 'rule_group' && n.name === '华东规则组');
    expect(east).toMatchObject({ id: ruleGroup!.strategyId, hasRule: false, range: { users: [], departments: [2] }, order: 0 });
    expect(east.children).toEqual([expect.objectContaining({ kind: 'group', name: '华东专属', strategyId: ruleGroup!.strategyId, children: [expect.objectContaining({ kind: 'tag', name: '华东VIP' })] })]);
    // Console-made rule groups are not this app's: WeCom does not list them to it.
    expect(res.body.tree.some((n: { name: string }) => n.name === '控制台规则组')).toBe(false);
    expect(res.body.totals).toEqual({ tags: 3, limit: 3000 });
    await db.delete(visibilityRules);
  });

  it('creates a tag group in WeCom, then locally, audited, with the policy version bumped', async () => {
    await t.simCall('DELETE', '/sim/calls');
    const version = await readPolicyVersion(db);
    const group = await createGroup('购物风格', ['理性', '冲动'], { order: 5 });
    const [call] = await calls('/externalcontact/add_corp_tag');
    expect(call!.body).toEqual({ group_name: '购物风格', order: 5, tag: [{ name: '理性' }, { name: '冲动' }] });
    const inWecom = (await wecomCorpTags()).find((g) => g.group_id === group.groupId);
    expect(inWecom?.tag.map((x) => x.name).sort()).toEqual(['冲动', '理性']);
    expect(group).toMatchObject({ name: '购物风格', order: 5, folderId: null, strategyId: null });
    expect(group.tags.map((x) => x.tagId).sort()).toEqual(inWecom!.tag.map((x) => x.id).sort());
    const local = await db.select().from(tags).where(eq(tags.groupId, group.groupId));
    expect(local.map((x) => x.name).sort()).toEqual(['冲动', '理性']);
    const [entry] = await auditOf('tag_group.create');
    expect(entry).toMatchObject({ actor: 'zhuxiaoyan', subjectType: 'tag_group', subjectId: group.groupId, outcome: 'done' });
    expect(entry!.details).toMatchObject({ name: '购物风格', tags: ['理性', '冲动'] });
    expect(await readPolicyVersion(db)).toBeGreaterThan(version);
  });

  it('refuses bad names with 400 naming the character and position, before calling WeCom', async () => {
    await t.simCall('DELETE', '/sim/calls');
    const bad = await admin.post('/api/admin/tag-groups', { name: '兴趣', tags: [{ name: '好' }, { name: '户外#运动' }] });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'TAG_NAME_INVALID', field: 'tags[1].name', character: '#', position: 3, codePoint: 'U+0023' });
    expect(bad.body.error.message).toContain('"#" at position 3');
    const long = await admin.post('/api/admin/tag-groups', { name: '兴'.repeat(31), tags: [{ name: '好' }] });
    expect(long.body.error).toMatchObject({ code: 'TAG_NAME_INVALID', field: 'name', problem: 'too_long', position: 31 });
    const spaced = await admin.post('/api/admin/tag-groups', { name: '兴趣', tags: [{ name: '好 ' }] });
    expect(spaced.body.error).toMatchObject({ code: 'TAG_NAME_INVALID', problem: 'trailing_space', position: 2 });
    const control = await admin.post('/api/admin/tag-groups', { name: '兴\u0007趣', tags: [{ name: '好' }] });
    expect(control.body.error).toMatchObject({ code: 'TAG_NAME_INVALID', problem: 'control_character', codePoint: 'U+0007', position: 2 });
    const repeated = await admin.post('/api/admin/tag-groups', { name: '兴趣', tags: [{ name: '好' }, { name: '好' }] });
    expect(repeated.status).toBe(400);
    expect(repeated.body.error.message).toContain('listed more than once');
    const empty = await admin.post('/api/admin/tag-groups', { name: '兴趣', tags: [] });
    expect(empty.status).toBe(400);
    const unknownField = await admin.post('/api/admin/tag-groups', { name: '兴趣', tags: [{ name: '好' }], colour: 'red' });
    expect(unknownField.status).toBe(400);
    expect(await calls('/externalcontact/add_corp_tag')).toEqual([]);
  });

  it('applies the configured forbidden set', async () => {
    const saved = await admin.request('PUT', '/api/admin/tag-name-rules', { forbiddenCharacters: ['@'] });
    expect(saved.body).toEqual({ maxLength: 30, forbiddenCharacters: ['@'] });
    const refused = await admin.post('/api/admin/tag-groups', { name: '门店@上海', tags: [{ name: '好' }] });
    expect(refused.body.error).toMatchObject({ code: 'TAG_NAME_INVALID', character: '@', position: 3 });
    expect((await admin.request('PUT', '/api/admin/tag-name-rules', { forbiddenCharacters: ['ab'] })).status).toBe(400);
    const restored = await admin.request('PUT', '/api/admin/tag-name-rules', { forbiddenCharacters: ['#', '<', '>', '"', "'", '`', '&', '|', '\\', '/', ';', ','] });
    expect(restored.status).toBe(200);
    expect((await admin.get('/api/admin/tag-name-rules')).body.forbiddenCharacters).toContain('#');
    expect(await auditOf('tag_name_rules.update')).toHaveLength(2);
  });

  it('refuses names already used: a group name among groups, a tag name within its group (409)', async () => {
    await t.simCall('DELETE', '/sim/calls');
    const sameGroup = await admin.post('/api/admin/tag-groups', { name: '客户等级', tags: [{ name: '钻石' }] });
    expect(sameGroup.status).toBe(409);
    expect(sameGroup.body.error.code).toBe('TAG_NAME_TAKEN');
    expect(sameGroup.body.error.message).toContain('客户等级');
    const sameTag = await admin.post(`/api/admin/tag-groups/${consoleTags['客户等级']}/tags`, { tags: [{ name: 'VIP' }] });
    expect(sameTag.status).toBe(409);
    expect(sameTag.body.error.message).toContain('group "客户等级"');
    // Case-sensitive, as WeCom: "vip" is another name.
    await t.simCall('DELETE', '/sim/calls');
    const lower = await admin.post(`/api/admin/tag-groups/${consoleTags['客户等级']}/tags`, { tags: [{ name: 'vip', order: 3 }] });
    expect(lower.status).toBe(201);
    expect(lower.body.tags.map((x: { name: string }) => x.name)).toContain('vip');
    expect((await calls('/externalcontact/add_corp_tag'))[0]!.body).toEqual({ group_id: consoleTags['客户等级'], tag: [{ name: 'vip', order: 3 }] });
    expect((await wecomCorpTags()).find((g) => g.group_id === consoleTags['客户等级'])!.tag.map((x) => x.name)).toContain('vip');
    expect(await auditOf('tag.create')).toEqual([expect.objectContaining({ subjectId: consoleTags['客户等级'], outcome: 'done' })]);
  });

  it('renames and reorders a group and a tag in WeCom (edit_corp_tag) and locally', async () => {
    const group = await createGroup('促销敏感度', ['高', '低']);
    await t.simCall('DELETE', '/sim/calls');
    const renamed = await patch(`/api/admin/tag-groups/${group.groupId}`, { name: '价格敏感度', order: 9 });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ groupId: group.groupId, name: '价格敏感度', order: 9 });
    const high = group.tags.find((x) => x.name === '高')!;
    const tagRenamed = await patch(`/api/admin/tags/${high.tagId}`, { name: '很高', order: 2 });
    expect(tagRenamed.body).toMatchObject({ tagId: high.tagId, name: '很高', order: 2 });
    expect((await calls('/externalcontact/edit_corp_tag')).map((c) => c.body)).toEqual([
      { id: group.groupId, name: '价格敏感度', order: 9 },
      { id: high.tagId, name: '很高', order: 2 },
    ]);
    const inWecom = (await wecomCorpTags()).find((g) => g.group_id === group.groupId)!;
    expect(inWecom).toMatchObject({ group_name: '价格敏感度', order: 9 });
    expect(inWecom.tag.find((x) => x.id === high.tagId)).toMatchObject({ name: '很高', order: 2 });
    expect((await db.select().from(tagGroups).where(eq(tagGroups.groupId, group.groupId)))[0]).toMatchObject({ name: '价格敏感度', order: 9 });
    expect((await db.select().from(tags).where(eq(tags.tagId, high.tagId)))[0]).toMatchObject({ name: '很高', order: 2 });
    const [groupAudit] = await auditOf('tag_group.update');
    expect(groupAudit!.details).toMatchObject({ before: { name: '促销敏感度' }, after: { name: '价格敏感度', order: 9 } });
    expect(await auditOf('tag.update')).toHaveLength(1);
    // A rename that clashes with a sibling is refused locally; a no-op body is refused.
    expect((await patch(`/api/admin/tags/${high.tagId}`, { name: '低' })).body.error.code).toBe('TAG_NAME_TAKEN');
    expect((await patch(`/api/admin/tag-groups/${group.groupId}`, { name: '客户等级' })).status).toBe(409);
    expect((await patch(`/api/admin/tags/${high.tagId}`, {})).status).toBe(400);
    expect((await patch(`/api/admin/tags/${high.tagId}`, { name: '很#高' })).body.error).toMatchObject({ code: 'TAG_NAME_INVALID', character: '#', position: 2 });
    expect((await patch('/api/admin/tags/no-such-tag', { name: 'x' })).status).toBe(404);
  });

  it('deletes a tag in WeCom and locally, taking it off customers; the last tag takes its group along', async () => {
    const group = await createGroup('复购频次', ['月度', '季度']);
    const [monthly, quarterly] = [group.tags.find((x) => x.name === '月度')!, group.tags.find((x) => x.name === '季度')!];
    // A member tags a customer in the WeCom client; the callback brings it here.
    await t.simCall('POST', '/sim/customers/edit-tags', { userid: 'wangfang', external_userid: 'wmCustomerA', add: [monthly.tagId] });
    await inboxSettled();
    const onRelation = async (tagId: string) => (await db.select().from(relationTags).where(eq(relationTags.tagId, tagId))).length;
    expect(await onRelation(monthly.tagId)).toBe(1);
    await t.simCall('DELETE', '/sim/calls');
    const version = await readPolicyVersion(db);
    const res = await del(`/api/admin/tags/${monthly.tagId}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ tagIds: [monthly.tagId], groupsDeleted: [], relationsUntagged: 1, alreadyDeletedInWecom: false });
    expect((await calls('/externalcontact/del_corp_tag'))[0]!.body).toEqual({ tag_id: [monthly.tagId] });
    const simCustomer = await t.simCall<{ follow_user: { userid: string; tags: { tag_id?: string; id?: string }[] }[] }>('GET', '/sim/customers/wmCustomerA');
    expect(JSON.stringify(simCustomer.follow_user)).not.toContain(monthly.tagId);
    expect(await onRelation(monthly.tagId)).toBe(0);
    expect((await db.select().from(tags).where(eq(tags.tagId, monthly.tagId)))[0]!.deletedAt).not.toBeNull();
    expect(await readPolicyVersion(db)).toBeGreaterThan(version);
    expect((await auditOf('tag.delete')).at(-1)).toMatchObject({ subjectId: monthly.tagId, outcome: 'done', details: expect.objectContaining({ name: '月度', relationsUntagged: 1 }) });

    const last = await del(`/api/admin/tags/${quarterly.tagId}`);
    expect(last.body).toMatchObject({ tagIds: [quarterly.tagId], groupsDeleted: [group.groupId] });
    expect((await db.select().from(tagGroups).where(eq(tagGroups.groupId, group.groupId)))[0]!.deletedAt).not.toBeNull();
    expect((await wecomCorpTags()).some((g) => g.group_id === group.groupId)).toBe(false);
    expect((await del(`/api/admin/tags/${quarterly.tagId}`)).status).toBe(404);
  });

  it('deletes a whole group in WeCom and locally', async () => {
    const group = await createGroup('投诉记录', ['物流', '质量']);
    await setRule('tag', group.tags[0]!.tagId, grants({ departments: [2] }));
    await t.simCall('DELETE', '/sim/calls');
    const res = await del(`/api/admin/tag-groups/${group.groupId}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ groupsDeleted: [group.groupId], rulesRemoved: 1 });
    expect(res.body.tagIds.sort()).toEqual(group.tags.map((x) => x.tagId).sort());
    expect((await calls('/externalcontact/del_corp_tag'))[0]!.body).toEqual({ group_id: [group.groupId] });
    expect((await db.select().from(tags).where(and(eq(tags.groupId, group.groupId), sql`${tags.deletedAt} is null`)))).toEqual([]);
    expect(await db.select().from(visibilityRules).where(eq(visibilityRules.nodeId, group.tags[0]!.tagId))).toEqual([]);
    expect((await auditOf('tag_group.delete')).at(-1)).toMatchObject({ subjectId: group.groupId, outcome: 'done' });
  });

  it('maps WeCom refusals: console-made tags (60011) → 409 WECOM_NOT_OWNED, audited as failed, nothing changed', async () => {
    const res = await del(`/api/admin/tags/${consoleTags['客户等级/VIP']}`);
    expect(res.status).toBe(409);
    expect(res.body.error).toMatchObject({ code: 'WECOM_NOT_OWNED', errcode: 60011 });
    expect(res.body.error.message).toContain('not created by this app');
    expect((await db.select().from(tags).where(eq(tags.tagId, consoleTags['客户等级/VIP']!)))[0]!.deletedAt).toBeNull();
    expect((await db.select().from(relationTags).where(eq(relationTags.tagId, consoleTags['客户等级/VIP']!)))).toHaveLength(1);
    expect((await auditOf('tag.delete')).at(-1)).toMatchObject({ subjectId: consoleTags['客户等级/VIP'], outcome: 'failed', details: expect.objectContaining({ errcode: 60011 }) });
    const rename = await patch(`/api/admin/tag-groups/${consoleTags['客户等级']}`, { name: '会员等级' });
    expect(rename.body.error.code).toBe('WECOM_NOT_OWNED');
    expect((await db.select().from(tagGroups).where(eq(tagGroups.groupId, consoleTags['客户等级']!)))[0]!.name).toBe('客户等级');
  });

  it('maps the tag cap (40126) to 409 and WeCom outages to 502, changing nothing locally', async () => {
    const before = (await db.select({ n: sql<number>`count(*)::int` }).from(tagGroups))[0]!.n;
    await t.simCall('POST', '/sim/faults', { path: '/cgi-bin/externalcontact/add_corp_tag', errcode: 40126 });
    const capped = await admin.post('/api/admin/tag-groups', { name: '兴趣偏好', tags: [{ name: '户外' }] });
    expect(capped.status).toBe(409);
    expect(capped.body.error).toMatchObject({ code: 'TAG_LIMIT_REACHED', errcode: 40126 });
    expect(capped.body.error.message).toContain('3000');
    await t.simCall('POST', '/sim/faults', { path: '/cgi-bin/externalcontact/add_corp_tag', errcode: -1, count: 5 });
    const busy = await admin.post('/api/admin/tag-groups', { name: '兴趣偏好', tags: [{ name: '户外' }] });
    expect(busy.status).toBe(502);
    expect(busy.body.error.code).toBe('WECOM_ERROR');
    await t.simCall('DELETE', '/sim/faults');
    expect((await db.select({ n: sql<number>`count(*)::int` }).from(tagGroups))[0]!.n).toBe(before);
    expect((await auditOf('tag_group.create')).filter((e) => e.outcome === 'failed')).toHaveLength(2);
  });

  it('a tag deleted in the console before its callback arrived: edit → 409 and the mirror is corrected; delete → done', async () => {
    const group = await createGroup('季节', ['春', '夏', '秋']);
    const [spring, summer] = [group.tags.find((x) => x.name === '春')!, group.tags.find((x) => x.name === '夏')!];
    const config = t.product.ctx.config.wecom;
    await t.simCall('DELETE', '/sim/callback');
    try {
      await t.simCall('POST', '/sim/admin/tags', { action: 'delete', tag_id: [spring.tagId, summer.tagId] });
      const edit = await patch(`/api/admin/tags/${spring.tagId}`, { name: '初春' });
      expect(edit.status).toBe(409);
      expect(edit.body.error).toMatchObject({ code: 'WECOM_NOT_FOUND', errcode: 40068 });
      expect((await db.select().from(tags).where(eq(tags.tagId, spring.tagId)))[0]!.deletedAt).not.toBeNull();
      const removal = await del(`/api/admin/tags/${summer.tagId}`);
      expect(removal.status).toBe(200);
      expect(removal.body).toMatchObject({ tagIds: [summer.tagId], alreadyDeletedInWecom: true });
    } finally {
      await t.simCall('POST', '/sim/callback', { url: `${t.url}/wecom/callback`, token: config.callbackToken, aesKey: config.callbackAesKey });
    }
  });

  it('refuses corp endpoints for rule-group tags (404 pointing to the right endpoint)', async () => {
    const [east] = await db.select().from(tags).where(eq(tags.name, '华东VIP'));
    const res = await patch(`/api/admin/tags/${east!.tagId}`, { name: 'x' });
    expect(res.status).toBe(404);
    expect(res.body.error.message).toContain('/api/admin/rule-group-tags/');
  });

  describe('folders', () => {
    it('creates, nests, renames and reorders folders; sibling names are unique', async () => {
      const brand = await createFolder('品牌忠诚度');
      const inner = await createFolder('复购', brand.id);
      expect(inner.parentId).toBe(brand.id);
      expect((await admin.post('/api/admin/tag-folders', { name: '复购', parentId: brand.id })).body.error.code).toBe('TAG_NAME_TAKEN');
      expect((await admin.post('/api/admin/tag-folders', { name: '复购' })).status).toBe(201);
      expect((await admin.post('/api/admin/tag-folders', { name: '复;购' })).body.error).toMatchObject({ code: 'TAG_NAME_INVALID', character: ';', position: 2 });
      expect((await admin.post('/api/admin/tag-folders', { name: 'x', parentId: 999999 })).status).toBe(404);
      const renamed = await patch(`/api/admin/tag-folders/${inner.id}`, { name: '复购频次', order: 7 });
      expect(renamed.body).toMatchObject({ id: inner.id, name: '复购频次', order: 7, parentId: brand.id });
      const group = await createGroup('购买渠道', ['线上', '线下'], { folderId: inner.id });
      expect(group.folderId).toBe(inner.id);
      expect((await calls('/externalcontact/add_corp_tag')).at(-1)!.body).not.toHaveProperty('folderId');
      const tree = (await admin.get('/api/admin/tag-library')).body.tree;
      const brandNode = tree.find((n: { kind: string; id: number }) => n.kind === 'folder' && n.id === brand.id);
      expect(brandNode.children[0]).toMatchObject({ kind: 'folder', id: inner.id, name: '复购频次', order: 7 });
      expect(brandNode.children[0].children[0]).toMatchObject({ kind: 'group', id: group.groupId, name: '购买渠道' });
      expect(await auditOf('tag_folder.create')).toHaveLength(3);
    });

    it('refuses a cycle, naming the loop', async () => {
      const a = await createFolder('甲层');
      const b = await createFolder('乙层', a.id);
      const c = await createFolder('丙层', b.id);
      const res = await patch(`/api/admin/tag-folders/${a.id}`, { parentId: c.id });
      expect(res.status).toBe(409);
      expect(res.body.error.code).toBe('FOLDER_CYCLE');
      expect(res.body.error.message).toContain('"甲层" → "乙层" → "丙层" → "甲层"');
      expect((await patch(`/api/admin/tag-folders/${a.id}`, { parentId: a.id })).body.error.message).toContain('itself');
      expect((await db.select().from(tagFolders).where(eq(tagFolders.id, a.id)))[0]!.parentId).toBeNull();
    });

    it('deletes a folder only when empty, with its rule', async () => {
      const full = await createFolder('非空');
      const child = await createFolder('子', full.id);
      const refused = await del(`/api/admin/tag-folders/${full.id}`);
      expect(refused.status).toBe(409);
      expect(refused.body.error).toMatchObject({ code: 'FOLDER_NOT_EMPTY', folders: 1, groups: 0 });
      expect(refused.body.error.message).toContain('folder "子"');
      await setRule('folder', child.id, grants({ departments: [2] }));
      expect((await del(`/api/admin/tag-folders/${child.id}`)).status).toBe(200);
      expect(await db.select().from(visibilityRules).where(and(eq(visibilityRules.nodeType, 'folder'), eq(visibilityRules.nodeId, String(child.id))))).toEqual([]);
      expect((await del(`/api/admin/tag-folders/${full.id}`)).status).toBe(200);
      expect((await del(`/api/admin/tag-folders/${full.id}`)).status).toBe(404);
      expect((await auditOf('tag_folder.delete')).at(-1)).toMatchObject({ subjectId: String(full.id), outcome: 'done' });
    });

    it('refuses a move that would put a wider rule under a narrower parent, naming the rule', async () => {
      const east = await createFolder('华东专用');
      await setRule('folder', east.id, grants({ departments: [2] }));
      const south = await createGroup('华南活动', ['南1']);
      await setRule('group', south.groupId, grants({ departments: [3] }));
      const res = await patch(`/api/admin/tag-groups/${south.groupId}`, { folderId: east.id });
      expect(res.status).toBe(409);
      expect(res.body.error.code).toBe('VISIBILITY_WIDENED');
      expect(res.body.error.message).toContain('the rule on group "华南活动" would be wider than its parent folder "华东专用" (see): department 华南大区');
      expect((await db.select().from(tagGroups).where(eq(tagGroups.groupId, south.groupId)))[0]!.folderId).toBeNull();
      expect((await auditOf('tag_group.move')).at(-1)).toMatchObject({ outcome: 'denied', subjectId: south.groupId });

      // A narrower rule (上海 inside 华东) moves in fine.
      const shanghai = await createGroup('上海活动', ['沪1']);
      await setRule('group', shanghai.groupId, grants({ departments: [4] }));
      const ok = await patch(`/api/admin/tag-groups/${shanghai.groupId}`, { folderId: east.id });
      expect(ok.status).toBe(200);
      expect(ok.body).toMatchObject({ folderId: east.id, widened: [] });

      // Same for folders: a folder whose descendant group has a wider rule.
      const wide = await createFolder('全国');
      const national = await createGroup('全国活动', ['国1'], { folderId: wide.id });
      await setRule('group', national.groupId, grants({ departments: [1] }));
      const folderMove = await patch(`/api/admin/tag-folders/${wide.id}`, { parentId: east.id });
      expect(folderMove.status).toBe(409);
      expect(folderMove.body.error.message).toContain('the rule on group "全国活动" would be wider than its parent folder "华东专用" (see): department 总部');
      expect((await db.select().from(tagFolders).where(eq(tagFolders.id, wide.id)))[0]!.parentId).toBeNull();
    });

    it('refuses a move out of a restricted folder unless the widening is acknowledged', async () => {
      const restricted = await createFolder('仅华东');
      await setRule('folder', restricted.id, grants({ departments: [2] }));
      const group = await createGroup('华东会员', ['金卡'], { folderId: restricted.id });
      const out = await patch(`/api/admin/tag-groups/${group.groupId}`, { folderId: null });
      expect(out.status).toBe(409);
      expect(out.body.error.code).toBe('VISIBILITY_WIDENED');
      expect(out.body.error.message).toContain('the rule on folder "仅华东" (see: department 华东大区) would no longer limit who sees group "华东会员"');
      expect(out.body.error.message).toContain('acknowledgeWidening');
      const acknowledged = await patch(`/api/admin/tag-groups/${group.groupId}`, { folderId: null, acknowledgeWidening: true });
      expect(acknowledged.status).toBe(200);
      expect(acknowledged.body.folderId).toBeNull();
      expect(acknowledged.body.widened).toHaveLength(1);
      expect((await auditOf('tag_group.update')).at(-1)!.details).toMatchObject({ widened: [expect.stringContaining('仅华东')] });
      // Moving out is fine when the group's own rule is at least as narrow.
      const narrow = await createGroup('华东内部', ['内1'], { folderId: restricted.id });
      await setRule('group', narrow.groupId, grants({ departments: [4] }));
      expect((await patch(`/api/admin/tag-groups/${narrow.groupId}`, { folderId: null })).status).toBe(200);
    });
  });

  describe('rule groups', () => {
    let created: { strategyId: number; name: string };

    it('lists this app\'s rule groups with ranges and tags', async () => {
      const res = await admin.get('/api/admin/rule-groups');
      expect(res.status).toBe(200);
      expect(res.body.ruleGroups).toEqual([expect.objectContaining({
        name: '华东规则组', parentId: null, range: { users: [], departments: [2] },
        groups: [expect.objectContaining({ name: '华东专属', tags: [expect.objectContaining({ name: '华东VIP' })] })],
      })]);
    });

    it('creates a rule group in WeCom (customer_strategy/create), then locally', async () => {
      await t.simCall('DELETE', '/sim/calls');
      const version = await readPolicyVersion(db);
      const res = await admin.post('/api/admin/rule-groups', { name: '华南规则组', adminList: ['zhuxiaoyan'], range: { users: ['lihua'], departments: [3] } });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      created = res.body;
      expect(res.body).toMatchObject({ name: '华南规则组', range: { users: ['lihua'], departments: [3] }, groups: [] });
      expect((await calls('/externalcontact/customer_strategy/create'))[0]!.body).toEqual({
        strategy_name: '华南规则组', admin_list: ['zhuxiaoyan'], range: [{ type: 1, userid: 'lihua' }, { type: 2, partyid: 3 }],
      });
      const live = await admin.get(`/api/admin/rule-groups/${created.strategyId}`);
      expect(live.body).toMatchObject({ name: '华南规则组', adminList: ['zhuxiaoyan'] });
      expect((await db.select().from(strategyRanges).where(eq(strategyRanges.strategyId, created.strategyId))).map((r) => r.rangeKey).sort()).toEqual(['d:3', 'u:lihua']);
      expect(await auditOf('rule_group.create')).toEqual([expect.objectContaining({ subjectId: String(created.strategyId), outcome: 'done' })]);
      expect(await readPolicyVersion(db)).toBeGreaterThan(version);
    });

    it('refuses unknown members or departments and bad names before calling WeCom', async () => {
      await t.simCall('DELETE', '/sim/calls');
      const unknown = await admin.post('/api/admin/rule-groups', { name: '未知', range: { users: ['nobody'], departments: [99] } });
      expect(unknown.status).toBe(400);
      expect(unknown.body.error.message).toContain('member nobody');
      expect(unknown.body.error.message).toContain('department 99');
      expect((await admin.post('/api/admin/rule-groups', { name: '空', range: {} })).status).toBe(400);
      expect((await admin.post('/api/admin/rule-groups', { name: '规则<组>', range: { users: ['lihua'] } })).body.error).toMatchObject({ code: 'TAG_NAME_INVALID', character: '<', position: 3 });
      expect((await admin.post('/api/admin/rule-groups', { name: '华南规则组', range: { users: ['lihua'] } })).status).toBe(409);
      expect(await calls('/externalcontact/customer_strategy/create')).toEqual([]);
    });

    it('renames and changes the range in WeCom (customer_strategy/edit), then locally', async () => {
      await t.simCall('DELETE', '/sim/calls');
      const res = await patch(`/api/admin/rule-groups/${created.strategyId}`, { name: '华南二组', rangeAdd: { users: ['zhaolei'] }, rangeDel: { users: ['lihua'] }, adminList: ['zhuxiaoyan', 'wangfang'] });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body).toMatchObject({ name: '华南二组', range: { users: ['zhaolei'], departments: [3] } });
      expect((await calls('/externalcontact/customer_strategy/edit'))[0]!.body).toEqual({
        strategy_id: created.strategyId, strategy_name: '华南二组', admin_list: ['zhuxiaoyan', 'wangfang'],
        range_add: [{ type: 1, userid: 'zhaolei' }], range_del: [{ type: 1, userid: 'lihua' }],
      });
      const range = await t.product.ctx.wecom.getStrategyRange(created.strategyId);
      expect(range).toEqual(expect.arrayContaining([{ type: 2, partyid: 3 }, { type: 1, userid: 'zhaolei' }]));
      expect(range).toHaveLength(2);
      expect((await patch(`/api/admin/rule-groups/${created.strategyId}`, { rangeDel: { users: ['lihua'] } })).status).toBe(400);
      expect((await patch(`/api/admin/rule-groups/${created.strategyId}`, { rangeDel: { users: ['zhaolei'], departments: [3] } })).body.error.message).toContain('empty range');
      expect((await patch('/api/admin/rule-groups/424242', { name: 'x' })).status).toBe(404);
      expect((await auditOf('rule_group.update')).at(-1)).toMatchObject({ outcome: 'done', subjectId: String(created.strategyId) });
    });

    it('manages rule-group tags through add/edit/del_strategy_tag', async () => {
      await t.simCall('DELETE', '/sim/calls');
      const added = await admin.post(`/api/admin/rule-groups/${created.strategyId}/tag-groups`, { name: '华南专属', tags: [{ name: '华南VIP' }, { name: '华南普通' }] });
      expect(added.status, JSON.stringify(added.body)).toBe(201);
      expect(added.body).toMatchObject({ name: '华南专属', strategyId: created.strategyId });
      expect((await calls('/externalcontact/add_strategy_tag'))[0]!.body).toEqual({ strategy_id: created.strategyId, group_name: '华南专属', tag: [{ name: '华南VIP' }, { name: '华南普通' }] });
      const inWecom = (await t.product.ctx.wecom.getStrategyTagList({ strategyId: created.strategyId })).tag_group;
      expect(inWecom.map((g) => g.group_name)).toEqual(['华南专属']);
      const groupId = added.body.groupId as string;
      const vip = added.body.tags.find((x: { name: string }) => x.name === '华南VIP').tagId as string;
      const normal = added.body.tags.find((x: { name: string }) => x.name === '华南普通').tagId as string;

      const more = await admin.post(`/api/admin/rule-groups/${created.strategyId}/tag-groups`, { groupId, tags: [{ name: '华南银卡' }] });
      expect(more.body.tags).toHaveLength(3);
      expect((await admin.post(`/api/admin/rule-groups/${created.strategyId}/tag-groups`, { name: '华南专属', tags: [{ name: 'x' }] })).status).toBe(409);
      expect((await admin.post(`/api/admin/rule-groups/${created.strategyId}/tag-groups`, { groupId, tags: [{ name: '华南VIP' }] })).status).toBe(409);

      expect((await patch(`/api/admin/rule-group-tags/${vip}`, { name: '华南金卡', order: 4 })).body).toMatchObject({ id: vip, kind: 'tag', name: '华南金卡', order: 4 });
      expect((await patch(`/api/admin/rule-group-tags/${groupId}`, { name: '华南会员' })).body).toMatchObject({ id: groupId, kind: 'group', name: '华南会员' });
      expect((await calls('/externalcontact/edit_strategy_tag')).map((c) => c.body)).toEqual([{ id: vip, name: '华南金卡', order: 4 }, { id: groupId, name: '华南会员' }]);
      expect((await db.select().from(tagGroups).where(eq(tagGroups.groupId, groupId)))[0]).toMatchObject({ name: '华南会员', strategyId: created.strategyId });

      const removed = await del(`/api/admin/rule-group-tags/${normal}`);
      expect(removed.body).toMatchObject({ tagIds: [normal], groupsDeleted: [] });
      expect((await calls('/externalcontact/del_strategy_tag'))[0]!.body).toEqual({ tag_id: [normal] });
      const tree = (await admin.get('/api/admin/tag-library')).body.tree;
      const node = tree.find((n: { kind: string; id: number }) => n.kind === 'rule_group' && n.id === created.strategyId);
      expect(node.children[0].children.map((x: { name: string }) => x.name).sort()).toEqual(['华南金卡', '华南银卡']);
      expect(await auditOf('rule_group_tag.create')).toHaveLength(2);
      expect((await patch(`/api/admin/rule-group-tags/${consoleTags['客户等级/VIP']}`, { name: 'x' })).status).toBe(404);
    });

    it('serialises concurrent creates (WeCom forbids concurrent create/edit): every one succeeds', async () => {
      const results = await Promise.all(['并发一', '并发二', '并发三', '并发四'].map((name) => admin.post('/api/admin/rule-groups', { name, range: { departments: [2] } })));
      expect(results.map((r) => r.status)).toEqual([201, 201, 201, 201]);
      expect(new Set(results.map((r) => r.body.strategyId)).size).toBe(4);
      const local = await db.select().from(strategies).where(sql`${strategies.name} like '并发%'`);
      expect(local).toHaveLength(4);
    });

    it('deletes a rule group in WeCom and locally, with its tags', async () => {
      await t.simCall('DELETE', '/sim/calls');
      const res = await del(`/api/admin/rule-groups/${created.strategyId}`);
      expect(res.status).toBe(200);
      expect(res.body.tagIds).toHaveLength(2);
      expect((await calls('/externalcontact/customer_strategy/del'))[0]!.body).toEqual({ strategy_id: created.strategyId });
      expect((await t.product.ctx.wecom.listStrategies()).map((s) => s.strategy_id)).not.toContain(created.strategyId);
      expect((await db.select().from(strategies).where(eq(strategies.strategyId, created.strategyId)))[0]!.deletedAt).not.toBeNull();
      expect(await db.select().from(tags).where(and(eq(tags.strategyId, created.strategyId), sql`${tags.deletedAt} is null`))).toEqual([]);
      expect((await admin.get('/api/admin/rule-groups')).body.ruleGroups.map((r: { name: string }) => r.name)).not.toContain('华南二组');
      expect((await auditOf('rule_group.delete')).at(-1)).toMatchObject({ subjectId: String(created.strategyId), outcome: 'done' });
    });
  });
});
