// Corp tag library (CRUD, 40068/40071/40072/40126, ownership 60011) and mark_tag rules
// (84061, rule-group range and app ownership).
import { afterAll, beforeEach, beforeAll, describe, expect, it } from 'vitest';
import { Client, smallCompany, started } from './helpers.ts';
import type { ResetResult, RunningSimulator } from '../index.ts';

let sim: RunningSimulator;
let client: Client;
let ids: ResetResult;

beforeAll(async () => {
  ({ sim, client } = await started());
});
beforeEach(async () => {
  ids = await sim.reset(smallCompany());
});
afterAll(() => sim.close());

const tag = (group: number, index: number) => ids.tagGroups[group]!.tags[index]!.id;
const ruleTag = () => ids.strategies[0]!.tagGroups[0]!.tags[0]!.id;

describe('corp tag library', () => {
  it('lists everything, filters by group_id (wins) or tag_id, and excludes rule-group tags', async () => {
    const all = await client.api('externalcontact/get_corp_tag_list', {});
    expect(all.tag_group.map((g: { group_name: string }) => g.group_name)).toEqual(['客户等级', '行业']);
    const byTag = await client.api('externalcontact/get_corp_tag_list', { tag_id: [tag(1, 1)] });
    expect(byTag.tag_group).toMatchObject([{ group_name: '行业', tag: [{ name: '金融', deleted: false }] }]);
    const byGroup = await client.api('externalcontact/get_corp_tag_list', { tag_id: [tag(1, 1)], group_id: [ids.tagGroups[0]!.group_id] });
    expect(byGroup.tag_group[0].tag).toHaveLength(2);
  });

  it('adds groups and tags, and edits and deletes only what the app created', async () => {
    const created = await client.api('externalcontact/add_corp_tag', { group_name: '渠道', order: 5, tag: [{ name: '直播' }, { name: '门店', order: 2 }, { name: '直播' }] });
    expect(created.errcode).toBe(0);
    expect(created.tag_group).toMatchObject({ group_id: expect.stringMatching(/^et/), group_name: '渠道', order: 5, tag: [{ name: '直播' }, { name: '门店', order: 2 }] });
    const into = await client.api('externalcontact/add_corp_tag', { group_id: ids.tagGroups[0]!.group_id, tag: [{ name: '钻石' }] });
    expect(into.tag_group.tag).toHaveLength(1);
    expect((await client.api('externalcontact/edit_corp_tag', { id: into.tag_group.tag[0].id, name: '钻石VIP' })).errcode).toBe(0);
    // Console-created tags and groups (from the fixture) are not the app's.
    expect((await client.api('externalcontact/edit_corp_tag', { id: tag(0, 0), name: 'x' })).errcode).toBe(60011);
    expect((await client.api('externalcontact/edit_corp_tag', { id: ids.tagGroups[0]!.group_id, name: 'x' })).errcode).toBe(60011);
    expect((await client.api('externalcontact/del_corp_tag', { tag_id: [tag(0, 0)] })).errcode).toBe(60011);
    expect((await client.api('externalcontact/edit_corp_tag', { id: created.tag_group.group_id, name: '来源渠道' })).errcode).toBe(0);
    const direct = created.tag_group.tag[0].id;
    expect((await client.api('externalcontact/del_corp_tag', { tag_id: [direct] })).errcode).toBe(0);
    expect((await client.api('externalcontact/del_corp_tag', { tag_id: [created.tag_group.tag[1].id] })).errcode).toBe(0);
    // Deleting the last tag deleted the group; querying by id shows deleted:true.
    const byId = await client.api('externalcontact/get_corp_tag_list', { group_id: [created.tag_group.group_id] });
    expect(byId.tag_group[0]).toMatchObject({ group_name: '来源渠道', deleted: true });
    expect((await client.api('externalcontact/get_corp_tag_list', {})).tag_group).toHaveLength(2);
  });

  it('enforces names (40072, 40071), known ids (40068) and non-empty input', async () => {
    expect((await client.api('externalcontact/add_corp_tag', { group_name: 'x'.repeat(31), tag: [{ name: 'a' }] })).errcode).toBe(40072);
    expect((await client.api('externalcontact/add_corp_tag', { group_name: '渠道', tag: [{ name: '三十个字符'.repeat(6) + '多' }] })).errcode).toBe(40072);
    expect((await client.api('externalcontact/add_corp_tag', { group_name: '渠道', tag: [{ name: '三十个字符'.repeat(6) }] })).errcode).toBe(0);
    expect((await client.api('externalcontact/add_corp_tag', { group_name: '客户等级', tag: [{ name: 'VIP' }] })).errcode).toBe(40071);
    expect((await client.api('externalcontact/add_corp_tag', { group_id: 'etmissing', tag: [{ name: 'a' }] })).errcode).toBe(40068);
    expect((await client.api('externalcontact/add_corp_tag', { group_name: '空组', tag: [] })).errcode).toBe(40058);
    expect((await client.api('externalcontact/edit_corp_tag', { id: 'etmissing', name: 'a' })).errcode).toBe(40068);
    expect((await client.api('externalcontact/del_corp_tag', { tag_id: ['etmissing'] })).errcode).toBe(40068);
    expect((await client.api('externalcontact/del_corp_tag', {})).errcode).toBe(40058);
    // Rule-group tags are not corp tags.
    expect((await client.api('externalcontact/edit_corp_tag', { id: ruleTag(), name: 'a' })).errcode).toBe(40068);
  });

  it('caps corp + rule-group tags at 3000 (40126)', async () => {
    const names = Array.from({ length: 2994 }, (_, i) => ({ name: `t${i}` }));
    // 4 corp tags + 1 rule-group tag from the fixture + 2994 = 2999.
    expect((await client.api('externalcontact/add_corp_tag', { group_name: '大组', tag: names })).errcode).toBe(0);
    expect((await client.api('externalcontact/add_corp_tag', { group_name: '大组', tag: [{ name: 'one' }, { name: 'two' }] })).errcode).toBe(40126);
    expect((await client.api('externalcontact/add_corp_tag', { group_name: '大组', tag: [{ name: 'one' }] })).errcode).toBe(0);
    expect((await client.api('externalcontact/add_strategy_tag', { strategy_id: ids.strategies[0]!.strategy_id, group_name: 'g', tag: [{ name: 'x' }] })).errcode).toBe(40126);
  });
});

