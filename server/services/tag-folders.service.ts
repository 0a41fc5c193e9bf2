import { and, eq, isNull, sql } from 'drizzle-orm';
import type { AppContext } from '../context.ts';
import type { Database, Queryable } from '../db/database.ts';
import { tagFolders, tagGroups, visibilityRules, type PolicyNodeType } from '../db/schema.ts';
import { DomainError } from '../http/domain-error.ts';
import { reason, type Reason } from '../http/reason.ts';
import { TagPolicy, type PolicyData, type PolicyRule } from '../policy/tag-policy.ts';
import { audit } from './audit.service.ts';
import { bumpPolicyVersion } from './policy-version.ts';
import { serialTagLibraryWrite } from './tag-admin-wecom.ts';
import { assertName, readTagNameRules } from './tag-name-rules.service.ts';
import { loadPolicyData, policyMembersNamed } from './tag-policy.service.ts';

/**
 * Folders: a local tree above WeCom's groups (WeCom knows nothing of them). Moving a folder or a group
 * is checked against the visibility rules with the move applied:
 * - a rule on the moved node or below it that would be wider than a rule of its new ancestors is a
 *   conflict, refused (409 VISIBILITY_WIDENED naming the rule and the ancestor);
 * - a rule of an old ancestor that would stop applying, with nothing on the new path at least as
 *   narrow, widens who sees or uses the tags: refused unless the admin sends
 *   `"acknowledgeWidening": true` (then done and audited with what widened).
 * A folder is deleted only when empty: moving its children up could drop its rule and widen them.
 */

export type TreeMove =
  | { type: 'folder'; id: number; parentId: number | null }
  | { type: 'group'; id: string; folderId: number | null };

export interface MoveCheck {
  /** Rules in the moved subtree that would be wider than their new ancestors (always refused). */
  conflicts: string[];
  /** Old ancestors' rules that would stop applying (refused unless acknowledged). */
  widening: string[];
  /** `conflicts` and `widening` as codes with parameters (same order), for the web app. */
  conflictReasons: Reason[];
  wideningReasons: Reason[];
}

const NODE_WORD: Record<PolicyNodeType, string> = { folder: 'folder', group: 'group', tag: 'tag' };

