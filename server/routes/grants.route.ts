import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { AppContext } from '../context.ts';
import { currentSession, requirePermission } from '../http/guard.ts';
import { CUSTOMER_ACTIONS } from '../policy/customer-scope.ts';
import { decideGrant, grantsOf, grantView, listGrantsForAdmin, requestGrant, reviewGrant, revokeGrant } from '../services/grants.service.ts';
import { externalUserIdSchema } from './customers.route.ts';

export const grantBody = z.object({
  actions: z.array(z.enum(CUSTOMER_ACTIONS)).min(1).max(CUSTOMER_ACTIONS.length),
  customerIds: z.array(externalUserIdSchema).min(1).max(500).optional(),
  departmentId: z.number().int().positive().optional(),
  durationSeconds: z.number().int().min(60),
  reason: z.string().trim().min(1).max(500),
  emergency: z.boolean().default(false),
}).strict().refine((b) => (b.customerIds === undefined) !== (b.departmentId === undefined), { message: 'give either customerIds or departmentId' });

export const grantId = z.uuid();
export const reviewQuery = z.object({ review: z.enum(['0', '1']).optional() }).strict();
export const reviewBody = z.object({ note: z.string().trim().min(1).max(500).optional() }).strict();

/** Time-limited grants: request, decide, revoke; admins review emergency grants. */
export function grantsRouter(ctx: AppContext): Router {
  const router = Router();
  const member = requirePermission(ctx, 'member');
  const admin = requirePermission(ctx, 'admin');

  router.get('/api/grants', member, async (_req: Request, res: Response) => {
    const { mine, toDecide } = await grantsOf(ctx, currentSession(res).userid);
    res.json({ mine: mine.map((g) => grantView(g)), toDecide: toDecide.map((g) => grantView(g)) });
  });

  router.post('/api/grants', member, async (req: Request, res: Response) => {
    const body = grantBody.parse(req.body);
    res.status(201).json(grantView(await requestGrant(ctx, currentSession(res).userid, body)));
  });

  router.post('/api/grants/:id/approve', member, async (req: Request, res: Response) => {
    res.json(grantView(await decideGrant(ctx, currentSession(res).userid, grantId.parse(req.params.id), 'approve')));
  });

  router.post('/api/grants/:id/reject', member, async (req: Request, res: Response) => {
    res.json(grantView(await decideGrant(ctx, currentSession(res).userid, grantId.parse(req.params.id), 'reject')));
  });

  router.post('/api/grants/:id/revoke', member, async (req: Request, res: Response) => {
    res.json(grantView(await revokeGrant(ctx, currentSession(res).userid, grantId.parse(req.params.id))));
  });

  router.get('/api/admin/grants', admin, async (req: Request, res: Response) => {
    const { review } = reviewQuery.parse(req.query);
    res.json({ grants: (await listGrantsForAdmin(ctx, review === '1')).map((g) => grantView(g)) });
  });

  router.post('/api/admin/grants/:id/review', admin, async (req: Request, res: Response) => {
    const { note } = reviewBody.parse(req.body ?? {});
    res.json(grantView(await reviewGrant(ctx, currentSession(res).userid, grantId.parse(req.params.id), note)));
  });

  return router;
}
