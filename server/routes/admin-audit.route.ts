import { Router, type Request, type Response } from 'express';
import { and, desc, eq, gte, inArray, like, lt, lte, sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import type { AppContext } from '../context.ts';
import { auditLog } from '../db/schema.ts';
import { requirePermission } from '../http/guard.ts';
import { verifyAuditChain } from '../services/audit.service.ts';
import { userIdsOfMember } from '../services/member-rename.service.ts';

export const auditQuery = z.object({
  actor: z.string().min(1).max(64).optional(),
  /** A customer's external_userid: entries whose subject is that customer. */
  customer: z.string().min(1).max(128).optional(),
  /** An exact action (`grant.approved`) or a prefix ending in `.*` (`grant.*`). */
  action: z.string().min(1).max(64).regex(/^[\w.]+(\.\*)?$/).optional(),
  outcome: z.enum(['allowed', 'denied', 'done', 'reverted', 'reported', 'failed']).optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  /** The `nextCursor` of the previous page (entries are newest first). */
  cursor: z.coerce.number().int().positive().optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
}).strict();

/** The audit log for admins: filtered, newest first, keyset-paged by id; and the chain check. */
export function adminAuditRouter(ctx: AppContext): Router {
  const router = Router();
  const admin = requirePermission(ctx, 'admin');

  router.get('/api/admin/audit', admin, async (req: Request, res: Response) => {
    const q = auditQuery.parse(req.query);
    const where: SQL[] = [];
    // A member whose userid changed in WeCom is found under every userid they had (entries are never rewritten).
    if (q.actor) where.push(inArray(auditLog.actor, await userIdsOfMember(ctx.db, q.actor)));
    if (q.customer) where.push(and(eq(auditLog.subjectType, 'customer'), eq(auditLog.subjectId, q.customer))!);
    if (q.action) where.push(q.action.endsWith('.*') ? like(auditLog.action, `${q.action.slice(0, -1).replace(/_/g, '\\_')}%`) : eq(auditLog.action, q.action));
    if (q.outcome) where.push(eq(auditLog.outcome, q.outcome));
    if (q.from) where.push(gte(auditLog.at, new Date(q.from)));
    if (q.to) where.push(lte(auditLog.at, new Date(q.to)));
    if (q.cursor) where.push(lt(auditLog.id, q.cursor));
    const rows = await ctx.db.select().from(auditLog).where(where.length ? and(...where) : sql`true`).orderBy(desc(auditLog.id)).limit(q.limit + 1);
    const page = rows.slice(0, q.limit);
    res.json({
      entries: page.map((r) => ({ id: r.id, at: r.at.toISOString(), actor: r.actor, action: r.action, subjectType: r.subjectType, subjectId: r.subjectId, outcome: r.outcome, details: r.details, hash: r.hash })),
      nextCursor: rows.length > q.limit ? page[page.length - 1]!.id : null,
    });
  });

  router.get('/api/admin/audit/verify', admin, async (_req: Request, res: Response) => {
    const firstBroken = await verifyAuditChain(ctx.db);
    const [count] = await ctx.db.select({ n: sql<number>`count(*)::int` }).from(auditLog);
    res.json({ ok: firstBroken === null, firstBrokenId: firstBroken, entries: count?.n ?? 0 });
  });

  return router;
}
