// Login and sessions over real HTTP, against the whole product in sandbox mode (simulator, real Redis,
// PGlite) and, for what must differ in production, a product started with SANDBOX=0 pointed at a
// separately started simulator: WeCom OAuth (state bound to the browser, single use, open-redirect
// guard, session rotation), who may sign in, members who leave, CSRF, logout and GET /api/me.
import { randomInt } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type CompanyFixture, type RunningSimulator } from '../../wecom-sim/index.ts';
import { SESSION_COOKIE, hashOf, unsign } from '../../server/auth/session.ts';
import { inboxEvents, oauthStates, sessions } from '../../server/db/schema.ts';
import { encryptMessage, signatureOf } from '../../server/wecom/callback-crypto.ts';
import { apiClient, startTestProduct, waitFor, type ApiClient, type TestProduct } from '../support/test-product.ts';

const OAUTH_COOKIE = 'wtg_oauth';

let t: TestProduct;
let admin: ApiClient;

/** POST /api/admin/sync as an admin, then polls GET /api/jobs/:id until the job has completed. */
async function fullSync(client: ApiClient): Promise<void> {
  const started = await client.post('/api/admin/sync');
  expect(started.status).toBe(202);
  const jobId: string = started.body.jobId;
  const job = await waitFor(async () => {
    const res = await client.get(`/api/jobs/${jobId}`);
    expect(res.status).toBe(200);
    if (res.body.state === 'failed') throw new Error(`sync failed: ${res.body.error}`);
    return res.body.state === 'completed' ? res.body : undefined;
  }, `sync job ${jobId}`, 30_000);
  expect(job.error).toBeNull();
}

/** The Set-Cookie line for `name` in a response (the raw header, to check its flags). */
function setCookieLine(headers: Headers, name: string): string | undefined {
  return headers.getSetCookie().find((line) => line.startsWith(`${name}=`));
}

/** Starts the OAuth login in `client`'s browser; returns the authorize URL it was sent to and its state. */
async function startLogin(client: ApiClient, returnTo?: string): Promise<{ authorize: URL; state: string; location: string }> {
  const query = returnTo === undefined ? '' : `?returnTo=${encodeURIComponent(returnTo)}`;
  const res = await client.get(`/api/auth/wecom/start${query}`);
  expect(res.status).toBe(302);
  const location = res.headers.get('location')!;
  const authorize = new URL(location);
  const state = authorize.searchParams.get('state')!;
  expect(state).toMatch(/^[A-Za-z0-9]{16,}$/);
  return { authorize, state, location };
}

/** What WeCom does when the member opens the app: a single-use code for `userid`. */
async function codeFor(userid: string): Promise<string> {
  return (await t.simCall<{ code: string }>('POST', '/sim/oauth/code', { userid })).code;
}

function callbackPath(code: string, state: string): string {
  return `/api/auth/wecom/callback?${new URLSearchParams({ code, state }).toString()}`;
}

/** The whole OAuth round in `client`'s browser: start, code for `userid`, callback. Returns the callback answer. */
async function oauthLogin(client: ApiClient, userid: string, returnTo?: string) {
  const { state } = await startLogin(client, returnTo);
  return client.get(callbackPath(await codeFor(userid), state));
}

/**
 * Delivers a `change_contact` callback as WeCom does (encrypted and signed with the product's callback
 * credentials) and waits until the worker has processed it.
 */
