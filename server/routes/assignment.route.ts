import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { AppContext } from '../context.ts';
import { currentSession, requirePermission } from '../http/guard.ts';
import { assignCustomers, MANUAL_ASSIGN_MAX, requestAssignByFilter } from '../services/assignment.service.ts';
import { customerFilterSchema } from '../services/customer-filter.ts';
import { externalUserIdSchema } from './customers.route.ts';

export const userid = z.string().min(1).max(64);
export const assignBody = z.object({ externalUserIds: z.array(externalUserIdSchema).min(1).max(MANUAL_ASSIGN_MAX), owner: userid }).strict();
export const assignByFilterBody = z.object({ filter: customerFilterSchema, owner: userid }).strict();

/** Owner assignment: by id (all or nothing) and by filter (a job with progress at GET /api/jobs/:id). */
export function assignmentRouter(ctx: AppContext): Router {
  const router = Router();
  router.post('/api/customers/assign', requirePermission(ctx, 'member'), async (req: Request, res: Response) => {
    const body = assignBody.parse(req.body);
    res.json(await assignCustomers(ctx, currentSession(res).userid, body));
  });
  router.post('/api/customers/assign-by-filter', requirePermission(ctx, 'member'), async (req: Request, res: Response) => {
    const body = assignByFilterBody.parse(req.body);
    res.status(202).json(await requestAssignByFilter(ctx, currentSession(res).userid, body));
  });
  return router;
}
