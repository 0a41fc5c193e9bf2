import { Router, type Request, type Response } from 'express';
import { and, desc, eq, lt } from 'drizzle-orm';
import { z } from 'zod';
import type { AppContext } from '../context.ts';
import { inboxEvents } from '../db/schema.ts';
import { DomainError } from '../http/domain-error.ts';
import { requirePermission } from '../http/guard.ts';
import { eventJobId } from '../../jobs/queues.ts';

export const eventId = z.coerce.number().int().positive();
export const listQuery = z.object({
  status: z.enum(['pending', 'done', 'ignored', 'failed']).optional(),
  before: z.coerce.number().int().positive().optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

/** Callback events for admins: list by status (keyset paging on id), and retry a failed one. */
export function adminEventsRouter(ctx: AppContext): Router {
  const router = Router();

  router.get('/api/admin/events', requirePermission(ctx, 'admin'), async (req: Request, res: Response) => {
    const query = listQuery.parse(req.query);
    const rows = await ctx.db.select().from(inboxEvents)
      .where(and(query.status ? eq(inboxEvents.status, query.status) : undefined, query.before ? lt(inboxEvents.id, query.before) : undefined))
      .orderBy(desc(inboxEvents.id)).limit(query.limit);
    res.json({
      events: rows.map((r) => ({
        id: r.id, event: r.event, changeType: r.changeType, status: r.status, receivedAt: r.receivedAt, processedAt: r.processedAt,
        attempts: r.attempts, lastError: r.lastError, duplicateDeliveries: r.duplicateDeliveries,
        userid: r.payload.UserID ?? null, externalUserId: r.payload.ExternalUserID ?? null,
      })),
      nextBefore: rows.length === query.limit ? rows[rows.length - 1]!.id : null,
    });
  });

  router.post('/api/admin/events/:id/retry', requirePermission(ctx, 'admin'), async (req: Request, res: Response) => {
    const id = eventId.parse(req.params.id);
    const [row] = await ctx.db.update(inboxEvents).set({ status: 'pending', lastError: null })
      .where(and(eq(inboxEvents.id, id), eq(inboxEvents.status, 'failed'))).returning({ id: inboxEvents.id });
    if (!row) {
      const [exists] = await ctx.db.select({ status: inboxEvents.status }).from(inboxEvents).where(eq(inboxEvents.id, id));
      if (!exists) throw new DomainError('NOT_FOUND', 'no such event');
      throw new DomainError('CONFLICT', `only failed events can be retried; this one is ${exists.status}`);
    }
    // If Redis is down the row stays pending and the sweeper queues it.
    await ctx.queues.events.add('event', { inboxId: id }, { jobId: eventJobId(id) }).catch(() => undefined);
    res.status(202).json({ id, status: 'pending' });
  });

  return router;
}
