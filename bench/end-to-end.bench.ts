// End to end: customers are added in the simulator (POST /sim/customers/add, as a member's client
// would), the simulator sends each `add_external_contact` callback encrypted to the product, the
// product's workers call `externalcontact/get` on the simulator and write the customer. Measured from
// the first add until every customer row exists, with PostgreSQL and with PGlite.
//
//   BENCH_E2E_EVENTS        customers added with PostgreSQL (default 2000)
//   BENCH_E2E_PGLITE_EVENTS customers added with PGlite (default 500: PGlite spends several times the
//                           CPU per event, and the whole of `npm run bench` must stay near 5 minutes)
//   BENCH_E2E_CONCURRENCY   adds in flight (default 16)
import { pathToFileURL } from 'node:url';
import type { RunningProduct } from '../server/boot.ts';
import { activeMembers, benchCompany, benchCredentials, type BenchCredentials } from './support/company.ts';
import { benchLine, runBenchmarks, type BenchOutcome } from './support/harness.ts';
import type { BenchInfra } from './support/infra.ts';
import { runLoad, type LoadRequest, type LoadResult } from './support/load-generator.ts';
import { customerCount, inboxCounts, lastErrors, poolSampler, productDataDir, startBenchProduct, waitUntil, type InboxCounts, type PoolWaitStats } from './support/product.ts';
import { cpuMeter, fmt, loopDelayMeter, ms, round, summarize, type LatencySummary } from './support/stats.ts';

const TARGET_PER_SECOND = 300;
const WARMUP = 100;
const TIMEOUT_MS = Number(process.env.BENCH_PROCESS_TIMEOUT_MS ?? 180_000);

interface CallbackSummary { total: number; delivered: number; pending: number; failed: number }

interface DeliveryRecord {
  event: { ExternalUserID?: string };
  attempts: { status?: number; error?: string; ms: number }[];
  delivered: boolean;
}

/** How the product answered the simulator's callbacks, as WeCom would see it (5 s deadline per attempt). */
interface AckStats {
  /** Time to the product's answer of each first attempt, in ms. */
  firstAttemptMs: LatencySummary;
  /** Attempts that ran into the 5 s deadline (WeCom then sends the event again). */
  timedOutAttempts: number;
  /** Events WeCom would have given up on after its retries (the inbox may still hold them). */
  undelivered: number;
}

async function ackStats(infra: BenchInfra, prefix: string): Promise<AckStats> {
  const { callbacks } = await infra.simulator.call<{ callbacks: DeliveryRecord[] }>('GET', '/sim/callbacks?change_type=add_external_contact');
  const mine = callbacks.filter((r) => r.event.ExternalUserID?.startsWith(prefix));
  return {
    firstAttemptMs: summarize(mine.flatMap((r) => (r.attempts[0] ? [r.attempts[0].ms] : []))),
    timedOutAttempts: mine.reduce((n, r) => n + r.attempts.filter((a) => a.error === 'timeout').length, 0),
    undelivered: mine.filter((r) => !r.delivered).length,
  };
}

interface E2eRun {
  database: 'postgres' | 'pglite';
  perSecond: number;
  seconds: number;
  /** CPU milliseconds of the product's Node process (server + workers) per event. */
  cpuMsPerEvent: number;
  count: number;
  adds: LoadResult;
  acks: AckStats;
  /** Event-loop delay of the product's process and of the simulator's during the measured phase. */
  loopDelayMs: { product: LatencySummary; simulator: LatencySummary };
  /** PostgreSQL pool (shared by the callback route and the workers in role 'all'). */
  pool: PoolWaitStats | undefined;
  customers: number;
  inbox: InboxCounts;
  callbacks: CallbackSummary;
  problems: string[];
}

function addRequests(count: number, prefix: string): LoadRequest[] {
  const members = activeMembers();
  return Array.from({ length: count }, (_, i) => ({
    path: '/sim/customers/add',
    contentType: 'application/json',
    body: JSON.stringify({ userid: members[i % members.length], external_userid: `${prefix}${String(i).padStart(8, '0')}`, name: `端到端客户${i}`, state: 'bench_e2e' }),
  }));
}

