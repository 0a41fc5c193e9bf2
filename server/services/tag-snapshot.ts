import type { AudienceGrants, PolicyNodeType, RuleMode } from '../db/schema.ts';
import type { TagPolicy } from '../policy/tag-policy.ts';

/**
 * What a tag's visibility was when a campaign was sent: its place in the tag tree, every rule on its
 * path (a tag is seen by whom every rule admits), and the rule group's range for rule-group tags. Kept
 * on the campaign so a later review shows why a customer was selected even after the rules changed.
 */
export interface TagVisibilitySnapshot {
  tagId: string;
  name: string;
  kind: 'corp' | 'strategy' | 'personal';
  /** The audience layers that named the tag. */
  layers: ('enterprise' | 'personal' | 'directed')[];
  path: string[];
  rules: { node: { type: PolicyNodeType; id: string; name: string }; see: AudienceGrants; use: AudienceGrants; mode: RuleMode; seeDescribed: string }[];
  ruleGroup?: { id: number; name: string; users: string[]; departments: number[] };
  /** One line: who could see the tag. */
  summary: string;
}

export function sharedTagSnapshot(policy: TagPolicy, tagId: string, layers: TagVisibilitySnapshot['layers']): TagVisibilitySnapshot {
  const tag = policy.tag(tagId);
  const path = policy.pathOf('tag', tagId);
  const rules = path.flatMap((node) => {
    const rule = policy.ruleOf(node.type, node.id);
    return rule ? [{ node, see: rule.see, use: rule.use, mode: rule.mode, seeDescribed: policy.describeAudience(rule.see) }] : [];
  });
  const strategy = tag?.strategyId != null ? policy.strategy(tag.strategyId) : undefined;
  const limits = [
    ...rules.filter((r) => r.mode === 'enforce').map((r) => `${r.node.name}: ${r.seeDescribed}`),
    ...(strategy ? [`rule group ${strategy.name}`] : []),
  ];
  return {
    tagId,
    name: tag?.name ?? tagId,
    kind: tag?.strategyId != null ? 'strategy' : 'corp',
    layers,
    path: path.map((n) => n.name),
    rules,
    ...(strategy ? { ruleGroup: { id: strategy.strategyId, name: strategy.name, users: strategy.users, departments: strategy.departments } } : {}),
    summary: limits.length ? limits.join('; ') : 'everyone in the company',
  };
}

export function personalTagSnapshot(tagId: string, name: string, owner: string): TagVisibilitySnapshot {
  return { tagId, name, kind: 'personal', layers: ['personal'], path: [], rules: [], summary: `personal tag of ${owner}: only they see it` };
}
