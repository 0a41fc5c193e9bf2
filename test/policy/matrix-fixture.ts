// The decision matrix of the tag policy, kept as data: a small company whose expected answers were
// worked out by hand from the rules below (not by running the engine). decision-matrix.test.ts turns
// every (member, tag) cell into one test.
import type { PolicyData, PolicyMember } from '../../server/policy/tag-policy.ts';

/**
 * Departments, four levels:
 *
 *   总部 (1)
 *   ├─ 华东 (2)
 *   │  ├─ 上海 (4) ── 上海静安店 (7), 上海徐汇店 (8)
 *   │  └─ 杭州 (5) ── 杭州西湖店 (9)
 *   └─ 华南 (3)
 *      └─ 广州 (6) ── 广州天河店 (10)
 */
export const DEPT = { 总部: 1, 华东: 2, 华南: 3, 上海: 4, 杭州: 5, 广州: 6, 上海静安店: 7, 上海徐汇店: 8, 杭州西湖店: 9, 广州天河店: 10 } as const;

/** Roles: `rep` (everyone active), `manager` (department leaders), `admin`, and a custom role 质检 (quality inspection). */
export const MEMBERS: PolicyMember[] = [
  { userid: 'zhangwei', departments: [DEPT.上海静安店], roles: ['rep'] },
  { userid: 'liuyang', departments: [DEPT.上海徐汇店], roles: ['rep', '质检'] },
  { userid: 'wangfang', departments: [DEPT.杭州西湖店, DEPT.广州天河店], roles: ['rep'] },
  { userid: 'lina', departments: [DEPT.上海, DEPT.广州天河店], roles: ['rep', 'manager'] },
  { userid: 'chenjie', departments: [DEPT.广州], roles: ['rep', 'manager'] },
  { userid: 'zhaolei', departments: [DEPT.华南], roles: ['rep', '质检'] },
  { userid: 'admin01', departments: [DEPT.总部], roles: ['rep', 'admin'] },
  { userid: 'zhoujie', departments: [DEPT.杭州], roles: ['rep', 'manager'] },
  /** Left the company: no departments, no roles. */
  { userid: 'sunqi', departments: [], roles: [] },
];

export const MEMBER_NAMES: Record<string, string> = {
  zhangwei: '张伟', liuyang: '刘洋', wangfang: '王芳', lina: '李娜', chenjie: '陈杰', zhaolei: '赵磊', admin01: '管理员', zhoujie: '周杰', sunqi: '孙琪',
};

export const memberOf = (userid: string): PolicyMember | undefined => MEMBERS.find((m) => m.userid === userid);

export const FOLDER = { 品牌忠诚度: 1, VIP运营: 2 } as const;

/**
 * The tag tree and its rules:
 *
 *   folder 品牌忠诚度            R1 see = use = 华东 | role admin
 *   ├─ group 复购频次
 *   │  ├─ 高频复购
 *   │  └─ 沉睡客户             R2 (report) see = 华东 | admin; use = manager in 华东 | member admin01
 *   ├─ group 投诉记录            R3 see = 上海 | manager in 华东 | admin; use = manager in 华东 | admin
 *   │  ├─ 投诉处理中
 *   │  └─ 投诉升级             R4 see = use = manager in 上海 | member admin01
 *   └─ folder VIP运营           R5 see = 质检 in 华东 | manager in 上海 | member admin01; use = manager in 上海
 *      └─ group 会员等级
 *         └─ 金卡会员
 *   group 客户来源 (top level, no rule)
 *   ├─ 门店到访
 *   └─ 广告投放                 R6 see = 总部; use = 华南
 *   rule group 华东会员活动 (range: 华东 | member chenjie)
 *   ├─ 双十一                   R7 see = 总部; use = role manager (anywhere)
 *   └─ 会员日
 *   rule group 旧活动 (the rule group no longer exists in WeCom)
 *   └─ 旧活动券
 */
