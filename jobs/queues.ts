import { Queue, type ConnectionOptions } from 'bullmq';
import { Redis } from 'ioredis';
import { withRequestId } from '../server/observability/request-context.ts';

/** The product's queues. Job data carries ids only, never personal data such as phone numbers. */
export const QUEUE_NAMES = {
  events: 'wecom-events',
  sync: 'wecom-sync',
  writes: 'wecom-writes',
  /** Welcome messages only: a welcome_code lives 20 s, so it never waits behind bulk writes. */
  welcome: 'wecom-welcome',
  maintenance: 'maintenance',
  /** Bulk owner assignment by filter (jobs/assignment.job.ts). */
  assignment: 'customer-assignment',
  /** WeCom relationship transfers: sending batches and polling transfer_result (jobs/transfers.job.ts). */
  transfers: 'wecom-transfers',
  /** The daily release of inactive and ownerless customers to the public pool (jobs/public-pool.job.ts). */
  pool: 'public-pool',
  /** Customer exports to CSV/XLSX (jobs/exports.job.ts). */
  exports: 'customer-exports',
  /** Group-message campaigns: sending (now or delayed to the scheduled time) and polling results (jobs/campaigns.job.ts). */
  campaigns: 'campaigns',
} as const;
export type QueueName = keyof typeof QUEUE_NAMES;

/** `resync`: re-read the event's customer without re-processing the event (see enqueueResync). */
/** `requestId`: the callback request that stored the event (log correlation). */
export interface EventJobData { inboxId: number; resync?: boolean; requestId?: string }
export interface SyncJobData { backgroundJobId: string; scope: 'full' | 'org' }
export interface WriteJobData { writeId: number }
/** Ids and the filter only (tag ids, userids): never personal data. */
export interface AssignmentJobData { backgroundJobId: string; actor: string; owner: string; filter: Record<string, unknown> }
/** `send`: a transfer request's batches; `poll`: every waiting transfer (repeatable). */
export interface TransferJobData { backgroundJobId?: string }
export interface PoolJobData { backgroundJobId?: string; requestedBy?: string | null }
export interface ExportJobData { exportId: string }
/** `send`: one campaign; `poll`: every open campaign (repeatable). */
export interface CampaignJobData { campaignId?: string }

export interface Queues {
  events: Queue<EventJobData>;
  sync: Queue<SyncJobData>;
  writes: Queue<WriteJobData>;
  /** `send_welcome_msg` writes (rows of `outgoing_writes`, processed like `writes`) on their own lane. */
  welcome: Queue<WriteJobData>;
  maintenance: Queue;
  assignment: Queue<AssignmentJobData>;
  transfers: Queue<TransferJobData>;
  pool: Queue<PoolJobData>;
  exports: Queue<ExportJobData>;
  campaigns: Queue<CampaignJobData>;
  /** Producer connection: offline queue disabled so adds fail fast while Redis is down. */
  producer: Redis;
  close(): Promise<void>;
}

export const eventJobId = (inboxId: number): string => `event-${inboxId}`;
export const writeJobId = (writeId: number): string => `write-${writeId}`;

export function redisConnection(url: string, options: { failFast?: boolean } = {}): Redis {
  return new Redis(url, {
    // BullMQ workers need blocking commands to wait indefinitely.
    maxRetriesPerRequest: options.failFast ? 1 : null,
    enableOfflineQueue: !options.failFast,
    retryStrategy: (times) => Math.min(times * 200, 2_000),
    lazyConnect: false,
  });
}

/**
 * Jobs queued while serving a request (or running a job) carry its request id in their data, so the
 * work they lead to logs the same id (server/observability/request-context.ts).
 */
function carryRequestId(queue: Queue): void {
  const add = queue.add.bind(queue);
  const addBulk = queue.addBulk.bind(queue);
  queue.add = ((name, data, opts) => add(name, withRequestId(data), opts)) as typeof queue.add;
  queue.addBulk = ((jobs) => addBulk(jobs.map((job) => ({ ...job, data: withRequestId(job.data) })))) as typeof queue.addBulk;
}

export function createQueues(redisUrl: string, prefix: string): Queues {
  const producer = redisConnection(redisUrl, { failFast: true });
  producer.on('error', () => undefined); // reported by /healthz, not by crashing
  const connection = producer as unknown as ConnectionOptions;
  const defaults = { removeOnComplete: true, removeOnFail: true };
  const events = new Queue<EventJobData>(QUEUE_NAMES.events, { connection, prefix, defaultJobOptions: { ...defaults, attempts: 8, backoff: { type: 'exponential', delay: 1_000 } } });
  const sync = new Queue<SyncJobData>(QUEUE_NAMES.sync, { connection, prefix, defaultJobOptions: { ...defaults, attempts: 3, backoff: { type: 'exponential', delay: 5_000 } } });
  const writes = new Queue<WriteJobData>(QUEUE_NAMES.writes, { connection, prefix, defaultJobOptions: { ...defaults, attempts: 8, backoff: { type: 'exponential', delay: 1_000 } } });
  // A welcome_code expires 20 s after the event: a few quick retries, never minutes of backoff.
  const welcome = new Queue<WriteJobData>(QUEUE_NAMES.welcome, { connection, prefix, defaultJobOptions: { ...defaults, attempts: 4, backoff: { type: 'exponential', delay: 300 } } });
  const maintenance = new Queue(QUEUE_NAMES.maintenance, { connection, prefix, defaultJobOptions: defaults });
  const assignment = new Queue<AssignmentJobData>(QUEUE_NAMES.assignment, { connection, prefix, defaultJobOptions: { ...defaults, attempts: 3, backoff: { type: 'exponential', delay: 5_000 } } });
  // Sending waits for WeCom's answers through the write queue; a retry picks up where it stopped.
  const transfers = new Queue<TransferJobData>(QUEUE_NAMES.transfers, { connection, prefix, defaultJobOptions: { ...defaults, attempts: 6, backoff: { type: 'exponential', delay: 10_000 } } });
  const pool = new Queue<PoolJobData>(QUEUE_NAMES.pool, { connection, prefix, defaultJobOptions: { ...defaults, attempts: 3, backoff: { type: 'exponential', delay: 30_000 } } });
  const exports = new Queue<ExportJobData>(QUEUE_NAMES.exports, { connection, prefix, defaultJobOptions: { ...defaults, attempts: 3, backoff: { type: 'exponential', delay: 5_000 } } });
  const campaigns = new Queue<CampaignJobData>(QUEUE_NAMES.campaigns, { connection, prefix, defaultJobOptions: { ...defaults, attempts: 3, backoff: { type: 'exponential', delay: 5_000 } } });
  const all = [events, sync, writes, welcome, maintenance, assignment, transfers, pool, exports, campaigns];
  for (const queue of all) {
    queue.on('error', () => undefined);
    carryRequestId(queue);
  }
  return {
    events, sync, writes, welcome, maintenance, assignment, transfers, pool, exports, campaigns, producer,
    async close() {
      await Promise.allSettled(all.map((queue) => queue.close()));
      producer.disconnect();
    },
  };
}
