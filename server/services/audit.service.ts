import { createHash } from 'node:crypto';
import { asc, desc, gt, sql } from 'drizzle-orm';
import type { Queryable } from '../db/database.ts';
import { auditLog } from '../db/schema.ts';

export type AuditOutcome = typeof auditLog.$inferInsert['outcome'];

export interface AuditEntry {
  actor: string | null;
  action: string;
  subjectType: string;
  subjectId: string;
  outcome: AuditOutcome;
  /** Ids, names and decisions only: masked fields and phone numbers never go here. */
  details?: Record<string, unknown>;
}

const GENESIS = '0'.repeat(64);

/** JSON with object keys sorted: jsonb does not keep key order, and the hash must survive a read-back. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value).sort().filter((k) => (value as Record<string, unknown>)[k] !== undefined).map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

function hashOf(prevHash: string, entry: AuditEntry, at: string): string {
  const content = canonical([prevHash, at, entry.actor, entry.action, entry.subjectType, entry.subjectId, entry.outcome, entry.details ?? {}]);
  return createHash('sha256').update(content).digest('hex');
}

/**
 * Appends to the audit log inside the caller's transaction, so the record and the change commit or
 * roll back together. Entries are chained (each hash covers the previous one); the chain is
 * serialised with a transaction-scoped advisory lock.
 */
export async function audit(tx: Queryable, entry: AuditEntry): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(hashtext('audit_log'))`);
  const [last] = await tx.select({ hash: auditLog.hash }).from(auditLog).orderBy(desc(auditLog.id)).limit(1);
  const prevHash = last?.hash ?? GENESIS;
  const at = new Date().toISOString();
  await tx.insert(auditLog).values({
    at: new Date(at), actor: entry.actor, action: entry.action, subjectType: entry.subjectType, subjectId: entry.subjectId,
    outcome: entry.outcome, details: entry.details ?? {}, prevHash, hash: hashOf(prevHash, entry, at),
  });
}

export interface BrokenLink {
  /** The first entry that does not match. */
  id: number;
  /** `prev_hash` no longer names the entry before it (an entry removed or re-ordered), or the entry's own content changed. */
  reason: 'prev_hash_mismatch' | 'hash_mismatch';
  /** The previous entry's id (null for the first entry). */
  previousId: number | null;
  at: string;
  action: string;
}

export interface ChainCheck {
  intact: boolean;
  /** Entries checked (up to and including the broken one when broken). */
  entries: number;
  firstBroken: BrokenLink | null;
}

const VERIFY_PAGE = 5_000;

/** Re-computes the chain in id order, page by page (a large log never sits in memory whole). */
export async function checkAuditChain(db: Queryable): Promise<ChainCheck> {
  let prev = GENESIS;
  let previousId: number | null = null;
  let entries = 0;
  for (;;) {
    const rows = await db.select().from(auditLog).where(previousId === null ? undefined : gt(auditLog.id, previousId)).orderBy(asc(auditLog.id)).limit(VERIFY_PAGE);
    for (const row of rows) {
      entries += 1;
      const expected = hashOf(prev, { actor: row.actor, action: row.action, subjectType: row.subjectType, subjectId: row.subjectId, outcome: row.outcome, details: row.details }, row.at.toISOString());
      if (row.prevHash !== prev || row.hash !== expected) {
        return { intact: false, entries, firstBroken: { id: row.id, reason: row.prevHash !== prev ? 'prev_hash_mismatch' : 'hash_mismatch', previousId, at: row.at.toISOString(), action: row.action } };
      }
      prev = row.hash;
      previousId = row.id;
    }
    if (rows.length < VERIFY_PAGE) return { intact: true, entries, firstBroken: null };
  }
}

/** Re-computes the chain; returns the id of the first entry that does not match, or null. */
export async function verifyAuditChain(db: Queryable): Promise<number | null> {
  return (await checkAuditChain(db)).firstBroken?.id ?? null;
}
