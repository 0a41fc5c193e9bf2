// Targeted messaging over real HTTP, Redis, a real database and the simulator: audiences counted per
// layer inside the creator's view scope with only tags they may see, directed visibility, campaigns
// sent as one add_msg_template task per owner through the write queue, a rep confirming in WeCom,
// results polled into the per-department report and the touch log (with each selecting tag's
// visibility at sending time), scheduling and cancel, and no cross-department leak on any path.
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { campaigns, campaignTouches, outgoingWrites } from '../../server/db/schema.ts';
import { startOwnershipWorld, type OwnershipWorld } from '../support/ownership-company.ts';
import { waitFor, type ApiClient } from '../support/test-product.ts';

let w: OwnershipWorld;
let vip: string;
let normal: string;
let southSecret: string;

const steps = (body: { steps: { step: string; count: number }[] }) => body.steps.map((s) => s.count);

async function sentAndPolled(client: ApiClient, id: string) {
  return waitFor(async () => {
    const res = await client.post(`/api/campaigns/${id}/refresh`);
    if (res.status === 409) return undefined; // still being evaluated by the job
    expect(res.status).toBe(200);
    return res.body.state === 'sent' ? res.body : undefined;
  }, `campaign ${id} sent`);
}

beforeAll(async () => {
  w = await startOwnershipWorld();
  vip = w.tagIds['客户等级/VIP']!;
  normal = w.tagIds['客户等级/普通']!;
  southSecret = w.tagIds['华南机密/南方专属']!;
  const group = w.reset.tagGroups.find((g) => g.group_name === '华南机密')!.group_id;
  expect((await w.admin.request('PUT', `/api/admin/tag-groups/${group}/visibility`, { see: { departments: [3] } })).status).toBe(200);
});

afterAll(async () => {
  await w?.stop();
});

