// The fault suite's rig: the product as separate real processes (`server/main.ts server|worker`, as
// `npm run start:server|start:worker` run it), a private Redis and a private PostgreSQL that the tests
// stop and restart, and the WeCom simulator sending encrypted callbacks over HTTP with WeCom's
// retries. Each test file builds its own rig, so stopping Redis or PostgreSQL touches nothing else.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import pg from 'pg';
import { freePort } from '../../../server/runtime/free-port.ts';
import { startPrivatePostgres, type PrivatePostgres } from '../../../server/runtime/private-postgres.ts';
import { startPrivateRedis, type PrivateRedis } from '../../../server/runtime/private-redis.ts';
import { startSimulator, type CompanyFixture, type ResetResult, type RunningSimulator, type SimulatorOptions } from '../../../wecom-sim/index.ts';
import { apiClient, waitFor, type ApiClient } from '../../support/test-product.ts';

const root = join(import.meta.dirname, '..', '..', '..');

export const CORP_ID = 'wwsimcorp0000000001';
export const MEMBERS = ['wangfang', 'lina', 'zhouqiang', 'chenjing'];
export const ADMIN = 'boss';
/** A customer that exists before the stream starts (tag writes are made on it). */
export const SEEDED_CUSTOMER = 'wmfaultseeded0001';

export function faultCompany(): CompanyFixture {
  return {
    departments: [{ id: 1, name: '总部', parentid: 0, order: 1 }, { id: 2, name: '销售部', parentid: 1, order: 1 }],
    users: [
      { userid: ADMIN, name: '老板', department: [1], is_leader_in_dept: [1], position: '总经理', status: 1 },
      ...MEMBERS.map((userid, i) => ({ userid, name: `导购${i + 1}`, department: [2], is_leader_in_dept: [0], position: '导购', status: 1 })),
    ],
    corpTags: [{ group_name: '客户等级', createdBy: 'app', tag: [{ name: 'VIP' }, { name: '普通' }] }],
    customers: [{ external_userid: SEEDED_CUSTOMER, name: '种子客户', type: 1, follow_users: [{ userid: 'wangfang', tags: [], remark: '老客户' }] }],
  } as unknown as CompanyFixture;
}

