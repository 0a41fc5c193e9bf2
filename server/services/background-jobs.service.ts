import { randomUUID } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import type { Database } from '../db/database.ts';
import { backgroundJobs, type BackgroundJobState } from '../db/schema.ts';

/** Long-running jobs an admin starts; their progress is durable so any process can report it. */
export async function createBackgroundJob(db: Database, kind: string, requestedBy: string | null): Promise<string> {
  const id = `${kind}-${randomUUID()}`;
  await db.insert(backgroundJobs).values({ id, kind, requestedBy });
  return id;
}

export async function updateBackgroundJob(db: Database, id: string, change: { state?: BackgroundJobState; done?: number; total?: number; error?: string | null }): Promise<void> {
  await db.update(backgroundJobs).set({ ...change, updatedAt: sql`now()` }).where(eq(backgroundJobs.id, id));
}

export async function getBackgroundJob(db: Database, id: string) {
  const [row] = await db.select().from(backgroundJobs).where(eq(backgroundJobs.id, id));
  return row;
}
