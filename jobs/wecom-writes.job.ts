import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import { eq, sql } from 'drizzle-orm';
import type { Redis } from 'ioredis';
import type { Database } from '../server/db/database.ts';
import { outgoingWrites } from '../server/db/schema.ts';
import type { Logger } from '../server/logger.ts';
import { applyWriteLocally, performWrite, WRITE_PATHS, type WriteRequest } from '../server/services/wecom-writes.service.ts';
import type { WecomClient } from '../server/wecom/client.ts';
import { isTransient, isWecomApiError } from '../server/wecom/errors.ts';
import type { WriteJobData } from './queues.ts';

export interface WriteJobDeps {
  db: Database;
  wecom: WecomClient;
  redis: Redis;
  logger: Logger;
  keyPrefix: string;
  /** WeCom's documented limit is 10,000 calls per minute per API per corp. */
  perApiPerMinute: number;
}

/**
 * Reserves one call in the API's current one-minute window; answers how long to wait when the window
 * is full. A fixed window per API keeps each WeCom API under its own limit across every worker.
 */
async function reserveCall(deps: WriteJobDeps, path: string): Promise<number> {
  const now = Date.now();
  const window = Math.floor(now / 60_000);
  const key = `${deps.keyPrefix}ratelimit:${deps.wecom.corpId}:${path}:${window}`;
  const count = await deps.redis.incr(key);
  if (count === 1) await deps.redis.expire(key, 120);
  return count <= deps.perApiPerMinute ? 0 : (window + 1) * 60_000 - now + Math.floor(Math.random() * 250);
}

export function writeProcessor(deps: WriteJobDeps) {
  return async (job: Job<WriteJobData>, token?: string): Promise<void> => {
    const [row] = await deps.db.select().from(outgoingWrites).where(eq(outgoingWrites.id, job.data.writeId));
    if (!row || row.state !== 'queued') return;
    const request = { api: row.api, payload: row.payload } as unknown as WriteRequest;
    const wait = await reserveCall(deps, WRITE_PATHS[request.api]);
    if (wait > 0) {
      await job.moveToDelayed(Date.now() + wait, token);
      throw new DelayedError();
    }
    try {
      const result = await performWrite(deps.wecom, request);
      await deps.db.transaction(async (tx) => {
        const [locked] = await tx.select({ state: outgoingWrites.state }).from(outgoingWrites).where(eq(outgoingWrites.id, row.id)).for('update');
        if (locked?.state !== 'queued') return;
        await applyWriteLocally(tx, request);
        await tx.update(outgoingWrites).set({ state: 'done', result, errcode: 0, error: null, attempts: sql`${outgoingWrites.attempts} + 1`, completedAt: sql`now()` }).where(eq(outgoingWrites.id, row.id));
      });
    } catch (error) {
      const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      const permanent = isWecomApiError(error) && !isTransient(error);
      const errcode = isWecomApiError(error) ? error.errcode : null;
      const message = error instanceof Error ? error.message.slice(0, 500) : String(error);
      if (permanent || lastAttempt) {
        await deps.db.update(outgoingWrites).set({ state: 'failed', errcode, error: message, attempts: sql`${outgoingWrites.attempts} + 1`, completedAt: sql`now()` }).where(eq(outgoingWrites.id, row.id));
        deps.logger.warn({ writeId: row.id, api: row.api, errcode }, 'WeCom write failed permanently');
        throw new UnrecoverableError(message);
      }
      await deps.db.update(outgoingWrites).set({ errcode, error: message, attempts: sql`${outgoingWrites.attempts} + 1` }).where(eq(outgoingWrites.id, row.id)).catch(() => undefined);
      throw error;
    }
  };
}
