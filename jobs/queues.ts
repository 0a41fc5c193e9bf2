import { Queue, type ConnectionOptions } from 'bullmq';
import { Redis } from 'ioredis';

/** The product's queues. Job data carries ids only, never personal data such as phone numbers. */
export const QUEUE_NAMES = {
  events: 'wecom-events',
  sync: 'wecom-sync',
  writes: 'wecom-writes',
  /** Welcome messages only: a welcome_code lives 20 s, so it never waits behind bulk writes. */
  welcome: 'wecom-welcome',
  maintenance: 'maintenance',
} as const;
export type QueueName = keyof typeof QUEUE_NAMES;

/** `resync`: re-read the event's customer without re-processing the event (see enqueueResync). */
export interface EventJobData { inboxId: number; resync?: boolean }
export interface SyncJobData { backgroundJobId: string; scope: 'full' | 'org' }
export interface WriteJobData { writeId: number }

export interface Queues {
  events: Queue<EventJobData>;
  sync: Queue<SyncJobData>;
  writes: Queue<WriteJobData>;
  /** `send_welcome_msg` writes (rows of `outgoing_writes`, processed like `writes`) on their own lane. */
  welcome: Queue<WriteJobData>;
  maintenance: Queue;
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
  for (const queue of [events, sync, writes, welcome, maintenance]) queue.on('error', () => undefined);
  return {
    events, sync, writes, welcome, maintenance, producer,
    async close() {
      await Promise.allSettled([events.close(), sync.close(), writes.close(), welcome.close(), maintenance.close()]);
      producer.disconnect();
    },
  };
}
