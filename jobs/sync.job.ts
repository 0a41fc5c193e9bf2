import { UnrecoverableError, type Job } from 'bullmq';
import type { Database } from '../server/db/database.ts';
import type { Logger } from '../server/logger.ts';
import { updateBackgroundJob } from '../server/services/background-jobs.service.ts';
import { importCustomers } from '../server/services/customer-import.service.ts';
import { syncOrganization } from '../server/services/org-sync.service.ts';
import { syncCorpTagLibrary, syncStrategies } from '../server/services/tag-library-sync.service.ts';
import type { WecomClient } from '../server/wecom/client.ts';
import { isTransient, isWecomApiError } from '../server/wecom/errors.ts';
import type { SyncJobData } from './queues.ts';

export interface SyncJobDeps {
  db: Database;
  wecom: WecomClient;
  logger: Logger;
}

/**
 * Full sync: organization, corp tag library, rule groups (ranges and tags), then every customer.
 * Progress counts steps: 3 fixed steps plus one per 100-member batch of customers. An org-only sync
 * (the schedule) stops after the organization.
 */
export function syncProcessor(deps: SyncJobDeps) {
  return async (job: Job<SyncJobData>): Promise<void> => {
    const { backgroundJobId, scope } = job.data;
    const { db, wecom, logger } = deps;
    try {
      await updateBackgroundJob(db, backgroundJobId, { state: 'running', error: null });
      const org = await syncOrganization(db, wecom);
      if (scope === 'org') {
        await updateBackgroundJob(db, backgroundJobId, { state: 'completed', done: 1, total: 1 });
        logger.info({ ...org }, 'organization synced');
        return;
      }
      await updateBackgroundJob(db, backgroundJobId, { done: 1, total: 3 });
      const library = await syncCorpTagLibrary(db, wecom);
      const rules = await syncStrategies(db, wecom);
      await updateBackgroundJob(db, backgroundJobId, { done: 3, total: 3 });
      const imported = await importCustomers(db, wecom, (done, total) => updateBackgroundJob(db, backgroundJobId, { done: 3 + done, total: 3 + total }));
      await updateBackgroundJob(db, backgroundJobId, { state: 'completed' });
      logger.info({ ...org, ...library, ...rules, ...imported }, 'full sync completed');
    } catch (error) {
      const message = isWecomApiError(error) ? `WeCom ${error.path} errcode ${error.errcode}: ${error.message}` : (error as Error).message;
      const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      const permanent = isWecomApiError(error) && !isTransient(error);
      await updateBackgroundJob(db, backgroundJobId, permanent || lastAttempt ? { state: 'failed', error: message } : { state: 'queued', error: message });
      logger.warn({ backgroundJobId, reason: message }, 'sync failed');
      throw permanent ? new UnrecoverableError(message) : error;
    }
  };
}
