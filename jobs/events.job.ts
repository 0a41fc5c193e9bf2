import { UnrecoverableError, type Job } from 'bullmq';
import { eq, sql } from 'drizzle-orm';
import type { Database, Tx } from '../server/db/database.ts';
import { inboxEvents, transferFailures } from '../server/db/schema.ts';
import type { Logger } from '../server/logger.ts';
import { startContactWayRules, type ContactWayRulesRun } from '../server/services/auto-tagging.service.ts';
import { applyCustomerSnapshot, customerLockSql } from '../server/services/customer-sync.service.ts';
import { rowsOf } from '../server/services/customer-filter.ts';
import { markMemberLeft, syncOrganization, upsertMember } from '../server/services/org-sync.service.ts';
import { syncCorpTagsChanged, syncStrategyTags } from '../server/services/tag-library-sync.service.ts';
import type { WecomClient } from '../server/wecom/client.ts';
import { isTransient, isWecomApiError } from '../server/wecom/errors.ts';
import { CallbackFormatError, parseEvent, type ContactChangeEvent, type ExternalContactEvent } from '../server/wecom/callback-events.ts';
import { renameMember } from '../server/services/member-rename.service.ts';
import type { ExternalContactDetail, WecomUser } from '../server/wecom/api-types.ts';
import type { EventJobData, Queues } from './queues.ts';
import type { TagPolicy } from '../server/policy/tag-policy.ts';
import { enforceClientEdit } from '../server/services/tag-enforcement.service.ts';
import type { MemberTagView, PolicyCache } from '../server/services/tag-policy.service.ts';
import { enqueueWrite } from '../server/services/wecom-writes.service.ts';
import { recordActivityFromEvent } from '../server/services/public-pool.service.ts';
import { recordTransferFailure } from '../server/services/transfers.service.ts';

export interface EventJobDeps {
  db: Database;
  wecom: WecomClient;
  logger: Logger;
  queues: Queues;
  policy: PolicyCache;
}

/** WeCom's answers meaning "this member/customer pair no longer exists in your visible range". */
const NO_RELATION = new Set([84061, 40096, 41035]);
const MEMBER_GONE = new Set([60111, 40003]);

export type EventOutcome = 'processed' | 'skipped';

/**
 * Processes one inbox event. WeCom calls happen first, outside any transaction; then one transaction
 * locks the inbox row, re-checks that it is still pending, applies the change and marks it done, so
 * the effects of an event are applied exactly once however often its job runs.
 */
