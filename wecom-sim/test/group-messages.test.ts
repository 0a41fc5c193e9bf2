// Group messaging limits and outcomes: attachment shapes, sizes, cancel_groupmsg_send, and the
// 4-per-natural-month limit per customer (status 3 in the send result).
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Client, smallCompany, started } from './helpers.ts';
import type { RunningSimulator } from '../index.ts';

let sim: RunningSimulator;
let client: Client;

beforeAll(async () => {
  ({ sim, client } = await started());
});
beforeEach(async () => {
  await sim.reset(smallCompany());
});
afterAll(() => sim.close());

/** Moves the simulator clock to noon (China time) on the 15th of next month, far from a month boundary. */
async function midMonth(): Promise<void> {
  const { json } = await client.control('clock');
  const china = new Date((json.now + 8 * 3600) * 1000);
  const target = Date.UTC(china.getUTCFullYear(), china.getUTCMonth() + 1, 15, 12) / 1000 - 8 * 3600;
  await client.ok('clock/advance', { seconds: target - json.now });
}

describe('add_msg_template limits', () => {
  it('accepts text with image, link and mini-program attachments', async () => {
    const created = await client.api('externalcontact/add_msg_template', {
      sender: 'bob', external_userid: ['wmcustomer2'], text: { content: '新品上市' },
      attachments: [
        { msgtype: 'image', image: { pic_url: 'https://example.test/a.png' } },
        { msgtype: 'link', link: { title: '活动页', url: 'https://example.test/sale' } },
        { msgtype: 'miniprogram', miniprogram: { title: '商城', pic_media_id: 'MEDIA1', appid: 'wx0000000000000001', page: '/pages/index' } },
      ],
    });
    expect(created).toMatchObject({ errcode: 0, fail_list: [], msgid: expect.any(String) });
    const { json: clock } = await client.control('clock');
    const list = await client.api('externalcontact/get_groupmsg_list_v2', { chat_type: 'single', start_time: clock.now - 60, end_time: clock.now + 60 });
    expect(list.group_msg_list[0].attachments.map((a: { msgtype: string }) => a.msgtype)).toEqual(['image', 'link', 'miniprogram']);
  });

  it('refuses malformed attachments, more than 9, text over 4000 bytes and over 10,000 customers with 40058', async () => {
    const link = { msgtype: 'link', link: { title: 't', url: 'https://example.test' } };
    const cases: unknown[] = [
      { sender: 'bob', attachments: [{ msgtype: 'link', link: { title: 'no url' } }] },
      { sender: 'bob', attachments: [{ msgtype: 'image', image: {} }] },
      { sender: 'bob', attachments: [{ msgtype: 'voice', voice: { media_id: 'x' } }] },
      { sender: 'bob', attachments: Array.from({ length: 10 }, () => link) },
      { sender: 'bob', text: { content: '字'.repeat(1334) } },
      { external_userid: Array.from({ length: 10_001 }, (_, i) => `wm${i}`), text: { content: 'x' } },
    ];
    for (const body of cases) expect((await client.api('externalcontact/add_msg_template', body)).errcode).toBe(40058);
    expect((await client.api('externalcontact/add_msg_template', { sender: 'bob', text: { content: '字'.repeat(1333) } })).errcode).toBe(0);
  });
});

describe('cancel_groupmsg_send', () => {
  it('stops unsent tasks and keeps what was sent', async () => {
    const created = await client.api('externalcontact/add_msg_template', { external_userid: ['wmcustomer1', 'wmcustomer2'], text: { content: '取消测试' } });
    await client.ok('groupmsg/send', { msgid: created.msgid, userid: 'alice' });
    expect((await client.api('externalcontact/cancel_groupmsg_send', { msgid: created.msgid })).errcode).toBe(0);
    const refused = await client.control('groupmsg/send', { msgid: created.msgid, userid: 'bob' });
    expect(refused.status).toBe(400);
    expect(refused.json.error).toContain('canceled');
    const tasks = await client.api('externalcontact/get_groupmsg_task', { msgid: created.msgid });
    expect(tasks.task_list).toMatchObject([{ userid: 'alice', status: 2 }, { userid: 'bob', status: 0 }]);
    expect((await client.api('externalcontact/cancel_groupmsg_send', { msgid: 'nope' })).errcode).toBe(40058);
  });
});

describe('monthly limit', () => {
  it('a customer receives 4 group messages per natural month; the fifth is status 3, next month again 1', async () => {
    await midMonth();
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const created = await client.api('externalcontact/add_msg_template', { sender: 'bob', external_userid: ['wmcustomer2'], text: { content: `第${i + 1}条` } });
      await client.ok('groupmsg/send', { msgid: created.msgid, userid: 'bob' });
      const result = await client.api('externalcontact/get_groupmsg_send_result', { msgid: created.msgid, userid: 'bob' });
      statuses.push(result.send_list[0].status);
    }
    expect(statuses).toEqual([1, 1, 1, 1, 3]);
    await client.ok('clock/advance', { seconds: 31 * 86_400 });
    const next = await client.api('externalcontact/add_msg_template', { sender: 'bob', external_userid: ['wmcustomer2'], text: { content: '下个月' } });
    await client.ok('groupmsg/send', { msgid: next.msgid, userid: 'bob' });
    expect((await client.api('externalcontact/get_groupmsg_send_result', { msgid: next.msgid, userid: 'bob' })).send_list).toMatchObject([{ external_userid: 'wmcustomer2', status: 1, send_time: expect.any(Number) }]);
  });
});
