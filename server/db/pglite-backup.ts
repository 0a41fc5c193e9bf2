import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { acquireDataDirLock, DataDirLockedError } from './pglite-lock.ts';

/**
 * Backup and restore of the embedded database (PGlite) under DATA_DIR/db. Both hold the data
 * directory's lock for their whole run, so nothing else has the database open: a backup is PGlite's
 * own dump of a quiescent database (a gzipped tar of the data directory, `dumpDataDir`), and a
 * restore never writes under a running product.
 */
export class BackupError extends Error {
  override name = 'BackupError';
}

/** DATA_DIR/db: where openDatabase keeps PGlite (its files in `pglite/`, the lock beside them). */
export const pgliteDirOf = (dataDir: string): string => join(dataDir, 'db');

function lock(dir: string, what: string) {
  try {
    return acquireDataDirLock(dir);
  } catch (error) {
    if (error instanceof DataDirLockedError) {
      throw new BackupError(`cannot ${what} while the product has the embedded database open (${error.message.split('. ')[0]}). ` +
        'Stop it first (Ctrl-C drains it in seconds), then run this again.');
    }
    throw error;
  }
}

export async function backupPglite(dataDir: string, outFile: string): Promise<{ file: string; bytes: number }> {
  const dir = pgliteDirOf(dataDir);
  const files = join(dir, 'pglite');
  if (!existsSync(files) || readdirSync(files).length === 0) throw new BackupError(`no embedded database in ${dir}: check DATA_DIR (it is "${dataDir}")`);
  const held = lock(dir, 'back up');
  try {
    const { PGlite } = await import('@electric-sql/pglite');
    const client = new PGlite(files);
    try {
      await client.waitReady;
      // A checkpoint first: the dump then holds every committed change in the data files themselves.
      await client.exec('checkpoint');
      const dump = await client.dumpDataDir('gzip');
      const bytes = Buffer.from(await dump.arrayBuffer());
      mkdirSync(dirname(outFile), { recursive: true });
      // Written beside the target and renamed, so a failed backup never leaves a truncated file behind.
      writeFileSync(`${outFile}.partial`, bytes);
      renameSync(`${outFile}.partial`, outFile);
      return { file: outFile, bytes: bytes.length };
    } finally {
      await client.close();
    }
  } finally {
    held.release();
  }
}

/**
 * Restores a backup into DATA_DIR/db. An existing database is kept aside as `pglite.before-restore-<time>`
 * (only with `replace`; without it an existing database is refused), and put back if the restore fails.
 */
export async function restorePglite(dataDir: string, backupFile: string, options: { replace?: boolean } = {}): Promise<{ keptAside?: string }> {
  if (!existsSync(backupFile)) throw new BackupError(`no backup file at ${backupFile}`);
  const dir = pgliteDirOf(dataDir);
  mkdirSync(dir, { recursive: true });
  const files = join(dir, 'pglite');
  const held = lock(dir, 'restore');
  let keptAside: string | undefined;
  try {
    if (existsSync(files) && readdirSync(files).length > 0) {
      if (!options.replace) throw new BackupError(`${dir} already holds a database: add --replace to keep it aside and restore over it`);
      keptAside = `${files}.before-restore-${new Date().toISOString().replace(/[:.]/g, '-')}`;
      renameSync(files, keptAside);
    }
    const { PGlite } = await import('@electric-sql/pglite');
    try {
      const client = new PGlite(files, { loadDataDir: new Blob([readFileSync(backupFile)]) });
      try {
        await client.waitReady;
        await client.query('select 1');
      } finally {
        await client.close();
      }
    } catch (error) {
      rmSync(files, { recursive: true, force: true });
      if (keptAside) renameSync(keptAside, files);
      throw new BackupError(`${backupFile} could not be restored (${(error as Error).message}); the database in ${dir} is unchanged`);
    }
    return keptAside ? { keptAside } : {};
  } finally {
    held.release();
  }
}
