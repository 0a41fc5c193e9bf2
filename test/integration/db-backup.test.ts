// `npm run db:backup` / `db:restore` for the embedded database, run as the commands operators run:
// a round trip keeps every committed row, a running product's database is never touched, and an
// existing database is replaced only on request (and kept aside).
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../server/db/database.ts';
import { settings } from '../../server/db/schema.ts';

const run = promisify(execFile);
const root = mkdtempSync(join(tmpdir(), 'wtg-backup-'));
const source = join(root, 'source');
const target = join(root, 'target');
const backupFile = join(root, 'snapshots', 'first.tar.gz');

/** Runs an npm script the way an operator does, with DATA_DIR pointing at `dataDir`. */
async function npm(script: string, dataDir: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('npm', ['run', '--silent', script, '--', ...args], { env: { ...process.env, DATA_DIR: dataDir, DATABASE_URL: '' }, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

async function readSetting(dataDir: string, key: string): Promise<unknown> {
  const database = await openDatabase({ pgliteDir: join(dataDir, 'db') });
  try {
    return (await database.db.select().from(settings).where(eq(settings.key, key)))[0]?.value;
  } finally {
    await database.close();
  }
}

beforeAll(async () => {
  const database = await openDatabase({ pgliteDir: join(source, 'db') });
  await database.db.insert(settings).values([{ key: 'backup_probe', value: { written: 'before the backup', n: 1 } }]);
  await database.close();
}, 60_000);

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('embedded database backup and restore', () => {
  it('refuses to back up a database a running product has open, and writes nothing', async () => {
    const running = await openDatabase({ pgliteDir: join(source, 'db') });
    try {
      // The lock names this process; the command runs in another one, as it would beside `npm start`.
      const refused = await npm('db:backup', source, backupFile);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('Stop it first');
      expect(existsSync(backupFile)).toBe(false);
    } finally {
      await running.close();
    }
  }, 90_000);

  it('round trip: a backup restored into an empty DATA_DIR holds every committed row', async () => {
    const backup = await npm('db:backup', source, backupFile);
    expect(backup.stderr).toBe('');
    expect(backup.code).toBe(0);
    expect(backup.stdout).toContain(backupFile);
    expect(statSync(backupFile).size).toBeGreaterThan(1000);

    // Written after the backup: must not be in the restored copy.
    const database = await openDatabase({ pgliteDir: join(source, 'db') });
    await database.db.insert(settings).values({ key: 'after_backup', value: true });
    await database.close();

    const restored = await npm('db:restore', target, backupFile);
    expect(restored.code).toBe(0);
    expect(await readSetting(target, 'backup_probe')).toEqual({ written: 'before the backup', n: 1 });
    expect(await readSetting(target, 'after_backup')).toBeUndefined();
  }, 120_000);

  it('refuses to restore over an existing database unless asked, then keeps the old one aside', async () => {
    const database = await openDatabase({ pgliteDir: join(target, 'db') });
    await database.db.insert(settings).values({ key: 'only_in_target', value: 1 });
    await database.close();

    const refused = await npm('db:restore', target, backupFile);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('--replace');
    expect(await readSetting(target, 'only_in_target')).toBe(1);

    const replaced = await npm('db:restore', target, backupFile, '--replace');
    expect(replaced.code).toBe(0);
    expect(await readSetting(target, 'only_in_target')).toBeUndefined();
    expect(readdirSync(join(target, 'db')).some((name) => name.startsWith('pglite.before-restore-'))).toBe(true);
  }, 120_000);

  it('leaves the database unchanged when the backup file is not a backup', async () => {
    const junk = join(root, 'junk.tar.gz');
    writeFileSync(junk, 'not a tar archive');
    const failed = await npm('db:restore', target, junk, '--replace');
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('unchanged');
    expect(await readSetting(target, 'backup_probe')).toEqual({ written: 'before the backup', n: 1 });
  }, 120_000);
});
