// The demo company seeded in sandbox mode: a believable Chinese retail chain (悦享生活) with a
// 4-level department tree, ~40 members, a corp tag library, a rule group for 华东大区 with its own
// tags, contact ways with states, and a few hundred customers. Everything comes from a fixed seed,
// so the ids and the data are the same on every start.
import type { CompanyFixture } from './fixture.ts';
import { IdFactory, seededRandom } from './ids.ts';

type Fixture = CompanyFixture & Required<Pick<CompanyFixture, 'departments' | 'users' | 'customers'>>;

const DEPARTMENTS = [
  { id: 1, name: '悦享生活总部', parentid: 0 },
  { id: 2, name: '华东大区', parentid: 1 },
  { id: 3, name: '华南大区', parentid: 1 },
  { id: 4, name: '西南大区', parentid: 1 },
  { id: 5, name: '市场部', parentid: 1 },
  { id: 6, name: '电商部', parentid: 1 },
  { id: 21, name: '上海', parentid: 2 },
  { id: 22, name: '杭州', parentid: 2 },
  { id: 31, name: '广州', parentid: 3 },
  { id: 32, name: '深圳', parentid: 3 },
  { id: 41, name: '成都', parentid: 4 },
  { id: 42, name: '重庆', parentid: 4 },
  { id: 211, name: '上海南京路店', parentid: 21 },
  { id: 212, name: '上海徐家汇店', parentid: 21 },
  { id: 221, name: '杭州西湖店', parentid: 22 },
  { id: 311, name: '广州天河店', parentid: 31 },
  { id: 321, name: '深圳万象城店', parentid: 32 },
  { id: 411, name: '成都春熙路店', parentid: 41 },
  { id: 421, name: '重庆解放碑店', parentid: 42 },
];

/** Stores and the contact-way state each one's QR code carries. */
const STORES: { dept: number; state: string }[] = [
  { dept: 211, state: 'shop_sh_01' },
  { dept: 212, state: 'shop_sh_02' },
  { dept: 221, state: 'shop_hz_01' },
  { dept: 311, state: 'shop_gz_01' },
  { dept: 321, state: 'shop_sz_01' },
  { dept: 411, state: 'shop_cd_01' },
  { dept: 421, state: 'shop_cq_01' },
];

const SURNAMES: [string, string][] = [
  ['张', 'zhang'], ['王', 'wang'], ['李', 'li'], ['赵', 'zhao'], ['刘', 'liu'], ['陈', 'chen'], ['杨', 'yang'], ['黄', 'huang'],
  ['周', 'zhou'], ['吴', 'wu'], ['徐', 'xu'], ['孙', 'sun'], ['胡', 'hu'], ['朱', 'zhu'], ['高', 'gao'], ['林', 'lin'],
  ['何', 'he'], ['郭', 'guo'], ['马', 'ma'], ['罗', 'luo'], ['梁', 'liang'], ['宋', 'song'], ['郑', 'zheng'], ['谢', 'xie'],
];
const GIVEN: [string, string][] = [
  ['伟', 'wei'], ['芳', 'fang'], ['娜', 'na'], ['敏', 'min'], ['静', 'jing'], ['丽', 'li'], ['强', 'qiang'], ['磊', 'lei'],
  ['军', 'jun'], ['洋', 'yang'], ['勇', 'yong'], ['艳', 'yan'], ['杰', 'jie'], ['娟', 'juan'], ['涛', 'tao'], ['明', 'ming'],
  ['超', 'chao'], ['秀英', 'xiuying'], ['霞', 'xia'], ['平', 'ping'], ['刚', 'gang'], ['桂英', 'guiying'], ['晓燕', 'xiaoyan'], ['子涵', 'zihan'],
];

const CORP_TAGS: { group_name: string; tag: string[] }[] = [
  { group_name: '客户等级', tag: ['VIP', '普通', '潜在'] },
  { group_name: '行业', tag: ['互联网', '金融', '教育', '医疗', '制造业', '零售'] },
  { group_name: '购物风格', tag: ['品质优先', '性价比', '尝鲜达人', '品牌忠诚'] },
  { group_name: '促销敏感度', tag: ['高', '中', '低'] },
  { group_name: '复购频次', tag: ['每周', '每月', '每季度', '首次购买'] },
  { group_name: '投诉记录', tag: ['有投诉', '投诉已解决', '无投诉'] },
  { group_name: '兴趣偏好', tag: ['美妆', '母婴', '数码', '家居', '运动'] },
];

const RULE_GROUP_TAGS = { group_name: '华东会员运营', tag: ['华东会员日', '沪杭专属券', '南京路快闪'] };
const PERSONAL_TAGS = ['老朋友', '爱聊天', '只买打折', '送礼需求', '周末到店'];

