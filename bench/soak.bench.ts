// Soak: callback ingest and end-to-end processing held at a steady rate for minutes, with memory
// watched. Customers are added in the simulator (its own process) at BENCH_SOAK_RATE per second; each
// add is an encrypted `add_external_contact` callback to the product (role 'all', PostgreSQL), whose
// workers call `externalcontact/get` and write the customer. Every 30 s it prints the product
// process's RSS and heap (after a full GC), the inbox lag and the queue depth; at the end it checks
// that every event was stored once and processed once, and compares the memory of the last third of
// the run with the memory after the first sample (the baseline, measured in the same run).
//
//   BENCH_SOAK_MINUTES   how long to run (the soak only runs when this is set; the target is 10)
//   BENCH_SOAK_RATE      customers added per second (default 50)
import { pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { sql } from 'drizzle-orm';
import { activeMembers, benchCompany, benchCredentials } from './support/company.ts';
import { benchLine, runBenchmarks, type BenchOutcome } from './support/harness.ts';
import type { BenchInfra } from './support/infra.ts';
import { customerCount, inboxCounts, lastErrors, productDataDir, startBenchProduct, waitUntil } from './support/product.ts';
import { fmt, round } from './support/stats.ts';

const SAMPLE_EVERY_MS = 30_000;
/** Heap growth from the baseline to the last third's median that still counts as steady. */
const STEADY_GROWTH = 0.15;
const PREFIX = 'wmsoak';

interface Sample {
  atSeconds: number;
  sent: number;
  stored: number;
  done: number;
  pending: number;
  oldestPendingSeconds: number;
  queueWaiting: number;
  rssMb: number;
  heapMb: number;
}

/** A full GC on demand (the flag is set at run time so `npm run bench` needs no node option). */
function collector(): () => void {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  return () => { gc(); gc(); };
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
};

export async function soakBenchmark(infra: BenchInfra): Promise<BenchOutcome> {
  const minutes = Number(process.env.BENCH_SOAK_MINUTES ?? 0);
  if (!(minutes > 0)) {
    console.log('skipped: set BENCH_SOAK_MINUTES (10 for the target run) to run the soak');
    return { name: 'soak', ok: true, summary: ['skipped (BENCH_SOAK_MINUTES not set)'] };
  }
  const rate = Number(process.env.BENCH_SOAK_RATE ?? 50);
  const credentials = benchCredentials();
  const databaseUrl = await infra.postgres.createDatabase('soak');
  const product = await startBenchProduct(infra, { role: 'all', dataDir: productDataDir(infra, 'soak'), redisPrefix: 'bench-soak', credentials, databaseUrl });
  const { fixture } = benchCompany(credentials, 0, '');
  const reset = await infra.simulator.call<{ callback?: { verified: boolean; error?: string } }>('POST', '/sim/reset', {
    ...fixture, callback: { url: `${product.url}/wecom/callback`, token: credentials.callbackToken, aesKey: credentials.callbackAesKey },
  });
  if (!reset.callback?.verified) throw new Error(`the simulator could not verify the callback URL: ${reset.callback?.error ?? 'unknown'}`);
  const db = product.ctx.db;
  const gc = collector();
  const members = activeMembers();
  console.log(`${minutes} min at ${rate} customers/s through POST /sim/customers/add (product in role 'all' on PostgreSQL; samples every ${SAMPLE_EVERY_MS / 1000} s)`);

  const samples: Sample[] = [];
  const started = Date.now();
  const endAt = started + minutes * 60_000;
  let sent = 0;
  let refused = 0;
  const inFlight = new Set<Promise<void>>();
  const sample = async (): Promise<Sample> => {
    // The inbox lag: how long the oldest unprocessed event has waited.
    const [lag] = (await db.execute(sql`select extract(epoch from now() - min(received_at))::float as oldest from inbox_events where status = 'pending'`) as unknown as { rows: { oldest: number | null }[] }).rows;
    const counts = await inboxCounts(db);
    gc();
    const memory = process.memoryUsage();
    const s: Sample = {
      atSeconds: Math.round((Date.now() - started) / 1000), sent, stored: counts.rows, done: counts.done, pending: counts.pending,
      oldestPendingSeconds: round(lag?.oldest ?? 0, 1), queueWaiting: await product.ctx.queues.events.getWaitingCount(),
      rssMb: round(memory.rss / 1_048_576, 1), heapMb: round(memory.heapUsed / 1_048_576, 1),
    };
    console.log(`  t=${String(s.atSeconds).padStart(4)} s  sent ${fmt(s.sent)}  stored ${fmt(s.stored)}  done ${fmt(s.done)}  pending ${fmt(s.pending)} (oldest ${s.oldestPendingSeconds} s, queue ${s.queueWaiting})  RSS ${s.rssMb} MB  heap ${s.heapMb} MB`);
    return s;
  };

  let nextSampleAt = started + SAMPLE_EVERY_MS;
  while (Date.now() < endAt) {
    const dueAt = started + (sent * 1000) / rate;
    const wait = dueAt - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    if (Date.now() >= nextSampleAt) {
      nextSampleAt += SAMPLE_EVERY_MS;
      samples.push(await sample());
    }
    // Bounded in flight: if the simulator (or the machine) falls behind, the rate drops rather than piling up.
    if (inFlight.size >= 64) await Promise.race(inFlight);
    const i = sent++;
    const add = infra.simulator.call('POST', '/sim/customers/add', { userid: members[i % members.length], external_userid: `${PREFIX}${String(i).padStart(8, '0')}`, name: `浸泡客户${i}`, state: 'soak' })
      .then(() => undefined, () => { refused++; });
    inFlight.add(add);
    void add.finally(() => inFlight.delete(add));
  }
  await Promise.all(inFlight);
  const sendSeconds = (Date.now() - started) / 1000;
  const drained = await waitUntil(async () => (await customerCount(db, PREFIX)) >= sent - refused && (await inboxCounts(db)).pending === 0, 300_000, 500);
  const drainSeconds = (Date.now() - started) / 1000 - sendSeconds;
  samples.push(await sample());

  const inbox = await inboxCounts(db);
  const customers = await customerCount(db, PREFIX);
  const delivered = await infra.simulator.call<{ callbacks: { total: number; delivered: number } }>('GET', '/sim/state/summary');
  const accepted = sent - refused;
  const problems: string[] = [];
  if (refused) problems.push(`${refused} adds refused by the simulator`);
  if (!drained) problems.push(`not drained 300 s after the stream ended: ${inbox.pending} pending`);
  if (inbox.rows !== accepted) problems.push(`inbox has ${inbox.rows} rows for ${accepted} events (${inbox.rows < accepted ? 'LOST' : 'DOUBLED'})`);
  if (inbox.done !== accepted) problems.push(`${inbox.done} of ${accepted} events done (failed ${inbox.failed}, pending ${inbox.pending})`);
  if (inbox.extraRowsPerCustomer) problems.push(`${inbox.extraRowsPerCustomer} events stored twice (DOUBLED)`);
  if (customers !== accepted) problems.push(`${customers} customer rows for ${accepted} adds`);
  if (problems.length) problems.push(...(await lastErrors(db)).map((e) => `last_error: ${e}`));

  // Memory: the first sample is the warm baseline; the last third of the run must stay near it.
  const during = samples.slice(0, -1);
  const baseline = during[0] ?? samples[0]!;
  const lastThird = during.slice(Math.floor((during.length * 2) / 3));
  const heapGrowth = round((median(lastThird.map((s) => s.heapMb)) - baseline.heapMb) / baseline.heapMb, 3);
  const rssGrowth = round((median(lastThird.map((s) => s.rssMb)) - baseline.rssMb) / baseline.rssMb, 3);
  const steady = heapGrowth < STEADY_GROWTH;
  const perSecond = round(accepted / sendSeconds, 1);
  const maxLag = Math.max(...samples.map((s) => s.oldestPendingSeconds));
  console.log(`\n${fmt(accepted)} events in ${round(sendSeconds, 1)} s (${perSecond}/s offered, ${rate}/s asked), drained ${round(drainSeconds, 1)} s after the stream; simulator delivered ${delivered.callbacks.delivered}/${delivered.callbacks.total}`);
  console.log(`  inbox lag (oldest pending event) max ${maxLag} s; integrity: ${problems.length ? 'FAILED' : 'every event stored once and processed once'}`);
  console.log(`  memory (product process, after GC): baseline heap ${baseline.heapMb} MB / RSS ${baseline.rssMb} MB at t=${baseline.atSeconds} s; last third median heap ${round(baseline.heapMb * (1 + heapGrowth), 1)} MB (${round(heapGrowth * 100, 1)}%), RSS ${round(rssGrowth * 100, 1)}% → ${steady ? 'steady' : 'GROWING'}`);
  if (problems.length) console.log(`  INTEGRITY FAILED:\n    ${problems.join('\n    ')}`);
  benchLine({
    name: 'soak', minutes, ratePerSecond: rate, perSecond, events: accepted, drainSeconds: round(drainSeconds, 1), maxInboxLagSeconds: maxLag,
    baseline: { name: 'memory at the first sample', heapMb: baseline.heapMb, rssMb: baseline.rssMb },
    memory: { heapGrowth, rssGrowth, steady, samples }, inbox, customers, integrityOk: problems.length === 0, problems,
  });
  await product.stop();
  return {
    name: 'soak',
    ok: problems.length === 0,
    summary: [`${minutes} min at ${perSecond} events/s: inbox lag max ${maxLag} s, heap ${round(heapGrowth * 100, 1)}% vs first sample (${steady ? 'steady' : 'GROWING'}), RSS ${round(rssGrowth * 100, 1)}%${problems.length ? ` — ${problems.length} integrity problem(s)` : ''}`],
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exit(await runBenchmarks([['soak', soakBenchmark]]));
}
