import type { Job } from 'bullmq';
import type { Database } from '../server/db/database.ts';
import type { Logger } from '../server/logger.ts';
import { updateBackgroundJob } from '../server/services/background-jobs.service.ts';
import { releaseInactiveCustomers } from '../server/services/public-pool.service.ts';
import type { PoolJobData } from './queues.ts';

export { schedulePoolRelease } from '../server/services/public-pool.service.ts';

export interface PoolJobDeps {
  db: Database;
  logger: Logger;
}

/** The `public-pool` queue: the daily release (scheduled) and releases an admin starts. */
export function poolProcessor(deps: PoolJobDeps) {
  return async (job: Job<PoolJobData>): Promise<void> => {
    try {
      const outcome = await releaseInactiveCustomers(deps.db, { backgroundJobId: job.data.backgroundJobId, requestedBy: job.data.requestedBy ?? null });
      deps.logger.info(outcome, 'customers released to the public pool');
    } catch (error) {
      const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      if (job.data.backgroundJobId) {
        const message = error instanceof Error ? error.message.slice(0, 500) : String(error);
        await updateBackgroundJob(deps.db, job.data.backgroundJobId, lastAttempt ? { state: 'failed', error: message } : { error: `retrying: ${message}` }).catch(() => undefined);
      }
      throw error;
    }
  };
}