export function demoCompany(): CompanyFixture {
  const random = seededRandom(20261111);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const chance = (p: number) => random() < p;

  const usedIds = new Set<string>();
  const person = (): { name: string; userid: string } => {
    const [s, sp] = pick(SURNAMES);
    const [g, gp] = pick(GIVEN);
    let userid = `${sp}${gp}`;
    for (let n = 2; usedIds.has(userid); n++) userid = `${sp}${gp}${n}`;
    usedIds.add(userid);
    return { name: `${s}${g}`, userid };
  };

  const fixture: Fixture = {
    departments: DEPARTMENTS.map((d, i) => ({ ...d, order: 100000 - i * 1000 })),
    users: [],
    corpTags: CORP_TAGS.map((g) => ({ group_name: g.group_name, tag: g.tag.map((name) => ({ name })) })),
    strategies: [
      {
        strategy_name: '华东大区规则组',
        range: [{ type: 2, partyid: 2 }],
        privilege: { view_customer_list: true, view_customer_data: true, manage_customer_tag: true, send_customer_msg: true },
        tagGroups: [{ group_name: RULE_GROUP_TAGS.group_name, tag: RULE_GROUP_TAGS.tag.map((name) => ({ name })) }],
      },
    ],
    contactWays: [],
    customers: [],
  };

  const addUser = (department: number, position: string, leader: boolean, status: 1 | 4 | 5 = 1) => {
    const p = person();
    fixture.users.push({ ...p, department: [department], is_leader_in_dept: [leader ? 1 : 0], position, status, gender: chance(0.5) ? '1' : '2' });
    return p.userid;
  };

  addUser(1, '总经理', true);
  for (const region of [2, 3, 4]) addUser(region, '大区经理', true);
  for (const city of [21, 22, 31, 32, 41, 42]) addUser(city, '城市经理', true);
  addUser(5, '市场总监', true);
  const marketing = [addUser(5, '市场专员', false), addUser(5, '新媒体运营', false)];
  addUser(6, '电商负责人', true);
  const ecommerce = [addUser(6, '电商客服', false), addUser(6, '直播运营', false)];
  addUser(6, '数据分析师', false, 4); // invited but not yet activated

  const storeStaff = new Map<number, string[]>();
  for (const [i, store] of STORES.entries()) {
    const staff = [addUser(store.dept, '店长', true), addUser(store.dept, '导购', false), addUser(store.dept, '导购', false)];
    if (i < 4) staff.push(addUser(store.dept, '导购', false));
    storeStaff.set(store.dept, staff);
    fixture.contactWays!.push({ state: store.state, user: [staff[0]!], remark: `${DEPARTMENTS.find((d) => d.id === store.dept)!.name}店长活码` });
  }
  fixture.contactWays!.push({ state: 'live_2026_11', user: ecommerce, remark: '双十一直播间引流' });
  fixture.contactWays!.push({ state: 'mkt_wechat_2026', user: marketing, remark: '公众号菜单入口' });

  // One guide of 上海南京路店 has left but still has customers: the resigned-transfer demo.
  const leaver = storeStaff.get(211)![1]!;
  fixture.users.find((u) => u.userid === leaver)!.status = 5;

  const eastDepts = new Set([2, 21, 22, 211, 212, 221]);
  const deptOf = new Map(fixture.users.map((u) => [u.userid, u.department[0]!]));
  const ids = new IdFactory('wecom-sim-demo-company');
  const baseTime = 1760000000;
  const industries = CORP_TAGS[1]!.tag;
  const companies = ['星河科技', '远航物流', '蓝鲸教育', '华康医疗', '恒信金融', '新禾制造'];

  for (let i = 0; i < 320; i++) {
    const store = i < 12 ? STORES[0]! : pick(STORES);
    const staff = storeStaff.get(store.dept)!;
    // The first dozen customers belong to the leaver, so the resigned transfer has something to move.
    const primary = i < 12 ? leaver : pick(staff.filter((u) => u !== leaver));
    const followers = [primary];
    if (chance(0.2)) followers.push(pick(ecommerce));
    if (chance(0.1) && !followers.includes(staff[0]!)) followers.push(staff[0]!);
    const [surname] = pick(SURNAMES);
    const [given] = pick(GIVEN);
    const isCorp = chance(0.1);
    const name = chance(0.4) ? `${surname}${chance(0.5) ? '女士' : '先生'}` : `${surname}${given}`;
    fixture.customers.push({
      external_userid: ids.next('external'),
      name,
      type: isCorp ? 2 : 1,
      gender: chance(0.5) ? 1 : 2,
      ...(isCorp ? { corp_name: pick(companies), position: pick(['采购经理', '行政主管', '总监']) } : {}),
      follow_users: followers.map((userid, n) => {
        const tags = [
          `客户等级/${pick(['VIP', '普通', '普通', '潜在'])}`,
          `促销敏感度/${pick(['高', '中', '低'])}`,
          `复购频次/${pick(CORP_TAGS[4]!.tag)}`,
        ];
        if (chance(0.6)) tags.push(`购物风格/${pick(CORP_TAGS[2]!.tag)}`);
        if (chance(0.4)) tags.push(`兴趣偏好/${pick(CORP_TAGS[6]!.tag)}`);
        if (isCorp || chance(0.2)) tags.push(`行业/${pick(industries)}`);
        if (chance(0.08)) tags.push(`投诉记录/${pick(['有投诉', '投诉已解决'])}`);
        if (eastDepts.has(deptOf.get(userid)!) && chance(0.3)) tags.push(`${RULE_GROUP_TAGS.group_name}/${pick(RULE_GROUP_TAGS.tag)}`);
        const viaLive = ecommerce.includes(userid);
        return {
          userid,
          tags: [...new Set(tags)],
          personal_tags: chance(0.25) ? [pick(PERSONAL_TAGS)] : [],
          remark: chance(0.7) ? `${name}${pick(['-老客', '-会员', '-团购', ''])}`.slice(0, 20) : '',
          description: chance(0.2) ? pick(['喜欢新品', '生日在下月', '常买护肤品', '公司团购联系人']) : '',
          ...(chance(0.7) ? { state: viaLive ? 'live_2026_11' : store.state } : {}),
          remark_mobiles: chance(0.3) ? [`13${Math.floor(random() * 9) + 1}${String(Math.floor(random() * 1e8)).padStart(8, '0')}`] : [],
          createtime: baseTime - Math.floor(random() * 365 * 86400) + n * 3600,
        };
      }),
    });
  }
  return fixture;
}
