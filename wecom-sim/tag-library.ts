// The corp tag library and rule-group tag libraries share one store (CorpState.tagGroups) and one
// set of rules: names <= 30 characters (40072), no duplicate names (40071), at most 3000 tags in
// all (40126), and — for API callers — an app may edit or delete only what it created (60011).
// The admin console (POST /sim/admin/tags) uses the same functions as actor 'console'.
import { fail } from './errors.ts';
import { MAX_TAGS } from './state.ts';
import type { CorpState, Creator, Tag, TagGroup } from './state.ts';
import { checkName } from './api/common.ts';

export type Actor = 'app' | 'console';

export function groupView(group: TagGroup, tags: Tag[] = group.tags.filter((t) => !t.deleted), withDeleted = false) {
  const view: Record<string, unknown> = {
    group_id: group.group_id,
    group_name: group.group_name,
    create_time: group.create_time,
    order: group.order,
  };
  if (group.strategyId !== undefined) view.strategy_id = group.strategyId;
  if (withDeleted) view.deleted = group.deleted;
  view.tag = tags.map((t) => {
    const tag: Record<string, unknown> = { id: t.id, name: t.name, create_time: t.create_time, order: t.order };
    if (withDeleted) tag.deleted = t.deleted;
    return tag;
  });
  return view;
}

/** get_corp_tag_list / get_strategy_tag_list filtering: group_id wins over tag_id; both empty = all. */
export function listGroups(corp: CorpState, groups: TagGroup[], tagIds: string[], groupIds: string[]) {
  if (groupIds.length > 0) {
    return groups.filter((g) => groupIds.includes(g.group_id)).map((g) => groupView(g, g.tags, true));
  }
  if (tagIds.length > 0) {
    return groups
      .map((g) => ({ g, tags: g.tags.filter((t) => tagIds.includes(t.id)) }))
      .filter(({ tags }) => tags.length > 0)
      .map(({ g, tags }) => groupView(g, tags, true));
  }
  return groups.filter((g) => !g.deleted).map((g) => groupView(g));
}

export interface AddTagsInput {
  group_id?: string;
  group_name?: string;
  order?: number;
  tag: { name: string; order?: number }[];
  strategyId?: number;
}

/** add_corp_tag / add_strategy_tag semantics; returns the group with only the tags just created. */
export function addTags(corp: CorpState, now: number, input: AddTagsInput, createdBy: Creator) {
  let group: TagGroup | undefined;
  if (input.group_id) {
    group = corp.findGroup(input.group_id);
    if (!group || group.strategyId !== input.strategyId) fail(40068, input.group_id);
  } else {
    const name = checkName(input.group_name);
    group = corp.liveGroups(input.strategyId).find((g) => g.group_name === name);
  }
  if (input.tag.length === 0) fail(40058, 'tag must not be empty (no empty groups)');
  const unique = new Map<string, { name: string; order?: number }>();
  for (const t of input.tag) unique.set(checkName(t.name), t);
  const existing = new Set(group?.tags.filter((t) => !t.deleted).map((t) => t.name) ?? []);
  for (const name of unique.keys()) if (existing.has(name)) fail(40071, name);
  if (corp.liveTagCount() + unique.size > MAX_TAGS) fail(40126);
  if (!group) {
    group = {
      group_id: corp.ids.next('group'),
      group_name: input.group_name!,
      create_time: now,
      order: input.order ?? 0,
      deleted: false,
      createdBy,
      tags: [],
    };
    if (input.strategyId !== undefined) group.strategyId = input.strategyId;
    corp.tagGroups.push(group);
  }
  const created: Tag[] = [...unique.values()].map((t) => ({
    id: corp.ids.next('tag'),
    name: t.name,
    create_time: now,
    order: t.order ?? 0,
    deleted: false,
    createdBy,
  }));
  group.tags.push(...created);
  return { group, created };
}

/** Who owns a tag or group: strategy tags belong to their rule group's creator. */
function ownerOf(corp: CorpState, group: TagGroup, tag?: Tag): Creator {
  if (group.strategyId !== undefined) return corp.strategy(group.strategyId)?.createdBy ?? 'console';
  return tag ? tag.createdBy : group.createdBy;
}