async function contactChange(changeType: string, userid: string): Promise<void> {
  const { corpId, callbackToken, callbackAesKey } = t.product.ctx.config.wecom;
  const credentials = { token: callbackToken, encodingAesKey: callbackAesKey, receiveId: corpId };
  const createTime = String(Math.floor(Date.now() / 1000));
  const plaintext = `<xml><ToUserName><![CDATA[${corpId}]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>` +
    `<CreateTime>${createTime}</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[change_contact]]></Event>` +
    `<ChangeType><![CDATA[${changeType}]]></ChangeType><UserID><![CDATA[${userid}]]></UserID></xml>`;
  const encrypt = encryptMessage(credentials, plaintext);
  const nonce = String(randomInt(1, 2 ** 31));
  const query = new URLSearchParams({ msg_signature: signatureOf(callbackToken, createTime, nonce, encrypt), timestamp: createTime, nonce });
  const res = await fetch(`${t.url}/wecom/callback?${query}`, {
    method: 'POST',
    headers: { 'content-type': 'text/xml' },
    body: `<xml><ToUserName><![CDATA[${corpId}]]></ToUserName><Encrypt><![CDATA[${encrypt}]]></Encrypt><AgentID><![CDATA[1000002]]></AgentID></xml>`,
  });
  expect(res.status).toBe(200);
  const db = t.product.ctx.db;
  await waitFor(async () => {
    const rows = await db.select({ status: inboxEvents.status, lastError: inboxEvents.lastError }).from(inboxEvents)
      .where(and(eq(inboxEvents.event, 'change_contact'), eq(inboxEvents.changeType, changeType), sql`${inboxEvents.payload}->>'UserID' = ${userid}`));
    if (rows.some((r) => r.status === 'failed')) throw new Error(`change_contact failed: ${rows.map((r) => r.lastError).join('; ')}`);
    return rows.length > 0 && rows.every((r) => r.status === 'done');
  }, `change_contact ${changeType} ${userid} to be processed`);
}

beforeAll(async () => {
  t = await startTestProduct();
  admin = await t.as('zhuxiaoyan');
  await fullSync(admin);
});

afterAll(async () => {
  await t?.stop();
});

