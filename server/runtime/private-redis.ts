import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createConnection } from 'node:net';
import { freePort } from './free-port.ts';

export interface PrivateRedis {
  url: string;
  port: number;
  /** Shuts Redis down (SHUTDOWN NOSAVE semantics are not needed: the inbox lives in the database). */
  stop(): Promise<void>;
  /** Stops the process without touching its files; `start()` brings it back on the same port (fault tests). */
  kill(): Promise<void>;
  start(): Promise<void>;
}

export interface PrivateRedisOptions {
  dir: string;
  port?: number;
  /** Keep an append-only file under `dir` so queued jobs survive a restart of the product. */
  persistent?: boolean;
}

/** The exact command to run when no redis-server binary exists, printed by the launcher and tests. */
export const REDIS_INSTALL_HINT = 'apt-get install -y redis-server   (as root; or set REDIS_URL to an existing Redis)';

export function findRedisServer(): string | undefined {
  for (const candidate of ['redis-server', '/usr/bin/redis-server', '/usr/local/bin/redis-server']) {
    const probe = spawnSync(candidate, ['--version'], { stdio: 'ignore' });
    if (probe.status === 0) return candidate;
  }
  return undefined;
}

/** Starts a Redis owned by this process, on its own loopback port, with its files under `dir`. */
export async function startPrivateRedis(options: PrivateRedisOptions): Promise<PrivateRedis> {
  const binary = findRedisServer();
  if (!binary) throw new Error(`redis-server is not installed. Run: ${REDIS_INSTALL_HINT}`);
  mkdirSync(options.dir, { recursive: true });
  const port = options.port ?? (await freePort());
  let child: ChildProcess | undefined;

  const start = async (): Promise<void> => {
    const args = [
      '--port', String(port), '--bind', '127.0.0.1', '--dir', options.dir,
      '--save', '', '--appendonly', options.persistent ? 'yes' : 'no',
      '--daemonize', 'no', '--protected-mode', 'yes', '--loglevel', 'warning',
    ];
    child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    await waitForPort(port, 10_000, () => (child?.exitCode != null ? `redis-server exited: ${stderr.trim()}` : undefined));
  };

  const kill = async (): Promise<void> => {
    const current = child;
    if (!current || current.exitCode != null) return;
    await new Promise<void>((resolve) => {
      current.once('exit', () => resolve());
      current.kill('SIGKILL');
    });
  };

  const stop = async (): Promise<void> => {
    const current = child;
    if (!current || current.exitCode != null) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => current.kill('SIGKILL'), 5_000);
      current.once('exit', () => { clearTimeout(timer); resolve(); });
      current.kill('SIGTERM');
    });
  };

  await start();
  return { url: `redis://127.0.0.1:${port}`, port, stop, kill, start };
}

/** Resolves once something accepts TCP connections on the port; `failed` reports an early exit. */
export async function waitForPort(port: number, timeoutMs: number, failed?: () => string | undefined): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const problem = failed?.();
    if (problem) throw new Error(problem);
    const open = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ port, host: '127.0.0.1' });
      socket.once('connect', () => { socket.destroy(); resolve(true); });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`nothing listening on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
