import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { AppContext } from '../context.ts';
import { currentSession, requirePermission } from '../http/guard.ts';
import {
  createContactWay, createContactWaySchema, deleteContactWay, downloadQr, getContactWay, listContactWays, STATE_PATTERN,
  updateContactWay, updateContactWaySchema,
} from '../services/contact-ways.service.ts';

export const configIdParam = z.string().min(1).max(128);

export const listQuery = z.object({
  after: z.string().min(1).max(128).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  state: z.string().regex(STATE_PATTERN, 'state must be 1 to 30 characters: letters, digits, _ and -').optional(),
}).strict();

/** 「联系我」 contact ways and their auto-tagging rules, for admins (contact-ways.service.ts). */
export function adminContactWaysRouter(ctx: AppContext): Router {
  const router = Router();
  const admin = requirePermission(ctx, 'admin');

  router.get('/api/admin/contact-ways', admin, async (req: Request, res: Response) => {
    res.json(await listContactWays(ctx.db, listQuery.parse(req.query)));
  });

  router.post('/api/admin/contact-ways', admin, async (req: Request, res: Response) => {
    const input = createContactWaySchema.parse(req.body);
    res.status(201).json(await createContactWay(ctx, currentSession(res).userid, input));
  });

  router.get('/api/admin/contact-ways/:configId', admin, async (req: Request, res: Response) => {
    res.json(await getContactWay(ctx, configIdParam.parse(req.params.configId)));
  });

  router.put('/api/admin/contact-ways/:configId', admin, async (req: Request, res: Response) => {
    const configId = configIdParam.parse(req.params.configId);
    const input = updateContactWaySchema.parse(req.body);
    res.json(await updateContactWay(ctx, currentSession(res).userid, configId, input));
  });

  router.delete('/api/admin/contact-ways/:configId', admin, async (req: Request, res: Response) => {
    const configId = configIdParam.parse(req.params.configId);
    await deleteContactWay(ctx, currentSession(res).userid, configId);
    res.json({ configId, deleted: true });
  });

  router.get('/api/admin/contact-ways/:configId/qr', admin, async (req: Request, res: Response) => {
    const qr = await downloadQr(ctx, configIdParam.parse(req.params.configId));
    res.type(qr.contentType).attachment(qr.filename).set('cache-control', 'private, max-age=300').send(qr.body);
  });

  return router;
}
