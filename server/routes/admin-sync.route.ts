import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { AppContext } from '../context.ts';
import { DomainError } from '../http/domain-error.ts';
import { currentSession, requirePermission } from '../http/guard.ts';
import { getBackgroundJob } from '../services/background-jobs.service.ts';
import { requestFullSync } from '../services/full-sync.service.ts';
import { isAdmin } from '../services/members.service.ts';

export const jobId = z.string().min(1).max(128);

export function adminSyncRouter(ctx: AppContext): Router {
  const router = Router();

  router.post('/api/admin/sync', requirePermission(ctx, 'admin'), async (_req: Request, res: Response) => {
    const jobId = await requestFullSync(ctx, currentSession(res).userid);
    res.status(202).json({ jobId });
  });

  // A job is visible to admins and to the member who started it; to anyone else it does not exist.
  router.get('/api/jobs/:id', requirePermission(ctx, 'member'), async (req: Request, res: Response) => {
    const id = jobId.parse(req.params.id);
    const session = currentSession(res);
    const job = await getBackgroundJob(ctx.db, id);
    if (!job || (job.requestedBy !== session.userid && !(await isAdmin(ctx.db, session.userid, ctx.config.adminUserIds)))) {
      throw new DomainError('NOT_FOUND', 'no such job');
    }
    res.json({ id: job.id, kind: job.kind, state: job.state, done: job.done, total: job.total, error: job.error, createdAt: job.createdAt, updatedAt: job.updatedAt });
  });

  return router;
}
