// Customer reads (get with follower paging, batch/get_by_user paging, list), remark, and the
// control API's customer actions and GET /sim/customers/:id.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, CORP_ID, SECRET, smallCompany, started } from './helpers.ts';
import type { RunningSimulator } from '../index.ts';

let sim: RunningSimulator;
let client: Client;

beforeAll(async () => {
  ({ sim, client } = await started());
});
afterAll(() => sim.close());

describe('externalcontact/get', () => {
  it('returns the customer with corp (1), personal (2) and rule-group (3) tags', async () => {
    const reply = await client.api('externalcontact/get', undefined, { external_userid: 'wmcustomer1' });
    expect(reply.errcode).toBe(0);
    expect(reply.external_contact).toMatchObject({ external_userid: 'wmcustomer1', name: '客户一', type: 1 });
    expect(reply.next_cursor).toBeUndefined();
    const alice = reply.follow_user.find((f: { userid: string }) => f.userid === 'alice');
    expect(alice).toMatchObject({ remark: '一号', state: 'shop_sh_01', add_way: 1, oper_userid: 'wmcustomer1' });
    expect(alice.tags).toEqual([
      { group_name: '客户等级', tag_name: 'VIP', tag_id: expect.stringMatching(/^et/), type: 1 },
      { group_name: '华东活动', tag_name: '会员日', tag_id: expect.stringMatching(/^et/), type: 3 },
      { group_name: '', tag_name: '老朋友', type: 2 },
    ]);
    const corpCustomer = await client.api('externalcontact/get', undefined, { external_userid: 'wmcustomer2' });
    expect(corpCustomer.external_contact).toMatchObject({ type: 2, corp_name: '某公司' });
  });

  it('answers 40096 for an unknown customer and 41035 without one', async () => {
    expect((await client.api('externalcontact/get', undefined, { external_userid: 'wmnope' })).errcode).toBe(40096);
    expect((await client.api('externalcontact/get')).errcode).toBe(41035);
  });

  it('pages followers 500 at a time with next_cursor', async () => {
    const users = Array.from({ length: 620 }, (_, i) => ({ userid: `u${i}`, name: `成员${i}`, department: [1] }));
    const big = await started({
      seed: { corpId: CORP_ID, secret: SECRET, departments: [{ id: 1, name: '总部', parentid: 0 }], users, customers: [{ external_userid: 'wmpopular', name: '红人', follow_users: users.map((u) => ({ userid: u.userid })) }] },
    });
    try {
      const first = await big.client.api('externalcontact/get', undefined, { external_userid: 'wmpopular' });
      expect(first.follow_user).toHaveLength(500);
      expect(typeof first.next_cursor).toBe('string');
      const second = await big.client.api('externalcontact/get', undefined, { external_userid: 'wmpopular', cursor: first.next_cursor });
      expect(second.follow_user).toHaveLength(120);
      expect(second.next_cursor).toBeUndefined();
      const all = [...first.follow_user, ...second.follow_user].map((f: { userid: string }) => f.userid);
      expect(new Set(all).size).toBe(620);
    } finally {
      await big.sim.close();
    }
  });
});

describe('batch/get_by_user and list', () => {
  it('pages customers of several members with follow_info tag ids (no personal tags)', async () => {
    const first = await client.api('externalcontact/batch/get_by_user', { userid_list: ['alice', 'bob'], limit: 2 });
    expect(first.errcode).toBe(0);
    expect(first.external_contact_list).toHaveLength(2);
    expect(first.next_cursor).not.toBe('');
    const second = await client.api('externalcontact/batch/get_by_user', { userid_list: ['alice', 'bob'], cursor: first.next_cursor, limit: 2 });
    expect(second.external_contact_list).toHaveLength(1);
    expect(second.next_cursor).toBe('');
    const rows = [...first.external_contact_list, ...second.external_contact_list];
    expect(rows.map((r: any) => `${r.follow_info.userid}:${r.external_contact.external_userid}`)).toEqual([
      'alice:wmcustomer1',
      'bob:wmcustomer1',
      'bob:wmcustomer2',
    ]);
    expect(rows[0].follow_info.tag_id).toHaveLength(2);
    expect(rows[0].follow_info.tags).toBeUndefined();
  });

  it('validates userid_list (<= 100) and limit (<= 100)', async () => {
    const many = Array.from({ length: 101 }, (_, i) => `u${i}`);
    expect((await client.api('externalcontact/batch/get_by_user', { userid_list: many })).errcode).toBe(40058);
    expect((await client.api('externalcontact/batch/get_by_user', { userid_list: ['alice'], limit: 101 })).errcode).toBe(40058);
    expect((await client.api('externalcontact/batch/get_by_user', { userid_list: ['ghost'] })).errcode).toBe(60111);
  });

  it('lists a member\'s customers and the members with customer contact', async () => {
    expect((await client.api('externalcontact/list', undefined, { userid: 'bob' })).external_userid).toEqual(['wmcustomer1', 'wmcustomer2']);
    expect((await client.api('externalcontact/list', undefined, { userid: 'carol' })).errcode).toBe(84061);
    expect((await client.api('externalcontact/get_follow_user_list')).follow_user).toEqual(['boss', 'alice', 'bob', 'carol']);
  });
});

