import { sql } from 'drizzle-orm';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Database } from '../db/database.ts';
import { QUEUE_NAMES, type Queues, type QueueName } from '../../jobs/queues.ts';

/** How a callback delivery ended (label `outcome` of `wtg_callbacks_total`). */
export type CallbackOutcome = 'stored' | 'duplicate' | 'unhandled' | 'url_verified' | 'bad_request' | 'unauthorized' | 'too_large' | 'unavailable';

/** What one WeCom HTTP call ended with: its errcode (0 = success), or a failure without one. */
export type WecomCallResult = number | 'network' | 'http_error' | 'invalid_response';

const JOB_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'failed', 'completed'] as const;
/** The share of WeCom calls answered 45009 is measured over this trailing window. */
const FREQUENCY_WINDOW_SECONDS = 60;

/**
 * Counts WeCom calls per second over a trailing window, to expose the current share of 45009
 * (frequency limit) answers as one gauge; Prometheus' `rate()` over the counters gives the same
 * figure over any window.
 */
class TrailingFrequencyLimitRatio {
  private readonly calls = new Array<number>(FREQUENCY_WINDOW_SECONDS).fill(0);
  private readonly limited = new Array<number>(FREQUENCY_WINDOW_SECONDS).fill(0);
  private readonly second = new Array<number>(FREQUENCY_WINDOW_SECONDS).fill(-1);

  record(limited: boolean, nowMs = Date.now()): void {
    const second = Math.floor(nowMs / 1000);
    const slot = second % FREQUENCY_WINDOW_SECONDS;
    if (this.second[slot] !== second) {
      this.second[slot] = second;
      this.calls[slot] = 0;
      this.limited[slot] = 0;
    }
    this.calls[slot]! += 1;
    if (limited) this.limited[slot]! += 1;
  }

  ratio(nowMs = Date.now()): number {
    const oldest = Math.floor(nowMs / 1000) - FREQUENCY_WINDOW_SECONDS + 1;
    let calls = 0;
    let limited = 0;
    for (let slot = 0; slot < FREQUENCY_WINDOW_SECONDS; slot++) {
      if (this.second[slot]! < oldest) continue;
      calls += this.calls[slot]!;
      limited += this.limited[slot]!;
    }
    return calls === 0 ? 0 : limited / calls;
  }
}

/**
 * The product's Prometheus metrics, one registry per running product (tests run several in one
 * process). Counters and histograms are fed where things happen (callback route, job runner, WeCom
 * client); inbox lag and queue depths are read from PostgreSQL and Redis when scraped.
 */
export class ProductMetrics {
  readonly registry = new Registry();
  private readonly callbacks: Counter<'outcome'>;
  private readonly jobDuration: Histogram<'queue' | 'outcome'>;
  private readonly jobFailures: Counter<'queue' | 'final'>;
  private readonly wecomCalls: Counter<'api' | 'errcode'>;
  private readonly wecomDuration: Histogram<'api'>;
  private readonly frequencyLimit = new TrailingFrequencyLimitRatio();

  constructor() {
    const registers = [this.registry];
    // Node's own (process_*, nodejs_*): memory, CPU, event-loop lag, handles.
    collectDefaultMetrics({ register: this.registry });
    this.callbacks = new Counter({ name: 'wtg_callbacks_total', help: 'WeCom callback deliveries by outcome', labelNames: ['outcome'], registers });
    this.jobDuration = new Histogram({
      name: 'wtg_job_duration_seconds', help: 'Job run time per queue and outcome (completed or failed attempt)', labelNames: ['queue', 'outcome'], registers,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    });
    this.jobFailures = new Counter({ name: 'wtg_job_failures_total', help: 'Failed job attempts per queue; final="true" when the job will not be retried', labelNames: ['queue', 'final'], registers });
    this.wecomCalls = new Counter({ name: 'wtg_wecom_calls_total', help: 'WeCom API calls by API and errcode (0 = success; network, http_error, invalid_response = no errcode)', labelNames: ['api', 'errcode'], registers });
    this.wecomDuration = new Histogram({
      name: 'wtg_wecom_call_duration_seconds', help: 'WeCom API call time per API', labelNames: ['api'], registers,
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    });
    const frequencyLimit = this.frequencyLimit;
    new Gauge({
      name: 'wtg_wecom_frequency_limited_ratio', help: `Share of WeCom calls answered 45009 (frequency limit) over the last ${FREQUENCY_WINDOW_SECONDS} s`, registers,
      collect() { this.set(frequencyLimit.ratio()); },
    });
    // Present from the first scrape, so a dashboard shows 0 rather than "no data" for quiet outcomes.
    for (const outcome of ['stored', 'duplicate', 'unhandled', 'bad_request', 'unauthorized', 'unavailable'] as const) this.callbacks.inc({ outcome }, 0);
  }

