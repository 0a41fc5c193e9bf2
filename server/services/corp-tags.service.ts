import { and, eq, inArray, isNull, ne, sql } from 'drizzle-orm';
import type { AppContext } from '../context.ts';
import type { Queryable } from '../db/database.ts';
import { relationTags, strategies, strategyRanges, tagFolders, tagGroups, tags, visibilityRules, type RuleMode } from '../db/schema.ts';
import { DomainError } from '../http/domain-error.ts';
import type { CorpTag } from '../wecom/api-types.ts';
import { audit } from './audit.service.ts';
import { bumpPolicyVersion } from './policy-version.ts';
import { callWecom, serialTagLibraryWrite } from './tag-admin-wecom.ts';
import { assertMoveAllowed, checkMove, lockTagTree, requireFolder } from './tag-folders.service.ts';
import { assertName, assertNoRepeats, readTagNameRules } from './tag-name-rules.service.ts';

/**
 * Enterprise (corp) tags for admins. Every write goes to WeCom first (synchronously: the admin needs
 * its answer), then to the local mirror in one transaction with the audit entry and a policy version
 * bump. WeCom sends no callback for API changes, so the local write is the only way they arrive here;
 * changes made in WeCom's console still arrive by `change_external_tag`.
 */

export const WECOM_TAG_LIMIT = 3000;

type GroupRow = typeof tagGroups.$inferSelect;
type TagRow = typeof tags.$inferSelect;

export interface NewTagInput { name: string; order?: number | undefined }

// ── the tree ─────────────────────────────────────────────────────────────────────────────────────

interface NodeBase { id: string | number; name: string; order: number; hasRule: boolean; ruleMode: RuleMode | null }
export interface TagNode extends NodeBase { kind: 'tag'; id: string; createTime: number | null }
export interface GroupNode extends NodeBase { kind: 'group'; id: string; folderId: number | null; strategyId: number | null; createTime: number | null; children: TagNode[] }
export interface FolderNode extends NodeBase { kind: 'folder'; id: number; parentId: number | null; children: (FolderNode | GroupNode)[] }
export interface RuleGroupNode extends NodeBase {
  kind: 'rule_group'; id: number; parentId: number | null; range: { users: string[]; departments: number[] };
  children: (RuleGroupNode | GroupNode)[];
}
export type LibraryNode = FolderNode | GroupNode | TagNode | RuleGroupNode;

/** WeCom shows larger `order` first; ties by creation, then name. Folders use the same convention. */
const byOrder = (a: { order: number; createTime?: number | null; name: string }, b: { order: number; createTime?: number | null; name: string }): number =>
  b.order - a.order || (a.createTime ?? 0) - (b.createTime ?? 0) || a.name.localeCompare(b.name);

/**
 * The whole library as one tree: folders → groups → tags, corp groups outside folders at the top
 * level, then rule groups (nested by parent) with their groups and tags. Deleted nodes are left out.
 */