describe('remark', () => {
  it('updates remark, description and mobiles, and needs a relation', async () => {
    const ok = await client.api('externalcontact/remark', { userid: 'bob', external_userid: 'wmcustomer2', remark: '老张', description: '大客户', remark_mobiles: ['13800000000'] });
    expect(ok.errcode).toBe(0);
    const { json } = await client.control('customers/wmcustomer2');
    expect(json.follow_user[0]).toMatchObject({ remark: '老张', description: '大客户', remark_mobiles: ['13800000000'] });
    expect((await client.api('externalcontact/remark', { userid: 'carol', external_userid: 'wmcustomer2', remark: 'x' })).errcode).toBe(84061);
    expect((await client.api('externalcontact/remark', { userid: 'bob', external_userid: 'wmcustomer2' })).errcode).toBe(40058);
    expect((await client.api('externalcontact/remark', { userid: 'bob', external_userid: 'wmcustomer2', remark: 'x'.repeat(21) })).errcode).toBe(40058);
  });
});

describe('control: customers', () => {
  it('adds customers through a contact way state, with a welcome code', async () => {
    const added = await client.ok('customers/add', { state: 'shop_sh_01', name: '扫码客户' });
    expect(added.external_userid).toMatch(/^wm/);
    expect(typeof added.welcome_code).toBe('string');
    const reply = await client.api('externalcontact/get', undefined, { external_userid: added.external_userid });
    expect(reply.follow_user).toMatchObject([{ userid: 'alice', state: 'shop_sh_01', add_way: 1 }]);
  });

  it('keeps a one-way relation after the customer deletes the member, removes it when the member deletes', async () => {
    await client.ok('customers/delete-member', { userid: 'alice', external_userid: 'wmcustomer1' });
    expect((await client.api('externalcontact/mark_tag', { userid: 'alice', external_userid: 'wmcustomer1', remove_tag: [] , add_tag: [] })).errcode).toBe(40058);
    const still = await client.api('externalcontact/get', undefined, { external_userid: 'wmcustomer1' });
    expect(still.follow_user.map((f: { userid: string }) => f.userid)).toContain('alice');
    await client.ok('members/delete-customer', { userid: 'alice', external_userid: 'wmcustomer1' });
    const gone = await client.api('externalcontact/get', undefined, { external_userid: 'wmcustomer1' });
    expect(gone.follow_user.map((f: { userid: string }) => f.userid)).toEqual(['bob']);
  });

  it('rejects bad control input with 400 and a message', async () => {
    const missing = await client.control('customers/add', { userid: 'ghost' });
    expect(missing.status).toBe(400);
    expect(missing.json.error).toMatch(/ghost/);
    const noRelation = await client.control('customers/edit-tags', { userid: 'carol', external_userid: 'wmcustomer2', personal_add: ['x'] });
    expect(noRelation.status).toBe(400);
    const badFixture = await client.control('reset', { users: [{ userid: 'x', name: 'x', department: [9] }] });
    expect(badFixture).toMatchObject({ status: 400, json: { error: expect.stringContaining('department 9') } });
    const notJson = await client.raw('/sim/customers/add', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' });
    expect(notJson.status).toBe(400);
    expect((await client.control('customers/wmnobody')).status).toBe(404);
  });

  it('gives the same ids for the same fixture', async () => {
    const a = await sim.reset(smallCompany());
    const b = await sim.reset(smallCompany());
    expect(a).toEqual(b);
    expect(a.tagGroups[0]).toMatchObject({ group_id: expect.stringMatching(/^et/), group_name: '客户等级', tags: [{ name: 'VIP' }, { name: '普通' }] });
    expect(a.contactWays[0]).toMatchObject({ state: 'shop_sh_01', qr_code: `${sim.url}/sim/qr/${a.contactWays[0]!.config_id}` });
  });
});
