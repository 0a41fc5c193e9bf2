import { UnrecoverableError, type Job } from 'bullmq';
import type { Database } from '../server/db/database.ts';
import type { Logger } from '../server/logger.ts';
import { runAssignByFilter } from '../server/services/assignment.service.ts';
import { updateBackgroundJob } from '../server/services/background-jobs.service.ts';
import { customerFilterSchema } from '../server/services/customer-filter.ts';
import type { PolicyCache } from '../server/services/tag-policy.service.ts';
import type { AssignmentJobData } from './queues.ts';

export interface AssignmentJobDeps {
  db: Database;
  policy: PolicyCache;
  logger: Logger;
  adminUserIds: string[];
}

/**
 * The `customer-assignment` queue: bulk assignment by filter. The job re-checks the requester's
 * authority before touching anything; a retry starts over (assigned customers are not changed twice).
 */
export function assignmentProcessor(deps: AssignmentJobDeps) {
  return async (job: Job<AssignmentJobData>): Promise<void> => {
    const filter = customerFilterSchema.safeParse(job.data.filter);
    if (!filter.success) {
      await updateBackgroundJob(deps.db, job.data.backgroundJobId, { state: 'failed', error: 'the stored filter is not valid' });
      throw new UnrecoverableError('invalid filter in job data');
    }
    try {
      const outcome = await runAssignByFilter(deps, { ...job.data, filter: filter.data });
      if ('refused' in outcome) deps.logger.info({ jobId: job.data.backgroundJobId, reason: outcome.refused }, 'bulk assignment refused when it ran');
    } catch (error) {
      const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      const message = error instanceof Error ? error.message.slice(0, 500) : String(error);
      await updateBackgroundJob(deps.db, job.data.backgroundJobId, lastAttempt ? { state: 'failed', error: message } : { error: `retrying: ${message}` }).catch(() => undefined);
      throw error;
    }
  };
}
