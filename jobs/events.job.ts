import { UnrecoverableError, type Job } from 'bullmq';
import { eq, sql } from 'drizzle-orm';
import type { Database, Tx } from '../server/db/database.ts';
import { inboxEvents, transferFailures } from '../server/db/schema.ts';
import type { Logger } from '../server/logger.ts';
import { startContactWayRules, type ContactWayRulesRun } from '../server/services/auto-tagging.service.ts';
import { applyCustomerSnapshot } from '../server/services/customer-sync.service.ts';
import { markMemberLeft, syncOrganization, upsertMember } from '../server/services/org-sync.service.ts';
import { syncCorpTagsChanged, syncStrategyTags } from '../server/services/tag-library-sync.service.ts';
import type { WecomClient } from '../server/wecom/client.ts';
import { isTransient, isWecomApiError } from '../server/wecom/errors.ts';
import { CallbackFormatError, parseEvent, type ExternalContactEvent } from '../server/wecom/callback-events.ts';
import type { ExternalContactDetail } from '../server/wecom/api-types.ts';
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
      if (parsed.kind === 'external_contact') {
        const detail = await fetchCustomer(deps.wecom, parsed.event.ExternalUserID);
        // Auto-tagging: an add through a contact way (its State) runs that contact way's rules; the
        // welcome message is queued right here, the rest inside the inbox transaction below.
        const rules = await startContactWayRules(deps, parsed.event, detail, { id: inboxId, receivedAt: row.receivedAt });
        contactWay = rules;
        // Read before the transaction: the policy cache queries through the pool.
        const policy = await deps.policy.policy();
        const view = await deps.policy.view(parsed.event.UserID);
        apply = (tx) => applyExternalContactEvent(tx, parsed.event, detail, inboxId, { policy, view }, rules);
      } else if (parsed.kind === 'external_tag') {
        // Tag-library syncs are idempotent and read WeCom in several steps, so they run before the
        // inbox transaction; a retry simply syncs again.
        const strategyId = parsed.event.StrategyId ? Number(parsed.event.StrategyId) : undefined;
        if (strategyId) await syncStrategyTags(deps.db, deps.wecom, strategyId);
        else await syncCorpTagsChanged(deps.db, deps.wecom, { changeType: parsed.event.ChangeType, id: parsed.event.Id, tagType: parsed.event.TagType });
      } else if (parsed.kind === 'contact') {
        await applyContactChange(deps, parsed.event.ChangeType, parsed.event.UserID);
      }
      const writes = await deps.db.transaction(async (tx) => {
        const [locked] = await tx.select({ status: inboxEvents.status }).from(inboxEvents).where(eq(inboxEvents.id, inboxId)).for('update');
        if (locked?.status !== 'pending') return undefined;
        const queued = await apply(tx);
        await tx.update(inboxEvents)
          .set({ status: parsed.kind === 'unhandled' ? 'ignored' : 'done', processedAt: sql`now()`, attempts: sql`${inboxEvents.attempts} + 1`, lastError: null })
          .where(eq(inboxEvents.id, inboxId));
        return queued;
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
  policy: { policy: TagPolicy; view: MemberTagView },
  contactWay: ContactWayRulesRun | null,
): Promise<number[]> {
  if (event.ChangeType === 'transfer_fail') {
    // UserID is the takeover member; the ownership module reconciles with transfer_result.
    await tx.insert(transferFailures).values({ externalUserId: event.ExternalUserID, takeoverUserid: event.UserID, reason: event.FailReason, inboxEventId: inboxId });
    await recordTransferFailure(tx, { externalUserId: event.ExternalUserID, takeoverUserid: event.UserID, reason: event.FailReason, inboxEventId: inboxId });
  }
  await contactWay?.beforeSnapshot(tx);
  const result = await applyCustomerSnapshot(tx, event.ExternalUserID, detail, {
    changeType: event.ChangeType,
    userid: event.UserID,
    source: event.ChangeType === 'del_external_contact' ? event.Source : undefined,
    inboxEventId: inboxId,
  });
  await contactWay?.apply(tx, detail);
  await recordActivityFromEvent(tx, event.ChangeType, event.ExternalUserID, event.UserID);
  const diff = result.diffs.get(event.UserID);
  if (event.ChangeType === 'edit_external_contact' && diff?.added.length) {
    return enforceClientEdit(tx, policy.policy, policy.view, { externalUserId: event.ExternalUserID, userid: event.UserID, added: diff.added, inboxEventId: inboxId });
  }
  return [];
}

async function applyContactChange(deps: EventJobDeps, changeType: string, userid: string | undefined): Promise<void> {
  if (changeType.endsWith('_party')) {
    await syncOrganization(deps.db, deps.wecom);
    return;
  }
  if (!userid) return;
  if (changeType === 'delete_user') {
    await markMemberLeft(deps.db, userid);
    return;
  }
  try {
    const user = await deps.wecom.getUser(userid);
    await deps.db.transaction((tx) => upsertMember(tx, user));
  } catch (error) {
    if (isWecomApiError(error) && MEMBER_GONE.has(error.errcode)) await markMemberLeft(deps.db, userid);
    else throw error;
  }
}
