// The tag policy against a decision matrix kept as data (matrix-fixture.ts): one test per
// (member, tag) cell, then explain's wording for a few cells and the narrowing checks of validateRule.
import { describe, expect, it } from 'vitest';
import type { AudienceGrants } from '../../server/db/schema.ts';
import { TagPolicy } from '../../server/policy/tag-policy.ts';
import { COLUMNS, DEPT, FOLDER, MATRIX, MEMBERS, MEMBER_NAMES, POLICY_DATA, matrixCells, memberOf } from './matrix-fixture.ts';

const policy = new TagPolicy(POLICY_DATA);
const member = (userid: string) => {
  const found = memberOf(userid);
  if (!found) throw new Error(`no member ${userid} in the fixture`);
  return found;
};
const nameOf = (userid: string) => MEMBER_NAMES[userid] ?? userid;
const explain = (userid: string, tagId: string) => policy.explain(member(userid), tagId, nameOf);
const audience = (grants: Partial<AudienceGrants>): AudienceGrants => ({ departments: [], users: [], roles: [], ...grants });

describe('decision matrix', () => {
  it('has one row per tag and one column per member of the fixture', () => {
    expect(MATRIX.map(([tagId]) => tagId).sort()).toEqual(POLICY_DATA.tags.map((t) => t.tagId).sort());
    expect([...COLUMNS].sort()).toEqual(MEMBERS.map((m) => m.userid).sort());
    for (const [tagId, cells] of MATRIX) expect(cells, tagId).toHaveLength(COLUMNS.length);
  });

  it.each(matrixCells())('$userid on $tagId: see $see, use $use ($why)', ({ userid, tagId, see, use }) => {
    const m = member(userid);
    expect(policy.decide(m, tagId)).toEqual({ see, use });
    // The list agrees with the check, and explain reports the same decision.
    const visible = policy.visibleTags(m);
    expect({ see: visible.see.has(tagId), use: visible.use.has(tagId) }).toEqual({ see, use });
    const explanation = explain(userid, tagId);
    expect({ see: explanation.see, use: explanation.use }).toEqual({ see, use });
  });

  it('lists nothing beyond the matrix and nothing for a tag that does not exist', () => {
    for (const m of MEMBERS) {
      const { see, use } = policy.visibleTags(m);
      const expected = matrixCells().filter((c) => c.userid === m.userid);
      expect([...see].sort()).toEqual(expected.filter((c) => c.see).map((c) => c.tagId).sort());
      expect([...use].sort()).toEqual(expected.filter((c) => c.use).map((c) => c.tagId).sort());
      expect(policy.decide(m, 't-no-such-tag')).toEqual({ see: false, use: false });
    }
  });
});

describe('explain', () => {
  const line = (because: string[], ...parts: string[]) => because.find((text) => parts.every((p) => text.includes(p)));

  it('names the department that granted through a sub-department', () => {
    // 王芳 is in 杭州西湖店 (under 杭州 under 华东) and 广州天河店; R1 grants 华东.
    const { because, see, steps } = explain('wangfang', 't-freq-high');
    expect(see).toBe(true);
    expect(line(because, 'folder "品牌忠诚度"', '王芳', '杭州西湖店', '华东')).toBeDefined();
    expect(steps[0]!.see.matches).toEqual([{ kind: 'department', department: DEPT.华东, via: DEPT.杭州西湖店 }]);
  });

  it('names the role grant and the department it was limited to', () => {
    // 周杰 is a manager in 杭州: R3 lets managers in 华东 see and use.
    const { because } = explain('zhoujie', 't-complaint-open');
    expect(line(because, 'group "投诉记录"', '周杰', 'manager', '杭州', '华东')).toBeDefined();
  });

  it('names the node that refused, and stops the grant of the ancestors from deciding', () => {
    // 周杰 passes R1 and R3 but R4 (managers in 上海 only) refuses him.
    const { because, see, steps } = explain('zhoujie', 't-complaint-escalated');
    expect(see).toBe(false);
    expect(line(because, 'tag "投诉升级"', 'does not include', '周杰')).toBeDefined();
    expect(steps.map((s) => [s.node.name, s.see.allowed])).toEqual([['品牌忠诚度', true], ['投诉记录', true], ['投诉升级', false]]);
  });

  it('names the folder that refused a member of another region', () => {
    const { because } = explain('chenjie', 't-freq-high');
    expect(line(because, 'folder "品牌忠诚度"', 'does not include', '陈杰', '华东')).toBeDefined();
  });

  it('says when a member may see but not use, and which rule held back use', () => {
    const { because } = explain('admin01', 't-vip-gold');
    expect(line(because, 'folder "VIP运营"', '管理员', 'see but not use')).toBeDefined();
  });

  it('shows report mode on the step of a report-only rule', () => {
    const { steps, use } = explain('zhangwei', 't-freq-dormant');
    expect(use).toBe(false);
    const tagStep = steps.find((s) => s.node.type === 'tag')!;
    expect(tagStep).toMatchObject({ rule: true, mode: 'report', see: { allowed: true }, use: { allowed: false } });
  });

  it('explains a rule-group tag outside the range, even for an admin', () => {
    const { because, strategy } = explain('admin01', 't-campaign-day');
    expect(strategy).toEqual({ strategyId: 100, name: '华东会员活动', inRange: false });
    expect(line(because, '华东会员活动', 'outside')).toBeDefined();
  });

  it('explains the default when no rule applies, and a tag that does not exist', () => {
    expect(line(explain('sunqi', 't-src-store').because, 'No rule')).toBeDefined();
    expect(explain('sunqi', 't-no-such-tag')).toMatchObject({ see: false, use: false, steps: [] });
  });
});

