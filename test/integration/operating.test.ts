// Operating the product: JSON logs with a request id carried from the callback into its job and that
// job's WeCom calls, Prometheus metrics at /metrics (token or admin session) after real callbacks,
// and the admins-only queue board. The whole product over HTTP, the run's real Redis, PGlite and the
// simulator.
import { randomInt } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inboxEvents } from '../../server/db/schema.ts';
import { createLogger } from '../../server/logger.ts';
import { encryptMessage, signatureOf } from '../../server/wecom/callback-crypto.ts';
import { demoCompany } from '../../wecom-sim/index.ts';
import { startTestProduct, waitFor, type ApiClient, type TestProduct } from '../support/test-product.ts';

const METRICS_TOKEN = 'metrics-token-for-the-operating-test-0123456789';
const lines: string[] = [];
const logged = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);

let t: TestProduct;
let admin: ApiClient;
let rep: ApiClient;
let createTime = 1_900_000_000 + randomInt(1_000_000);

/** A customer-contact event for a demo customer, encrypted and signed as WeCom sends it. */
function signedEvent(changeType = 'edit_external_contact'): { query: string; body: string } {
  const customer = demoCompany().customers![0]!;
  const { corpId, callbackToken, callbackAesKey } = t.product.ctx.config.wecom;
  const credentials = { token: callbackToken, encodingAesKey: callbackAesKey, receiveId: corpId };
  const fields = { ToUserName: corpId, FromUserName: 'sys', MsgType: 'event', CreateTime: String(++createTime), Event: 'change_external_contact', ChangeType: changeType, UserID: customer.follow_users![0]!.userid, ExternalUserID: customer.external_userid! };
  const encrypt = encryptMessage(credentials, `<xml>${Object.entries(fields).map(([k, v]) => `<${k}><![CDATA[${v}]]></${k}>`).join('')}</xml>`);
  const timestamp = String(Math.floor(Date.now() / 1000));
  const nonce = String(randomInt(1, 2 ** 31));
  const query = new URLSearchParams({ msg_signature: signatureOf(callbackToken, timestamp, nonce, encrypt), timestamp, nonce }).toString();
  return { query, body: `<xml><ToUserName><![CDATA[${corpId}]]></ToUserName><Encrypt><![CDATA[${encrypt}]]></Encrypt><AgentID><![CDATA[1000002]]></AgentID></xml>` };
}

async function deliver(event: { query: string; body: string }, headers: Record<string, string> = {}) {
  return fetch(`${t.url}/wecom/callback?${event.query}`, { method: 'POST', headers: { 'content-type': 'text/xml', ...headers }, body: event.body });
}

