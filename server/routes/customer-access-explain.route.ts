import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { AppContext } from '../context.ts';
import { currentSession, requirePermission } from '../http/guard.ts';
import { explainMemberAccess } from '../services/access-explain.service.ts';
import { externalUserIdSchema } from './customers.route.ts';

export const useridSchema = z.string().min(1).max(64);

/** Why each customer action is allowed or denied: for the member themself, and for admins about anyone. */
export function customerAccessExplainRouter(ctx: AppContext): Router {
  const router = Router();
  router.get('/api/customers/:externalUserId/access/explain', requirePermission(ctx, 'member'), async (req: Request, res: Response) => {
    const me = currentSession(res).userid;
    res.json(await explainMemberAccess(ctx, me, me, externalUserIdSchema.parse(req.params.externalUserId), 'self'));
  });
  router.get('/api/admin/members/:userid/customers/:externalUserId/access/explain', requirePermission(ctx, 'admin'), async (req: Request, res: Response) => {
    res.json(await explainMemberAccess(ctx, currentSession(res).userid, useridSchema.parse(req.params.userid), externalUserIdSchema.parse(req.params.externalUserId), 'admin'));
  });
  return router;
}