export async function readTagLibrary(db: Queryable): Promise<{ tree: LibraryNode[]; totals: { tags: number; limit: number } }> {
  const [folderRows, groupRows, tagRows, ruleRows, strategyRows, rangeRows] = await Promise.all([
    db.select().from(tagFolders),
    db.select().from(tagGroups).where(isNull(tagGroups.deletedAt)),
    db.select().from(tags).where(isNull(tags.deletedAt)),
    db.select({ nodeType: visibilityRules.nodeType, nodeId: visibilityRules.nodeId, mode: visibilityRules.mode }).from(visibilityRules),
    db.select().from(strategies).where(isNull(strategies.deletedAt)),
    db.select().from(strategyRanges),
  ]);
  const ruleOf = new Map(ruleRows.map((r) => [`${r.nodeType}:${r.nodeId}`, r.mode]));
  const rule = (type: string, id: string | number) => ({ hasRule: ruleOf.has(`${type}:${id}`), ruleMode: ruleOf.get(`${type}:${id}`) ?? null });

  const tagsOf = new Map<string, TagNode[]>();
  for (const t of tagRows) {
    const list = tagsOf.get(t.groupId) ?? [];
    list.push({ kind: 'tag', id: t.tagId, name: t.name, order: t.order, createTime: t.createTime, ...rule('tag', t.tagId) });
    tagsOf.set(t.groupId, list);
  }
  const groupNode = (g: GroupRow): GroupNode => ({
    kind: 'group', id: g.groupId, name: g.name, order: g.order, folderId: g.folderId, strategyId: g.strategyId, createTime: g.createTime,
    ...rule('group', g.groupId), children: (tagsOf.get(g.groupId) ?? []).sort(byOrder),
  });

  const folderIds = new Set(folderRows.map((f) => f.id));
  const folderChildren = new Map<number | null, (FolderNode | GroupNode)[]>();
  const place = (parent: number | null, node: FolderNode | GroupNode) => {
    const key = parent !== null && folderIds.has(parent) ? parent : null;
    folderChildren.set(key, [...(folderChildren.get(key) ?? []), node]);
  };
  const folderNodes = new Map<number, FolderNode>();
  for (const f of folderRows) {
    const node: FolderNode = { kind: 'folder', id: f.id, name: f.name, order: f.order, parentId: f.parentId, ...rule('folder', f.id), children: [] };
    folderNodes.set(f.id, node);
  }
  // A folder whose parent chain loops (bad data) is shown at the top level instead of disappearing.
  const reachesRoot = (id: number): boolean => {
    const seen = new Set<number>();
    for (let current: number | null = id; current !== null; current = folderNodes.get(current)?.parentId ?? null) {
      if (seen.has(current)) return false;
      seen.add(current);
      if (!folderNodes.has(current)) return true;
    }
    return true;
  };
  for (const node of folderNodes.values()) place(reachesRoot(node.id) ? node.parentId : null, node);
  for (const g of groupRows.filter((g) => g.strategyId === null)) place(g.folderId, groupNode(g));
  const sortFolderChildren = (list: (FolderNode | GroupNode)[]) => [
    ...list.filter((n) => n.kind === 'folder').sort(byOrder),
    ...list.filter((n) => n.kind === 'group').sort(byOrder),
  ];
  for (const [id, node] of folderNodes) node.children = sortFolderChildren(folderChildren.get(id) ?? []);

  const strategyIds = new Set(strategyRows.map((s) => s.strategyId));
  const ruleGroupNodes = new Map<number, RuleGroupNode>();
  for (const s of strategyRows) {
    const keys = rangeRows.filter((r) => r.strategyId === s.strategyId).map((r) => r.rangeKey);
    ruleGroupNodes.set(s.strategyId, {
      kind: 'rule_group', id: s.strategyId, name: s.name, order: 0, parentId: s.parentId, hasRule: false, ruleMode: null,
      range: { users: keys.filter((k) => k.startsWith('u:')).map((k) => k.slice(2)), departments: keys.filter((k) => k.startsWith('d:')).map((k) => Number(k.slice(2))) },
      children: groupRows.filter((g) => g.strategyId === s.strategyId).map(groupNode).sort(byOrder),
    });
  }
  const topRuleGroups: RuleGroupNode[] = [];
  for (const node of [...ruleGroupNodes.values()].sort((a, b) => a.id - b.id)) {
    const parent = node.parentId && node.parentId !== node.id && strategyIds.has(node.parentId) ? ruleGroupNodes.get(node.parentId) : undefined;
    if (parent) parent.children.unshift(node);
    else topRuleGroups.push(node);
  }
  return {
    tree: [...sortFolderChildren(folderChildren.get(null) ?? []), ...topRuleGroups],
    totals: { tags: tagRows.length, limit: WECOM_TAG_LIMIT },
  };
}

// ── shared local writes (also used for rule-group tags) ───────────────────────────────────────────

