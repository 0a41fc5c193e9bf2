// Session cookie flags by how the product is reached. Over plain HTTP (sandbox on localhost): HttpOnly,
// SameSite=Lax, not Secure. Over HTTPS, which a TLS-terminating proxy on the same host reports with
// X-Forwarded-Proto (trusted from loopback only): HttpOnly, Secure and SameSite=None, which WeCom's
// webview needs to send the cookie to a sidebar page it embeds. PUBLIC_URL https is covered in
// test/integration/auth.test.ts, as are state binding, single use, rotation, logout and departures.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SESSION_COOKIE } from '../../server/auth/session.ts';
import { startTestProduct, type TestProduct } from '../support/test-product.ts';

let t: TestProduct;

beforeAll(async () => {
  t = await startTestProduct();
});

afterAll(async () => {
  await t?.stop();
});

const cookieLine = (headers: Headers, name: string): string => headers.getSetCookie().find((l) => l.startsWith(`${name}=`)) ?? '';

describe('session cookie flags', () => {
  it('plain HTTP: HttpOnly and SameSite=Lax, not Secure (a Secure cookie would never come back over HTTP)', async () => {
    const res = await t.anonymous().post('/api/dev/login', { userid: 'zhangwei' });
    expect(res.status).toBe(200);
    const line = cookieLine(res.headers, SESSION_COOKIE);
    expect(line).toMatch(/;\s*HttpOnly/i);
    expect(line).toMatch(/;\s*SameSite=Lax/i);
    expect(line).not.toMatch(/;\s*Secure/i);
  });

  it('HTTPS behind the local proxy: HttpOnly, Secure and SameSite=None, for the session and the OAuth state', async () => {
    const https = { 'x-forwarded-proto': 'https' };
    const login = await t.anonymous().request('POST', '/api/dev/login', { userid: 'zhangwei' }, https);
    expect(login.status).toBe(200);
    const session = cookieLine(login.headers, SESSION_COOKIE);
    for (const flag of [/;\s*HttpOnly/i, /;\s*Secure/i, /;\s*SameSite=None/i, /;\s*Path=\//i]) expect(session).toMatch(flag);
    const start = await t.anonymous().request('GET', '/api/auth/wecom/start', undefined, https);
    expect(start.status).toBe(302);
    const state = cookieLine(start.headers, 'wtg_oauth');
    for (const flag of [/;\s*HttpOnly/i, /;\s*Secure/i, /;\s*SameSite=None/i]) expect(state).toMatch(flag);
    // Logout clears the cookie with the same flags, so the browser really drops it.
    const client = await t.as('zhangwei');
    const out = await client.request('POST', '/api/auth/logout', {}, https);
    expect(out.status).toBe(200);
    expect(cookieLine(out.headers, SESSION_COOKIE)).toMatch(/Expires=Thu, 01 Jan 1970.*Secure|Secure.*Expires=Thu, 01 Jan 1970/i);
  });

  it('the session cookie never reaches page scripts or responses: /api/me gives the CSRF token, not the session id', async () => {
    const client = await t.as('zhangwei');
    const me = await client.get('/api/me');
    const cookie = decodeURIComponent(client.cookies.get(SESSION_COOKIE)!);
    expect(JSON.stringify(me.body)).not.toContain(cookie.split('.')[0]);
    expect(me.body.csrfToken).toBe(client.csrfToken);
  });
});
