import { Router, type Request, type Response } from 'express';
import type { AppContext } from '../context.ts';
import { currentSession, requirePermission } from '../http/guard.ts';
import { memberTagTree } from '../services/tag-tree.service.ts';

/** `GET /api/tags`: the tags the session member may see, as a tree, with use flags (sidebar, filters). */
export function tagsRouter(ctx: AppContext): Router {
  const router = Router();
  router.get('/api/tags', requirePermission(ctx, 'member'), async (_req: Request, res: Response) => {
    const session = currentSession(res);
    const view = await ctx.policy.view(session.userid);
    const tree = await memberTagTree(ctx.db, await ctx.policy.policy(), view);
    // Personal tags are their owner's alone: an admin viewing the app as the member does not see them.
    res.json(session.viewAs ? { ...tree, personal: [] } : tree);
  });
  return router;
}
