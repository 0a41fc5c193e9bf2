import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import * as schema from './schema.ts';
import { acquireDataDirLock, type DataDirLock } from './pglite-lock.ts';

export type Database = PgDatabase<PgQueryResultHKT, typeof schema>;
/** The transaction handle has the same query API; services accept either. */
export type Tx = Parameters<Parameters<Database['transaction']>[0]>[0];
export type Queryable = Database | Tx;

export interface OpenDatabase {
  db: Database;
  kind: 'pglite' | 'postgres';
  ping(): Promise<void>;
  close(): Promise<void>;
}

const migrationsFolder = join(dirname(fileURLToPath(import.meta.url)), 'migrations');

export type DatabaseTarget = { url: string } | { pgliteDir: string } | { pgliteMemory: true };

/**
 * Opens PostgreSQL when a URL is given, else embedded PGlite in a data directory (or in memory for
 * tests), and applies migrations. PGlite has no cross-process locking, so its directory is locked to
 * this process.
 */
export async function openDatabase(target: DatabaseTarget, options: { poolSize?: number } = {}): Promise<OpenDatabase> {
  if ('url' in target) {
    const { default: pg } = await import('pg');
    const { drizzle } = await import('drizzle-orm/node-postgres');
    const { migrate } = await import('drizzle-orm/node-postgres/migrator');
    // JIT off: every query here is short; the customer scope's per-row subplans make the planner's
    // cost exceed jit_above_cost, and compiling then takes hundreds of ms (bench/customer-list.bench.ts).
    const pool = new pg.Pool({ connectionString: target.url, max: options.poolSize ?? 20, connectionTimeoutMillis: 5_000, options: '-c jit=off' });
    // An idle client that loses its server (restart) must not crash the process.
    pool.on('error', () => undefined);
    const db = drizzle(pool, { schema }) as unknown as Database;
    await migrate(drizzle(pool), { migrationsFolder });
    return {
      db,
      kind: 'postgres',
      ping: async () => { await db.execute(sql`select 1`); },
      close: () => pool.end(),
    };
  }
  const { PGlite } = await import('@electric-sql/pglite');
  const { drizzle } = await import('drizzle-orm/pglite');
  const { migrate } = await import('drizzle-orm/pglite/migrator');
  let lock: DataDirLock | undefined;
  let client: InstanceType<typeof PGlite>;
  if ('pgliteDir' in target) {
    mkdirSync(target.pgliteDir, { recursive: true });
    lock = acquireDataDirLock(target.pgliteDir);
    client = new PGlite(join(target.pgliteDir, 'pglite'));
  } else {
    client = new PGlite();
  }
  await client.waitReady;
  const db = drizzle(client, { schema }) as unknown as Database;
  await migrate(drizzle(client), { migrationsFolder });
  return {
    db,
    kind: 'pglite',
    ping: async () => { await db.execute(sql`select 1`); },
    close: async () => { await client.close(); lock?.release(); },
  };
}