export const POLICY_DATA: PolicyData = {
  departments: [
    { id: DEPT.总部, name: '总部', parentId: null },
    { id: DEPT.华东, name: '华东', parentId: DEPT.总部 },
    { id: DEPT.华南, name: '华南', parentId: DEPT.总部 },
    { id: DEPT.上海, name: '上海', parentId: DEPT.华东 },
    { id: DEPT.杭州, name: '杭州', parentId: DEPT.华东 },
    { id: DEPT.广州, name: '广州', parentId: DEPT.华南 },
    { id: DEPT.上海静安店, name: '上海静安店', parentId: DEPT.上海 },
    { id: DEPT.上海徐汇店, name: '上海徐汇店', parentId: DEPT.上海 },
    { id: DEPT.杭州西湖店, name: '杭州西湖店', parentId: DEPT.杭州 },
    { id: DEPT.广州天河店, name: '广州天河店', parentId: DEPT.广州 },
  ],
  folders: [
    { id: FOLDER.品牌忠诚度, name: '品牌忠诚度', parentId: null },
    { id: FOLDER.VIP运营, name: 'VIP运营', parentId: FOLDER.品牌忠诚度 },
  ],
  groups: [
    { groupId: 'g-repurchase', name: '复购频次', folderId: FOLDER.品牌忠诚度, strategyId: null },
    { groupId: 'g-complaint', name: '投诉记录', folderId: FOLDER.品牌忠诚度, strategyId: null },
    { groupId: 'g-vip', name: '会员等级', folderId: FOLDER.VIP运营, strategyId: null },
    { groupId: 'g-source', name: '客户来源', folderId: null, strategyId: null },
    { groupId: 'g-east-campaign', name: '华东会员活动', folderId: null, strategyId: 100 },
    { groupId: 'g-old-campaign', name: '旧活动', folderId: null, strategyId: 200 },
  ],
  tags: [
    { tagId: 't-freq-high', groupId: 'g-repurchase', name: '高频复购', strategyId: null },
    { tagId: 't-freq-dormant', groupId: 'g-repurchase', name: '沉睡客户', strategyId: null },
    { tagId: 't-complaint-open', groupId: 'g-complaint', name: '投诉处理中', strategyId: null },
    { tagId: 't-complaint-escalated', groupId: 'g-complaint', name: '投诉升级', strategyId: null },
    { tagId: 't-vip-gold', groupId: 'g-vip', name: '金卡会员', strategyId: null },
    { tagId: 't-src-store', groupId: 'g-source', name: '门店到访', strategyId: null },
    { tagId: 't-src-ad', groupId: 'g-source', name: '广告投放', strategyId: null },
    { tagId: 't-campaign-1111', groupId: 'g-east-campaign', name: '双十一', strategyId: 100 },
    { tagId: 't-campaign-day', groupId: 'g-east-campaign', name: '会员日', strategyId: 100 },
    { tagId: 't-old-coupon', groupId: 'g-old-campaign', name: '旧活动券', strategyId: 200 },
  ],
  rules: [
    { // R1
      nodeType: 'folder', nodeId: String(FOLDER.品牌忠诚度), mode: 'enforce',
      see: { departments: [DEPT.华东], users: [], roles: [{ name: 'admin' }] },
      use: { departments: [DEPT.华东], users: [], roles: [{ name: 'admin' }] },
    },
    { // R2: report only (edits in the WeCom client are audited and reported, not reverted)
      nodeType: 'tag', nodeId: 't-freq-dormant', mode: 'report',
      see: { departments: [DEPT.华东], users: [], roles: [{ name: 'admin' }] },
      use: { departments: [], users: ['admin01'], roles: [{ name: 'manager', departments: [DEPT.华东] }] },
    },
    { // R3
      nodeType: 'group', nodeId: 'g-complaint', mode: 'enforce',
      see: { departments: [DEPT.上海], users: [], roles: [{ name: 'manager', departments: [DEPT.华东] }, { name: 'admin' }] },
      use: { departments: [], users: [], roles: [{ name: 'manager', departments: [DEPT.华东] }, { name: 'admin' }] },
    },
    { // R4
      nodeType: 'tag', nodeId: 't-complaint-escalated', mode: 'enforce',
      see: { departments: [], users: ['admin01'], roles: [{ name: 'manager', departments: [DEPT.上海] }] },
      use: { departments: [], users: ['admin01'], roles: [{ name: 'manager', departments: [DEPT.上海] }] },
    },
    { // R5
      nodeType: 'folder', nodeId: String(FOLDER.VIP运营), mode: 'enforce',
      see: { departments: [], users: ['admin01'], roles: [{ name: '质检', departments: [DEPT.华东] }, { name: 'manager', departments: [DEPT.上海] }] },
      use: { departments: [], users: [], roles: [{ name: 'manager', departments: [DEPT.上海] }] },
    },
    { // R6
      nodeType: 'tag', nodeId: 't-src-ad', mode: 'enforce',
      see: { departments: [DEPT.总部], users: [], roles: [] },
      use: { departments: [DEPT.华南], users: [], roles: [] },
    },
    { // R7: on a rule-group tag, within WeCom's own range check
      nodeType: 'tag', nodeId: 't-campaign-1111', mode: 'enforce',
      see: { departments: [DEPT.总部], users: [], roles: [] },
      use: { departments: [], users: [], roles: [{ name: 'manager' }] },
    },
  ],
  strategies: [
    { strategyId: 100, name: '华东会员活动', users: ['chenjie'], departments: [DEPT.华东] },
  ],
};

