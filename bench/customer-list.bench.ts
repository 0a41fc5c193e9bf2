// Customer list and detail under the customer scope predicate, on PostgreSQL (fsync on) with
// 1,000,000 customers, 5,000 members, 2,000 departments and 3,000 tags, generated in SQL:
//   first page (50 rows, keyset) of GET /api/customers for a rep, a manager of a large subtree and
//   an admin, without a tag filter, with a popular and a rare tag, and outside pools (pool=0)
//                                                                              p99 < 50 ms
//   detail (GET /api/customers/:id) for each of them                         p99 < 20 ms
//   bulk assignment by tag (POST /api/customers/assign-by-filter's job) of ≥ 100,000 customers
//   by the admin                                                               < 60 s
//     baseline in the same run: one bare UPDATE of the same customers (no scope, history or audit)
// Each measured request is what the route does against the database: loadAccessSubject, then
// listCustomers / readCustomer (HTTP, the session and the tag-policy cache excluded). Prints the
// data sizes, the figures and the query plans (EXPLAIN ANALYZE) of every page query.
//
//   npx tsx bench/customer-list.bench.ts     (standalone)
//   BENCH_ITERATIONS   timed requests per measure (default 200, after 20 warm-up requests)
//   BENCH_PG_DIR       keep the generated database in this directory and reuse it on the next run
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { sql } from 'drizzle-orm';
import { openDatabase, type Database } from '../server/db/database.ts';
import { customers } from '../server/db/schema.ts';
import { customerScopeSql, type AccessSubject } from '../server/policy/customer-scope.ts';
import { BULK_ASSIGN_BATCH, runAssignByFilter } from '../server/services/assignment.service.ts';
import { createBackgroundJob } from '../server/services/background-jobs.service.ts';
import { customerFilterSql, type CustomerFilter } from '../server/services/customer-filter.ts';
import { PolicyCache } from '../server/services/tag-policy.service.ts';
import { startPrivatePostgres } from '../server/runtime/private-postgres.ts';
import { loadAccessSubject } from '../server/services/customer-access.service.ts';
import { customerPageQuery, listCustomers, type CustomerListQuery } from '../server/services/customer-list.service.ts';
import { readCustomer } from '../server/services/customer-read.service.ts';
import { ensureBuiltinRoles } from '../server/services/roles.service.ts';

export const SIZES = { customers: 1_000_000, members: 5_000, departments: 2_000, tags: 3_000 };
const TARGET_MS = { page: 50, detail: 20, bulkAssign: 60_000 };
const BULK_ASSIGN_CUSTOMERS = 100_000;
const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 200);
const WARMUP = 20;
const ADMINS = ['u1'];
/**
 * Departments form a binary tree (parent = id / 2, 11 levels); member i works in department
 * 1 + (i - 1) % 2000 and leads it when i ≤ 2000. u4 leads department 4: a quarter of the company.
 */
const PERSONAS = [
  { name: 'rep', userid: 'u4321' },
  { name: 'manager (dept 4: 1/4 of the company)', userid: 'u4' },
  { name: 'admin', userid: 'u1' },
] as const;
/** Tag k is carried with probability ~ k^(-2/3): et0 by ~7% of relations, et1500 by ~0.02%. */
const FILTERS: { name: string; tags?: string[]; pool?: '0' }[] = [
  { name: 'no tag filter' }, { name: 'popular tag et0', tags: ['et0'] }, { name: 'rare tag et1500', tags: ['et1500'] },
  // The "my customers" view: pool customers (3,400 of them corp-wide, visible to everyone) left out.
  { name: 'outside pools (pool=0)', pool: '0' },
];

const rows = async <T>(db: Database, query: ReturnType<typeof sql>): Promise<T[]> => ((await db.execute(query)) as unknown as { rows: T[] }).rows;

/** Nearest-rank percentile in milliseconds. */
function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

