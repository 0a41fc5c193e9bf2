// Control calls for a member's userid change (with its change_contact callback), generated companies
// and customer profile changes (no callback), seen through the WeCom API as a product sees them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, started } from './helpers.ts';
import { AES_KEY, startReceiver, TOKEN } from './receiver.ts';
import type { Receiver } from './receiver.ts';
import type { RunningSimulator } from '../index.ts';

let sim: RunningSimulator;
let client: Client;
let receiver: Receiver;

beforeAll(async () => {
  ({ sim, client } = await started());
  receiver = await startReceiver();
  await client.ok('callback', { url: receiver.url, token: TOKEN, aesKey: AES_KEY });
});
afterAll(async () => {
  await sim.close();
  await receiver.close();
});

describe('members/rename', () => {
  it('moves the member everywhere and sends update_user with NewUserID', async () => {
    const renamed = await client.ok('members/rename', { userid: 'alice', new_userid: 'alice_zh' });
    expect(renamed).toMatchObject({ userid: 'alice_zh', previous: 'alice' });
    await sim.idle();
    expect(receiver.events().at(-1)).toMatchObject({ Event: 'change_contact', ChangeType: 'update_user', UserID: 'alice', NewUserID: 'alice_zh' });
    expect(await client.api('user/get', undefined, { userid: 'alice_zh' })).toMatchObject({ errcode: 0, userid: 'alice_zh', name: '爱丽丝' });
    expect((await client.api('user/get', undefined, { userid: 'alice' })).errcode).toBe(60111);
    const customer = await client.api('externalcontact/get', undefined, { external_userid: 'wmcustomer1' });
    expect(customer.follow_user.map((f: { userid: string }) => f.userid).sort()).toEqual(['alice_zh', 'bob']);
    const { json: view } = await client.control('customers/wmcustomer1');
    expect(view.follow_user.find((f: { userid: string }) => f.userid === 'alice_zh')).toBeDefined();
  });

  it('refuses an unknown member or a userid already taken, sending nothing', async () => {
    const before = receiver.events().length;
    expect((await client.control('members/rename', { userid: 'nobody', new_userid: 'x1' })).status).toBe(400);
    const taken = await client.control('members/rename', { userid: 'bob', new_userid: 'carol' });
    expect(taken).toMatchObject({ status: 400, json: { error: 'userid carol is already taken' } });
    await sim.idle();
    expect(receiver.events()).toHaveLength(before);
  });
});

describe('customers/generate and customers/profile', () => {
  it('generates customers that batch/get_by_user pages through, without callbacks', async () => {
    const before = receiver.events().length;
    const generated = await client.ok('customers/generate', { count: 250, id_prefix: 'wmgen', followers: 2, tags_per_relation: 2 });
    expect(generated).toMatchObject({ created: 250, relations: 500 });
    let cursor: string | undefined;
    const seen = new Set<string>();
    do {
      const page = await client.api('externalcontact/batch/get_by_user', { userid_list: ['alice_zh', 'bob', 'carol', 'boss'], cursor, limit: 100 });
      expect(page.errcode).toBe(0);
      for (const item of page.external_contact_list) {
        if (item.external_contact.external_userid.startsWith('wmgen')) seen.add(`${item.external_contact.external_userid}/${item.follow_info.userid}`);
        if (item.external_contact.external_userid.startsWith('wmgen')) expect(item.follow_info.tag_id.length).toBeGreaterThan(0);
      }
      cursor = page.next_cursor || undefined;
    } while (cursor);
    expect(seen.size).toBe(500);
    await sim.idle();
    expect(receiver.events()).toHaveLength(before);
    expect((await client.control('customers/generate', { count: 1, id_prefix: 'wmgen' })).status).toBe(400);
  });

  it('changes a customer profile without a callback', async () => {
    const before = receiver.events().length;
    await client.ok('customers/profile', { external_userid: 'wmgen00000007', name: '新名字' });
    const customer = await client.api('externalcontact/get', undefined, { external_userid: 'wmgen00000007' });
    expect(customer.external_contact.name).toBe('新名字');
    await sim.idle();
    expect(receiver.events()).toHaveLength(before);
    expect((await client.control('customers/profile', { external_userid: 'wmgen00000007' })).status).toBe(400);
  });
});