describe('validateRule', () => {
  const validate = (type: 'folder' | 'group' | 'tag', id: string, see: AudienceGrants, use: AudienceGrants = see) => policy.validateRule(type, id, see, use, memberOf);

  it('refuses a group rule wider than its folder, naming the folder', () => {
    const errors = validate('group', 'g-repurchase', audience({ departments: [DEPT.华南] }));
    expect(errors.some((e) => e.includes('folder "品牌忠诚度"') && e.includes('华南'))).toBe(true);
  });

  it('refuses a tag rule wider than its group, naming the group', () => {
    // R3 lets 上海 see; 杭州 is outside it (though inside the folder's 华东).
    const errors = validate('tag', 't-complaint-open', audience({ departments: [DEPT.杭州] }));
    expect(errors).toHaveLength(2);
    expect(errors.every((e) => e.includes('group "投诉记录"') && e.includes('杭州'))).toBe(true);
    expect(errors.some((e) => e.includes('folder "品牌忠诚度"'))).toBe(false);
  });

  it('refuses a rule on a nested folder wider than the folder above it', () => {
    const errors = validate('folder', String(FOLDER.VIP运营), audience({ roles: [{ name: '质检' }] }));
    expect(errors.some((e) => e.includes('folder "品牌忠诚度"') && e.includes('role 质检'))).toBe(true);
  });

  it('refuses use wider than see in the same rule', () => {
    const errors = validate('group', 'g-source', audience({ departments: [DEPT.上海] }), audience({ departments: [DEPT.华东] }));
    expect(errors).toEqual([expect.stringContaining('use audience is wider than the see audience')]);
    expect(errors[0]).toContain('华东');
  });

  it('accepts narrowing: a sub-department, a named member inside, use within see', () => {
    expect(validate('group', 'g-repurchase', audience({ departments: [DEPT.杭州], users: ['lina'] }), audience({ departments: [DEPT.杭州西湖店] }))).toEqual([]);
    expect(validate('tag', 't-complaint-escalated', audience({ departments: [DEPT.上海静安店] }), audience({ departments: [] }))).toEqual([]);
    expect(validate('group', 'g-vip', audience({ roles: [{ name: 'manager', departments: [DEPT.上海] }] }))).toEqual([]);
  });

  it('accepts a role limited to departments inside the parent, refuses the same role unlimited or elsewhere', () => {
    // The folder grants 华东 and role admin.
    expect(validate('group', 'g-repurchase', audience({ roles: [{ name: 'manager', departments: [DEPT.上海] }] }))).toEqual([]);
    expect(validate('group', 'g-repurchase', audience({ roles: [{ name: 'admin' }] }))).toEqual([]);
    const unlimited = validate('group', 'g-repurchase', audience({ roles: [{ name: 'manager' }] }));
    expect(unlimited.some((e) => e.includes('folder "品牌忠诚度"') && e.includes('role manager'))).toBe(true);
    const elsewhere = validate('group', 'g-repurchase', audience({ roles: [{ name: 'manager', departments: [DEPT.广州] }] }));
    expect(elsewhere.some((e) => e.includes('role manager in 广州'))).toBe(true);
    // Under R3 (managers in 华东): managers in 杭州 narrow it.
    expect(validate('tag', 't-complaint-open', audience({ roles: [{ name: 'manager', departments: [DEPT.杭州] }] }))).toEqual([]);
  });

  it('judges a named member by their departments and roles, and refuses unknown members', () => {
    expect(validate('group', 'g-repurchase', audience({ users: ['zhangwei', 'admin01'] }))).toEqual([]);
    expect(validate('group', 'g-repurchase', audience({ users: ['chenjie'] })).some((e) => e.includes('member chenjie'))).toBe(true);
    expect(validate('group', 'g-repurchase', audience({ users: ['nobody'] })).some((e) => e.includes('member nobody'))).toBe(true);
  });

  it('takes a grant of the root department to cover any role, but not a member who left or a department outside the tree', () => {
    const everyone = audience({ departments: [DEPT.总部] });
    expect(validate('group', 'g-source', everyone, audience({ roles: [{ name: 'manager' }, { name: '质检' }] }))).toEqual([]);
    expect(validate('group', 'g-source', everyone, audience({ users: ['zhangwei'], departments: [DEPT.广州天河店] }))).toEqual([]);
    expect(validate('group', 'g-source', everyone, audience({ users: ['sunqi'] }))).toEqual([expect.stringContaining('member sunqi')]);
    expect(validate('group', 'g-source', everyone, audience({ departments: [777] }))).toEqual([expect.stringContaining('department #777')]);
    // 华东 is not the root: an unlimited role is wider than it.
    expect(validate('group', 'g-source', audience({ departments: [DEPT.华东] }), audience({ roles: [{ name: 'manager' }] }))).toEqual([expect.stringContaining('role manager')]);
  });

  it('accepts anything on a node with no rule above it', () => {
    expect(validate('folder', String(FOLDER.品牌忠诚度), audience({ departments: [DEPT.华南] }))).toEqual([]);
    expect(validate('tag', 't-src-store', audience({ roles: [{ name: 'rep' }] }))).toEqual([]);
  });
});
