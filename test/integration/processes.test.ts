import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, inject, it } from 'vitest';
import { freePort } from '../../server/runtime/free-port.ts';
import { startSimulator, type CompanyFixture, type RunningSimulator } from '../../wecom-sim/index.ts';
import { createTestDatabase, waitFor } from '../support/test-product.ts';

/** The product as real processes: `node server/launch.mjs <role>`, exactly what the npm scripts run. */
interface Launched {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

const running: Launched[] = [];
const dirs: string[] = [];

function launch(role: string, env: Record<string, string>): Launched {
  const child = spawn(process.execPath, ['server/launch.mjs', role], {
    cwd: join(import.meta.dirname, '..', '..'),
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  child.stderr!.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const launched = { child, output: () => output, exited };
  running.push(launched);
  return launched;
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'wtg-proc-'));
  chmodSync(dir, 0o755);
  dirs.push(dir);
  return dir;
}

const portOpen = async (port: number): Promise<boolean> => {
  const net = await import('node:net');
  return new Promise((resolve) => {
    const socket = net.createConnection({ port, host: '127.0.0.1' });
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
  });
};

afterEach(async () => {
  for (const p of running.splice(0)) {
    if (p.child.exitCode === null) {
      p.child.kill('SIGTERM');
      await p.exited;
    }
  }
});
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('npm start (sandbox, one process)', () => {
  it('starts everything, refuses a second process on the same PGlite directory, and stops cleanly on Ctrl-C', async () => {
    const dataDir = tempDir();
    const port = await freePort();
    const first = launch('all', { DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: 'info' });
    await waitFor(async () => first.output().includes('Press Ctrl-C'), 'the product to start', 60_000);
    const health = await (await fetch(`http://127.0.0.1:${port}/healthz`)).json();
    expect(health).toMatchObject({ ok: true, database: { kind: 'pglite' }, sandbox: { simulatorUrl: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/) } });
    const redisPort = Number(/"port":(\d+)[^\n]*"msg":"private Redis started"/.exec(first.output())?.[1]);
    expect(await portOpen(redisPort)).toBe(true);

    const second = launch('all', { DATA_DIR: dataDir, PORT: String(await freePort()) });
    expect(await second.exited).toBe(1);
    expect(second.output()).toMatch(/already open in process \d+.*DATABASE_URL/s);

    first.child.kill('SIGINT');
    expect(await first.exited).toBe(0);
    expect(first.output()).toContain('draining workers');
    expect(await portOpen(port)).toBe(false);
    expect(await portOpen(redisPort)).toBe(false);
  }, 90_000);
});

describe('separate server and worker processes', () => {
  it('refuse to run on the embedded database', async () => {
    const server = launch('server', {
      DATA_DIR: tempDir(), REDIS_URL: inject('redisUrl'), WECOM_CORP_ID: 'ww1234567890abcdef', WECOM_AGENT_ID: '1000002', WECOM_AGENT_SECRET: 'secret',
      WECOM_CALLBACK_TOKEN: 'Token123', WECOM_CALLBACK_AES_KEY: 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG', SESSION_SECRET: 's'.repeat(40), PUBLIC_URL: 'https://crm.example.com',
    });
    expect(await server.exited).toBe(1);
    expect(server.output()).toMatch(/needs DATABASE_URL \(PostgreSQL\).*cannot be shared/s);
  });

  describe('with PostgreSQL against a standalone simulator (production mode)', () => {
    let sim: RunningSimulator;
    afterAll(async () => {
      await sim?.close();
    });

    it('receive a callback in the server and process it in the worker', async () => {
      sim = await startSimulator({ callbackRetryDelaysMs: [100, 200, 400] });
      await sim.reset({
        departments: [{ id: 1, name: '总部', parentid: 0, order: 1 }],
        users: [{ userid: 'wangfang', name: '王芳', department: [1], is_leader_in_dept: [0], position: '导购', status: 1 }],
        corpTags: [{ group_name: '客户等级', tag: [{ name: 'VIP' }] }],
        customers: [],
      } as unknown as CompanyFixture);
      const port = await freePort();
      const env = {
        DATA_DIR: tempDir(), PORT: String(port), REDIS_URL: inject('redisUrl'), DATABASE_URL: await createTestDatabase(),
        WECOM_CORP_ID: 'wwsimcorp0000000001', WECOM_AGENT_ID: '1000002', WECOM_AGENT_SECRET: 'sim-agent-secret',
        WECOM_CALLBACK_TOKEN: 'ProcToken123', WECOM_CALLBACK_AES_KEY: 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG',
        WECOM_API_BASE: sim.url, SESSION_SECRET: 's'.repeat(40), PUBLIC_URL: 'https://crm.example.com',
      };
      const server = launch('server', env);
      await waitFor(async () => server.output().includes('Press Ctrl-C'), 'the server to start', 60_000);
      const worker = launch('worker', { ...env, PORT: '0' });
      await waitFor(async () => worker.output().includes('Press Ctrl-C'), 'the worker to start', 60_000);
      expect((await fetch(`http://127.0.0.1:${port}/api/dev/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"userid":"wangfang"}' })).status).toBe(404);

      // The simulator verifies the URL (GET echostr) before accepting it.
      const configured = await fetch(`${sim.url}/sim/callback`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ url: `http://127.0.0.1:${port}/wecom/callback`, token: env.WECOM_CALLBACK_TOKEN, aesKey: env.WECOM_CALLBACK_AES_KEY }),
      });
      expect(configured.status).toBe(200);
      const added = await (await fetch(`${sim.url}/sim/customers/add`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ userid: 'wangfang', state: 'shop_sh_01' }) })).json() as { external_userid: string };

      const pg = (await import('pg')).default;
      const client = new pg.Client({ connectionString: env.DATABASE_URL });
      await client.connect();
      const row = await waitFor(async () => (await client.query('select owner_userid from customers where external_userid = $1 and owner_userid is not null', [added.external_userid])).rows[0], 'the worker to store the customer', 20_000);
      await client.end();
      expect(row).toEqual({ owner_userid: 'wangfang' });

      worker.child.kill('SIGTERM');
      server.child.kill('SIGTERM');
      expect(await worker.exited).toBe(0);
      expect(await server.exited).toBe(0);
    }, 90_000);
  });
});