/** Scrapes /metrics with the bearer token and reads one sample (undefined when absent). */
async function scrape(): Promise<(name: string, labels?: Record<string, string>) => number | undefined> {
  const response = await fetch(`${t.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toContain('text/plain');
  const text = await response.text();
  return (name, labels = {}) => {
    for (const line of text.split('\n')) {
      const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (!match || match[1] !== name) continue;
      const found = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
      if (Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(match[3]);
    }
    return undefined;
  };
}

const pendingEvents = async () => (await t.product.ctx.db.select({ n: sql<number>`count(*)::int` }).from(inboxEvents).where(sql`status = 'pending'`))[0]!.n;

beforeAll(async () => {
  t = await startTestProduct({ env: { METRICS_TOKEN }, start: { logger: createLogger('debug', {}, (line) => void lines.push(line)) } });
  [admin, rep] = await Promise.all([t.as('zhuxiaoyan'), t.as('zhangwei')]);
}, 60_000);

afterAll(async () => {
  await t?.stop();
});

describe('request ids and structured logs', () => {
  it('carries the callback\'s X-Request-Id into the access line, the event job\'s line and its WeCom calls', async () => {
    const requestId = `wecom-retry-${randomInt(1e9)}`;
    const response = await deliver(signedEvent(), { 'x-request-id': requestId });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-request-id')).toBe(requestId);

    const access = await waitFor(async () => logged().find((l) => l.msg === 'request completed' && l.requestId === requestId), 'the callback access line');
    expect(access).toMatchObject({ level: 'info', method: 'POST', path: '/wecom/callback', status: 200, callback: 'stored' });
    expect(access.inboxId).toEqual(expect.any(Number));
    const processed = await waitFor(async () => logged().find((l) => l.msg === 'callback event processed' && l.inboxId === access.inboxId), 'the event job line');
    expect(processed).toMatchObject({ requestId, queue: 'wecom-events', jobId: `event-${access.inboxId}`, level: 'info' });
    const wecomCall = logged().find((l) => l.msg === 'wecom call' && l.api === '/cgi-bin/externalcontact/get' && l.requestId === requestId);
    expect(wecomCall).toMatchObject({ errcode: 0, queue: 'wecom-events' });
    // Every line is one JSON object with a level, an ISO time and the process.
    expect(access.time).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(access.pid).toBe(process.pid);
  });

  it('makes a request id when none (or a malformed one) is sent, and answers it back', async () => {
    const plain = await fetch(`${t.url}/healthz`);
    expect(plain.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const malformed = await fetch(`${t.url}/healthz`, { headers: { 'x-request-id': 'two words' } });
    expect(malformed.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const api = await rep.request('GET', '/api/me', undefined, { 'x-request-id': 'console-42' });
    expect(api.headers.get('x-request-id')).toBe('console-42');
    const line = await waitFor(async () => logged().find((l) => l.requestId === 'console-42' && l.msg === 'request completed'), 'the API access line');
    expect(line).toMatchObject({ method: 'GET', path: '/api/me', status: 200 });
  });

  it('never logs the callback secrets, the access token, decrypted bodies or phone numbers', async () => {
    await waitFor(async () => (await pendingEvents()) === 0, 'the inbox to drain');
    const { callbackToken, callbackAesKey, agentSecret } = t.product.ctx.config.wecom;
    const accessToken = await t.product.ctx.wecom.getAccessToken();
    const all = lines.join('\n');
    expect(lines.length).toBeGreaterThan(10);
    for (const secret of [callbackToken, callbackAesKey, agentSecret, accessToken]) expect(all).not.toContain(secret);
    expect(all).not.toContain('<xml>');
    expect(all).not.toContain('ExternalUserID>');
    expect(all).not.toMatch(/(?<!\d)1[3-9]\d{9}(?!\d)/);
  });
});

describe('/metrics', () => {
  it('is refused without a token or an admin session', async () => {
    expect((await fetch(`${t.url}/metrics`)).status).toBe(401);
    const wrong = await fetch(`${t.url}/metrics`, { headers: { authorization: 'Bearer not-the-token' } });
    expect(wrong.status).toBe(401);
    expect((await wrong.json()).error.message).toContain('METRICS_TOKEN');
    expect((await rep.get('/metrics')).status).toBe(403);
    const asAdmin = await admin.get('/metrics');
    expect(asAdmin.status).toBe(200);
    expect(asAdmin.body).toContain('wtg_callbacks_total');
  });

  it('counts callbacks by outcome, WeCom calls by API and errcode, 45009, jobs and queue depths after real callbacks', async () => {
    const before = await scrape();
    const stored = before('wtg_callbacks_total', { outcome: 'stored' }) ?? 0;
    const duplicate = before('wtg_callbacks_total', { outcome: 'duplicate' }) ?? 0;
    const unauthorized = before('wtg_callbacks_total', { outcome: 'unauthorized' }) ?? 0;
    const limited = before('wtg_wecom_calls_total', { api: 'externalcontact/get', errcode: '45009' }) ?? 0;

    // WeCom answers the next customer read with 45009 once; the client backs off and reads again.
    await t.simCall('POST', '/sim/faults', { path: '/cgi-bin/externalcontact/get', errcode: 45009, count: 1 });
    const event = signedEvent();
    expect((await deliver(event)).status).toBe(200);
    expect((await deliver(event)).status).toBe(200); // WeCom's retry of the same event
    const forged = signedEvent();
    expect((await deliver({ ...forged, query: forged.query.replace(/msg_signature=[0-9a-f]{4}/, 'msg_signature=0000') })).status).toBe(401);
    await waitFor(async () => (await pendingEvents()) === 0, 'the event to be processed');

    const after = await scrape();
    expect(after('wtg_callbacks_total', { outcome: 'stored' })).toBe(stored + 1);
    expect(after('wtg_callbacks_total', { outcome: 'duplicate' })).toBe(duplicate + 1);
    expect(after('wtg_callbacks_total', { outcome: 'unauthorized' })).toBe(unauthorized + 1);
    expect(after('wtg_wecom_calls_total', { api: 'externalcontact/get', errcode: '45009' })).toBe(limited + 1);
    expect(after('wtg_wecom_calls_total', { api: 'externalcontact/get', errcode: '0' })).toBeGreaterThanOrEqual(2);
    expect(after('wtg_wecom_frequency_limited_ratio')).toBeGreaterThan(0);
    expect(after('wtg_job_duration_seconds_count', { queue: 'wecom-events', outcome: 'completed' })).toBeGreaterThanOrEqual(2);
    expect(after('wtg_job_failures_total', { queue: 'wecom-events', final: 'true' }) ?? 0).toBe(0);
    for (const queue of ['wecom-events', 'wecom-writes', 'wecom-sync', 'customer-exports']) {
      expect(after('wtg_queue_jobs', { queue, state: 'waiting' }), queue).toBe(0);
      expect(after('wtg_queue_jobs', { queue, state: 'failed' }), queue).toBe(0);
    }
    expect(after('wtg_inbox_pending_events')).toBe(0);
    expect(after('wtg_inbox_oldest_pending_age_seconds')).toBe(0);
    expect(after('process_resident_memory_bytes')).toBeGreaterThan(0);
  });

  it('shows inbox lag and queue depth while events wait', async () => {
    await t.product.ctx.queues.events.pause();
    try {
      expect((await deliver(signedEvent())).status).toBe(200);
      const waiting = await waitFor(async () => {
        const read = await scrape();
        return (read('wtg_inbox_oldest_pending_age_seconds') ?? 0) > 0.2 ? read : undefined;
      }, 'the inbox lag to show');
      expect(waiting('wtg_inbox_pending_events')).toBe(1);
      expect(waiting('wtg_queue_jobs', { queue: 'wecom-events', state: 'waiting' })).toBe(1);
    } finally {
      await t.product.ctx.queues.events.resume();
    }
    await waitFor(async () => (await pendingEvents()) === 0, 'the waiting event to be processed');
  });
});

describe('queue board at /admin/queues', () => {
  it('is for admins only', async () => {
    expect((await t.anonymous().get('/admin/queues')).status).toBe(401);
    expect((await rep.get('/admin/queues')).status).toBe(403);
    expect((await rep.get('/admin/queues/api/queues')).status).toBe(403);
    const page = await admin.get('/admin/queues');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(page.body).toContain('/admin/queues');
  });

  it('lists every queue, read-only', async () => {
    const queues = await admin.get('/admin/queues/api/queues?activeQueue=wecom-events&status=latest&page=1');
    expect(queues.status).toBe(200);
    const names = (queues.body.queues as { name: string; readOnlyMode: boolean }[]).map((q) => q.name).sort();
    expect(names).toEqual(['customer-assignment', 'customer-exports', 'maintenance', 'public-pool', 'wecom-events', 'wecom-sync', 'wecom-transfers', 'wecom-welcome', 'wecom-writes']);
    expect((queues.body.queues as { readOnlyMode: boolean }[]).every((q) => q.readOnlyMode)).toBe(true);
    // An admin's action through the board (here: pausing the events queue) is refused and changes nothing.
    const pause = await admin.request('PUT', '/admin/queues/api/queues/wecom-events/pause', {});
    expect(pause.status).toBeGreaterThanOrEqual(400);
    expect(pause.status).toBeLessThan(500);
    expect(await t.product.ctx.queues.events.isPaused()).toBe(false);
  });
});
