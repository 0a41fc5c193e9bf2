// Runs benchmarks with shared infrastructure and guaranteed cleanup (normal end, error or signal).
import { cpus, loadavg } from 'node:os';
import { Cleanup } from './cleanup.ts';
import { startInfra, type BenchInfra } from './infra.ts';

export interface BenchOutcome {
  name: string;
  /** False when the benchmark found lost or doubled events (the run then exits non-zero). */
  ok: boolean;
  /** Short lines for the final summary. */
  summary: string[];
}

export type Benchmark = (infra: BenchInfra) => Promise<BenchOutcome>;

export function machineLine(): string {
  const list = cpus();
  return `machine: ${list.length} CPU(s) (${list[0]?.model.trim() ?? 'unknown'}), Node ${process.version}`;
}

/** Prints the one machine-readable line of a benchmark. */
/** The 1-minute load average against the CPU count: other work on the machine skews every figure. */
export function loadLine(warn = true): string {
  const [one] = loadavg();
  const n = cpus().length;
  return `load average ${one!.toFixed(2)} on ${n} CPU(s)${warn && one! > n * 0.5 ? ' — the machine was busy (other work, or the previous benchmark): throughput and latency figures may understate the product (CPU per event is the steadier figure)' : ''}`;
}

export function benchLine(payload: Record<string, unknown>): void {
  console.log(`BENCH ${JSON.stringify(payload)}`);
}

export async function runBenchmarks(benchmarks: [string, Benchmark][]): Promise<number> {
  const cleanup = new Cleanup();
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) return;
    signalled = true;
    console.error(`\n${signal}: cleaning up`);
    // Whatever the interrupted benchmark throws from here on must not stop the cleanup.
    process.on('uncaughtException', () => undefined);
    process.on('unhandledRejection', () => undefined);
    void cleanup.run().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const outcomes: BenchOutcome[] = [];
  const started = Date.now();
  let failed = false;
  try {
    console.log(machineLine());
    const infra = await startInfra(cleanup);
    const pg = infra.postgres;
    console.log(`PostgreSQL ${pg.settings.version} (${pg.origin}; fsync=${pg.settings.fsync}, synchronous_commit=${pg.settings.synchronousCommit}), Redis ${infra.redisOrigin}, simulator in its own process`);
    for (const [name, bench] of benchmarks) {
      console.log(`\n━━ ${name} ━━`);
      console.log(`before: ${loadLine()}`);
      try {
        outcomes.push(await bench(infra));
        console.log(`after: ${loadLine(false)} (includes this benchmark's own load)`);
      } catch (error) {
        failed = true;
        console.error(`${name} failed: ${(error as Error).stack ?? String(error)}`);
        outcomes.push({ name, ok: false, summary: [`ERROR: ${(error as Error).message}`] });
      }
    }
  } catch (error) {
    failed = true;
    console.error(`benchmark setup failed: ${(error as Error).stack ?? String(error)}`);
  } finally {
    await cleanup.run();
  }
  console.log(`\n━━ summary (${((Date.now() - started) / 1000).toFixed(0)} s) ━━`);
  for (const outcome of outcomes) {
    console.log(`${outcome.name}: ${outcome.ok ? 'integrity OK' : 'FAILED'}`);
    for (const line of outcome.summary) console.log(`  ${line}`);
  }
  return failed || outcomes.some((o) => !o.ok) ? 1 : 0;
}
