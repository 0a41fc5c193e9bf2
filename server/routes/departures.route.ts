import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { AppContext } from '../context.ts';
import { currentSession, requirePermission } from '../http/guard.ts';
import { departureCustomers, listDepartures, reassignDeparted, unassignedInWecom } from '../services/departure.service.ts';
import { externalUserIdSchema } from './customers.route.ts';

export const userid = z.string().min(1).max(64);
export const pageQuery = z.object({ after: externalUserIdSchema.optional(), limit: z.coerce.number().int().min(1).max(500).default(100) }).strict();
export const reassignBody = z.union([
  z.object({ to: userid, externalUserIds: z.array(externalUserIdSchema).min(1).max(50_000).optional() }).strict(),
  z.object({ toDepartment: z.number().int().positive(), externalUserIds: z.array(externalUserIdSchema).min(1).max(50_000).optional() }).strict(),
]);

/**
 * Departures, for admins and managers (members whose roles give `assign`): the service limits every
 * list and change to customers inside the caller's assign scope. WeCom's own unassigned list is for
 * admins only.
 */
export function departuresRouter(ctx: AppContext): Router {
  const router = Router();
  router.get('/api/admin/departures', requirePermission(ctx, 'member'), async (_req: Request, res: Response) => {
    res.json({ items: await listDepartures(ctx, currentSession(res).userid) });
  });
  router.get('/api/admin/departures/:userid/customers', requirePermission(ctx, 'member'), async (req: Request, res: Response) => {
    const page = pageQuery.parse(req.query);
    res.json(await departureCustomers(ctx, currentSession(res).userid, userid.parse(req.params.userid), page));
  });
  router.post('/api/admin/departures/:userid/reassign', requirePermission(ctx, 'member'), async (req: Request, res: Response) => {
    const body = reassignBody.parse(req.body);
    const target = 'to' in body ? { to: body.to } : { toDepartment: body.toDepartment };
    res.json(await reassignDeparted(ctx, currentSession(res).userid, userid.parse(req.params.userid), target, body.externalUserIds));
  });
  router.get('/api/admin/unassigned', requirePermission(ctx, 'admin'), async (_req: Request, res: Response) => {
    res.json({ items: await unassignedInWecom(ctx) });
  });
  return router;
}
