import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Database } from '../server/db/database.ts';
import type { Logger } from '../server/logger.ts';
import type { WecomClient } from '../server/wecom/client.ts';
import type { PolicyCache } from '../server/services/tag-policy.service.ts';
import type { ProductMetrics } from '../server/observability/metrics.ts';
import { requestContext } from '../server/observability/request-context.ts';
import { assignmentProcessor } from './assignment.job.ts';
import { campaignProcessor, scheduleCampaignPolling } from './campaigns.job.ts';
import { eventProcessor } from './events.job.ts';
import { exportProcessor } from './exports.job.ts';
import { maintenanceProcessor, scheduleMaintenance, sweepOnce } from './maintenance.job.ts';
import { poolProcessor, schedulePoolRelease } from './public-pool.job.ts';
import { QUEUE_NAMES, redisConnection, type Queues } from './queues.ts';
import { syncProcessor } from './sync.job.ts';
import { scheduleTransferPolling, transferProcessor } from './transfers.job.ts';
import { writeProcessor } from './wecom-writes.job.ts';

export interface WorkerDeps {
  db: Database;
  policy: PolicyCache;
  wecom: WecomClient;
  queues: Queues;
  redis: Redis;
  redisUrl: string;
  prefix: string;
  logger: Logger;
  metrics: ProductMetrics;
  perApiPerMinute: number;
  /** ADMIN_USERIDS: jobs re-check the requester's authority (loadAccessSubject) when they run. */
  adminUserIds: string[];
  /** DATA_DIR: export files are written under it. */
  dataDir: string;
  eventConcurrency?: number;
  /** How often committed-but-unqueued work is looked for (ms). */
  sweepEveryMs?: number;
}

export interface RunningWorkers {
  /** True while every worker is running (for /healthz). */
  running(): boolean;
  /** Drains: stops taking jobs and waits for the active ones to finish. */
  close(): Promise<void>;
}

/**
 * Runs a processor inside the job's request context (the request id it was queued with, the queue and
 * job id), so its log lines, the jobs it queues and its WeCom calls carry them; and times every attempt.
 */
function traced<D, R>(deps: WorkerDeps, queue: string, processor: (job: Job<D>) => Promise<R>): (job: Job<D>) => Promise<R> {
  return (job) => {
    const requestId = (job.data as { requestId?: unknown } | undefined)?.requestId;
    const context = { ...(typeof requestId === 'string' ? { requestId } : {}), queue, jobId: String(job.id) };
    return requestContext.run(context, async () => {
      const started = process.hrtime.bigint();
      const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
      try {
        const result = await processor(job);
        deps.metrics.job(queue, seconds(), 'completed');
        deps.logger.debug({ ms: Math.round(seconds() * 1e5) / 100 }, 'job completed');
        return result;
      } catch (error) {
        const final = error instanceof UnrecoverableError || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
        deps.metrics.job(queue, seconds(), 'failed', final);
        throw error;
      }
    });
  };
}

export async function startWorkers(deps: WorkerDeps): Promise<RunningWorkers> {
  const { logger } = deps;
  const connection = redisConnection(deps.redisUrl);
  connection.on('error', () => undefined);
  const common = { connection, prefix: deps.prefix, autorun: true } as const;
  const run = <D, R>(queue: string, processor: (job: Job<D>) => Promise<R>) => traced(deps, queue, processor);
  const workers = [
    new Worker(QUEUE_NAMES.events, run(QUEUE_NAMES.events, eventProcessor(deps)), { ...common, concurrency: deps.eventConcurrency ?? 8 }),
    new Worker(QUEUE_NAMES.sync, run(QUEUE_NAMES.sync, syncProcessor(deps)), { ...common, concurrency: 1 }),
    new Worker(QUEUE_NAMES.writes, run(QUEUE_NAMES.writes, writeProcessor({ ...deps, keyPrefix: deps.prefix + ':' })), { ...common, concurrency: 4 }),
    // Same processor, own lane: welcome messages never queue behind bulk writes (20 s welcome_code).
    new Worker(QUEUE_NAMES.welcome, run(QUEUE_NAMES.welcome, writeProcessor({ ...deps, keyPrefix: deps.prefix + ':' })), { ...common, concurrency: 4 }),
    new Worker(QUEUE_NAMES.maintenance, run(QUEUE_NAMES.maintenance, maintenanceProcessor(deps)), { ...common, concurrency: 1 }),
    new Worker(QUEUE_NAMES.assignment, run(QUEUE_NAMES.assignment, assignmentProcessor(deps)), { ...common, concurrency: 1 }),
    new Worker(QUEUE_NAMES.transfers, run(QUEUE_NAMES.transfers, transferProcessor(deps)), { ...common, concurrency: 2 }),
    new Worker(QUEUE_NAMES.pool, run(QUEUE_NAMES.pool, poolProcessor(deps)), { ...common, concurrency: 1 }),
    new Worker(QUEUE_NAMES.exports, run(QUEUE_NAMES.exports, exportProcessor(deps)), { ...common, concurrency: 2 }),
    new Worker(QUEUE_NAMES.campaigns, run(QUEUE_NAMES.campaigns, campaignProcessor(deps)), { ...common, concurrency: 1 }),
  ];
  for (const worker of workers) {
    worker.on('error', (error) => logger.warn({ queue: worker.name, err: error }, 'worker error'));
    worker.on('failed', (job, error) => logger.debug({ queue: worker.name, jobId: job?.id, reason: error.message }, 'job attempt failed'));
  }
  await scheduleMaintenance(deps.queues).catch((error: unknown) => logger.warn({ err: error }, 'could not schedule maintenance jobs; will retry at next start'));
  await scheduleTransferPolling(deps.queues).catch((error: unknown) => logger.warn({ err: error }, 'could not schedule transfer polling; will retry at next start'));
  await scheduleCampaignPolling(deps.queues).catch((error: unknown) => logger.warn({ err: error }, 'could not schedule campaign result polling; will retry at next start'));
  await schedulePoolRelease(deps.queues).catch((error: unknown) => logger.warn({ err: error }, 'could not schedule the daily pool release; will retry at next start'));

  let sweeping = false;
  const sweepTimer = setInterval(() => {
    if (sweeping) return;
    sweeping = true;
    sweepOnce(deps)
      .then((swept) => { if (swept.events || swept.writes) logger.info(swept, 're-enqueued work that never reached the queue'); })
      .catch(() => undefined) // Redis or the database is down: the next tick tries again.
      .finally(() => { sweeping = false; });
  }, deps.sweepEveryMs ?? 5_000);
  sweepTimer.unref();

  return {
    running: () => workers.every((w) => w.isRunning()),
    async close() {
      clearInterval(sweepTimer);
      await Promise.allSettled(workers.map((w) => w.close()));
      connection.disconnect();
    },
  };
}
