// In-service and resigned transfers: per-call and per-customer rules, the 24 h takeover on the
// simulator clock with its callbacks, refusal → transfer_fail, and resigned-only 40097.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Client, smallCompany } from './helpers.ts';
import { AES_KEY, startReceiver, TOKEN } from './receiver.ts';
import type { Receiver } from './receiver.ts';
import { startSimulator } from '../index.ts';
import type { RunningSimulator } from '../index.ts';

let sim: RunningSimulator;
let client: Client;
let receiver: Receiver;
const DAY = 86_400;

beforeAll(async () => {
  receiver = await startReceiver();
  sim = await startSimulator({ callbackRetryDelaysMs: [10] });
  client = new Client(sim);
});
beforeEach(async () => {
  await sim.reset(smallCompany({ callback: { url: receiver.url, token: TOKEN, aesKey: AES_KEY } }));
  await client.gettoken();
  receiver.received.length = 0;
});
afterEach(() => sim.idle());
afterAll(async () => {
  await sim.close();
  await receiver.close();
});

const transfer = (body: Record<string, unknown>) => client.api('externalcontact/transfer_customer', { handover_userid: 'bob', takeover_userid: 'carol', ...body });

describe('transfer_customer', () => {
  it('starts transfers per customer, completes them after 24 h with callbacks, and reports results', async () => {
    const started = await transfer({ external_userid: ['wmcustomer1', 'wmcustomer2', 'wmcustomer3', 'wmghost'] });
    expect(started.customer).toEqual([
      { external_userid: 'wmcustomer1', errcode: 0 },
      { external_userid: 'wmcustomer2', errcode: 0 },
      { external_userid: 'wmcustomer3', errcode: 40131 },
      { external_userid: 'wmghost', errcode: 40096 },
    ]);
    expect((await transfer({ external_userid: ['wmcustomer1'] })).customer[0].errcode).toBe(40129);
    const waiting = await client.api('externalcontact/transfer_result', { handover_userid: 'bob', takeover_userid: 'carol' });
    expect(waiting.customer).toMatchObject([{ external_userid: 'wmcustomer1', status: 2 }, { external_userid: 'wmcustomer2', status: 2 }]);
    const { json: clock } = await client.control('clock');
    expect(Math.abs(waiting.customer[0].takeover_time - (clock.now + DAY))).toBeLessThanOrEqual(1); // second boundary
    await sim.idle();
    expect(receiver.events()).toEqual([]); // starting a transfer sends nothing

    await client.ok('clock/advance', { seconds: DAY - 60 });
    expect((await client.api('externalcontact/transfer_result', { handover_userid: 'bob', takeover_userid: 'carol' })).customer[0].status).toBe(2);
    await client.ok('clock/advance', { seconds: 61 });
    await client.gettoken();
    const done = await client.api('externalcontact/transfer_result', { handover_userid: 'bob', takeover_userid: 'carol' });
    expect(done.customer.map((c: { status: number }) => c.status)).toEqual([1, 1]);

    const customer = await client.api('externalcontact/get', undefined, { external_userid: 'wmcustomer2' });
    expect(customer.follow_user).toMatchObject([{ userid: 'carol', add_way: 202, oper_userid: 'bob' }]);
    expect(customer.follow_user[0].tags.map((t: { tag_name: string }) => t.tag_name)).toEqual(['普通']);
    await sim.idle();
    // Events about one customer arrive in order; different customers may interleave.
    const about = (id: string) =>
      receiver.events().filter((e) => e.ExternalUserID === id).map((e) => `${e.ChangeType}:${e.UserID}:${e.Source ?? ''}`);
    for (const id of ['wmcustomer1', 'wmcustomer2']) {
      expect(about(id)).toEqual(['del_external_contact:bob:DELETE_BY_TRANSFER', 'add_external_contact:carol:']);
    }
    expect(receiver.events()).toHaveLength(4);
  });

  it('enforces at most 100 customers a call, distinct members and active takeover', async () => {
    const many = Array.from({ length: 101 }, (_, i) => `wm${i}`);
    expect((await transfer({ external_userid: many })).errcode).toBe(40058);
    expect((await transfer({ takeover_userid: 'bob', external_userid: ['wmcustomer1'] })).errcode).toBe(40130);
    expect((await transfer({ takeover_userid: 'dave', external_userid: ['wmcustomer1'] })).errcode).toBe(60111);
    expect((await client.api('externalcontact/transfer_customer', { handover_userid: 'dave', takeover_userid: 'carol', external_userid: ['wmcustomer3'] })).errcode).toBe(60111);
  });

  it('allows a customer two transfers in 90 days (40128 for the third)', async () => {
    await transfer({ external_userid: ['wmcustomer2'] });
    await client.ok('clock/advance', { seconds: DAY + 1 });
    await client.gettoken();
    expect((await client.api('externalcontact/transfer_customer', { handover_userid: 'carol', takeover_userid: 'bob', external_userid: ['wmcustomer2'] })).customer[0].errcode).toBe(0);
    await client.ok('clock/advance', { seconds: DAY + 1 });
    expect((await transfer({ external_userid: ['wmcustomer2'] })).customer[0].errcode).toBe(40128);
    await client.ok('clock/advance', { seconds: 89 * DAY });
    await client.gettoken();
    expect((await transfer({ external_userid: ['wmcustomer2'] })).customer[0].errcode).toBe(0);
  });

  it('a refusal keeps the customer with the old member and sends transfer_fail', async () => {
    await transfer({ external_userid: ['wmcustomer2'] });
    expect(await client.ok('transfers/refuse', { external_userid: 'wmcustomer2' })).toEqual({ external_userid: 'wmcustomer2', status: 3 });
    await client.ok('clock/advance', { seconds: 2 * DAY });
    await client.gettoken();
    expect((await client.api('externalcontact/transfer_result', { handover_userid: 'bob', takeover_userid: 'carol' })).customer[0].status).toBe(3);
    expect((await client.api('externalcontact/get', undefined, { external_userid: 'wmcustomer2' })).follow_user.map((f: { userid: string }) => f.userid)).toEqual(['bob']);
    await sim.idle();
    expect(receiver.events()).toMatchObject([{ ChangeType: 'transfer_fail', FailReason: 'customer_refused', UserID: 'carol', ExternalUserID: 'wmcustomer2' }]);
    expect((await client.control('transfers/refuse', { external_userid: 'wmcustomer2' })).status).toBe(400);
  });
});

