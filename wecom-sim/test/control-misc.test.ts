// Smaller control-API behaviours: info, callback removal, OAuth page errors, legacy paging,
// the takeover cap failure, and callback URLs that already carry a query string.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, CORP_ID, smallCompany, started } from './helpers.ts';
import { AES_KEY, startReceiver, TOKEN } from './receiver.ts';
import type { Receiver } from './receiver.ts';
import type { RunningSimulator } from '../index.ts';

let sim: RunningSimulator;
let client: Client;
let receiver: Receiver;

beforeAll(async () => {
  ({ sim, client } = await started());
  receiver = await startReceiver();
});
afterAll(async () => {
  await sim.close();
  await receiver.close();
});

describe('control misc', () => {
  it('describes itself', async () => {
    const { json } = await client.control('');
    expect(json).toMatchObject({ name: 'wecom-sim', url: sim.url, corpId: CORP_ID, agentId: 1000005, now: expect.any(Number) });
  });

  it('keeps the callback URL\'s own query string, and stops sending after DELETE /sim/callback', async () => {
    const url = `${receiver.url}?tenant=t1`;
    expect((await client.control('callback', { url, token: TOKEN, aesKey: AES_KEY })).status).toBe(200);
    await client.ok('customers/add', { userid: 'alice' });
    await sim.idle();
    expect(receiver.events()).toHaveLength(1);
    await client.control('callback', undefined, 'DELETE');
    const added = await client.ok('customers/add', { userid: 'carol' });
    await sim.idle();
    expect(receiver.events()).toHaveLength(1);
    const { json } = await client.control('callbacks?change_type=add_external_contact');
    expect(json.callbacks.at(-1)).toMatchObject({ url: null, attempts: [], delivered: false, event: { ExternalUserID: added.external_userid } });
  });

  it('refuses an OAuth request for another corp or without a redirect', async () => {
    expect((await client.raw(`/connect/oauth2/authorize?appid=wwother&redirect_uri=${encodeURIComponent('http://a.test/')}&response_type=code`)).status).toBe(400);
    expect((await client.raw(`/connect/oauth2/authorize?appid=${CORP_ID}&response_type=code`)).status).toBe(400);
    expect((await client.control('oauth/code', { userid: 'dave' })).status).toBe(400);
  });

  it('pages get_unassigned_list by legacy page_id without next_cursor', async () => {
    await sim.reset(smallCompany());
    await client.ok('members/resign', { userid: 'bob' });
    const first = await client.api('externalcontact/get_unassigned_list', { page_id: 0, page_size: 2 });
    expect(first).toMatchObject({ is_last: false });
    expect(first.info).toHaveLength(2);
    expect(first.next_cursor).toBeUndefined();
    const second = await client.api('externalcontact/get_unassigned_list', { page_id: 1, page_size: 2 });
    expect(second).toMatchObject({ is_last: true });
    expect(second.info).toHaveLength(1);
  });

  it('reports the takeover cap as transfer status 4', async () => {
    await sim.reset(smallCompany());
    await client.api('externalcontact/transfer_customer', { handover_userid: 'bob', takeover_userid: 'carol', external_userid: ['wmcustomer2'] });
    expect(await client.ok('transfers/refuse', { external_userid: 'wmcustomer2', reason: 'customer_limit_exceed' })).toEqual({ external_userid: 'wmcustomer2', status: 4 });
    const { json } = await client.control('callbacks?change_type=transfer_fail');
    expect(json.callbacks[0].event).toMatchObject({ FailReason: 'customer_limit_exceed', UserID: 'carol' });
  });

  it('reuses tokens across a reset of the same corp, and invalidates them for another corp', async () => {
    await sim.reset(smallCompany());
    const token = await client.accessToken();
    await sim.reset(smallCompany());
    expect((await (await client.raw(`/cgi-bin/user/get?userid=alice&access_token=${token}`)).json()).errcode).toBe(0);
    await sim.reset(smallCompany({ corpId: 'wwanothercorp000001' }));
    expect((await (await client.raw(`/cgi-bin/user/get?userid=alice&access_token=${token}`)).json()).errcode).toBe(40014);
  });
});
