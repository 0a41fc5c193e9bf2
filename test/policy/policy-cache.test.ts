// The cached policy obeys a change on the very next read, even while a rebuild for the previous
// version is still in flight. On PostgreSQL a lock held on one of the tables the build reads last
// (strategy_ranges) stops builds half-way, deterministically: the first build has then read the rules
// as they were before the change.
import pg from 'pg';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type OpenDatabase } from '../../server/db/database.ts';
import { departments, memberDepartments, members, tagGroups, tags, visibilityRules } from '../../server/db/schema.ts';
import { bumpPolicyVersion } from '../../server/services/policy-version.ts';
import { PolicyCache } from '../../server/services/tag-policy.service.ts';
import { createTestDatabase, waitFor } from '../support/test-product.ts';

let database: OpenDatabase;
let url: string;

beforeAll(async () => {
  url = await createTestDatabase();
  database = await openDatabase({ url }, { poolSize: 5 });
  const db = database.db;
  await db.insert(departments).values([{ id: 1, name: '总部', parentId: null }, { id: 2, name: '华东', parentId: 1 }, { id: 3, name: '华南', parentId: 1 }]);
  await db.insert(members).values({ userid: 'south_rep', name: '南方销售', status: 1 });
  await db.insert(memberDepartments).values({ userid: 'south_rep', departmentId: 3 });
  await db.insert(tagGroups).values({ groupId: 'g1', name: '投诉记录' });
  await db.insert(tags).values({ tagId: 't1', groupId: 'g1', name: '严重投诉' });
  await bumpPolicyVersion(db);
});

afterAll(async () => {
  await database?.close();
});

/** Builds (loadPolicyData) waiting for the lock on strategy_ranges. */
async function blockedBuilds(observer: pg.Client): Promise<number> {
  const { rows } = await observer.query<{ n: number }>(
    `select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and query like '%strategy_ranges%'`);
  return rows[0]!.n;
}

describe('policy cache', () => {
  it('a read after a change never gets a build started before it, and an older build never replaces a newer engine', async () => {
    const cache = new PolicyCache(database.db, []);
    const member = { userid: 'south_rep', departments: [3], roles: ['rep'] };
    expect((await cache.policy()).decide(member, 't1').see).toBe(true);

    const locker = new pg.Client({ connectionString: url });
    const observer = new pg.Client({ connectionString: url });
    await locker.connect();
    await observer.connect();
    try {
      await locker.query('begin');
      await locker.query('lock table strategy_ranges in access exclusive mode');
      // A change that the next build must see (the previous version's engine is cached) ...
      await database.db.transaction(async (tx) => {
        await tx.insert(visibilityRules).values({ nodeType: 'group', nodeId: 'g1', see: { departments: [3], users: [], roles: [] }, use: { departments: [3], users: [], roles: [] }, updatedBy: 'test' });
        await bumpPolicyVersion(tx);
      });
      const before = cache.policy();
      await waitFor(async () => (await blockedBuilds(observer)) === 1, 'the first build to stop at strategy_ranges');
      // ... and a second change while that build, which has read the rules above, is in flight.
      await database.db.transaction(async (tx) => {
        await tx.execute(sql`update visibility_rules set see = ${JSON.stringify({ departments: [2], users: [], roles: [] })}::jsonb, use = ${JSON.stringify({ departments: [2], users: [], roles: [] })}::jsonb where node_id = 'g1'`);
        await bumpPolicyVersion(tx);
      });
      const after = cache.policy();
      // The read after the second change starts its own build instead of sharing the first one.
      await waitFor(async () => (await blockedBuilds(observer)) === 2, 'a build of its own for the read after the second change');
      await locker.query('commit');

      const [first, second] = await Promise.all([before, after]);
      expect(first.decide(member, 't1').see).toBe(true);
      expect(second.decide(member, 't1').see).toBe(false);
      // Whichever build finished last, the cache keeps the newest engine and the member's view follows it.
      expect((await cache.policy()).decide(member, 't1').see).toBe(false);
      expect((await cache.view('south_rep')).see.has('t1')).toBe(false);
    } finally {
      await locker.query('rollback').catch(() => undefined);
      await locker.end();
      await observer.end();
    }
  });
});
