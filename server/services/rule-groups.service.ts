import { and, eq, inArray, isNull, ne, sql } from 'drizzle-orm';
import type { AppContext } from '../context.ts';
import type { Queryable } from '../db/database.ts';
import { departments, members, strategies, strategyRanges, tagGroups, tags } from '../db/schema.ts';
import { DomainError } from '../http/domain-error.ts';
import type { StrategyPrivilege, StrategyRange } from '../wecom/api-types.ts';
import { audit } from './audit.service.ts';
import {
  assertNewTagNames, groupNamesInScope, groupView, liveGroup, liveTag, markTagsDeleted, tagNamesInGroup, upsertCreatedTags, withGoneCorrection,
  type DeletedTags, type GroupView, type NewTagInput,
} from './corp-tags.service.ts';
import { MEMBER_LEFT } from './org-sync.service.ts';
import { bumpPolicyVersion } from './policy-version.ts';
import { callWecom, serialTagLibraryWrite, wecomRefusal } from './tag-admin-wecom.ts';
import { assertName, readTagNameRules } from './tag-name-rules.service.ts';

/**
 * Rule groups (客户联系规则组) created by this app, their ranges and their tags. WeCom enforces that
 * only members in a rule group's range use its tags, and that only the creating app manages it.
 * Writes go to WeCom first, serially (WeCom forbids concurrent create/edit: one process-wide queue
 * for all tag-library writes), then to the local mirror with audit and a policy version bump.
 */

export interface RangeInput { users: string[]; departments: number[] }

export interface RuleGroupView {
  strategyId: number;
  name: string;
  parentId: number | null;
  range: RangeInput;
  groups: GroupView[];
}

const rangeKeys = (range: RangeInput): string[] => [...new Set([...range.users.map((u) => `u:${u}`), ...range.departments.map((d) => `d:${d}`)])];
const toWecomRange = (range: RangeInput): StrategyRange[] => [
  ...range.users.map((userid) => ({ type: 1 as const, userid })),
  ...range.departments.map((partyid) => ({ type: 2 as const, partyid })),
];
const fromKeys = (keys: string[]): RangeInput => ({
  users: keys.filter((k) => k.startsWith('u:')).map((k) => k.slice(2)).sort(),
  departments: keys.filter((k) => k.startsWith('d:')).map((k) => Number(k.slice(2))).sort((a, b) => a - b),
});
/** WeCom reports a top-level rule group with parent_id 0; locally 0 and null both mean none. */
const parentOf = (parentId: number | null): number | null => (parentId ? parentId : null);

export async function listRuleGroups(db: Queryable): Promise<RuleGroupView[]> {
  const rows = await db.select().from(strategies).where(isNull(strategies.deletedAt)).orderBy(strategies.strategyId);
  if (!rows.length) return [];
  const ids = rows.map((r) => r.strategyId);
  const ranges = await db.select().from(strategyRanges).where(inArray(strategyRanges.strategyId, ids));
  const groups = await db.select().from(tagGroups).where(and(inArray(tagGroups.strategyId, ids), isNull(tagGroups.deletedAt)));
  const tagRows = groups.length ? await db.select().from(tags).where(and(inArray(tags.groupId, groups.map((g) => g.groupId)), isNull(tags.deletedAt))) : [];
  return rows.map((s) => ({
    strategyId: s.strategyId,
    name: s.name,
    parentId: parentOf(s.parentId),
    range: fromKeys(ranges.filter((r) => r.strategyId === s.strategyId).map((r) => r.rangeKey)),
    groups: groups.filter((g) => g.strategyId === s.strategyId).sort((a, b) => b.order - a.order || (a.createTime ?? 0) - (b.createTime ?? 0)).map((g) => ({
      groupId: g.groupId, name: g.name, order: g.order, folderId: g.folderId, strategyId: g.strategyId,
      tags: tagRows.filter((t) => t.groupId === g.groupId).sort((a, b) => b.order - a.order || (a.createTime ?? 0) - (b.createTime ?? 0)).map((t) => ({ tagId: t.tagId, name: t.name, order: t.order })),
    })),
  }));
}

async function liveStrategy(db: Queryable, strategyId: number): Promise<typeof strategies.$inferSelect> {
  const [row] = await db.select().from(strategies).where(and(eq(strategies.strategyId, strategyId), isNull(strategies.deletedAt)));
  if (!row) throw new DomainError('NOT_FOUND', `no rule group ${strategyId} (only rule groups created by this app are managed here)`);
  return row;
}

