import { inArray, isNull } from 'drizzle-orm';
import type { Database, Queryable } from '../db/database.ts';
import { appAdmins, departments, memberDepartments, memberManagedDepartments, memberRoles, members, strategies, strategyRanges, tagFolders, tagGroups, tags, visibilityRules } from '../db/schema.ts';
import { TagPolicy, type PolicyData, type PolicyMember } from '../policy/tag-policy.ts';
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
  return (await loadPolicyMembers(db, [userid], configuredAdmins)).get(userid) ?? { userid, departments: [], roles: [] };
}

/**
 * Policy facts of many members in five queries (not five per member). Members unknown locally are
 * left out; members who left get no departments and no roles, so no rule admits them.
 */
export async function loadPolicyMembers(db: Queryable, userids: string[], configuredAdmins: string[]): Promise<Map<string, PolicyMember>> {
  const out = new Map<string, PolicyMember>();
  const ids = [...new Set(userids)];
  if (ids.length === 0) return out;
  const known = await db.select({ userid: members.userid, status: members.status }).from(members).where(inArray(members.userid, ids));
  const present = known.filter((m) => m.status !== MEMBER_LEFT).map((m) => m.userid);
  for (const m of known) out.set(m.userid, { userid: m.userid, departments: [], roles: [] });
  if (present.length === 0) return out;
  const depts = await db.select({ userid: memberDepartments.userid, id: memberDepartments.departmentId, isLeader: memberDepartments.isLeader }).from(memberDepartments).where(inArray(memberDepartments.userid, present));
  const explicit = await db.select({ userid: memberRoles.userid, role: memberRoles.role }).from(memberRoles).where(inArray(memberRoles.userid, present));
  const named = new Set((await db.selectDistinct({ userid: memberManagedDepartments.userid }).from(memberManagedDepartments).where(inArray(memberManagedDepartments.userid, present))).map((r) => r.userid));
  const admins = new Set([...configuredAdmins, ...(await db.select({ userid: appAdmins.userid }).from(appAdmins).where(inArray(appAdmins.userid, present))).map((r) => r.userid)]);
  for (const userid of present) {
    const own = depts.filter((d) => d.userid === userid);
    const roles = new Set<string>(['rep', ...explicit.filter((r) => r.userid === userid).map((r) => r.role)]);
    // Managers: WeCom department leaders and members an admin named to manage departments.
    if (own.some((d) => d.isLeader) || named.has(userid)) roles.add('manager');
    if (admins.has(userid)) roles.add('admin');
    out.set(userid, { userid, departments: own.map((d) => d.id), roles: [...roles] });
  }
  return out;
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
  /** The build in flight and the version read before it started (its data is at least that new). */
  private building: { version: number; engine: Promise<TagPolicy> } | undefined;

  constructor(private readonly db: Database, private readonly configuredAdmins: string[], private readonly maxViews = 5_000) {}

  async policy(): Promise<TagPolicy> {
    const version = await readPolicyVersion(this.db);
    if (this.engine && version === this.version) return this.engine;
    // A build started for an older version may have read the data before the change this request
    // already sees: share only a build of this same version, else start a fresh one.
    if (this.building?.version !== version) this.building = { version, engine: this.build(version) };
    return this.building.engine;
  }

  private async build(version: number): Promise<TagPolicy> {
    try {
      const engine = new TagPolicy(await loadPolicyData(this.db));
      // An older build finishing late must not replace a newer engine.
      if (version >= this.version) {
        this.engine = engine;
        this.version = version;
        this.views.clear();
      }
      return engine;
    } finally {
      if (this.building?.version === version) this.building = undefined;
    }
  }

  async view(userid: string): Promise<MemberTagView> {
    const engine = await this.policy();
    const cached = this.views.get(userid);
    if (cached && this.engine === engine) return cached;
    const member = await loadPolicyMember(this.db, userid, this.configuredAdmins);
    const visible = engine.visibleTags(member);
    const view = { member, ...visible };
    // Only views of the current engine are kept (a request holding an older one answers from it once).
    if (this.engine === engine) {
      if (this.views.size >= this.maxViews) this.views.delete(this.views.keys().next().value!);
      this.views.set(userid, view);
    }
    return view;
  }
}

/** The named members as policy subjects (for narrowing checks of rules that name members). */
export async function policyMembersNamed(db: Queryable, userids: string[], configuredAdmins: string[]): Promise<Map<string, PolicyMember>> {
  return loadPolicyMembers(db, userids, configuredAdmins);
}