/** Serialises tree changes across processes too (the admin API may run in several). */
export async function lockTagTree(tx: Queryable): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(hashtext('tag_tree'))`);
}

function applyMove(data: PolicyData, move: TreeMove): PolicyData {
  return move.type === 'folder'
    ? { ...data, folders: data.folders.map((f) => (f.id === move.id ? { ...f, parentId: move.parentId } : f)) }
    : { ...data, groups: data.groups.map((g) => (g.groupId === move.id ? { ...g, folderId: move.folderId } : g)) };
}

function nameOf(policy: TagPolicy, type: PolicyNodeType, id: string): string {
  return policy.pathOf(type, id).at(-1)?.name ?? id;
}

function label(policy: TagPolicy, type: PolicyNodeType, id: string): string {
  return `${NODE_WORD[type]} "${nameOf(policy, type, id)}"`;
}

/** What a move would do to the visibility rules (computed on the policy data with the move applied). */
export async function checkMove(ctx: AppContext, tx: Queryable, move: TreeMove): Promise<MoveCheck> {
  const data = await loadPolicyData(tx);
  const before = new TagPolicy(data);
  const after = new TagPolicy(applyMove(data, move));
  const nodeId = String(move.id);
  const subtreeRules = [before.ruleOf(move.type, nodeId), ...before.descendantRules(move.type, nodeId)].filter((r): r is PolicyRule => Boolean(r));
  const newPath = after.pathOf(move.type, nodeId);
  const newPathRules = newPath.map((n) => after.ruleOf(n.type, n.id)).filter((r): r is PolicyRule => Boolean(r));
  const oldAncestors = before.pathOf(move.type, nodeId).slice(0, -1);
  const oldRules = oldAncestors.map((n) => ({ node: n, rule: before.ruleOf(n.type, n.id) }))
    .filter((x): x is { node: typeof x.node; rule: PolicyRule } => Boolean(x.rule))
    .filter(({ node }) => !newPath.some((n) => n.type === node.type && n.id === node.id));
  if (!subtreeRules.length && !oldRules.length) return { conflicts: [], widening: [], conflictReasons: [], wideningReasons: [] };

  const named = [...subtreeRules, ...newPathRules].flatMap((r) => [...r.see.users, ...r.use.users]);
  // Read inside the transaction: PGlite runs one transaction at a time, so ctx.db would wait forever here.
  const members = await policyMembersNamed(tx as Database, named, ctx.config.adminUserIds);
  const memberOf = (userid: string) => members.get(userid);

  const conflicts: string[] = [];
  const conflictReasons: Reason[] = [];
  for (const rule of subtreeRules) {
    const existing = new Set(before.validateRule(rule.nodeType, rule.nodeId, rule.see, rule.use, memberOf));
    for (const problem of after.ruleProblems(rule.nodeType, rule.nodeId, rule.see, rule.use, memberOf)) {
      if (existing.has(problem.text)) continue;
      conflicts.push(`the rule on ${label(after, rule.nodeType, rule.nodeId)} would be ${problem.text}`);
      conflictReasons.push(reason('move.rule_would_be', { nodeType: rule.nodeType, node: nameOf(after, rule.nodeType, rule.nodeId), problem: { ...problem.reason } }));
    }
  }
  const widening: string[] = [];
  const wideningReasons: Reason[] = [];
  const moved = label(before, move.type, nodeId);
  const movedParams = { movedType: move.type, moved: nameOf(before, move.type, nodeId) };
  for (const { node, rule } of oldRules) {
    const seeKept = newPathRules.some((r) => after.uncovered(r.see, rule.see, memberOf).length === 0);
    const useKept = newPathRules.some((r) => after.uncovered(r.use, rule.use, memberOf).length === 0);
    if (!seeKept) {
      widening.push(`the rule on ${NODE_WORD[node.type]} "${node.name}" (see: ${before.describeAudience(rule.see)}) would no longer limit who sees ${moved}`);
      wideningReasons.push(reason('move.no_longer_limits', { nodeType: node.type, node: node.name, side: 'see', audience: before.audienceParam(rule.see), ...movedParams }));
    } else if (!useKept) {
      widening.push(`the rule on ${NODE_WORD[node.type]} "${node.name}" (use: ${before.describeAudience(rule.use)}) would no longer limit who uses ${moved}`);
      wideningReasons.push(reason('move.no_longer_limits', { nodeType: node.type, node: node.name, side: 'use', audience: before.audienceParam(rule.use), ...movedParams }));
    }
  }
  return { conflicts, widening, conflictReasons, wideningReasons };
}

/** Throws VISIBILITY_WIDENED when the move conflicts, or widens without acknowledgement. */
export function assertMoveAllowed(check: MoveCheck, what: string, acknowledgeWidening: boolean): void {
  if (check.conflicts.length) {
    throw new DomainError('VISIBILITY_WIDENED', `${what} is refused: ${check.conflicts.join('; ')}. Narrow that rule first or choose another place.`, { conflicts: check.conflicts, widening: check.widening },
      reason('move.refused', { problems: check.conflictReasons.map((r) => ({ ...r })) }));
  }
  if (check.widening.length && !acknowledgeWidening) {
    throw new DomainError('VISIBILITY_WIDENED', `${what} would widen visibility: ${check.widening.join('; ')}. Send "acknowledgeWidening": true to move it anyway.`, { conflicts: [], widening: check.widening },
      reason('move.widens', { problems: check.wideningReasons.map((r) => ({ ...r })) }));
  }
}

export interface FolderView { id: number; name: string; parentId: number | null; order: number }

async function folderById(tx: Queryable, id: number): Promise<FolderView> {
  const [folder] = await tx.select({ id: tagFolders.id, name: tagFolders.name, parentId: tagFolders.parentId, order: tagFolders.order }).from(tagFolders).where(eq(tagFolders.id, id));
  if (!folder) throw new DomainError('NOT_FOUND', `no tag folder ${id}`);
  return folder;
}

/** The parent folder must exist; returns its name for messages (top level when null). */
export async function requireFolder(tx: Queryable, id: number | null, field: string): Promise<string> {
  if (id === null) return 'the top level';
  const [folder] = await tx.select({ name: tagFolders.name }).from(tagFolders).where(eq(tagFolders.id, id));
  if (!folder) throw new DomainError('NOT_FOUND', `${field}: no tag folder ${id}`);
  return `folder "${folder.name}"`;
}

async function siblingNames(tx: Queryable, parentId: number | null, except?: number): Promise<string[]> {
  const rows = await tx.select({ id: tagFolders.id, name: tagFolders.name }).from(tagFolders)
    .where(parentId === null ? isNull(tagFolders.parentId) : eq(tagFolders.parentId, parentId));
  return rows.filter((r) => r.id !== except).map((r) => r.name);
}

/** Refuses a move that would put a folder inside itself, naming the loop. */
async function assertNoCycle(tx: Queryable, folder: FolderView, parentId: number | null): Promise<void> {
  if (parentId === null) return;
  const rows = await tx.select({ id: tagFolders.id, name: tagFolders.name, parentId: tagFolders.parentId }).from(tagFolders);
  const byId = new Map(rows.map((r) => [r.id, r]));
  const chain: string[] = [];
  const seen = new Set<number>();
  for (let current: number | null = parentId; current !== null && !seen.has(current); current = byId.get(current)?.parentId ?? null) {
    seen.add(current);
    chain.unshift(byId.get(current)?.name ?? `#${current}`);
    if (current === folder.id) {
      const loop = [...chain, folder.name].map((n) => `"${n}"`).join(' → ');
      throw new DomainError('FOLDER_CYCLE', `folder "${folder.name}" cannot move into ${parentId === folder.id ? 'itself' : 'its own sub-folder'}: that would make the loop ${loop}`, { loop: [...chain, folder.name] });
    }
  }
}

