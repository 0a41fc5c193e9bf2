import { and, eq, inArray } from 'drizzle-orm';
import type { Database } from '../db/database.ts';
import { followRelations } from '../db/schema.ts';
import type { WecomClient } from '../wecom/client.ts';
import type { BatchExternalContactItem } from '../wecom/api-types.ts';
import { endRelation, relationValues, upsertActiveRelation, upsertCustomer } from './customer-sync.service.ts';
import { assignMissingOwners } from './ownership.service.ts';
import { loadRelationTags, relationKey, replaceRelationTags, strategyTagIds } from './relation-tags.ts';

const MEMBERS_PER_CALL = 100;

export interface ImportProgress {
  (done: number, total: number): Promise<void>;
}

/**
 * Imports every customer with its relations and corp/rule-group tags through `batch/get_by_user`
 * (100 members a call, following cursors). Only what changed is written, so a second import of the
 * same data changes nothing. Personal tags are not in this API; they come from `externalcontact/get`.
 */
export async function importCustomers(db: Database, wecom: WecomClient, onProgress: ImportProgress): Promise<{ customers: number; relations: number }> {
  const { follow_user } = await wecom.getFollowUserList();
  const chunks: string[][] = [];
  for (let i = 0; i < follow_user.length; i += MEMBERS_PER_CALL) chunks.push(follow_user.slice(i, i + MEMBERS_PER_CALL));
  const customersSeen = new Set<string>();
  let relations = 0;
  for (const [index, chunk] of chunks.entries()) {
    const seen = new Set<string>();
    let cursor: string | undefined;
    do {
      const page = await wecom.batchGetByUser(chunk, cursor, 100);
      await applyPage(db, page.external_contact_list);
      for (const item of page.external_contact_list) {
        seen.add(relationKey(item.external_contact.external_userid, item.follow_info.userid));
        customersSeen.add(item.external_contact.external_userid);
      }
      relations += page.external_contact_list.length;
      cursor = page.next_cursor || undefined;
    } while (cursor);
    await endUnseenRelations(db, chunk, seen);
    await onProgress(index + 1, chunks.length);
  }
  await assignMissingOwners(db);
  return { customers: customersSeen.size, relations };
}

async function applyPage(db: Database, items: BatchExternalContactItem[]): Promise<void> {
  if (items.length === 0) return;
  await db.transaction(async (tx) => {
    const externalUserIds = [...new Set(items.map((i) => i.external_contact.external_userid))];
    const current = await loadRelationTags(tx, externalUserIds);
    const local = await tx.select({ externalUserId: followRelations.externalUserId, userid: followRelations.userid, status: followRelations.status, endReason: followRelations.endReason, addedAt: followRelations.addedAt })
      .from(followRelations).where(inArray(followRelations.externalUserId, externalUserIds));
    const localByKey = new Map(local.map((r) => [relationKey(r.externalUserId, r.userid), r]));
    const ruleGroupIds = await strategyTagIds(tx, items.flatMap((i) => i.follow_info.tag_id ?? []));
    const written = new Set<string>();
    for (const item of items) {
      const externalUserId = item.external_contact.external_userid;
      if (!written.has(externalUserId)) {
        await upsertCustomer(tx, item.external_contact);
        written.add(externalUserId);
      }
      const key = relationKey(externalUserId, item.follow_info.userid);
      const existing = localByKey.get(key);
      // A one-way relation (customer deleted the member) stays ended until the pair is added again.
      if (existing?.status === 'ended' && existing.endReason === 'customer_deleted' && existing.addedAt === item.follow_info.createtime) continue;
      await upsertActiveRelation(tx, relationValues(externalUserId, item.follow_info));
      const wanted = (item.follow_info.tag_id ?? []).map((tagId) => ({ tagId, kind: ruleGroupIds.has(tagId) ? 'strategy' as const : 'corp' as const }));
      await replaceRelationTags(tx, { externalUserId, userid: item.follow_info.userid }, current.get(key) ?? [], wanted, ['corp', 'strategy'], { source: 'sync' });
    }
  });
}

async function endUnseenRelations(db: Database, userids: string[], seen: Set<string>): Promise<void> {
  const active = await db.select({ externalUserId: followRelations.externalUserId, userid: followRelations.userid })
    .from(followRelations).where(and(inArray(followRelations.userid, userids), eq(followRelations.status, 'active')));
  for (const relation of active) {
    if (!seen.has(relationKey(relation.externalUserId, relation.userid))) {
      await endRelation(db, relation.externalUserId, relation.userid, 'missing_in_wecom');
    }
  }
}