/** Inserts (or revives) tags WeCom has just created in a group. */
export async function upsertCreatedTags(tx: Queryable, groupId: string, strategyId: number | null, created: CorpTag[]): Promise<void> {
  for (const t of created) {
    await tx.insert(tags).values({ tagId: t.id, groupId, name: t.name, order: t.order ?? 0, createTime: t.create_time ?? null, strategyId })
      .onConflictDoUpdate({ target: tags.tagId, set: { groupId, name: t.name, order: t.order ?? 0, createTime: t.create_time ?? null, strategyId, deletedAt: null, syncedAt: sql`now()` } });
  }
}

export interface DeletedTags { tagIds: string[]; groupsDeleted: string[]; relationsUntagged: number; rulesRemoved: number }

/**
 * Marks tags (or whole groups) deleted as WeCom does: taken off every customer, and a group whose last
 * tag goes is deleted too. Visibility rules on the deleted nodes are removed (ids are never reused).
 */
export async function markTagsDeleted(tx: Queryable, target: { tagIds?: string[]; groupIds?: string[] }): Promise<DeletedTags> {
  const groupIds = target.groupIds ?? [];
  const byGroup = groupIds.length
    ? await tx.update(tags).set({ deletedAt: sql`now()` }).where(and(inArray(tags.groupId, groupIds), isNull(tags.deletedAt))).returning({ tagId: tags.tagId, groupId: tags.groupId })
    : [];
  const byId = target.tagIds?.length
    ? await tx.update(tags).set({ deletedAt: sql`now()` }).where(and(inArray(tags.tagId, target.tagIds), isNull(tags.deletedAt))).returning({ tagId: tags.tagId, groupId: tags.groupId })
    : [];
  const emptied: string[] = [];
  for (const groupId of new Set(byId.map((t) => t.groupId))) {
    if (groupIds.includes(groupId)) continue;
    const [left] = await tx.select({ n: sql<number>`count(*)::int` }).from(tags).where(and(eq(tags.groupId, groupId), isNull(tags.deletedAt)));
    if (left!.n === 0) emptied.push(groupId);
  }
  const groupsDeleted = [...groupIds, ...emptied];
  if (groupsDeleted.length) await tx.update(tagGroups).set({ deletedAt: sql`coalesce(${tagGroups.deletedAt}, now())` }).where(inArray(tagGroups.groupId, groupsDeleted));
  const tagIds = [...new Set([...byGroup, ...byId].map((t) => t.tagId))];
  const untagged = tagIds.length ? await tx.delete(relationTags).where(inArray(relationTags.tagId, tagIds)).returning({ tagId: relationTags.tagId }) : [];
  const rules = [
    ...(tagIds.length ? await tx.delete(visibilityRules).where(and(eq(visibilityRules.nodeType, 'tag'), inArray(visibilityRules.nodeId, tagIds))).returning({ id: visibilityRules.nodeId }) : []),
    ...(groupsDeleted.length ? await tx.delete(visibilityRules).where(and(eq(visibilityRules.nodeType, 'group'), inArray(visibilityRules.nodeId, groupsDeleted))).returning({ id: visibilityRules.nodeId }) : []),
  ];
  return { tagIds, groupsDeleted, relationsUntagged: untagged.length, rulesRemoved: rules.length };
}

/** A live group of the given scope (corp: strategyId null), else 404 pointing to the right endpoint. */
export async function liveGroup(db: Queryable, groupId: string, scope: 'corp' | 'strategy'): Promise<GroupRow> {
  const [group] = await db.select().from(tagGroups).where(and(eq(tagGroups.groupId, groupId), isNull(tagGroups.deletedAt)));
  if (!group) throw new DomainError('NOT_FOUND', `no tag group ${groupId}`);
  if (scope === 'corp' && group.strategyId !== null) throw new DomainError('NOT_FOUND', `tag group ${groupId} belongs to rule group ${group.strategyId}: use /api/admin/rule-group-tags/${groupId}`);
  if (scope === 'strategy' && group.strategyId === null) throw new DomainError('NOT_FOUND', `tag group ${groupId} is a corp tag group: use /api/admin/tag-groups/${groupId}`);
  return group;
}