describe('audiences', () => {
  it('counts each layer inside the creator\'s view scope', async () => {
    const eastMgr = await w.as('east_mgr');
    const east = await eastMgr.post('/api/audiences/count', { enterpriseTags: [vip] });
    expect(east.status).toBe(200);
    // 华东's VIPs: wmEast1, wmEast2 (east_rep1), wmLeave1 (leaver); never 华南's wmSouth1.
    expect(steps(east.body)).toEqual([3, 3, 3]);
    expect(steps((await w.admin.post('/api/audiences/count', { enterpriseTags: [vip] })).body)).toEqual([4, 4, 4]);
    const southMgr = await w.as('south_mgr');
    expect(steps((await southMgr.post('/api/audiences/count', { enterpriseTags: [vip] })).body)).toEqual([1, 1, 1]);
    // Conditions narrow further: owner, then the owner's department subtree.
    expect(steps((await eastMgr.post('/api/audiences/count', { enterpriseTags: [vip], conditions: { owner: 'east_rep1' } })).body)).toEqual([3, 3, 2]);
    expect(steps((await eastMgr.post('/api/audiences/count', { enterpriseTags: [], conditions: { department: 4 } })).body)).toEqual([9, 9, 2]);
    expect(steps((await eastMgr.post('/api/audiences/count', { enterpriseTags: [vip, normal], enterpriseMatch: 'all' })).body)).toEqual([0, 0, 0]);
    const future = new Date(Date.now() + 86_400_000).toISOString();
    expect(steps((await eastMgr.post('/api/audiences/count', { enterpriseTags: [vip], conditions: { addedSince: future } })).body)).toEqual([3, 3, 0]);
  });

  it('refuses tags the creator may not see and others\' personal tags exactly like missing tags', async () => {
    const eastMgr = await w.as('east_mgr');
    const hidden = await eastMgr.post('/api/audiences/count', { enterpriseTags: [southSecret] });
    expect(hidden.status).toBe(404);
    expect(hidden.body.error).toMatchObject({ code: 'TAG_NOT_FOUND', tags: [southSecret] });
    const missing = await eastMgr.post('/api/audiences/count', { directedTags: ['et_no_such_tag'] });
    expect(missing.status).toBe(404);
    expect(missing.body.error.message.replace('et_no_such_tag', 'X')).toBe(hidden.body.error.message.replace(southSecret, 'X'));
    const rep = await w.as('east_rep1');
    const mine = await rep.post('/api/personal-tags', { name: '老客户' });
    expect(mine.status).toBe(201);
    const other = await eastMgr.post('/api/audiences/count', { personalTags: [mine.body.id] });
    expect(other.status).toBe(404);
    expect((await eastMgr.post('/api/audiences/count', { personalTags: [vip] })).status).toBe(404);
    expect((await eastMgr.post('/api/audiences/count', { enterpriseTags: [vip], conditions: { stage: 'x' } })).status).toBe(400);
    // South's manager sees the secret tag and counts with it.
    expect(steps((await (await w.as('south_mgr')).post('/api/audiences/count', { enterpriseTags: [southSecret] })).body)).toEqual([1, 1, 1]);
  });

  it('refines with the creator\'s own personal tags on their own relations, and limits by directed tags', async () => {
    // east_rep1 manages 上海 too: a manager who has customers of their own.
    expect((await w.admin.request('PUT', '/api/admin/members/east_rep1/roles', { roles: [], managedDepartments: [4] })).status).toBe(200);
    const rep = await w.as('east_rep1');
    const tag = (await rep.get('/api/personal-tags')).body.tags.find((t: { name: string }) => t.name === '老客户');
    expect((await rep.post('/api/customers/wmEast1/tags', { add: [tag.id] })).status).toBe(200);
    const counted = await rep.post('/api/audiences/count', { enterpriseTags: [vip], personalTags: [tag.id] });
    expect(counted.status).toBe(200);
    // east_rep1's scope: own (wmEast1, wmEast2, wmShared, wmLeave4) and 上海's (wmEast3, wmEast4).
    expect(steps(counted.body)).toEqual([2, 1, 1]);
    expect(steps((await rep.post('/api/audiences/count', { directedTags: [normal] })).body)).toEqual([1, 1, 1]);
    expect(steps((await rep.post('/api/audiences/count', { enterpriseTags: [vip], directedTags: [normal] })).body)).toEqual([0, 0, 0]);
  });
});