describe('WeCom OAuth login', () => {
  it('start redirects to the simulator authorize page with every parameter and binds the state to the browser', async () => {
    const browser = t.anonymous();
    const res = await browser.get('/api/auth/wecom/start?returnTo=/sidebar/');
    expect(res.status).toBe(302);
    const location = res.headers.get('location')!;
    expect(location.endsWith('#wechat_redirect')).toBe(true);
    const authorize = new URL(location);
    expect(`${authorize.origin}${authorize.pathname}`).toBe(`${t.sim.url}/connect/oauth2/authorize`);
    expect(authorize.searchParams.get('appid')).toBe('wwsimcorp0000000001');
    expect(authorize.searchParams.get('redirect_uri')).toBe(`${t.url}/api/auth/wecom/callback`);
    expect(authorize.searchParams.get('response_type')).toBe('code');
    expect(authorize.searchParams.get('scope')).toBe('snsapi_base');
    expect(authorize.searchParams.get('agentid')).toBe('1000002');
    const state = authorize.searchParams.get('state')!;
    expect(state).toMatch(/^[A-Za-z0-9]{16,128}$/);

    const cookie = setCookieLine(res.headers, OAUTH_COOKIE)!;
    expect(cookie).toBeDefined();
    expect(cookie).toMatch(/;\s*HttpOnly/i);
    expect(cookie).toMatch(/;\s*SameSite=Lax/i);
    expect(cookie).toMatch(/;\s*Path=\//i);
    // The cookie is not the state itself: knowing the state from the URL is not enough.
    expect(browser.cookies.get(OAUTH_COOKIE)).not.toContain(state);
    // No session is created by starting a login.
    expect(setCookieLine(res.headers, SESSION_COOKIE)).toBeUndefined();

    // Every start makes a new state.
    const again = await startLogin(t.anonymous());
    expect(again.state).not.toBe(state);
  });

  it('following the simulator page logs the member in, with an HttpOnly SameSite session cookie, and returns to returnTo', async () => {
    const browser = t.anonymous();
    const { location } = await startLogin(browser, '/sidebar/?from=chat');
    // The browser opens the authorize page (the fragment stays in the browser) and picks zhangwei.
    const page = await fetch(location.split('#')[0]!);
    expect(page.status).toBe(200);
    const html = await page.text();
    const link = [...html.matchAll(/href="([^"]+)"/g)]
      .map((m) => m[1]!.replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n))))
      .find((href) => new URLSearchParams(href.split('?')[1]).get('userid') === 'zhangwei');
    expect(link).toBeDefined();
    const pick = await fetch(new URL(link!, t.sim.url), { redirect: 'manual' });
    expect(pick.status).toBe(302);
    const back = new URL(pick.headers.get('location')!);
    expect(`${back.origin}${back.pathname}`).toBe(`${t.url}/api/auth/wecom/callback`);

    const res = await browser.get(`${back.pathname}${back.search}`);
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/sidebar/?from=chat');
    const session = setCookieLine(res.headers, SESSION_COOKIE)!;
    expect(session).toBeDefined();
    expect(session).toMatch(/;\s*HttpOnly/i);
    expect(session).toMatch(/;\s*SameSite=(Lax|Strict|None)/i);
    expect(session).toMatch(/;\s*Path=\//i);
    // The state cookie is spent.
    expect(browser.cookies.has(OAUTH_COOKIE)).toBe(false);

    const me = await browser.get('/api/me');
    expect(me.status).toBe(200);
    expect(me.body.userid).toBe('zhangwei');
    expect(me.body.name).toBe('张伟');
  });

  it('a state is single use: the same state again is refused with 400, even with a fresh code', async () => {
    const browser = t.anonymous();
    const { state } = await startLogin(browser);
    const oauthCookie = browser.cookies.get(OAUTH_COOKIE)!;
    const first = await browser.get(callbackPath(await codeFor('xiejing'), state));
    expect(first.status).toBe(302);

    // Replayed in the same browser, with the state cookie it had.
    const replay = apiClient(t.url);
    replay.cookies.set(OAUTH_COOKIE, oauthCookie);
    const again = await replay.get(callbackPath(await codeFor('xiejing'), state));
    expect(again.status).toBe(400);
    expect(again.body.error.code).toBe('OAUTH_STATE');
    expect(again.body.error.message).toMatch(/already used/);
    expect(replay.cookies.has(SESSION_COOKIE)).toBe(false);
  });

  it('a state started in another browser is refused with 400 and stays usable by the browser that started it', async () => {
    const victim = t.anonymous();
    const { state } = await startLogin(victim);

    // An attacker who learned the state, with no state cookie at all.
    const attacker = t.anonymous();
    const noCookie = await attacker.get(callbackPath(await codeFor('guoli'), state));
    expect(noCookie.status).toBe(400);
    expect(noCookie.body.error.code).toBe('OAUTH_STATE');
    expect(noCookie.body.error.message).toMatch(/another browser/);
    expect(attacker.cookies.has(SESSION_COOKIE)).toBe(false);

    // An attacker with a state cookie of their own (from their own start).
    await startLogin(attacker);
    const otherCookie = await attacker.get(callbackPath(await codeFor('guoli'), state));
    expect(otherCookie.status).toBe(400);
    expect(attacker.cookies.has(SESSION_COOKIE)).toBe(false);

    // The failed attempts did not consume the victim's state.
    const res = await victim.get(callbackPath(await codeFor('guoli'), state));
    expect(res.status).toBe(302);
    expect((await victim.get('/api/me')).body.userid).toBe('guoli');
  });

  it('an expired WeCom code is a clear 400', async () => {
    const browser = t.anonymous();
    const { state } = await startLogin(browser);
    const code = await codeFor('yanggang');
    // Codes live 5 minutes on the simulator clock.
    await t.simCall('POST', '/sim/clock/advance', { seconds: 301 });
    const res = await browser.get(callbackPath(code, state));
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('OAUTH_STATE');
    expect(res.body.error.message).toMatch(/code is invalid or expired/);
    expect(browser.cookies.has(SESSION_COOKIE)).toBe(false);
  });

  it('a WeCom code already redeemed is a clear 400', async () => {
    const code = await codeFor('zhangjuan');
    const first = t.anonymous();
    const { state } = await startLogin(first);
    expect((await first.get(callbackPath(code, state))).status).toBe(302);

    const second = t.anonymous();
    const { state: state2 } = await startLogin(second);
    const res = await second.get(callbackPath(code, state2));
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('OAUTH_STATE');
    expect(res.body.error.message).toMatch(/code is invalid or expired/);
    expect(second.cookies.has(SESSION_COOKIE)).toBe(false);
  });

  it('a callback without code or state is a 400', async () => {
    const browser = t.anonymous();
    const { state } = await startLogin(browser);
    expect((await browser.get(`/api/auth/wecom/callback?state=${state}`)).status).toBe(400);
    expect((await browser.get('/api/auth/wecom/callback?code=abc')).status).toBe(400);
    const both = await browser.get('/api/auth/wecom/callback');
    expect(both.status).toBe(400);
    expect(both.body.error.message).toMatch(/missing code or state/);
  });

  it.each([
    '//evil.com',
    'https://evil.com',
    'http://evil.com/sidebar/',
    '/\\evil.com',
    '/\t/evil.com',
    'javascript:alert(1)',
    'evil.com',
    '',
  ])('returnTo=%j cannot redirect off the site: the login returns to /sidebar/', async (returnTo) => {
    const browser = t.anonymous();
    const res = await oauthLogin(browser, 'zhuyan', returnTo);
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/sidebar/');
  });

  it('a same-site returnTo is kept', async () => {
    const res = await oauthLogin(t.anonymous(), 'zhuyan', '/admin/events?status=failed');
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/admin/events?status=failed');
  });

  it('the session id rotates at login: the cookie the browser had before no longer works', async () => {
    const browser = await t.as('luowei');
    const before = browser.cookies.get(SESSION_COOKIE)!;
    expect((await browser.get('/api/me')).status).toBe(200);

    const res = await oauthLogin(browser, 'luowei');
    expect(res.status).toBe(302);
    const after = browser.cookies.get(SESSION_COOKIE)!;
    expect(after).toBeDefined();
    expect(after).not.toBe(before);
    expect((await browser.get('/api/me')).body.userid).toBe('luowei');

    const old = apiClient(t.url);
    old.cookies.set(SESSION_COOKIE, before);
    const stale = await old.get('/api/me');
    expect(stale.status).toBe(401);
  });

  it('a session cookie planted before login (fixation) is never the one the member gets', async () => {
    const attacker = await t.as('luoqiang');
    const planted = attacker.cookies.get(SESSION_COOKIE)!;
    const victim = apiClient(t.url);
    victim.cookies.set(SESSION_COOKIE, planted);
    const res = await oauthLogin(victim, 'zhengyang');
    expect(res.status).toBe(302);
    expect(victim.cookies.get(SESSION_COOKIE)).not.toBe(planted);
    expect((await victim.get('/api/me')).body.userid).toBe('zhengyang');
    // The planted id is gone: the attacker holds nothing that belongs to the victim.
    expect((await attacker.get('/api/me')).status).toBe(401);
  });

  it('a forged or tampered session cookie is 401', async () => {
    const browser = await t.as('songchao');
    const good = browser.cookies.get(SESSION_COOKIE)!;
    const [id, signature] = decodeURIComponent(good).split('.');
    // Change the signature's last two characters to something they are not (a fixed "AA" would be the
    // real signature once in 4,096 runs).
    const tail = signature!.slice(-2) === 'AA' ? 'BB' : 'AA';
    for (const forged of [`${id}x.${signature}`, `${id}.${signature!.slice(0, -2)}${tail}`, id!, 'zhuxiaoyan', '']) {
      const client = apiClient(t.url);
      client.cookies.set(SESSION_COOKIE, encodeURIComponent(forged));
      expect((await client.get('/api/me')).status).toBe(401);
    }
  });
});

