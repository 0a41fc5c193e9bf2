// A reference evaluator of the tag policy, written separately from server/policy/tag-policy.ts and on
// purpose as plain as possible: no maps, no memoization, linear scans over the raw data, every
// question answered from scratch. It shares only types with the engine. The property test checks the
// engine against it.
//
// Semantics (issue 4, "Nested groups and visibility rules"):
// - a department grant admits members of that department or of any department below it;
// - a member grant admits that member; a role grant admits members holding the role, and when it
//   lists departments (a non-empty list), only those in one of them or below;
// - a member sees a tag when every rule on the path root → folders → group → tag admits them in `see`,
//   and uses it when every rule also admits them in `use`;
// - a rule-group tag is seen and used only by members in its rule group's range (none if it is gone).
import type { AudienceGrants } from '../../server/db/schema.ts';
import type { PolicyData, PolicyMember, PolicyRule } from '../../server/policy/tag-policy.ts';

export interface ReferenceNode { type: 'folder' | 'group' | 'tag'; id: string }

/** Every department id reached from `start` by following parent links (itself included). */
export function departmentsAbove(data: PolicyData, start: number): number[] {
  const reached: number[] = [];
  let current: number | null = start;
  while (current !== null && !reached.includes(current)) {
    reached.push(current);
    const id: number = current;
    const department = data.departments.find((d) => d.id === id);
    current = department ? department.parentId : null;
  }
  return reached;
}

/** Is the member in `department` or in a department below it (through any of their departments)? */
export function memberInside(data: PolicyData, member: PolicyMember, department: number): boolean {
  for (const own of member.departments) {
    if (departmentsAbove(data, own).includes(department)) return true;
  }
  return false;
}

export function admitsReference(data: PolicyData, audience: AudienceGrants, member: PolicyMember): boolean {
  if (audience.users.includes(member.userid)) return true;
  for (const department of audience.departments) {
    if (memberInside(data, member, department)) return true;
  }
  for (const role of audience.roles) {
    if (!member.roles.includes(role.name)) continue;
    const limit = role.departments ?? [];
    if (limit.length === 0) return true;
    for (const department of limit) {
      if (memberInside(data, member, department)) return true;
    }
  }
  return false;
}

/** Root-first nodes above and including a node (folders, then the group, then the tag). */
export function referencePath(data: PolicyData, type: ReferenceNode['type'], id: string): ReferenceNode[] {
  const path: ReferenceNode[] = [];
  let folderId: number | null = null;
  if (type === 'tag') {
    const tag = data.tags.find((t) => t.tagId === id);
    if (!tag) return [];
    path.push({ type: 'tag', id });
    const group = data.groups.find((g) => g.groupId === tag.groupId);
    if (!group) return path;
    path.unshift({ type: 'group', id: group.groupId });
    folderId = group.folderId;
  } else if (type === 'group') {
    const group = data.groups.find((g) => g.groupId === id);
    if (!group) return [];
    path.push({ type: 'group', id });
    folderId = group.folderId;
  } else {
    folderId = Number(id);
  }
  const visited: number[] = [];
  while (folderId !== null && !visited.includes(folderId)) {
    visited.push(folderId);
    const fid: number = folderId;
    const folder = data.folders.find((f) => f.id === fid);
    if (!folder) break;
    path.unshift({ type: 'folder', id: String(folder.id) });
    folderId = folder.parentId;
  }
  return path;
}

export function referenceRule(data: PolicyData, node: ReferenceNode): PolicyRule | undefined {
  return data.rules.find((r) => r.nodeType === node.type && r.nodeId === node.id);
}

export function inRangeReference(data: PolicyData, strategyId: number, member: PolicyMember): boolean {
  const range = data.strategies.find((s) => s.strategyId === strategyId);
  if (!range) return false;
  if (range.users.includes(member.userid)) return true;
  return range.departments.some((d) => memberInside(data, member, d));
}

export function decideReference(data: PolicyData, member: PolicyMember, tagId: string): { see: boolean; use: boolean } {
  const tag = data.tags.find((t) => t.tagId === tagId);
  if (!tag) return { see: false, use: false };
  if (tag.strategyId !== null && !inRangeReference(data, tag.strategyId, member)) return { see: false, use: false };
  let see = true;
  let use = true;
  for (const node of referencePath(data, 'tag', tagId)) {
    const rule = referenceRule(data, node);
    if (!rule) continue;
    if (!admitsReference(data, rule.see, member)) see = false;
    if (!admitsReference(data, rule.use, member)) use = false;
  }
  return { see, use: see && use };
}