function checkOwner(corp: CorpState, actor: Actor, group: TagGroup, tag?: Tag): void {
  if (actor === 'app' && ownerOf(corp, group, tag) !== 'app') fail(60011, `${tag?.id ?? group.group_id} was not created by this app`);
}

/** edit_corp_tag / edit_strategy_tag: `id` is a tag or a group. Returns what changed. */
export function editTag(
  corp: CorpState,
  actor: Actor,
  input: { id: string; name?: string; order?: number },
  strategyScope: 'corp' | 'strategy',
): { kind: 'tag' | 'tag_group'; group: TagGroup } {
  const inScope = (g: TagGroup) => (strategyScope === 'corp' ? g.strategyId === undefined : g.strategyId !== undefined);
  const group = corp.findGroup(input.id);
  if (group && inScope(group)) {
    checkOwner(corp, actor, group);
    if (input.name !== undefined) {
      const name = checkName(input.name);
      if (corp.liveGroups(group.strategyId).some((g) => g !== group && g.group_name === name)) fail(40071, name);
      group.group_name = name;
    }
    if (input.order !== undefined) group.order = input.order;
    return { kind: 'tag_group', group };
  }
  const found = corp.findTag(input.id);
  if (!found || !inScope(found.group)) fail(40068, input.id);
  checkOwner(corp, actor, found.group, found.tag);
  if (input.name !== undefined) {
    const name = checkName(input.name);
    if (found.group.tags.some((t) => t !== found.tag && !t.deleted && t.name === name)) fail(40071, name);
    found.tag.name = name;
  }
  if (input.order !== undefined) found.tag.order = input.order;
  return { kind: 'tag', group: found.group };
}

/**
 * del_corp_tag / del_strategy_tag. All ids are checked before anything is deleted, so a bad id
 * leaves the library untouched. Deleting a group's last tag deletes the group.
 */
export function deleteTags(
  corp: CorpState,
  actor: Actor,
  tagIds: string[],
  groupIds: string[],
  strategyScope: 'corp' | 'strategy',
): { tags: Tag[]; groups: TagGroup[] } {
  if (tagIds.length === 0 && groupIds.length === 0) fail(40058, 'tag_id and group_id are both empty');
  const inScope = (g: TagGroup) => (strategyScope === 'corp' ? g.strategyId === undefined : g.strategyId !== undefined);
  const groups = groupIds.map((id) => {
    const g = corp.findGroup(id);
    if (!g || !inScope(g)) fail(40068, id);
    checkOwner(corp, actor, g);
    return g;
  });
  const tags = tagIds.map((id) => {
    const found = corp.findTag(id);
    if (!found || !inScope(found.group)) fail(40068, id);
    checkOwner(corp, actor, found.group, found.tag);
    return found;
  });
  const removed = new Set<string>();
  for (const g of groups) {
    g.deleted = true;
    for (const t of g.tags) {
      t.deleted = true;
      removed.add(t.id);
    }
  }
  const emptied: TagGroup[] = [];
  for (const { tag, group } of tags) {
    tag.deleted = true;
    removed.add(tag.id);
    if (!group.deleted && group.tags.every((t) => t.deleted)) {
      group.deleted = true;
      emptied.push(group);
    }
  }
  corp.forgetTags(removed);
  return { tags: tags.map((t) => t.tag), groups: [...groups, ...emptied] };
}

/**
 * Whether `userid` may put tag `id` on a customer. Rule-group tags are usable only by members in the
 * rule group's range; through the API additionally only when the rule group was created by this app.
 * `actor` 'console' stands for the member's own WeCom client, where only the range rule applies.
 */
export function checkUsableTag(corp: CorpState, actor: Actor, userid: string, id: string): Tag {
  const found = corp.findTag(id) ?? fail(40068, id);
  const strategyId = found.group.strategyId;
  if (strategyId !== undefined) {
    const strategy = corp.strategy(strategyId) ?? fail(40068, id);
    if (actor === 'app' && strategy.createdBy !== 'app') fail(60011, `rule group ${strategyId} was not created by this app`);
    if (!corp.inRange(strategy.range, userid)) fail(60011, `${userid} is outside rule group ${strategyId}`);
  }
  return found.tag;
}
