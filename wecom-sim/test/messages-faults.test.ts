// App messages, group messaging tasks and results, fault injection, and the call log.
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

describe('message/send', () => {
  it('records text and textcard messages with resolved recipients', async () => {
    const text = await client.api('message/send', { touser: 'alice|ghost', msgtype: 'text', agentid: 1000005, text: { content: '你好' } });
    expect(text).toMatchObject({ errcode: 0, invaliduser: 'ghost', msgid: expect.any(String) });
    const card = await client.api('message/send', { toparty: '2', msgtype: 'textcard', agentid: 1000005, textcard: { title: '审批', description: '请处理', url: 'https://example.test/x' } });
    expect(card.errcode).toBe(0);
    const { json } = await client.control('messages?kind=app');
    expect(json.messages).toMatchObject([
      { kind: 'app', recipients: ['alice'], body: { msgtype: 'text', text: { content: '你好' } } },
      { kind: 'app', recipients: ['alice', 'carol'], body: { msgtype: 'textcard' } },
    ]);
  });

  it('rejects a wrong agentid, empty content, unknown types and no valid recipient', async () => {
    expect((await client.api('message/send', { touser: 'alice', msgtype: 'text', agentid: 1, text: { content: 'x' } })).errcode).toBe(40056);
    expect((await client.api('message/send', { touser: 'alice', msgtype: 'text', agentid: 1000005, text: { content: '' } })).errcode).toBe(44004);
    expect((await client.api('message/send', { touser: 'alice', msgtype: 'voice', agentid: 1000005 })).errcode).toBe(40008);
    expect((await client.api('message/send', { touser: 'ghost|dave', msgtype: 'text', agentid: 1000005, text: { content: 'x' } })).errcode).toBe(81013);
  });
});

describe('group messages', () => {
  it('creates a task per sender, reports per-customer results, and marks them sent on a control call', async () => {
    const vip = ids.tagGroups[0]!.tags[0]!.id;
    const created = await client.api('externalcontact/add_msg_template', { chat_type: 'single', external_userid: ['wmcustomer1', 'wmcustomer2', 'wmghost'], text: { content: '双十一活动' } });
    expect(created).toMatchObject({ errcode: 0, fail_list: ['wmghost'], msgid: expect.any(String) });
    const tasks = await client.api('externalcontact/get_groupmsg_task', { msgid: created.msgid });
    expect(tasks.task_list).toEqual([{ userid: 'alice', status: 0 }, { userid: 'bob', status: 0 }]);
    await client.ok('groupmsg/send', { msgid: created.msgid, userid: 'bob' });
    const result = await client.api('externalcontact/get_groupmsg_send_result', { msgid: created.msgid, userid: 'bob' });
    expect(result.send_list).toMatchObject([{ external_userid: 'wmcustomer1', status: 1 }, { external_userid: 'wmcustomer2', status: 1 }]);
    expect((await client.api('externalcontact/get_groupmsg_task', { msgid: created.msgid })).task_list[1]).toMatchObject({ userid: 'bob', status: 2, send_time: expect.any(Number) });
    const { json: clock } = await client.control('clock');
    const list = await client.api('externalcontact/get_groupmsg_list_v2', { chat_type: 'single', start_time: clock.now - 3600, end_time: clock.now + 60 });
    expect(list.group_msg_list).toMatchObject([{ msgid: created.msgid, text: { content: '双十一活动' } }]);

    const filtered = await client.api('externalcontact/add_msg_template', { sender: 'alice', tag_filter: { group_list: [{ tag_list: [vip] }] }, text: { content: 'VIP专享' } });
    expect((await client.api('externalcontact/get_groupmsg_send_result', { msgid: filtered.msgid, userid: 'alice' })).send_list.map((r: { external_userid: string }) => r.external_userid)).toEqual(['wmcustomer1']);
    expect((await client.api('externalcontact/add_msg_template', { sender: 'alice' })).errcode).toBe(40058);
  });
});

describe('faults and the call log', () => {
  it('fails the next N calls to a path with the given errcode, then recovers', async () => {
    await client.gettoken();
    await client.ok('faults', { path: 'externalcontact/mark_tag', errcode: 45033, count: 2 });
    const body = { userid: 'bob', external_userid: 'wmcustomer2', add_tag: [ids.tagGroups[0]!.tags[0]!.id] };
    const codes = [];
    for (let i = 0; i < 3; i++) codes.push((await client.api('externalcontact/mark_tag', body)).errcode);
    expect(codes).toEqual([45033, 45033, 0]);
    const { json } = await client.control('calls?path=/cgi-bin/externalcontact/mark_tag');
    expect(json.calls.map((c: { errcode: number }) => c.errcode)).toEqual([45033, 45033, 0]);
    expect(json.calls[2]).toMatchObject({ path: '/cgi-bin/externalcontact/mark_tag', body, at: expect.any(Number) });
    expect(JSON.stringify((await client.control('calls')).json)).not.toContain('access_token');
  });

  it('holds the reply for a "timeout" fault longer than the client waits', async () => {
    await client.ok('faults', { path: '/cgi-bin/user/get', errcode: 'timeout', count: 1, holdMs: 5000 });
    const token = await client.accessToken();
    const started = Date.now();
    await expect(fetch(`${sim.url}/cgi-bin/user/get?userid=alice&access_token=${token}`, { signal: AbortSignal.timeout(300) })).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(2000);
    expect((await client.api('user/get', undefined, { userid: 'alice' })).errcode).toBe(0);
    await client.ok('faults', { path: 'gettoken', errcode: -1 });
    expect((await client.gettoken()).errcode).toBe(-1);
  });

  it('answers unknown API paths like WeCom and malformed JSON with 47001', async () => {
    const token = await client.accessToken();
    const bad = await fetch(`${sim.url}/cgi-bin/externalcontact/mark_tag?access_token=${token}`, { method: 'POST', body: '{nope' });
    expect((await bad.json()).errcode).toBe(47001);
    expect((await client.api('externalcontact/no_such_api', {})).errcode).toBe(404);
    expect((await client.control('faults', { path: 'x' })).status).toBe(400);
  });

  it('summarises state', async () => {
    const { json } = await client.control('state/summary');
    expect(json).toMatchObject({ members: 5, activeMembers: 4, leftMembers: 1, customers: 3, relations: 4, corpTagGroups: 2, corpTags: 4, strategies: 1, strategyTags: 1, contactWays: 1 });
  });
});