describe('campaigns', () => {
  it('only managers and admins create campaigns; bad messages are refused with what to fix', async () => {
    const rep = await w.as('east_rep2');
    const refused = await rep.post('/api/campaigns', { name: '双十一', audience: { enterpriseTags: [vip] }, content: { text: { content: '好礼' } } });
    expect(refused.status).toBe(403);
    const eastMgr = await w.as('east_mgr');
    const empty = await eastMgr.post('/api/campaigns', { name: '空', audience: {}, content: {} });
    expect(empty.status).toBe(400);
    expect(empty.body.error.message).toContain('text or at least one attachment');
    const link = { msgtype: 'link', link: { title: '活动', url: 'https://example.test/a' } };
    const tooMany = await eastMgr.post('/api/campaigns', { name: '多', audience: {}, content: { attachments: Array.from({ length: 10 }, () => link) } });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.error.message).toContain('at most 9 attachments');
    const long = await eastMgr.post('/api/campaigns', { name: '长', audience: {}, content: { text: { content: '字'.repeat(1334) } } });
    expect(long.status).toBe(400);
    expect(long.body.error.message).toContain('4000 bytes');
    const hidden = await eastMgr.post('/api/campaigns', { name: '越界', audience: { enterpriseTags: [southSecret] }, content: { text: { content: 'x' } } });
    expect(hidden.status).toBe(404);
    expect(await w.db.select().from(campaigns)).toEqual([]);
  });

  it('sends one task per owner through WeCom, reports per department and logs every touch with its selecting tags', async () => {
    const eastMgr = await w.as('east_mgr');
    const created = await eastMgr.post('/api/campaigns', {
      name: 'VIP 回馈',
      audience: { enterpriseTags: [vip] },
      content: {
        text: { content: 'VIP 专享礼遇' },
        attachments: [
          { msgtype: 'image', image: { pic_url: 'https://example.test/gift.png' } },
          { msgtype: 'miniprogram', miniprogram: { title: '商城', pic_media_id: 'MEDIA_1', appid: 'wx00000000000000aa', page: '/pages/vip' } },
        ],
      },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ state: 'draft', counts: { total: 3 } });
    const id = created.body.id as string;

    const preview = await eastMgr.get(`/api/campaigns/${id}/preview`);
    expect(preview.status).toBe(200);
    expect(preview.body.senders.map((s: { userid: string; customers: number }) => [s.userid, s.customers])).toEqual([['east_rep1', 2], ['leaver', 1]]);
    expect(preview.body).toMatchObject({ audience: 3, withoutSender: 0, content: { text: { content: 'VIP 专享礼遇' } } });

    // Another department's manager and a rep: the same 404 as a missing campaign, on every path.
    const southMgr = await w.as('south_mgr');
    for (const path of ['', '/preview', '/touches', '/touches.csv']) expect((await southMgr.get(`/api/campaigns/${id}${path}`)).status).toBe(404);
    expect((await southMgr.post(`/api/campaigns/${id}/send`, {})).status).toBe(404);
    expect((await (await w.as('south_rep')).get(`/api/campaigns/${id}`)).status).toBe(404);
    expect((await southMgr.get('/api/campaigns')).body.items).toEqual([]);

    const sent = await eastMgr.post(`/api/campaigns/${id}/send`, {});
    expect(sent.status).toBe(202);
    expect((await eastMgr.post(`/api/campaigns/${id}/send`, {})).status).toBe(409);
    await sentAndPolled(eastMgr, id);

    const calls = (await w.t.simCall<{ calls: { body: { sender: string; external_userid: string[]; attachments: unknown[] } }[] }>('GET', '/sim/calls?path=/cgi-bin/externalcontact/add_msg_template')).calls;
    expect(calls.map((c) => [c.body.sender, [...c.body.external_userid].sort()]).sort()).toEqual([['east_rep1', ['wmEast1', 'wmEast2']], ['leaver', ['wmLeave1']]]);
    expect(calls[0]!.body.attachments).toHaveLength(2);

    // east_rep1 confirms sending in WeCom; the leaver never does.
    const task = await w.db.select({ result: outgoingWrites.result, payload: outgoingWrites.payload }).from(outgoingWrites).where(eq(outgoingWrites.api, 'add_msg_template'));
    const msgid = (task.find((t) => (t.payload as { sender: string }).sender === 'east_rep1')!.result as { msgid: string }).msgid;
    await w.t.simCall('POST', '/sim/groupmsg/send', { msgid, userid: 'east_rep1' });
    const refreshed = await eastMgr.post(`/api/campaigns/${id}/refresh`);
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.report.totals).toEqual({ targeted: 3, delivered: 2, failed: 0, pending: 1 });
    expect(refreshed.body.report.departments).toEqual([{ departmentId: 2, department: '华东', targeted: 3, delivered: 2, failed: 0, pending: 1 }]);
    expect(refreshed.body.report.senders).toMatchObject([{ userid: 'east_rep1', sent: true, delivered: 2 }, { userid: 'leaver', sent: false, delivered: 0 }]);

    const touches = await eastMgr.get(`/api/campaigns/${id}/touches`);
    expect(touches.status).toBe(200);
    expect(touches.body.items.map((t: { externalUserId: string; sender: string; status: string }) => [t.externalUserId, t.sender, t.status]))
      .toEqual([['wmEast1', 'east_rep1', 'delivered'], ['wmEast2', 'east_rep1', 'delivered'], ['wmLeave1', 'leaver', 'pending']]);
    expect(touches.body.items[0].selectedBy).toEqual([{ tagId: vip, name: 'VIP', kind: 'corp', layers: ['enterprise'], path: ['客户等级', 'VIP'], visibility: 'everyone in the company' }]);
    expect(touches.body.items[0].sentAt).toEqual(expect.any(String));

    // The touch log as CSV: managers have export scope over their departments.
    const csv = await fetch(`${w.t.url}/api/campaigns/${id}/touches.csv`, { headers: { cookie: [...eastMgr.cookies].map(([k, v]) => `${k}=${v}`).join('; ') } });
    expect(csv.status).toBe(200);
    const lines = (await csv.text()).replace('\ufeff', '').trim().split('\r\n');
    expect(lines).toHaveLength(4);
    expect(lines[1]).toContain('wmEast1');
    expect(lines[1]).toContain('everyone in the company');
    const audits = await w.auditSince(0, 'campaign.touches.export');
    expect(audits.at(-1)).toMatchObject({ actor: 'east_mgr', outcome: 'done', details: { rowCount: 3 } });
  });

  it('records the visibility of a department-limited tag at sending time, and the touch log follows the reader\'s scope', async () => {
    const southMgr = await w.as('south_mgr');
    const created = await southMgr.post('/api/campaigns', { name: '南方专属', audience: { enterpriseTags: [vip], directedTags: [southSecret] }, content: { text: { content: '华南活动' } } });
    expect(created.status).toBe(201);
    expect(created.body.counts.total).toBe(1);
    expect((await southMgr.post(`/api/campaigns/${created.body.id}/send`, {})).status).toBe(202);
    await sentAndPolled(southMgr, created.body.id);
    const touches = (await southMgr.get(`/api/campaigns/${created.body.id}/touches`)).body.items;
    expect(touches).toHaveLength(1);
    expect(touches[0]).toMatchObject({ externalUserId: 'wmSouth1', sender: 'south_rep' });
    const secret = touches[0].selectedBy.find((t: { tagId: string }) => t.tagId === southSecret);
    expect(secret).toMatchObject({ layers: ['directed'], visibility: '华南机密: department 华南' });
    // The admin reads every touch; the east manager cannot even find the campaign.
    expect((await w.admin.get(`/api/campaigns/${created.body.id}/touches`)).body.items).toHaveLength(1);
    expect((await (await w.as('east_mgr')).get(`/api/campaigns/${created.body.id}/touches`)).status).toBe(404);
  });

  it('schedules a send for later and cancels it; a time in the past is refused', async () => {
    const eastMgr = await w.as('east_mgr');
    const created = await eastMgr.post('/api/campaigns', { name: '下周', audience: { enterpriseTags: [normal] }, content: { text: { content: '下周见' } } });
    const id = created.body.id as string;
    const past = await eastMgr.post(`/api/campaigns/${id}/send`, { at: new Date(Date.now() - 60_000).toISOString() });
    expect(past.status).toBe(400);
    expect(past.body.error.message).toContain('in the past');
    const at = new Date(Date.now() + 3_600_000).toISOString();
    const scheduled = await eastMgr.post(`/api/campaigns/${id}/send`, { at });
    expect(scheduled.status).toBe(202);
    expect(scheduled.body).toMatchObject({ state: 'scheduled', scheduledAt: at });
    expect(await w.t.product.ctx.queues.campaigns.getJob(`send-${id}`)).toBeTruthy();
    const canceled = await eastMgr.post(`/api/campaigns/${id}/cancel`);
    expect(canceled.status).toBe(200);
    expect(canceled.body.state).toBe('canceled');
    expect(await w.t.product.ctx.queues.campaigns.getJob(`send-${id}`)).toBeFalsy();
    expect(await w.db.select().from(campaignTouches).where(eq(campaignTouches.campaignId, id))).toEqual([]);
    expect((await eastMgr.post(`/api/campaigns/${id}/cancel`)).status).toBe(409);
  });
});
