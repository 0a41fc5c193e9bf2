// End to end: customers are added in the simulator (POST /sim/customers/add, as a member's client
// would), the simulator sends each `add_external_contact` callback encrypted to the product, the
// product's workers call `externalcontact/get` on the simulator and write the customer. Measured from
// the first add until every customer row exists: with PostgreSQL in role 'all' (one process, as
// `npm start`) and in the production layout (role 'server' here and role 'worker' in a process of its
// own, as `npm run start:server` + `npm run start:worker`, so each can use a core), and with PGlite.
//
//   BENCH_E2E_EVENTS        customers added with PostgreSQL (default 2000)
//   BENCH_E2E_PGLITE_EVENTS customers added with PGlite (default 500: PGlite spends several times the
//                           CPU per event, and the whole of `npm run bench` must stay near 5 minutes)
//   BENCH_E2E_CONCURRENCY   adds in flight (default 16)
//   BENCH_E2E_LAYOUTS       which runs, comma-separated (default postgres-all,postgres-split,pglite-all)
import { pathToFileURL } from 'node:url';
import { firstLine, spawnTs } from './support/child.ts';
import type { RunningProduct } from '../server/boot.ts';
import { activeMembers, benchCompany, benchCredentials, type BenchCredentials } from './support/company.ts';
import { benchLine, runBenchmarks, type BenchOutcome } from './support/harness.ts';
import type { BenchInfra } from './support/infra.ts';
import { runLoad, type LoadRequest, type LoadResult } from './support/load-generator.ts';
import { customerCount, inboxCounts, lastErrors, poolSampler, productDataDir, startBenchProduct, waitUntil, type BenchProductOptions, type InboxCounts, type PoolWaitStats } from './support/product.ts';
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

type Layout = 'all' | 'split';
const LAYOUT_NAMES: Record<Layout, string> = {
  all: "role 'all' (server and workers in one process)",
  split: "role 'server' + role 'worker' in its own process",
};

