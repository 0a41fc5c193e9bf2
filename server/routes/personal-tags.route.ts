import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { AppContext } from '../context.ts';
import { currentSession, requirePermission } from '../http/guard.ts';
import { createPersonalTag, deletePersonalTag, listPersonalTags, updatePersonalTag } from '../services/personal-tags.service.ts';

export const id = z.string().min(1).max(128);
export const createBody = z.object({ name: z.string(), groupName: z.string().nullable().optional() }).strict();
export const updateBody = z.object({ name: z.string().optional(), groupName: z.string().nullable().optional() }).strict()
  .refine((b) => Object.keys(b).length > 0, 'nothing to change: send name or groupName');

/** A member's own personal tags. Nobody else sees them, admins included: another's id is a 404. */
export function personalTagsRouter(ctx: AppContext): Router {
  const router = Router();
  const member = requirePermission(ctx, 'member');
  const me = (res: Response) => currentSession(res).userid;

  router.get('/api/personal-tags', member, async (_req: Request, res: Response) => {
    // An admin viewing the app as the member gets none: personal tags are private, admins included.
    res.json({ tags: currentSession(res).viewAs ? [] : await listPersonalTags(ctx.db, me(res)) });
  });
  router.post('/api/personal-tags', member, async (req: Request, res: Response) => {
    res.status(201).json(await createPersonalTag(ctx.db, me(res), createBody.parse(req.body)));
  });
  router.patch('/api/personal-tags/:id', member, async (req: Request, res: Response) => {
    res.json(await updatePersonalTag(ctx.db, me(res), id.parse(req.params.id), updateBody.parse(req.body)));
  });
  router.delete('/api/personal-tags/:id', member, async (req: Request, res: Response) => {
    res.json(await deletePersonalTag(ctx.db, me(res), id.parse(req.params.id)));
  });

  return router;
}