describe('who may sign in', () => {
  it('a member who left the company (lina) is refused with 403 and a clear message', async () => {
    const res = await t.anonymous().post('/api/dev/login', { userid: 'lina' });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('MEMBER_LEFT');
    expect(res.body.error.message).toMatch(/left the company/);
    expect(setCookieLine(res.headers, SESSION_COOKIE)).toBeUndefined();
  });

  it('a userid unknown to WeCom is refused clearly', async () => {
    const browser = t.anonymous();
    const res = await browser.post('/api/dev/login', { userid: 'no_such_member' });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('MEMBER_NOT_VISIBLE');
    expect(res.body.error.message).toMatch(/visible range/);
    expect(browser.cookies.has(SESSION_COOKIE)).toBe(false);
  });

  it('a member who leaves after logging in loses access on the next request, in every browser', async () => {
    const phone = await t.as('linlei');
    const desktop = apiClient(t.url);
    expect((await oauthLogin(desktop, 'linlei')).status).toBe(302);
    expect((await phone.get('/api/me')).status).toBe(200);
    expect((await desktop.get('/api/me')).status).toBe(200);

    // A code WeCom issued just before the member left, redeemed after.
    const lateCode = await codeFor('linlei');
    await t.simCall('POST', '/sim/members/resign', { userid: 'linlei' });
    await fullSync(admin);

    const res = await phone.get('/api/me');
    expect(res.status).toBe(401);
    expect((await desktop.get('/api/me')).status).toBe(401);
    expect((await phone.request('POST', '/api/auth/logout')).status).toBe(200);
    // And cannot sign in again (now known locally as having left), neither with OAuth nor in the sandbox.
    const browser = t.anonymous();
    const { state } = await startLogin(browser);
    const viaOAuth = await browser.get(callbackPath(lateCode, state));
    expect(viaOAuth.status).toBe(403);
    expect(viaOAuth.body.error.code).toBe('MEMBER_LEFT');
    expect(viaOAuth.body.error.message).toMatch(/left the company/);
    expect(browser.cookies.has(SESSION_COOKIE)).toBe(false);
    const again = await t.anonymous().post('/api/dev/login', { userid: 'linlei' });
    expect(again.status).toBe(403);
    expect(again.body.error.code).toBe('MEMBER_LEFT');
  });

  it('a member WeCom reports deleted (change_contact delete_user) loses access on the next request', async () => {
    const client = await t.as('xutao');
    expect((await client.get('/api/me')).status).toBe(200);
    await contactChange('delete_user', 'xutao');
    const res = await client.get('/api/me');
    expect(res.status).toBe(401);
    expect((await t.anonymous().post('/api/dev/login', { userid: 'xutao' })).status).toBe(403);
  });

  it('a member who resigns (change_contact update_user, WeCom now says status 5) loses access on the next request', async () => {
    const client = await t.as('huguiying');
    expect((await client.get('/api/me')).status).toBe(200);
    await t.simCall('POST', '/sim/members/resign', { userid: 'huguiying' });
    await contactChange('update_user', 'huguiying');
    expect((await client.get('/api/me')).status).toBe(401);
    const again = await t.anonymous().post('/api/dev/login', { userid: 'huguiying' });
    expect(again.status).toBe(403);
    expect(again.body.error.code).toBe('MEMBER_LEFT');
  });
});

