import { and, eq } from 'drizzle-orm';
import type { Database } from '../db/database.ts';
import { visibilityRules, type AudienceGrants, type PolicyNodeType, type RuleMode } from '../db/schema.ts';
import { DomainError } from '../http/domain-error.ts';
import { reason, type Reason } from '../http/reason.ts';
import { TagPolicy, type PolicyRule } from '../policy/tag-policy.ts';
import { audit } from './audit.service.ts';
import { bumpPolicyVersion } from './policy-version.ts';
import { loadPolicyData, policyMembersNamed } from './tag-policy.service.ts';

export interface RuleInput {
  see: AudienceGrants | null;
  use?: AudienceGrants;
  mode?: RuleMode;
}

export interface NodeVisibility {
  node: { type: PolicyNodeType; id: string; name: string };
  path: { type: PolicyNodeType; id: string; name: string }[];
  rule: { see: AudienceGrants; use: AudienceGrants; mode: RuleMode } | null;
  /** The rules that apply from above (the effective audience is every one of them at once). */
  inherited: { node: { type: PolicyNodeType; id: string; name: string }; see: AudienceGrants; use: AudienceGrants }[];
  /** Descendant rules now wider than this node's rule (to be fixed by the admin); English. */
  warnings: string[];
  /** The same warnings as codes with parameters (same order), for the web app. */
  warningReasons: Reason[];
}

function describeNode(type: PolicyNodeType): string {
  return type === 'folder' ? 'folder' : type === 'group' ? 'tag group' : 'tag';
}

export function nodeVisibility(policy: TagPolicy, type: PolicyNodeType, id: string, memberOf: Parameters<TagPolicy['uncovered']>[2] = () => undefined): NodeVisibility {
  const path = policy.pathOf(type, id);
  const node = path[path.length - 1];
  if (!node) throw new DomainError('NOT_FOUND', `no such ${describeNode(type)}: ${id}`);
  const own = policy.ruleOf(type, id);
  const inherited = path.slice(0, -1).flatMap((ancestor) => {
    const rule = policy.ruleOf(ancestor.type, ancestor.id);
    return rule ? [{ node: ancestor, see: rule.see, use: rule.use }] : [];
  });
  const found = own
    ? policy.descendantRules(type, id).flatMap((child) => {
      const problems = policy.ruleProblems(child.nodeType, child.nodeId, child.see, child.use, memberOf);
      const name = policy.pathOf(child.nodeType, child.nodeId).at(-1)?.name ?? child.nodeId;
      return problems.map((p) => ({
        text: `${describeNode(child.nodeType)} "${name}": ${p.text}`,
        reason: reason('rule.child_problem', { nodeType: child.nodeType, node: name, problem: { ...p.reason } }),
      }));
    })
    : [];
  return { node, path, rule: own ? { see: own.see, use: own.use, mode: own.mode } : null, inherited, warnings: found.map((w) => w.text), warningReasons: found.map((w) => w.reason) };
}

/**
 * Saves or removes the rule on one node. Refused (409, naming the parent) when it would widen an
 * ancestor's audience or when `use` is wider than `see`; names that do not exist are refused (400).
 */
export async function saveRule(db: Database, configuredAdmins: string[], actor: string, type: PolicyNodeType, id: string, input: RuleInput): Promise<NodeVisibility> {
  return db.transaction(async (tx) => {
    const data = await loadPolicyData(tx);
    const current = new TagPolicy(data);
    const path = current.pathOf(type, id);
    if (!path.length) throw new DomainError('NOT_FOUND', `no such ${describeNode(type)}: ${id}`);
    const previous = current.ruleOf(type, id);
    if (input.see === null) {
      await tx.delete(visibilityRules).where(and(eq(visibilityRules.nodeType, type), eq(visibilityRules.nodeId, id)));
      await audit(tx, { actor, action: 'tag_policy.rule_removed', subjectType: type, subjectId: id, outcome: 'done', details: { previous: previous ?? null } });
    } else {
      const see = normalize(input.see);
      const use = input.use ? normalize(input.use) : see;
      const unknown = [
        ...see.departments.concat(use.departments).filter((d) => !current.hasDepartment(d)).map((d) => `department ${d}`),
      ];
      const named = await policyMembersNamed(tx, [...see.users, ...use.users], configuredAdmins);
      unknown.push(...[...see.users, ...use.users].filter((u) => !named.has(u)).map((u) => `member ${u}`));
      if (unknown.length) throw new DomainError('BAD_REQUEST', `the rule names what does not exist: ${[...new Set(unknown)].join(', ')}`, undefined, reason('rule.names_unknown', { names: [...new Set(unknown)] }));
      const problems = current.ruleProblems(type, id, see, use, (u) => named.get(u));
      if (problems.length) {
        throw new DomainError('CONFLICT', `this rule would widen access: ${problems.map((p) => p.text).join('; ')}. A rule may narrow its parent, never widen it.`, undefined,
          reason('rule.would_widen', { problems: problems.map((p) => ({ ...p.reason })) }));
      }
      const mode = input.mode ?? previous?.mode ?? 'enforce';
      await tx.insert(visibilityRules).values({ nodeType: type, nodeId: id, see, use, mode, updatedBy: actor })
        .onConflictDoUpdate({ target: [visibilityRules.nodeType, visibilityRules.nodeId], set: { see, use, mode, updatedBy: actor, updatedAt: new Date() } });
      await audit(tx, { actor, action: 'tag_policy.rule_saved', subjectType: type, subjectId: id, outcome: 'done', details: { previous: previous ?? null, see, use, mode } });
    }
    await bumpPolicyVersion(tx);
    const updated: PolicyRule[] = data.rules.filter((r) => !(r.nodeType === type && r.nodeId === id));
    if (input.see !== null) {
      const see = normalize(input.see);
      updated.push({ nodeType: type, nodeId: id, see, use: input.use ? normalize(input.use) : see, mode: input.mode ?? previous?.mode ?? 'enforce' });
    }
    return nodeVisibility(new TagPolicy({ ...data, rules: updated }), type, id);
  });
}

function normalize(audience: AudienceGrants): AudienceGrants {
  return {
    departments: [...new Set(audience.departments ?? [])],
    users: [...new Set(audience.users ?? [])],
    roles: (audience.roles ?? []).map((r) => ({ name: r.name, ...(r.departments?.length ? { departments: [...new Set(r.departments)] } : {}) })),
  };
}
