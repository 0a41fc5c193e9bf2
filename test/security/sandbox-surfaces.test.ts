// The sandbox-only surfaces do not exist in a production-configured product (SANDBOX=0 with real-looking
// WeCom settings, pointed at a separately started simulator): no dev login, no sign-in picker, no
// simulator control API on the product's address, no simulator started, nothing about it in /healthz.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../server/app.ts';
import { SESSION_COOKIE } from '../../server/auth/session.ts';
import { listRoutes } from '../../server/http/route-table.ts';
import { startSimulator, type RunningSimulator } from '../../wecom-sim/index.ts';
import { startTestProduct, type TestProduct } from '../support/test-product.ts';

let sim: RunningSimulator;
let prod: TestProduct;

beforeAll(async () => {
  sim = await startSimulator({
    seed: { departments: [{ id: 1, name: 'HQ', parentid: 0 }], users: [{ userid: 'alice', name: 'Alice', department: [1] }], customers: [] },
  });
  prod = await startTestProduct({
    env: {
      SANDBOX: '0',
      WECOM_CORP_ID: 'wwsimcorp0000000001',
      WECOM_AGENT_SECRET: 'sim-agent-secret',
      WECOM_AGENT_ID: '1000002',
      WECOM_API_BASE: sim.url,
      WECOM_CALLBACK_TOKEN: 'prodCallbackToken01',
      WECOM_CALLBACK_AES_KEY: 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG',
      SESSION_SECRET: 'a-production-session-secret-of-enough-length',
      PUBLIC_URL: 'https://crm.example.com',
      ADMIN_USERIDS: 'alice',
    },
  });
});

afterAll(async () => {
  await prod?.stop();
  await sim?.close();
});

describe('production mode', () => {
  it('starts no simulator and says nothing of one', async () => {
    expect(prod.product.ctx.config.sandbox).toBe(false);
    expect(prod.product.simulator).toBeUndefined();
    expect(prod.product.ctx.sandbox).toBeUndefined();
    const health = await prod.anonymous().get('/healthz');
    expect(health.body.sandbox).toBeUndefined();
    expect((await prod.anonymous().get('/')).body).not.toMatch(/simulator|sandbox/);
  });

  it('mounts no dev login and no sign-in picker: they are the API\'s 404 for unknown routes', async () => {
    const routes = listRoutes(createApp(prod.product.ctx)).map((r) => `${r.method} ${r.path}`);
    expect(routes.filter((r) => r.includes('/api/dev/'))).toEqual([]);
    const browser = prod.anonymous();
    const login = await browser.post('/api/dev/login', { userid: 'alice' });
    expect(login.status).toBe(404);
    expect(login.body.error.code).toBe('NOT_FOUND');
    expect(login.headers.getSetCookie().some((c) => c.startsWith(`${SESSION_COOKIE}=`))).toBe(false);
    expect((await browser.get('/api/me')).status).toBe(401);
    expect((await browser.get('/api/dev/members')).status).toBe(404);
  });

  it('answers none of the simulator\'s control API or WeCom API paths', async () => {
    const client = prod.anonymous();
    for (const [method, path] of [
      ['POST', '/sim/reset'], ['POST', '/sim/oauth/code'], ['POST', '/sim/customers/add'], ['POST', '/sim/members/resign'],
      ['POST', '/sim/clock/advance'], ['POST', '/sim/faults'], ['GET', '/sim/calls'], ['GET', '/sim/state'],
      ['GET', '/cgi-bin/gettoken?corpid=wwsimcorp0000000001&corpsecret=sim-agent-secret'], ['GET', '/connect/oauth2/authorize'],
    ] as const) {
      const res = await client.request(method, path, method === 'POST' ? {} : undefined);
      expect(res.status, `${method} ${path}`).toBe(404);
    }
  });

  it('the same paths do exist in sandbox mode (the checks above are not vacuous)', async () => {
    const sandbox = await startTestProduct();
    try {
      const routes = listRoutes(createApp(sandbox.product.ctx)).map((r) => `${r.method} ${r.path}`);
      expect(routes).toEqual(expect.arrayContaining(['POST /api/dev/login', 'GET /api/dev/members']));
      expect((await sandbox.anonymous().post('/api/dev/login', { userid: 'zhuxiaoyan' })).status).toBe(200);
      expect((await sandbox.anonymous().get('/healthz')).body.sandbox.simulatorUrl).toBe(sandbox.sim.url);
      const control = await fetch(`${sandbox.sim.url}/sim/oauth/code`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"userid":"zhuxiaoyan"}' });
      expect(control.status).toBe(200);
    } finally {
      await sandbox.stop();
    }
  });
});
