// API input fuzzing: every route of the real app (from the route table) gets hostile params, query
// strings and bodies (fast-check), sent by an admin so that each request reaches the handler's own
// validation. Every answer is below 500; every refusal is a JSON error with a code and a message that
// says what was wrong; a route that refused everything wrote nothing (database fingerprint and audit
// log compared). Run counts are modest so the file stays well under two minutes.
import fc from 'fast-check';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../server/app.ts';
import { auditLog, backgroundJobs } from '../../server/db/schema.ts';
import { listRoutes, type RouteEntry } from '../../server/http/route-table.ts';
import { startOwnershipWorld, type OwnershipWorld } from '../support/ownership-company.ts';
import { waitFor, type ApiClient } from '../support/test-product.ts';
import { changedTables, databaseState } from './database-state.ts';

const RUNS_PER_PART = 5;
const SEED = 20261123;

/**
 * Routes whose input does not decide whether they act (they take no body or ignore it): a 2xx there
 * is correct, so they are fuzzed for crashes only, not for "nothing written".
 */
const ACT_WHATEVER_THE_INPUT = new Set([
  'POST /api/admin/sync',
  'POST /api/admin/pool/release',
  'DELETE /api/admin/view-as',
  'POST /api/admin/view-as',
]);
/** Fuzzed anonymously: with the admin's session they would end the session the fuzzing runs in. */
const ANONYMOUS = new Set(['POST /api/auth/logout']);

/** Strings that have broken parsers, ORMs and path handling elsewhere. */
const hostileString = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom(
    '', ' ', '0', '-1', '1e309', 'NaN', 'Infinity', '99999999999999999999999', '1.5', 'true', 'null', 'undefined',
    '__proto__', 'constructor', 'prototype', '../../../etc/passwd', '..%2f..%2f', "' or 1=1 --", '"; drop table customers; --',
    '<script>alert(1)</script>', '${7*7}', '\u0000', '\uFEFF', '😀'.repeat(20), 'a'.repeat(3000), '%', '%E0%A4%A', '\\', '\r\nX-Injected: 1',
  ),
);
const jsonLeaf = fc.oneof(hostileString, fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.bigInt().map(String));
const hostileJson = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.dictionary(fc.oneof(hostileString, fc.constantFrom('name', 'userid', 'tags', 'add', 'filter', 'format', 'owner', 'externalUserIds', 'scopes', 'rules', '__proto__')), jsonLeaf, { maxKeys: 6 }),
  fc.array(jsonLeaf, { maxLength: 5 }),
  jsonLeaf,
);
const queryKeys = fc.constantFrom('limit', 'cursor', 'q', 'tags', 'tagMatch', 'owner', 'pool', 'state', 'status', 'before', 'after', 'review', 'url', 'from', 'to', 'actor', 'action', 'outcome', 'customer', 'department', 'returnTo', 'userid', '__proto__');
const hostileQuery = fc.array(fc.tuple(fc.oneof(queryKeys, hostileString), hostileString), { minLength: 1, maxLength: 5 });

/** Raw bodies JSON parsing must refuse cleanly. */
const RAW_BODIES: { type: string; body: string }[] = [
  { type: 'application/json', body: '{"name": ' },
  { type: 'application/json', body: '[' .repeat(5000) },
  { type: 'application/json', body: '{"__proto__": {"admin": true}, "constructor": {"prototype": {"x": 1}}}' },
  { type: 'application/json', body: `{"a": "${'x'.repeat(300_000)}"}` },
  { type: 'text/plain', body: 'userid=zhangwei' },
  { type: 'application/x-www-form-urlencoded', body: 'userid=zhangwei&roles[]=admin' },
  { type: 'application/json; charset=utf-16', body: '{}' },
];

