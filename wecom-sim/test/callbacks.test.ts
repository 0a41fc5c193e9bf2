// Encrypted callbacks: signature, envelope, decryption, retries on non-200 and timeout, the GET
// URL verification, and which control actions send which events (API changes send none).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Client, CORP_ID, smallCompany } from './helpers.ts';
import { AES_KEY, startReceiver, TOKEN } from './receiver.ts';
import type { Receiver } from './receiver.ts';
import { startSimulator } from '../index.ts';
import type { RunningSimulator } from '../index.ts';

let sim: RunningSimulator;
let client: Client;
let receiver: Receiver;

beforeAll(async () => {
  receiver = await startReceiver();
  sim = await startSimulator({ callbackTimeoutMs: 1000, callbackRetryDelaysMs: [20, 20, 20] });
  client = new Client(sim);
});
afterAll(async () => {
  await sim.close();
  await receiver.close();
});
afterEach(() => {
  receiver.received.length = 0;
  receiver.plan.length = 0;
  receiver.verifyCorrectly = true;
});

async function resetWithCallback() {
  return sim.reset(smallCompany({ callback: { url: receiver.url, token: TOKEN, aesKey: AES_KEY } }));
}

describe('URL verification', () => {
  it('performs the GET verification at reset and reports it', async () => {
    const result = await resetWithCallback();
    expect(result.callback).toEqual({ url: receiver.url, verified: true });
    expect(receiver.received).toMatchObject([{ method: 'GET', signatureOk: true, receiveId: CORP_ID }]);
  });

  it('POST /sim/callback saves the URL only when verification succeeds', async () => {
    receiver.verifyCorrectly = false;
    const bad = await client.control('callback', { url: receiver.url, token: TOKEN, aesKey: AES_KEY });
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatch(/verification failed/);
    receiver.verifyCorrectly = true;
    const good = await client.control('callback', { url: receiver.url, token: TOKEN, aesKey: AES_KEY });
    expect(good).toEqual({ status: 200, json: { url: receiver.url, verified: true } });
    const invalid = await client.control('callback', { url: receiver.url, token: TOKEN, aesKey: 'short' });
    expect(invalid.status).toBe(400);
  });
});

