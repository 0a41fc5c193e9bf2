import { and, eq, inArray, sql } from 'drizzle-orm';
import { randomUUID } from 'node:crypto';
import type { Queryable } from '../db/database.ts';
import { personalTags, relationTagChanges, relationTags, tags, type TagKind } from '../db/schema.ts';

/** A tag as it sits on one relation: WeCom id for corp/rule-group tags, local id for personal ones. */
export interface RelationTag {
  tagId: string;
  kind: TagKind;
}

export interface TagDiff {
  added: RelationTag[];
  removed: RelationTag[];
}

const keyOf = (externalUserId: string, userid: string): string => `${externalUserId}\u0000${userid}`;

/** Current tags of many relations of one or more customers, keyed by relation. */
export async function loadRelationTags(db: Queryable, externalUserIds: string[]): Promise<Map<string, RelationTag[]>> {
  const result = new Map<string, RelationTag[]>();
  if (externalUserIds.length === 0) return result;
  const rows = await db.select().from(relationTags).where(inArray(relationTags.externalUserId, externalUserIds));
  for (const row of rows) {
    const key = keyOf(row.externalUserId, row.userid);
    const list = result.get(key) ?? [];
    list.push({ tagId: row.tagId, kind: row.kind });
    result.set(key, list);
  }
  return result;
}

export const relationKey = keyOf;

/**
 * Makes the relation's tags of the given kinds equal to `wanted`; tags of other kinds are left alone
 * (batch sync sees no personal tags). Returns the diff, recorded for the policy engine when non-empty.
 */
export async function replaceRelationTags(
  db: Queryable,
  relation: { externalUserId: string; userid: string },
  current: RelationTag[],
  wanted: RelationTag[],
  kinds: TagKind[],
  record: { source: 'callback' | 'sync' | 'api'; inboxEventId?: number | undefined },
): Promise<TagDiff> {
  const inScope = current.filter((t) => kinds.includes(t.kind));
  const currentIds = new Set(inScope.map((t) => t.tagId));
  const wantedIds = new Set(wanted.map((t) => t.tagId));
  const added = wanted.filter((t) => !currentIds.has(t.tagId));
  const removed = inScope.filter((t) => !wantedIds.has(t.tagId));
  if (removed.length > 0) {
    await db.delete(relationTags).where(and(
      eq(relationTags.externalUserId, relation.externalUserId),
      eq(relationTags.userid, relation.userid),
      inArray(relationTags.tagId, removed.map((t) => t.tagId)),
    ));
  }
  if (added.length > 0) {
    await db.insert(relationTags)
      .values(added.map((t) => ({ ...relation, tagId: t.tagId, kind: t.kind })))
      .onConflictDoNothing();
  }
  if (added.length > 0 || removed.length > 0) {
    await db.insert(relationTagChanges).values({
      ...relation,
      added: added.map((t) => t.tagId),
      removed: removed.map((t) => t.tagId),
      source: record.source,
      inboxEventId: record.inboxEventId ?? null,
    });
  }
  return { added, removed };
}

/** Which WeCom tag ids are rule-group tags (the rest are corp tags). */
export async function strategyTagIds(db: Queryable, tagIds: string[]): Promise<Set<string>> {
  if (tagIds.length === 0) return new Set();
  const rows = await db.select({ tagId: tags.tagId }).from(tags)
    .where(and(inArray(tags.tagId, tagIds), sql`${tags.strategyId} is not null`));
  return new Set(rows.map((r) => r.tagId));
}

/** Finds or creates a member's personal tag by name (WeCom reports personal tags without ids). */
export async function personalTagId(db: Queryable, userid: string, name: string, groupName: string | undefined): Promise<string> {
  const existing = await db.select({ id: personalTags.id }).from(personalTags)
    .where(and(eq(personalTags.userid, userid), eq(personalTags.name, name)));
  if (existing[0]) return existing[0].id;
  const inserted = await db.insert(personalTags)
    .values({ id: `pt_${randomUUID()}`, userid, name, groupName: groupName ?? null })
    .onConflictDoNothing()
    .returning({ id: personalTags.id });
  if (inserted[0]) return inserted[0].id;
  const again = await db.select({ id: personalTags.id }).from(personalTags)
    .where(and(eq(personalTags.userid, userid), eq(personalTags.name, name)));
  return again[0]!.id;
}