export async function liveTag(db: Queryable, tagId: string, scope: 'corp' | 'strategy'): Promise<TagRow & { groupName: string }> {
  const [row] = await db.select({ tag: tags, groupName: tagGroups.name }).from(tags).innerJoin(tagGroups, eq(tagGroups.groupId, tags.groupId))
    .where(and(eq(tags.tagId, tagId), isNull(tags.deletedAt)));
  if (!row) throw new DomainError('NOT_FOUND', `no tag ${tagId}`);
  if (scope === 'corp' && row.tag.strategyId !== null) throw new DomainError('NOT_FOUND', `tag ${tagId} belongs to rule group ${row.tag.strategyId}: use /api/admin/rule-group-tags/${tagId}`);
  if (scope === 'strategy' && row.tag.strategyId === null) throw new DomainError('NOT_FOUND', `tag ${tagId} is a corp tag: use /api/admin/tags/${tagId}`);
  return { ...row.tag, groupName: row.groupName };
}

/** Names of the other live tags of a group (where a tag name must be unique). */
export async function tagNamesInGroup(db: Queryable, groupId: string, exceptTagId?: string): Promise<string[]> {
  const rows = await db.select({ name: tags.name }).from(tags)
    .where(and(eq(tags.groupId, groupId), isNull(tags.deletedAt), exceptTagId ? ne(tags.tagId, exceptTagId) : undefined));
  return rows.map((r) => r.name);
}

/** Names of the other live groups of a scope (corp groups, or one rule group's groups). */
export async function groupNamesInScope(db: Queryable, strategyId: number | null, exceptGroupId?: string): Promise<string[]> {
  const rows = await db.select({ name: tagGroups.name }).from(tagGroups)
    .where(and(strategyId === null ? isNull(tagGroups.strategyId) : eq(tagGroups.strategyId, strategyId), isNull(tagGroups.deletedAt), exceptGroupId ? ne(tagGroups.groupId, exceptGroupId) : undefined));
  return rows.map((r) => r.name);
}

/** Validates the names of tags to add to a group (400/409 naming the field and character). */
export async function assertNewTagNames(db: Queryable, newTags: NewTagInput[], groupId: string | undefined, groupName: string): Promise<void> {
  const rules = await readTagNameRules(db);
  const taken = groupId ? await tagNamesInGroup(db, groupId) : [];
  newTags.forEach((t, i) => assertName(t.name, `tags[${i}].name`, { rules, taken, takenIn: `group "${groupName}"` }));
  assertNoRepeats(newTags.map((t) => t.name), 'tags');
}

export interface GroupView { groupId: string; name: string; order: number; folderId: number | null; strategyId: number | null; tags: { tagId: string; name: string; order: number }[] }

export async function groupView(db: Queryable, groupId: string): Promise<GroupView> {
  const [group] = await db.select().from(tagGroups).where(eq(tagGroups.groupId, groupId));
  const rows = await db.select().from(tags).where(and(eq(tags.groupId, groupId), isNull(tags.deletedAt)));
  return {
    groupId, name: group!.name, order: group!.order, folderId: group!.folderId, strategyId: group!.strategyId,
    tags: rows.sort((a, b) => b.order - a.order || (a.createTime ?? 0) - (b.createTime ?? 0)).map((t) => ({ tagId: t.tagId, name: t.name, order: t.order })),
  };
}

// ── corp tag groups and tags ─────────────────────────────────────────────────────────────────────

export interface CreateGroupInput { name: string; order?: number | undefined; folderId?: number | null | undefined; tags: NewTagInput[] }

