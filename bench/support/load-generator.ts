// The load generator. In the parent, `runLoad` writes the prepared requests to a file and runs this
// same file as a child process: the requests are encrypted and signed beforehand, so the child only
// sends bytes, and it runs on its own event loop (on the 2-core target the server keeps one core's
// worth of event loop to itself instead of sharing it with the generator). The child uses one
// keep-alive agent with a bounded number of requests in flight and reports throughput, latency
// percentiles and status counts of the measured part.
import { Agent, request } from 'node:http';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Cleanup } from './cleanup.ts';
import { firstLine, spawnTs } from './child.ts';
import { round, summarize, type LatencySummary } from './stats.ts';

export interface LoadRequest {
  /** Path and query, e.g. `/wecom/callback?msg_signature=...`. */
  path: string;
  body: string;
  contentType: string;
}

export interface LoadResult {
  sent: number;
  elapsedMs: number;
  /** Epoch milliseconds at which the measured part started (to time work that continues elsewhere). */
  startedAtMs: number;
  /** Epoch milliseconds at which the warm-up started. */
  warmupStartedAtMs: number;
  perSecond: number;
  statuses: Record<string, number>;
  latencyMs: LatencySummary;
  /** Answers slower than WeCom's 5 s deadline (WeCom would have sent the event again). */
  overFiveSeconds: number;
  warmupStatuses: Record<string, number>;
}

interface LoadInput {
  url: string;
  concurrency: number;
  warmup: LoadRequest[];
  requests: LoadRequest[];
}

let files = 0;

/** Runs the load in a child process; `dir` receives the request file. */
export async function runLoad(options: LoadInput & { dir: string; cleanup: Cleanup }): Promise<LoadResult> {
  const file = join(options.dir, `load-${process.pid}-${files++}.json`);
  const input: LoadInput = { url: options.url, concurrency: options.concurrency, warmup: options.warmup, requests: options.requests };
  writeFileSync(file, JSON.stringify(input));
  const { child, stop } = spawnTs('load-generator.ts', [file], options.cleanup, 'load generator');
  try {
    return await firstLine(child, (line) => (line.startsWith('RESULT ') ? (JSON.parse(line.slice(7)) as LoadResult) : undefined), 600_000);
  } finally {
    await stop();
  }
}

/** A pre-encoded request: headers and body as they go on the wire. */
interface Prepared {
  path: string;
  body: Buffer;
  headers: Record<string, string | number>;
}

async function childMain(inputFile: string): Promise<void> {
  const input = JSON.parse(readFileSync(inputFile, 'utf8')) as LoadInput;
  const target = new URL(input.url);
  const agent = new Agent({ keepAlive: true, maxSockets: input.concurrency, maxFreeSockets: input.concurrency });
  const prepare = (r: LoadRequest): Prepared => {
    const body = Buffer.from(r.body);
    return { path: r.path, body, headers: { 'content-type': r.contentType, 'content-length': body.length } };
  };

  const send = (r: Prepared): Promise<number> => new Promise((resolve) => {
    const req = request({ agent, host: target.hostname, port: target.port, method: 'POST', path: r.path, headers: r.headers }, (res) => {
      res.on('data', () => undefined);
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', () => resolve(0));
    });
    req.on('error', () => resolve(0));
    req.end(r.body);
  });

  const run = async (list: Prepared[], latencies?: Float64Array): Promise<Record<string, number>> => {
    const statuses: Record<string, number> = {};
    let next = 0;
    const lane = async () => {
      while (next < list.length) {
        const i = next++;
        const started = performance.now();
        const status = await send(list[i]!);
        if (latencies) latencies[i] = performance.now() - started;
        statuses[status] = (statuses[status] ?? 0) + 1;
      }
    };
    await Promise.all(Array.from({ length: Math.min(input.concurrency, list.length) }, lane));
    return statuses;
  };

  const warmup = input.warmup.map(prepare);
  const requests = input.requests.map(prepare);
  const warmupStartedAtMs = performance.timeOrigin + performance.now();
  const warmupStatuses = await run(warmup);
  await new Promise((r) => setTimeout(r, 200));
  const latencies = new Float64Array(requests.length);
  const startedAtMs = performance.timeOrigin + performance.now();
  const started = performance.now();
  const statuses = await run(requests, latencies);
  const elapsedMs = performance.now() - started;
  agent.destroy();
  const result: LoadResult = {
    sent: requests.length,
    elapsedMs: round(elapsedMs),
    startedAtMs,
    warmupStartedAtMs,
    perSecond: round(requests.length / (elapsedMs / 1000), 1),
    statuses,
    latencyMs: summarize(latencies),
    overFiveSeconds: latencies.filter((v) => v > 5_000).length,
    warmupStatuses,
  };
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { exitWithParent } = await import('./child.ts');
  exitWithParent(() => undefined);
  await childMain(process.argv[2]!);
  process.exit(0);
}
