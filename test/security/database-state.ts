import { sql } from 'drizzle-orm';
import type { Database } from '../../server/db/database.ts';

/** Tables whose rows a refused request may legitimately add: denied attempts are audited. */
export const AUDIT_TABLES = new Set(['audit_log']);

/**
 * A fingerprint of every table in the database (row count and an md5 of all rows), to prove that a
 * refused request changed nothing. The audit log is left out: refusals are recorded there on purpose.
 */
export async function databaseState(db: Database): Promise<Record<string, string>> {
  const tables = (await db.execute(sql`select tablename from pg_tables where schemaname = 'public' order by tablename`)) as unknown as { rows: { tablename: string }[] };
  const state: Record<string, string> = {};
  for (const { tablename } of tables.rows) {
    if (AUDIT_TABLES.has(tablename)) continue;
    const result = (await db.execute(sql.raw(`select count(*)::int as n, md5(coalesce(string_agg(t::text, '|' order by t::text), '')) as h from "${tablename}" t`))) as unknown as { rows: { n: number; h: string }[] };
    state[tablename] = `${result.rows[0]!.n}:${result.rows[0]!.h}`;
  }
  return state;
}

/** Fills every `:param` of an Express path with `value` (URL-encoded). */
export function fillPath(path: string, value: (param: string) => string): string {
  return path.replace(/:(\w+)/g, (_, name: string) => encodeURIComponent(value(name)));
}

/** The tables whose fingerprint differs between two states (for readable failures). */
export function changedTables(before: Record<string, string>, after: Record<string, string>): string[] {
  return [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((t) => before[t] !== after[t]).sort();
}
