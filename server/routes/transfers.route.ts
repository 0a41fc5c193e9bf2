import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { AppContext } from '../context.ts';
import { currentSession, requirePermission } from '../http/guard.ts';
import { MANUAL_TRANSFER_MAX, readTransfer, refreshTransfer, requestTransfers } from '../services/transfers.service.ts';
import { externalUserIdSchema } from './customers.route.ts';

export const userid = z.string().min(1).max(64);
export const transferBody = z.object({ externalUserIds: z.array(externalUserIdSchema).min(1).max(MANUAL_TRANSFER_MAX), takeover: userid, handover: userid.optional() }).strict();
export const transferId = z.string().min(1).max(128);

/** WeCom relationship transfers (in service and resigned), their per-customer states and a refresh. */
export function transfersRouter(ctx: AppContext): Router {
  const router = Router();
  router.post('/api/transfers', requirePermission(ctx, 'member'), async (req: Request, res: Response) => {
    const body = transferBody.parse(req.body);
    res.status(202).json(await requestTransfers(ctx, currentSession(res).userid, body));
  });
  router.get('/api/transfers/:id', requirePermission(ctx, 'member'), async (req: Request, res: Response) => {
    res.json(await readTransfer(ctx, currentSession(res).userid, transferId.parse(req.params.id)));
  });
  router.post('/api/transfers/:id/refresh', requirePermission(ctx, 'member'), async (req: Request, res: Response) => {
    res.json(await refreshTransfer(ctx, currentSession(res).userid, transferId.parse(req.params.id)));
  });
  return router;
}
