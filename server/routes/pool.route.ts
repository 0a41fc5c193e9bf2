import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { AppContext } from '../context.ts';
import { currentSession, requirePermission } from '../http/guard.ts';
import { claimFromPool, listPool, releaseCustomer, requestPoolRelease } from '../services/public-pool.service.ts';
import { externalUserIdSchema } from './customers.route.ts';

export const poolQuery = z.object({
  after: externalUserIdSchema.optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  department: z.coerce.number().int().positive().optional(),
}).strict();
export const releaseBody = z.object({ reason: z.string().max(500).optional() }).strict();

/** The public pool: the pools a member sees, atomic claims, releases, and the release job on demand. */
export function poolRouter(ctx: AppContext): Router {
  const router = Router();
  router.get('/api/pool', requirePermission(ctx, 'member'), async (req: Request, res: Response) => {
    res.json(await listPool(ctx, currentSession(res).userid, poolQuery.parse(req.query)));
  });
  router.post('/api/pool/:externalUserId/claim', requirePermission(ctx, 'member'), async (req: Request, res: Response) => {
    res.json(await claimFromPool(ctx, currentSession(res).userid, externalUserIdSchema.parse(req.params.externalUserId)));
  });
  router.post('/api/customers/:externalUserId/release', requirePermission(ctx, 'member'), async (req: Request, res: Response) => {
    const body = releaseBody.parse(req.body ?? {});
    res.json(await releaseCustomer(ctx, currentSession(res).userid, externalUserIdSchema.parse(req.params.externalUserId), body.reason));
  });
  router.post('/api/admin/pool/release', requirePermission(ctx, 'admin'), async (_req: Request, res: Response) => {
    res.status(202).json({ jobId: await requestPoolRelease(ctx, currentSession(res).userid) });
  });
  return router;
}
