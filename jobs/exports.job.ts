import type { Job } from 'bullmq';
import type { Database } from '../server/db/database.ts';
import type { Logger } from '../server/logger.ts';
import { markExportFailed, runExport } from '../server/services/exports.service.ts';
import type { PolicyCache } from '../server/services/tag-policy.service.ts';
import type { ExportJobData } from './queues.ts';

export interface ExportJobDeps {
  db: Database;
  policy: PolicyCache;
  logger: Logger;
  adminUserIds: string[];
  dataDir: string;
}

/** The `customer-exports` queue: one export per job, permissions re-checked when it runs. */
export function exportProcessor(deps: ExportJobDeps) {
  return async (job: Job<ExportJobData>): Promise<void> => {
    try {
      await runExport(deps, job.data.exportId);
    } catch (error) {
      if (job.attemptsMade + 1 >= (job.opts.attempts ?? 1)) {
        await markExportFailed(deps.db, job.data.exportId, error instanceof Error ? error.message : String(error)).catch(() => undefined);
      }
      throw error;
    }
  };
}