describe('resigned transfers', () => {
  it('lists unassigned customers of members who left and transfers them', async () => {
    const unassigned = await client.api('externalcontact/get_unassigned_list', { page_size: 10 });
    expect(unassigned).toMatchObject({ errcode: 0, is_last: true, info: [{ handover_userid: 'dave', external_userid: 'wmcustomer3' }] });
    expect((await client.api('externalcontact/resigned/transfer_customer', { handover_userid: 'bob', takeover_userid: 'carol', external_userid: ['wmcustomer2'] })).errcode).toBe(40097);
    const started = await client.api('externalcontact/resigned/transfer_customer', { handover_userid: 'dave', takeover_userid: 'alice', external_userid: ['wmcustomer3'] });
    expect(started.customer).toEqual([{ external_userid: 'wmcustomer3', errcode: 0 }]);
    expect((await client.api('externalcontact/get_unassigned_list', {})).info).toEqual([]);
    await client.ok('clock/advance', { seconds: DAY });
    await client.gettoken();
    const result = await client.api('externalcontact/resigned/transfer_result', { handover_userid: 'dave', takeover_userid: 'alice' });
    expect(result.customer).toMatchObject([{ external_userid: 'wmcustomer3', status: 1 }]);
    expect((await client.api('externalcontact/get', undefined, { external_userid: 'wmcustomer3' })).follow_user).toMatchObject([{ userid: 'alice', add_way: 202 }]);
    await sim.idle();
    expect(receiver.events().map((e) => e.ChangeType)).toEqual(['add_external_contact']);
  });

  it('makes a member resignable through the control API', async () => {
    expect(await client.ok('members/resign', { userid: 'bob' })).toEqual({ userid: 'bob', status: 5, customers: 2 });
    expect((await client.api('user/get', undefined, { userid: 'bob' })).status).toBe(5);
    const list = await client.api('externalcontact/get_unassigned_list', { page_size: 2 });
    expect(list.info).toHaveLength(2);
    expect(list.is_last).toBe(false);
    const rest = await client.api('externalcontact/get_unassigned_list', { page_size: 2, cursor: list.next_cursor });
    expect(rest.info).toHaveLength(1);
    expect(rest.is_last).toBe(true);
  });
});
