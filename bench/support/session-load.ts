// The sidebar load generator (a child process, like load-generator.ts, so the product keeps its
// event loop to itself): each signed-in rep session loops over what the sidebar does — list my
// customers, open one, tag or untag it — with a random think time between actions, one action in
// flight per session. Reports latency percentiles per action and the statuses of the measured part.
import { Agent, request } from 'node:http';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Cleanup } from './cleanup.ts';
import { firstLine, spawnTs } from './child.ts';
import { round, summarize, type LatencySummary } from './stats.ts';

export interface RepSession {
  cookie: string;
  csrfToken: string;
  /** Customers this rep follows (the ones the sidebar opens and tags). */
  customers: string[];
}

export interface SessionLoadInput {
  url: string;
  sessions: RepSession[];
  /** Tag ids the reps toggle on their customers. */
  tagIds: string[];
  warmupMs: number;
  durationMs: number;
  /** Mean think time between one session's actions (uniform from 0 to twice this). */
  thinkMs: number;
}

export type SidebarAction = 'list' | 'detail' | 'tag';

export interface SessionLoadResult {
  sessions: number;
  seconds: number;
  perSecond: number;
  actions: Record<SidebarAction, { count: number; latencyMs: LatencySummary; statuses: Record<string, number> }>;
  all: LatencySummary;
}

let files = 0;

export async function runSessionLoad(input: SessionLoadInput & { dir: string; cleanup: Cleanup }): Promise<SessionLoadResult> {
  const file = join(input.dir, `sessions-${process.pid}-${files++}.json`);
  const { dir: _dir, cleanup, ...data } = input;
  writeFileSync(file, JSON.stringify(data));
  const { child, stop } = spawnTs('session-load.ts', [file], cleanup, 'session load generator');
  try {
    return await firstLine(child, (line) => (line.startsWith('RESULT ') ? (JSON.parse(line.slice(7)) as SessionLoadResult) : undefined), input.warmupMs + input.durationMs + 120_000);
  } finally {
    await stop();
  }
}

async function childMain(inputFile: string): Promise<void> {
  const input = JSON.parse(readFileSync(inputFile, 'utf8')) as SessionLoadInput;
  const target = new URL(input.url);
  const agent = new Agent({ keepAlive: true, maxSockets: input.sessions.length + 8 });
  const send = (session: RepSession, method: string, path: string, body?: unknown): Promise<number> => new Promise((resolve) => {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string | number> = { cookie: session.cookie };
    if (payload) Object.assign(headers, { 'content-type': 'application/json', 'content-length': payload.length, 'x-csrf-token': session.csrfToken });
    const req = request({ agent, host: target.hostname, port: target.port, method, path, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', () => resolve(0));
    });
    req.on('error', () => resolve(0));
    req.end(payload);
  });

  const latencies: Record<SidebarAction, number[]> = { list: [], detail: [], tag: [] };
  const statuses: Record<SidebarAction, Record<string, number>> = { list: {}, detail: {}, tag: {} };
  const started = Date.now();
  const measureFrom = started + input.warmupMs;
  const endAt = measureFrom + input.durationMs;

  const loop = async (session: RepSession, index: number): Promise<void> => {
    // Sessions start spread over one think time, as reps do not all click at the same instant.
    await new Promise((resolve) => setTimeout(resolve, Math.random() * input.thinkMs));
    const tagged = new Set<string>();
    let n = index;
    while (Date.now() < endAt) {
      const roll = Math.random();
      const customer = session.customers[n++ % session.customers.length]!;
      let action: SidebarAction;
      let call: Promise<number>;
      const t0 = performance.now();
      if (roll < 0.5) {
        action = 'list';
        call = send(session, 'GET', '/api/customers?limit=20');
      } else if (roll < 0.8) {
        action = 'detail';
        call = send(session, 'GET', `/api/customers/${customer}`);
      } else {
        action = 'tag';
        const tag = input.tagIds[n % input.tagIds.length]!;
        const key = `${customer}|${tag}`;
        const adding = !tagged.has(key);
        if (adding) tagged.add(key);
        else tagged.delete(key);
        call = send(session, 'POST', `/api/customers/${customer}/tags`, adding ? { add: [tag] } : { remove: [tag] });
      }
      const status = await call;
      const elapsed = performance.now() - t0;
      if (Date.now() >= measureFrom && Date.now() <= endAt) {
        latencies[action].push(elapsed);
        statuses[action][status] = (statuses[action][status] ?? 0) + 1;
      }
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 2 * input.thinkMs));
    }
  };
  await Promise.all(input.sessions.map(loop));
  agent.destroy();
  const seconds = input.durationMs / 1000;
  const count = latencies.list.length + latencies.detail.length + latencies.tag.length;
  const result: SessionLoadResult = {
    sessions: input.sessions.length,
    seconds,
    perSecond: round(count / seconds, 1),
    actions: {
      list: { count: latencies.list.length, latencyMs: summarize(latencies.list), statuses: statuses.list },
      detail: { count: latencies.detail.length, latencyMs: summarize(latencies.detail), statuses: statuses.detail },
      tag: { count: latencies.tag.length, latencyMs: summarize(latencies.tag), statuses: statuses.tag },
    },
    all: summarize([...latencies.list, ...latencies.detail, ...latencies.tag]),
  };
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { exitWithParent } = await import('./child.ts');
  exitWithParent(() => undefined);
  await childMain(process.argv[2]!);
  process.exit(0);
}