export function createTagGroup(ctx: AppContext, actor: string, input: CreateGroupInput): Promise<GroupView> {
  return serialTagLibraryWrite(async () => {
    const rules = await readTagNameRules(ctx.db);
    assertName(input.name, 'name', { rules, label: 'group name', taken: await groupNamesInScope(ctx.db, null), takenIn: 'the corp tag library (add tags to that group with POST /api/admin/tag-groups/:groupId/tags)' });
    await assertNewTagNames(ctx.db, input.tags, undefined, input.name);
    const folderId = input.folderId ?? null;
    await requireFolder(ctx.db, folderId, 'folderId');
    const details = { name: input.name, order: input.order ?? null, folderId, tags: input.tags.map((t) => t.name) };
    const reply = await callWecom(ctx.db, { actor, action: 'tag_group.create', subjectType: 'tag_group', subjectId: input.name, details }, `tag group "${input.name}"`,
      () => ctx.wecom.addCorpTag({ group_name: input.name, ...(input.order !== undefined ? { order: input.order } : {}), tag: input.tags.map((t) => ({ name: t.name, ...(t.order !== undefined ? { order: t.order } : {}) })) }));
    const group = reply.tag_group;
    return ctx.db.transaction(async (tx) => {
      await tx.insert(tagGroups).values({ groupId: group.group_id, folderId, name: group.group_name, order: group.order ?? input.order ?? 0, createTime: group.create_time ?? null, strategyId: null })
        .onConflictDoUpdate({ target: tagGroups.groupId, set: { name: group.group_name, order: group.order ?? input.order ?? 0, deletedAt: null, syncedAt: sql`now()` } });
      await upsertCreatedTags(tx, group.group_id, null, group.tag ?? []);
      await audit(tx, { actor, action: 'tag_group.create', subjectType: 'tag_group', subjectId: group.group_id, outcome: 'done', details: { ...details, tagIds: (group.tag ?? []).map((t) => t.id) } });
      await bumpPolicyVersion(tx);
      return groupView(tx, group.group_id);
    });
  });
}

export function addTagsToGroup(ctx: AppContext, actor: string, groupId: string, newTags: NewTagInput[]): Promise<GroupView> {
  return serialTagLibraryWrite(async () => {
    const group = await liveGroup(ctx.db, groupId, 'corp');
    await assertNewTagNames(ctx.db, newTags, groupId, group.name);
    const details = { group: group.name, tags: newTags.map((t) => t.name) };
    const reply = await withGoneCorrection(ctx, { groupIds: [groupId] }, () => callWecom(ctx.db, { actor, action: 'tag.create', subjectType: 'tag_group', subjectId: groupId, details }, `tag group "${group.name}"`,
      () => ctx.wecom.addCorpTag({ group_id: groupId, tag: newTags.map((t) => ({ name: t.name, ...(t.order !== undefined ? { order: t.order } : {}) })) })));
    return ctx.db.transaction(async (tx) => {
      await upsertCreatedTags(tx, groupId, null, reply.tag_group.tag ?? []);
      await audit(tx, { actor, action: 'tag.create', subjectType: 'tag_group', subjectId: groupId, outcome: 'done', details: { ...details, tagIds: (reply.tag_group.tag ?? []).map((t) => t.id) } });
      await bumpPolicyVersion(tx);
      return groupView(tx, groupId);
    });
  });
}

/**
 * When WeCom answers 40068 (it no longer has the tag or group: deleted in its console, and the
 * callback not yet processed), the local mirror is corrected before the 409 goes out.
 */
export async function withGoneCorrection<T>(ctx: AppContext, target: { tagIds?: string[]; groupIds?: string[] }, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof DomainError && err.code === 'WECOM_NOT_FOUND') {
      await ctx.db.transaction(async (tx) => {
        const deleted = await markTagsDeleted(tx, target);
        await audit(tx, { actor: null, action: 'tag_library.correct', subjectType: target.groupIds?.length ? 'tag_group' : 'tag', subjectId: [...(target.groupIds ?? []), ...(target.tagIds ?? [])].join(','), outcome: 'done', details: { reason: 'WeCom answered 40068 (not found)', ...deleted } });
        await bumpPolicyVersion(tx);
      });
    }
    throw err;
  }
}

