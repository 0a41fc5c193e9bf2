import type { Job } from 'bullmq';
import type { Database } from '../server/db/database.ts';
import type { Logger } from '../server/logger.ts';
import { updateBackgroundJob } from '../server/services/background-jobs.service.ts';
import { pollTransferResults, runTransferJob } from '../server/services/transfers.service.ts';
import type { WecomClient } from '../server/wecom/client.ts';
import type { Queues, TransferJobData } from './queues.ts';

export interface TransferJobDeps {
  db: Database;
  wecom: WecomClient;
  queues: Queues;
  logger: Logger;
  adminUserIds: string[];
}

/** WeCom's takeover takes 24 h; asking every 10 minutes is plenty (transfer_fail callbacks come sooner). */
export const TRANSFER_POLL_EVERY_MS = 10 * 60_000;

/**
 * The `wecom-transfers` queue. `send`: a request's batches go to WeCom (≤ 100 customers per call,
 * through the write queue) and their per-customer answers are recorded. `poll` (repeatable): every
 * accepted, unfinished transfer is asked about with transfer_result / resigned/transfer_result.
 */
export function transferProcessor(deps: TransferJobDeps) {
  return async (job: Job<TransferJobData>): Promise<void> => {
    if (job.name === 'poll') {
      const outcome = await pollTransferResults(deps);
      if (outcome.updated) deps.logger.info({ pairs: outcome.pairs, updated: outcome.updated }, 'transfer results updated');
      // The next run asks again; a failed pair is only reported.
      for (const failure of outcome.failed) deps.logger.warn(failure, 'transfer_result failed for a handover/takeover pair');
      return;
    }
    const { backgroundJobId } = job.data;
    if (!backgroundJobId) return;
    try {
      await runTransferJob(deps, backgroundJobId);
    } catch (error) {
      const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      const message = error instanceof Error ? error.message.slice(0, 500) : String(error);
      // The items keep their states; the repeatable poll answers whatever is still open.
      await updateBackgroundJob(deps.db, backgroundJobId, lastAttempt ? { state: 'failed', error: message } : { error: `retrying: ${message}` }).catch(() => undefined);
      throw error;
    }
  };
}

export async function scheduleTransferPolling(queues: Queues): Promise<void> {
  await queues.transfers.upsertJobScheduler('transfer-poll', { every: TRANSFER_POLL_EVERY_MS }, { name: 'poll', data: {} });
}
