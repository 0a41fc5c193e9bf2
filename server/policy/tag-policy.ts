/**
 * The tag policy engine: pure, no I/O. Given the organization, the tag tree (folders → groups → tags),
 * visibility rules and rule-group ranges, it decides whether a member may see and use a tag, explains
 * why, and checks that rules only narrow their ancestors. Every path (reads, writes, client edits,
 * auto-tagging) asks this one module.
 *
 * Semantics:
 * - The root is visible and usable by everyone (WeCom's default). A node without a rule inherits.
 * - A member sees a tag when every rule on its path (folders, group, tag) grants `see`; uses it when
 *   every rule grants `use` as well (use ⊆ see).
 * - A grant is a department (with all its sub-departments), a member, or a role (optionally limited to
 *   departments). A member in several departments gets the union.
 * - Rule-group tags are seen and used only by members in the rule group's range (WeCom's own rule).
 * - Personal tags are not in the tree: only their owner sees and uses them.
 */
import type { AudienceGrants, PolicyNodeType, RuleMode } from '../db/schema.ts';
import { reason, type Reason, type ReasonParam } from '../http/reason.ts';

export interface PolicyDepartment { id: number; name: string; parentId: number | null }
export interface PolicyFolder { id: number; name: string; parentId: number | null }
export interface PolicyGroup { groupId: string; name: string; folderId: number | null; strategyId: number | null }
export interface PolicyTag { tagId: string; groupId: string; name: string; strategyId: number | null }
export interface PolicyRule { nodeType: PolicyNodeType; nodeId: string; see: AudienceGrants; use: AudienceGrants; mode: RuleMode }
export interface StrategyRange { strategyId: number; name: string; users: string[]; departments: number[] }

export interface PolicyData {
  departments: PolicyDepartment[];
  folders: PolicyFolder[];
  groups: PolicyGroup[];
  tags: PolicyTag[];
  rules: PolicyRule[];
  strategies: StrategyRange[];
}

export interface PolicyMember {
  userid: string;
  /** Departments the member belongs to directly. */
  departments: number[];
  /** Role names the member holds (explicit, implicit manager/admin, and rep). */
  roles: string[];
}

export interface NodeRef { type: PolicyNodeType; id: string; name: string }

export type GrantMatch =
  | { kind: 'user'; userid: string }
  | { kind: 'department'; department: number; via: number }
  | { kind: 'role'; role: string; department?: number; via?: number };

export interface ExplainStep {
  node: NodeRef;
  rule: boolean;
  mode?: RuleMode;
  see: { allowed: boolean; matches: GrantMatch[] };
  use: { allowed: boolean; matches: GrantMatch[] };
}

export interface Explanation {
  tagId: string;
  see: boolean;
  use: boolean;
  steps: ExplainStep[];
  strategy?: { strategyId: number; name: string; inRange: boolean };
  /** English, for API clients. */
  because: string[];
  /** The same lines as codes with parameters (same order), for the web app to word in its language. */
  reasons: Reason[];
}

export interface Decision { see: boolean; use: boolean }

const nodeKey = (type: PolicyNodeType, id: string | number): string => `${type}:${id}`;

/** The member-independent shape visibleTags walks (see TagPolicy.tagLayout). */
interface TagLayout {
  /** Per group (by index), the rules on its path, root first. */
  groupRules: PolicyRule[][];
  /** Per tag: its group's index (-1 when the group is missing: only the tag's own rule applies). */
  tags: { tagId: string; strategyId: number | null; group: number; rule: PolicyRule | undefined }[];
}

export class TagPolicy {
  private readonly departments = new Map<number, PolicyDepartment>();
  private readonly folders = new Map<number, PolicyFolder>();
  private readonly groups = new Map<string, PolicyGroup>();
  private readonly tags = new Map<string, PolicyTag>();
  private readonly rules = new Map<string, PolicyRule>();
  private readonly strategies = new Map<number, StrategyRange>();
  private readonly ancestorCache = new Map<number, number[]>();
  /** null until computed. */
  private root: number | undefined | null = null;

