import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig } from '../config.ts';
import { BackupError, backupPglite, restorePglite } from './pglite-backup.ts';

const USAGE = `usage:
  npm run db:backup [-- <file>]               snapshot DATA_DIR/db (default DATA_DIR/backups/pglite-<time>.tar.gz)
  npm run db:restore -- <file> [--replace]    restore a snapshot into DATA_DIR/db (--replace keeps the current one aside)
With DATABASE_URL set (PostgreSQL), use pg_dump / pg_restore instead: see README "Backup and restore".`;

/** `npm run db:backup` and `npm run db:restore`: the embedded database only (see pglite-backup.ts). */
async function main(): Promise<void> {
  const [command, ...rest] = process.argv.slice(2);
  // The same settings `npm start` reads (DATA_DIR, DATABASE_URL).
  const envFile = fileURLToPath(new URL('../../.env', import.meta.url));
  if (existsSync(envFile)) process.loadEnvFile(envFile);
  const config = loadConfig();
  if (config.databaseUrl) throw new BackupError(`DATABASE_URL is set: this product uses PostgreSQL, back it up with pg_dump.\n${USAGE}`);
  const files = rest.filter((arg) => !arg.startsWith('--'));
  if (command === 'backup') {
    const file = resolve(files[0] ?? join(config.dataDir, 'backups', `pglite-${new Date().toISOString().replace(/[:.]/g, '-')}.tar.gz`));
    const { bytes } = await backupPglite(config.dataDir, file);
    process.stdout.write(`backup written: ${file} (${(bytes / 1024).toFixed(0)} KB)\n`);
  } else if (command === 'restore' && files[0]) {
    const { keptAside } = await restorePglite(config.dataDir, resolve(files[0]), { replace: rest.includes('--replace') });
    process.stdout.write(`restored ${resolve(files[0])} into ${join(config.dataDir, 'db')}${keptAside ? ` (the previous database is kept in ${keptAside})` : ''}\n`);
  } else {
    throw new BackupError(USAGE);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof BackupError || error instanceof ConfigError ? error.message : `failed: ${(error as Error).message}`}\n`);
  process.exit(1);
});
