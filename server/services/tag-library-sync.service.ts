import { and, eq, inArray, isNotNull, isNull, notInArray, sql } from 'drizzle-orm';
import type { Database, Queryable } from '../db/database.ts';
import { relationTags, strategies, strategyRanges, tagGroups, tags } from '../db/schema.ts';
import type { WecomClient } from '../wecom/client.ts';
import type { CorpTagGroup } from '../wecom/api-types.ts';
import { bumpPolicyVersion } from './policy-version.ts';

/**
 * Keeps the local tag library equal to WeCom's: corp tag groups and tags, rule groups with their
 * ranges, and rule-group tags. Deleted tags are marked, never dropped, and taken off every customer
 * (WeCom removes a deleted tag from everyone).
 */
type GroupLike = Pick<CorpTagGroup, 'group_id' | 'group_name' | 'create_time' | 'order' | 'deleted' | 'tag'>;

async function upsertGroups(db: Queryable, groups: GroupLike[], strategyId: number | null): Promise<void> {
  await bumpPolicyVersion(db);
  for (const group of groups) {
    const deletedAt = group.deleted ? sql`coalesce(${tagGroups.deletedAt}, now())` : null;
    await db.insert(tagGroups).values({
      groupId: group.group_id, name: group.group_name, order: group.order ?? 0, createTime: group.create_time ?? null, strategyId,
      deletedAt: group.deleted ? sql`now()` : null,
    }).onConflictDoUpdate({
      target: tagGroups.groupId,
      set: { name: group.group_name, order: group.order ?? 0, createTime: group.create_time ?? null, strategyId, deletedAt, syncedAt: sql`now()` },
    });
    for (const tag of group.tag ?? []) {
      const tagDeleted = Boolean(tag.deleted || group.deleted);
      await db.insert(tags).values({
        tagId: tag.id, groupId: group.group_id, name: tag.name, order: tag.order ?? 0, createTime: tag.create_time ?? null, strategyId,
        deletedAt: tagDeleted ? sql`now()` : null,
      }).onConflictDoUpdate({
        target: tags.tagId,
        set: { groupId: group.group_id, name: tag.name, order: tag.order ?? 0, createTime: tag.create_time ?? null, strategyId, deletedAt: tagDeleted ? sql`coalesce(${tags.deletedAt}, now())` : null, syncedAt: sql`now()` },
      });
      if (tagDeleted) await db.delete(relationTags).where(eq(relationTags.tagId, tag.id));
    }
  }
}

/** Marks tags and groups that WeCom no longer lists (within one scope) as deleted. */
async function markMissingDeleted(db: Queryable, scope: { strategyId: number | null }, groupIds: string[], tagIds: string[]): Promise<void> {
  await bumpPolicyVersion(db);
  const inScopeGroups = scope.strategyId === null ? isNull(tagGroups.strategyId) : eq(tagGroups.strategyId, scope.strategyId);
  const inScopeTags = scope.strategyId === null ? isNull(tags.strategyId) : eq(tags.strategyId, scope.strategyId);
  await db.update(tagGroups).set({ deletedAt: sql`now()` })
    .where(and(inScopeGroups, isNull(tagGroups.deletedAt), groupIds.length ? notInArray(tagGroups.groupId, groupIds) : undefined));
  const gone = await db.update(tags).set({ deletedAt: sql`now()` })
    .where(and(inScopeTags, isNull(tags.deletedAt), tagIds.length ? notInArray(tags.tagId, tagIds) : undefined))
    .returning({ tagId: tags.tagId });
  if (gone.length) await db.delete(relationTags).where(inArray(relationTags.tagId, gone.map((t) => t.tagId)));
}

export async function syncCorpTagLibrary(db: Database, wecom: WecomClient): Promise<{ groups: number; tags: number }> {
  const { tag_group } = await wecom.getCorpTagList();
  await db.transaction(async (tx) => {
    await upsertGroups(tx, tag_group, null);
    await markMissingDeleted(tx, { strategyId: null }, tag_group.map((g) => g.group_id), tag_group.flatMap((g) => g.tag.map((t) => t.id)));
  });
  return { groups: tag_group.length, tags: tag_group.reduce((n, g) => n + g.tag.length, 0) };
}

