import { isNull } from 'drizzle-orm';
import type { Database } from '../db/database.ts';
import { contactWays, members, roles } from '../db/schema.ts';
import { reason, type Reason } from '../http/reason.ts';
import type { TagPolicy } from '../policy/tag-policy.ts';
import { nameProblemReason, tagNameProblems } from './tag-names.ts';
import { readTagNameRules } from './tag-name-rules.service.ts';
import { loadPolicyMember, loadPolicyMembers } from './tag-policy.service.ts';

export type ConflictKind =
  | 'rule_wider_than_parent'
  | 'rule_names_missing'
  | 'contact_way_tag_not_usable'
  | 'contact_way_outside_rule_group'
  | 'departments_disagree'
  | 'tag_name_invalid';

export interface Conflict {
  kind: ConflictKind;
  /** `warning` needs a fix; `info` explains a result that may surprise (e.g. a union of departments). */
  severity: 'warning' | 'info';
  node?: { type: string; id: string; name: string };
  /** English, for API clients. */
  message: string;
  fix: string;
  /** `message` as a code with parameters (`conflict.<kind>`); the fix is worded per `kind` by the web app. */
  reason: Reason;
}

const IMPLICIT_ROLES = ['admin', 'manager', 'rep'];
const MAX_INFO = 200;

/**
 * Everything an admin should look at in the tag policy, each with the fix: rules wider than their
 * parents, rules naming what no longer exists, contact ways applying tags their members may not use,
 * members whose departments disagree (informational), and tag names that break the naming rules.
 */