/** One rule group, with its admins and privileges read live from WeCom (they are not mirrored). */
export async function readRuleGroup(ctx: AppContext, strategyId: number): Promise<RuleGroupView & { adminList: string[]; privilege: StrategyPrivilege }> {
  await liveStrategy(ctx.db, strategyId);
  const view = (await listRuleGroups(ctx.db)).find((s) => s.strategyId === strategyId)!;
  const { strategy } = await ctx.wecom.getStrategy(strategyId).catch((err: unknown) => {
    throw wecomRefusal(err, `rule group "${view.name}"`);
  });
  return { ...view, adminList: strategy.admin_list ?? [], privilege: strategy.privilege ?? {} };
}

/** Members must exist and not have left; departments must exist. 400 naming the unknown ones. */
async function assertKnown(db: Queryable, userids: string[], departmentIds: number[], field: string): Promise<void> {
  const unknown: string[] = [];
  if (userids.length) {
    const rows = await db.select({ userid: members.userid, status: members.status }).from(members).where(inArray(members.userid, userids));
    const live = new Set(rows.filter((r) => r.status !== MEMBER_LEFT).map((r) => r.userid));
    unknown.push(...userids.filter((u) => !live.has(u)).map((u) => `member ${u}`));
  }
  if (departmentIds.length) {
    const rows = await db.select({ id: departments.id }).from(departments).where(and(inArray(departments.id, departmentIds), isNull(departments.removedAt)));
    const known = new Set(rows.map((r) => r.id));
    unknown.push(...departmentIds.filter((d) => !known.has(d)).map((d) => `department ${d}`));
  }
  if (unknown.length) throw new DomainError('BAD_REQUEST', `${field} names what does not exist (or has left): ${[...new Set(unknown)].join(', ')}`);
}

async function siblingRuleGroupNames(db: Queryable, parentId: number | null, except?: number): Promise<string[]> {
  const rows = await db.select({ name: strategies.name, parentId: strategies.parentId }).from(strategies)
    .where(and(isNull(strategies.deletedAt), except !== undefined ? ne(strategies.strategyId, except) : undefined));
  return rows.filter((r) => parentOf(r.parentId) === parentId).map((r) => r.name);
}

export interface CreateRuleGroupInput { name: string; parentId?: number | null | undefined; adminList: string[]; range: RangeInput }

export function createRuleGroup(ctx: AppContext, actor: string, input: CreateRuleGroupInput): Promise<RuleGroupView> {
  return serialTagLibraryWrite(async () => {
    const parentId = input.parentId ?? null;
    if (parentId !== null) await liveStrategy(ctx.db, parentId);
    const rules = await readTagNameRules(ctx.db);
    assertName(input.name, 'name', { rules, label: 'rule group name', taken: await siblingRuleGroupNames(ctx.db, parentId), takenIn: parentId === null ? 'the top-level rule groups' : `rule group ${parentId}` });
    if (!input.range.users.length && !input.range.departments.length) throw new DomainError('BAD_REQUEST', 'range: a rule group needs at least one member or department');
    await assertKnown(ctx.db, input.range.users, input.range.departments, 'range');
    await assertKnown(ctx.db, input.adminList, [], 'adminList');
    const details = { name: input.name, parentId, adminList: input.adminList, range: input.range };
    const { strategy_id: strategyId } = await callWecom(ctx.db, { actor, action: 'rule_group.create', subjectType: 'rule_group', subjectId: input.name, details }, `rule group "${input.name}"`,
      () => ctx.wecom.createStrategy({ ...(parentId !== null ? { parent_id: parentId } : {}), strategy_name: input.name, admin_list: input.adminList, range: toWecomRange(input.range) }));
    return ctx.db.transaction(async (tx) => {
      await tx.insert(strategies).values({ strategyId, parentId, name: input.name })
        .onConflictDoUpdate({ target: strategies.strategyId, set: { parentId, name: input.name, deletedAt: null, syncedAt: sql`now()` } });
      await tx.delete(strategyRanges).where(eq(strategyRanges.strategyId, strategyId));
      await tx.insert(strategyRanges).values(rangeKeys(input.range).map((rangeKey) => ({ strategyId, rangeKey })));
      await audit(tx, { actor, action: 'rule_group.create', subjectType: 'rule_group', subjectId: String(strategyId), outcome: 'done', details });
      await bumpPolicyVersion(tx);
      return (await listRuleGroups(tx)).find((s) => s.strategyId === strategyId)!;
    });
  });
}