describe('expiry', () => {
  it('an OAuth state older than its lifetime is refused with 400', async () => {
    const browser = t.anonymous();
    const { state } = await startLogin(browser);
    await t.product.ctx.db.update(oauthStates).set({ expiresAt: sql`now() - interval '1 second'` }).where(eq(oauthStates.stateHash, hashOf(state)));
    const res = await browser.get(callbackPath(await codeFor('chenchao'), state));
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('OAUTH_STATE');
    expect(res.body.error.message).toMatch(/expired/);
    expect(browser.cookies.has(SESSION_COOKIE)).toBe(false);
  });

  it('an expired session is 401', async () => {
    const client = await t.as('chenchao');
    expect((await client.get('/api/me')).status).toBe(200);
    const id = unsign(decodeURIComponent(client.cookies.get(SESSION_COOKIE)!), t.product.ctx.config.sessionSecret!)!;
    await t.product.ctx.db.update(sessions).set({ expiresAt: sql`now() - interval '1 second'` }).where(eq(sessions.idHash, hashOf(id)));
    const res = await client.get('/api/me');
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('UNAUTHENTICATED');
  });
});

describe('CSRF and logout', () => {
  it('a state-changing request without or with a wrong X-CSRF-Token is 403; with it, it works', async () => {
    const client = await t.as('zhuxiaoyan');
    const token = client.csrfToken!;
    client.csrfToken = undefined;
    const missing = await client.post('/api/admin/sync');
    expect(missing.status).toBe(403);
    expect(missing.body.error.message).toMatch(/X-CSRF-Token/);
    const wrong = await client.request('POST', '/api/admin/sync', {}, { 'x-csrf-token': 'not-the-token' });
    expect(wrong.status).toBe(403);
    // Another session's token is not this session's token.
    const otherToken = (await t.as('zhuxiaoyan')).csrfToken!;
    expect((await client.request('POST', '/api/admin/sync', {}, { 'x-csrf-token': otherToken })).status).toBe(403);

    client.csrfToken = token;
    const ok = await client.post('/api/admin/sync');
    expect(ok.status).toBe(202);
    expect(ok.body.jobId).toEqual(expect.any(String));
  });

  it('the CSRF token from GET /api/me is the session token', async () => {
    const client = await t.as('chenyang');
    const me = await client.get('/api/me');
    expect(me.body.csrfToken).toBe(client.csrfToken);
  });

  it('logout needs the CSRF token and ends the session at once', async () => {
    const client = await t.as('zhaoli');
    const cookie = client.cookies.get(SESSION_COOKIE)!;
    const token = client.csrfToken!;

    client.csrfToken = undefined;
    expect((await client.post('/api/auth/logout')).status).toBe(403);
    expect((await client.request('POST', '/api/auth/logout', {}, { 'x-csrf-token': 'wrong' })).status).toBe(403);
    expect((await client.get('/api/me')).status).toBe(200);

    client.csrfToken = token;
    const res = await client.post('/api/auth/logout');
    expect(res.status).toBe(200);
    expect(setCookieLine(res.headers, SESSION_COOKIE)).toMatch(/Expires=Thu, 01 Jan 1970/i);
    expect((await client.get('/api/me')).status).toBe(401);

    // The server forgot the session: the old cookie, replayed, is dead too.
    const replay = apiClient(t.url);
    replay.cookies.set(SESSION_COOKIE, cookie);
    expect((await replay.get('/api/me')).status).toBe(401);
  });
});

