// What one benchmark run shares: a temp directory, Redis, PostgreSQL and the simulator process.
// Each is started privately unless the environment names one (REDIS_URL, BENCH_DATABASE_URL).
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startPrivatePostgres } from '../../server/runtime/private-postgres.ts';
import { startPrivateRedis } from '../../server/runtime/private-redis.ts';
import { firstLine, spawnTs } from './child.ts';
import type { Cleanup } from './cleanup.ts';
import type { LatencySummary } from './stats.ts';

export interface PostgresServer {
  /** Where it came from, for the report. */
  origin: 'private' | 'BENCH_DATABASE_URL';
  /** A fresh, empty database (dropped at cleanup). */
  createDatabase(label: string): Promise<string>;
  /** fsync / synchronous_commit as the server runs them, for the report. */
  settings: { fsync: string; synchronousCommit: string; version: string };
}

export interface SimulatorHandle {
  url: string;
  /** The simulator process's event-loop delay since the previous call (ms). */
  loopDelay(): Promise<LatencySummary>;
  call<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
}

export interface BenchInfra {
  root: string;
  redisUrl: string;
  redisOrigin: 'private' | 'REDIS_URL';
  postgres: PostgresServer;
  simulator: SimulatorHandle;
  cleanup: Cleanup;
}

export async function startInfra(cleanup: Cleanup): Promise<BenchInfra> {
  const root = mkdtempSync(join(tmpdir(), 'wtg-bench-'));
  chmodSync(root, 0o755); // as root, PostgreSQL runs as user postgres and must reach its directory
  cleanup.add('temp directory', () => rmSync(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 }));

  // allSettled: when one fails, the others must still finish starting and register their cleanup
  // before the caller cleans up (else a PostgreSQL still starting would outlive the run).
  const [redis, postgres, simulator] = await Promise.allSettled([startRedis(root, cleanup), startPostgres(root, cleanup), startSimulatorProcess(cleanup)]);
  if (redis.status === 'rejected') throw redis.reason;
  if (postgres.status === 'rejected') throw postgres.reason;
  if (simulator.status === 'rejected') throw simulator.reason;
  return { root, redisUrl: redis.value.url, redisOrigin: redis.value.origin, postgres: postgres.value, simulator: simulator.value, cleanup };
}

async function startRedis(root: string, cleanup: Cleanup): Promise<{ url: string; origin: BenchInfra['redisOrigin'] }> {
  if (process.env.REDIS_URL) return { url: process.env.REDIS_URL, origin: 'REDIS_URL' };
  // Persistent (append-only file) like the Redis the product starts for itself.
  const redis = await startPrivateRedis({ dir: join(root, 'redis'), persistent: true });
  cleanup.add('private Redis', () => redis.stop());
  return { url: redis.url, origin: 'private' };
}

async function startPostgres(root: string, cleanup: Cleanup): Promise<PostgresServer> {
  let adminUrl = process.env.BENCH_DATABASE_URL;
  const origin: PostgresServer['origin'] = adminUrl ? 'BENCH_DATABASE_URL' : 'private';
  if (!adminUrl) {
    const server = await startPrivatePostgres({ dir: join(root, 'postgres') });
    cleanup.add('private PostgreSQL', () => server.stop());
    adminUrl = server.url;
  }
  const admin = new pg.Client({ connectionString: adminUrl });
  // On Ctrl-C PostgreSQL gets the signal too and may close this connection first.
  admin.on('error', () => undefined);
  await admin.connect();
  cleanup.add('PostgreSQL admin connection', () => admin.end());
  const show = async (name: string) => String((await admin.query(`show ${name}`)).rows[0]?.[name] ?? '?');
  const settings = { fsync: await show('fsync'), synchronousCommit: await show('synchronous_commit'), version: await show('server_version') };
  return {
    origin,
    settings,
    async createDatabase(label: string) {
      const name = `wtg_bench_${label}_${randomBytes(4).toString('hex')}`;
      await admin.query(`CREATE DATABASE ${name}`);
      cleanup.add(`database ${name}`, () => admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
      const url = new URL(adminUrl);
      url.pathname = `/${name}`;
      return url.toString();
    },
  };
}

async function startSimulatorProcess(cleanup: Cleanup): Promise<SimulatorHandle> {
  const { child } = spawnTs('simulator-host.ts', [], cleanup, 'simulator process');
  const { url } = await firstLine(child, (line) => (line.startsWith('{') ? (JSON.parse(line) as { url: string }) : undefined), 30_000);
  return {
    url,
    async loopDelay() {
      const answer = firstLine(child, (line) => (line.startsWith('LOOP ') ? (JSON.parse(line.slice(5)) as LatencySummary) : undefined), 10_000);
      child.stdin?.write('loop\n');
      return answer;
    },
    async call<T>(method: string, path: string, body?: unknown): Promise<T> {
      const response = await fetch(url + path, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
      const text = await response.text();
      if (!response.ok) throw new Error(`simulator ${method} ${path}: HTTP ${response.status} ${text.slice(0, 500)}`);
      return (text ? JSON.parse(text) : undefined) as T;
    },
  };
}
