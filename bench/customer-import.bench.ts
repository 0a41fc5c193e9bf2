// Full sync of a 100,000-customer company: the simulator generates the customers (each followed by
// one member with two corp tags), the product (role 'all', PostgreSQL) runs its full-sync job as
// POST /api/admin/sync would, and the benchmark prints duration, customers/s, WeCom calls and peak
// RSS. Baseline, in the same run: the same batch/get_by_user pages read straight from the simulator
// with the product's WeCom client and nothing written (what reading WeCom alone costs). Then a second
// sync with nothing changed in WeCom: how many rows it changed (must be 0).
//
//   BENCH_IMPORT_CUSTOMERS  customers generated (default 100000)
import { pathToFileURL } from 'node:url';
import { sql } from 'drizzle-orm';
import type { RunningProduct } from '../server/boot.ts';
import type { Database } from '../server/db/database.ts';
import { getBackgroundJob } from '../server/services/background-jobs.service.ts';
import { requestFullSync } from '../server/services/full-sync.service.ts';
import { benchCompany, benchCredentials } from './support/company.ts';
import { benchLine, runBenchmarks, type BenchOutcome } from './support/harness.ts';
import type { BenchInfra } from './support/infra.ts';
import { productDataDir, startBenchProduct, waitUntil } from './support/product.ts';
import { fmt, round } from './support/stats.ts';

const TIMEOUT_MS = Number(process.env.BENCH_PROCESS_TIMEOUT_MS ?? 900_000);
const PREFIX = 'wmimport';

interface SyncRun { seconds: number; wecomCalls: number; batchCalls: number; peakRssMb: number; state: string; error: string | null }

/** Peak resident memory of this process (the product runs in it) while `work` runs. */
async function withPeakRss<T>(work: () => Promise<T>): Promise<{ result: T; peakRssMb: number }> {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => { peak = Math.max(peak, process.memoryUsage.rss()); }, 50);
  try {
    const result = await work();
    return { result, peakRssMb: round(Math.max(peak, process.memoryUsage.rss()) / 2 ** 20, 1) };
  } finally {
    clearInterval(timer);
  }
}

async function fullSync(infra: BenchInfra, product: RunningProduct): Promise<SyncRun> {
  await infra.simulator.call('DELETE', '/sim/calls');
  const started = Date.now();
  const { result: job, peakRssMb } = await withPeakRss(async () => {
    const id = await requestFullSync(product.ctx, null);
    let job = await getBackgroundJob(product.ctx.db, id);
    await waitUntil(async () => {
      job = await getBackgroundJob(product.ctx.db, id);
      return job?.state === 'completed' || job?.state === 'failed';
    }, TIMEOUT_MS, 200);
    return job;
  });
  const seconds = (Date.now() - started) / 1000;
  const summary = await infra.simulator.call<{ calls: number }>('GET', '/sim/state/summary');
  const batch = await infra.simulator.call<{ calls: unknown[] }>('GET', '/sim/calls?path=externalcontact/batch/get_by_user');
  return { seconds: round(seconds, 2), wecomCalls: summary.calls, batchCalls: batch.calls.length, peakRssMb, state: job?.state ?? 'missing', error: job?.error ?? null };
}

/** Reads every batch/get_by_user page the sync reads, writing nothing. */
async function readWecomOnly(product: RunningProduct): Promise<{ seconds: number; relations: number }> {
  const started = Date.now();
  const { follow_user } = await product.ctx.wecom.getFollowUserList();
  let relations = 0;
  for (let i = 0; i < follow_user.length; i += 100) {
    let cursor: string | undefined;
    do {
      const page = await product.ctx.wecom.batchGetByUser(follow_user.slice(i, i + 100), cursor, 100);
      relations += page.external_contact_list.length;
      cursor = page.next_cursor || undefined;
    } while (cursor);
  }
  return { seconds: round((Date.now() - started) / 1000, 2), relations };
}

async function dbNow(db: Database): Promise<string> {
  return ((await db.execute(sql`select now()::text as now`)) as unknown as { rows: { now: string }[] }).rows[0]!.now;
}

/** Rows inserted or changed since `since` (removed relation tags show as relation_tag_changes rows). */
async function rowsChangedSince(db: Database, since: string): Promise<Record<string, number>> {
  const tables: [string, string][] = [['customers', 'updated_at'], ['follow_relations', 'updated_at'], ['relation_tags', 'created_at'], ['relation_tag_changes', 'created_at'], ['owner_history', 'created_at']];
  const counts: Record<string, number> = {};
  for (const [table, column] of tables) {
    counts[table] = ((await db.execute(sql`select count(*)::int as n from ${sql.identifier(table)} where ${sql.identifier(column)} > ${since}::timestamptz`)) as unknown as { rows: { n: number }[] }).rows[0]!.n;
  }
  return counts;
}