  constructor(data: PolicyData) {
    for (const d of data.departments) this.departments.set(d.id, d);
    for (const f of data.folders) this.folders.set(f.id, f);
    for (const g of data.groups) this.groups.set(g.groupId, g);
    for (const t of data.tags) this.tags.set(t.tagId, t);
    for (const r of data.rules) this.rules.set(nodeKey(r.nodeType, r.nodeId), r);
    for (const s of data.strategies) this.strategies.set(s.strategyId, s);
  }

  // ── organization ────────────────────────────────────────────────────────────────────────────

  /** The department and all its ancestors, nearest first (cycles in bad data are cut). */
  departmentChain(id: number): number[] {
    const cached = this.ancestorCache.get(id);
    if (cached) return cached;
    const chain: number[] = [];
    const seen = new Set<number>();
    let current: number | null | undefined = id;
    while (current != null && !seen.has(current)) {
      seen.add(current);
      chain.push(current);
      current = this.departments.get(current)?.parentId ?? null;
    }
    this.ancestorCache.set(id, chain);
    return chain;
  }

  /** The organization's root: the only department without a parent (none when there are several). */
  rootDepartment(): number | undefined {
    if (this.root === null) {
      const roots = [...this.departments.values()].filter((d) => d.parentId == null);
      this.root = roots.length === 1 ? roots[0]!.id : undefined;
    }
    return this.root;
  }

  departmentName(id: number): string {
    return this.departments.get(id)?.name ?? `#${id}`;
  }

  hasDepartment(id: number): boolean {
    return this.departments.has(id);
  }

  /** Is `department` the same as or an ancestor of one of `memberDepartments`? Returns the member's department. */
  private coveredVia(department: number, memberDepartments: number[]): number | undefined {
    return memberDepartments.find((d) => this.departmentChain(d).includes(department));
  }

  // ── the tree ────────────────────────────────────────────────────────────────────────────────

  tag(tagId: string): PolicyTag | undefined {
    return this.tags.get(tagId);
  }

  allTags(): PolicyTag[] {
    return [...this.tags.values()];
  }

  /** Root-first path of a node: folders, then the group, then the tag. */
  pathOf(type: PolicyNodeType, id: string): NodeRef[] {
    const path: NodeRef[] = [];
    let folderId: number | null = null;
    if (type === 'tag') {
      const tag = this.tags.get(id);
      if (!tag) return [];
      path.unshift({ type: 'tag', id, name: tag.name });
      type = 'group';
      id = tag.groupId;
    }
    if (type === 'group') {
      const group = this.groups.get(id);
      // A tag whose group is missing (deleted, not yet synced) keeps its own rule: fail closed.
      if (!group) return path;
      path.unshift({ type: 'group', id, name: group.name });
      folderId = group.folderId;
    } else {
      folderId = Number(id);
    }
    const seen = new Set<number>();
    while (folderId != null && !seen.has(folderId)) {
      seen.add(folderId);
      const folder = this.folders.get(folderId);
      if (!folder) break;
      path.unshift({ type: 'folder', id: String(folder.id), name: folder.name });
      folderId = folder.parentId;
    }
    return path;
  }

  ruleOf(type: PolicyNodeType, id: string): PolicyRule | undefined {
    return this.rules.get(nodeKey(type, id));
  }

  // ── decisions ───────────────────────────────────────────────────────────────────────────────

  /** Every grant of the audience that admits the member (empty = not admitted). */
  matches(audience: AudienceGrants, member: PolicyMember): GrantMatch[] {
    const found: GrantMatch[] = [];
    if (audience.users.includes(member.userid)) found.push({ kind: 'user', userid: member.userid });
    for (const department of audience.departments) {
      const via = this.coveredVia(department, member.departments);
      if (via !== undefined) found.push({ kind: 'department', department, via });
    }
    for (const grant of audience.roles) {
      if (!member.roles.includes(grant.name)) continue;
      if (!grant.departments?.length) {
        found.push({ kind: 'role', role: grant.name });
        continue;
      }
      for (const department of grant.departments) {
        const via = this.coveredVia(department, member.departments);
        if (via !== undefined) {
          found.push({ kind: 'role', role: grant.name, department, via });
          break;
        }
      }
    }
    return found;
  }

