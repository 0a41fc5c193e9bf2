import { sql } from 'drizzle-orm';
import type { Queryable } from '../db/database.ts';

/**
 * A counter bumped in the same transaction as any change the tag policy depends on (rules, folders,
 * tags, rule groups, organization, roles). Every process compares it before using its cached policy,
 * so the next request after a change already obeys it.
 */
export async function bumpPolicyVersion(db: Queryable): Promise<void> {
  await db.execute(sql`insert into settings (key, value, updated_at) values ('policy_version', '1'::jsonb, now())
    on conflict (key) do update set value = to_jsonb((settings.value #>> '{}')::bigint + 1), updated_at = now()`);
}

export async function readPolicyVersion(db: Queryable): Promise<number> {
  // Both drivers (pg and PGlite) answer raw queries with `{ rows }`.
  const result = (await db.execute(sql`select value #>> '{}' as v from settings where key = 'policy_version'`)) as unknown as { rows: { v: string | null }[] };
  return Number(result.rows[0]?.v ?? 0);
}
