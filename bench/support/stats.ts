import { monitorEventLoopDelay } from 'node:perf_hooks';

export interface LatencySummary {
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentiles of latencies in milliseconds. */
export function summarize(values: ArrayLike<number>): LatencySummary {
  const sorted = Float64Array.from(values).sort();
  const n = sorted.length;
  if (n === 0) return { p50: 0, p90: 0, p99: 0, max: 0, mean: 0 };
  const at = (p: number) => sorted[Math.min(n - 1, Math.max(0, Math.ceil(p * n) - 1))]!;
  let total = 0;
  for (const v of sorted) total += v;
  return { p50: round(at(0.5)), p90: round(at(0.9)), p99: round(at(0.99)), max: round(sorted[n - 1]!), mean: round(total / n) };
}

export const round = (value: number, digits = 2): number => Math.round(value * 10 ** digits) / 10 ** digits;

export const fmt = (value: number): string => Math.round(value).toLocaleString('en-US');

export const ms = (value: number): string => `${value.toFixed(value < 10 ? 2 : 1)} ms`;

/** CPU time (user + system) this process spends between `start()` and the returned function's call. */
export function cpuMeter(): () => number {
  const start = process.cpuUsage();
  return () => {
    const used = process.cpuUsage(start);
    return (used.user + used.system) / 1000;
  };
}

/** Event-loop delay of this process (the product's) while a phase runs: long stalls delay every answer. */
export function loopDelayMeter(): () => LatencySummary {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  return () => {
    histogram.disable();
    const ns = (p: number) => histogram.percentile(p) / 1e6;
    return { p50: round(ns(50)), p90: round(ns(90)), p99: round(ns(99)), max: round(histogram.max / 1e6), mean: round(histogram.mean / 1e6) };
  };
}
