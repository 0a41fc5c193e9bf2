import { ConfigError, loadConfig } from './config.ts';
import { DataDirLockedError } from './db/pglite-lock.ts';
import { createLogger } from './logger.ts';
import { startProduct, type Role } from './boot.ts';

/**
 * `npm start` (role all: server + workers, and in sandbox mode the simulator), `npm run start:server`
 * and `npm run start:worker` (separate processes; PostgreSQL only).
 */
async function main(): Promise<void> {
  const role = (process.argv[2] ?? 'all') as Role;
  if (!['all', 'server', 'worker'].includes(role)) throw new ConfigError(`unknown role "${role}": use all, server or worker`);
  const config = loadConfig();
  if (role !== 'all' && !config.databaseUrl) {
    throw new ConfigError(
      `start:${role} runs the ${role} alone, which needs DATABASE_URL (PostgreSQL): the embedded PGlite database cannot be shared ` +
        'between processes. Set DATABASE_URL, or use `npm start` to run everything in one process.',
    );
  }
  if (role !== 'all' && config.sandbox) {
    throw new ConfigError(`start:${role} is for production (SANDBOX=0 with WECOM_* set): the sandbox's simulator lives in one process. Use \`npm start\`.`);
  }
  const logger = createLogger(config.logLevel, { role });
  const product = await startProduct({ config, role, logger });
  const lines = [`WeCom tag guard is running (${role}${config.sandbox ? ', sandbox' : ''}).`];
  if (product.url) {
    const base = config.publicUrl ?? product.url.replace('127.0.0.1', 'localhost');
    lines.push(`  sidebar:       ${base}/sidebar/`, `  admin console: ${base}/admin/`, `  health:        ${base}/healthz`, `  callback URL:  ${base}/wecom/callback`);
  }
  if (product.simulator) lines.push(`  simulator:     ${product.simulator.url}  (WeCom API and /sim control API)`);
  lines.push('Press Ctrl-C to stop.');
  process.stdout.write(lines.join('\n') + '\n');

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`\n${signal}: draining workers and finishing requests…\n`);
    product.stop().then(() => process.exit(0), () => process.exit(1));
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError || error instanceof DataDirLockedError) {
    process.stderr.write(`${error.message}\n`);
  } else {
    process.stderr.write(`startup failed: ${(error as Error).message}\n`);
  }
  process.exit(1);
});
