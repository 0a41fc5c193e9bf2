import { Router, type Request, type Response } from 'express';
import type { AppContext } from '../context.ts';
import { DomainError } from '../http/domain-error.ts';
import { currentSession, requirePermission } from '../http/guard.ts';
import { memberProfile } from '../services/members.service.ts';

export function meRouter(ctx: AppContext): Router {
  const router = Router();
  router.get('/api/me', requirePermission(ctx, 'member'), async (_req: Request, res: Response) => {
    const session = currentSession(res);
    const profile = await memberProfile(ctx.db, session.userid, ctx.config.adminUserIds);
    if (!profile) throw new DomainError('UNAUTHENTICATED', 'this member is unknown: log in again');
    res.json({ ...profile, csrfToken: session.csrfToken, viewAs: session.viewAs ? { by: session.actualUserid, readOnly: true } : null });
  });
  return router;
}
