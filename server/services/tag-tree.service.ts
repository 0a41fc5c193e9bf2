import { asc, desc, eq, isNull } from 'drizzle-orm';
import type { Database } from '../db/database.ts';
import { members, personalTags, strategies, tagFolders, tagGroups, tags } from '../db/schema.ts';
import type { Reason } from '../http/reason.ts';
import type { TagPolicy } from '../policy/tag-policy.ts';
import type { MemberTagView } from './tag-policy.service.ts';

export interface TagLeaf {
  id: string; name: string; kind: 'corp' | 'strategy'; usable: boolean;
  /** English, for API clients; `lock` is the same as a code with parameters. */
  lockedReason?: string;
  lock?: Reason;
}
export interface GroupNode { type: 'group'; id: string; name: string; kind: 'corp' | 'strategy'; strategy?: { id: number; name: string }; tags: TagLeaf[] }
export interface FolderNode { type: 'folder'; id: string; name: string; children: (FolderNode | GroupNode)[] }

export interface MemberTagTree {
  tree: (FolderNode | GroupNode)[];
  personal: { id: string; name: string; groupName: string | null }[];
}

/**
 * The tag tree one member may see: folders → groups → tags in WeCom's display order (larger order
 * first), each tag marked usable or locked with the reason; empty branches are left out, so the shape
 * itself reveals nothing the member may not see. Personal tags: the member's own only.
 */
export async function memberTagTree(db: Database, policy: TagPolicy, view: MemberTagView): Promise<MemberTagTree> {
  const folderRows = await db.select().from(tagFolders).orderBy(desc(tagFolders.order), asc(tagFolders.id));
  const groupRows = await db.select().from(tagGroups).where(isNull(tagGroups.deletedAt)).orderBy(desc(tagGroups.order), asc(tagGroups.name));
  const tagRows = await db.select().from(tags).where(isNull(tags.deletedAt)).orderBy(desc(tags.order), asc(tags.name));
  const strategyRows = await db.select({ id: strategies.strategyId, name: strategies.name }).from(strategies).where(isNull(strategies.deletedAt));
  const strategyName = new Map(strategyRows.map((s) => [s.id, s.name]));
  // Lock reasons name the member as colleagues know them.
  const [self] = await db.select({ name: members.name }).from(members).where(eq(members.userid, view.member.userid));
  const nameOf = (userid: string): string => (userid === view.member.userid ? self?.name ?? userid : userid);

  const groups = new Map<string, GroupNode>();
  for (const group of groupRows) {
    const kind = group.strategyId == null ? 'corp' : 'strategy';
    groups.set(group.groupId, {
      type: 'group', id: group.groupId, name: group.name, kind, tags: [],
      ...(group.strategyId != null ? { strategy: { id: group.strategyId, name: strategyName.get(group.strategyId) ?? '' } } : {}),
    });
  }
  for (const tag of tagRows) {
    if (!view.see.has(tag.tagId)) continue;
    const group = groups.get(tag.groupId);
    if (!group) continue;
    const usable = view.use.has(tag.tagId);
    const leaf: TagLeaf = { id: tag.tagId, name: tag.name, kind: group.kind, usable };
    if (!usable) {
      const locked = policy.lockReason(view.member, tag.tagId, nameOf);
      leaf.lockedReason = locked.text;
      leaf.lock = locked.reason;
    }
    group.tags.push(leaf);
  }

  const folders = new Map<number, FolderNode>(folderRows.map((f) => [f.id, { type: 'folder', id: String(f.id), name: f.name, children: [] }]));
  const roots: (FolderNode | GroupNode)[] = [];
  for (const f of folderRows) {
    const node = folders.get(f.id)!;
    const parent = f.parentId != null ? folders.get(f.parentId) : undefined;
    (parent ? parent.children : roots).push(node);
  }
  for (const group of groupRows) {
    const node = groups.get(group.groupId)!;
    if (node.tags.length === 0) continue;
    const parent = group.folderId != null ? folders.get(group.folderId) : undefined;
    (parent ? parent.children : roots).push(node);
  }
  const prune = (nodes: (FolderNode | GroupNode)[]): (FolderNode | GroupNode)[] =>
    nodes.flatMap((node): (FolderNode | GroupNode)[] => {
      if (node.type === 'group') return [node];
      const children = prune(node.children);
      return children.length ? [{ ...node, children }] : [];
    });

  const personal = await db.select({ id: personalTags.id, name: personalTags.name, groupName: personalTags.groupName }).from(personalTags)
    .where(eq(personalTags.userid, view.member.userid)).orderBy(asc(personalTags.name));
  return { tree: prune(roots), personal };
}