export interface UpdateRuleGroupInput { name?: string | undefined; rangeAdd?: RangeInput | undefined; rangeDel?: RangeInput | undefined; adminList?: string[] | undefined }

export function updateRuleGroup(ctx: AppContext, actor: string, strategyId: number, input: UpdateRuleGroupInput): Promise<RuleGroupView> {
  return serialTagLibraryWrite(async () => {
    const strategy = await liveStrategy(ctx.db, strategyId);
    if (input.name !== undefined) {
      const rules = await readTagNameRules(ctx.db);
      assertName(input.name, 'name', { rules, label: 'rule group name', taken: await siblingRuleGroupNames(ctx.db, parentOf(strategy.parentId), strategyId), takenIn: 'its sibling rule groups' });
    }
    const current = new Set((await ctx.db.select().from(strategyRanges).where(eq(strategyRanges.strategyId, strategyId))).map((r) => r.rangeKey));
    const add = input.rangeAdd ? rangeKeys(input.rangeAdd).filter((k) => !current.has(k)) : [];
    const del = input.rangeDel ? rangeKeys(input.rangeDel) : [];
    const notInRange = del.filter((k) => !current.has(k));
    if (notInRange.length) throw new DomainError('BAD_REQUEST', `rangeDel: not in the range of rule group "${strategy.name}": ${notInRange.map((k) => (k.startsWith('u:') ? `member ${k.slice(2)}` : `department ${k.slice(2)}`)).join(', ')}`);
    const overlap = add.filter((k) => del.includes(k));
    if (overlap.length) throw new DomainError('BAD_REQUEST', `rangeAdd and rangeDel both name ${overlap.join(', ')}`);
    const next = new Set([...current, ...add].filter((k) => !del.includes(k)));
    if (next.size === 0) throw new DomainError('BAD_REQUEST', `rangeDel would leave rule group "${strategy.name}" with an empty range; delete the rule group instead`);
    if (input.rangeAdd) await assertKnown(ctx.db, input.rangeAdd.users, input.rangeAdd.departments, 'rangeAdd');
    if (input.adminList) await assertKnown(ctx.db, input.adminList, [], 'adminList');
    const addRange = fromKeys(add);
    const delRange = fromKeys(del);
    const nameChange = input.name !== undefined && input.name !== strategy.name;
    const details = { before: { name: strategy.name }, ...(nameChange ? { name: input.name } : {}), rangeAdd: addRange, rangeDel: delRange, ...(input.adminList ? { adminList: input.adminList } : {}) };
    if (nameChange || add.length || del.length || input.adminList) {
      await callWecom(ctx.db, { actor, action: 'rule_group.update', subjectType: 'rule_group', subjectId: String(strategyId), details }, `rule group "${strategy.name}"`,
        () => ctx.wecom.editStrategy({
          strategy_id: strategyId,
          ...(nameChange ? { strategy_name: input.name } : {}),
          ...(input.adminList ? { admin_list: input.adminList } : {}),
          ...(add.length ? { range_add: toWecomRange(addRange) } : {}),
          ...(del.length ? { range_del: toWecomRange(delRange) } : {}),
        }));
    }
    return ctx.db.transaction(async (tx) => {
      if (nameChange) await tx.update(strategies).set({ name: input.name! }).where(eq(strategies.strategyId, strategyId));
      if (del.length) await tx.delete(strategyRanges).where(and(eq(strategyRanges.strategyId, strategyId), inArray(strategyRanges.rangeKey, del)));
      if (add.length) await tx.insert(strategyRanges).values(add.map((rangeKey) => ({ strategyId, rangeKey }))).onConflictDoNothing();
      await audit(tx, { actor, action: 'rule_group.update', subjectType: 'rule_group', subjectId: String(strategyId), outcome: 'done', details });
      await bumpPolicyVersion(tx);
      return (await listRuleGroups(tx)).find((s) => s.strategyId === strategyId)!;
    });
  });
}