  private admits(audience: AudienceGrants, member: PolicyMember): boolean {
    if (audience.users.includes(member.userid)) return true;
    for (const department of audience.departments) if (this.coveredVia(department, member.departments) !== undefined) return true;
    for (const grant of audience.roles) {
      if (!member.roles.includes(grant.name)) continue;
      if (!grant.departments?.length) return true;
      if (grant.departments.some((d) => this.coveredVia(d, member.departments) !== undefined)) return true;
    }
    return false;
  }

  inStrategyRange(strategyId: number, member: PolicyMember): boolean {
    const range = this.strategies.get(strategyId);
    if (!range) return false;
    if (range.users.includes(member.userid)) return true;
    return range.departments.some((d) => this.coveredVia(d, member.departments) !== undefined);
  }

  decide(member: PolicyMember, tagId: string): Decision {
    const tag = this.tags.get(tagId);
    if (!tag) return { see: false, use: false };
    let see = true;
    let use = true;
    for (const node of this.pathOf('tag', tagId)) {
      const rule = this.rules.get(nodeKey(node.type, node.id));
      if (!rule) continue;
      if (see && !this.admits(rule.see, member)) see = false;
      if (use && !this.admits(rule.use, member)) use = false;
      if (!see) return { see: false, use: false };
    }
    if (tag.strategyId != null && !this.inStrategyRange(tag.strategyId, member)) return { see: false, use: false };
    return { see, use: see && use };
  }

  /**
   * Every tag the member may see and use: the same answer as `decide` for each tag. The tree's shape
   * (which rules lie on each group's path, each tag's own rule) does not depend on the member, so it is
   * laid out once per engine; per member each rule is judged at most once, each group's decision is
   * computed once and shared by its tags, and each rule group's range is checked once.
   */
  visibleTags(member: PolicyMember): { see: Set<string>; use: Set<string> } {
    const layout = this.tagLayout();
    const judged = new Map<PolicyRule, Decision>();
    const judge = (rule: PolicyRule): Decision => {
      let verdict = judged.get(rule);
      if (!verdict) judged.set(rule, (verdict = { see: this.admits(rule.see, member), use: this.admits(rule.use, member) }));
      return verdict;
    };
    // Root first: seen while every rule admits in see; used while every rule also admits in use.
    const fold = (rules: PolicyRule[], from: Decision): Decision => {
      let { see, use } = from;
      for (let i = 0; i < rules.length && see; i++) {
        const verdict = judge(rules[i]!);
        see = verdict.see;
        use = see && use && verdict.use;
      }
      return see ? { see, use } : { see: false, use: false };
    };
    const everyone: Decision = { see: true, use: true };
    const groupDecisions = layout.groupRules.map((rules) => fold(rules, everyone));
    const inRange = new Map<number, boolean>();
    const see = new Set<string>();
    const use = new Set<string>();
    for (const entry of layout.tags) {
      if (entry.strategyId != null) {
        let admitted = inRange.get(entry.strategyId);
        if (admitted === undefined) inRange.set(entry.strategyId, (admitted = this.inStrategyRange(entry.strategyId, member)));
        if (!admitted) continue;
      }
      let decision = entry.group >= 0 ? groupDecisions[entry.group]! : everyone;
      if (entry.rule && decision.see) decision = fold([entry.rule], decision);
      if (decision.see) see.add(entry.tagId);
      if (decision.use) use.add(entry.tagId);
    }
    return { see, use };
  }

  private layout: TagLayout | undefined;