export function eventProcessor(deps: EventJobDeps) {
  return async (job: Job<EventJobData>): Promise<EventOutcome> => {
    const { inboxId } = job.data;
    const [row] = await deps.db.select().from(inboxEvents).where(eq(inboxEvents.id, inboxId));
    if (job.data.resync) return row?.status === 'done' ? resyncCustomer(deps, row.payload) : 'skipped';
    if (!row || row.status !== 'pending') return 'skipped';
    try {
      const parsed = parseEvent(row.payload);
      let apply: (tx: Tx) => Promise<number[]> = async () => [];
      let contactWay: ContactWayRulesRun | null = null;
      let customerLock: string | undefined;
      if (parsed.kind === 'external_contact') {
        const event = parsed.event;
        const detail = await fetchCustomer(deps.wecom, event.ExternalUserID);
        // Auto-tagging: an add through a contact way (its State) runs that contact way's rules; the
        // welcome message is queued right here, the rest inside the inbox transaction below.
        const rules = await startContactWayRules(deps, event, detail, { id: inboxId, receivedAt: row.receivedAt });
        contactWay = rules;
        // Only an edit is checked against the editing member's use audience; the policy is read
        // before the transaction (the cache queries through the pool).
        const policy = event.ChangeType === 'edit_external_contact' ? { policy: await deps.policy.policy(), view: await deps.policy.view(event.UserID) } : undefined;
        customerLock = event.ExternalUserID;
        apply = (tx) => applyExternalContactEvent(tx, event, detail, inboxId, policy, rules);
      } else if (parsed.kind === 'external_tag') {
        // Tag-library syncs are idempotent and read WeCom in several steps, so they run before the
        // inbox transaction; a retry simply syncs again.
        const strategyId = parsed.event.StrategyId ? Number(parsed.event.StrategyId) : undefined;
        if (strategyId) await syncStrategyTags(deps.db, deps.wecom, strategyId);
        else await syncCorpTagsChanged(deps.db, deps.wecom, { changeType: parsed.event.ChangeType, id: parsed.event.Id, tagType: parsed.event.TagType });
      } else if (parsed.kind === 'contact') {
        apply = await prepareContactChange(deps, parsed.event);
      }
      const writes = await deps.db.transaction(async (tx) => {
        // One statement claims the event (row-locked, still pending) and marks it finished, and takes
        // the customer's lock; if applying fails, the transaction rolls the status back to pending.
        const claimed = await rowsOf<{ id: number }>(tx, sql`update inbox_events
          set status = ${parsed.kind === 'unhandled' ? 'ignored' : 'done'}, processed_at = now(), attempts = attempts + 1, last_error = null
          where id = ${inboxId} and status = 'pending'
          returning id${customerLock ? sql`, ${customerLockSql(customerLock)} is null as locked` : sql``}`);
        if (claimed.length === 0) return undefined;
        return apply(tx);
      });
      // Writes recorded in the transaction are queued after it commits (the sweep catches a failure).
      for (const writeId of writes ?? []) await enqueueWrite(deps.queues, writeId);
      if (writes) await contactWay?.enqueueWrites(deps.queues);
      const outcome: EventOutcome = writes ? 'processed' : 'skipped';
      deps.logger.info({ inboxId, event: row.event, changeType: row.changeType, outcome, writes: writes?.length ?? 0 }, 'callback event processed');
      return outcome;
    } catch (error) {
      const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      // WeCom says whether its error can pass; anything else (database, network) is retried.
      const permanent = (isWecomApiError(error) && !isTransient(error)) || error instanceof CallbackFormatError;
      const reason = describe(error);
      if (permanent || lastAttempt) {
        await deps.db.update(inboxEvents)
          .set({ status: 'failed', attempts: sql`${inboxEvents.attempts} + 1`, lastError: reason })
          .where(eq(inboxEvents.id, inboxId));
        deps.logger.warn({ inboxId, reason }, 'callback event parked as failed');
        throw new UnrecoverableError(reason);
      }
      await deps.db.update(inboxEvents).set({ attempts: sql`${inboxEvents.attempts} + 1`, lastError: reason }).where(eq(inboxEvents.id, inboxId)).catch(() => undefined);
      throw error;
    }
  };
}

/**
 * Re-reads an edited customer after an edit event that looked like a retry (same second, same pair):
 * the snapshot and the use-audience enforcement run again; the event itself is not processed again.
 */
async function resyncCustomer(deps: EventJobDeps, payload: Record<string, string>): Promise<EventOutcome> {
  const parsed = parseEvent(payload);
  if (parsed.kind !== 'external_contact' || parsed.event.ChangeType !== 'edit_external_contact') return 'skipped';
  const event = parsed.event;
  const detail = await fetchCustomer(deps.wecom, event.ExternalUserID);
  const policy = await deps.policy.policy();
  const view = await deps.policy.view(event.UserID);
  const writes = await deps.db.transaction(async (tx) => {
    const result = await applyCustomerSnapshot(tx, event.ExternalUserID, detail, { changeType: event.ChangeType, userid: event.UserID });
    const diff = result.diffs.get(event.UserID);
    return diff?.added.length ? enforceClientEdit(tx, policy, view, { externalUserId: event.ExternalUserID, userid: event.UserID, added: diff.added }) : [];
  });
  for (const writeId of writes) await enqueueWrite(deps.queues, writeId);
  return 'processed';
}

