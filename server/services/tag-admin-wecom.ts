import type { Database } from '../db/database.ts';
import { DomainError } from '../http/domain-error.ts';
import { WecomApiError, WecomNetworkError } from '../wecom/errors.ts';
import { audit, type AuditEntry } from './audit.service.ts';

/**
 * What the admin tag-library services share: one process-wide queue for every write (WeCom requires
 * `customer_strategy/create` and `edit` to be called serially, and serialising all tag-library writes
 * keeps WeCom and the local mirror changing in the same order), and one translation of WeCom's
 * refusals into answers an admin understands.
 */
let tail: Promise<unknown> = Promise.resolve();

/** Runs `write` after every earlier tag-library write of this process has finished (a mutex). */
export function serialTagLibraryWrite<T>(write: () => Promise<T>): Promise<T> {
  const run = tail.then(write, write);
  tail = run.catch(() => undefined);
  return run;
}

/** WeCom's refusal as a DomainError (4xx for what the admin can fix, 409 for state, 502 for WeCom). */
export function wecomRefusal(err: unknown, subject: string): unknown {
  if (!(err instanceof WecomApiError)) return err;
  const details = { errcode: err.errcode, wecomPath: err.path };
  switch (err.errcode) {
    case 60011:
      return new DomainError('WECOM_NOT_OWNED', `WeCom refused to change ${subject}: it was not created by this app (tags and rule groups made in WeCom's admin console or by another app can only be changed there)`, details);
    case 40068:
      return new DomainError('WECOM_NOT_FOUND', `WeCom no longer has ${subject} (deleted in WeCom's admin console?); the local tag library has been corrected`, details);
    case 40071:
      return new DomainError('TAG_NAME_TAKEN', `WeCom refused ${subject}: the name is already used there (errcode 40071)`, details);
    case 40072:
      return new DomainError('TAG_NAME_INVALID', `WeCom refused ${subject}: names must be 1 to 30 characters (errcode 40072)`, details);
    case 40126:
      return new DomainError('TAG_LIMIT_REACHED', `WeCom refused ${subject}: the company has reached WeCom's limit of 3000 tags (corp and rule-group tags together); delete unused tags first`, details);
    case 40003:
    case 60111:
      return new DomainError('BAD_REQUEST', `WeCom does not know a member named for ${subject} (left, deleted, or outside the app's visible range): ${err.errmsg}`, details);
    case 60003:
    case 60123:
      return new DomainError('BAD_REQUEST', `WeCom does not know a department named for ${subject}: ${err.errmsg}`, details);
    default:
      if (err instanceof WecomNetworkError && err.maybeApplied) {
        return new DomainError('WECOM_ERROR', `WeCom did not answer for ${subject} and may have applied it: run a sync (POST /api/admin/sync) before trying again (${err.message})`, details);
      }
      return new DomainError('WECOM_ERROR', `WeCom failed for ${subject}: ${err.message}`, details);
  }
}

/**
 * Calls WeCom; on failure records the attempt in the audit log (outcome `failed`, its own
 * transaction: nothing else changed) and throws the translated error. With `goneIsDone` (deletes),
 * WeCom's 40068 "not found" means the object is already gone: `undefined` is returned instead.
 */
export async function callWecom<T>(db: Database, entry: Omit<AuditEntry, 'outcome'>, subject: string, call: () => Promise<T>, options: { goneIsDone: true }): Promise<T | undefined>;
export async function callWecom<T>(db: Database, entry: Omit<AuditEntry, 'outcome'>, subject: string, call: () => Promise<T>): Promise<T>;
export async function callWecom<T>(db: Database, entry: Omit<AuditEntry, 'outcome'>, subject: string, call: () => Promise<T>, options?: { goneIsDone: true }): Promise<T | undefined> {
  try {
    return await call();
  } catch (err) {
    const errcode = err instanceof WecomApiError ? err.errcode : undefined;
    if (options?.goneIsDone && errcode === 40068) return undefined;
    await db.transaction(async (tx) => {
      await audit(tx, { ...entry, outcome: 'failed', details: { ...entry.details, errcode, error: err instanceof Error ? err.message : String(err) } });
    }).catch(() => undefined);
    throw wecomRefusal(err, subject);
  }
}