export interface UpdateGroupInput { name?: string | undefined; order?: number | undefined; folderId?: number | null | undefined; acknowledgeWidening?: boolean | undefined }

export function updateTagGroup(ctx: AppContext, actor: string, groupId: string, input: UpdateGroupInput): Promise<GroupView & { widened: string[] }> {
  return serialTagLibraryWrite(async () => {
    const group = await liveGroup(ctx.db, groupId, 'corp');
    if (input.name !== undefined) {
      const rules = await readTagNameRules(ctx.db);
      assertName(input.name, 'name', { rules, label: 'group name', taken: await groupNamesInScope(ctx.db, null, groupId), takenIn: 'the corp tag library' });
    }
    const folderId = input.folderId === undefined ? group.folderId : input.folderId;
    const moving = folderId !== group.folderId;
    const where = await requireFolder(ctx.db, folderId, 'folderId');
    const what = `moving group "${group.name}" to ${where}`;
    if (moving) {
      const check = await checkMove(ctx, ctx.db, { type: 'group', id: groupId, folderId });
      try {
        assertMoveAllowed(check, what, input.acknowledgeWidening ?? false);
      } catch (err) {
        await ctx.db.transaction((tx) => audit(tx, { actor, action: 'tag_group.move', subjectType: 'tag_group', subjectId: groupId, outcome: 'denied', details: { from: group.folderId, to: folderId, ...check } }));
        throw err;
      }
    }
    const wecomChange = { ...(input.name !== undefined && input.name !== group.name ? { name: input.name } : {}), ...(input.order !== undefined && input.order !== group.order ? { order: input.order } : {}) };
    if (Object.keys(wecomChange).length) {
      await withGoneCorrection(ctx, { groupIds: [groupId] }, () => callWecom(ctx.db, { actor, action: 'tag_group.update', subjectType: 'tag_group', subjectId: groupId, details: wecomChange }, `tag group "${group.name}"`,
        () => ctx.wecom.editCorpTag({ id: groupId, ...wecomChange })));
    }
    let refusal: unknown;
    const result = await ctx.db.transaction(async (tx) => {
      await lockTagTree(tx);
      let moveTo = folderId;
      let widened: string[] = [];
      if (moving) {
        // Checked again inside the transaction: a rule may have changed while WeCom answered.
        const check = await checkMove(ctx, tx, { type: 'group', id: groupId, folderId });
        try {
          assertMoveAllowed(check, what, input.acknowledgeWidening ?? false);
          widened = check.widening;
        } catch (err) {
          refusal = err;
          moveTo = group.folderId;
        }
      }
      await tx.update(tagGroups).set({ name: input.name ?? group.name, order: input.order ?? group.order, folderId: moveTo }).where(eq(tagGroups.groupId, groupId));
      await audit(tx, {
        actor, action: 'tag_group.update', subjectType: 'tag_group', subjectId: groupId, outcome: 'done',
        details: {
          before: { name: group.name, order: group.order, folderId: group.folderId },
          after: { name: input.name ?? group.name, order: input.order ?? group.order, folderId: moveTo },
          ...(widened.length ? { widened } : {}), ...(refusal ? { moveRefused: (refusal as Error).message } : {}),
        },
      });
      await bumpPolicyVersion(tx);
      return { ...(await groupView(tx, groupId)), widened };
    });
    if (refusal) throw refusal;
    return result;
  });
}

export interface UpdateTagInput { name?: string | undefined; order?: number | undefined }

