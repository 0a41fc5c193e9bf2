import { and, asc, eq, sql } from 'drizzle-orm';
import type { Database } from '../db/database.ts';
import { inboxEvents, type InboxStatus } from '../db/schema.ts';
import type { Logger } from '../logger.ts';
import { eventJobId, type Queues } from '../../jobs/queues.ts';
import { dedupeKeyOf, type ParsedEvent } from '../wecom/callback-events.ts';
import { requestContext } from '../observability/request-context.ts';

export interface CommitResult {
  id: number;
  duplicate: boolean;
  /** The stored row's status (for a duplicate: how far the first delivery got). */
  status: InboxStatus;
}

interface PendingCommit {
  row: typeof inboxEvents.$inferInsert;
  /** The callback request's id, carried into the event's job. */
  requestId: string | undefined;
  resolve(result: CommitResult): void;
  reject(error: unknown): void;
}

/**
 * Commits callback events under their dedupe keys, in groups: the events that arrive while one
 * commit is being prepared go to the database in one multi-row INSERT (group commit), so a burst
 * costs a few round trips instead of one per event and never queues behind a busy connection pool.
 * A repeated delivery finds the existing row and only counts itself, so an event is processed once
 * however often WeCom sends it. Each caller learns its own outcome only after the commit.
 */
export class InboxWriter {
  private pending: PendingCommit[] = [];
  private scheduled = false;

  constructor(private readonly db: Database, private readonly queues: Queues, private readonly logger: Logger, private readonly maxBatch = 200) {}

  commit(parsed: ParsedEvent, fields: Record<string, string>, requestId?: string): Promise<CommitResult> {
    return new Promise((resolve, reject) => {
      this.pending.push({
        requestId,
        row: { dedupeKey: dedupeKeyOf(fields), event: fields.Event ?? 'unknown', changeType: fields.ChangeType ?? null, payload: fields, status: parsed.kind === 'unhandled' ? 'ignored' : 'pending' },
        resolve,
        reject,
      });
      // A batch serves many requests: it runs outside any one request's context (each job gets its own id).
      if (this.pending.length >= this.maxBatch) requestContext.exit(() => void this.flush());
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => requestContext.exit(() => void this.flush()));
      }
    });
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    const batch = this.pending.splice(0);
    if (batch.length === 0) return;
    try {
      const firstOfKey = new Map<string, PendingCommit>();
      for (const item of batch) if (!firstOfKey.has(item.row.dedupeKey)) firstOfKey.set(item.row.dedupeKey, item);
      const inserted = await this.db.insert(inboxEvents).values([...firstOfKey.values()].map((item) => item.row))
        .onConflictDoNothing({ target: inboxEvents.dedupeKey })
        .returning({ id: inboxEvents.id, status: inboxEvents.status, dedupeKey: inboxEvents.dedupeKey });
      const fresh = new Map(inserted.map((row) => [row.dedupeKey, row]));
      // Every other delivery in the batch is a duplicate: of a row stored earlier, or of one just inserted.
      const repeats = new Map<string, number>();
      for (const item of batch) {
        if (fresh.has(item.row.dedupeKey) && firstOfKey.get(item.row.dedupeKey) === item) continue;
        repeats.set(item.row.dedupeKey, (repeats.get(item.row.dedupeKey) ?? 0) + 1);
      }
      const existing = new Map<string, { id: number; status: InboxStatus }>();
      if (repeats.size) {
        const counted = [...repeats].map(([key, n]) => sql`(${key}, ${n}::int)`);
        const result = (await this.db.execute(sql`update inbox_events e set duplicate_deliveries = e.duplicate_deliveries + v.n
          from (values ${sql.join(counted, sql`, `)}) as v(k, n) where e.dedupe_key = v.k
          returning e.id, e.status, e.dedupe_key`)) as unknown as { rows: { id: number | string; status: InboxStatus; dedupe_key: string }[] };
        for (const row of result.rows) existing.set(row.dedupe_key, { id: Number(row.id), status: row.status });
      }
      for (const item of batch) {
        const own = fresh.get(item.row.dedupeKey);
        if (own && firstOfKey.get(item.row.dedupeKey) === item) item.resolve({ id: own.id, status: own.status, duplicate: false });
        else {
          const found = existing.get(item.row.dedupeKey) ?? own;
          item.resolve({ id: found?.id ?? 0, status: found?.status ?? 'pending', duplicate: true });
        }
      }
      const jobs = inserted.filter((row) => row.status === 'pending').map((row) => {
        const requestId = firstOfKey.get(row.dedupeKey)?.requestId;
        return { name: 'event', data: { inboxId: row.id, ...(requestId ? { requestId } : {}) }, opts: { jobId: eventJobId(row.id) } };
      });
      // Committed already: a failure here is left to the sweeper (a Redis outage loses nothing).
      if (jobs.length) await this.queues.events.addBulk(jobs).catch((error: unknown) => this.logger.warn({ count: jobs.length, err: error }, 'could not enqueue callback events; the sweeper will retry'));
    } catch (error) {
      for (const item of batch) item.reject(error);
    }
  }
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
