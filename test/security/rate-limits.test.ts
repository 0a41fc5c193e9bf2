// Rate limits per source address, counted in Redis so that every server process shares them: logins,
// all callbacks (generous: WeCom delivers in bursts from a few addresses) and rejected callbacks
// (tight: WeCom's own are never rejected). Over a limit: 429 with Retry-After and a clear message.
// Addresses are given with X-Forwarded-For, which the app trusts from the loopback proxy only.
import { randomInt } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { SESSION_COOKIE } from '../../server/auth/session.ts';
import { RateLimiter } from '../../server/http/rate-limit.ts';
import { createLogger } from '../../server/logger.ts';
import { encryptMessage, signatureOf } from '../../server/wecom/callback-crypto.ts';
import { startTestProduct, type TestProduct } from '../support/test-product.ts';

const LIMITS = { LOGIN_RATE_LIMIT_PER_MINUTE: '5', CALLBACK_RATE_LIMIT_PER_MINUTE: '20', CALLBACK_REJECTED_LIMIT_PER_MINUTE: '3' };
const SHARED_PREFIX = `rl${randomInt(1e9)}`;

let a: TestProduct;
let b: TestProduct;

beforeAll(async () => {
  // Two server processes' worth of product sharing one Redis namespace.
  a = await startTestProduct({ env: LIMITS, start: { redisPrefix: SHARED_PREFIX } });
  b = await startTestProduct({ env: LIMITS, start: { redisPrefix: SHARED_PREFIX, role: 'server' } });
});

afterAll(async () => {
  await b?.stop();
  await a?.stop();
});

const from = (address: string) => ({ 'x-forwarded-for': address });

async function devLogin(t: TestProduct, address: string, userid = 'zhangwei') {
  return t.anonymous().request('POST', '/api/dev/login', { userid }, from(address));
}

/** A URL verification exactly as WeCom sends it (signed echostr), from `address`. */
async function verification(t: TestProduct, address: string, signature?: string): Promise<Response> {
  const { corpId, callbackToken, callbackAesKey } = t.product.ctx.config.wecom;
  const echostr = encryptMessage({ token: callbackToken, encodingAesKey: callbackAesKey, receiveId: corpId }, `echo${randomInt(1e9)}`);
  const timestamp = String(Math.floor(Date.now() / 1000));
  const nonce = String(randomInt(1, 2 ** 31));
  const query = new URLSearchParams({ msg_signature: signature ?? signatureOf(callbackToken, timestamp, nonce, echostr), timestamp, nonce, echostr });
  return fetch(`${t.url}/wecom/callback?${query}`, { headers: from(address) });
}

describe('login rate limit', () => {
  it('over the limit an address gets 429 with Retry-After and a clear message, and no session; counted across processes', async () => {
    const address = '203.0.113.10';
    for (let i = 0; i < 3; i += 1) expect((await devLogin(a, address)).status).toBe(200);
    for (let i = 0; i < 2; i += 1) expect((await devLogin(b, address)).status).toBe(200);
    for (const t of [a, b]) {
      const res = await devLogin(t, address);
      expect(res.status).toBe(429);
      expect(res.body.error.code).toBe('RATE_LIMITED');
      expect(res.body.error.message).toMatch(/too many login attempts from your address \(at most 5 a minute\): try again in \d+ seconds/);
      const retryAfter = Number(res.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect(res.body.error.retryAfterSeconds).toBe(retryAfter);
      expect(res.headers.getSetCookie().some((c) => c.startsWith(`${SESSION_COOKIE}=`))).toBe(false);
    }
    // The OAuth start is a login attempt too.
    const start = await a.anonymous().request('GET', '/api/auth/wecom/start', undefined, from(address));
    expect(start.status).toBe(429);
    // Another address is not affected.
    expect((await devLogin(a, '203.0.113.11')).status).toBe(200);
  });

  it('signed-in requests are not login attempts: a member keeps working when their address is over the login limit', async () => {
    const address = '203.0.113.12';
    const client = a.anonymous();
    const login = await client.request('POST', '/api/dev/login', { userid: 'zhangwei' }, from(address));
    expect(login.status).toBe(200);
    for (let i = 0; i < 5; i += 1) await devLogin(a, address);
    expect((await devLogin(a, address)).status).toBe(429);
    for (let i = 0; i < 10; i += 1) expect((await client.request('GET', '/api/me', undefined, from(address))).status).toBe(200);
  });
});

describe('callback rate limits', () => {
  it('an address that sends rejected callbacks is refused with 429 after the limit, valid ones included; WeCom\'s address is not', async () => {
    const prober = '198.51.100.7';
    for (let i = 0; i < 3; i += 1) expect((await verification(a, prober, '0'.repeat(40))).status).toBe(401);
    const blocked = await verification(a, prober);
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await blocked.text()).toMatch(/too many requests from this address: try again in \d+ seconds/);
    // Shared by the other process.
    expect((await verification(b, prober)).status).toBe(429);
    const wecom = '101.226.103.1';
    const ok = await verification(a, wecom);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toMatch(/^echo\d+$/);
  });

  it('all callbacks from one address: up to the limit answered, then 429; other addresses unaffected', async () => {
    const burst = '101.226.103.2';
    const answers = await Promise.all(Array.from({ length: 20 }, () => verification(a, burst)));
    expect(answers.map((r) => r.status)).toEqual(Array(20).fill(200));
    const over = await verification(b, burst);
    expect(over.status).toBe(429);
    expect(Number(over.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect((await verification(a, '101.226.103.3')).status).toBe(200);
  });
});

describe('when Redis cannot answer', () => {
  it('the limiter lets requests through instead of holding them up', async () => {
    const offline = new Redis(inject('redisUrl'), { lazyConnect: true, maxRetriesPerRequest: null });
    const limiter = new RateLimiter(offline, 'offline', createLogger('silent'));
    expect(offline.status).not.toBe('ready');
    expect(await limiter.increment('login:1.2.3.4', 60_000)).toBeUndefined();
    offline.disconnect();
    // A connected limiter counts.
    const online = new Redis(inject('redisUrl'), { maxRetriesPerRequest: null });
    await new Promise((resolve) => online.once('ready', resolve));
    const counting = new RateLimiter(online, `online${randomInt(1e9)}`, createLogger('silent'));
    expect(await counting.increment('k', 60_000)).toMatchObject({ count: 1 });
    expect(await counting.increment('k', 60_000)).toMatchObject({ count: 2 });
    expect(await counting.peek('k')).toMatchObject({ count: 2 });
    online.disconnect();
  });
});