export async function customerImportBenchmark(infra: BenchInfra): Promise<BenchOutcome> {
  const count = Number(process.env.BENCH_IMPORT_CUSTOMERS ?? 100_000);
  const credentials = benchCredentials();
  const databaseUrl = await infra.postgres.createDatabase('import');
  const product = await startBenchProduct(infra, { role: 'all', databaseUrl, dataDir: productDataDir(infra, 'import'), redisPrefix: 'bench-import', credentials });
  const { fixture } = benchCompany(credentials, 0, '');
  await infra.simulator.call('POST', '/sim/reset', fixture);
  await infra.simulator.call('DELETE', '/sim/callback');
  const generated = await infra.simulator.call<{ created: number; relations: number; customers: number }>('POST', '/sim/customers/generate', { count, id_prefix: PREFIX, followers: 1, tags_per_relation: 2 });
  console.log(`simulator company: ${fmt(generated.customers)} customers (${fmt(generated.created)} generated, ${fmt(generated.relations)} relations with 2 corp tags each, plus the demo company's); product in role 'all' on PostgreSQL, sync started as POST /api/admin/sync does`);

  const baseline = await readWecomOnly(product);
  console.log(`baseline: reading every batch/get_by_user page alone (nothing written): ${baseline.seconds} s for ${fmt(baseline.relations)} relations`);

  const first = await fullSync(infra, product);
  const db = product.ctx.db;
  const [imported] = ((await db.execute(sql`select count(*)::int as customers, (select count(*)::int from follow_relations) as relations, (select count(*)::int from relation_tags) as tags from customers`)) as unknown as { rows: { customers: number; relations: number; tags: number }[] }).rows;
  const perSecond = round(imported!.customers / first.seconds, 1);
  console.log(`\nfirst sync (${first.state}${first.error ? `: ${first.error}` : ''}): ${first.seconds} s, ${fmt(perSecond)} customers/s; ${fmt(imported!.customers)} customers, ${fmt(imported!.relations)} relations, ${fmt(imported!.tags)} relation tags stored`);
  console.log(`  WeCom calls ${fmt(first.wecomCalls)} (batch/get_by_user ${fmt(first.batchCalls)}); peak RSS of the product's process ${first.peakRssMb} MB; ${round(first.seconds / baseline.seconds, 2)}× the WeCom-read-only baseline`);

  const since = await dbNow(db);
  const second = await fullSync(infra, product);
  const changed = await rowsChangedSince(db, since);
  const totalChanged = Object.values(changed).reduce((a, b) => a + b, 0);
  console.log(`\nsecond sync, nothing changed in WeCom (${second.state}): ${second.seconds} s, WeCom calls ${fmt(second.wecomCalls)}, peak RSS ${second.peakRssMb} MB; rows changed: ${totalChanged} ${JSON.stringify(changed)} (must be 0: ${totalChanged === 0 ? 'OK' : 'FAILED'})`);
  await product.stop();

  const problems: string[] = [];
  if (first.state !== 'completed' || second.state !== 'completed') problems.push(`sync ${first.state}/${second.state}: ${first.error ?? second.error ?? ''}`);
  if (imported!.customers < count) problems.push(`only ${imported!.customers} of ${count} generated customers imported`);
  if (totalChanged !== 0) problems.push(`the second sync changed ${totalChanged} rows`);
  const ok = problems.length === 0;
  benchLine({
    name: 'customer-import', customers: count,
    baseline: { name: 'batch/get_by_user pages read alone', seconds: baseline.seconds, relations: baseline.relations },
    first: { ...first, customersPerSecond: perSecond, stored: imported },
    second: { ...second, rowsChanged: changed },
    ok, problems,
  });
  return {
    name: 'customer import',
    ok,
    summary: [
      `${fmt(imported!.customers)} customers in ${first.seconds} s (${fmt(perSecond)}/s), ${fmt(first.wecomCalls)} WeCom calls, peak RSS ${first.peakRssMb} MB (WeCom reads alone: ${baseline.seconds} s)`,
      `second sync: ${second.seconds} s, ${totalChanged} rows changed`,
      ...problems,
    ],
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exit(await runBenchmarks([['customer import', customerImportBenchmark]]));
}
