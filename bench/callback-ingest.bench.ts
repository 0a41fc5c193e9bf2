// Callback ingest: WeCom-style encrypted, signed `edit_external_contact` callbacks (10% exact
// repeats) against POST /wecom/callback, with PostgreSQL and with PGlite, next to a bare Express
// handler driven by the same generator; then the inbox is checked (every distinct event exactly once,
// every repeat counted) and, once the workers are done, every event processed once.
//
//   BENCH_EVENTS       measured requests per database (default 5000; 10% of them are repeats)
//   BENCH_WARMUP       distinct events sent first, not timed (default 300)
//   BENCH_CONCURRENCY  requests in flight (default 64)
import { pathToFileURL } from 'node:url';
import type { RunningProduct } from '../server/boot.ts';
import type { Database } from '../server/db/database.ts';
import { startBareExpress } from './support/bare-express.ts';
import { benchCompany, benchCredentials, callbackRequest, type BenchCredentials, type BenchCustomer } from './support/company.ts';
import { benchLine, runBenchmarks, type BenchOutcome } from './support/harness.ts';
import type { BenchInfra } from './support/infra.ts';
import { runLoad, type LoadRequest, type LoadResult } from './support/load-generator.ts';
import { inboxCounts, inboxCustomerIds, lastErrors, poolSampler, productDataDir, startBenchProduct, waitUntil, type InboxCounts, type PoolWaitStats } from './support/product.ts';
import { cpuMeter, fmt, loopDelayMeter, ms, round, type LatencySummary } from './support/stats.ts';

const TARGET = { perSecond: 1_000, p99Ms: 100, ratioToBare: 0.4 };
const ID_PREFIX = 'wmbenchingest';
const PROCESS_TIMEOUT_MS = Number(process.env.BENCH_PROCESS_TIMEOUT_MS ?? 180_000);

interface Workload {
  credentials: BenchCredentials;
  fixture: ReturnType<typeof benchCompany>['fixture'];
  customers: BenchCustomer[];
  warmup: LoadRequest[];
  requests: LoadRequest[];
  distinct: number;
  repeats: number;
}

/** Distinct events, one per customer; each repeat is a byte-identical copy sent shortly after its original. */
function buildWorkload(total: number, warmupCount: number): Workload {
  const repeats = Math.round(total * 0.1);
  const measuredDistinct = total - repeats;
  const credentials = benchCredentials();
  const { fixture, customers } = benchCompany(credentials, warmupCount + measuredDistinct, ID_PREFIX);
  const createTime = Math.floor(Date.now() / 1000);
  const event = (c: BenchCustomer) => callbackRequest(credentials, { changeType: 'edit_external_contact', userid: c.userid, externalUserId: c.externalUserId, createTime });
  const warmup = customers.slice(0, warmupCount).map(event);
  const originals = customers.slice(warmupCount).map(event);
  // Order key: originals at their index; a repeat lands 1 to 300 positions after its original, so
  // some arrive while the original is still in flight (the race the unique key must absorb).
  const keyed = originals.map((request, i) => ({ key: i, request }));
  for (let r = 0; r < repeats; r++) {
    const source = Math.floor(Math.random() * originals.length);
    keyed.push({ key: source + 0.5 + Math.random() * 300, request: originals[source]! });
  }
  keyed.sort((a, b) => a.key - b.key);
  return { credentials, fixture, customers, warmup, requests: keyed.map((k) => k.request), distinct: warmupCount + measuredDistinct, repeats };
}

interface DatabaseRun {
  database: 'postgres' | 'pglite';
  mode: string;
  load: LoadResult;
  ratioToBare: number;
  ingest: InboxCounts;
  processed: InboxCounts;
  processing: { seconds: number; perSecond: number; span: string };
  /** CPU milliseconds of the product's Node process per event (PostgreSQL's own processes not included). */
  cpuMsPerEvent: { ingest?: number; processing?: number; all?: number };
  /** Event-loop delay of the product's process while the generator sent. */
  loopDelayMs: LatencySummary;
  pool?: PoolWaitStats | undefined;
  wecomGetCalls: number;
  problems: string[];
}