async function runOne(infra: BenchInfra, database: E2eRun['database'], credentials: BenchCredentials, count: number, concurrency: number): Promise<E2eRun> {
  const databaseUrl = database === 'postgres' ? await infra.postgres.createDatabase('e2e') : undefined;
  const product: RunningProduct = await startBenchProduct(infra, {
    role: 'all', dataDir: productDataDir(infra, `e2e-${database}`), redisPrefix: `bench-e2e-${database}`, credentials,
    ...(databaseUrl ? { databaseUrl } : {}),
  });
  const { fixture } = benchCompany(credentials, 0, '');
  const reset = await infra.simulator.call<{ callback?: { verified: boolean; error?: string } }>('POST', '/sim/reset', {
    ...fixture,
    callback: { url: `${product.url}/wecom/callback`, token: credentials.callbackToken, aesKey: credentials.callbackAesKey },
  });
  if (!reset.callback?.verified) throw new Error(`the simulator could not verify the callback URL: ${reset.callback?.error ?? 'unknown'}`);
  const db = product.ctx.db;
  const run = async (prefix: string, n: number): Promise<{ load: LoadResult; completedAtMs: number | undefined }> => {
    let completedAtMs: number | undefined;
    const load = runLoad({ url: infra.simulator.url, concurrency, warmup: [], requests: addRequests(n, prefix), dir: infra.root, cleanup: infra.cleanup });
    const complete = await waitUntil(async () => {
      const rows = await customerCount(db, prefix);
      if (rows === n) completedAtMs = Date.now();
      return rows === n;
    }, TIMEOUT_MS, 20);
    return { load: await load, completedAtMs: complete ? completedAtMs : undefined };
  };

  // Warm-up (not timed): the same path once for a few customers.
  await run(`wme2ewarm${database}`, WARMUP);
  const prefix = `wme2e${database}`;
  const cpu = cpuMeter();
  const productLoop = loopDelayMeter();
  const poolStats = poolSampler(db);
  await infra.simulator.loopDelay(); // resets the simulator's histogram
  const { load, completedAtMs } = await run(prefix, count);
  const cpuMs = cpu();
  const loopDelayMs = { product: productLoop(), simulator: await infra.simulator.loopDelay() };
  const pool = poolStats();
  const seconds = completedAtMs ? (completedAtMs - load.startedAtMs) / 1000 : NaN;
  await waitUntil(async () => (await inboxCounts(db)).pending === 0, 10_000, 100);
  const inbox = await inboxCounts(db);
  const summary = await infra.simulator.call<{ callbacks: CallbackSummary }>('GET', '/sim/state/summary');
  const customers = await customerCount(db, prefix);
  const acks = await ackStats(infra, prefix);

  const problems: string[] = [];
  const expected = count + WARMUP;
  const non200 = Object.entries(load.statuses).filter(([s]) => s !== '200').reduce((n, [, c]) => n + c, 0);
  if (non200 > 0) problems.push(`${non200} adds refused by the simulator: ${JSON.stringify(load.statuses)}`);
  if (!completedAtMs) problems.push(`only ${customers} of ${count} customer rows after ${TIMEOUT_MS / 1000} s (LOST)`);
  if (inbox.rows !== expected) problems.push(`inbox has ${inbox.rows} rows for ${expected} add events (${inbox.rows < expected ? 'LOST' : 'DOUBLED'})`);
  if (inbox.done !== expected) problems.push(`${inbox.done} of ${expected} events done (failed ${inbox.failed}, pending ${inbox.pending})`);
  if (inbox.extraRowsPerCustomer !== 0) problems.push(`${inbox.extraRowsPerCustomer} add events stored twice (DOUBLED)`);
  if (problems.length) problems.push(...(await lastErrors(db)).map((e) => `last_error: ${e}`));
  await product.stop();
  return { database, perSecond: round(count / seconds, 1), seconds: round(seconds, 2), cpuMsPerEvent: round(cpuMs / count, 3), count, acks, loopDelayMs, pool, adds: load, customers, inbox, callbacks: summary.callbacks, problems };
}

