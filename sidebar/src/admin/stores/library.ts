import { defineStore } from 'pinia';
import { api } from '../../shared/api.ts';
import type { Reason } from '../../shared/reasons.ts';

export type RuleMode = 'enforce' | 'report';
interface NodeBase { id: string | number; name: string; order: number; hasRule: boolean; ruleMode: RuleMode | null }
export interface LibraryTag extends NodeBase { kind: 'tag'; id: string; createTime: number | null }
export interface LibraryGroup extends NodeBase { kind: 'group'; id: string; folderId: number | null; strategyId: number | null; createTime: number | null; children: LibraryTag[] }
export interface LibraryFolder extends NodeBase { kind: 'folder'; id: number; parentId: number | null; children: (LibraryFolder | LibraryGroup)[] }
export interface LibraryRuleGroup extends NodeBase { kind: 'rule_group'; id: number; parentId: number | null; range: { users: string[]; departments: number[] }; children: (LibraryRuleGroup | LibraryGroup)[] }
export type LibraryNode = LibraryFolder | LibraryGroup | LibraryTag | LibraryRuleGroup;

export interface Conflict {
  kind: string;
  severity: 'warning' | 'info';
  node: { type: string; id: string; name: string };
  /** English, for API clients; the console words `reason` and the fix per `kind` (shared/reasons.ts). */
  message: string;
  fix: string;
  reason?: Reason;
}

/** A tag for pickers: its id, name and where it sits. */
export interface TagOption { id: string; name: string; groupName: string; kind: 'corp' | 'strategy' }

/** Node keys are unique across kinds (a folder 3 and a rule group 3 are different nodes). */
export const nodeKey = (node: { kind: string; id: string | number }): string => `${node.kind}:${node.id}`;

/** The tag library (GET /api/admin/tag-library) and the policy conflicts, re-read after each change. */
export const useLibraryStore = defineStore('library', {
  state: () => ({ tree: [] as LibraryNode[], totals: { tags: 0, limit: 3000 }, conflicts: [] as Conflict[], loaded: false }),
  getters: {
    tagOptions(state): TagOption[] {
      const out: TagOption[] = [];
      const walk = (nodes: LibraryNode[]) => {
        for (const node of nodes) {
          if (node.kind === 'group') for (const tag of node.children) out.push({ id: tag.id, name: tag.name, groupName: node.name, kind: node.strategyId == null ? 'corp' : 'strategy' });
          else if (node.kind === 'folder' || node.kind === 'rule_group') walk(node.children);
        }
      };
      walk(state.tree);
      return out;
    },
    folders(state): { id: number; name: string; depth: number }[] {
      const out: { id: number; name: string; depth: number }[] = [];
      const walk = (nodes: LibraryNode[], depth: number) => {
        for (const node of nodes) if (node.kind === 'folder') { out.push({ id: node.id, name: node.name, depth }); walk(node.children, depth + 1); }
      };
      walk(state.tree, 0);
      return out;
    },
    /** Node keys with a conflict to fix, for highlighting the tree. */
    conflicted(state): Set<string> {
      const typeToKind: Record<string, string> = { folder: 'folder', group: 'group', tag: 'tag' };
      return new Set(state.conflicts.filter((c) => c.severity === 'warning' && typeToKind[c.node.type]).map((c) => `${typeToKind[c.node.type]}:${c.node.id}`));
    },
  },
  actions: {
    async reload(): Promise<void> {
      const [library, conflicts] = await Promise.all([
        api.get<{ tree: LibraryNode[]; totals: { tags: number; limit: number } }>('/api/admin/tag-library'),
        api.get<{ conflicts: Conflict[] }>('/api/admin/tag-policy/conflicts'),
      ]);
      this.tree = library.tree;
      this.totals = library.totals;
      this.conflicts = conflicts.conflicts;
      this.loaded = true;
    },
    ensure(): Promise<void> {
      return this.loaded ? Promise.resolve() : this.reload();
    },
    find(key: string): LibraryNode | undefined {
      const walk = (nodes: LibraryNode[]): LibraryNode | undefined => {
        for (const node of nodes) {
          if (nodeKey(node) === key) return node;
          if ('children' in node) {
            const found = walk(node.children as LibraryNode[]);
            if (found) return found;
          }
        }
        return undefined;
      };
      return walk(this.tree);
    },
  },
});