function checkIngest(w: Workload, load: LoadResult, counts: InboxCounts, ids: Set<string>): string[] {
  const problems: string[] = [];
  const non200 = Object.entries({ ...load.statuses }).filter(([s]) => s !== '200').reduce((n, [, c]) => n + c, 0)
    + Object.entries(load.warmupStatuses).filter(([s]) => s !== '200').reduce((n, [, c]) => n + c, 0);
  if (non200 > 0) problems.push(`${non200} deliveries not answered 200 (${JSON.stringify(load.statuses)}, warm-up ${JSON.stringify(load.warmupStatuses)})`);
  if (counts.rows !== w.distinct) problems.push(`inbox has ${counts.rows} rows for ${w.distinct} distinct events (${counts.rows < w.distinct ? 'LOST' : 'DOUBLED'})`);
  if (counts.duplicateDeliveries !== w.repeats) problems.push(`duplicate_deliveries sums to ${counts.duplicateDeliveries}, ${w.repeats} repeats were sent`);
  if (counts.extraRowsPerCustomer !== 0) problems.push(`${counts.extraRowsPerCustomer} events stored more than once (DOUBLED)`);
  const missing = w.customers.filter((c) => !ids.has(c.externalUserId)).length;
  if (missing > 0) problems.push(`${missing} distinct events missing from the inbox (LOST)`);
  return problems;
}

function checkProcessed(w: Workload, counts: InboxCounts, drained: boolean): string[] {
  const problems: string[] = [];
  if (!drained) problems.push(`workers did not finish within ${PROCESS_TIMEOUT_MS / 1000} s (${counts.pending} still pending)`);
  if (counts.done !== w.distinct) problems.push(`${counts.done} of ${w.distinct} events done (failed ${counts.failed}, pending ${counts.pending}, ignored ${counts.ignored})`);
  return problems;
}

async function wecomGetCalls(infra: BenchInfra): Promise<number> {
  const { calls } = await infra.simulator.call<{ calls: unknown[] }>('GET', '/sim/calls?path=/cgi-bin/externalcontact/get');
  return calls.length;
}

async function waitForWorkers(db: Database): Promise<{ drained: boolean; counts: InboxCounts }> {
  let counts = await inboxCounts(db);
  const drained = await waitUntil(async () => {
    counts = await inboxCounts(db);
    return counts.pending === 0;
  }, PROCESS_TIMEOUT_MS, 100);
  return { drained, counts };
}

async function runPostgres(infra: BenchInfra, w: Workload, concurrency: number, bare: number): Promise<DatabaseRun> {
  const databaseUrl = await infra.postgres.createDatabase('ingest');
  const dataDir = productDataDir(infra, 'ingest-postgres');
  const common = { databaseUrl, dataDir, redisPrefix: 'bench-ingest-pg', credentials: w.credentials };
  // Ingest alone: the HTTP role without workers, so the figure is what the callback path sustains.
  const server = await startBenchProduct(infra, { ...common, role: 'server' });
  const ingestCpu = cpuMeter();
  const loop = loopDelayMeter();
  const poolStats = poolSampler(server.ctx.db);
  const load = await runLoad({ url: server.url, concurrency, warmup: w.warmup, requests: w.requests, dir: infra.root, cleanup: infra.cleanup });
  const ingestCpuMs = ingestCpu();
  const loopDelayMs = loop();
  const pool = poolStats();
  const ingest = await inboxCounts(server.ctx.db);
  const problems = checkIngest(w, load, ingest, await inboxCustomerIds(server.ctx.db));
  await server.stop();
  // Then the worker role against the same database and queues drains what the server enqueued.
  const started = Date.now();
  const worker = await startBenchProduct(infra, { ...common, role: 'worker' });
  const processingCpu = cpuMeter();
  const { drained, counts } = await waitForWorkers(worker.ctx.db);
  const seconds = (Date.now() - started) / 1000;
  const processingCpuMs = processingCpu();
  problems.push(...checkProcessed(w, counts, drained));
  if (problems.length) problems.push(...(await lastErrors(worker.ctx.db)).map((e) => `last_error: ${e}`));
  await worker.stop();
  return {
    database: 'postgres',
    mode: "role 'server' (no workers) while sending, then role 'worker' on the same database and queues",
    load, ratioToBare: round(load.perSecond / bare, 3), ingest, processed: counts,
    processing: { seconds: round(seconds, 2), perSecond: round(w.distinct / seconds, 1), span: 'worker start → inbox drained' },
    loopDelayMs,
    pool,
    cpuMsPerEvent: { ingest: round(ingestCpuMs / (w.warmup.length + w.requests.length), 3), processing: round(processingCpuMs / w.distinct, 3) },
    wecomGetCalls: await wecomGetCalls(infra), problems,
  };
}