/** Deletes the rule group in WeCom and locally, with its tags (taken off every customer). */
export function deleteRuleGroup(ctx: AppContext, actor: string, strategyId: number): Promise<DeletedTags> {
  return serialTagLibraryWrite(async () => {
    const strategy = await liveStrategy(ctx.db, strategyId);
    const children = (await ctx.db.select({ id: strategies.strategyId, name: strategies.name }).from(strategies)
      .where(and(eq(strategies.parentId, strategyId), isNull(strategies.deletedAt))));
    if (children.length) throw new DomainError('CONFLICT', `rule group "${strategy.name}" has child rule groups (${children.map((c) => `"${c.name}"`).join(', ')}): delete them first`);
    const details = { name: strategy.name };
    await callWecom(ctx.db, { actor, action: 'rule_group.delete', subjectType: 'rule_group', subjectId: String(strategyId), details }, `rule group "${strategy.name}"`,
      () => ctx.wecom.delStrategy(strategyId));
    return ctx.db.transaction(async (tx) => {
      const groupIds = (await tx.select({ groupId: tagGroups.groupId }).from(tagGroups).where(eq(tagGroups.strategyId, strategyId))).map((g) => g.groupId);
      const deleted = groupIds.length ? await markTagsDeleted(tx, { groupIds }) : { tagIds: [], groupsDeleted: [], relationsUntagged: 0, rulesRemoved: 0 };
      await tx.update(strategies).set({ deletedAt: sql`now()` }).where(eq(strategies.strategyId, strategyId));
      await tx.delete(strategyRanges).where(eq(strategyRanges.strategyId, strategyId));
      await audit(tx, { actor, action: 'rule_group.delete', subjectType: 'rule_group', subjectId: String(strategyId), outcome: 'done', details: { ...details, ...deleted } });
      await bumpPolicyVersion(tx);
      return deleted;
    });
  });
}

// ── rule-group tags ──────────────────────────────────────────────────────────────────────────────

export interface AddRuleGroupTagsInput { name?: string | undefined; groupId?: string | undefined; order?: number | undefined; tags: NewTagInput[] }

/** A new tag group in the rule group (`name`), or more tags in one of its groups (`groupId`). */
export function addRuleGroupTags(ctx: AppContext, actor: string, strategyId: number, input: AddRuleGroupTagsInput): Promise<GroupView> {
  return serialTagLibraryWrite(async () => {
    const strategy = await liveStrategy(ctx.db, strategyId);
    let groupName: string;
    if (input.groupId !== undefined) {
      const group = await liveGroup(ctx.db, input.groupId, 'strategy');
      if (group.strategyId !== strategyId) throw new DomainError('NOT_FOUND', `tag group ${input.groupId} is not in rule group "${strategy.name}"`);
      groupName = group.name;
    } else {
      groupName = input.name!;
      const rules = await readTagNameRules(ctx.db);
      assertName(groupName, 'name', { rules, label: 'group name', taken: await groupNamesInScope(ctx.db, strategyId), takenIn: `rule group "${strategy.name}" (add tags to that group with "groupId")` });
    }
    await assertNewTagNames(ctx.db, input.tags, input.groupId, groupName);
    const details = { strategyId, group: groupName, tags: input.tags.map((t) => t.name) };
    const call = () => callWecom(ctx.db, { actor, action: 'rule_group_tag.create', subjectType: 'rule_group', subjectId: String(strategyId), details }, `tags of rule group "${strategy.name}"`,
      () => ctx.wecom.addStrategyTag({
        strategy_id: strategyId,
        ...(input.groupId !== undefined ? { group_id: input.groupId } : { group_name: groupName }),
        ...(input.order !== undefined ? { order: input.order } : {}),
        tag: input.tags.map((t) => ({ name: t.name, ...(t.order !== undefined ? { order: t.order } : {}) })),
      }));
    const reply = input.groupId !== undefined ? await withGoneCorrection(ctx, { groupIds: [input.groupId] }, call) : await call();
    const group = reply.tag_group;
    return ctx.db.transaction(async (tx) => {
      await tx.insert(tagGroups).values({ groupId: group.group_id, name: group.group_name, order: group.order ?? input.order ?? 0, createTime: group.create_time ?? null, strategyId })
        .onConflictDoUpdate({ target: tagGroups.groupId, set: { name: group.group_name, strategyId, deletedAt: null, syncedAt: sql`now()` } });
      await upsertCreatedTags(tx, group.group_id, strategyId, group.tag ?? []);
      await audit(tx, { actor, action: 'rule_group_tag.create', subjectType: 'tag_group', subjectId: group.group_id, outcome: 'done', details: { ...details, tagIds: (group.tag ?? []).map((t) => t.id) } });
      await bumpPolicyVersion(tx);
      return groupView(tx, group.group_id);
    });
  });
}

