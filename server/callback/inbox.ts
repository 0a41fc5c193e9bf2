import { and, asc, eq, sql } from 'drizzle-orm';
import type { Database } from '../db/database.ts';
import { inboxEvents, type InboxStatus } from '../db/schema.ts';
import type { Logger } from '../logger.ts';
import { eventJobId, type Queues } from '../../jobs/queues.ts';
import { dedupeKeyOf, type ParsedEvent } from '../wecom/callback-events.ts';

export interface CommitResult {
  id: number;
  duplicate: boolean;
  /** The stored row's status (for a duplicate: how far the first delivery got). */
  status: InboxStatus;
}

/**
 * Commits a callback event under its dedupe key. A repeated delivery finds the existing row and only
 * counts itself; nothing else happens, so an event is processed once however often WeCom sends it.
 */
export async function commitEvent(db: Database, parsed: ParsedEvent, fields: Record<string, string>): Promise<CommitResult> {
  const dedupeKey = dedupeKeyOf(fields);
  const inserted = await db.insert(inboxEvents).values({
    dedupeKey,
    event: fields.Event ?? 'unknown',
    changeType: fields.ChangeType ?? null,
    payload: fields,
    status: parsed.kind === 'unhandled' ? 'ignored' : 'pending',
  }).onConflictDoNothing({ target: inboxEvents.dedupeKey }).returning({ id: inboxEvents.id, status: inboxEvents.status });
  if (inserted[0]) return { ...inserted[0], duplicate: false };
  const existing = await db.update(inboxEvents)
    .set({ duplicateDeliveries: sql`${inboxEvents.duplicateDeliveries} + 1` })
    .where(eq(inboxEvents.dedupeKey, dedupeKey))
    .returning({ id: inboxEvents.id, status: inboxEvents.status });
  return { id: existing[0]?.id ?? 0, status: existing[0]?.status ?? 'pending', duplicate: true };
}

/**
 * WeCom's edit event carries no more than who and whom, so two edits of one relation in the same
 * second look exactly like a retry. When such a "duplicate" arrives after the first was processed,
 * the customer is re-read from WeCom once more (a re-sync converges; it applies nothing twice), so a
 * second edit is never lost. One pending re-sync per event at most.
 */
export async function enqueueResync(queues: Queues, inboxId: number, logger: Logger): Promise<void> {
  await queues.events.add('resync', { inboxId, resync: true }, { jobId: `resync-${inboxId}` })
    .catch((error: unknown) => logger.warn({ inboxId, err: error }, 'could not enqueue a customer re-sync'));
}

/** Puts the row's job in the queue; a failure is left to the sweeper (the row is already durable). */
export async function enqueueEvent(queues: Queues, inboxId: number, logger: Logger): Promise<boolean> {
  try {
    await queues.events.add('event', { inboxId }, { jobId: eventJobId(inboxId) });
    return true;
  } catch (error) {
    logger.warn({ inboxId, err: error }, 'could not enqueue callback event; the sweeper will retry');
    return false;
  }
}

/**
 * Re-enqueues pending rows old enough that their job should have run. Adding an existing job id is a
 * no-op in BullMQ, and the processor skips rows that are no longer pending, so sweeping twice is safe.
 */
export async function sweepPending(db: Database, queues: Queues, options: { olderThanSeconds: number; limit: number }): Promise<number> {
  const rows = await db.select({ id: inboxEvents.id }).from(inboxEvents)
    .where(and(eq(inboxEvents.status, 'pending'), sql`${inboxEvents.receivedAt} < now() - make_interval(secs => ${options.olderThanSeconds})`))
    .orderBy(asc(inboxEvents.id))
    .limit(options.limit);
  if (rows.length === 0) return 0;
  await queues.events.addBulk(rows.map((row) => ({ name: 'event', data: { inboxId: row.id }, opts: { jobId: eventJobId(row.id) } })));
  return rows.length;
}
