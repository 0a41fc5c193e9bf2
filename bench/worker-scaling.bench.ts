// Worker scaling, for the capacity plan: the same backlog of `add_external_contact` events processed
// by 1 and then by 2 worker processes (`server/main.ts worker`, as `npm run start:worker` runs it) on
// PostgreSQL. The server (in this process) takes the callbacks from the simulator with no worker
// running, so the whole backlog is in the inbox and the queue; then the workers start and the time to
// process it is measured. The 1-worker run is the baseline of the 2-worker run.
//
//   BENCH_SCALE_EVENTS   events in the backlog (default 2000)
import { spawn, type ChildProcess } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { activeMembers, benchCompany, benchCredentials, type BenchCredentials } from './support/company.ts';
import { projectRoot, stopChild } from './support/child.ts';
import { benchLine, runBenchmarks, type BenchOutcome } from './support/harness.ts';
import type { BenchInfra } from './support/infra.ts';
import { customerCount, inboxCounts, productDataDir, startBenchProduct, waitUntil } from './support/product.ts';
import { fmt, round } from './support/stats.ts';

interface ScaleRun { workers: number; events: number; seconds: number; perSecond: number; integrityOk: boolean; problems: string[] }

function startWorkerProcess(infra: BenchInfra, credentials: BenchCredentials, databaseUrl: string, index: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts', 'worker'], {
    cwd: projectRoot,
    env: {
      PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', LOG_LEVEL: 'warn', PORT: '0',
      DATA_DIR: productDataDir(infra, `scale-worker-${index}`), DATABASE_URL: databaseUrl, REDIS_URL: infra.redisUrl,
      WECOM_CORP_ID: credentials.corpId, WECOM_AGENT_ID: String(credentials.agentId), WECOM_AGENT_SECRET: credentials.agentSecret,
      WECOM_CALLBACK_TOKEN: credentials.callbackToken, WECOM_CALLBACK_AES_KEY: credentials.callbackAesKey, WECOM_API_BASE: infra.simulator.url,
      SESSION_SECRET: credentials.sessionSecret, PUBLIC_URL: 'http://127.0.0.1',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  infra.cleanup.add(`worker process ${index}`, () => stopChild(child));
  return new Promise((resolve, reject) => {
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Press Ctrl-C')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`worker process exited (${code}) before starting`)));
  });
}

async function runOne(infra: BenchInfra, workers: number, events: number): Promise<ScaleRun> {
  const credentials = benchCredentials();
  const databaseUrl = await infra.postgres.createDatabase(`scale${workers}`);
  // Queue prefix 'wtg': the worker processes use the product's default.
  const server = await startBenchProduct(infra, { role: 'server', dataDir: productDataDir(infra, `scale-${workers}`), redisPrefix: 'wtg', credentials, databaseUrl });
  const { fixture } = benchCompany(credentials, 0, '');
  const reset = await infra.simulator.call<{ callback?: { verified: boolean } }>('POST', '/sim/reset', { ...fixture, callback: { url: `${server.url}/wecom/callback`, token: credentials.callbackToken, aesKey: credentials.callbackAesKey } });
  if (!reset.callback?.verified) throw new Error('the simulator could not verify the callback URL');
  const db = server.ctx.db;
  const members = activeMembers();
  const prefix = `wmscale${workers}w`;
  let next = 0;
  const lane = async () => {
    while (next < events) {
      const i = next++;
      await infra.simulator.call('POST', '/sim/customers/add', { userid: members[i % members.length], external_userid: `${prefix}${String(i).padStart(7, '0')}`, name: `扩展客户${i}` });
    }
  };
  await Promise.all(Array.from({ length: 16 }, lane));
  if (!(await waitUntil(async () => (await inboxCounts(db)).rows >= events, 300_000, 200))) throw new Error('the backlog did not reach the inbox');

  const children = await Promise.all(Array.from({ length: workers }, (_, i) => startWorkerProcess(infra, credentials, databaseUrl, i)));
  const started = Date.now();
  const done = await waitUntil(async () => (await customerCount(db, prefix)) >= events && (await inboxCounts(db)).pending === 0, 900_000, 100);
  const seconds = (Date.now() - started) / 1000;
  const inbox = await inboxCounts(db);
  const problems: string[] = [];
  if (!done) problems.push(`not processed within 900 s (${inbox.pending} pending)`);
  if (inbox.rows !== events || inbox.done !== events || inbox.extraRowsPerCustomer) problems.push(`inbox ${inbox.rows} rows, ${inbox.done} done for ${events} events`);
  await Promise.all(children.map((c) => stopChild(c)));
  await server.stop();
  return { workers, events, seconds: round(seconds, 1), perSecond: round(events / seconds, 1), integrityOk: problems.length === 0, problems };
}

export async function workerScalingBenchmark(infra: BenchInfra): Promise<BenchOutcome> {
  const events = Number(process.env.BENCH_SCALE_EVENTS ?? 2_000);
  console.log(`a backlog of ${fmt(events)} add events processed by worker processes (event concurrency 8 each) on PostgreSQL`);
  const runs: ScaleRun[] = [];
  for (const workers of [1, 2]) {
    const run = await runOne(infra, workers, events);
    runs.push(run);
    console.log(`  ${workers} worker process${workers > 1 ? 'es' : ''}: ${fmt(run.perSecond)} events/s (${run.events} in ${run.seconds} s)${run.problems.length ? ` — INTEGRITY FAILED: ${run.problems.join('; ')}` : ''}`);
  }
  const speedup = round(runs[1]!.perSecond / runs[0]!.perSecond, 2);
  console.log(`  2 workers vs 1 (baseline): ×${speedup}`);
  const ok = runs.every((r) => r.integrityOk);
  benchLine({ name: 'worker-scaling', events, baseline: { name: '1 worker process', perSecond: runs[0]!.perSecond }, runs, speedup, ok });
  return { name: 'worker-scaling', ok, summary: [`1 worker ${fmt(runs[0]!.perSecond)}/s, 2 workers ${fmt(runs[1]!.perSecond)}/s (×${speedup})`] };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exit(await runBenchmarks([['worker scaling', workerScalingBenchmark]]));
}
