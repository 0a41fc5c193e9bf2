import { and, inArray, sql } from 'drizzle-orm';
import type { Queryable } from '../db/database.ts';
import { tags, type TagKind } from '../db/schema.ts';

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

export const relationKey = keyOf;

/** Which WeCom tag ids are rule-group tags (the rest are corp tags). */
export async function strategyTagIds(db: Queryable, tagIds: string[]): Promise<Set<string>> {
  if (tagIds.length === 0) return new Set();
  const rows = await db.select({ tagId: tags.tagId }).from(tags)
    .where(and(inArray(tags.tagId, tagIds), sql`${tags.strategyId} is not null`));
  return new Set(rows.map((r) => r.tagId));
}
