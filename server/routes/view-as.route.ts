import { Router, type Request, type Response } from 'express';
import { and, eq } from 'drizzle-orm';
import { z } from 'zod';
import type { AppContext } from '../context.ts';
import { members, sessions } from '../db/schema.ts';
import { DomainError } from '../http/domain-error.ts';
import { currentSession, requirePermission } from '../http/guard.ts';
import { audit } from '../services/audit.service.ts';
import { MEMBER_ACTIVE } from '../services/org-sync.service.ts';

export const viewAsBody = z.object({ userid: z.string().min(1).max(64) }).strict();

/**
 * View-as: an admin opens the sidebar as another member, read-only, to check isolation the way
 * companies do it today (two accounts side by side) without borrowing phones. Audited.
 */
export function viewAsRouter(ctx: AppContext): Router {
  const router = Router();

  router.post('/api/admin/view-as', requirePermission(ctx, 'admin', { endsViewAs: true }), async (req: Request, res: Response) => {
    const { userid } = viewAsBody.parse(req.body);
    const session = currentSession(res);
    const [member] = await ctx.db.select({ status: members.status, name: members.name }).from(members).where(eq(members.userid, userid));
    if (!member || member.status !== MEMBER_ACTIVE) throw new DomainError('NOT_FOUND', `no active member ${userid}`);
    await ctx.db.transaction(async (tx) => {
      await tx.update(sessions).set({ viewAsUserid: userid }).where(eq(sessions.idHash, session.idHash));
      await audit(tx, { actor: session.actualUserid, action: 'view_as.started', subjectType: 'member', subjectId: userid, outcome: 'allowed' });
    });
    res.json({ viewAs: { userid, name: member.name } });
  });

  router.delete('/api/admin/view-as', requirePermission(ctx, 'admin', { endsViewAs: true }), async (_req: Request, res: Response) => {
    const session = currentSession(res);
    await ctx.db.transaction(async (tx) => {
      const ended = await tx.update(sessions).set({ viewAsUserid: null }).where(and(eq(sessions.idHash, session.idHash))).returning({ viewAs: sessions.viewAsUserid });
      if (ended.length) await audit(tx, { actor: session.actualUserid, action: 'view_as.ended', subjectType: 'member', subjectId: session.actualUserid, outcome: 'done' });
    });
    res.json({ viewAs: null });
  });

  return router;
}
