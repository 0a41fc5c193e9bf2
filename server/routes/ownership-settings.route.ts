import { Router, type Request, type Response } from 'express';
import type { AppContext } from '../context.ts';
import { currentSession, requirePermission } from '../http/guard.ts';
import { ownershipSettingsSchema, readOwnershipSettings, updateOwnershipSettings } from '../services/ownership-settings.service.ts';

/** Any of the settings; the others keep their values. */
export const settingsChange = ownershipSettingsSchema.partial();

/** Admin settings: pool inactivity days, daily claim limit, export approval threshold (changes audited). */
export function ownershipSettingsRouter(ctx: AppContext): Router {
  const router = Router();
  router.get('/api/admin/ownership-settings', requirePermission(ctx, 'admin'), async (_req: Request, res: Response) => {
    res.json(await readOwnershipSettings(ctx.db));
  });
  router.put('/api/admin/ownership-settings', requirePermission(ctx, 'admin'), async (req: Request, res: Response) => {
    const change = settingsChange.parse(req.body);
    res.json(await updateOwnershipSettings(ctx.db, currentSession(res).userid, change));
  });
  return router;
}