async function runPglite(infra: BenchInfra, w: Workload, concurrency: number, bare: number): Promise<DatabaseRun> {
  // PGlite cannot be shared between processes: the embedded default, server and workers in one process.
  const product: RunningProduct = await startBenchProduct(infra, { role: 'all', dataDir: productDataDir(infra, 'ingest-pglite'), redisPrefix: 'bench-ingest-pglite', credentials: w.credentials });
  const cpu = cpuMeter();
  const loop = loopDelayMeter();
  const load = await runLoad({ url: product.url, concurrency, warmup: w.warmup, requests: w.requests, dir: infra.root, cleanup: infra.cleanup });
  const loopDelayMs = loop();
  const ingest = await inboxCounts(product.ctx.db);
  const problems = checkIngest(w, load, ingest, await inboxCustomerIds(product.ctx.db));
  const { drained, counts } = await waitForWorkers(product.ctx.db);
  const seconds = (Date.now() - load.warmupStartedAtMs) / 1000;
  const cpuMs = cpu();
  problems.push(...checkProcessed(w, counts, drained));
  if (problems.length) problems.push(...(await lastErrors(product.ctx.db)).map((e) => `last_error: ${e}`));
  await product.stop();
  return {
    database: 'pglite',
    mode: "role 'all' (embedded PGlite: server and workers in one process, workers busy while sending)",
    load, ratioToBare: round(load.perSecond / bare, 3), ingest, processed: counts,
    processing: { seconds: round(seconds, 2), perSecond: round(w.distinct / seconds, 1), span: 'first warm-up send → inbox drained' },
    loopDelayMs,
    cpuMsPerEvent: { all: round(cpuMs / w.distinct, 3) },
    wecomGetCalls: await wecomGetCalls(infra), problems,
  };
}

