// Materials bound to tag groups, over real HTTP and a real database: a member sees only materials of
// tag groups they may see and of regions they belong to; regional managers manage only their
// region's materials; admins manage all, company-wide ones too; sending into a chat is recorded only
// for a visible material and a customer in the member's view scope. No path leaks across departments.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOwnershipWorld, type OwnershipWorld } from '../support/ownership-company.ts';

let w: OwnershipWorld;
let levels: string;
let southSecret: string;
const ids: Record<string, string> = {};

const titles = (body: { items: { title: string }[] }) => body.items.map((m) => m.title).sort();

beforeAll(async () => {
  w = await startOwnershipWorld();
  levels = w.reset.tagGroups.find((g) => g.group_name === '客户等级')!.group_id;
  southSecret = w.reset.tagGroups.find((g) => g.group_name === '华南机密')!.group_id;
  expect((await w.admin.request('PUT', `/api/admin/tag-groups/${southSecret}/visibility`, { see: { departments: [3] } })).status).toBe(200);
});

afterAll(async () => {
  await w?.stop();
});

describe('material library', () => {
  it('admins create company-wide and regional materials; regional managers only inside their region', async () => {
    const company = await w.admin.post('/api/material-library', { kind: 'text', title: '公司介绍', content: { text: '我们是…' }, tagGroupIds: [levels] });
    expect(company.status).toBe(201);
    ids.company = company.body.id;
    // The admin does not see 华南机密 (seen by 华南 only), so cannot bind to it; 华南's manager can.
    expect((await w.admin.post('/api/material-library', { kind: 'link', title: '华南内部价', content: { url: 'https://example.test/south' }, tagGroupIds: [southSecret] })).status).toBe(404);
    const secret = await (await w.as('south_mgr')).post('/api/material-library', { kind: 'link', title: '华南内部价', content: { url: 'https://example.test/south' }, tagGroupIds: [southSecret], departmentId: 3 });
    expect(secret.status).toBe(201);
    ids.secret = secret.body.id;

    const eastMgr = await w.as('east_mgr');
    const east = await eastMgr.post('/api/material-library', { kind: 'image', title: '华东海报', content: { picUrl: 'https://example.test/east.png', mediaId: 'MEDIA_EAST' }, tagGroupIds: [levels], departmentId: 2 });
    expect(east.status).toBe(201);
    ids.east = east.body.id;
    const shanghai = await eastMgr.post('/api/material-library', { kind: 'text', title: '上海门店', content: { text: '徐家汇店地址' }, tagGroupIds: [levels], departmentId: 4 });
    expect(shanghai.status).toBe(201);
    ids.shanghai = shanghai.body.id;

    const outside = await eastMgr.post('/api/material-library', { kind: 'text', title: '越界', content: { text: 'x' }, tagGroupIds: [levels], departmentId: 3 });
    expect(outside.status).toBe(403);
    expect(outside.body.error.message).toContain('outside the regions you manage');
    expect((await eastMgr.post('/api/material-library', { kind: 'text', title: '全公司', content: { text: 'x' }, tagGroupIds: [levels] })).status).toBe(403);
    const hiddenGroup = await eastMgr.post('/api/material-library', { kind: 'text', title: '偷看', content: { text: 'x' }, tagGroupIds: [southSecret], departmentId: 2 });
    expect(hiddenGroup.status).toBe(404);
    expect(hiddenGroup.body.error.code).toBe('TAG_NOT_FOUND');
    const badContent = await eastMgr.post('/api/material-library', { kind: 'link', title: '坏链接', content: { url: 'javascript:alert(1)' }, tagGroupIds: [levels], departmentId: 2 });
    expect(badContent.status).toBe(400);
    expect(badContent.body.error.message).toContain('content.url');
    expect((await eastMgr.post('/api/material-library', { kind: 'text', title: '无标签', content: { text: 'x' }, tagGroupIds: [], departmentId: 2 })).status).toBe(400);
    expect((await (await w.as('east_rep1')).post('/api/material-library', { kind: 'text', title: '销售', content: { text: 'x' }, tagGroupIds: [levels], departmentId: 2 })).status).toBe(403);
  });

  it('each librarian lists and changes only their region\'s materials', async () => {
    expect(titles((await w.admin.get('/api/material-library')).body)).toEqual(['上海门店', '公司介绍', '华东海报', '华南内部价']);
    const eastMgr = await w.as('east_mgr');
    expect(titles((await eastMgr.get('/api/material-library')).body)).toEqual(['上海门店', '华东海报']);
    const southMgr = await w.as('south_mgr');
    expect(titles((await southMgr.get('/api/material-library')).body)).toEqual(['华南内部价']);
    expect((await southMgr.request('PUT', `/api/material-library/${ids.east}`, { kind: 'text', title: '改', content: { text: 'x' }, tagGroupIds: [levels], departmentId: 3 })).status).toBe(404);
    expect((await southMgr.request('DELETE', `/api/material-library/${ids.east}`)).status).toBe(404);
    expect((await (await w.as('east_rep1')).get('/api/material-library')).status).toBe(403);
    const renamed = await eastMgr.request('PUT', `/api/material-library/${ids.shanghai}`, { kind: 'text', title: '上海门店地址', content: { text: '徐家汇店' }, tagGroupIds: [levels], departmentId: 4 });
    expect(renamed.status).toBe(200);
    expect(renamed.body.title).toBe('上海门店地址');
    const denied = await w.auditSince(0, 'material.update');
    expect(denied.map((a) => [a.actor, a.outcome])).toEqual([['south_mgr', 'denied'], ['east_mgr', 'done']]);
  });
});

describe('materials in the sidebar', () => {
  it('a member sees materials of tag groups they may see, in regions they belong to', async () => {
    expect(titles((await (await w.as('east_rep1')).get('/api/materials')).body)).toEqual(['公司介绍', '华东海报']);
    expect(titles((await (await w.as('east_rep2')).get('/api/materials')).body)).toEqual(['上海门店地址', '公司介绍', '华东海报']);
    expect(titles((await (await w.as('south_rep')).get('/api/materials')).body)).toEqual(['公司介绍', '华南内部价']);
    // The admin (总部) is in no region and does not see 华南机密.
    expect(titles((await w.admin.get('/api/materials')).body)).toEqual(['公司介绍']);
  });

  it('records a send only for a visible material and a customer in the member\'s view scope', async () => {
    const rep = await w.as('east_rep1');
    const sent = await rep.post(`/api/materials/${ids.east}/sent`, { externalUserId: 'wmEast1' });
    expect(sent.status).toBe(200);
    expect((await rep.post(`/api/materials/${ids.secret}/sent`, { externalUserId: 'wmEast1' })).status).toBe(404);
    expect((await rep.post(`/api/materials/${ids.east}/sent`, { externalUserId: 'wmSouth1' })).status).toBe(404);
    const entries = await w.auditSince(0, 'material.send');
    expect(entries.map((e) => [e.actor, e.subjectId, e.outcome])).toEqual([['east_rep1', 'wmEast1', 'done'], ['east_rep1', ids.secret, 'denied']]);
  });

  it('a deleted material disappears from the sidebar', async () => {
    expect((await (await w.as('east_mgr')).request('DELETE', `/api/material-library/${ids.east}`)).status).toBe(200);
    expect(titles((await (await w.as('east_rep1')).get('/api/materials')).body)).toEqual(['公司介绍']);
  });
});
