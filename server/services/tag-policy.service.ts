import { eq, isNull } from 'drizzle-orm';
import type { Database, Queryable } from '../db/database.ts';
import { departments, memberDepartments, memberManagedDepartments, memberRoles, members, strategies, strategyRanges, tagFolders, tagGroups, tags, visibilityRules } from '../db/schema.ts';
import { TagPolicy, type PolicyData, type PolicyMember } from '../policy/tag-policy.ts';
import { isAdmin } from './members.service.ts';
import { MEMBER_LEFT } from './org-sync.service.ts';
import { readPolicyVersion } from './policy-version.ts';

export async function loadPolicyData(db: Queryable): Promise<PolicyData> {
  // One query at a time: inside a transaction a client runs queries one by one anyway.
  const deptRows = await db.select({ id: departments.id, name: departments.name, parentId: departments.parentId }).from(departments).where(isNull(departments.removedAt));
  const folderRows = await db.select({ id: tagFolders.id, name: tagFolders.name, parentId: tagFolders.parentId }).from(tagFolders);
  const groupRows = await db.select({ groupId: tagGroups.groupId, name: tagGroups.name, folderId: tagGroups.folderId, strategyId: tagGroups.strategyId }).from(tagGroups).where(isNull(tagGroups.deletedAt));
  const tagRows = await db.select({ tagId: tags.tagId, groupId: tags.groupId, name: tags.name, strategyId: tags.strategyId }).from(tags).where(isNull(tags.deletedAt));
  const ruleRows = await db.select({ nodeType: visibilityRules.nodeType, nodeId: visibilityRules.nodeId, see: visibilityRules.see, use: visibilityRules.use, mode: visibilityRules.mode }).from(visibilityRules);
  const strategyRows = await db.select({ strategyId: strategies.strategyId, name: strategies.name }).from(strategies).where(isNull(strategies.deletedAt));
  const rangeRows = await db.select().from(strategyRanges);
  return {
    departments: deptRows,
    folders: folderRows,
    groups: groupRows,
    tags: tagRows,
    rules: ruleRows,
    strategies: strategyRows.map((s) => {
      const keys = rangeRows.filter((r) => r.strategyId === s.strategyId).map((r) => r.rangeKey);
      return {
        strategyId: s.strategyId,
        name: s.name,
        users: keys.filter((k) => k.startsWith('u:')).map((k) => k.slice(2)),
        departments: keys.filter((k) => k.startsWith('d:')).map((k) => Number(k.slice(2))),
      };
    }),
  };
}

/**
 * The policy facts of one member: direct departments and role names. Implicit roles: `admin`
 * (configured admins), `manager` (department leaders), `rep` (everyone active). A member who left has
 * no departments and no roles, so no rule admits them.
 */
export async function loadPolicyMember(db: Queryable, userid: string, configuredAdmins: string[]): Promise<PolicyMember> {
  const [member] = await db.select({ status: members.status }).from(members).where(eq(members.userid, userid));
  if (!member || member.status === MEMBER_LEFT) return { userid, departments: [], roles: [] };
  const depts = await db.select({ id: memberDepartments.departmentId, isLeader: memberDepartments.isLeader }).from(memberDepartments).where(eq(memberDepartments.userid, userid));
  const explicit = await db.select({ role: memberRoles.role }).from(memberRoles).where(eq(memberRoles.userid, userid));
  const roles = new Set<string>(['rep', ...explicit.map((r) => r.role)]);
  // Managers: WeCom department leaders and members an admin named to manage departments.
  const named = await db.select({ id: memberManagedDepartments.departmentId }).from(memberManagedDepartments).where(eq(memberManagedDepartments.userid, userid)).limit(1);
  if (depts.some((d) => d.isLeader) || named.length) roles.add('manager');
  if (await isAdmin(db, userid, configuredAdmins)) roles.add('admin');
  return { userid, departments: depts.map((d) => d.id), roles: [...roles] };
}

export interface MemberTagView {
  member: PolicyMember;
  see: Set<string>;
  use: Set<string>;
}

/**
 * The process's cached policy. Before each use the policy version is read (one indexed row); when
 * another request or process changed anything the policy depends on, the engine and every cached
 * member view are rebuilt, so decisions never lag behind a change.
 */
export class PolicyCache {
  private version = -1;
  private engine: TagPolicy | undefined;
  private views = new Map<string, MemberTagView>();
  private building: Promise<TagPolicy> | undefined;

  constructor(private readonly db: Database, private readonly configuredAdmins: string[], private readonly maxViews = 5_000) {}

  async policy(): Promise<TagPolicy> {
    const version = await readPolicyVersion(this.db);
    if (this.engine && version === this.version) return this.engine;
    this.building ??= (async () => {
      try {
        const engine = new TagPolicy(await loadPolicyData(this.db));
        this.engine = engine;
        this.version = version;
        this.views.clear();
        return engine;
      } finally {
        this.building = undefined;
      }
    })();
    return this.building;
  }

  async view(userid: string): Promise<MemberTagView> {
    const engine = await this.policy();
    const cached = this.views.get(userid);
    if (cached) return cached;
    const member = await loadPolicyMember(this.db, userid, this.configuredAdmins);
    const visible = engine.visibleTags(member);
    const view = { member, ...visible };
    if (this.views.size >= this.maxViews) this.views.delete(this.views.keys().next().value!);
    this.views.set(userid, view);
    return view;
  }
}

/** The named members as policy subjects (for narrowing checks of rules that name members). */
export async function policyMembersNamed(db: Queryable, userids: string[], configuredAdmins: string[]): Promise<Map<string, PolicyMember>> {
  const out = new Map<string, PolicyMember>();
  for (const userid of new Set(userids)) {
    const [known] = await db.select({ userid: members.userid }).from(members).where(eq(members.userid, userid));
    if (known) out.set(userid, await loadPolicyMember(db, userid, configuredAdmins));
  }
  return out;
}