/** Column order of the matrix below. */
export const COLUMNS = ['zhangwei', 'liuyang', 'wangfang', 'lina', 'chenjie', 'zhaolei', 'admin01', 'zhoujie', 'sunqi'] as const;

/** `SU` sees and uses, `S-` sees only, `--` neither. */
export type Cell = 'SU' | 'S-' | '--';

/** The expected answers, one row per tag, one column per member (see COLUMNS). */
export const MATRIX: [tagId: string, cells: Cell[], why: string][] = [
  //                          张伟  刘洋  王芳  李娜  陈杰  赵磊  管理员 周杰  孙琪
  ['t-freq-high',           ['SU', 'SU', 'SU', 'SU', '--', '--', 'SU', 'SU', '--'], 'R1 only: 华东 (any sub-department) or admin'],
  ['t-freq-dormant',        ['S-', 'S-', 'S-', 'SU', '--', '--', 'SU', 'SU', '--'], 'R1, R2 (report): use only by managers in 华东 or admin01'],
  ['t-complaint-open',      ['S-', 'S-', '--', 'SU', '--', '--', 'SU', 'SU', '--'], 'R1, R3: 上海 sees, managers in 华东 use'],
  ['t-complaint-escalated', ['--', '--', '--', 'SU', '--', '--', 'SU', '--', '--'], 'R1, R3, R4: managers in 上海 or admin01'],
  ['t-vip-gold',            ['--', 'S-', '--', 'SU', '--', '--', 'S-', '--', '--'], 'R1, R5: 质检 in 华东 and admin01 see, managers in 上海 use'],
  ['t-src-store',           ['SU', 'SU', 'SU', 'SU', 'SU', 'SU', 'SU', 'SU', 'SU'], 'no rule on the path: everyone (WeCom default)'],
  ['t-src-ad',              ['S-', 'S-', 'SU', 'SU', 'SU', 'SU', 'S-', 'S-', '--'], 'R6: anyone in 总部 sees, 华南 uses; no department, no grant'],
  ['t-campaign-1111',       ['S-', 'S-', 'S-', 'SU', 'SU', '--', '--', 'SU', '--'], 'range 华东 | chenjie, then R7: managers use'],
  ['t-campaign-day',        ['SU', 'SU', 'SU', 'SU', 'SU', '--', '--', 'SU', '--'], 'range 华东 | chenjie only (admins too are outside)'],
  ['t-old-coupon',          ['--', '--', '--', '--', '--', '--', '--', '--', '--'], 'its rule group is gone: no range admits anyone'],
];

export interface MatrixCell { userid: string; tagId: string; see: boolean; use: boolean; why: string }

/** The matrix as one entry per (member, tag). */
export function matrixCells(): MatrixCell[] {
  return MATRIX.flatMap(([tagId, cells, why]) => cells.map((cell, i) => ({
    userid: COLUMNS[i]!, tagId, see: cell !== '--', use: cell === 'SU', why,
  })));
}
