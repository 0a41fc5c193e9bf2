// Boots the product the way `npm start` / `start:server` / `start:worker` do (startProduct with a
// production-style configuration, not sandbox mode), pointed at the simulator, plus the inbox and
// customer queries the benchmarks verify with.
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { startProduct, type Role, type RunningProduct } from '../../server/boot.ts';
import { loadConfig } from '../../server/config.ts';
import type { Database } from '../../server/db/database.ts';
import { customers, inboxEvents } from '../../server/db/schema.ts';
import type { BenchCredentials } from './company.ts';
import type { BenchInfra } from './infra.ts';

export interface BenchProductOptions {
  role: Role;
  /** PostgreSQL URL; without it the product opens embedded PGlite in `<dataDir>/db` (its default). */
  databaseUrl?: string;
  dataDir: string;
  redisPrefix: string;
  credentials: BenchCredentials;
  eventConcurrency?: number;
}

/** Where the product finds the shared parts (a child process gets these on its command line). */
export interface BenchTargets {
  simulatorUrl: string;
  redisUrl: string;
}

export async function startBenchProduct(infra: BenchInfra, options: BenchProductOptions): Promise<RunningProduct> {
  const product = await startBenchProductAt({ simulatorUrl: infra.simulator.url, redisUrl: infra.redisUrl }, options);
  const stop = infra.cleanup.add(`product (${options.role}, ${options.redisPrefix})`, () => product.stop());
  return { ...product, stop };
}

/** Starts the product without registering its cleanup (a child process stops it when its parent goes). */
export async function startBenchProductAt(targets: BenchTargets, options: BenchProductOptions): Promise<RunningProduct> {
  const c = options.credentials;
  const config = loadConfig({
    SANDBOX: '0',
    WECOM_CORP_ID: c.corpId,
    WECOM_AGENT_ID: String(c.agentId),
    WECOM_AGENT_SECRET: c.agentSecret,
    WECOM_CALLBACK_TOKEN: c.callbackToken,
    WECOM_CALLBACK_AES_KEY: c.callbackAesKey,
    SESSION_SECRET: c.sessionSecret,
    // Only used for OAuth redirects, which the benchmarks do not exercise.
    PUBLIC_URL: 'http://127.0.0.1',
    WECOM_API_BASE: targets.simulatorUrl,
    REDIS_URL: targets.redisUrl,
    DATA_DIR: options.dataDir,
    PORT: '0',
    LOG_LEVEL: (process.env.BENCH_LOG_LEVEL ?? 'silent'),
    ...(options.databaseUrl ? { DATABASE_URL: options.databaseUrl } : {}),
  });
  const eventConcurrency = options.eventConcurrency ?? (process.env.BENCH_EVENT_CONCURRENCY ? Number(process.env.BENCH_EVENT_CONCURRENCY) : undefined);
  return startProduct({
    config,
    role: options.role,
    redisPrefix: options.redisPrefix,
    host: '127.0.0.1',
    initialSync: false,
    // BENCH_EVENT_CONCURRENCY tries another worker concurrency than the product's default (8).
    ...(eventConcurrency ? { eventConcurrency } : {}),
  });
}

export const productDataDir = (infra: BenchInfra, name: string): string => join(infra.root, name);

export interface InboxCounts {
  rows: number;
  duplicateDeliveries: number;
  pending: number;
  done: number;
  ignored: number;
  failed: number;
  /** Rows whose event was applied after more than one attempt (a retried job, still applied once). */
  retried: number;
  /** Rows per ExternalUserID beyond the first (each benchmark event has its own customer). */
  extraRowsPerCustomer: number;
}

export async function inboxCounts(db: Database): Promise<InboxCounts> {
  const [row] = await db.select({
    rows: sql<number>`count(*)::int`,
    duplicateDeliveries: sql<number>`coalesce(sum(${inboxEvents.duplicateDeliveries}), 0)::int`,
    pending: sql<number>`(count(*) filter (where ${inboxEvents.status} = 'pending'))::int`,
    done: sql<number>`(count(*) filter (where ${inboxEvents.status} = 'done'))::int`,
    ignored: sql<number>`(count(*) filter (where ${inboxEvents.status} = 'ignored'))::int`,
    failed: sql<number>`(count(*) filter (where ${inboxEvents.status} = 'failed'))::int`,
    retried: sql<number>`(count(*) filter (where ${inboxEvents.attempts} > 1))::int`,
    extraRowsPerCustomer: sql<number>`(count(*) - count(distinct ${inboxEvents.payload}->>'ExternalUserID'))::int`,
  }).from(inboxEvents);
  return row!;
}

/** The inbox rows' customer ids (to check that exactly the expected events are there). */
export async function inboxCustomerIds(db: Database): Promise<Set<string>> {
  const rows = await db.select({ id: sql<string>`${inboxEvents.payload}->>'ExternalUserID'` }).from(inboxEvents);
  return new Set(rows.map((r) => r.id));
}

export async function lastErrors(db: Database, limit = 3): Promise<string[]> {
  const rows = await db.select({ error: inboxEvents.lastError }).from(inboxEvents)
    .where(sql`${inboxEvents.lastError} is not null`).limit(limit);
  return rows.map((r) => r.error ?? '');
}

export async function customerCount(db: Database, idPrefix: string): Promise<number> {
  const [row] = await db.select({ n: sql<number>`count(*)::int` }).from(customers)
    .where(sql`${customers.externalUserId} like ${idPrefix + '%'}`);
  return row!.n;
}

/** Polls until `check` is truthy; returns false on timeout. */
export async function waitUntil(check: () => Promise<boolean>, timeoutMs: number, everyMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export interface PoolWaitStats {
  /** Queries waiting for one of the pool's connections (sampled every 20 ms). */
  waitingP50: number;
  waitingP99: number;
  waitingMax: number;
  poolSize: number;
}

/** Samples the node-postgres pool behind `db` (PostgreSQL only; undefined for PGlite). */
export function poolSampler(db: Database): () => PoolWaitStats | undefined {
  const pool = (db as unknown as { $client?: { waitingCount?: number; totalCount?: number } }).$client;
  if (typeof pool?.waitingCount !== 'number') return () => undefined;
  const samples: number[] = [];
  let size = 0;
  const timer = setInterval(() => {
    samples.push(pool.waitingCount ?? 0);
    size = Math.max(size, pool.totalCount ?? 0);
  }, 20);
  return () => {
    clearInterval(timer);
    const sorted = samples.sort((a, b) => a - b);
    const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? 0;
    return { waitingP50: at(0.5), waitingP99: at(0.99), waitingMax: sorted[sorted.length - 1] ?? 0, poolSize: size };
  };
}
