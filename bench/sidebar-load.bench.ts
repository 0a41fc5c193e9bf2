// Sidebar API under concurrent reps, on PostgreSQL: BENCH_SIDEBAR_SESSIONS (default 200) reps, each
// signed in through WeCom OAuth (the simulator) with their own session, loop over what the sidebar
// does — list my customers (50%), open one (30%), tag or untag it (20%, through WeCom's mark_tag on the
// wecom-writes queue) — with a think time between actions. The baseline, measured in the same run, is
// one session doing the same alone. While the load runs it samples the product's CPU, event-loop delay,
// PostgreSQL pool waits and the write queue, and names the first bottleneck it finds.
//
//   BENCH_SIDEBAR_SESSIONS   concurrent rep sessions (default 200)
//   BENCH_SIDEBAR_SECONDS    measured seconds (default 30; 5 s of warm-up before)
//   BENCH_SIDEBAR_THINK_MS   mean think time between one rep's actions (default 1000)
//   BENCH_SIDEBAR_CUSTOMERS  customers per rep (default 25)
import { pathToFileURL } from 'node:url';
import { requestFullSync } from '../server/services/full-sync.service.ts';
import { getBackgroundJob } from '../server/services/background-jobs.service.ts';
import type { CompanyFixture } from '../wecom-sim/index.ts';
import { benchCompany, benchCredentials } from './support/company.ts';
import { benchLine, runBenchmarks, type BenchOutcome } from './support/harness.ts';
import type { BenchInfra } from './support/infra.ts';
import { customerCount, poolSampler, productDataDir, startBenchProduct, waitUntil } from './support/product.ts';
import { runSessionLoad, type RepSession, type SessionLoadResult } from './support/session-load.ts';
import { cpuMeter, fmt, loopDelayMeter, ms, round } from './support/stats.ts';

const TARGET_P99_MS = 100;
const REP_DEPARTMENT = 9_001;
const PREFIX = 'wmsidebar';

function sidebarCompany(credentials: ReturnType<typeof benchCredentials>, reps: number, perRep: number): { fixture: CompanyFixture; repIds: string[] } {
  const { fixture } = benchCompany(credentials, 0, '');
  const root = fixture.departments!.find((d) => d.parentid === 0)!;
  const repIds = Array.from({ length: reps }, (_, i) => `benchrep${String(i + 1).padStart(4, '0')}`);
  fixture.departments!.push({ id: REP_DEPARTMENT, name: '压测销售部', parentid: root.id, order: 99 });
  fixture.users.push(...repIds.map((userid, i) => ({ userid, name: `压测导购${i + 1}`, department: [REP_DEPARTMENT], is_leader_in_dept: [0 as const], position: '导购', status: 1 as const })));
  const levels = ['VIP', '普通', '潜在'];
  repIds.forEach((userid, r) => {
    for (let k = 0; k < perRep; k++) {
      const i = r * perRep + k;
      fixture.customers.push({
        external_userid: `${PREFIX}${String(i).padStart(7, '0')}`, name: `侧边栏客户${i}`,
        follow_users: [{ userid, tags: [`客户等级/${levels[i % 3]}`], remark: `客户${i}`, state: 'bench' }],
      } as (typeof fixture.customers)[number]);
    }
  });
  return { fixture, repIds };
}

interface CookieJar { cookies: Map<string, string> }

async function call(jar: CookieJar, url: string, init: RequestInit = {}): Promise<Response> {
  const response = await fetch(url, { ...init, redirect: 'manual', headers: { ...(init.headers as Record<string, string> ?? {}), cookie: [...jar.cookies].map(([k, v]) => `${k}=${v}`).join('; ') } });
  for (const line of response.headers.getSetCookie()) {
    const [pair] = line.split(';');
    const eq = pair!.indexOf('=');
    jar.cookies.set(pair!.slice(0, eq), pair!.slice(eq + 1));
  }
  return response;
}

