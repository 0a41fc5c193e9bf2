import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig } from './config.ts';
import { openDatabase } from './db/database.ts';
import { DataDirLockedError } from './db/pglite-lock.ts';
import { checkAuditChain, type BrokenLink } from './services/audit.service.ts';

/**
 * `npm run audit:verify`: re-computes the audit log's hash chain in the configured database
 * (DATABASE_URL, else the PGlite data directory under DATA_DIR) and prints "intact" or the first
 * broken link. Exit code 0 intact, 1 broken, 2 could not check.
 */

const WHY: Record<BrokenLink['reason'], string> = {
  hash_mismatch: 'its content no longer matches its hash (the entry was edited after it was written)',
  prev_hash_mismatch: 'it does not chain to the entry before it (an entry was removed, inserted or re-ordered)',
};

export function describeBrokenLink(link: BrokenLink, entries: number): string {
  return `audit chain BROKEN at entry ${link.id} (${link.action}, ${link.at}): ${WHY[link.reason]}; ` +
    `previous intact entry: ${link.previousId ?? 'none'}. ${entries} entries checked.`;
}

async function main(): Promise<number> {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  if (existsSync(join(root, '.env'))) process.loadEnvFile(join(root, '.env'));
  const config = loadConfig();
  const pgliteDir = join(config.dataDir, 'db');
  if (!config.databaseUrl && !existsSync(join(pgliteDir, 'pglite'))) {
    process.stderr.write(`no database at ${pgliteDir} (DATA_DIR=${config.dataDir}): set DATA_DIR to the product's data directory, or DATABASE_URL\n`);
    return 2;
  }
  const database = await openDatabase(config.databaseUrl ? { url: config.databaseUrl } : { pgliteDir }, { poolSize: 1 });
  try {
    const where = config.databaseUrl ? 'PostgreSQL (DATABASE_URL)' : `PGlite at ${pgliteDir}`;
    const check = await checkAuditChain(database.db);
    if (check.intact) {
      process.stdout.write(`audit chain intact: ${check.entries} entries verified in ${where}\n`);
      return 0;
    }
    process.stdout.write(`${describeBrokenLink(check.firstBroken!, check.entries)} Database: ${where}\n`);
    return 1;
  } finally {
    await database.close();
  }
}

main().then((code) => process.exit(code), (error: unknown) => {
  if (error instanceof ConfigError || error instanceof DataDirLockedError) process.stderr.write(`${error.message}\n`);
  else process.stderr.write(`could not verify the audit chain: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(2);
});