export interface CreateFolderInput { name: string; parentId?: number | null | undefined; order?: number | undefined }

export function createFolder(ctx: AppContext, actor: string, input: CreateFolderInput): Promise<FolderView> {
  return serialTagLibraryWrite(() => ctx.db.transaction(async (tx) => {
    await lockTagTree(tx);
    const parentId = input.parentId ?? null;
    const where = await requireFolder(tx, parentId, 'parentId');
    const rules = await readTagNameRules(tx);
    assertName(input.name, 'name', { rules, label: 'folder name', taken: await siblingNames(tx, parentId), takenIn: where });
    const [folder] = await tx.insert(tagFolders).values({ name: input.name, parentId, order: input.order ?? 0 })
      .returning({ id: tagFolders.id, name: tagFolders.name, parentId: tagFolders.parentId, order: tagFolders.order });
    await audit(tx, { actor, action: 'tag_folder.create', subjectType: 'tag_folder', subjectId: String(folder!.id), outcome: 'done', details: { name: input.name, parentId, order: folder!.order } });
    await bumpPolicyVersion(tx);
    return folder!;
  }));
}

export interface UpdateFolderInput { name?: string | undefined; parentId?: number | null | undefined; order?: number | undefined; acknowledgeWidening?: boolean | undefined }

export function updateFolder(ctx: AppContext, actor: string, id: number, input: UpdateFolderInput): Promise<FolderView & { widened: string[] }> {
  return serialTagLibraryWrite(async () => {
    let refusal: DomainError | undefined;
    const result = await ctx.db.transaction(async (tx) => {
      await lockTagTree(tx);
      const folder = await folderById(tx, id);
      const parentId = input.parentId === undefined ? folder.parentId : input.parentId;
      const moving = parentId !== folder.parentId;
      const where = await requireFolder(tx, parentId, 'parentId');
      if (input.name !== undefined || moving) {
        const rules = await readTagNameRules(tx);
        assertName(input.name ?? folder.name, 'name', { rules, label: 'folder name', taken: await siblingNames(tx, parentId, id), takenIn: where });
      }
      let widened: string[] = [];
      if (moving) {
        await assertNoCycle(tx, folder, parentId);
        const check = await checkMove(ctx, tx, { type: 'folder', id, parentId });
        try {
          assertMoveAllowed(check, `moving folder "${folder.name}" to ${where}`, input.acknowledgeWidening ?? false);
        } catch (err) {
          refusal = err as DomainError;
          await audit(tx, { actor, action: 'tag_folder.move', subjectType: 'tag_folder', subjectId: String(id), outcome: 'denied', details: { from: folder.parentId, to: parentId, ...check } });
          return undefined;
        }
        widened = check.widening;
      }
      const [updated] = await tx.update(tagFolders)
        .set({ name: input.name ?? folder.name, parentId, order: input.order ?? folder.order })
        .where(eq(tagFolders.id, id))
        .returning({ id: tagFolders.id, name: tagFolders.name, parentId: tagFolders.parentId, order: tagFolders.order });
      await audit(tx, {
        actor, action: 'tag_folder.update', subjectType: 'tag_folder', subjectId: String(id), outcome: 'done',
        details: { before: { name: folder.name, parentId: folder.parentId, order: folder.order }, after: { name: updated!.name, parentId, order: updated!.order }, ...(widened.length ? { widened } : {}) },
      });
      await bumpPolicyVersion(tx);
      return { ...updated!, widened };
    });
    if (refusal) throw refusal;
    return result!;
  });
}

