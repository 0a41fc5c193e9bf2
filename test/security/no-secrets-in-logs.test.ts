// No secret reaches the logs: a full flow runs with every log line captured at debug level (the
// product's and the sandbox simulator's): sign-in by OAuth and dev login, a full sync (access token),
// callbacks with encrypted bodies (processed by the workers) and a rejected one, the JS-SDK config
// (jsapi tickets), customers with phone numbers (detail and reveal), an export and its download. Then
// the captured text is searched for the corp secret, the callback token and AES key, every cached
// token and ticket, the session cookies, every phone number and any decrypted callback XML.
import { randomInt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SESSION_COOKIE } from '../../server/auth/session.ts';
import { followRelations } from '../../server/db/schema.ts';
import { createLogger } from '../../server/logger.ts';
import { encryptMessage, signatureOf } from '../../server/wecom/callback-crypto.ts';
import { ownershipCompany } from '../support/ownership-company.ts';
import { startTestProduct, waitFor, type ApiClient, type TestProduct } from '../support/test-product.ts';

const lines: string[] = [];
const PREFIX = `logs${randomInt(1e9)}`;
let t: TestProduct;
const sessionCookies: string[] = [];

async function job(client: ApiClient, jobId: string): Promise<void> {
  await waitFor(async () => ['completed', 'failed'].includes((await client.get(`/api/jobs/${jobId}`)).body.state), `job ${jobId}`, 60_000);
}

/** A signed, encrypted callback as WeCom sends it; returns the status. */
async function callback(plaintext: string, signature?: string): Promise<number> {
  const { corpId, callbackToken, callbackAesKey } = t.product.ctx.config.wecom;
  const encrypt = encryptMessage({ token: callbackToken, encodingAesKey: callbackAesKey, receiveId: corpId }, plaintext);
  const timestamp = String(Math.floor(Date.now() / 1000));
  const nonce = String(randomInt(1, 2 ** 31));
  const query = new URLSearchParams({ msg_signature: signature ?? signatureOf(callbackToken, timestamp, nonce, encrypt), timestamp, nonce });
  const res = await fetch(`${t.url}/wecom/callback?${query}`, { method: 'POST', body: `<xml><ToUserName><![CDATA[${corpId}]]></ToUserName><Encrypt><![CDATA[${encrypt}]]></Encrypt></xml>` });
  return res.status;
}