describe('GET /api/me', () => {
  it('is 401 without a session', async () => {
    const res = await t.anonymous().get('/api/me');
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('UNAUTHENTICATED');
  });

  it('an admin: userid, name, departments with leader flags, roles, csrfToken', async () => {
    const res = await admin.get('/api/me');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      userid: 'zhuxiaoyan',
      name: '朱晓燕',
      departments: [{ id: 1, name: '悦享生活总部', isLeader: true, main: true }],
      csrfToken: admin.csrfToken,
    });
    expect(res.body.roles).toEqual(['admin', 'manager', 'rep']);
  });

  it('a department leader is a manager', async () => {
    const res = await (await t.as('sunxiaoyan')).get('/api/me');
    expect(res.body).toMatchObject({ userid: 'sunxiaoyan', name: '孙晓燕', departments: [{ id: 212, name: '上海徐家汇店', isLeader: true, main: true }] });
    expect(res.body.roles).toEqual(['manager', 'rep']);
  });

  it('a member who leads nothing is a rep; identity never comes from the request', async () => {
    const client = await t.as('zhangwei');
    const res = await client.request('GET', '/api/me?userid=zhuxiaoyan', undefined, { 'x-userid': 'zhuxiaoyan', 'x-wecom-userid': 'zhuxiaoyan' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ userid: 'zhangwei', name: '张伟', departments: [{ id: 212, name: '上海徐家汇店', isLeader: false, main: true }] });
    expect(res.body.roles).toEqual(['rep']);
    // Claiming an identity without a session gives nothing.
    const anonymous = await t.anonymous().request('GET', '/api/me?userid=zhangwei', undefined, { 'x-userid': 'zhangwei' });
    expect(anonymous.status).toBe(401);
  });
});

/** A small company for the production-mode product; `extra` members join later. */
function smallCorp(extra: CompanyFixture['users'] = []): CompanyFixture {
  return {
    departments: [
      { id: 1, name: 'HQ', parentid: 0 },
      { id: 2, name: 'Sales', parentid: 1 },
    ],
    users: [
      { userid: 'alice', name: 'Alice', department: [1], is_leader_in_dept: [1] },
      { userid: 'bob', name: 'Bob', department: [2] },
      ...(extra ?? []),
    ],
    customers: [],
  };
}