export async function endToEndBenchmark(infra: BenchInfra): Promise<BenchOutcome> {
  const counts = { postgres: Number(process.env.BENCH_E2E_EVENTS ?? 2_000), pglite: Number(process.env.BENCH_E2E_PGLITE_EVENTS ?? 500) };
  const concurrency = Number(process.env.BENCH_E2E_CONCURRENCY ?? 16);
  const credentials = benchCredentials();
  console.log(`${fmt(counts.postgres)} customers (PostgreSQL) and ${fmt(counts.pglite)} (PGlite) added through POST /sim/customers/add (${concurrency} in flight, after ${WARMUP} warm-up adds); product in role 'all' (server and workers in one process, event concurrency ${process.env.BENCH_EVENT_CONCURRENCY ?? '8 (default)'})`);
  const runs: E2eRun[] = [];
  for (const database of ['postgres', 'pglite'] as const) {
    const run = await runOne(infra, database, credentials, counts[database], concurrency);
    runs.push(run);
    const a = run.acks;
    console.log(`\n[${database}] ${fmt(run.perSecond)} events/s callback → customer row (${fmt(run.count)} in ${run.seconds} s; adds sent at ${fmt(run.adds.perSecond)}/s, add p99 ${ms(run.adds.latencyMs.p99)})`);
    console.log(`  product process CPU per event (server + workers${database === 'pglite' ? ' + embedded database' : ''}): ${ms(run.cpuMsPerEvent)} (one core ≈ ${fmt(1000 / run.cpuMsPerEvent)}/s)`);
    console.log(`  event-loop delay p99/max: product ${ms(run.loopDelayMs.product.p99)}/${ms(run.loopDelayMs.product.max)}, simulator ${ms(run.loopDelayMs.simulator.p99)}/${ms(run.loopDelayMs.simulator.max)}`);
    if (run.pool) console.log(`  PostgreSQL pool (${run.pool.poolSize} connections, shared by callbacks and workers): queries waiting for a connection p50 ${run.pool.waitingP50}, p99 ${run.pool.waitingP99}, max ${run.pool.waitingMax}`);
    console.log(`  inbox ${run.inbox.rows} rows, ${run.inbox.done} done, ${run.inbox.failed} failed, duplicate deliveries ${run.inbox.duplicateDeliveries}, retried ${run.inbox.retried}; simulator callbacks delivered ${run.callbacks.delivered}/${run.callbacks.total}`);
    console.log(`  callback answer time as WeCom sees it: p50 ${ms(a.firstAttemptMs.p50)}, p99 ${ms(a.firstAttemptMs.p99)}, max ${ms(a.firstAttemptMs.max)}; ${a.timedOutAttempts} attempts past the 5 s deadline${a.undelivered ? `; WARNING: ${a.undelivered} events WeCom would have given up on after its retries (they are in the inbox, so not lost here)` : ''}`);
    console.log(`  target ≥ ${TARGET_PER_SECOND}/s: ${run.perSecond >= TARGET_PER_SECOND ? 'met' : 'MISSED'}`);
    if (run.problems.length) console.log(`  INTEGRITY FAILED:\n    ${run.problems.join('\n    ')}`);
  }
  const ok = runs.every((r) => r.problems.length === 0);
  benchLine({
    name: 'end-to-end',
    customers: counts, warmup: WARMUP, concurrency,
    // The only fixed point of comparison here is the target; the simulator's own add rate is the input ceiling.
    baseline: { name: 'simulator add rate (input ceiling)', perSecond: Object.fromEntries(runs.map((r) => [r.database, r.adds.perSecond])) },
    runs: runs.map((r) => ({
      database: r.database, perSecond: r.perSecond, seconds: r.seconds, cpuMsPerEvent: r.cpuMsPerEvent, customers: r.customers,
      inbox: { rows: r.inbox.rows, done: r.inbox.done, failed: r.inbox.failed, duplicateDeliveries: r.inbox.duplicateDeliveries, retried: r.inbox.retried },
      callbacks: r.callbacks, acks: r.acks, loopDelayMs: r.loopDelayMs, pool: r.pool, integrityOk: r.problems.length === 0, problems: r.problems,
    })),
    target: { perSecond: TARGET_PER_SECOND, met: Object.fromEntries(runs.map((r) => [r.database, r.perSecond >= TARGET_PER_SECOND])) },
    ok,
  });
  return {
    name: 'end-to-end',
    ok,
    summary: runs.map((r) => `${r.database}: ${fmt(r.perSecond)} events/s callback → customer row, ${ms(r.cpuMsPerEvent)} CPU/event (target ≥ ${TARGET_PER_SECOND}: ${r.perSecond >= TARGET_PER_SECOND ? 'met' : 'MISSED'})${r.acks.timedOutAttempts ? `; ${r.acks.timedOutAttempts} callback answers past WeCom's 5 s deadline` : ''}${r.problems.length ? ` — ${r.problems.length} integrity problem(s)` : ''}`),
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exit(await runBenchmarks([['end to end', endToEndBenchmark]]));
}