export interface ProductProcess {
  role: 'server' | 'worker';
  child: ChildProcess;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface FaultRig {
  redis: PrivateRedis;
  postgres: PrivatePostgres;
  databaseUrl: string;
  sim: RunningSimulator;
  company: ResetResult;
  /** The server's base URL (fixed port, so a restarted server answers at the same place). */
  url: string;
  /** Queries on the product's database from outside the product (survives PostgreSQL restarts). */
  pool: pg.Pool;
  /** The product's event queue, read from outside (active/waiting counts). */
  events: Queue;
  startServer(): Promise<ProductProcess>;
  startWorker(): Promise<ProductProcess>;
  simCall<T = any>(method: string, path: string, body?: unknown): Promise<T>;
  /** An admin (or member) session through WeCom OAuth against the simulator, with its CSRF token. */
  login(userid: string): Promise<ApiClient>;
  stop(): Promise<void>;
}

export interface FaultRigOptions {
  simulator?: SimulatorOptions;
  /** Extra environment of the product processes. */
  env?: Record<string, string>;
}

export async function startFaultRig(options: FaultRigOptions = {}): Promise<FaultRig> {
  const dir = mkdtempSync(join(tmpdir(), 'wtg-faults-'));
  chmodSync(dir, 0o755); // PostgreSQL runs as its own user when the tests run as root
  const processes: ProductProcess[] = [];
  const [redis, postgres] = await Promise.all([
    // Persistent like the Redis the product starts for itself: queued jobs survive a restart.
    startPrivateRedis({ dir: join(dir, 'redis'), persistent: true }),
    startPrivatePostgres({ dir: join(dir, 'postgres') }),
  ]);
  const databaseUrl = await postgres.createDatabase('faults');
  const sim = await startSimulator({ callbackRetryDelaysMs: [1_000, 2_000, 4_000], ...options.simulator });
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/root',
    LOG_LEVEL: 'warn',
    DATA_DIR: join(dir, 'data'),
    REDIS_URL: redis.url,
    DATABASE_URL: databaseUrl,
    WECOM_CORP_ID: CORP_ID,
    WECOM_AGENT_ID: '1000002',
    WECOM_AGENT_SECRET: 'sim-agent-secret',
    WECOM_CALLBACK_TOKEN: 'FaultToken123',
    WECOM_CALLBACK_AES_KEY: 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG',
    WECOM_API_BASE: sim.url,
    SESSION_SECRET: 'f'.repeat(40),
    PUBLIC_URL: url,
    ADMIN_USERIDS: ADMIN,
    ...options.env,
  };
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 3 });
  pool.on('error', () => undefined); // idle connections die with every PostgreSQL restart
  const connection = { host: '127.0.0.1', port: redis.port, maxRetriesPerRequest: null, retryStrategy: () => 200 };
  const events = new Queue('wecom-events', { connection, prefix: 'wtg' });
  events.on('error', () => undefined);

  const launch = async (role: 'server' | 'worker'): Promise<ProductProcess> => {
    // The TypeScript entry itself (what launch.mjs loads after installing packages): no web build needed.
    const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts', role], {
      cwd: root,
      env: { ...env, PORT: role === 'server' ? String(port) : '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    child.stderr!.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    const proc: ProductProcess = { role, child, output: () => output, exited };
    processes.push(proc);
    await waitFor(async () => {
      if (child.exitCode !== null) throw new Error(`${role} exited while starting:\n${output}`);
      return output.includes('Press Ctrl-C');
    }, `the ${role} process to start`, 90_000);
    return proc;
  };

  let company: ResetResult | undefined;
  const rig: FaultRig = {
    redis, postgres, databaseUrl, sim, url, pool, events,
    get company() { return company!; },
    startServer: async () => {
      const server = await launch('server');
      if (!company) {
        // The simulator verifies the callback URL (GET echostr) before it sends events to it.
        company = await sim.reset({ ...faultCompany(), callback: { url: `${url}/wecom/callback`, token: env.WECOM_CALLBACK_TOKEN!, aesKey: env.WECOM_CALLBACK_AES_KEY! } } as CompanyFixture);
        if (!company.callback?.verified) throw new Error(`the simulator could not verify the callback URL: ${company.callback?.error}`);
      }
      return server;
    },
    startWorker: () => launch('worker'),
    async simCall(method, path, body) {
      const response = await fetch(sim.url + path, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
      const text = await response.text();
      if (!response.ok) throw new Error(`simulator ${method} ${path}: ${response.status} ${text}`);
      return (text ? JSON.parse(text) : undefined) as never;
    },
    async login(userid) {
      const client = apiClient(url);
      const start = await client.get('/api/auth/wecom/start?returnTo=/admin/');
      const state = new URL(start.headers.get('location') ?? 'http://x/').searchParams.get('state');
      if (start.status !== 302 || !state) throw new Error(`OAuth start answered ${start.status}`);
      const { code } = await rig.simCall<{ code: string }>('POST', '/sim/oauth/code', { userid });
      const done = await client.get(`/api/auth/wecom/callback?code=${encodeURIComponent(code)}&state=${encodeURIComponent(state)}`);
      if (done.status !== 302) throw new Error(`OAuth callback answered ${done.status}: ${JSON.stringify(done.body)}`);
      const me = await client.get('/api/me');
      client.csrfToken = me.body.csrfToken;
      return client;
    },
    async stop() {
      for (const proc of processes) {
        if (proc.child.exitCode === null && proc.child.signalCode === null) {
          proc.child.kill('SIGTERM');
          const timer = setTimeout(() => proc.child.kill('SIGKILL'), 15_000);
          await proc.exited;
          clearTimeout(timer);
        }
      }
      await events.close().catch(() => undefined);
      await pool.end().catch(() => undefined);
      await sim.close();
      await Promise.allSettled([redis.stop(), postgres.stop()]);
      rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
    },
  };
  return rig;
}

/** Waits for the initial full sync (queued by the first start) to bring the seeded customer in. */
export async function waitForInitialSync(rig: FaultRig): Promise<void> {
  await waitFor(async () => (await rig.pool.query('select 1 from customers where external_userid = $1', [SEEDED_CUSTOMER])).rowCount === 1, 'the initial sync', 60_000);
}