/** Signs a rep in as the sidebar does inside WeCom: OAuth start → WeCom's code → callback → /api/me. */
async function signIn(infra: BenchInfra, productUrl: string, userid: string): Promise<Omit<RepSession, 'customers'>> {
  const jar: CookieJar = { cookies: new Map() };
  const start = await call(jar, `${productUrl}/api/auth/wecom/start?returnTo=/sidebar/`);
  const state = new URL(start.headers.get('location')!).searchParams.get('state')!;
  const { code } = await infra.simulator.call<{ code: string }>('POST', '/sim/oauth/code', { userid });
  const done = await call(jar, `${productUrl}/api/auth/wecom/callback?code=${code}&state=${state}`);
  if (done.status !== 302) throw new Error(`sign-in of ${userid} failed: ${done.status} ${await done.text()}`);
  const me = (await (await call(jar, `${productUrl}/api/me`)).json()) as { csrfToken: string };
  jar.cookies.delete('wtg_oauth');
  return { cookie: [...jar.cookies].map(([k, v]) => `${k}=${v}`).join('; '), csrfToken: me.csrfToken };
}

function printRun(label: string, r: SessionLoadResult): void {
  console.log(`  ${label}: ${r.sessions} session(s), ${fmt(r.perSecond)} actions/s; all p50 ${ms(r.all.p50)} p99 ${ms(r.all.p99)}`);
  for (const [action, a] of Object.entries(r.actions)) {
    console.log(`    ${action.padEnd(6)} ${String(a.count).padStart(6)}  p50 ${ms(a.latencyMs.p50)}  p90 ${ms(a.latencyMs.p90)}  p99 ${ms(a.latencyMs.p99)}  max ${ms(a.latencyMs.max)}  statuses ${JSON.stringify(a.statuses)}`);
  }
}

