// `npm run bench`: every benchmark in turn on shared infrastructure (private Redis and PostgreSQL
// unless REDIS_URL / BENCH_DATABASE_URL are set, the simulator in its own process), then a summary.
// Exits non-zero when a benchmark lost or doubled an event or could not run; missed performance
// targets are reported, not failed.
import { callbackIngestBenchmark } from './callback-ingest.bench.ts';
import { endToEndBenchmark } from './end-to-end.bench.ts';
import { runBenchmarks } from './support/harness.ts';

process.exit(await runBenchmarks([
  ['callback ingest', callbackIngestBenchmark],
  ['end to end', endToEndBenchmark],
  ['tag policy', (await import('./tag-policy.bench.ts')).tagPolicyBenchmark],
  // Its own PostgreSQL with fsync on and a generated 1M-customer database (about 2 minutes).
  ['customer list', async () => ({ name: 'customer list', ok: true, summary: (await (await import('./customer-list.bench.ts')).customerListBenchmark()).summary })],
  ['QR add → tags', (await import('./qr-auto-tagging.bench.ts')).qrAutoTaggingBenchmark],
  ['audience count', (await import('./audience-count.bench.ts')).audienceCountBenchmark],
  ['customer import', (await import('./customer-import.bench.ts')).customerImportBenchmark],
  ['worker scaling', (await import('./worker-scaling.bench.ts')).workerScalingBenchmark],
  ['sidebar load', (await import('./sidebar-load.bench.ts')).sidebarLoadBenchmark],
  // Runs only when BENCH_SOAK_MINUTES is set (10 for the target run).
  ['soak', (await import('./soak.bench.ts')).soakBenchmark],
]));