/** Applies a `change_external_tag` for corp tags: by id for create/update/delete, in full for shuffle. */
export async function syncCorpTagsChanged(db: Database, wecom: WecomClient, change: { changeType: string; id?: string | undefined; tagType?: string | undefined }): Promise<void> {
  if (change.changeType === 'shuffle' || !change.id) {
    await syncCorpTagLibrary(db, wecom);
    return;
  }
  const filter = change.tagType === 'tag_group' ? { groupIds: [change.id] } : { tagIds: [change.id] };
  const { tag_group } = await wecom.getCorpTagList(filter);
  await db.transaction(async (tx) => {
    await upsertGroups(tx, tag_group, null);
    if (change.changeType === 'delete') {
      // Querying a deleted id may return it flagged `deleted` or not at all; both mean deleted.
      const returned = new Set(tag_group.flatMap((g) => (change.tagType === 'tag_group' ? [g.group_id] : g.tag.map((t) => t.id))));
      if (!returned.has(change.id!)) await markDeleted(tx, change.id!, change.tagType === 'tag_group');
    }
  });
}

async function markDeleted(db: Queryable, id: string, isGroup: boolean): Promise<void> {
  await bumpPolicyVersion(db);
  if (isGroup) await db.update(tagGroups).set({ deletedAt: sql`coalesce(${tagGroups.deletedAt}, now())` }).where(eq(tagGroups.groupId, id));
  const gone = await db.update(tags).set({ deletedAt: sql`coalesce(${tags.deletedAt}, now())` })
    .where(isGroup ? eq(tags.groupId, id) : eq(tags.tagId, id))
    .returning({ tagId: tags.tagId });
  if (gone.length) await db.delete(relationTags).where(inArray(relationTags.tagId, gone.map((t) => t.tagId)));
}

/** Re-reads one rule group's tags (on `change_external_tag` with a StrategyId). */
export async function syncStrategyTags(db: Database, wecom: WecomClient, strategyId: number): Promise<void> {
  const { tag_group } = await wecom.getStrategyTagList({ strategyId });
  await db.transaction(async (tx) => {
    await upsertGroups(tx, tag_group, strategyId);
    await markMissingDeleted(tx, { strategyId }, tag_group.map((g) => g.group_id), tag_group.flatMap((g) => g.tag.map((t) => t.id)));
  });
}

/** Every rule group this app created, with its range and tags. */
export async function syncStrategies(db: Database, wecom: WecomClient): Promise<{ strategies: number }> {
  const list = await wecom.listStrategies();
  const seen: number[] = [];
  for (const { strategy_id } of list) {
    const { strategy } = await wecom.getStrategy(strategy_id);
    const range = await wecom.getStrategyRange(strategy_id);
    await db.transaction(async (tx) => {
      await tx.insert(strategies).values({ strategyId: strategy_id, parentId: strategy.parent_id ?? null, name: strategy.strategy_name, createTime: strategy.create_time ?? null })
        .onConflictDoUpdate({ target: strategies.strategyId, set: { parentId: strategy.parent_id ?? null, name: strategy.strategy_name, createTime: strategy.create_time ?? null, deletedAt: null, syncedAt: sql`now()` } });
      await tx.delete(strategyRanges).where(eq(strategyRanges.strategyId, strategy_id));
      const keys = range.map((r) => (r.type === 1 ? `u:${r.userid}` : `d:${r.partyid}`));
      if (keys.length) await tx.insert(strategyRanges).values([...new Set(keys)].map((rangeKey) => ({ strategyId: strategy_id, rangeKey })));
      await bumpPolicyVersion(tx);
    });
    await syncStrategyTags(db, wecom, strategy_id);
    seen.push(strategy_id);
  }
  await db.update(strategies).set({ deletedAt: sql`now()` })
    .where(and(isNull(strategies.deletedAt), seen.length ? notInArray(strategies.strategyId, seen) : undefined));
  const orphanTags = await db.update(tags).set({ deletedAt: sql`now()` })
    .where(and(isNotNull(tags.strategyId), isNull(tags.deletedAt), seen.length ? notInArray(tags.strategyId, seen) : undefined))
    .returning({ tagId: tags.tagId });
  if (orphanTags.length) await db.delete(relationTags).where(inArray(relationTags.tagId, orphanTags.map((t) => t.tagId)));
  return { strategies: seen.length };
}