function report(run: DatabaseRun, w: Workload): void {
  const l = run.load;
  console.log(`\n[${run.database}] ${run.mode}`);
  console.log(`  ingest: ${fmt(l.perSecond)} events/s (${fmt(l.sent)} requests in ${(l.elapsedMs / 1000).toFixed(2)} s), latency p50 ${ms(l.latencyMs.p50)}, p90 ${ms(l.latencyMs.p90)}, p99 ${ms(l.latencyMs.p99)}, max ${ms(l.latencyMs.max)}`);
  console.log(`  ${(run.ratioToBare * 100).toFixed(1)}% of bare Express; statuses ${JSON.stringify(l.statuses)}${l.overFiveSeconds ? `; WARNING: ${l.overFiveSeconds} answers slower than WeCom's 5 s deadline` : ''}`);
  console.log(`  inbox after ingest: ${run.ingest.rows} rows (expected ${w.distinct}), duplicate_deliveries ${run.ingest.duplicateDeliveries} (expected ${w.repeats})`);
  console.log(`  processing: ${run.processed.done} done, ${run.processed.failed} failed, ${run.processed.pending} pending, ${run.processed.retried} needed a retry; ${fmt(run.processing.perSecond)} events/s (${run.processing.seconds} s, ${run.processing.span}); externalcontact/get calls ${run.wecomGetCalls}`);
  const c = run.cpuMsPerEvent;
  console.log(`  product process CPU per event: ${[
    c.ingest !== undefined && `ingest ${ms(c.ingest)} (one core ≈ ${fmt(1000 / c.ingest)}/s)`,
    c.processing !== undefined && `processing ${ms(c.processing)} (one core ≈ ${fmt(1000 / c.processing)}/s)`,
    c.all !== undefined && `ingest + processing + embedded database ${ms(c.all)} (one core ≈ ${fmt(1000 / c.all)}/s)`,
  ].filter(Boolean).join(', ')}; event-loop delay while sending p99 ${ms(run.loopDelayMs.p99)}, max ${ms(run.loopDelayMs.max)}`);
  if (run.pool) console.log(`  PostgreSQL pool (${run.pool.poolSize} connections) while sending: queries waiting for a connection p50 ${run.pool.waitingP50}, p99 ${run.pool.waitingP99}, max ${run.pool.waitingMax}`);
  console.log(run.problems.length ? `  INTEGRITY FAILED:\n    ${run.problems.join('\n    ')}` : '  integrity: every distinct event stored exactly once, every repeat counted, every event processed once');
}

export async function callbackIngestBenchmark(infra: BenchInfra): Promise<BenchOutcome> {
  const total = Number(process.env.BENCH_EVENTS ?? 5_000);
  const warmupCount = Number(process.env.BENCH_WARMUP ?? 300);
  const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 64);
  const w = buildWorkload(total, warmupCount);
  console.log(`${fmt(total)} requests per database (${fmt(total - w.repeats)} distinct edit_external_contact events + ${fmt(w.repeats)} exact repeats) after ${warmupCount} warm-up events, ${concurrency} in flight, generator in a child process`);

  const bareServer = await startBareExpress();
  const stopBare = infra.cleanup.add('bare Express', () => bareServer.close());
  const bareCpu = cpuMeter();
  const bare = await runLoad({ url: bareServer.url, concurrency, warmup: w.warmup, requests: w.requests, dir: infra.root, cleanup: infra.cleanup });
  const bareCpuMsPerRequest = round(bareCpu() / (w.warmup.length + w.requests.length), 3);
  await stopBare();
  console.log(`bare Express 5 (empty 200, same requests): ${fmt(bare.perSecond)} requests/s, p50 ${ms(bare.latencyMs.p50)}, p99 ${ms(bare.latencyMs.p99)}; CPU ${ms(bareCpuMsPerRequest)} per request`);

  const runs: DatabaseRun[] = [];
  for (const runOne of [runPostgres, runPglite]) {
    await infra.simulator.call('POST', '/sim/reset', w.fixture); // fresh corp, call log and rate window
    const run = await runOne(infra, w, concurrency, bare.perSecond);
    report(run, w);
    runs.push(run);
  }

  const pg = runs.find((r) => r.database === 'postgres')!;
  const met = {
    perSecond: pg.load.perSecond >= TARGET.perSecond,
    p99: pg.load.latencyMs.p99 < TARGET.p99Ms,
    ratioToBare: pg.ratioToBare >= TARGET.ratioToBare,
  };
  const settings = infra.postgres.settings;
  console.log(`\ntargets (PostgreSQL, 2-core machine): ≥ ${fmt(TARGET.perSecond)} events/s: ${met.perSecond ? 'met' : 'MISSED'} (${fmt(pg.load.perSecond)}); p99 < ${TARGET.p99Ms} ms: ${met.p99 ? 'met' : 'MISSED'} (${ms(pg.load.latencyMs.p99)}); ≥ ${TARGET.ratioToBare * 100}% of bare Express: ${met.ratioToBare ? 'met' : 'MISSED'} (${(pg.ratioToBare * 100).toFixed(1)}%)`);
  console.log(`durability: each 200 follows a committed INSERT; this PostgreSQL runs fsync=${settings.fsync}, synchronous_commit=${settings.synchronousCommit}${settings.fsync === 'off' ? ' (the private test cluster: commits survive a process crash, not a power loss; set BENCH_DATABASE_URL for a production-configured server)' : ''}`);

  const ok = runs.every((r) => r.problems.length === 0);
  benchLine({
    name: 'callback-ingest',
    requests: total, distinct: w.distinct, repeats: w.repeats, warmup: warmupCount, concurrency,
    baseline: { name: 'bare express 5 empty 200', perSecond: bare.perSecond, latencyMs: bare.latencyMs, cpuMsPerRequest: bareCpuMsPerRequest },
    runs: runs.map((r) => ({
      database: r.database, mode: r.mode, perSecond: r.load.perSecond, latencyMs: r.load.latencyMs, ratioToBare: r.ratioToBare,
      statuses: r.load.statuses, overFiveSeconds: r.load.overFiveSeconds, inboxRows: r.ingest.rows, duplicateDeliveries: r.ingest.duplicateDeliveries,
      processed: { done: r.processed.done, failed: r.processed.failed, pending: r.processed.pending, retried: r.processed.retried, perSecond: r.processing.perSecond, seconds: r.processing.seconds, span: r.processing.span },
      cpuMsPerEvent: r.cpuMsPerEvent, loopDelayMs: r.loopDelayMs, pool: r.pool, wecomGetCalls: r.wecomGetCalls, integrityOk: r.problems.length === 0, problems: r.problems,
    })),
    postgres: settings,
    target: { ...TARGET, database: 'postgres', met: { ...met, all: met.perSecond && met.p99 && met.ratioToBare } },
    ok,
  });
  return {
    name: 'callback-ingest',
    ok,
    summary: [
      `bare Express: ${fmt(bare.perSecond)} req/s`,
      ...runs.map((r) => `${r.database}: ${fmt(r.load.perSecond)} events/s, p50 ${ms(r.load.latencyMs.p50)}, p99 ${ms(r.load.latencyMs.p99)}, ${(r.ratioToBare * 100).toFixed(1)}% of bare; processed ${fmt(r.processing.perSecond)}/s${r.problems.length ? ` — ${r.problems.length} integrity problem(s)` : ''}`),
      `target (PostgreSQL ≥ 1,000/s, p99 < 100 ms, ≥ 40% of bare): ${met.perSecond && met.p99 && met.ratioToBare ? 'met' : `MISSED (${[!met.perSecond && 'throughput', !met.p99 && 'p99', !met.ratioToBare && 'ratio'].filter(Boolean).join(', ')})`}`,
    ],
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exit(await runBenchmarks([['callback ingest', callbackIngestBenchmark]]));
}