  /** The rules on each group's path (root first, from `pathOf`) and each tag's group and own rule. */
  private tagLayout(): TagLayout {
    if (this.layout) return this.layout;
    const groupIndex = new Map<string, number>();
    const groupRules: PolicyRule[][] = [];
    for (const groupId of this.groups.keys()) {
      groupIndex.set(groupId, groupRules.length);
      groupRules.push(this.pathOf('group', groupId).map((node) => this.rules.get(nodeKey(node.type, node.id))).filter((rule): rule is PolicyRule => rule !== undefined));
    }
    const tags: TagLayout['tags'] = [];
    for (const tag of this.tags.values()) {
      tags.push({ tagId: tag.tagId, strategyId: tag.strategyId, group: groupIndex.get(tag.groupId) ?? -1, rule: this.rules.get(nodeKey('tag', tag.tagId)) });
    }
    this.layout = { groupRules, tags };
    return this.layout;
  }

  // ── explain ─────────────────────────────────────────────────────────────────────────────────

  explain(member: PolicyMember, tagId: string, memberName: (userid: string) => string = (u) => u): Explanation {
    const tag = this.tags.get(tagId);
    if (!tag) return { tagId, see: false, use: false, steps: [], because: [`Tag ${tagId} does not exist (or was deleted).`], reasons: [reason('explain.tag_missing', { tagId })] };
    const steps: ExplainStep[] = [];
    const because: string[] = [];
    const reasons: Reason[] = [];
    const who = memberName(member.userid);
    for (const node of this.pathOf('tag', tagId)) {
      const rule = this.rules.get(nodeKey(node.type, node.id));
      if (!rule) {
        steps.push({ node, rule: false, see: { allowed: true, matches: [] }, use: { allowed: true, matches: [] } });
        continue;
      }
      const seeMatches = this.matches(rule.see, member);
      const useMatches = this.matches(rule.use, member);
      steps.push({ node, rule: true, mode: rule.mode, see: { allowed: seeMatches.length > 0, matches: seeMatches }, use: { allowed: useMatches.length > 0, matches: useMatches } });
      const label = `${node.type} "${node.name}"`;
      const at = { nodeType: node.type, node: node.name, member: who };
      if (seeMatches.length) {
        because.push(`${label} lets ${who} see it: ${seeMatches.map((m) => this.describeMatch(m, who)).join('; ')}.`);
        reasons.push(reason('explain.rule_sees', { ...at, matches: seeMatches.map((m) => this.matchParam(m)) }));
      } else {
        because.push(`${label} has a rule whose see audience does not include ${who} (${this.describeAudience(rule.see)}).`);
        reasons.push(reason('explain.rule_not_see', { ...at, audience: this.audienceParam(rule.see) }));
      }
      if (seeMatches.length) {
        if (useMatches.length) {
          because.push(`${label} lets ${who} use it: ${useMatches.map((m) => this.describeMatch(m, who)).join('; ')}.`);
          reasons.push(reason('explain.rule_uses', { ...at, matches: useMatches.map((m) => this.matchParam(m)) }));
        } else {
          because.push(`${label} lets ${who} see but not use it (use audience: ${this.describeAudience(rule.use)}).`);
          reasons.push(reason('explain.rule_see_not_use', { ...at, audience: this.audienceParam(rule.use) }));
        }
      }
    }
    const decision = this.decide(member, tagId);
    let strategy: Explanation['strategy'];
    if (tag.strategyId != null) {
      const range = this.strategies.get(tag.strategyId);
      const inRange = this.inStrategyRange(tag.strategyId, member);
      strategy = { strategyId: tag.strategyId, name: range?.name ?? `#${tag.strategyId}`, inRange };
      because.push(inRange
        ? `It is a rule-group tag of "${strategy.name}" and ${who} is inside that rule group's range.`
        : `It is a rule-group tag of "${strategy.name}" and ${who} is outside that rule group's range, so WeCom does not let them see or use it.`);
      reasons.push(reason(inRange ? 'explain.strategy_in_range' : 'explain.strategy_out_of_range', { strategy: strategy.name, member: who }));
    }
    if (steps.every((s) => !s.rule) && tag.strategyId == null) {
      because.push('No rule applies on its path, so everyone may see and use it (WeCom\'s default).');
      reasons.push(reason('explain.no_rule'));
    }
    return { tagId, see: decision.see, use: decision.use, steps, strategy, because, reasons };
  }

