import { eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Queryable } from '../db/database.ts';
import { settings } from '../db/schema.ts';
import { ALWAYS_MASKED, MASKABLE_FIELDS, maskedFieldSet, type MaskableField } from '../policy/masking.ts';
import { audit } from './audit.service.ts';

/**
 * Admin settings of customer permissions, each one `settings` row:
 * - `masking`: `{fields: [...]}`, extra masked fields (phone numbers are always masked);
 * - `grants`: `{maxSeconds, emergencySeconds}`, the longest grant one may request and the window an
 *   emergency grant self-activates for.
 */
const MASKING_KEY = 'masking';
const GRANTS_KEY = 'grants';

export const maskingSettingsSchema = z.object({
  fields: z.array(z.enum(MASKABLE_FIELDS)).max(MASKABLE_FIELDS.length),
}).strict();

export const grantSettingsSchema = z.object({
  maxSeconds: z.number().int().min(60).max(90 * 86_400),
  emergencySeconds: z.number().int().min(60).max(86_400),
}).strict();
export type GrantSettings = z.infer<typeof grantSettingsSchema>;

/** Defaults: a grant lasts at most 7 days; an emergency grant self-activates for 1 hour. */
export const DEFAULT_GRANT_SETTINGS: GrantSettings = { maxSeconds: 7 * 86_400, emergencySeconds: 3_600 };

async function readSetting(db: Queryable, key: string): Promise<unknown> {
  const [row] = await db.select({ value: settings.value }).from(settings).where(eq(settings.key, key));
  return row?.value;
}

async function writeSetting(tx: Queryable, key: string, value: unknown, actor: string, action: string, details: Record<string, unknown>): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`settings:${key}`}))`);
  await tx.insert(settings).values({ key, value }).onConflictDoUpdate({ target: settings.key, set: { value, updatedAt: sql`now()` } });
  await audit(tx, { actor, action, subjectType: 'settings', subjectId: key, outcome: 'done', details });
}

/** The masked fields now in force (a malformed row falls back to the always-masked fields). */
export async function readMaskedFields(db: Queryable): Promise<Set<MaskableField>> {
  const parsed = maskingSettingsSchema.safeParse(await readSetting(db, MASKING_KEY));
  return maskedFieldSet(parsed.success ? parsed.data.fields : []);
}

export async function writeMaskedFields(tx: Queryable, fields: MaskableField[], actor: string): Promise<Set<MaskableField>> {
  const before = [...(await readMaskedFields(tx))].sort();
  const after = [...maskedFieldSet(fields)].sort();
  await writeSetting(tx, MASKING_KEY, { fields: after }, actor, 'masking.update', { before, after });
  return new Set(after);
}

export function maskingView(fields: Set<MaskableField>): { fields: MaskableField[]; alwaysMasked: readonly MaskableField[]; maskable: readonly MaskableField[] } {
  return { fields: [...fields].sort(), alwaysMasked: ALWAYS_MASKED, maskable: MASKABLE_FIELDS };
}

export async function readGrantSettings(db: Queryable): Promise<GrantSettings> {
  const parsed = grantSettingsSchema.partial().safeParse(await readSetting(db, GRANTS_KEY));
  return { ...DEFAULT_GRANT_SETTINGS, ...(parsed.success ? parsed.data : {}) };
}

export async function writeGrantSettings(tx: Queryable, value: GrantSettings, actor: string): Promise<GrantSettings> {
  const before = await readGrantSettings(tx);
  await writeSetting(tx, GRANTS_KEY, value, actor, 'grant_settings.update', { before, after: value });
  return value;
}
