// The web app's server side: the built sidebar and console served with their fallbacks and caching,
// JS-SDK signatures made on the server for this app's own pages only (tickets never sent), the
// organization for the console, and the sandbox member list for the sign-in picker.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WEB_APP_DIST } from '../../server/routes/web-app.route.ts';
import { startTestProduct, waitFor, type ApiClient, type TestProduct } from '../support/test-product.ts';

const sha1 = (text: string) => createHash('sha1').update(text).digest('hex');

describe('web app served by the product', () => {
  let t: TestProduct;
  let admin: ApiClient;
  let rep: ApiClient;

  beforeAll(async () => {
    if (!existsSync(join(WEB_APP_DIST, 'sidebar', 'index.html'))) throw new Error('sidebar/dist is missing: `npm test` builds it (test/prepare.mjs), or run `npm run build:web`');
    t = await startTestProduct();
    admin = await t.as('zhuxiaoyan');
    const sync = await admin.post('/api/admin/sync');
    await waitFor(async () => (await admin.get(`/api/jobs/${sync.body.jobId}`)).body.state === 'completed', 'the sync');
    rep = await t.as('zhangwei');
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('answers every path of each surface with its index.html, uncached; hashed assets are cached for a year', async () => {
    const anonymous = t.anonymous();
    const redirect = await anonymous.get('/sidebar?x=1');
    expect(redirect.status).toBe(301);
    expect(redirect.headers.get('location')).toBe('/sidebar/?x=1');
    for (const [path, surface] of [['/sidebar/', 'sidebar'], ['/sidebar/customer/wm1', 'sidebar'], ['/admin/', 'admin'], ['/admin/tags/visibility', 'admin']] as const) {
      const page = await anonymous.get(path);
      expect(page.status, path).toBe(200);
      expect(page.headers.get('content-type')).toMatch(/text\/html/);
      expect(page.headers.get('cache-control')).toBe('no-cache');
      expect(page.body).toBe(readFileSync(join(WEB_APP_DIST, surface, 'index.html'), 'utf8'));
    }
    expect((await anonymous.get('/admin/')).headers.get('x-frame-options')).toBe('DENY');
    const asset = readdirSync(join(WEB_APP_DIST, 'assets')).find((name) => name.endsWith('.js'))!;
    const script = await anonymous.get(`/assets/${asset}`);
    expect(script.status).toBe(200);
    expect(script.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    const missing = await anonymous.get('/assets/nothing-here-0000.js');
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toMatch(/text\/plain/);
  });

  it('keeps the sidebar JavaScript under 150 KB gzip (measured at build time)', () => {
    const sizes = JSON.parse(readFileSync(join(WEB_APP_DIST, 'sizes.json'), 'utf8')) as Record<string, { initialJs: number; totalJs: number }>;
    expect(sizes.sidebar!.totalJs).toBeGreaterThan(10_000);
    expect(sizes.sidebar!.totalJs).toBeLessThan(150 * 1024);
  });

  it('signs this app\'s pages for the JS-SDK with both tickets, never sending a ticket', async () => {
    const url = `${t.url}/sidebar/?from=chat`;
    expect((await t.anonymous().get(`/api/jssdk/config?url=${encodeURIComponent(url)}`)).status).toBe(401);
    const answer = await rep.get(`/api/jssdk/config?url=${encodeURIComponent(`${url}#/customer/wm1`)}`);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('cache-control')).toBe('no-store');
    const corpTicket = await t.product.ctx.wecom.getJsapiTicket();
    const agentTicket = await t.product.ctx.wecom.getAgentConfigTicket();
    const { corpId, agentId, timestamp, nonceStr, signature, agentSignature } = answer.body;
    expect(corpId).toBe(t.product.ctx.config.wecom.corpId);
    expect(agentId).toBe(t.product.ctx.config.wecom.agentId);
    expect(Math.abs(timestamp - Date.now() / 1000)).toBeLessThan(60);
    // The signed URL is the page without its fragment (wecom-api.md §9).
    expect(signature).toBe(sha1(`jsapi_ticket=${corpTicket}&noncestr=${nonceStr}&timestamp=${timestamp}&url=${url}`));
    expect(agentSignature).toBe(sha1(`jsapi_ticket=${agentTicket}&noncestr=${nonceStr}&timestamp=${timestamp}&url=${url}`));
    expect(JSON.stringify(answer.body)).not.toContain(corpTicket);
    expect(JSON.stringify(answer.body)).not.toContain(agentTicket);
  });

  it('refuses to sign pages of other origins', async () => {
    for (const url of ['https://evil.example/sidebar/', 'not a url', `${t.url.replace('127.0.0.1', 'localhost')}/sidebar/`]) {
      const answer = await rep.get(`/api/jssdk/config?url=${encodeURIComponent(url)}`);
      expect(answer.status, url).toBe(400);
    }
  });

  it('gives admins the organization with departments, members and roles; members get 403', async () => {
    const org = await admin.get('/api/admin/org');
    expect(org.status).toBe(200);
    expect(org.body.departments).toContainEqual(expect.objectContaining({ id: 2, name: '华东大区', parentId: 1 }));
    const boss = org.body.members.find((m: { userid: string }) => m.userid === 'zhuxiaoyan');
    expect(boss).toMatchObject({ name: '朱晓燕', roles: ['admin', 'manager', 'rep'], departments: [{ id: 1, isLeader: true }] });
    const guide = org.body.members.find((m: { userid: string }) => m.userid === 'zhangwei');
    expect(guide.roles).toEqual(['rep']);
    // Roles end with activity: only active members hold any.
    for (const m of org.body.members as { status: number; roles: string[] }[]) expect(m.roles.includes('rep')).toBe(m.status === 1);
    expect((await rep.get('/api/admin/org')).status).toBe(403);
  });

  it('gives admins the dashboard aggregates (no customer data), members 403', async () => {
    const dashboard = await admin.get('/api/admin/dashboard');
    expect(dashboard.status).toBe(200);
    const list = await admin.get('/api/customers/count');
    expect(dashboard.body.totals.customers).toBe(list.body.count);
    expect(dashboard.body.tagUsage.departments.map((d: { name: string }) => d.name)).toEqual(['华东大区', '华南大区', '西南大区', '市场部', '电商部']);
    const vip = dashboard.body.tagUsage.tags.find((tag: { name: string }) => tag.name === 'VIP');
    expect(vip.counts).toHaveLength(5);
    expect(vip.counts.reduce((a: number, b: number) => a + b, 0)).toBeGreaterThan(0);
    const perOwner = dashboard.body.customersPerOwner as { customers: number; name: string }[];
    expect(perOwner.length).toBeGreaterThan(0);
    expect(perOwner.map((o) => o.customers)).toEqual([...perOwner.map((o) => o.customers)].sort((a, b) => b - a));
    expect(dashboard.body.poolSize).toHaveLength(30);
    expect(dashboard.body.poolSize.at(-1).size).toBe(dashboard.body.totals.inPool);
    expect(JSON.stringify(dashboard.body)).not.toMatch(/wm[A-Za-z0-9_-]{10,}/);
    expect((await rep.get('/api/admin/dashboard')).status).toBe(403);
  });

  it('lists active members for the sandbox sign-in picker', async () => {
    const list = await t.anonymous().get('/api/dev/members');
    expect(list.status).toBe(200);
    expect(list.body.members).toContainEqual(expect.objectContaining({ userid: 'zhangwei', name: '张伟', department: '上海徐家汇店', roles: ['rep'] }));
    expect(list.body.members.every((m: { userid: string }) => m.userid !== 'nonexistent')).toBe(true);
  });
});