  /** Why a member may see a tag but not use it (or the rule group keeps it from them), as a reason. */
  lockReason(member: PolicyMember, tagId: string, memberName?: (userid: string) => string): { text: string; reason: Reason } {
    const { because, reasons } = this.explain(member, tagId, memberName);
    const index = reasons.findIndex((r) => r.code === 'explain.rule_see_not_use' || r.code === 'explain.strategy_out_of_range');
    return index >= 0
      ? { text: because[index]!, reason: reasons[index]! }
      : { text: 'You may see this tag but not add or remove it.', reason: reason('tag.locked') };
  }

  /** A grant match with names, for reasons. */
  matchParam(match: GrantMatch): ReasonParam {
    switch (match.kind) {
      case 'user': return { kind: 'user' };
      case 'department': return { kind: 'department', department: this.departmentName(match.department), via: this.departmentName(match.via) };
      case 'role': return match.department === undefined
        ? { kind: 'role', role: match.role }
        : { kind: 'role', role: match.role, department: this.departmentName(match.department), via: this.departmentName(match.via!) };
    }
  }

  /** An audience with department names, for reasons (members by userid, roles by name). */
  audienceParam(audience: AudienceGrants): ReasonParam {
    return {
      departments: audience.departments.map((d) => this.departmentName(d)),
      users: [...audience.users],
      roles: audience.roles.map((r) => ({ name: r.name, departments: (r.departments ?? []).map((d) => this.departmentName(d)) })),
    };
  }

  describeMatch(match: GrantMatch, who: string): string {
    switch (match.kind) {
      case 'user': return `${who} is named in the rule`;
      case 'department':
        return match.via === match.department
          ? `${who} is in department ${this.departmentName(match.department)}`
          : `${who} is in ${this.departmentName(match.via)}, inside department ${this.departmentName(match.department)}`;
      case 'role':
        return match.department === undefined
          ? `${who} has role ${match.role}`
          : `${who} has role ${match.role} in ${this.departmentName(match.via!)}${match.via === match.department ? '' : `, inside ${this.departmentName(match.department)}`}`;
    }
  }

  describeAudience(audience: AudienceGrants): string {
    const parts = [
      ...audience.departments.map((d) => `department ${this.departmentName(d)}`),
      ...audience.users.map((u) => `member ${u}`),
      ...audience.roles.map((r) => (r.departments?.length ? `role ${r.name} in ${r.departments.map((d) => this.departmentName(d)).join('/')}` : `role ${r.name}`)),
    ];
    return parts.length ? parts.join(', ') : 'nobody';
  }

  // ── narrowing checks ────────────────────────────────────────────────────────────────────────

  /**
   * Grants of `child` that `parent` does not cover. Departments are covered by the same or an
   * ancestor department; members by being named or by belonging to a covered department or role;
   * role grants by the same role with a wider limit, by departments covering the role's limit, or by a
   * grant of the organization's root department.
   */
  uncovered(child: AudienceGrants, parent: AudienceGrants, memberOf: (userid: string) => PolicyMember | undefined): string[] {
    const extra = this.uncoveredGrants(child, parent, memberOf);
    return [
      ...extra.departments.map((d) => `department ${this.departmentName(d)}`),
      ...extra.users.map((u) => `member ${u}`),
      ...extra.roles.map((r) => (r.departments?.length ? `role ${r.name} in ${r.departments.map((d) => this.departmentName(d)).join('/')}` : `role ${r.name}`)),
    ];
  }