describe('event delivery', () => {
  beforeAll(async () => {
    await resetWithCallback();
  });

  it('sends add_external_contact encrypted, signed and wrapped like WeCom', async () => {
    const added = await client.ok('customers/add', { userid: 'alice', state: 'shop_sh_01', name: '新客户' });
    await sim.idle();
    const [delivery] = receiver.received.filter((r) => r.method === 'POST');
    expect(delivery).toMatchObject({ method: 'POST', signatureOk: true, receiveId: CORP_ID, contentType: 'text/xml' });
    expect(delivery!.envelope).toMatchObject({ ToUserName: CORP_ID, AgentID: '1000005' });
    expect(delivery!.event).toMatchObject({
      ToUserName: CORP_ID,
      FromUserName: 'sys',
      MsgType: 'event',
      Event: 'change_external_contact',
      ChangeType: 'add_external_contact',
      UserID: 'alice',
      ExternalUserID: added.external_userid,
      State: 'shop_sh_01',
      WelcomeCode: added.welcome_code,
    });
    const { json: now } = await client.control('clock');
    expect(Math.abs(Number(delivery!.event!.CreateTime) - now.now)).toBeLessThanOrEqual(1);
  });

  it('delivers two events of the same second separately and records every attempt', async () => {
    await client.ok('customers/delete-member', { userid: 'alice', external_userid: 'wmcustomer1' });
    await client.ok('members/delete-customer', { userid: 'bob', external_userid: 'wmcustomer2' });
    await sim.idle();
    expect(receiver.events().map((e) => e.ChangeType)).toEqual(expect.arrayContaining(['del_follow_user', 'del_external_contact']));
    const { json } = await client.control('callbacks');
    const last = json.callbacks.slice(-2);
    expect(last.map((r: { delivered: boolean }) => r.delivered)).toEqual([true, true]);
    expect(last[0].attempts).toHaveLength(1);
    expect(last[0].lastStatus).toBe(200);
  });

  it('retries up to 3 times on non-200, then gives up', async () => {
    receiver.plan.push({ status: 500 }, { status: 503 });
    await client.ok('customers/add', { userid: 'carol' });
    await sim.idle();
    expect(receiver.events()).toHaveLength(3);
    const { json } = await client.control('callbacks');
    expect(json.callbacks.at(-1)).toMatchObject({ delivered: true, lastStatus: 200 });
    expect(json.callbacks.at(-1).attempts.map((a: { status: number }) => a.status)).toEqual([500, 503, 200]);

    receiver.received.length = 0;
    receiver.plan.push({ status: 500 }, { status: 500 }, { status: 500 }, { status: 500 }, { status: 500 });
    await client.ok('customers/add', { userid: 'bob' });
    await sim.idle();
    expect(receiver.events()).toHaveLength(4);
    const after = await client.control('callbacks');
    expect(after.json.callbacks.at(-1)).toMatchObject({ delivered: false, finished: true, lastStatus: 500 });
  });

  it('retries when the receiver answers after the deadline', async () => {
    receiver.plan.push({ delayMs: 1500 });
    await client.ok('customers/add', { userid: 'boss' });
    await sim.idle();
    const { json } = await client.control('callbacks');
    const record = json.callbacks.at(-1);
    expect(record.attempts[0].error).toBe('timeout');
    expect(record).toMatchObject({ delivered: true, lastStatus: 200 });
    expect(receiver.events().length).toBeGreaterThanOrEqual(2);
  });

  it('sends edit_external_contact for client tag edits and no callback for API changes', async () => {
    const reset = await resetWithCallback();
    receiver.received.length = 0;
    const vip = reset.tagGroups[0]!.tags[0]!.id;
    const normal = reset.tagGroups[0]!.tags[1]!.id;
    await client.ok('customers/edit-tags', { userid: 'bob', external_userid: 'wmcustomer2', add: [vip], remove: [normal], personal_add: ['爱聊天'] });
    await client.gettoken();
    expect((await client.api('externalcontact/mark_tag', { userid: 'bob', external_userid: 'wmcustomer2', remove_tag: [vip] })).errcode).toBe(0);
    expect((await client.api('externalcontact/add_corp_tag', { group_name: '新组', tag: [{ name: '新标签' }] })).errcode).toBe(0);
    await sim.idle();
    expect(receiver.events().map((e) => e.ChangeType)).toEqual(['edit_external_contact']);
  });

  it('sends change_external_tag for admin console edits, with StrategyId for rule-group tags', async () => {
    const reset = await resetWithCallback();
    receiver.received.length = 0;
    const group = reset.tagGroups[0]!;
    const created = await client.ok('admin/tags', { action: 'create', group_name: '新分组', tag: [{ name: 'A' }, { name: 'B' }] });
    await client.ok('admin/tags', { action: 'create', group_id: group.group_id, tag: [{ name: '钻石' }] });
    await client.ok('admin/tags', { action: 'update', id: group.tags[0]!.id, name: 'VIP客户' });
    await client.ok('admin/tags', { action: 'delete', group_id: [created.tag_group.group_id] });
    const ruleGroup = reset.strategies[0]!.tagGroups[0]!;
    await client.ok('admin/tags', { action: 'shuffle', group_id: ruleGroup.group_id });
    await sim.idle();
    const events = receiver.events().map((e) => ({ Event: e.Event, ChangeType: e.ChangeType, TagType: e.TagType, Id: e.Id, StrategyId: e.StrategyId }));
    expect(events).toEqual([
      { Event: 'change_external_tag', ChangeType: 'create', TagType: 'tag_group', Id: created.tag_group.group_id, StrategyId: undefined },
      { Event: 'change_external_tag', ChangeType: 'create', TagType: 'tag', Id: expect.any(String), StrategyId: undefined },
      { Event: 'change_external_tag', ChangeType: 'update', TagType: 'tag', Id: group.tags[0]!.id, StrategyId: undefined },
      { Event: 'change_external_tag', ChangeType: 'delete', TagType: 'tag_group', Id: created.tag_group.group_id, StrategyId: undefined },
      { Event: 'change_external_tag', ChangeType: 'shuffle', TagType: undefined, Id: ruleGroup.group_id, StrategyId: String(reset.strategies[0]!.strategy_id) },
    ]);
    const list = await client.api('externalcontact/get_corp_tag_list', {});
    expect(list.tag_group[0].tag.map((t: { name: string }) => t.name)).toEqual(['VIP客户', '普通', '钻石']);
  });

  it('sends add_half_external_contact, then add_external_contact when the member confirms', async () => {
    await resetWithCallback();
    receiver.received.length = 0;
    const { external_userid } = await client.ok('customers/add', { userid: 'alice', half: true, welcome_code: false });
    await client.gettoken();
    expect((await client.api('externalcontact/get', undefined, { external_userid })).errcode).toBe(84061);
    await client.ok('customers/confirm', { userid: 'alice', external_userid });
    expect((await client.api('externalcontact/get', undefined, { external_userid })).errcode).toBe(0);
    await sim.idle();
    expect(receiver.events().map((e) => [e.ChangeType, e.WelcomeCode])).toEqual([['add_half_external_contact', undefined], ['add_external_contact', undefined]]);
  });

  it('close() cancels pending retries', async () => {
    const other = await startSimulator({ seed: smallCompany({ callback: { url: receiver.url, token: TOKEN, aesKey: AES_KEY } }), callbackRetryDelaysMs: [60_000] });
    receiver.plan.push({ status: 500 });
    await new Client(other).ok('customers/add', { userid: 'alice' });
    await new Promise((r) => setTimeout(r, 100));
    const started = Date.now();
    await other.close();
    await other.idle();
    expect(Date.now() - started).toBeLessThan(2000);
  });
});