interface E2eRun {
  database: 'postgres' | 'pglite';
  layout: Layout;
  perSecond: number;
  seconds: number;
  /** CPU milliseconds of the product's Node process(es) (server + workers) per event. */
  cpuMsPerEvent: number;
  /** The same, per process (split layout only). */
  cpuMsPerEventByRole?: { server: number; worker: number };
  count: number;
  adds: LoadResult;
  acks: AckStats;
  /** Event-loop delay of the product's process and of the simulator's during the measured phase. */
  loopDelayMs: { product: LatencySummary; simulator: LatencySummary };
  /** The server's PostgreSQL pool (callback commits). */
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

/** The worker role in a child process; its CPU use is read through its stdin/stdout. */
async function startWorkerProcess(infra: BenchInfra, options: BenchProductOptions): Promise<{ cpuMs: () => Promise<number>; stop: () => Promise<void> }> {
  const { child, stop } = spawnTs('worker-host.ts', [JSON.stringify({ targets: { simulatorUrl: infra.simulator.url, redisUrl: infra.redisUrl }, options })], infra.cleanup, `worker process (${options.redisPrefix})`);
  await firstLine(child, (line) => (line.startsWith('{') ? true : undefined), 60_000);
  return {
    stop,
    async cpuMs() {
      const answer = firstLine(child, (line) => (line.startsWith('CPU ') ? Number(line.slice(4)) : undefined), 10_000);
      child.stdin?.write('cpu\n');
      return answer;
    },
  };
}

async function runOne(infra: BenchInfra, database: E2eRun['database'], layout: Layout, credentials: BenchCredentials, count: number, concurrency: number): Promise<E2eRun> {
  const databaseUrl = database === 'postgres' ? await infra.postgres.createDatabase(`e2e_${layout}`) : undefined;
  const options: BenchProductOptions = {
    role: layout === 'all' ? 'all' : 'server', dataDir: productDataDir(infra, `e2e-${database}-${layout}`), redisPrefix: `bench-e2e-${database}-${layout}`, credentials,
    ...(databaseUrl ? { databaseUrl } : {}),
  };
  const product: RunningProduct = await startBenchProduct(infra, options);
  const worker = layout === 'split' ? await startWorkerProcess(infra, options) : undefined;
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
  await run(`wme2ewarm${database}${layout}`, WARMUP);
  const prefix = `wme2e${database}${layout}`;
  const cpu = cpuMeter();
  const workerCpuBefore = await worker?.cpuMs();
  const productLoop = loopDelayMeter();
  const poolStats = poolSampler(db);
  await infra.simulator.loopDelay(); // resets the simulator's histogram
  const { load, completedAtMs } = await run(prefix, count);
  const serverCpuMs = cpu();
  const workerCpuMs = worker && workerCpuBefore !== undefined ? (await worker.cpuMs()) - workerCpuBefore : 0;
  const cpuMs = serverCpuMs + workerCpuMs;
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
  await worker?.stop();
  await product.stop();
  return {
    database, layout, perSecond: round(count / seconds, 1), seconds: round(seconds, 2), cpuMsPerEvent: round(cpuMs / count, 3), count,
    ...(worker ? { cpuMsPerEventByRole: { server: round(serverCpuMs / count, 3), worker: round(workerCpuMs / count, 3) } } : {}), acks, loopDelayMs, pool, adds: load, customers, inbox, callbacks: summary.callbacks, problems };
}

export async function endToEndBenchmark(infra: BenchInfra): Promise<BenchOutcome> {
  const counts = { postgres: Number(process.env.BENCH_E2E_EVENTS ?? 2_000), pglite: Number(process.env.BENCH_E2E_PGLITE_EVENTS ?? 500) };
  const concurrency = Number(process.env.BENCH_E2E_CONCURRENCY ?? 16);
  const layouts = (process.env.BENCH_E2E_LAYOUTS ?? 'postgres-all,postgres-split,pglite-all').split(',').map((l) => l.trim())
    .map((l) => {
      const [database, layout] = l.split('-') as [E2eRun['database'], Layout];
      if (!['postgres', 'pglite'].includes(database) || !['all', 'split'].includes(layout)) throw new Error(`BENCH_E2E_LAYOUTS: unknown layout ${l} (postgres-all, postgres-split or pglite-all)`);
      if (database === 'pglite' && layout === 'split') throw new Error('BENCH_E2E_LAYOUTS: pglite-split is impossible (PGlite cannot be shared between processes)');
      return { database, layout };
    });
  const credentials = benchCredentials();
  console.log(`${fmt(counts.postgres)} customers (PostgreSQL) and ${fmt(counts.pglite)} (PGlite) added through POST /sim/customers/add (${concurrency} in flight, after ${WARMUP} warm-up adds); event concurrency ${process.env.BENCH_EVENT_CONCURRENCY ?? '8 (default)'} per worker process`);
  const runs: E2eRun[] = [];
  for (const { database, layout } of layouts) {
    const run = await runOne(infra, database, layout, credentials, counts[database], concurrency);
    runs.push(run);
    const a = run.acks;
    console.log(`\n[${database}, ${LAYOUT_NAMES[layout]}] ${fmt(run.perSecond)} events/s callback → customer row (${fmt(run.count)} in ${run.seconds} s; adds sent at ${fmt(run.adds.perSecond)}/s, add p99 ${ms(run.adds.latencyMs.p99)})`);
    const byRole = run.cpuMsPerEventByRole ? ` = server ${ms(run.cpuMsPerEventByRole.server)} + worker ${ms(run.cpuMsPerEventByRole.worker)}` : '';
    console.log(`  product CPU per event (server + workers${database === 'pglite' ? ' + embedded database' : ''}): ${ms(run.cpuMsPerEvent)}${byRole} (one core ≈ ${fmt(1000 / run.cpuMsPerEvent)}/s)`);
    console.log(`  event-loop delay p99/max: product ${ms(run.loopDelayMs.product.p99)}/${ms(run.loopDelayMs.product.max)}, simulator ${ms(run.loopDelayMs.simulator.p99)}/${ms(run.loopDelayMs.simulator.max)}`);
    if (run.pool) console.log(`  PostgreSQL pool of the callback route (${run.pool.poolSize} connections${layout === 'all' ? '; the workers have their own' : ''}): queries waiting for a connection p50 ${run.pool.waitingP50}, p99 ${run.pool.waitingP99}, max ${run.pool.waitingMax}`);
    console.log(`  inbox ${run.inbox.rows} rows, ${run.inbox.done} done, ${run.inbox.failed} failed, duplicate deliveries ${run.inbox.duplicateDeliveries}, retried ${run.inbox.retried}; simulator callbacks delivered ${run.callbacks.delivered}/${run.callbacks.total}`);
    console.log(`  callback answer time as WeCom sees it: p50 ${ms(a.firstAttemptMs.p50)}, p99 ${ms(a.firstAttemptMs.p99)}, max ${ms(a.firstAttemptMs.max)}; ${a.timedOutAttempts} attempts past the 5 s deadline${a.undelivered ? `; WARNING: ${a.undelivered} events WeCom would have given up on after its retries (they are in the inbox, so not lost here)` : ''}`);
    console.log(`  target ≥ ${TARGET_PER_SECOND}/s: ${run.perSecond >= TARGET_PER_SECOND ? 'met' : 'MISSED'}`);
    if (run.problems.length) console.log(`  INTEGRITY FAILED:\n    ${run.problems.join('\n    ')}`);
  }
  const label = (r: E2eRun) => `${r.database} ${LAYOUT_NAMES[r.layout]}`;
  const meeting = runs.filter((r) => r.perSecond >= TARGET_PER_SECOND);
  console.log(`\ntarget ≥ ${TARGET_PER_SECOND}/s ${meeting.length ? `met by: ${meeting.map(label).join('; ')}` : 'met by no layout'}${runs.length > meeting.length ? `; missed by: ${runs.filter((r) => !meeting.includes(r)).map(label).join('; ')}` : ''}`);
  const ok = runs.every((r) => r.problems.length === 0);
  const key = (r: E2eRun) => `${r.database}-${r.layout}`;
  benchLine({
    name: 'end-to-end',
    customers: counts, warmup: WARMUP, concurrency,
    // The only fixed point of comparison here is the target; the simulator's own add rate is the input ceiling.
    baseline: { name: 'simulator add rate (input ceiling)', perSecond: Object.fromEntries(runs.map((r) => [key(r), r.adds.perSecond])) },
    runs: runs.map((r) => ({
      database: r.database, layout: r.layout, perSecond: r.perSecond, seconds: r.seconds, cpuMsPerEvent: r.cpuMsPerEvent, cpuMsPerEventByRole: r.cpuMsPerEventByRole, customers: r.customers,
      inbox: { rows: r.inbox.rows, done: r.inbox.done, failed: r.inbox.failed, duplicateDeliveries: r.inbox.duplicateDeliveries, retried: r.inbox.retried },
      callbacks: r.callbacks, acks: r.acks, loopDelayMs: r.loopDelayMs, pool: r.pool, integrityOk: r.problems.length === 0, problems: r.problems,
    })),
    target: { perSecond: TARGET_PER_SECOND, met: Object.fromEntries(runs.map((r) => [key(r), r.perSecond >= TARGET_PER_SECOND])) },
    ok,
  });
  return {
    name: 'end-to-end',
    ok,
    summary: runs.map((r) => `${label(r)}: ${fmt(r.perSecond)} events/s callback → customer row, ${ms(r.cpuMsPerEvent)} CPU/event (target ≥ ${TARGET_PER_SECOND}: ${r.perSecond >= TARGET_PER_SECOND ? 'met' : 'MISSED'})${r.acks.timedOutAttempts ? `; ${r.acks.timedOutAttempts} callback answers past WeCom's 5 s deadline` : ''}${r.problems.length ? ` — ${r.problems.length} integrity problem(s)` : ''}`),
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exit(await runBenchmarks([['end to end', endToEndBenchmark]]));
}