  callback(outcome: CallbackOutcome): void {
    this.callbacks.inc({ outcome });
  }

  job(queue: string, seconds: number, outcome: 'completed' | 'failed', final = false): void {
    this.jobDuration.observe({ queue, outcome }, seconds);
    if (outcome === 'failed') this.jobFailures.inc({ queue, final: String(final) });
  }

  wecomCall(path: string, result: WecomCallResult, seconds: number): void {
    const api = path.replace(/^\/cgi-bin\//, '');
    this.wecomCalls.inc({ api, errcode: String(result) });
    this.wecomDuration.observe({ api }, seconds);
    this.frequencyLimit.record(result === 45009);
  }

  /** Inbox lag and queue depths, read at scrape time (a part that is down is left out of that scrape). */
  watchState(db: Database, queues: Queues): void {
    const registers = [this.registry];
    const inbox = async () => {
      const result = (await db.execute(sql`select
          (select count(*) from inbox_events where status = 'pending') as pending,
          (select extract(epoch from now() - received_at) from inbox_events where status = 'pending' order by id limit 1) as oldest,
          (select count(*) from inbox_events where status = 'failed') as failed`)) as unknown as { rows: { pending: string | number; oldest: string | number | null; failed: string | number }[] };
      const row = result.rows[0]!;
      return { pending: Number(row.pending), oldestSeconds: row.oldest === null ? 0 : Math.max(0, Number(row.oldest)), failed: Number(row.failed) };
    };
    // One query per scrape feeds the three inbox gauges.
    let reading: Promise<Awaited<ReturnType<typeof inbox>> | undefined> | undefined;
    const readInbox = () => {
      reading ??= inbox().catch(() => undefined).finally(() => setImmediate(() => { reading = undefined; }));
      return reading;
    };
    new Gauge({
      name: 'wtg_inbox_pending_events', help: 'Callback events stored but not processed yet', registers,
      async collect() { const inboxState = await readInbox(); if (inboxState) this.set(inboxState.pending); else this.reset(); },
    });
    new Gauge({
      name: 'wtg_inbox_oldest_pending_age_seconds', help: 'Age of the oldest unprocessed callback event (inbox lag); 0 when none is pending', registers,
      async collect() { const inboxState = await readInbox(); if (inboxState) this.set(inboxState.oldestSeconds); else this.reset(); },
    });
    new Gauge({
      name: 'wtg_inbox_failed_events', help: 'Callback events parked as failed (GET /api/admin/events?status=failed)', registers,
      async collect() { const inboxState = await readInbox(); if (inboxState) this.set(inboxState.failed); else this.reset(); },
    });
    new Gauge({
      name: 'wtg_queue_jobs', help: 'Jobs per queue and state', labelNames: ['queue', 'state'], registers,
      async collect() {
        this.reset();
        await Promise.all((Object.keys(QUEUE_NAMES) as QueueName[]).map(async (key) => {
          const counts = await queues[key].getJobCounts(...JOB_STATES).catch(() => undefined);
          if (!counts) return;
          for (const state of JOB_STATES) this.set({ queue: QUEUE_NAMES[key], state }, counts[state] ?? 0);
        }));
      },
    });
  }
}