export async function sidebarLoadBenchmark(infra: BenchInfra): Promise<BenchOutcome> {
  const sessions = Number(process.env.BENCH_SIDEBAR_SESSIONS ?? 200);
  const seconds = Number(process.env.BENCH_SIDEBAR_SECONDS ?? 30);
  const thinkMs = Number(process.env.BENCH_SIDEBAR_THINK_MS ?? 1_000);
  const perRep = Number(process.env.BENCH_SIDEBAR_CUSTOMERS ?? 25);
  const credentials = benchCredentials();
  const databaseUrl = await infra.postgres.createDatabase('sidebar');
  const product = await startBenchProduct(infra, { role: 'all', dataDir: productDataDir(infra, 'sidebar'), redisPrefix: 'bench-sidebar', credentials, databaseUrl });
  const { fixture, repIds } = sidebarCompany(credentials, sessions, perRep);
  const reset = await infra.simulator.call<{ tagGroups: { group_name: string; tags: { id: string; name: string }[] }[] }>('POST', '/sim/reset', fixture);
  const tagIds = reset.tagGroups.find((g) => g.group_name === '兴趣偏好')?.tags.slice(0, 3).map((t) => t.id) ?? reset.tagGroups[1]!.tags.slice(0, 3).map((t) => t.id);
  const db = product.ctx.db;

  const syncStarted = Date.now();
  const jobId = await requestFullSync(product.ctx, null);
  const synced = await waitUntil(async () => (await getBackgroundJob(db, jobId))?.state === 'completed', 600_000, 500);
  const expected = sessions * perRep;
  if (!synced || (await customerCount(db, PREFIX)) !== expected) throw new Error(`full sync did not bring in ${expected} customers (${(await getBackgroundJob(db, jobId))?.state})`);
  console.log(`company: ${sessions} reps with ${perRep} customers each (${fmt(expected)} + demo customers), synced from the simulator in ${round((Date.now() - syncStarted) / 1000, 1)} s`);

  const repSessions: RepSession[] = [];
  for (const [i, userid] of repIds.entries()) {
    const session = await signIn(infra, product.url, userid);
    repSessions.push({ ...session, customers: Array.from({ length: perRep }, (_, k) => `${PREFIX}${String(i * perRep + k).padStart(7, '0')}`) });
  }
  console.log(`${repSessions.length} rep sessions signed in through WeCom OAuth; think time ${thinkMs} ms mean, ${seconds} s measured`);

  // Baseline: one rep alone, the same actions, the same product.
  const baseline = await runSessionLoad({ url: product.url, sessions: repSessions.slice(0, 1), tagIds, warmupMs: 1_000, durationMs: 10_000, thinkMs: 50, dir: infra.root, cleanup: infra.cleanup });

  const cpu = cpuMeter();
  const loop = loopDelayMeter();
  const pool = poolSampler(db);
  const writeQueue: number[] = [];
  const queueTimer = setInterval(() => { void product.ctx.queues.writes.getWaitingCount().then((n) => writeQueue.push(n), () => undefined); }, 500);
  const loadStarted = Date.now();
  const loaded = await runSessionLoad({ url: product.url, sessions: repSessions, tagIds, warmupMs: 5_000, durationMs: seconds * 1_000, thinkMs, dir: infra.root, cleanup: infra.cleanup });
  clearInterval(queueTimer);
  const cpuShare = round(cpu() / (Date.now() - loadStarted), 2);
  const loopDelay = loop();
  const poolStats = pool();
  const maxWriteQueue = Math.max(0, ...writeQueue);

  // The first bottleneck: the first resource found saturated, in the order a request meets them.
  const readP99 = Math.max(loaded.actions.list.latencyMs.p99, loaded.actions.detail.latencyMs.p99);
  // A saturated CPU shows first; with CPU to spare, requests queueing for database connections mean
  // PostgreSQL (its query time times queries per request) is what limits; the event-loop delay alone
  // also grows with other work on the machine, so it is consulted last.
  const bottleneck = cpuShare >= 0.85
    ? `the product's Node process (CPU ${Math.round(cpuShare * 100)}% of one core, event-loop delay p99 ${ms(loopDelay.p99)}): run more server processes`
    : poolStats && poolStats.waitingP99 > 0
      ? `PostgreSQL: requests queue for one of the pool's ${poolStats.poolSize} connections (waiting p99 ${poolStats.waitingP99}, max ${poolStats.waitingMax}) while the product uses ${Math.round(cpuShare * 100)}% of one core`
      : loopDelay.p99 >= 50
        ? `the product's event loop (delay p99 ${ms(loopDelay.p99)} at ${Math.round(cpuShare * 100)}% of one core: CPU taken by other work on the machine)`
        : loaded.actions.tag.latencyMs.p99 > 2 * readP99
          ? `tagging waits for WeCom: the route answers after mark_tag went through the wecom-writes queue (queue depth max ${maxWriteQueue}); reads p99 ${ms(readP99)}`
          : 'none saturated at this load';
  const failures = Object.values(loaded.actions).reduce((n, a) => n + Object.entries(a.statuses).filter(([s]) => !['200', '202'].includes(s)).reduce((m, [, c]) => m + c, 0), 0);
  const met = loaded.all.p99 < TARGET_P99_MS;

  printRun('baseline (one rep alone)', baseline);
  printRun(`${sessions} reps`, loaded);
  console.log(`  product process CPU ${Math.round(cpuShare * 100)}% of one core; event-loop delay p99 ${ms(loopDelay.p99)}, max ${ms(loopDelay.max)}${poolStats ? `; PostgreSQL pool ${poolStats.poolSize} connections, waiting p99 ${poolStats.waitingP99} max ${poolStats.waitingMax}` : ''}; write queue max ${maxWriteQueue}`);
  console.log(`  first bottleneck: ${bottleneck}`);
  console.log(`  target p99 < ${TARGET_P99_MS} ms: ${met ? 'met' : 'MISSED'}; refused or failed answers: ${failures}`);
  benchLine({
    name: 'sidebar-load', sessions, seconds, thinkMs, customersPerRep: perRep,
    baseline: { name: 'one rep alone', perSecond: baseline.perSecond, all: baseline.all, actions: baseline.actions },
    loaded: { perSecond: loaded.perSecond, all: loaded.all, actions: loaded.actions },
    product: { cpuShareOfOneCore: cpuShare, loopDelayMs: loopDelay, pool: poolStats, maxWriteQueue },
    bottleneck, target: { p99Ms: TARGET_P99_MS, met }, failures,
  });
  await product.stop();
  return {
    name: 'sidebar-load',
    // Integrity here means every action was answered as the API promises (no 4xx/5xx under load).
    ok: failures === 0,
    summary: [`${sessions} reps: ${fmt(loaded.perSecond)} actions/s, p99 list ${ms(loaded.actions.list.latencyMs.p99)}, detail ${ms(loaded.actions.detail.latencyMs.p99)}, tag ${ms(loaded.actions.tag.latencyMs.p99)} (target < ${TARGET_P99_MS} ms: ${met ? 'met' : 'MISSED'}); alone p99 ${ms(baseline.all.p99)}; first bottleneck: ${bottleneck}`],
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exit(await runBenchmarks([['sidebar load', sidebarLoadBenchmark]]));
}
