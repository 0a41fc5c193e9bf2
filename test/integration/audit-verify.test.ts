// `npm run audit:verify` as an operator runs it: a separate process against the configured database
// (a PGlite data directory, or PostgreSQL by DATABASE_URL). An intact chain prints "intact" and exits
// 0; an entry edited or removed behind the product's back is named as the first broken link, exit 1.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { eq, sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase, type OpenDatabase } from '../../server/db/database.ts';
import { auditLog } from '../../server/db/schema.ts';
import { audit } from '../../server/services/audit.service.ts';
import { createTestDatabase } from '../support/test-product.ts';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');

async function verify(env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('npm', ['run', '--silent', 'audit:verify'], { cwd: root, env: { ...process.env, SANDBOX: '1', LOG_LEVEL: 'silent', DATABASE_URL: '', ...env } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

async function writeEntries(database: OpenDatabase, n: number): Promise<number[]> {
  for (let i = 0; i < n; i += 1) {
    await database.db.transaction((tx) => audit(tx, { actor: 'boss', action: 'customer.assign', subjectType: 'customer', subjectId: `wm${i}`, outcome: 'done', details: { from: 'a', to: 'b', i } }));
  }
  return (await database.db.select({ id: auditLog.id }).from(auditLog).orderBy(auditLog.id)).map((r) => r.id);
}

const dirs: string[] = [];
afterAll(() => { for (const dir of dirs) rmSync(dir, { recursive: true, force: true }); });

describe('npm run audit:verify', () => {
  it('PGlite data directory: intact, then an edited entry is reported as the first broken link', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'wtg-verify-'));
    dirs.push(dataDir);
    let database = await openDatabase({ pgliteDir: join(dataDir, 'db') });
    const ids = await writeEntries(database, 5);
    await database.close();

    const intact = await verify({ DATA_DIR: dataDir });
    expect(intact.stdout).toContain('audit chain intact: 5 entries verified');
    expect(intact.code).toBe(0);

    // Someone with database access rewrites the third entry's details.
    database = await openDatabase({ pgliteDir: join(dataDir, 'db') });
    await database.db.update(auditLog).set({ details: { from: 'a', to: 'mallory', i: 2 } }).where(eq(auditLog.id, ids[2]!));
    await database.close();

    const broken = await verify({ DATA_DIR: dataDir });
    expect(broken.code).toBe(1);
    expect(broken.stdout).toContain(`audit chain BROKEN at entry ${ids[2]} (customer.assign`);
    expect(broken.stdout).toContain('content no longer matches its hash');
    expect(broken.stdout).toContain(`previous intact entry: ${ids[1]}`);
  });

  it('PostgreSQL by DATABASE_URL: a removed entry breaks the link of the one after it', async () => {
    const url = await createTestDatabase();
    const database = await openDatabase({ url }, { poolSize: 2 });
    const ids = await writeEntries(database, 4);
    const dataDir = mkdtempSync(join(tmpdir(), 'wtg-verify-'));
    dirs.push(dataDir);
    expect(await verify({ DATABASE_URL: url, DATA_DIR: dataDir })).toMatchObject({ code: 0, stdout: expect.stringContaining('intact: 4 entries') });

    await database.db.execute(sql`delete from audit_log where id = ${ids[1]!}`);
    const broken = await verify({ DATABASE_URL: url, DATA_DIR: dataDir });
    await database.close();
    expect(broken.code).toBe(1);
    expect(broken.stdout).toContain(`BROKEN at entry ${ids[2]}`);
    expect(broken.stdout).toContain('does not chain to the entry before it');
    expect(broken.stdout).toContain(`previous intact entry: ${ids[0]}`);
  });

  it('a data directory without a database is a clear error, exit 2', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'wtg-verify-'));
    dirs.push(dataDir);
    const missing = await verify({ DATA_DIR: dataDir });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`no database at ${join(dataDir, 'db')}`);
  });
});
