import { and, eq, sql } from 'drizzle-orm';
import type { Queryable } from '../db/database.ts';
import { customers, followRelations } from '../db/schema.ts';
import { assignMissingOwners } from './ownership.service.ts';
import type { ExternalContact, ExternalContactDetail, FollowUser } from '../wecom/api-types.ts';
import {
  loadRelationTags, personalTagId, relationKey, replaceRelationTags, strategyTagIds, type RelationTag, type TagDiff,
} from './relation-tags.ts';

/** What caused a re-sync: the callback's change type and member, when it came from a callback. */
export interface SyncTrigger {
  changeType?: string;
  userid?: string;
  /** `Source` of del_external_contact (DELETE_BY_TRANSFER). */
  source?: string;
  inboxEventId?: number;
}

export interface CustomerSyncResult {
  relationsActive: number;
  relationsEnded: number;
  tagChanges: number;
  /** The tag diff of each relation that changed, by member. */
  diffs: Map<string, TagDiff>;
}

export function customerValues(contact: ExternalContact) {
  return {
    externalUserId: contact.external_userid,
    name: contact.name ?? '',
    type: contact.type ?? 1,
    avatar: contact.avatar ?? null,
    gender: contact.gender ?? 0,
    corpName: contact.corp_name ?? null,
    corpFullName: contact.corp_full_name ?? null,
    position: contact.position ?? null,
    unionid: contact.unionid ?? null,
  };
}

/** Inserts or updates a customer, touching the row only when a field actually changed. */
export async function upsertCustomer(db: Queryable, contact: ExternalContact): Promise<void> {
  const values = customerValues(contact);
  await db.insert(customers).values(values).onConflictDoUpdate({
    target: customers.externalUserId,
    set: {
      name: sql`excluded.name`, type: sql`excluded.type`, avatar: sql`excluded.avatar`, gender: sql`excluded.gender`,
      corpName: sql`excluded.corp_name`, corpFullName: sql`excluded.corp_full_name`, position: sql`excluded.position`,
      unionid: sql`excluded.unionid`, updatedAt: sql`now()`,
    },
    setWhere: sql`(${customers.name}, ${customers.type}, ${customers.avatar}, ${customers.gender}, ${customers.corpName}, ${customers.corpFullName}, ${customers.position}, ${customers.unionid})
      is distinct from (excluded.name, excluded.type, excluded.avatar, excluded.gender, excluded.corp_name, excluded.corp_full_name, excluded.position, excluded.unionid)`,
  });
}

export function relationValues(externalUserId: string, follow: Omit<FollowUser, 'tags'>) {
  return {
    externalUserId,
    userid: follow.userid,
    remark: follow.remark ?? null,
    description: follow.description ?? null,
    addedAt: follow.createtime ?? null,
    addWay: follow.add_way ?? null,
    state: follow.state ?? null,
    operUserid: follow.oper_userid ?? null,
    remarkCorpName: follow.remark_corp_name ?? null,
    remarkMobiles: (follow.remark_mobiles ?? []).filter((m) => m !== ''),
  };
}

/** Upserts a relation as active (re-activating an ended one), changing the row only when needed. */
export async function upsertActiveRelation(db: Queryable, values: ReturnType<typeof relationValues>): Promise<void> {
  await db.insert(followRelations).values({ ...values, status: 'active' }).onConflictDoUpdate({
    target: [followRelations.externalUserId, followRelations.userid],
    set: {
      remark: sql`excluded.remark`, description: sql`excluded.description`, addedAt: sql`excluded.added_at`,
      addWay: sql`excluded.add_way`, state: sql`excluded.state`, operUserid: sql`excluded.oper_userid`,
      remarkCorpName: sql`excluded.remark_corp_name`, remarkMobiles: sql`excluded.remark_mobiles`,
      status: 'active', endedAt: null, endReason: null, updatedAt: sql`now()`,
    },
    setWhere: sql`(${followRelations.remark}, ${followRelations.description}, ${followRelations.addedAt}, ${followRelations.addWay}, ${followRelations.state}, ${followRelations.operUserid}, ${followRelations.remarkCorpName}, ${followRelations.remarkMobiles}, ${followRelations.status})
      is distinct from (excluded.remark, excluded.description, excluded.added_at, excluded.add_way, excluded.state, excluded.oper_userid, excluded.remark_corp_name, excluded.remark_mobiles, 'active')`,
  });
}

