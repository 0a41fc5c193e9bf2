import type { CompanyFixture } from '../../../wecom-sim/index.ts';
import { startTestProduct, waitFor, type ApiClient, type TestProduct } from '../../support/test-product.ts';
import { syncAll, tagIdsOf } from '../../support/contact-ways-company.ts';

/**
 * The company of the browser tests: 总部 → 华东大区 → 上海, and 西南大区 → 成都. 王芳 (上海, 华东) and
 * 刘洋 (成都, 西南) both follow 共享客户, each with tags of their own; 陈军 manages 华东.
 */
export function e2eCompany(): CompanyFixture {
  return {
    departments: [
      { id: 1, name: '总部', parentid: 0, order: 100 },
      { id: 2, name: '华东大区', parentid: 1, order: 90 },
      { id: 21, name: '上海', parentid: 2, order: 80 },
      { id: 4, name: '西南大区', parentid: 1, order: 70 },
      { id: 41, name: '成都', parentid: 4, order: 60 },
    ],
    users: [
      { userid: 'zhuxiaoyan', name: '朱晓燕', department: [1], is_leader_in_dept: [1], position: '总经理', status: 1 },
      { userid: 'chenjun', name: '陈军', department: [2], is_leader_in_dept: [1], position: '大区经理', status: 1 },
      { userid: 'wangfang', name: '王芳', department: [21], is_leader_in_dept: [0], position: '导购', status: 1 },
      { userid: 'liuyang', name: '刘洋', department: [41], is_leader_in_dept: [0], position: '导购', status: 1 },
    ],
    corpTags: [
      { group_name: '客户等级', createdBy: 'app', tag: [{ name: 'VIP' }, { name: '普通' }] },
      { group_name: '投诉记录', createdBy: 'app', tag: [{ name: '严重投诉' }, { name: '一般投诉' }] },
      { group_name: '兴趣偏好', createdBy: 'app', tag: [{ name: '美妆' }, { name: '数码' }] },
    ],
    customers: [
      { external_userid: 'wmShared', name: '共享客户', type: 1, follow_users: [
        { userid: 'wangfang', tags: ['投诉记录/严重投诉', '客户等级/VIP'], remark: '华东老客', state: 'shop_sh', remark_mobiles: ['13812345678'], createtime: 1760000000 },
        { userid: 'liuyang', tags: ['客户等级/普通'], remark: '成都老客', state: '', createtime: 1760003600 },
      ] },
      { external_userid: 'wmChengdu', name: '成都客户', type: 1, follow_users: [{ userid: 'liuyang', tags: ['兴趣偏好/美妆'], remark: '', state: '' }] },
      // Three customers of 刘洋 tagged 数码: the console's bulk assignment by tag moves them.
      ...[1, 2, 3].map((n) => ({ external_userid: `wmDigital${n}`, name: `数码客户${n}`, type: 1, follow_users: [{ userid: 'liuyang', tags: ['兴趣偏好/数码'], remark: '', state: '' }] })),
    ],
  } as unknown as CompanyFixture;
}

export interface E2eWorld {
  t: TestProduct;
  admin: ApiClient;
  /** Tag ids by "group/tag". */
  tags: Record<string, string>;
  groups: Record<string, string>;
}

export async function startE2eWorld(): Promise<E2eWorld> {
  const t = await startTestProduct();
  const reset = await t.sim.reset(e2eCompany());
  const admin = await t.as('zhuxiaoyan');
  await syncAll(admin);
  return { t, admin, tags: tagIdsOf(reset), groups: Object.fromEntries(reset.tagGroups.map((g) => [g.group_name, g.group_id])) };
}

export async function putRule(admin: ApiClient, path: string, rule: unknown): Promise<void> {
  const saved = await admin.request('PUT', path, rule);
  if (saved.status !== 200) throw new Error(`PUT ${path}: ${saved.status} ${JSON.stringify(saved.body)}`);
}

export { waitFor };
