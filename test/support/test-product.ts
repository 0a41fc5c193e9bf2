import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { inject } from 'vitest';
import { startProduct, type RunningProduct, type StartOptions } from '../../server/boot.ts';
import { loadConfig } from '../../server/config.ts';
import { openDatabase, type OpenDatabase } from '../../server/db/database.ts';
import type { RunningSimulator, SimulatorOptions } from '../../wecom-sim/index.ts';

export type DatabaseKind = 'pglite' | 'postgres';

/** A fresh, empty PostgreSQL database on the server started for the test run. */
export async function createTestDatabase(): Promise<string> {
  const admin = inject('postgresUrl');
  const name = `t_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  await client.query(`CREATE DATABASE ${name}`);
  await client.end();
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function openTestDatabase(kind: DatabaseKind): Promise<OpenDatabase> {
  return kind === 'postgres' ? openDatabase({ url: await createTestDatabase() }, { poolSize: 10 }) : openDatabase({ pgliteMemory: true });
}

export interface TestProductOptions {
  database?: DatabaseKind;
  env?: Record<string, string>;
  simulator?: SimulatorOptions;
  initialSync?: boolean;
  start?: Partial<StartOptions>;
}

export interface TestProduct {
  product: RunningProduct;
  url: string;
  sim: RunningSimulator;
  /** A client with its own cookie jar and CSRF token, logged in as `userid` (sandbox dev login). */
  as(userid: string): Promise<ApiClient>;
  anonymous(): ApiClient;
  simCall<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
  stop(): Promise<void>;
}

export interface ApiResponse<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

export interface ApiClient {
  request<T = any>(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<ApiResponse<T>>;
  get<T = any>(path: string): Promise<ApiResponse<T>>;
  post<T = any>(path: string, body?: unknown): Promise<ApiResponse<T>>;
  cookies: Map<string, string>;
  csrfToken?: string;
}

export function apiClient(baseUrl: string): ApiClient {
  const cookies = new Map<string, string>();
  const client: ApiClient = {
    cookies,
    async request(method, path, body, headers = {}) {
      const response = await fetch(baseUrl + path, {
        method,
        redirect: 'manual',
        headers: {
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(cookies.size ? { cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; ') } : {}),
          ...(client.csrfToken && method !== 'GET' ? { 'x-csrf-token': client.csrfToken } : {}),
          ...headers,
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      for (const line of response.headers.getSetCookie()) {
        const [pair] = line.split(';');
        const eq = pair!.indexOf('=');
        const name = pair!.slice(0, eq);
        const value = pair!.slice(eq + 1);
        if (value === '' || /max-age=0|expires=Thu, 01 Jan 1970/i.test(line)) cookies.delete(name);
        else cookies.set(name, value);
      }
      const text = await response.text();
      let parsed: unknown = text;
      try { parsed = text ? JSON.parse(text) : undefined; } catch { /* plain text */ }
      return { status: response.status, body: parsed as any, headers: response.headers };
    },
    get: (path) => client.request('GET', path),
    post: (path, body) => client.request('POST', path, body ?? {}),
  };
  return client;
}

/**
 * The whole product in-process, as `npm start` runs it in sandbox mode, against the run's real Redis
 * (a private key prefix per product) and a fresh database, with short simulator retry delays.
 */
export async function startTestProduct(options: TestProductOptions = {}): Promise<TestProduct> {
  const dataDir = mkdtempSync(join(tmpdir(), 'wtg-product-'));
  const database = await openTestDatabase(options.database ?? 'pglite');
  const config = loadConfig({ SANDBOX: '1', REDIS_URL: inject('redisUrl'), DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'silent',
    // Tests sign in and send hostile callbacks far more often than people and WeCom do; the limits are
    // tested on their own (test/security/rate-limits.test.ts).
    LOGIN_RATE_LIMIT_PER_MINUTE: '0', CALLBACK_REJECTED_LIMIT_PER_MINUTE: '0', ...options.env });
  const product = await startProduct({
    config,
    role: 'all',
    database,
    redisPrefix: `t${randomUUID().slice(0, 8)}`,
    host: '127.0.0.1',
    simulator: { callbackTimeoutMs: 2_000, callbackRetryDelaysMs: [50, 100, 200], ...options.simulator },
    wecomClient: { backoffBaseMs: 5, maxTransientRetries: 2, timeoutMs: 2_000 },
    initialSync: options.initialSync ?? false,
    sweepEveryMs: 200,
    ...options.start,
  });
  const sim = product.simulator!;
  return {
    product,
    url: product.url,
    sim,
    anonymous: () => apiClient(product.url),
    async as(userid) {
      const client = apiClient(product.url);
      const login = await client.post('/api/dev/login', { userid });
      if (login.status !== 200) throw new Error(`dev login as ${userid} failed: ${login.status} ${JSON.stringify(login.body)}`);
      client.csrfToken = login.body.csrfToken;
      return client;
    },
    async simCall(method, path, body) {
      const response = await fetch(sim.url + path, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
      const text = await response.text();
      if (!response.ok) throw new Error(`simulator ${method} ${path}: ${response.status} ${text}`);
      return (text ? JSON.parse(text) : undefined) as never;
    },
    async stop() {
      await product.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Polls until `check` returns a truthy value (events are processed asynchronously by the workers). */
export async function waitFor<T>(check: () => Promise<T | undefined | null | false>, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
