import { and, eq, inArray } from 'drizzle-orm';
import type { Database } from '../db/database.ts';
import { followRelations } from '../db/schema.ts';
import type { WecomClient } from '../wecom/client.ts';
import type { BatchExternalContactItem } from '../wecom/api-types.ts';
import {
  customerDiffers, customerValues, endRelations, readCustomerState, relationDiffers, relationValues, tagDiff,
  writeActiveRelations, writeCustomers, writeRelationTagChanges, type CustomerValues, type RelationTagChange, type RelationValues,
} from './customer-rows.ts';
import { assignMissingOwners } from './ownership.service.ts';
import { relationKey } from './relation-tags.ts';

const MEMBERS_PER_CALL = 100;
/** batch/get_by_user's largest page. */
const CUSTOMERS_PER_PAGE = 100;

export interface ImportProgress {
  (done: number, total: number): Promise<void>;
}

/** Rows the import inserted or changed (all zero when WeCom holds nothing new). */
export interface ImportChanges {
  customers: number;
  relations: number;
  relationsEnded: number;
  /** Tags added to or removed from relations. */
  tags: number;
}

export interface ImportResult {
  customers: number;
  relations: number;
  /** WeCom calls made (get_follow_user_list and every batch/get_by_user page). */
  wecomCalls: number;
  changed: ImportChanges;
}

/**
 * Imports every customer with its relations and corp/rule-group tags through `batch/get_by_user`
 * (100 members a call, following cursors). Each page is compared with local state read in one
 * statement and only what differs is written (one multi-row statement per kind), so a second import
 * of the same data reads and writes nothing but the comparison. Personal tags are not in this API;
 * they come from `externalcontact/get`.
 */
export async function importCustomers(db: Database, wecom: WecomClient, onProgress: ImportProgress): Promise<ImportResult> {
  const { follow_user } = await wecom.getFollowUserList();
  let wecomCalls = 1;
  const chunks: string[][] = [];
  for (let i = 0; i < follow_user.length; i += MEMBERS_PER_CALL) chunks.push(follow_user.slice(i, i + MEMBERS_PER_CALL));
  const customersSeen = new Set<string>();
  const changed: ImportChanges = { customers: 0, relations: 0, relationsEnded: 0, tags: 0 };
  let relations = 0;
  for (const [index, chunk] of chunks.entries()) {
    const seen = new Set<string>();
    let cursor: string | undefined;
    do {
      const page = await wecom.batchGetByUser(chunk, cursor, CUSTOMERS_PER_PAGE);
      wecomCalls++;
      await applyPage(db, page.external_contact_list, changed);
      for (const item of page.external_contact_list) {
        seen.add(relationKey(item.external_contact.external_userid, item.follow_info.userid));
        customersSeen.add(item.external_contact.external_userid);
      }
      relations += page.external_contact_list.length;
      cursor = page.next_cursor || undefined;
    } while (cursor);
    changed.relationsEnded += await endUnseenRelations(db, chunk, seen);
    await onProgress(index + 1, chunks.length);
  }
  await assignMissingOwners(db);
  return { customers: customersSeen.size, relations, wecomCalls, changed };
}

async function applyPage(db: Database, items: BatchExternalContactItem[], changed: ImportChanges): Promise<void> {
  if (items.length === 0) return;
  await db.transaction(async (tx) => {
    const externalUserIds = [...new Set(items.map((i) => i.external_contact.external_userid))];
    const local = await readCustomerState(tx, externalUserIds, items.flatMap((i) => i.follow_info.tag_id ?? []));
    const customerWrites = new Map<string, CustomerValues>();
    const relationWrites: RelationValues[] = [];
    const tagChanges: RelationTagChange[] = [];
    for (const item of items) {
      const externalUserId = item.external_contact.external_userid;
      const customer = customerValues(item.external_contact);
      if (customerDiffers(local.customers.get(externalUserId), customer)) customerWrites.set(externalUserId, customer);
      const key = relationKey(externalUserId, item.follow_info.userid);
      const existing = local.relations.get(key);
      // A one-way relation (customer deleted the member) stays ended until the pair is added again.
      if (existing?.status === 'ended' && existing.endReason === 'customer_deleted' && existing.addedAt === item.follow_info.createtime) continue;
      const values = relationValues(externalUserId, item.follow_info);
      if (relationDiffers(existing, values)) relationWrites.push(values);
      const wanted = [...new Set(item.follow_info.tag_id ?? [])].map((tagId) => ({ tagId, kind: local.strategyTagIds.has(tagId) ? 'strategy' as const : 'corp' as const }));
      const diff = tagDiff(local.tags.get(key) ?? [], wanted, ['corp', 'strategy']);
      if (diff.added.length || diff.removed.length) tagChanges.push({ externalUserId, userid: item.follow_info.userid, ...diff });
    }
    changed.customers += await writeCustomers(tx, [...customerWrites.values()]);
    changed.relations += await writeActiveRelations(tx, relationWrites);
    await writeRelationTagChanges(tx, tagChanges, { source: 'sync' });
    changed.tags += tagChanges.reduce((n, c) => n + c.added.length + c.removed.length, 0);
  });
}

/** Ends the chunk's active relations WeCom no longer lists; returns how many it ended. */
async function endUnseenRelations(db: Database, userids: string[], seen: Set<string>): Promise<number> {
  const active = await db.select({ externalUserId: followRelations.externalUserId, userid: followRelations.userid })
    .from(followRelations).where(and(inArray(followRelations.userid, userids), eq(followRelations.status, 'active')));
  const gone = active.filter((r) => !seen.has(relationKey(r.externalUserId, r.userid)));
  return (await endRelations(db, gone.map((r) => ({ ...r, reason: 'missing_in_wecom' })))).size;
}
