// Audience counting for targeted messaging on PostgreSQL with 1,000,000 customers (the customer-list
// benchmark's data: 5,000 members, 2,000 departments, 3,000 skewed tags, generated in SQL): the step
// counts of an audience with three tag layers — directed (et2), enterprise (et0 or et1), the
// creator's personal tag — and a condition (owner's department), for an admin (the whole company), a
// manager of a quarter of it and a rep. Each measure is what POST /api/audiences/count does against
// the database: loadAccessSubject, then countAudienceSteps (one statement).          target < 500 ms
// Baseline in the same run: a bare `select count(*) from customers`.
//
//   npx tsx bench/audience-count.bench.ts    (standalone; also part of npm run bench)
//   BENCH_ITERATIONS   timed counts per persona (default 20, after 3 warm-up counts)
//   BENCH_PG_DIR       keep the generated database there and reuse it (shared with customer-list)
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { sql } from 'drizzle-orm';
import { openDatabase, type Database } from '../server/db/database.ts';
import { startPrivatePostgres } from '../server/runtime/private-postgres.ts';
import { audienceSchema, countAudienceSteps } from '../server/services/audience.service.ts';
import { loadAccessSubject } from '../server/services/customer-access.service.ts';
import { ensureBuiltinRoles } from '../server/services/roles.service.ts';
import { generate, SIZES } from './customer-list.bench.ts';
import type { BenchInfra } from './support/infra.ts';

const TARGET_MS = 500;
const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 20);
const WARMUP = 3;
const ADMINS = ['u1'];
const PERSONAS = [
  { name: 'admin (whole company)', userid: 'u1' },
  { name: 'manager (dept 4: 1/4 of the company)', userid: 'u4' },
  { name: 'rep', userid: 'u4321' },
] as const;
const DATABASE = 'customer_list_bench';

const rows = async <T>(db: Database, query: ReturnType<typeof sql>): Promise<T[]> => ((await db.execute(query)) as unknown as { rows: T[] }).rows;

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
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

/** Each persona's personal tag on half of their own relations (personal tags live on the owner's relations). */
async function personalTags(db: Database): Promise<void> {
  for (const { userid } of PERSONAS) {
    await db.execute(sql`insert into personal_tags (id, userid, name) values (${`pt_${userid}`}, ${userid}, '老客户') on conflict do nothing`);
    await db.execute(sql`insert into relation_tags (external_userid, userid, tag_id, kind)
      select external_userid, userid, ${`pt_${userid}`}, 'personal' from follow_relations where userid = ${userid} and hashtext(external_userid) % 2 = 0
      on conflict do nothing`);
  }
  await db.execute(sql`analyze relation_tags`);
}

async function measure(db: Database): Promise<{ ok: boolean; summary: string[] }> {
  await ensureBuiltinRoles(db);
  const [present] = await rows<{ n: number }>(db, sql`select count(*)::int as n from customers`);
  if ((present?.n ?? 0) !== SIZES.customers) {
    await db.execute(sql`truncate customers, follow_relations, relation_tags, members, member_departments, departments, tags, tag_groups, personal_tags`);
    await generate(db);
  }
  await personalTags(db);
  console.log(`machine: ${cpus().length} CPU(s), load ${loadavg()[0]!.toFixed(2)}; ${ITERATIONS} timed counts per persona after ${WARMUP} warm-up`);
  const baseline = await timeIt(() => db.execute(sql`select count(*) from customers`));
  console.log(`baseline: select count(*) from customers (1,000,000 rows): p50 ${percentile(baseline, 0.5).toFixed(1)} ms, p99 ${percentile(baseline, 0.99).toFixed(1)} ms`);
  const summary: string[] = [`baseline count(*) of 1M customers: p50 ${percentile(baseline, 0.5).toFixed(1)} ms`];
  const results: Record<string, unknown>[] = [];
  let ok = true;
  for (const persona of PERSONAS) {
    const audience = audienceSchema.parse({
      directedTags: ['et2'], enterpriseTags: ['et0', 'et1'], personalTags: [`pt_${persona.userid}`], conditions: { department: 2 },
    });
    let steps: number[] = [];
    const times = await timeIt(async () => {
      const subject = await loadAccessSubject(db, persona.userid, ADMINS);
      steps = (await countAudienceSteps(db, subject, audience)).steps.map((s) => s.count);
    });
    // The same audience without the personal layer: the biggest enterprise-tag set to count.
    let wide: number[] = [];
    const wideTimes = await timeIt(async () => {
      const subject = await loadAccessSubject(db, persona.userid, ADMINS);
      wide = (await countAudienceSteps(db, subject, { ...audience, personalTags: [], conditions: {} })).steps.map((s) => s.count);
    });
    for (const [label, t, counts] of [['three tag layers + department', times, steps], ['directed + enterprise only', wideTimes, wide]] as const) {
      const p50 = percentile(t, 0.5);
      const p99 = percentile(t, 0.99);
      const line = `${persona.name}, ${label}: steps ${counts.join(' → ')}, p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms (target < ${TARGET_MS}; ${(p50 / percentile(baseline, 0.5)).toFixed(2)}× baseline)`;
      console.log(line);
      results.push({ persona: persona.name, audience: label, steps: counts, p50: +p50.toFixed(1), p99: +p99.toFixed(1) });
      summary.push(line);
      if (p99 >= TARGET_MS) { ok = false; summary.push(`MISSED ${persona.name} ${label}`); }
    }
  }
  console.log(`BENCH ${JSON.stringify({ bench: 'audience-count', customers: SIZES.customers, baselineP50: +percentile(baseline, 0.5).toFixed(1), targetMs: TARGET_MS, targetsMet: ok, results })}`);
  return { ok, summary };
}

/** In `npm run bench`: a fresh database on the shared PostgreSQL; standalone: a private, durable server. Targets are reported, not failed. */
export async function audienceCountBenchmark(infra?: BenchInfra): Promise<{ name: string; ok: boolean; summary: string[] }> {
  const keep = process.env.BENCH_PG_DIR;
  const dir = infra ? undefined : keep ?? mkdtempSync(join(tmpdir(), 'bench-audience-'));
  const postgres = infra ? undefined : await startPrivatePostgres({ dir: dir!, durable: true });
  try {
    let url: string;
    if (infra) {
      url = await infra.postgres.createDatabase('audience');
    } else {
      const admin = await openDatabase({ url: postgres!.url }, { poolSize: 1 });
      const exists = await rows<{ n: number }>(admin.db, sql`select count(*)::int as n from pg_database where datname = ${DATABASE}`);
      if (!exists[0]?.n) await admin.db.execute(sql.raw(`create database ${DATABASE}`));
      await admin.close();
      const named = new URL(postgres!.url);
      named.pathname = `/${DATABASE}`;
      url = named.toString();
    }
    const database = await openDatabase({ url }, { poolSize: 2 });
    try {
      const outcome = await measure(database.db);
      // Missed targets are reported in the summary; only broken runs fail `npm run bench`.
      return { name: 'audience count', ok: true, summary: outcome.summary };
    } finally {
      await database.close();
    }
  } finally {
    await postgres?.stop();
    if (dir && !keep) rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const outcome = await audienceCountBenchmark();
  console.log(`\n${outcome.summary.map((l) => `  ${l}`).join('\n')}`);
}