function describe(error: unknown): string {
  if (isWecomApiError(error)) return `WeCom ${error.path} errcode ${error.errcode}: ${error.message}`;
  return error instanceof Error ? error.message.slice(0, 500) : String(error);
}

export async function fetchCustomer(wecom: WecomClient, externalUserId: string): Promise<ExternalContactDetail | null> {
  try {
    return await wecom.getExternalContact(externalUserId);
  } catch (error) {
    if (isWecomApiError(error) && NO_RELATION.has(error.errcode)) return null;
    throw error;
  }
}

async function applyExternalContactEvent(
  tx: Tx, event: ExternalContactEvent, detail: ExternalContactDetail | null, inboxId: number,
  policy: { policy: TagPolicy; view: MemberTagView } | undefined,
  contactWay: ContactWayRulesRun | null,
): Promise<number[]> {
  if (event.ChangeType === 'transfer_fail') {
    // UserID is the takeover member; the ownership module reconciles with transfer_result.
    await tx.insert(transferFailures).values({ externalUserId: event.ExternalUserID, takeoverUserid: event.UserID, reason: event.FailReason, inboxEventId: inboxId });
    await recordTransferFailure(tx, { externalUserId: event.ExternalUserID, takeoverUserid: event.UserID, reason: event.FailReason, inboxEventId: inboxId });
  }
  await contactWay?.beforeSnapshot(tx);
  const isAdd = event.ChangeType === 'add_external_contact' || event.ChangeType === 'add_half_external_contact';
  // A new relation restarts the pool clock; an edit does when the owner made it (written with the customer row).
  const activity = isAdd ? { all: true as const } : event.ChangeType === 'edit_external_contact' ? { ownedBy: event.UserID } : undefined;
  const result = await applyCustomerSnapshot(tx, event.ExternalUserID, detail, {
    changeType: event.ChangeType,
    userid: event.UserID,
    source: event.ChangeType === 'del_external_contact' ? event.Source : undefined,
    inboxEventId: inboxId,
  }, { locked: true, ...(activity ? { activity } : {}) });
  await contactWay?.apply(tx, detail);
  // Without a snapshot no customer row was written: the clock restarts on its own.
  if (!detail) await recordActivityFromEvent(tx, event.ChangeType, event.ExternalUserID, event.UserID);
  const diff = result.diffs.get(event.UserID);
  if (event.ChangeType === 'edit_external_contact' && diff?.added.length && policy) {
    return enforceClientEdit(tx, policy.policy, policy.view, { externalUserId: event.ExternalUserID, userid: event.UserID, added: diff.added, inboxEventId: inboxId });
  }
  return [];
}

/**
 * Reads what a contact change needs from WeCom (outside any transaction) and returns the local change,
 * applied inside the inbox transaction: a member written as WeCom reports them, a member who left,
 * or a userid changed in WeCom (update_user with NewUserID), moved everywhere before the write.
 */
async function prepareContactChange(deps: EventJobDeps, event: ContactChangeEvent): Promise<(tx: Tx) => Promise<number[]>> {
  const { ChangeType: changeType, UserID: userid } = event;
  const none = async (): Promise<number[]> => [];
  if (changeType.endsWith('_party')) {
    await syncOrganization(deps.db, deps.wecom);
    return none;
  }
  if (!userid) return none;
  if (changeType === 'delete_user') return async (tx) => { await markMemberLeft(tx, userid); return []; };
  const renamedTo = changeType === 'update_user' && event.NewUserID && event.NewUserID !== userid ? event.NewUserID : undefined;
  const current = renamedTo ?? userid;
  let user: WecomUser | undefined;
  try {
    user = await deps.wecom.getUser(current);
  } catch (error) {
    if (!(isWecomApiError(error) && MEMBER_GONE.has(error.errcode))) throw error;
  }
  return async (tx) => {
    if (renamedTo) await renameMember(tx, userid, renamedTo);
    if (user) await upsertMember(tx, user);
    else await markMemberLeft(tx, current);
    return [];
  };
}