/** Is the id a rule-group tag group (else it must be a rule-group tag)? WeCom's edit/del take either. */
async function ruleGroupNode(db: Queryable, id: string): Promise<{ kind: 'group'; group: typeof tagGroups.$inferSelect } | { kind: 'tag'; tag: Awaited<ReturnType<typeof liveTag>> }> {
  const [group] = await db.select().from(tagGroups).where(and(eq(tagGroups.groupId, id), isNull(tagGroups.deletedAt)));
  if (group) return { kind: 'group', group: await liveGroup(db, id, 'strategy') };
  return { kind: 'tag', tag: await liveTag(db, id, 'strategy') };
}

export interface UpdateRuleGroupTagInput { name?: string | undefined; order?: number | undefined }

export function updateRuleGroupTag(ctx: AppContext, actor: string, id: string, input: UpdateRuleGroupTagInput): Promise<{ id: string; kind: 'tag' | 'group'; name: string; order: number }> {
  return serialTagLibraryWrite(async () => {
    const node = await ruleGroupNode(ctx.db, id);
    const before = node.kind === 'group' ? { name: node.group.name, order: node.group.order } : { name: node.tag.name, order: node.tag.order };
    if (input.name !== undefined) {
      const rules = await readTagNameRules(ctx.db);
      if (node.kind === 'group') assertName(input.name, 'name', { rules, label: 'group name', taken: await groupNamesInScope(ctx.db, node.group.strategyId, id), takenIn: `rule group ${node.group.strategyId}` });
      else assertName(input.name, 'name', { rules, taken: await tagNamesInGroup(ctx.db, node.tag.groupId, id), takenIn: `group "${node.tag.groupName}"` });
    }
    const change = { ...(input.name !== undefined && input.name !== before.name ? { name: input.name } : {}), ...(input.order !== undefined && input.order !== before.order ? { order: input.order } : {}) };
    const subjectType = node.kind === 'group' ? 'tag_group' : 'tag';
    if (Object.keys(change).length) {
      await withGoneCorrection(ctx, node.kind === 'group' ? { groupIds: [id] } : { tagIds: [id] }, () => callWecom(ctx.db, { actor, action: 'rule_group_tag.update', subjectType, subjectId: id, details: change },
        `${node.kind === 'group' ? 'rule-group tag group' : 'rule-group tag'} "${before.name}"`, () => ctx.wecom.editStrategyTag({ id, ...change })));
    }
    const after = { name: input.name ?? before.name, order: input.order ?? before.order };
    return ctx.db.transaction(async (tx) => {
      if (node.kind === 'group') await tx.update(tagGroups).set(after).where(eq(tagGroups.groupId, id));
      else await tx.update(tags).set(after).where(eq(tags.tagId, id));
      await audit(tx, { actor, action: 'rule_group_tag.update', subjectType, subjectId: id, outcome: 'done', details: { before, after } });
      await bumpPolicyVersion(tx);
      return { id, kind: node.kind, ...after };
    });
  });
}

export function deleteRuleGroupTag(ctx: AppContext, actor: string, id: string): Promise<DeletedTags & { alreadyDeletedInWecom: boolean }> {
  return serialTagLibraryWrite(async () => {
    const node = await ruleGroupNode(ctx.db, id);
    const target = node.kind === 'group' ? { groupIds: [id] } : { tagIds: [id] };
    const name = node.kind === 'group' ? node.group.name : node.tag.name;
    const subjectType = node.kind === 'group' ? 'tag_group' : 'tag';
    const entry = { actor, action: 'rule_group_tag.delete', subjectType, subjectId: id, details: { name } };
    const gone = await callWecom(ctx.db, entry, `rule-group ${node.kind === 'group' ? 'tag group' : 'tag'} "${name}"`, async () => {
      await ctx.wecom.delStrategyTag(node.kind === 'group' ? { group_id: [id] } : { tag_id: [id] });
      return 'deleted' as const;
    }, { goneIsDone: true });
    return ctx.db.transaction(async (tx) => {
      const deleted = await markTagsDeleted(tx, target);
      const alreadyDeletedInWecom = gone === undefined;
      await audit(tx, { ...entry, outcome: 'done', details: { name, ...deleted, alreadyDeletedInWecom } });
      await bumpPolicyVersion(tx);
      return { ...deleted, alreadyDeletedInWecom };
    });
  });
}