/** Deletes an empty folder (and its visibility rule); 409 naming what is still inside. */
export function deleteFolder(ctx: AppContext, actor: string, id: number): Promise<void> {
  return serialTagLibraryWrite(() => ctx.db.transaction(async (tx) => {
    await lockTagTree(tx);
    const folder = await folderById(tx, id);
    const childFolders = await tx.select({ name: tagFolders.name }).from(tagFolders).where(eq(tagFolders.parentId, id));
    const groups = await tx.select({ name: tagGroups.name }).from(tagGroups).where(and(eq(tagGroups.folderId, id), isNull(tagGroups.deletedAt)));
    if (childFolders.length || groups.length) {
      const inside = [...childFolders.map((f) => `folder "${f.name}"`), ...groups.map((g) => `group "${g.name}"`)];
      throw new DomainError('FOLDER_NOT_EMPTY', `folder "${folder.name}" is not empty (${inside.slice(0, 10).join(', ')}${inside.length > 10 ? `, and ${inside.length - 10} more` : ''}): move or delete its contents first`, { folders: childFolders.length, groups: groups.length });
    }
    // Deleted groups may still point here; they are gone from WeCom, so the pointer is dropped.
    await tx.update(tagGroups).set({ folderId: null }).where(eq(tagGroups.folderId, id));
    const removedRules = await tx.delete(visibilityRules).where(and(eq(visibilityRules.nodeType, 'folder'), eq(visibilityRules.nodeId, String(id))))
      .returning({ see: visibilityRules.see, use: visibilityRules.use, mode: visibilityRules.mode });
    await tx.delete(tagFolders).where(eq(tagFolders.id, id));
    await audit(tx, { actor, action: 'tag_folder.delete', subjectType: 'tag_folder', subjectId: String(id), outcome: 'done', details: { name: folder.name, parentId: folder.parentId, ...(removedRules[0] ? { removedRule: removedRules[0] } : {}) } });
    await bumpPolicyVersion(tx);
  }));
}