export async function generate(db: Database): Promise<void> {
  const started = performance.now();
  await db.execute(sql`set synchronous_commit = off`);
  await db.execute(sql`insert into departments (id, name, parent_id) select i, '部门' || i, case when i = 1 then null else i / 2 end from generate_series(1, ${SIZES.departments}) i`);
  await db.execute(sql`insert into members (userid, name, main_department, status, left_at)
    select 'u' || i, '成员' || i, 1 + (i - 1) % ${SIZES.departments}, case when i % 250 = 0 then 5 else 1 end, case when i % 250 = 0 then now() end
    from generate_series(1, ${SIZES.members}) i`);
  await db.execute(sql`insert into member_departments (userid, department_id, is_leader)
    select 'u' || i, 1 + (i - 1) % ${SIZES.departments}, i <= ${SIZES.departments} from generate_series(1, ${SIZES.members}) i`);
  // Customers: 1% in a pool (two thirds of those in a department's pool, the rest corp-wide), the
  // others owned by a random member; created one second apart (newest first in the list).
  await db.execute(sql`insert into customers (external_userid, name, type, corp_name, owner_userid, created_at, updated_at, last_activity_at, in_pool_since, pool_department_id)
    select 'wm' || lpad(i::text, 8, '0'), '客户' || i, 1 + (i % 7 = 0)::int, case when i % 7 = 0 then '公司' || (i % 997) end,
      case when pool then null else 'u' || (1 + (h2 % ${SIZES.members})) end,
      timestamptz '2026-01-01' - make_interval(secs => i), now(), now(),
      case when pool then now() end, case when pool and h1 % 3 <> 0 then 1 + (h2 % ${SIZES.departments}) end
    from (select i, (hashint4(i) & 2147483647) as h1, (hashint8(i) & 2147483647) as h2, (hashint4(i) & 2147483647) % 100 = 0 as pool
          from generate_series(1, ${SIZES.customers}) i) s`);
  // The owner's relation, and for one customer in five a second follower.
  await db.execute(sql`insert into follow_relations (external_userid, userid, remark, remark_mobiles, added_at, status)
    select external_userid, owner_userid, name || '-老客', case when hashtext(external_userid) % 10 < 3 then jsonb_build_array('138' || lpad(((hashtext(external_userid) & 2147483647) % 100000000)::text, 8, '0')) else '[]'::jsonb end, 1760000000, 'active'
    from customers where owner_userid is not null`);
  await db.execute(sql`insert into follow_relations (external_userid, userid, added_at, status)
    select external_userid, 'u' || (1 + ((hashtext(external_userid || 'f') & 2147483647) % ${SIZES.members})), 1760000100, 'active'
    from customers where (hashtext(external_userid || 's') & 2147483647) % 5 = 0
    on conflict do nothing`);
  await db.execute(sql`insert into tag_groups (group_id, name) select 'grp' || g, '标签组' || g from generate_series(0, ${SIZES.tags / 20 - 1}) g`);
  await db.execute(sql`insert into tags (tag_id, group_id, name) select 'et' || k, 'grp' || (k / 20), '标签' || k from generate_series(0, ${SIZES.tags - 1}) k`);
  // Two tags per relation, skewed: tag k = floor(3000 u^3) for u uniform in [0, 1).
  await db.execute(sql`insert into relation_tags (external_userid, userid, tag_id, kind)
    select external_userid, userid, 'et' || floor(${SIZES.tags} * power(((hashtext(external_userid || userid || n) & 2147483647)::float8 / 2147483648.0), 3))::int, 'corp'
    from follow_relations, generate_series(1, 2) n
    on conflict do nothing`);
  await db.execute(sql`vacuum analyze`);
  // Flush the load now: a checkpoint during the measures would show up as their p99.
  await db.execute(sql`checkpoint`);
  console.log(`generated in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

async function sizes(db: Database): Promise<Record<string, number>> {
  const [row] = await rows<Record<string, string>>(db, sql`select
    (select count(*) from customers) as customers, (select count(*) from members) as members, (select count(*) from departments) as departments,
    (select count(*) from tags) as tags, (select count(*) from follow_relations) as follow_relations, (select count(*) from relation_tags) as relation_tags,
    (select count(*) from customers where in_pool_since is not null) as pool_customers,
    pg_database_size(current_database()) as database_bytes`);
  return Object.fromEntries(Object.entries(row!).map(([k, v]) => [k, Number(v)]));
}

async function timeIt(fn: () => Promise<unknown>): Promise<number[]> {
  for (let i = 0; i < WARMUP; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < ITERATIONS; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return times;
}

type PgClient = { query(text: string, params: unknown[]): Promise<{ rows: Record<string, string>[] }> };

/**
 * Bulk assignment by tag: the rarer tags after et0 are added one by one until the filter matches at
 * least 100,000 customers; the admin's job (runAssignByFilter: authority re-checked, keyset batches of
 * 5,000, one set-based statement with owner history and one audit entry each) moves them to one
 * member. Baseline: one bare UPDATE of the same rows. Owners are put back afterwards, so a reused
 * database measures the same lists next time.
 */
async function bulkAssignBenchmark(db: Database, client: PgClient): Promise<{ line: string; result: Record<string, unknown>; plan: string; ok: boolean }> {
  const tags: string[] = [];
  let matching = 0;
  for (let k = 1; matching < BULK_ASSIGN_CUSTOMERS && k < SIZES.tags; k++) {
    tags.push(`et${k}`);
    const filter: CustomerFilter = { tags, tagMatch: 'any' };
    [{ n: matching }] = await rows<{ n: number }>(db, sql`select count(*)::int as n from customers where ${customerFilterSql(filter)}`) as [{ n: number }];
  }
  const filter: CustomerFilter = { tags, tagMatch: 'any' };
  const actor = ADMINS[0]!;
  const owner = 'u4999';
  const subject = await loadAccessSubject(db, actor, ADMINS);
  const where = sql`(${customerFilterSql(filter)}) and (${customerScopeSql(subject, 'assign')})`;
  const batch = db.select({ id: customers.externalUserId }).from(customers).where(sql`${customers.externalUserId} > '' and ${where}`).orderBy(customers.externalUserId).limit(BULK_ASSIGN_BATCH).toSQL();
  const plan = (await client.query(`explain (analyze, buffers, timing off) ${batch.sql}`, batch.params)).rows.map((r) => r['QUERY PLAN']).join('\n');

  const b0 = performance.now();
  await db.execute(sql`update customers set updated_at = now() where ${where}`);
  const baselineMs = performance.now() - b0;

  const jobId = await createBackgroundJob(db, 'assign-by-filter', actor);
  const t0 = performance.now();
  const outcome = await runAssignByFilter({ db, policy: new PolicyCache(db, ADMINS), adminUserIds: ADMINS }, { backgroundJobId: jobId, actor, owner, filter });
  const elapsedMs = performance.now() - t0;
  if ('refused' in outcome) throw new Error(`bulk assignment refused: ${outcome.refused}`);

  // Put the owners back (the history rows this run wrote say who had each customer).
  await db.execute(sql`update customers c set owner_userid = h.from_userid from owner_history h
    where h.external_userid = c.external_userid and h.reason = 'bulk_assign' and h.actor = ${actor} and h.to_userid = ${owner}`);
  await db.execute(sql`delete from owner_history where reason = 'bulk_assign' and actor = ${actor} and to_userid = ${owner}`);
  await db.execute(sql`vacuum analyze customers`);

  const ok = elapsedMs < TARGET_MS.bulkAssign;
  const perSecond = Math.round(outcome.assigned / (elapsedMs / 1000));
  const line = `bulk assignment by tag (${tags.length} tags, any): ${outcome.matched.toLocaleString('en-US')} matched, ${outcome.assigned.toLocaleString('en-US')} assigned in ${(elapsedMs / 1000).toFixed(1)} s ` +
    `(${perSecond.toLocaleString('en-US')}/s, batches of ${BULK_ASSIGN_BATCH}; target < ${TARGET_MS.bulkAssign / 1000} s); baseline, one bare UPDATE of the same rows: ${(baselineMs / 1000).toFixed(1)} s`;
  return { line, ok, plan, result: { measure: 'bulk assign by tag', tags: tags.length, matched: outcome.matched, assigned: outcome.assigned, seconds: +(elapsedMs / 1000).toFixed(2), baselineSeconds: +(baselineMs / 1000).toFixed(2) } };
}

export async function customerListBenchmark(): Promise<{ ok: boolean; summary: string[] }> {
  const keep = process.env.BENCH_PG_DIR;
  const dir = keep ?? mkdtempSync(join(tmpdir(), 'bench-customer-list-'));
  const postgres = await startPrivatePostgres({ dir, durable: true });
  const summary: string[] = [];
  let ok = true;
  try {
    const url = new URL(postgres.url);
    url.pathname = '/customer_list_bench';
    const admin = await openDatabase({ url: postgres.url }, { poolSize: 1 });
    const exists = await rows<{ n: number }>(admin.db, sql`select count(*)::int as n from pg_database where datname = 'customer_list_bench'`);
    if (!exists[0]?.n) await admin.db.execute(sql.raw('create database customer_list_bench'));
    await admin.close();
    const database = await openDatabase({ url: url.toString() }, { poolSize: 4 });
    const db = database.db;
    try {
      await ensureBuiltinRoles(db);
      const [present] = await rows<{ n: number }>(db, sql`select count(*)::int as n from customers`);
      if ((present?.n ?? 0) !== SIZES.customers) {
        await db.execute(sql`truncate customers, follow_relations, relation_tags, members, member_departments, departments, tags, tag_groups`);
        await generate(db);
      } else {
        console.log(`reusing the database in ${dir}`);
      }
      const size = await sizes(db);
      console.log(`data: ${Object.entries(size).map(([k, v]) => `${k} ${k.endsWith('bytes') ? `${(v / 1e6).toFixed(0)} MB` : v.toLocaleString('en-US')}`).join(', ')}`);
      console.log(`machine: ${cpus().length} CPU(s), load ${loadavg()[0]!.toFixed(2)}; ${ITERATIONS} timed requests per measure after ${WARMUP} warm-up`);

      const allTags = new Set(Array.from({ length: SIZES.tags }, (_, k) => `et${k}`));
      const viewer = { seeTags: allTags, maskedFields: new Set(['relation.remarkMobiles' as const]) };
      const results: Record<string, unknown>[] = [];
      const plans: string[] = [];
      for (const persona of PERSONAS) {
        const subject = await loadAccessSubject(db, persona.userid, ADMINS);
        const [visible] = await rows<{ n: number }>(db, sql`select count(*)::int as n from customers where ${customerScopeSql(subject, 'view')}`);
        console.log(`\n${persona.name} (${persona.userid}): ${visible!.n.toLocaleString('en-US')} customers in view scope`);
        for (const filter of FILTERS) {
          const query: CustomerListQuery = { limit: 50, tagMatch: 'any', ...(filter.tags ? { tags: filter.tags } : {}), ...(filter.pool ? { pool: filter.pool } : {}) };
          let count = 0;
          const times = await timeIt(async () => {
            const s = await loadAccessSubject(db, persona.userid, ADMINS);
            count = (await listCustomers(db, s, viewer, query)).items.length;
          });
          const p99 = percentile(times, 0.99);
          const line = `first page, ${filter.name}: ${count} rows, p50 ${percentile(times, 0.5).toFixed(2)} ms, p99 ${p99.toFixed(2)} ms (target < ${TARGET_MS.page})`;
          console.log(`  ${line}`);
          results.push({ persona: persona.name, measure: 'first page', filter: filter.name, rows: count, p50: +percentile(times, 0.5).toFixed(2), p99: +p99.toFixed(2) });
          if (p99 >= TARGET_MS.page) { ok = false; summary.push(`MISSED ${persona.name} ${line}`); }
          const { page } = await customerPageQuery(db, subject, allTags, query);
          const compiled = page.toSQL();
          const client = (database as unknown as { db: { $client: { query(text: string, params: unknown[]): Promise<{ rows: Record<string, string>[] }> } } }).db.$client;
          const plan = await client.query(`explain (analyze, buffers, timing off) ${compiled.sql}`, compiled.params);
          plans.push(`── ${persona.name}, ${filter.name}\n${plan.rows.map((r) => r['QUERY PLAN']).join('\n')}`);
        }
        // Detail: customers drawn at random from the member's view scope.
        const ids = (await db.select({ id: customers.externalUserId }).from(customers).where(customerScopeSql(subject, 'view')).orderBy(sql`md5(${customers.externalUserId})`).limit(200)).map((r) => r.id);
        let n = 0;
        const times = await timeIt(async () => {
          const s: AccessSubject = await loadAccessSubject(db, persona.userid, ADMINS);
          const found = await readCustomer(db, ids[n++ % ids.length]!, { subject: s, ...viewer });
          if (!found) throw new Error('a customer in scope was not found');
        });
        const p99 = percentile(times, 0.99);
        const line = `detail: p50 ${percentile(times, 0.5).toFixed(2)} ms, p99 ${p99.toFixed(2)} ms (target < ${TARGET_MS.detail})`;
        console.log(`  ${line}`);
        results.push({ persona: persona.name, measure: 'detail', p50: +percentile(times, 0.5).toFixed(2), p99: +p99.toFixed(2) });
        if (p99 >= TARGET_MS.detail) { ok = false; summary.push(`MISSED ${persona.name} ${line}`); }
      }
      console.log(`\nquery plans of the page query (EXPLAIN ANALYZE, BUFFERS):\n${plans.join('\n\n')}`);

      const bulk = await bulkAssignBenchmark(db, (database as unknown as { db: { $client: PgClient } }).db.$client);
      console.log(`\n${bulk.line}\nquery plan of one batch's selection (EXPLAIN ANALYZE, BUFFERS; the first of the keyset batches):\n${bulk.plan}`);
      results.push({ persona: 'admin', ...bulk.result });
      if (!bulk.ok) { ok = false; summary.push(`MISSED ${bulk.line}`); }
      console.log(`BENCH ${JSON.stringify({ bench: 'customer-list', sizes: size, targetsMet: ok, results })}`);
      summary.unshift(...results.map((r) => (r.seconds !== undefined
        ? `${r.persona} ${r.measure}: ${r.assigned} customers in ${r.seconds} s (baseline bare UPDATE ${r.baselineSeconds} s)`
        : `${r.persona} ${r.measure}${r.filter ? ` (${r.filter})` : ''}: p99 ${r.p99} ms`)));
    } finally {
      await database.close();
    }
  } finally {
    await postgres.stop();
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }
  return { ok, summary };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const outcome = await customerListBenchmark();
  console.log(`\n${outcome.ok ? 'all targets met' : 'targets missed'}:\n${outcome.summary.map((l) => `  ${l}`).join('\n')}`);
}
