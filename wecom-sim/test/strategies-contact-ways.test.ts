// Rule groups and their tags, contact ways (qr_code, state <= 30) and welcome messages
// (single use, 20 s on the simulator clock).
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
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

describe('customer_strategy', () => {
  it('creates, reads, edits ranges and deletes rule groups the app owns', async () => {
    const created = await client.api('externalcontact/customer_strategy/create', {
      strategy_name: '华南规则组', admin_list: ['bob'], privilege: { view_customer_list: true }, range: [{ type: 1, userid: 'bob' }, { type: 2, partyid: 3 }],
    });
    expect(created).toMatchObject({ errcode: 0, strategy_id: expect.any(Number) });
    const id = created.strategy_id;
    const list = await client.api('externalcontact/customer_strategy/list', {});
    expect(list.strategy.map((s: { strategy_id: number }) => s.strategy_id)).toEqual([ids.strategies[0]!.strategy_id, id]);
    expect((await client.api('externalcontact/customer_strategy/get', { strategy_id: id })).strategy).toMatchObject({ strategy_name: '华南规则组', admin_list: ['bob'], privilege: { view_customer_list: true } });
    expect((await client.api('externalcontact/customer_strategy/edit', { strategy_id: id, strategy_name: '华南大区', range_add: [{ type: 1, userid: 'carol' }], range_del: [{ type: 2, partyid: 3 }] })).errcode).toBe(0);
    const range = await client.api('externalcontact/customer_strategy/get_range', { strategy_id: id, limit: 1 });
    expect(range.range).toEqual([{ type: 1, userid: 'bob' }]);
    const rest = await client.api('externalcontact/customer_strategy/get_range', { strategy_id: id, cursor: range.next_cursor });
    expect(rest.range).toEqual([{ type: 1, userid: 'carol' }]);
    expect(rest.next_cursor).toBeUndefined();
    expect((await client.api('externalcontact/customer_strategy/create', { strategy_name: 'x', range: [{ type: 1, userid: 'ghost' }] })).errcode).toBe(60111);
    expect((await client.api('externalcontact/customer_strategy/create', { strategy_name: 'x', range: [{ type: 2, partyid: 99 }] })).errcode).toBe(60123);
    expect((await client.api('externalcontact/customer_strategy/del', { strategy_id: id })).errcode).toBe(0);
    expect((await client.api('externalcontact/customer_strategy/get', { strategy_id: id })).errcode).toBe(40058);
  });

  it('hides and protects rule groups created in the console (60011)', async () => {
    const reset = await sim.reset(smallCompany({ strategies: [{ strategy_name: '控制台', createdBy: 'console', range: [{ type: 2, partyid: 1 }] }], customers: [] }));
    const id = reset.strategies[0]!.strategy_id;
    expect((await client.api('externalcontact/customer_strategy/list', {})).strategy).toEqual([]);
    expect((await client.api('externalcontact/customer_strategy/get', { strategy_id: id })).errcode).toBe(60011);
    expect((await client.api('externalcontact/customer_strategy/del', { strategy_id: id })).errcode).toBe(60011);
  });

  it('manages rule-group tags, which usage then follows the range', async () => {
    const strategyId = ids.strategies[0]!.strategy_id;
    const listed = await client.api('externalcontact/get_strategy_tag_list', { strategy_id: strategyId });
    expect(listed.tag_group).toMatchObject([{ group_name: '华东活动', strategy_id: strategyId, tag: [{ name: '会员日' }] }]);
    const added = await client.api('externalcontact/add_strategy_tag', { strategy_id: strategyId, group_name: '华东等级', tag: [{ name: '金卡' }, { name: '银卡' }] });
    expect(added.tag_group).toMatchObject({ strategy_id: strategyId, group_name: '华东等级', tag: [{ name: '金卡' }, { name: '银卡' }] });
    const gold = added.tag_group.tag[0].id;
    expect((await client.api('externalcontact/edit_strategy_tag', { id: gold, name: '黑金卡' })).errcode).toBe(0);
    expect((await client.api('externalcontact/edit_strategy_tag', { id: gold, name: 'x'.repeat(31) })).errcode).toBe(40072);
    expect((await client.api('externalcontact/mark_tag', { userid: 'alice', external_userid: 'wmcustomer1', add_tag: [gold] })).errcode).toBe(0);
    expect((await client.api('externalcontact/get', undefined, { external_userid: 'wmcustomer1' })).follow_user[0].tags).toContainEqual({ group_name: '华东等级', tag_name: '黑金卡', tag_id: gold, type: 3 });
    expect((await client.api('externalcontact/get_corp_tag_list', {})).tag_group.map((g: { group_name: string }) => g.group_name)).not.toContain('华东等级');
    expect((await client.api('externalcontact/del_strategy_tag', { group_id: [added.tag_group.group_id] })).errcode).toBe(0);
    expect((await client.api('externalcontact/get', undefined, { external_userid: 'wmcustomer1' })).follow_user[0].tags.map((t: { tag_id?: string }) => t.tag_id)).not.toContain(gold);
    expect((await client.api('externalcontact/del_strategy_tag', { tag_id: [ids.tagGroups[0]!.tags[0]!.id] })).errcode).toBe(40068);
  });
});

