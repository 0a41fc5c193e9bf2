import { sql } from 'drizzle-orm';
import type { Queryable } from '../db/database.ts';
import { assignMissingOwners } from './ownership.service.ts';
import type { ExternalContactDetail, FollowUser } from '../wecom/api-types.ts';
import { relationKey, type RelationTag, type TagDiff } from './relation-tags.ts';
import {
  customerDiffers, customerValues, endRelations, personalTagIds, personalTagKey, readCustomerState, relationDiffers, relationValues,
  tagDiff, writeActiveRelations, writeCustomers, writeRelationTagChanges, type ActivityMark, type RelationEnd, type RelationTagChange, type RelationValues,
} from './customer-rows.ts';

export { customerValues, relationValues } from './customer-rows.ts';

/** What caused a re-sync: the callback's change type and member, when it came from a callback. */
export interface SyncTrigger {
  changeType?: string;
  userid?: string;
  /** `Source` of del_external_contact (DELETE_BY_TRANSFER). */
  source?: string;
  inboxEventId?: number;
}

export interface SnapshotOptions {
  /** The caller already holds this customer's lock (customerLockSql) in this transaction. */
  locked?: boolean;
  /** Restart the pool clock: a new relation counts for anyone, an edit only when its member owns the customer. */
  activity?: ActivityMark;
}

export interface CustomerSyncResult {
  relationsActive: number;
  relationsEnded: number;
  tagChanges: number;
  /** The tag diff of each relation that changed, by member. */
  diffs: Map<string, TagDiff>;
}

/** The per-customer lock every snapshot takes (an expression, so a caller can fold it into a statement). */
export function customerLockSql(externalUserId: string) {
  return sql`pg_advisory_xact_lock(hashtext(${'customer:' + externalUserId}))`;
}

function endReasonFor(trigger: SyncTrigger, userid: string): string {
  if (trigger.changeType === 'del_external_contact' && trigger.userid === userid) {
    return trigger.source === 'DELETE_BY_TRANSFER' ? 'transfer' : 'member_deleted';
  }
  if (trigger.changeType === 'del_follow_user' && trigger.userid === userid) return 'customer_deleted';
  return 'missing_in_wecom';
}

/**
 * Makes local state equal to WeCom's view of one customer (`detail`; null when WeCom reports no
 * relation left). Idempotent: applying the same snapshot twice changes nothing the second time (and
 * issues no write at all). Must run inside a transaction; serialised per customer with an advisory
 * lock. After the lock, one statement reads the customer, its relations and tags; each kind of write
 * is then one statement, skipped when nothing of that kind differs.
 */
export async function applyCustomerSnapshot(
  tx: Queryable,
  externalUserId: string,
  detail: ExternalContactDetail | null,
  trigger: SyncTrigger,
  options: SnapshotOptions = {},
): Promise<CustomerSyncResult> {
  if (!options.locked) await tx.execute(sql`select ${customerLockSql(externalUserId)}`);
  const result: CustomerSyncResult = { relationsActive: 0, relationsEnded: 0, tagChanges: 0, diffs: new Map() };
  const follows = detail?.follow_user ?? [];
  const local = await readCustomerState(tx, [externalUserId], follows.flatMap((f) => (f.tags ?? []).flatMap((t) => (t.type !== 2 && t.tag_id ? [t.tag_id] : []))));
  const existing = [...local.relations.values()];
  const present = new Set<string>();
  const ends: RelationEnd[] = [];

  if (detail) {
    const customer = customerValues(detail.external_contact);
    const before = local.customers.get(externalUserId);
    // The pool clock restarts on any add, and on an edit by the customer's owner (as read under the lock).
    const restarts = options.activity !== undefined && ('all' in options.activity || before?.ownerUserid === options.activity.ownedBy);
    if (customerDiffers(before, customer) || restarts) await writeCustomers(tx, [customer], restarts ? options.activity : undefined);
    // Which of WeCom's relations are applied: a del_follow_user ends its own, a one-way relation (the
    // customer deleted the member; WeCom still lists it) stays ended until the pair is added again.
    const applied: FollowUser[] = [];
    for (const follow of follows) {
      present.add(follow.userid);
      const relation = local.relations.get(relationKey(externalUserId, follow.userid));
      const isReAdd = trigger.userid === follow.userid && (trigger.changeType === 'add_external_contact' || trigger.changeType === 'add_half_external_contact');
      const oneWay = relation?.status === 'ended' && relation.endReason === 'customer_deleted' && relation.addedAt === follow.createtime && !isReAdd;
      if (trigger.changeType === 'del_follow_user' && trigger.userid === follow.userid) ends.push({ externalUserId, userid: follow.userid, reason: 'customer_deleted' });
      else if (!oneWay) applied.push(follow);
    }
    const personal = await personalTagIds(tx, applied.flatMap((f) => (f.tags ?? [])
      .filter((t) => t.type === 2 || !t.tag_id).map((t) => ({ userid: f.userid, name: t.tag_name, groupName: t.group_name }))));
    const relationWrites: RelationValues[] = [];
    const tagChanges: RelationTagChange[] = [];
    for (const follow of applied) {
      const key = relationKey(externalUserId, follow.userid);
      const values = relationValues(externalUserId, follow);
      if (relationDiffers(local.relations.get(key), values)) relationWrites.push(values);
      result.relationsActive++;
      const wanted = new Map<string, RelationTag>();
      for (const tag of follow.tags ?? []) {
        const personalId = tag.type === 2 || !tag.tag_id ? personal.get(personalTagKey(follow.userid, tag.tag_name)) : undefined;
        if (personalId) wanted.set(personalId, { tagId: personalId, kind: 'personal' });
        else if (tag.tag_id && tag.type !== 2) wanted.set(tag.tag_id, { tagId: tag.tag_id, kind: tag.type === 3 || local.strategyTagIds.has(tag.tag_id) ? 'strategy' : 'corp' });
      }
      const diff = tagDiff(local.tags.get(key) ?? [], [...wanted.values()], ['corp', 'strategy', 'personal']);
      result.tagChanges += diff.added.length + diff.removed.length;
      if (diff.added.length || diff.removed.length) {
        result.diffs.set(follow.userid, diff);
        tagChanges.push({ externalUserId, userid: follow.userid, ...diff });
      }
    }
    await writeActiveRelations(tx, relationWrites);
    await writeRelationTagChanges(tx, tagChanges, { source: trigger.inboxEventId ? 'callback' : 'sync', inboxEventId: trigger.inboxEventId });
    // The first member to add a customer becomes its owner when it has none (and is not in the pool).
    // Only a customer read without an owner can need one: the others skip the statement.
    const adder = trigger.changeType === 'add_external_contact' || trigger.changeType === 'add_half_external_contact' ? trigger.userid : undefined;
    const ownerless = !before || (before.ownerUserid === null && !before.inPool);
    if (ownerless && result.relationsActive > 0) await assignMissingOwners(tx, [externalUserId], adder);
  }
  for (const relation of existing) {
    if (relation.status !== 'active' || present.has(relation.userid)) continue;
    ends.push({ externalUserId, userid: relation.userid, reason: endReasonFor(trigger, relation.userid) });
  }
  result.relationsEnded = (await endRelations(tx, ends)).size;
  return result;
}