export async function endRelation(db: Queryable, externalUserId: string, userid: string, reason: string): Promise<boolean> {
  const ended = await db.update(followRelations)
    .set({ status: 'ended', endedAt: sql`now()`, endReason: reason, updatedAt: sql`now()` })
    .where(and(eq(followRelations.externalUserId, externalUserId), eq(followRelations.userid, userid), eq(followRelations.status, 'active')))
    .returning({ userid: followRelations.userid });
  return ended.length > 0;
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
 * relation left). Idempotent: applying the same snapshot twice changes nothing the second time.
 * Must run inside a transaction; serialised per customer with an advisory lock.
 */
export async function applyCustomerSnapshot(
  tx: Queryable,
  externalUserId: string,
  detail: ExternalContactDetail | null,
  trigger: SyncTrigger,
): Promise<CustomerSyncResult> {
  await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${'customer:' + externalUserId}))`);
  const result: CustomerSyncResult = { relationsActive: 0, relationsEnded: 0, tagChanges: 0, diffs: new Map() };
  const existing = await tx.select().from(followRelations).where(eq(followRelations.externalUserId, externalUserId));
  const byUser = new Map(existing.map((r) => [r.userid, r]));
  const present = new Set<string>();

  if (detail) {
    await upsertCustomer(tx, detail.external_contact);
    const currentTags = await loadRelationTags(tx, [externalUserId]);
    const ruleGroupIds = await strategyTagIds(tx, detail.follow_user.flatMap((f) => (f.tags ?? []).flatMap((t) => (t.tag_id ? [t.tag_id] : []))));
    for (const follow of detail.follow_user) {
      present.add(follow.userid);
      const local = byUser.get(follow.userid);
      const isReAdd = trigger.userid === follow.userid && (trigger.changeType === 'add_external_contact' || trigger.changeType === 'add_half_external_contact');
      // The customer deleted the member: WeCom keeps a one-way relation and still lists it, so it stays
      // ended until the pair is added again (a new add event, or a new createtime).
      const oneWay = local?.status === 'ended' && local.endReason === 'customer_deleted' && local.addedAt === follow.createtime && !isReAdd;
      if (trigger.changeType === 'del_follow_user' && trigger.userid === follow.userid) {
        if (await endRelation(tx, externalUserId, follow.userid, 'customer_deleted')) result.relationsEnded++;
        continue;
      }
      if (oneWay) continue;
      await upsertActiveRelation(tx, relationValues(externalUserId, follow));
      result.relationsActive++;
      const wanted: RelationTag[] = [];
      for (const tag of follow.tags ?? []) {
        if (tag.type === 2 || !tag.tag_id) {
          wanted.push({ tagId: await personalTagId(tx, follow.userid, tag.tag_name, tag.group_name), kind: 'personal' });
        } else {
          wanted.push({ tagId: tag.tag_id, kind: tag.type === 3 || ruleGroupIds.has(tag.tag_id) ? 'strategy' : 'corp' });
        }
      }
      const diff = await replaceRelationTags(tx, { externalUserId, userid: follow.userid }, currentTags.get(relationKey(externalUserId, follow.userid)) ?? [], dedupe(wanted), ['corp', 'strategy', 'personal'], { source: trigger.inboxEventId ? 'callback' : 'sync', inboxEventId: trigger.inboxEventId });
      result.tagChanges += diff.added.length + diff.removed.length;
      if (diff.added.length || diff.removed.length) result.diffs.set(follow.userid, diff);
    }
    // The first member to add a customer becomes its owner when it has none. Only an add, or a
    // customer with no active relation until now, can be ownerless here: other events skip the query.
    const adder = trigger.changeType === 'add_external_contact' || trigger.changeType === 'add_half_external_contact' ? trigger.userid : undefined;
    if (adder || existing.every((r) => r.status !== 'active')) await assignMissingOwners(tx, [externalUserId], adder);
  }
  for (const relation of existing) {
    if (relation.status !== 'active' || present.has(relation.userid)) continue;
    if (await endRelation(tx, externalUserId, relation.userid, endReasonFor(trigger, relation.userid))) result.relationsEnded++;
  }
  return result;
}

function dedupe(list: RelationTag[]): RelationTag[] {
  const seen = new Map<string, RelationTag>();
  for (const tag of list) seen.set(tag.tagId, tag);
  return [...seen.values()];
}