export async function findConflicts(db: Database, policy: TagPolicy, configuredAdmins: string[]): Promise<Conflict[]> {
  const conflicts: Conflict[] = [];
  const memberRows = await db.select({ userid: members.userid, name: members.name, status: members.status }).from(members);
  const activeMembers = new Map(memberRows.filter((m) => m.status !== 5).map((m) => [m.userid, m]));
  const names = new Map(memberRows.map((m) => [m.userid, m.name]));
  const nameOf = (userid: string): string => names.get(userid) ?? userid;
  const roleNames = new Set([...IMPLICIT_ROLES, ...(await db.select({ name: roles.name }).from(roles)).map((r) => r.name)]);
  // Every active member's policy facts in a few queries; others (named but gone) load on demand.
  const subjects = await loadPolicyMembers(db, [...activeMembers.keys()], configuredAdmins);
  const subject = async (userid: string) => subjects.get(userid) ?? (await loadPolicyMember(db, userid, configuredAdmins));

  for (const rule of policy.allRules()) {
    const node = policy.pathOf(rule.nodeType, rule.nodeId).at(-1);
    if (!node) continue;
    for (const problem of policy.ruleProblems(rule.nodeType, rule.nodeId, rule.see, rule.use, (u) => subjects.get(u))) {
      conflicts.push({
        kind: 'rule_wider_than_parent', severity: 'warning', node, message: `The rule on ${node.type} "${node.name}" is ${problem.text}.`, fix: 'Narrow this rule to fit inside its parent, or widen the parent first.',
        reason: reason('conflict.rule_wider_than_parent', { nodeType: node.type, node: node.name, problem: { ...problem.reason } }),
      });
    }
    const gone = {
      departments: [...new Set([...rule.see.departments, ...rule.use.departments].filter((d) => !policy.hasDepartment(d)))],
      users: [...new Set([...rule.see.users, ...rule.use.users].filter((u) => !activeMembers.has(u)))],
      roles: [...new Set([...rule.see.roles, ...rule.use.roles].filter((r) => !roleNames.has(r.name)).map((r) => r.name))],
    };
    const missing = [...gone.departments.map((d) => `department ${d}`), ...gone.users.map((u) => `member ${u}`), ...gone.roles.map((r) => `role ${r}`)];
    if (missing.length) {
      conflicts.push({
        kind: 'rule_names_missing', severity: 'warning', node, message: `The rule on ${node.type} "${node.name}" names what no longer exists: ${missing.join(', ')}.`, fix: 'Remove them from the rule (a departed member or removed department grants nothing).',
        reason: reason('conflict.rule_names_missing', {
          nodeType: node.type, node: node.name,
          // Departments that are gone have no name left: their id stands in.
          audience: { departments: gone.departments.map((d) => `#${d}`), users: gone.users, roles: gone.roles.map((name) => ({ name, departments: [] })) },
        }),
      });
    }
  }

  const ways = await db.select().from(contactWays).where(isNull(contactWays.deletedAt));
  for (const way of ways) {
    const wayMembers = new Set(way.users);
    for (const departmentId of way.parties) {
      for (const [userid] of activeMembers) if ((await subject(userid)).departments.some((d) => policy.departmentChain(d).includes(departmentId))) wayMembers.add(userid);
    }
    for (const tagId of way.rules.tagIds) {
      const tag = policy.tag(tagId);
      if (!tag) continue;
      const refused: string[] = [];
      const outside: string[] = [];
      for (const userid of wayMembers) {
        const member = await subject(userid);
        if (tag.strategyId != null && !policy.inStrategyRange(tag.strategyId, member)) outside.push(userid);
        else if (!policy.decide(member, tagId).use) refused.push(userid);
      }
      const node = { type: 'contact_way', id: way.configId, name: way.state };
      if (outside.length) {
        const strategy = policy.strategy(tag.strategyId!)?.name ?? String(tag.strategyId);
        conflicts.push({
          kind: 'contact_way_outside_rule_group', severity: 'warning', node, message: `Contact way "${way.state}" applies rule-group tag "${tag.name}" but ${outside.join(', ')} are outside the rule group "${strategy}".`, fix: 'Add those members to the rule group\'s range, or remove the tag from the contact way.',
          reason: reason('conflict.contact_way_outside_rule_group', { state: way.state, tag: tag.name, members: outside.map(nameOf), strategy }),
        });
      }
      if (refused.length) {
        conflicts.push({
          kind: 'contact_way_tag_not_usable', severity: 'warning', node, message: `Contact way "${way.state}" applies tag "${tag.name}" that ${refused.join(', ')} may not use; it will be refused for them at add time.`, fix: 'Grant them use of the tag, or remove it from the contact way.',
          reason: reason('conflict.contact_way_tag_not_usable', { state: way.state, tag: tag.name, members: refused.map(nameOf) }),
        });
      }
    }
  }

  let info = 0;
  for (const [userid, row] of activeMembers) {
    const member = await subject(userid);
    if (member.departments.length < 2 || info >= MAX_INFO) continue;
    const union = policy.visibleTags(member).see;
    for (const departmentId of member.departments) {
      const alone = policy.visibleTags({ ...member, departments: [departmentId] }).see;
      const onlyElsewhere = [...union].filter((t) => !alone.has(t));
      if (onlyElsewhere.length && info < MAX_INFO) {
        info++;
        conflicts.push({
          kind: 'departments_disagree', severity: 'info', node: { type: 'member', id: userid, name: row.name },
          message: `${row.name} sees ${onlyElsewhere.length} tag(s) (e.g. "${policy.tag(onlyElsewhere[0]!)?.name}") through other departments that ${policy.departmentName(departmentId)} alone would not grant; the union applies.`,
          fix: 'Nothing to do if intended; otherwise change the member\'s departments or narrow the rule.',
          reason: reason('conflict.departments_disagree', { member: row.name, count: onlyElsewhere.length, example: policy.tag(onlyElsewhere[0]!)?.name ?? '', department: policy.departmentName(departmentId) }),
        });
      }
    }
  }

  const nameRules = await readTagNameRules(db);
  for (const tag of policy.allTags()) {
    const problems = tagNameProblems(tag.name, { rules: nameRules });
    if (problems.length) {
      conflicts.push({
        kind: 'tag_name_invalid', severity: 'warning', node: { type: 'tag', id: tag.tagId, name: tag.name }, message: `Tag "${tag.name}": ${problems.map((p) => p.message).join('; ')}.`, fix: 'Rename the tag.',
        reason: reason('conflict.tag_name_invalid', { tag: tag.name, problems: problems.map((p) => ({ ...nameProblemReason(tag.name, p, nameRules) })) }),
      });
    }
  }
  return conflicts;
}
