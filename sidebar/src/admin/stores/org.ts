import { defineStore } from 'pinia';
import { api } from '../../shared/api.ts';

export interface Department { id: number; name: string; parentId: number | null; order: number }
export interface OrgMember {
  userid: string; name: string; position: string | null; status: number; mainDepartment: number | null;
  departments: { id: number; isLeader: boolean }[]; roles: string[]; probation: boolean;
}
export interface DepartmentNode extends Department { children: DepartmentNode[]; depth: number }

/** The organization (GET /api/admin/org), read once per visit and on demand after a sync. */
export const useOrgStore = defineStore('org', {
  state: () => ({ departments: [] as Department[], members: [] as OrgMember[], loaded: false, loading: null as Promise<void> | null }),
  getters: {
    tree(state): DepartmentNode[] {
      const nodes = new Map<number, DepartmentNode>(state.departments.map((d) => [d.id, { ...d, children: [], depth: 0 }]));
      const roots: DepartmentNode[] = [];
      for (const node of nodes.values()) {
        const parent = node.parentId != null ? nodes.get(node.parentId) : undefined;
        (parent ? parent.children : roots).push(node);
      }
      const depth = (list: DepartmentNode[], d: number) => list.forEach((n) => { n.depth = d; depth(n.children, d + 1); });
      depth(roots, 0);
      return roots;
    },
    /** Departments depth-first, as the matrix lists them. */
    flat(): DepartmentNode[] {
      const out: DepartmentNode[] = [];
      const walk = (list: DepartmentNode[]) => list.forEach((n) => { out.push(n); walk(n.children); });
      walk(this.tree);
      return out;
    },
    activeMembers: (state) => state.members.filter((m) => m.status === 1),
  },
  actions: {
    ensure(): Promise<void> {
      if (this.loaded) return Promise.resolve();
      return this.reload();
    },
    reload(): Promise<void> {
      this.loading ??= api.get<{ departments: Department[]; members: OrgMember[] }>('/api/admin/org').then((org) => {
        this.departments = org.departments;
        this.members = org.members;
        this.loaded = true;
      }).finally(() => {
        this.loading = null;
      });
      return this.loading;
    },
    departmentName(id: number): string {
      return this.departments.find((d) => d.id === id)?.name ?? String(id);
    },
    memberName(userid: string): string {
      return this.members.find((m) => m.userid === userid)?.name ?? userid;
    },
    /** The department and all below it. */
    subtree(id: number): Set<number> {
      const out = new Set<number>([id]);
      let grew = true;
      while (grew) {
        grew = false;
        for (const d of this.departments) if (d.parentId != null && out.has(d.parentId) && !out.has(d.id)) { out.add(d.id); grew = true; }
      }
      return out;
    },
    /** The department and all above it. */
    ancestry(id: number): number[] {
      const out: number[] = [];
      for (let current: number | null | undefined = id; current != null && !out.includes(current); current = this.departments.find((d) => d.id === current)?.parentId) out.push(current);
      return out;
    },
  },
});
