import type { AppContext } from '../context.ts';
import { createBackgroundJob } from './background-jobs.service.ts';

/** Queues a full sync (organization, tag library, rule groups, every customer) and returns its id. */
export async function requestFullSync(ctx: Pick<AppContext, 'db' | 'queues'>, requestedBy: string | null): Promise<string> {
  const id = await createBackgroundJob(ctx.db, 'full-sync', requestedBy);
  await ctx.queues.sync.add('full-sync', { backgroundJobId: id, scope: 'full' }, { jobId: id });
  return id;
}