export function updateTag(ctx: AppContext, actor: string, tagId: string, input: UpdateTagInput): Promise<{ tagId: string; name: string; order: number; groupId: string }> {
  return serialTagLibraryWrite(async () => {
    const tag = await liveTag(ctx.db, tagId, 'corp');
    if (input.name !== undefined) {
      const rules = await readTagNameRules(ctx.db);
      assertName(input.name, 'name', { rules, taken: await tagNamesInGroup(ctx.db, tag.groupId, tagId), takenIn: `group "${tag.groupName}"` });
    }
    const change = { ...(input.name !== undefined && input.name !== tag.name ? { name: input.name } : {}), ...(input.order !== undefined && input.order !== tag.order ? { order: input.order } : {}) };
    if (Object.keys(change).length) {
      await withGoneCorrection(ctx, { tagIds: [tagId] }, () => callWecom(ctx.db, { actor, action: 'tag.update', subjectType: 'tag', subjectId: tagId, details: change }, `tag "${tag.name}"`,
        () => ctx.wecom.editCorpTag({ id: tagId, ...change })));
    }
    return ctx.db.transaction(async (tx) => {
      const [updated] = await tx.update(tags).set({ name: input.name ?? tag.name, order: input.order ?? tag.order }).where(eq(tags.tagId, tagId))
        .returning({ tagId: tags.tagId, name: tags.name, order: tags.order, groupId: tags.groupId });
      await audit(tx, { actor, action: 'tag.update', subjectType: 'tag', subjectId: tagId, outcome: 'done', details: { group: tag.groupName, before: { name: tag.name, order: tag.order }, after: { name: updated!.name, order: updated!.order } } });
      await bumpPolicyVersion(tx);
      return updated!;
    });
  });
}

/**
 * Deletes in WeCom, then locally (taken off every customer). A 40068 from WeCom means it is already
 * gone there: the local mirror is simply brought in line.
 */
async function deleteCorp(ctx: AppContext, actor: string, target: { tagIds?: string[]; groupIds?: string[] }, subject: string, details: Record<string, unknown>): Promise<DeletedTags & { alreadyDeletedInWecom: boolean }> {
  const isGroup = Boolean(target.groupIds?.length);
  const entry = { actor, action: isGroup ? 'tag_group.delete' : 'tag.delete', subjectType: isGroup ? 'tag_group' : 'tag', subjectId: [...(target.groupIds ?? []), ...(target.tagIds ?? [])].join(','), details };
  const gone = await callWecom(ctx.db, entry, subject, async () => {
    await ctx.wecom.delCorpTag({ ...(isGroup ? { group_id: target.groupIds } : { tag_id: target.tagIds }) });
    return 'deleted' as const;
  }, { goneIsDone: true });
  return ctx.db.transaction(async (tx) => {
    const deleted = await markTagsDeleted(tx, target);
    const alreadyDeletedInWecom = gone === undefined;
    await audit(tx, { ...entry, outcome: 'done', details: { ...details, ...deleted, alreadyDeletedInWecom } });
    await bumpPolicyVersion(tx);
    return { ...deleted, alreadyDeletedInWecom };
  });
}

export function deleteTag(ctx: AppContext, actor: string, tagId: string): Promise<DeletedTags & { alreadyDeletedInWecom: boolean }> {
  return serialTagLibraryWrite(async () => {
    const tag = await liveTag(ctx.db, tagId, 'corp');
    return deleteCorp(ctx, actor, { tagIds: [tagId] }, `tag "${tag.name}"`, { name: tag.name, group: tag.groupName, groupId: tag.groupId });
  });
}

export function deleteTagGroup(ctx: AppContext, actor: string, groupId: string): Promise<DeletedTags & { alreadyDeletedInWecom: boolean }> {
  return serialTagLibraryWrite(async () => {
    const group = await liveGroup(ctx.db, groupId, 'corp');
    return deleteCorp(ctx, actor, { groupIds: [groupId] }, `tag group "${group.name}"`, { name: group.name });
  });
}
