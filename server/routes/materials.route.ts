import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { AppContext } from '../context.ts';
import { currentSession, requirePermission } from '../http/guard.ts';
import { createMaterial, deleteMaterial, listLibrary, listMemberMaterials, materialSchema, recordMaterialSent, updateMaterial } from '../services/materials.service.ts';
import { externalUserIdSchema } from './customers.route.ts';

export const materialId = z.string().min(1).max(128);
export const sentBody = z.object({ externalUserId: externalUserIdSchema }).strict();

/** Materials: the sidebar's list and send log (members), the library (admins and regional managers). */
export function materialsRouter(ctx: AppContext): Router {
  const router = Router();
  const member = requirePermission(ctx, 'member');
  const me = (res: Response) => currentSession(res).userid;
  router.get('/api/materials', member, async (_req: Request, res: Response) => {
    res.json({ items: await listMemberMaterials(ctx, me(res)) });
  });
  router.post('/api/materials/:id/sent', member, async (req: Request, res: Response) => {
    res.json(await recordMaterialSent(ctx, me(res), materialId.parse(req.params.id), sentBody.parse(req.body).externalUserId));
  });
  router.get('/api/material-library', member, async (_req: Request, res: Response) => {
    res.json({ items: await listLibrary(ctx, me(res)) });
  });
  router.post('/api/material-library', member, async (req: Request, res: Response) => {
    res.status(201).json(await createMaterial(ctx, me(res), materialSchema.parse(req.body)));
  });
  router.put('/api/material-library/:id', member, async (req: Request, res: Response) => {
    res.json(await updateMaterial(ctx, me(res), materialId.parse(req.params.id), materialSchema.parse(req.body)));
  });
  router.delete('/api/material-library/:id', member, async (req: Request, res: Response) => {
    res.json(await deleteMaterial(ctx, me(res), materialId.parse(req.params.id)));
  });
  return router;
}