  /** The grants of `child` that `parent` does not cover (see `uncovered`), as grants. */
  uncoveredGrants(child: AudienceGrants, parent: AudienceGrants, memberOf: (userid: string) => PolicyMember | undefined): AudienceGrants {
    // A grant of the organization's root department (the one department without a parent) admits
    // every member in the tree, so it covers any role grant: members holding a role are in a
    // department (members who left hold none). Departments and named members are still checked one by
    // one: one outside the tree, or a member who left, is not admitted by the root.
    const root = this.rootDepartment();
    const rootGranted = root !== undefined && parent.departments.includes(root);
    const extra: AudienceGrants = { departments: [], users: [], roles: [] };
    const deptCovered = (d: number): boolean => parent.departments.some((p) => this.departmentChain(d).includes(p));
    for (const d of child.departments) if (!deptCovered(d)) extra.departments.push(d);
    for (const u of child.users) {
      if (parent.users.includes(u)) continue;
      const member = memberOf(u);
      if (!member || !this.admits(parent, member)) extra.users.push(u);
    }
    for (const grant of child.roles) {
      if (rootGranted) continue;
      const sameRole = parent.roles.filter((r) => r.name === grant.name);
      const ok = sameRole.some((r) => !r.departments?.length)
        || (grant.departments?.length ? grant.departments.every((d) => deptCovered(d) || sameRole.some((r) => r.departments!.some((p) => this.departmentChain(d).includes(p)))) : false);
      if (!ok) extra.roles.push(grant);
    }
    return extra;
  }

  /**
   * Why a proposed rule may not be saved: `use` wider than `see`, or wider than an ancestor's rule
   * (named). Empty when it only narrows.
   */
  validateRule(nodeType: PolicyNodeType, nodeId: string, see: AudienceGrants, use: AudienceGrants, memberOf: (userid: string) => PolicyMember | undefined): string[] {
    return this.ruleProblems(nodeType, nodeId, see, use, memberOf).map((p) => p.text);
  }

  /** `validateRule`'s problems, each in English and as a reason. */
  ruleProblems(nodeType: PolicyNodeType, nodeId: string, see: AudienceGrants, use: AudienceGrants, memberOf: (userid: string) => PolicyMember | undefined): { text: string; reason: Reason }[] {
    const problems: { text: string; reason: Reason }[] = [];
    const useExtra = this.uncovered(use, see, memberOf);
    if (useExtra.length) {
      problems.push({ text: `the use audience is wider than the see audience of the same rule: ${useExtra.join(', ')}`, reason: reason('rule.use_wider_than_see', { grants: this.audienceParam(this.uncoveredGrants(use, see, memberOf)) }) });
    }
    const path = this.pathOf(nodeType, nodeId);
    for (const ancestor of path.slice(0, -1)) {
      const rule = this.rules.get(nodeKey(ancestor.type, ancestor.id));
      if (!rule) continue;
      const seeExtra = this.uncovered(see, rule.see, memberOf);
      if (seeExtra.length) {
        problems.push({ text: `wider than its parent ${ancestor.type} "${ancestor.name}" (see): ${seeExtra.join(', ')}`, reason: reason('rule.wider_than_parent', { nodeType: ancestor.type, node: ancestor.name, side: 'see', grants: this.audienceParam(this.uncoveredGrants(see, rule.see, memberOf)) }) });
      }
      const useWider = this.uncovered(use, rule.use, memberOf);
      if (useWider.length) {
        problems.push({ text: `wider than its parent ${ancestor.type} "${ancestor.name}" (use): ${useWider.join(', ')}`, reason: reason('rule.wider_than_parent', { nodeType: ancestor.type, node: ancestor.name, side: 'use', grants: this.audienceParam(this.uncoveredGrants(use, rule.use, memberOf)) }) });
      }
    }
    return problems;
  }

  /** Rules on descendants of a node (for warnings when a parent is narrowed). */
  descendantRules(nodeType: PolicyNodeType, nodeId: string): PolicyRule[] {
    return [...this.rules.values()].filter((rule) => {
      if (rule.nodeType === nodeType && rule.nodeId === nodeId) return false;
      return this.pathOf(rule.nodeType, rule.nodeId).slice(0, -1).some((n) => n.type === nodeType && n.id === nodeId);
    });
  }

  allRules(): PolicyRule[] {
    return [...this.rules.values()];
  }

  folderList(): PolicyFolder[] {
    return [...this.folders.values()];
  }

  groupList(): PolicyGroup[] {
    return [...this.groups.values()];
  }

  strategy(strategyId: number): StrategyRange | undefined {
    return this.strategies.get(strategyId);
  }
}
