import { eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Database, Queryable } from '../db/database.ts';
import { settings } from '../db/schema.ts';
import { audit } from './audit.service.ts';

/** Admin settings of ownership, the public pool and exports (one `settings` row). */
export const ownershipSettingsSchema = z.object({
  /** Customers whose owner has had no activity for this many days go to the pool (default 365). */
  poolInactiveDays: z.number().int().min(1).max(36_500),
  /** Pool claims per member per (China-local) day. */
  poolDailyClaimLimit: z.number().int().min(0).max(100_000),
  /** Exports of more rows than this wait for an admin's approval; null = never. */
  exportApprovalRows: z.number().int().min(0).nullable(),
  /** Export files are deleted this many days after they were made (the export then shows `expired`). */
  exportRetentionDays: z.number().int().min(1).max(3_650),
}).strict();

export type OwnershipSettings = z.infer<typeof ownershipSettingsSchema>;

export const DEFAULT_OWNERSHIP_SETTINGS: OwnershipSettings = { poolInactiveDays: 365, poolDailyClaimLimit: 20, exportApprovalRows: null, exportRetentionDays: 7 };

const SETTINGS_KEY = 'ownership';

export async function readOwnershipSettings(db: Queryable): Promise<OwnershipSettings> {
  const [row] = await db.select({ value: settings.value }).from(settings).where(eq(settings.key, SETTINGS_KEY));
  const stored = ownershipSettingsSchema.partial().safeParse(row?.value ?? {});
  return { ...DEFAULT_OWNERSHIP_SETTINGS, ...(stored.success ? stored.data : {}) };
}

export async function updateOwnershipSettings(db: Database, actor: string, change: Partial<OwnershipSettings>): Promise<OwnershipSettings> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext('settings:ownership'))`);
    const before = await readOwnershipSettings(tx);
    const after = { ...before, ...change };
    await tx.insert(settings).values({ key: SETTINGS_KEY, value: after })
      .onConflictDoUpdate({ target: settings.key, set: { value: after, updatedAt: sql`now()` } });
    await audit(tx, { actor, action: 'ownership_settings.update', subjectType: 'settings', subjectId: SETTINGS_KEY, outcome: 'done', details: { before, after } });
    return after;
  });
}