describe('mark_tag', () => {
  it('adds and removes corp tags on a real relation', async () => {
    const reply = await client.api('externalcontact/mark_tag', { userid: 'bob', external_userid: 'wmcustomer2', add_tag: [tag(0, 0), tag(1, 1)], remove_tag: [tag(0, 1)] });
    expect(reply.errcode).toBe(0);
    const { json } = await client.control('customers/wmcustomer2');
    expect(json.follow_user[0].tags.map((t: { tag_name: string }) => t.tag_name)).toEqual(['VIP', '金融']);
  });

  it('answers 40068 for unknown ids, 84061 without a relation, 60111 / 40096 for unknown people', async () => {
    expect((await client.api('externalcontact/mark_tag', { userid: 'bob', external_userid: 'wmcustomer2', add_tag: ['etnope'] })).errcode).toBe(40068);
    expect((await client.api('externalcontact/mark_tag', { userid: 'carol', external_userid: 'wmcustomer2', add_tag: [tag(0, 0)] })).errcode).toBe(84061);
    expect((await client.api('externalcontact/mark_tag', { userid: 'ghost', external_userid: 'wmcustomer2', add_tag: [tag(0, 0)] })).errcode).toBe(60111);
    expect((await client.api('externalcontact/mark_tag', { userid: 'bob', external_userid: 'wmghost', add_tag: [tag(0, 0)] })).errcode).toBe(40096);
    // A rejected call changes nothing.
    await client.api('externalcontact/mark_tag', { userid: 'bob', external_userid: 'wmcustomer2', add_tag: [tag(0, 0), 'etnope'] });
    const { json } = await client.control('customers/wmcustomer2');
    expect(json.follow_user[0].tags.map((t: { tag_name: string }) => t.tag_name)).toEqual(['普通']);
  });

  it('allows rule-group tags only for members inside the range, and only for app-created rule groups', async () => {
    expect((await client.api('externalcontact/mark_tag', { userid: 'alice', external_userid: 'wmcustomer1', remove_tag: [ruleTag()] })).errcode).toBe(0);
    expect((await client.api('externalcontact/mark_tag', { userid: 'alice', external_userid: 'wmcustomer1', add_tag: [ruleTag()] })).errcode).toBe(0);
    // bob is in 华南, outside the 华东 rule group.
    expect((await client.api('externalcontact/mark_tag', { userid: 'bob', external_userid: 'wmcustomer1', add_tag: [ruleTag()] })).errcode).toBe(60011);
    const consoleOwned = await sim.reset(smallCompany({
      strategies: [{ strategy_name: '控制台规则组', createdBy: 'console', range: [{ type: 2, partyid: 2 }], tagGroups: [{ group_name: '活动', tag: [{ name: '会员日' }] }] }],
      customers: [{ external_userid: 'wmc', name: 'c', follow_users: [{ userid: 'alice' }] }],
    }));
    const foreign = consoleOwned.strategies[0]!.tagGroups[0]!.tags[0]!.id;
    expect((await client.api('externalcontact/mark_tag', { userid: 'alice', external_userid: 'wmc', add_tag: [foreign] })).errcode).toBe(60011);
    // The member's own client may still use it (range rule only).
    expect((await client.control('customers/edit-tags', { userid: 'alice', external_userid: 'wmc', add: [foreign] })).status).toBe(200);
  });

  it('applies client rules to control edits: rule-group tags outside the range are refused', async () => {
    const refused = await client.control('customers/edit-tags', { userid: 'bob', external_userid: 'wmcustomer2', add: [ruleTag()] });
    expect(refused.status).toBe(400);
    expect(refused.json.errcode).toBe(60011);
  });

  it('rejects fixtures that put rule-group tags on followers outside the range', async () => {
    const { status, json } = await client.control('reset', smallCompany({ customers: [{ name: 'x', follow_users: [{ userid: 'bob', tags: ['会员日'] }] }] }));
    expect(status).toBe(400);
    expect(json.error).toMatch(/outside rule group/);
  });
});
