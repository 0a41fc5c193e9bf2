import type { Job } from 'bullmq';
import { and, asc, eq, lt, sql } from 'drizzle-orm';
import type { Database } from '../server/db/database.ts';
import { inboxEvents, oauthStates, outgoingWrites, sessions } from '../server/db/schema.ts';
import type { Logger } from '../server/logger.ts';
import { sweepPending } from '../server/callback/inbox.ts';
import { generateAuditReport, previousMonth } from '../server/services/audit-reports.service.ts';
import { createBackgroundJob } from '../server/services/background-jobs.service.ts';
import { expireExportFiles } from '../server/services/exports.service.ts';
import { recordExpiredGrants } from '../server/services/grants.service.ts';
import { writeJobId, type Queues } from './queues.ts';

export interface MaintenanceDeps {
  db: Database;
  queues: Queues;
  logger: Logger;
}

/** Dedupe keys must outlive WeCom's retries by far; 90 days is kept (at least 30 are required). */
export const INBOX_RETENTION_DAYS = 90;

/** Inbox rows committed but never queued (Redis was down) are queued again. */
export async function sweepOnce(deps: MaintenanceDeps): Promise<{ events: number; writes: number }> {
  const events = await sweepPending(deps.db, deps.queues, { olderThanSeconds: 10, limit: 1_000 });
  const stuckWrites = await deps.db.select({ id: outgoingWrites.id }).from(outgoingWrites)
    .where(and(eq(outgoingWrites.state, 'queued'), sql`${outgoingWrites.createdAt} < now() - interval '30 seconds'`))
    .orderBy(asc(outgoingWrites.id)).limit(1_000);
  if (stuckWrites.length) await deps.queues.writes.addBulk(stuckWrites.map((w) => ({ name: 'write', data: { writeId: w.id }, opts: { jobId: writeJobId(w.id) } })));
  return { events, writes: stuckWrites.length };
}

export async function pruneOnce(deps: MaintenanceDeps): Promise<void> {
  await deps.db.delete(inboxEvents).where(and(sql`${inboxEvents.status} in ('done', 'ignored')`, lt(inboxEvents.receivedAt, sql`now() - make_interval(days => ${INBOX_RETENTION_DAYS})`)));
  await deps.db.delete(sessions).where(lt(sessions.expiresAt, sql`now()`));
  await deps.db.delete(oauthStates).where(lt(oauthStates.expiresAt, sql`now()`));
}

/** China time: the monthly report runs on the 1st at 02:00 for the month just ended. */
const CORP_TIME_ZONE = 'Asia/Shanghai';

export interface AuditReportJobData { month?: string }

export function maintenanceProcessor(deps: MaintenanceDeps) {
  return async (job: Job): Promise<void> => {
    if (job.name === 'prune') {
      await pruneOnce(deps);
      const files = await expireExportFiles(deps.db);
      if (files.expired) deps.logger.info(files, 'export files deleted after the retention period');
    } else if (job.name === 'grant-expiry') {
      // Access itself ended at expires_at (checked per request); this records it and tells the holder.
      const expired = await recordExpiredGrants(deps.db, { queues: deps.queues });
      if (expired) deps.logger.info({ expired }, 'expired grants recorded and their holders notified');
    } else if (job.name === 'audit-report') {
      const month = (job.data as AuditReportJobData).month ?? previousMonth();
      const report = await generateAuditReport(deps.db, month, null);
      deps.logger.info({ month, entries: report.entries }, 'monthly audit report generated');
    } else if (job.name === 'org-sync') {
      const id = await createBackgroundJob(deps.db, 'org-sync', null);
      await deps.queues.sync.add('org-sync', { backgroundJobId: id, scope: 'org' }, { jobId: id });
    }
  };
}

/**
 * Repeatable maintenance in Redis: pruning (and expired export files) hourly, expired grants every
 * minute, the organization every 6 hours, the audit report monthly. (The sweep is a
 * timer in the worker process instead: it must keep running after Redis lost its data.)
 */
export async function scheduleMaintenance(queues: Queues): Promise<void> {
  await queues.maintenance.upsertJobScheduler('prune', { every: 3_600_000 }, { name: 'prune' });
  await queues.maintenance.upsertJobScheduler('org-sync', { every: 6 * 3_600_000 }, { name: 'org-sync' });
  await queues.maintenance.upsertJobScheduler('grant-expiry', { every: 60_000 }, { name: 'grant-expiry' });
  await queues.maintenance.upsertJobScheduler('audit-report-monthly', { pattern: '0 2 1 * *', tz: CORP_TIME_ZONE }, { name: 'audit-report', data: {} });
}