beforeAll(async () => {
  t = await startTestProduct({
    env: { ADMIN_USERIDS: 'boss', LOG_LEVEL: 'debug' },
    start: { logger: createLogger('debug', {}, (line) => lines.push(line)), redisPrefix: PREFIX },
  });
  await t.sim.reset(ownershipCompany());
  const boss = await t.as('boss');
  sessionCookies.push(boss.cookies.get(SESSION_COOKIE)!);
  const sync = await boss.post('/api/admin/sync');
  await job(boss, sync.body.jobId);

  // OAuth sign-in.
  const browser = t.anonymous();
  const start = await browser.get('/api/auth/wecom/start');
  const state = new URL(start.headers.get('location')!).searchParams.get('state')!;
  const { code } = await t.simCall<{ code: string }>('POST', '/sim/oauth/code', { userid: 'east_rep1' });
  expect((await browser.get(`/api/auth/wecom/callback?${new URLSearchParams({ code, state })}`)).status).toBe(302);
  sessionCookies.push(browser.cookies.get(SESSION_COOKIE)!);

  // Callbacks: a customer added through the simulator, and one sent here directly, then a forged one.
  await t.simCall('POST', '/sim/customers/add', { userid: 'east_rep2', state: 'logtest', name: '日志客户' });
  const corpId = t.product.ctx.config.wecom.corpId;
  const changeXml = `<xml><ToUserName><![CDATA[${corpId}]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName><CreateTime>${Math.floor(Date.now() / 1000)}</CreateTime>` +
    '<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[change_external_contact]]></Event><ChangeType><![CDATA[edit_external_contact]]></ChangeType>' +
    '<UserID><![CDATA[east_rep1]]></UserID><ExternalUserID><![CDATA[wmEast1]]></ExternalUserID></xml>';
  expect(await callback(changeXml)).toBe(200);
  expect(await callback(changeXml, 'f'.repeat(40))).toBe(401);
  await t.sim.idle();
  await waitFor(async () => lines.some((l) => l.includes('"level"')) && (await t.product.ctx.db.select().from(followRelations)).length > 11, 'the added customer to be processed');

  // JS-SDK signatures (fetches the corp and agent jsapi tickets).
  const rep = await t.as('east_rep1');
  sessionCookies.push(rep.cookies.get(SESSION_COOKIE)!);
  expect((await rep.get(`/api/jssdk/config?url=${encodeURIComponent(`${t.url}/sidebar/`)}`)).status).toBe(200);
  // Customers with phone numbers: detail (masked) and reveal (in full).
  expect((await rep.get('/api/customers/wmEast1')).status).toBe(200);
  const revealed = await rep.post('/api/customers/wmEast1/reveal', { field: 'relation.remarkMobiles', userid: 'east_rep1' });
  expect(revealed.status).toBe(200);
  expect(revealed.body.value).toBe('13812345678');
  // An export with phone numbers (the admin may unmask) and its download.
  const exported = await boss.post('/api/exports', { format: 'csv' });
  expect(exported.status).toBe(202);
  await waitFor(async () => (await boss.get(`/api/exports/${exported.body.id}`)).body.state === 'completed', 'the export');
  const file = await boss.get(`/api/exports/${exported.body.id}/download`);
  expect(file.status).toBe(200);
  expect(String(file.body)).toContain('13812345678');
  expect((await rep.post('/api/auth/logout')).status).toBe(200);
}, 120_000);

afterAll(async () => {
  await t?.stop();
});

describe('logs of a full flow', () => {
  it('were captured (a capture that saw nothing would prove nothing)', () => {
    expect(lines.length).toBeGreaterThan(5);
    const text = lines.join('\n');
    for (const expected of ['wecom access token refreshed', 'callback rejected', 'member logged in with WeCom OAuth']) expect(text).toContain(expected);
  });

  it('hold no secret, token, ticket, session cookie, phone number or decrypted callback body', async () => {
    const { agentSecret, callbackToken, callbackAesKey } = t.product.ctx.config.wecom;
    // Every credential the WeCom client cached (access tokens, jsapi and agent tickets).
    const redis = t.product.ctx.redis;
    const keys = (await redis.keys(`${PREFIX}:wecom:*`)).filter((k) => !k.endsWith(':lock') && !k.endsWith(':failed'));
    const cached = (await Promise.all(keys.map(async (k) => (await redis.type(k)) === 'string' ? redis.get(k) : null))).filter((v): v is string => Boolean(v && v.length >= 16));
    expect(cached.length).toBeGreaterThanOrEqual(3);
    const phones = (await t.product.ctx.db.select({ mobiles: followRelations.remarkMobiles }).from(followRelations)).flatMap((r) => r.mobiles ?? []);
    expect(phones).toContain('13812345678');
    const secrets: Record<string, string[]> = {
      'corp secret': [agentSecret],
      'callback token': [callbackToken],
      'callback AES key': [callbackAesKey],
      'cached token or ticket': cached,
      'session cookie': sessionCookies.flatMap((c) => [c, decodeURIComponent(c).split('.')[0]!]),
      'phone number': phones,
    };
    const text = lines.join('\n');
    const found = Object.entries(secrets).flatMap(([what, values]) => values.filter((v) => text.includes(v)).map((v) => `${what}: ${v.slice(0, 6)}…`));
    expect(found).toEqual([]);
    // Decrypted callback bodies are XML with CDATA sections; the log holds neither.
    expect(text).not.toMatch(/<xml>|CDATA|<ExternalUserID>/i);
  });
});
