// Every endpoint of the real Express app declares who may call it, and every state-changing endpoint
// behind a session refuses a request without the session's CSRF token. Both are checked by walking
// the mounted app, so a route added later is covered without editing this file.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../server/app.ts';
import { listRoutes, type RouteEntry } from '../../server/http/route-table.ts';
import { startOwnershipWorld, type OwnershipWorld } from '../support/ownership-company.ts';
import { databaseState, fillPath } from './database-state.ts';

/**
 * Public endpoints that change state, each with why no CSRF token is needed. Anything else public must
 * be a safe method.
 */
const PUBLIC_WRITES: Record<string, string> = {
  'POST /wecom/callback': 'WeCom signs every message; the handler verifies the signature before anything else',
  'POST /api/dev/login': 'sandbox only (404 otherwise); there is no session yet to protect',
  'POST /api/auth/logout': 'checks the CSRF token itself when a session exists',
  // The fallback answers 404 for every unknown /api path and changes nothing.
  'USE /api/*': 'answers 404 for unknown API paths',
  'USE /assets/*': 'static files: only GET and HEAD are served, anything else falls through to a 404',
};

let w: OwnershipWorld;
let routes: RouteEntry[];

beforeAll(async () => {
  w = await startOwnershipWorld();
  routes = listRoutes(createApp(w.t.product.ctx));
});

afterAll(async () => {
  await w?.stop();
});

describe('route permissions', () => {
  it('the route table finds the app\'s endpoints (a walk that finds nothing would prove nothing)', () => {
    const names = routes.map((r) => `${r.method} ${r.path}`);
    expect(routes.length).toBeGreaterThan(80);
    for (const known of ['POST /wecom/callback', 'GET /api/customers/:externalUserId', 'POST /api/admin/roles', 'USE /assets/*', 'GET /api/me']) {
      expect(names).toContain(known);
    }
  });

  it('every endpoint declares public, member, admin or wecom-signature', () => {
    const undeclared = routes.filter((r) => !r.permission).map((r) => `${r.method} ${r.path}`);
    expect(undeclared).toEqual([]);
    for (const route of routes) expect(['public', 'member', 'admin', 'wecom-signature']).toContain(route.permission);
  });

  it('only WeCom\'s callback relies on the WeCom signature', () => {
    expect(routes.filter((r) => r.permission === 'wecom-signature').map((r) => `${r.method} ${r.path}`).sort()).toEqual(['GET /wecom/callback', 'POST /wecom/callback']);
  });

  it('admin paths are for admins, apart from the departures screen (managers with assign scope; checked in its service)', () => {
    const notAdmin = routes.filter((r) => r.path.startsWith('/api/admin/') && r.permission !== 'admin').map((r) => `${r.method} ${r.path}`).sort();
    expect(notAdmin).toEqual([
      'GET /api/admin/departures',
      'GET /api/admin/departures/:userid/customers',
      'POST /api/admin/departures/:userid/reassign',
    ]);
  });

  it('public endpoints are reads, except the few listed with their reason', () => {
    const publicWrites = routes.filter((r) => r.permission !== 'member' && r.permission !== 'admin' && r.method !== 'GET').map((r) => `${r.method} ${r.path}`).sort();
    expect(publicWrites).toEqual(Object.keys(PUBLIC_WRITES).sort());
  });

  it('an anonymous caller gets 401 from every member and admin endpoint', async () => {
    const anonymous = w.t.anonymous();
    for (const route of routes.filter((r) => r.permission === 'member' || r.permission === 'admin')) {
      const res = await anonymous.request(verb(route.method, 'GET'), fillPath(mountRoot(route.path), () => 'x1'), verb(route.method, 'GET') === 'GET' ? undefined : {});
      expect(res.status, `${route.method} ${route.path}`).toBe(401);
      expect(res.body.error.code).toBe('UNAUTHENTICATED');
    }
  });

  it('a rep gets 403 from every admin endpoint, whatever the id', async () => {
    const rep = await w.as('south_rep');
    for (const route of routes.filter((r) => r.permission === 'admin')) {
      const res = await rep.request(verb(route.method, 'GET'), fillPath(mountRoot(route.path), () => 'x1'), verb(route.method, 'GET') === 'GET' ? undefined : {});
      expect(res.status, `${route.method} ${route.path}`).toBe(403);
      expect(res.body.error).toMatchObject({ code: 'FORBIDDEN', message: 'admins only' });
    }
  });
});

/** A guarded mount (`USE /admin/queues/*`) is requested at its root with a real HTTP method. */
function verb(method: string, forMount: string): string {
  return method === 'USE' ? forMount : method;
}
function mountRoot(path: string): string {
  return path.replace(/\/\*$/, '/');
}

describe('CSRF', () => {
  it('every state-changing endpoint behind a session refuses a request without or with a wrong X-CSRF-Token, and nothing changes', async () => {
    const admin = await w.t.as('boss');
    const token = admin.csrfToken!;
    admin.csrfToken = undefined;
    const writes = routes.filter((r) => (r.permission === 'member' || r.permission === 'admin') && r.method !== 'GET');
    expect(writes.length).toBeGreaterThan(40);
    const before = await databaseState(w.db);
    for (const route of writes) {
      const path = fillPath(mountRoot(route.path), (param) => (param === 'externalUserId' ? 'wmEast1' : param === 'userid' ? 'east_rep1' : '1'));
      const variants: Record<string, string>[] = [{}, { 'x-csrf-token': `${token.slice(0, -1)}${token.endsWith('x') ? 'y' : 'x'}` }];
      for (const headers of variants) {
        const res = await admin.request(verb(route.method, 'POST'), path, {}, headers);
        expect(res.status, `${route.method} ${route.path}`).toBe(403);
        expect(res.body.error.message).toMatch(/X-CSRF-Token/);
      }
    }
    expect(await databaseState(w.db)).toEqual(before);
    // The same session with its token is let through (the refusals above were about the token).
    admin.csrfToken = token;
    expect((await admin.post('/api/admin/pool/release')).status).toBe(202);
  });
});