describe('production mode (SANDBOX=0) against a separately started simulator', () => {
  let sim: RunningSimulator;
  let prod: TestProduct;

  async function simCode(userid: string): Promise<string> {
    const res = await fetch(`${sim.url}/sim/oauth/code`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ userid }) });
    expect(res.status).toBe(200);
    return ((await res.json()) as { code: string }).code;
  }

  async function prodLogin(userid: string): Promise<{ client: ApiClient; callback: Awaited<ReturnType<ApiClient['get']>> }> {
    const client = prod.anonymous();
    const start = await client.get('/api/auth/wecom/start');
    const state = new URL(start.headers.get('location')!).searchParams.get('state')!;
    const callback = await client.get(callbackPath(await simCode(userid), state));
    if (callback.status === 302) client.csrfToken = (await client.get('/api/me')).body.csrfToken;
    return { client, callback };
  }

  beforeAll(async () => {
    sim = await startSimulator({ seed: smallCorp() });
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

  it('runs without the embedded simulator, and POST /api/dev/login is 404', async () => {
    expect(prod.product.ctx.config.sandbox).toBe(false);
    expect(prod.product.simulator).toBeUndefined();
    const browser = prod.anonymous();
    const res = await browser.post('/api/dev/login', { userid: 'alice' });
    expect(res.status).toBe(404);
    expect(setCookieLine(res.headers, SESSION_COOKIE)).toBeUndefined();
    expect((await browser.get('/api/me')).status).toBe(401);
  });

  it('start redirects to WeCom itself with PUBLIC_URL in redirect_uri, and Secure cookies', async () => {
    const res = await prod.anonymous().get('/api/auth/wecom/start?returnTo=https://evil.com');
    expect(res.status).toBe(302);
    const location = res.headers.get('location')!;
    const authorize = new URL(location);
    expect(`${authorize.origin}${authorize.pathname}`).toBe('https://open.weixin.qq.com/connect/oauth2/authorize');
    expect(authorize.searchParams.get('redirect_uri')).toBe('https://crm.example.com/api/auth/wecom/callback');
    expect(authorize.searchParams.get('scope')).toBe('snsapi_base');
    expect(authorize.hash).toBe('#wechat_redirect');
    const cookie = setCookieLine(res.headers, OAUTH_COOKIE)!;
    expect(cookie).toMatch(/;\s*HttpOnly/i);
    expect(cookie).toMatch(/;\s*Secure/i);
    expect(cookie).toMatch(/;\s*SameSite=None/i);
  });

  it('the OAuth callback redeems the code with WECOM_API_BASE and logs the member in (Secure, SameSite=None)', async () => {
    const { client, callback } = await prodLogin('alice');
    expect(callback.status).toBe(302);
    expect(callback.headers.get('location')).toBe('/sidebar/');
    const session = setCookieLine(callback.headers, SESSION_COOKIE)!;
    expect(session).toMatch(/;\s*HttpOnly/i);
    expect(session).toMatch(/;\s*Secure/i);
    expect(session).toMatch(/;\s*SameSite=None/i);
    const me = await client.get('/api/me');
    expect(me.status).toBe(200);
    expect(me.body.userid).toBe('alice');
    expect(me.body.roles).toContain('admin');
  });

  it('a member who joined since the last sync is fetched from WeCom at login', async () => {
    const { client: alice } = await prodLogin('alice');
    await fullSync(alice);
    expect((await alice.get('/api/me')).body.departments).toEqual([{ id: 1, name: 'HQ', isLeader: true, main: true }]);

    // carol joins Sales after the sync (the simulator starts over with one more member).
    await sim.reset(smallCorp([{ userid: 'carol', name: 'Carol', department: [2], is_leader_in_dept: [1], position: 'Lead' }]));
    const { client: carol, callback } = await prodLogin('carol');
    expect(callback.status).toBe(302);
    const me = await carol.get('/api/me');
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ userid: 'carol', name: 'Carol', position: 'Lead', departments: [{ id: 2, name: 'Sales', isLeader: true, main: true }] });
    expect(me.body.roles).toEqual(['manager', 'rep']);
    const calls = await (await fetch(`${sim.url}/sim/calls?path=${encodeURIComponent('/cgi-bin/user/get')}`)).json() as { calls: { query: Record<string, string> }[] };
    expect(calls.calls.map((c) => c.query.userid)).toContain('carol');
  });
});
