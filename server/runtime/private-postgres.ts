import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './free-port.ts';
import { waitForPort } from './private-redis.ts';

/**
 * A PostgreSQL server owned by the caller (tests, benchmarks, fault suites), on its own port with its
 * cluster under `dir`. PostgreSQL refuses to run as root, so as root it runs as the `postgres` user that
 * Debian's package creates.
 */
export interface PrivatePostgres {
  /** Connection URL of the `postgres` database; use `createDatabase` for an isolated one. */
  url: string;
  port: number;
  createDatabase(name: string): Promise<string>;
  stop(): Promise<void>;
  /** Stops and restarts the same cluster (fault tests). */
  restart(): Promise<void>;
}

export const POSTGRES_INSTALL_HINT = 'apt-get install -y postgresql   (as root; or set DATABASE_URL to an existing PostgreSQL)';

export function findPostgresBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(root, versions[0], 'bin') : undefined;
}

const isRoot = (): boolean => typeof process.getuid === 'function' && process.getuid() === 0;

/**
 * As root, PostgreSQL's processes run as the `postgres` user. They are spawned with that uid/gid
 * directly (not through runuser), so signals reach the postmaster itself and a stop is a real stop.
 */
function ownerIds(): { uid: number; gid: number } | undefined {
  if (!isRoot()) return undefined;
  const uid = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (uid.status !== 0 || gid.status !== 0) throw new Error(`running as root needs the "postgres" user that Debian's package creates. Run: ${POSTGRES_INSTALL_HINT}`);
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

export interface PrivatePostgresOptions {
  dir: string;
  port?: number;
  /** fsync on (durable commits, for benchmarks); off by default, which only speeds up tests. */
  durable?: boolean;
}

export async function startPrivatePostgres(options: PrivatePostgresOptions): Promise<PrivatePostgres> {
  const bin = findPostgresBin();
  if (!bin) throw new Error(`PostgreSQL is not installed. Run: ${POSTGRES_INSTALL_HINT}`);
  const port = options.port ?? (await freePort());
  const dataDir = join(options.dir, 'pgdata');
  mkdirSync(options.dir, { recursive: true });
  const owner = ownerIds();
  if (owner) chownSync(options.dir, owner.uid, owner.gid);
  const asOwner = { ...(owner ?? {}), env: { ...process.env, HOME: options.dir } };
  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    const result = spawnSync(join(bin, 'initdb'), ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8', '-N'], { ...asOwner, encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`initdb failed: ${result.stderr || result.stdout}`);
  }
  let child: ChildProcess | undefined;
  const start = async (): Promise<void> => {
    child = spawn(join(bin, 'postgres'), [
      '-D', dataDir, '-p', String(port), '-k', options.dir, '-c', 'listen_addresses=127.0.0.1',
      '-c', `fsync=${options.durable ? 'on' : 'off'}`, '-c', 'synchronous_commit=on', '-c', 'max_connections=200', '-c', `full_page_writes=${options.durable ? 'on' : 'off'}`,
    ], { ...asOwner, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    await waitForPort(port, 20_000, () => (child?.exitCode != null ? `postgres exited: ${stderr.trim().slice(-2000)}` : undefined));
    await waitUntilAccepting(port);
  };
  const stop = async (): Promise<void> => {
    const current = child;
    if (!current || current.exitCode != null) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => current.kill('SIGKILL'), 10_000);
      current.once('exit', () => { clearTimeout(timer); resolve(); });
      current.kill('SIGINT'); // fast shutdown
    });
  };
  await start();
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  return {
    url,
    port,
    async createDatabase(name: string) {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`invalid database name: ${name}`);
      const pg = await import('pg');
      const client = new pg.default.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await client.query(`CREATE DATABASE ${name}`);
      } finally {
        await client.end();
      }
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    stop,
    async restart() { await stop(); await start(); },
  };
}

async function waitUntilAccepting(port: number): Promise<void> {
  const pg = await import('pg');
  const deadline = Date.now() + 20_000;
  for (;;) {
    const client = new pg.default.Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/postgres` });
    try {
      await client.connect();
      await client.query('select 1');
      await client.end();
      return;
    } catch (error) {
      await client.end().catch(() => undefined);
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