describe('contact ways', () => {
  it('adds, reads, lists, updates and deletes, with a qr_code served by the simulator', async () => {
    const added = await client.api('externalcontact/add_contact_way', { type: 2, scene: 2, remark: '门店码', state: 'shop_sh_02', user: ['alice', 'carol'], party: [3] });
    expect(added).toMatchObject({ errcode: 0, config_id: expect.stringMatching(/^[0-9a-f]{32}$/), qr_code: `${sim.url}/sim/qr/${added.config_id}` });
    const qr = await fetch(added.qr_code);
    expect(qr.headers.get('content-type')).toMatch(/image\/svg\+xml/);
    expect(await qr.text()).toContain('<svg');
    const got = await client.api('externalcontact/get_contact_way', { config_id: added.config_id });
    expect(got.contact_way).toMatchObject({ config_id: added.config_id, type: 2, scene: 2, state: 'shop_sh_02', user: ['alice', 'carol'], party: [3], skip_verify: true });
    const listed = await client.api('externalcontact/list_contact_way', {});
    expect(listed.contact_way.map((w: { config_id: string }) => w.config_id)).toContain(added.config_id);
    expect((await client.api('externalcontact/update_contact_way', { config_id: added.config_id, user: ['bob'], state: 'shop_gz_01' })).errcode).toBe(0);
    expect((await client.api('externalcontact/get_contact_way', { config_id: added.config_id })).contact_way).toMatchObject({ user: ['bob'], state: 'shop_gz_01' });
    expect((await client.api('externalcontact/del_contact_way', { config_id: added.config_id })).errcode).toBe(0);
    expect((await client.api('externalcontact/get_contact_way', { config_id: added.config_id })).errcode).toBe(41044);
  });

  it('validates type, scene, state length, members and config_id', async () => {
    expect((await client.api('externalcontact/add_contact_way', { scene: 2, user: ['alice'] })).errcode).toBe(41037);
    expect((await client.api('externalcontact/add_contact_way', { type: 1, user: ['alice'] })).errcode).toBe(41038);
    expect((await client.api('externalcontact/add_contact_way', { type: 3, scene: 2, user: ['alice'] })).errcode).toBe(41039);
    expect((await client.api('externalcontact/add_contact_way', { type: 1, scene: 5, user: ['alice'] })).errcode).toBe(41040);
    expect((await client.api('externalcontact/add_contact_way', { type: 1, scene: 2, user: ['alice'], state: 's'.repeat(31) })).errcode).toBe(40058);
    expect((await client.api('externalcontact/add_contact_way', { type: 1, scene: 2, user: ['alice'], state: 's'.repeat(30) })).errcode).toBe(0);
    expect((await client.api('externalcontact/add_contact_way', { type: 1, scene: 2, user: ['alice', 'bob'] })).errcode).toBe(40058);
    expect((await client.api('externalcontact/add_contact_way', { type: 1, scene: 2, user: ['ghost'] })).errcode).toBe(60111);
    expect((await client.api('externalcontact/add_contact_way', { type: 1, scene: 1, user: ['alice'] })).qr_code).toBeUndefined();
    expect((await client.api('externalcontact/get_contact_way', {})).errcode).toBe(41043);
  });
});

describe('welcome messages', () => {
  it('accepts a welcome_code once (41051 after) and records the message', async () => {
    const { welcome_code } = await client.ok('customers/add', { userid: 'carol', name: '新客' });
    const reply = await client.api('externalcontact/send_welcome_msg', { welcome_code, text: { content: '欢迎光临' } });
    expect(reply.errcode).toBe(0);
    expect((await client.api('externalcontact/send_welcome_msg', { welcome_code, text: { content: '欢迎光临' } })).errcode).toBe(41051);
    const { json } = await client.control('messages?kind=welcome');
    expect(json.messages).toMatchObject([{ kind: 'welcome', body: { userid: 'carol', text: { content: '欢迎光临' } } }]);
  });

  it('expires a welcome_code after 20 s of simulator time (41050)', async () => {
    const { welcome_code } = await client.ok('customers/add', { userid: 'carol' });
    await client.ok('clock/advance', { seconds: 21 });
    expect((await client.api('externalcontact/send_welcome_msg', { welcome_code, text: { content: 'hi' } })).errcode).toBe(41050);
    expect((await client.api('externalcontact/send_welcome_msg', { text: { content: 'hi' } })).errcode).toBe(41049);
    expect((await client.api('externalcontact/send_welcome_msg', { welcome_code: 'bogus', text: { content: 'hi' } })).errcode).toBe(41050);
  });

  it('gives no welcome_code when the admin configured a welcome message', async () => {
    const added = await client.ok('customers/add', { userid: 'carol', welcome_code: false });
    expect(added.welcome_code).toBeUndefined();
  });
});