/** Percent-encodes every byte, so any string (lone surrogates too) becomes one path segment. */
const encodeSegment = (value: string): string => [...Buffer.from(value, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');

let w: OwnershipWorld;
let routes: RouteEntry[];
let admin: ApiClient;

beforeAll(async () => {
  w = await startOwnershipWorld();
  routes = listRoutes(createApp(w.t.product.ctx)).filter((r) => r.method !== 'USE');
  admin = await w.t.as('boss');
  await w.inboxSettled();
});

afterAll(async () => {
  await w?.stop();
});

/** No background job queued or running and no callback event waiting. */
async function settled(): Promise<void> {
  await waitFor(async () => {
    const [row] = await w.db.select({ n: sql<number>`count(*)::int` }).from(backgroundJobs).where(sql`${backgroundJobs.state} in ('queued', 'running')`);
    return row!.n === 0;
  }, 'background jobs to finish', 60_000);
  await w.inboxSettled();
}

interface Outcome { status: number; body: unknown; request: string }

async function send(client: ApiClient, method: string, path: string, body?: { raw: string; type: string } | { json: unknown }): Promise<Outcome> {
  const headers: Record<string, string> = {};
  let payload: string | undefined;
  if (body && 'raw' in body) { headers['content-type'] = body.type; payload = body.raw; }
  if (body && 'json' in body) { headers['content-type'] = 'application/json'; payload = JSON.stringify(body.json) ?? 'null'; }
  const response = await fetch(`${w.t.url}${path}`, {
    method,
    redirect: 'manual',
    headers: {
      ...headers,
      ...(client.cookies.size ? { cookie: [...client.cookies].map(([k, v]) => `${k}=${v}`).join('; ') } : {}),
      ...(client.csrfToken && method !== 'GET' ? { 'x-csrf-token': client.csrfToken } : {}),
    },
    body: method === 'GET' ? undefined : payload,
  });
  const text = await response.text();
  let parsed: unknown = text;
  try { parsed = text ? JSON.parse(text) : undefined; } catch { /* plain text */ }
  return { status: response.status, body: parsed, request: `${method} ${path.slice(0, 200)} ${(payload ?? '').slice(0, 200)}` };
}

/** A refusal says what was wrong: a JSON error with a code and a message (the callback answers in text). */
function expectClearRefusal(route: RouteEntry, outcome: Outcome): void {
  expect(outcome.status, outcome.request).toBeLessThan(500);
  if (outcome.status < 400) return;
  if (route.path === '/wecom/callback') {
    expect(typeof outcome.body === 'string' && outcome.body.length > 0, outcome.request).toBe(true);
    return;
  }
  const error = (outcome.body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  expect(typeof error?.code, outcome.request).toBe('string');
  expect(typeof error?.message === 'string' && error.message.length >= 5, outcome.request).toBe(true);
  expect(String(error?.message), outcome.request).not.toMatch(/internal error|at [\w.]+ \(|node_modules/);
}

function fillWith(path: string, value: string): string {
  return path.replace(/:(\w+)/g, () => encodeSegment(value));
}

describe('API input fuzzing', () => {
  it('covers every route of the app', () => {
    expect(routes.length).toBeGreaterThan(90);
  });

  it('every route: hostile params, query strings and bodies are refused with a clear 4xx, never a 5xx, and nothing is written', async () => {
    const failures: string[] = [];
    for (const route of routes) {
      const key = `${route.method} ${route.path}`;
      const client = ANONYMOUS.has(key) ? w.t.anonymous() : admin;
      const takesBody = route.method !== 'GET';
      // Reads are fuzzed for crashes and clear refusals; writes also for "nothing written".
      const before = takesBody ? await databaseState(w.db) : {};
      const [{ id: auditFrom } = { id: 0 }] = await w.db.select({ id: sql<number>`coalesce(max(${auditLog.id}), 0)::int` }).from(auditLog);
      const outcomes: Outcome[] = [];
      const hasParams = route.path.includes(':');
      const basePath = hasParams ? fillWith(route.path, 'x1') : route.path.replace(/\{\/\*rest\}$/, '/');

      if (hasParams) {
        await fc.assert(fc.asyncProperty(hostileString, async (value) => {
          outcomes.push(await send(client, route.method, fillWith(route.path, value), takesBody ? { json: {} } : undefined));
        }), { numRuns: RUNS_PER_PART, seed: SEED });
        // Malformed percent-encoding straight in the path.
        outcomes.push(await send(client, route.method, route.path.replace(/:(\w+)/g, '%E0%A4%A'), takesBody ? { json: {} } : undefined));
      }
      await fc.assert(fc.asyncProperty(hostileQuery, async (pairs) => {
        const query = pairs.map(([k, v]) => `${encodeSegment(k)}=${encodeSegment(v)}`).join('&');
        outcomes.push(await send(client, route.method, `${basePath}?${query}`, takesBody ? { json: {} } : undefined));
      }), { numRuns: RUNS_PER_PART, seed: SEED });
      if (takesBody) {
        await fc.assert(fc.asyncProperty(hostileJson, async (json) => {
          outcomes.push(await send(client, route.method, basePath, { json }));
        }), { numRuns: RUNS_PER_PART * 2, seed: SEED });
        for (const raw of RAW_BODIES) outcomes.push(await send(client, route.method, basePath, { raw: raw.body, type: raw.type }));
      }

      for (const outcome of outcomes) {
        try { expectClearRefusal(route, outcome); } catch (error) { failures.push(`${key}: ${(error as Error).message.split('\n')[0]} (${outcome.status} ${JSON.stringify(outcome.body).slice(0, 200)})`); }
      }
      const actedOn = outcomes.some((o) => o.status < 400);
      // Whatever a route started in the background finishes before the next route is fingerprinted.
      if (actedOn) await settled();
      if (takesBody && !actedOn && !ACT_WHATEVER_THE_INPUT.has(key)) {
        const changed = changedTables(before, await databaseState(w.db));
        if (changed.length) failures.push(`${key}: refused every input but changed ${changed.join(', ')}`);
        const written = await w.db.select().from(auditLog).where(sql`${auditLog.id} > ${auditFrom} and ${auditLog.outcome} <> 'denied'`);
        if (written.length) failures.push(`${key}: refused every input but audited ${written.map((e) => e.action).join(', ')}`);
      }
    }
    expect(failures).toEqual([]);
  }, 150_000);
});
