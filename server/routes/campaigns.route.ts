import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { AppContext } from '../context.ts';
import { currentSession, requirePermission } from '../http/guard.ts';
import { audienceSchema, countAudience } from '../services/audience.service.ts';
import {
  cancelCampaign, createCampaign, createCampaignSchema, listCampaigns, previewCampaign, readCampaign, refreshCampaign, sendCampaign, sendCampaignSchema,
} from '../services/campaigns.service.ts';
import { exportTouches, listTouches } from '../services/touch-log.service.ts';

export const campaignId = z.string().min(1).max(128);
export const touchesQuery = z.object({
  after: z.string().min(1).max(128).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  status: z.enum(['pending', 'delivered', 'not_friend', 'over_limit', 'refused', 'failed']).optional(),
}).strict();

/** Audiences (counts per layer), group-message campaigns, their reports and touch logs. */
export function campaignsRouter(ctx: AppContext): Router {
  const router = Router();
  router.post('/api/audiences/count', requirePermission(ctx, 'member'), async (req: Request, res: Response) => {
    res.json(await countAudience(ctx, currentSession(res).userid, audienceSchema.parse(req.body)));
  });
  router.get('/api/campaigns', requirePermission(ctx, 'member'), async (_req: Request, res: Response) => {
    res.json({ items: await listCampaigns(ctx, currentSession(res).userid) });
  });
  router.post('/api/campaigns', requirePermission(ctx, 'member'), async (req: Request, res: Response) => {
    res.status(201).json(await createCampaign(ctx, currentSession(res).userid, createCampaignSchema.parse(req.body)));
  });
  router.get('/api/campaigns/:id', requirePermission(ctx, 'member'), async (req: Request, res: Response) => {
    res.json(await readCampaign(ctx, currentSession(res).userid, campaignId.parse(req.params.id)));
  });
  router.get('/api/campaigns/:id/preview', requirePermission(ctx, 'member'), async (req: Request, res: Response) => {
    res.json(await previewCampaign(ctx, currentSession(res).userid, campaignId.parse(req.params.id)));
  });
  router.post('/api/campaigns/:id/send', requirePermission(ctx, 'member'), async (req: Request, res: Response) => {
    res.status(202).json(await sendCampaign(ctx, currentSession(res).userid, campaignId.parse(req.params.id), sendCampaignSchema.parse(req.body ?? {})));
  });
  router.post('/api/campaigns/:id/cancel', requirePermission(ctx, 'member'), async (req: Request, res: Response) => {
    res.json(await cancelCampaign(ctx, currentSession(res).userid, campaignId.parse(req.params.id)));
  });
  router.post('/api/campaigns/:id/refresh', requirePermission(ctx, 'member'), async (req: Request, res: Response) => {
    res.json(await refreshCampaign(ctx, currentSession(res).userid, campaignId.parse(req.params.id)));
  });
  router.get('/api/campaigns/:id/touches', requirePermission(ctx, 'member'), async (req: Request, res: Response) => {
    res.json(await listTouches(ctx, currentSession(res).userid, campaignId.parse(req.params.id), touchesQuery.parse(req.query)));
  });
  router.get('/api/campaigns/:id/touches.csv', requirePermission(ctx, 'member'), async (req: Request, res: Response) => {
    const file = await exportTouches(ctx, currentSession(res).userid, campaignId.parse(req.params.id));
    res.setHeader('content-type', 'text/csv; charset=utf-8');
    res.setHeader('content-disposition', `attachment; filename="${file.filename}"`);
    res.setHeader('cache-control', 'no-store');
    res.send(file.body);
  });
  return router;
}
