import { eq, sql } from 'drizzle-orm';
import { expect } from 'vitest';
import { inboxEvents, visibilityRules, type AudienceGrants } from '../../server/db/schema.ts';
import { bumpPolicyVersion } from '../../server/services/policy-version.ts';
import type { CompanyFixture } from '../../wecom-sim/index.ts';
import { waitFor, type ApiClient, type TestProduct } from './test-product.ts';

/**
 * A small company for the contact-way and auto-tagging tests: 总部 → 华东大区 → 上海门店, and 华南大区;
 * a rule group whose range is 华东大区; corp tags in two groups.
 */
export function contactWaysCompany(): CompanyFixture {
  return {
    departments: [
      { id: 1, name: '总部', parentid: 0, order: 1 },
      { id: 2, name: '华东大区', parentid: 1, order: 1 },
      { id: 3, name: '华南大区', parentid: 1, order: 2 },
      { id: 4, name: '上海门店', parentid: 2, order: 1 },
    ],
    users: [
      { userid: 'zhuxiaoyan', name: '朱晓燕', department: [1], is_leader_in_dept: [1], position: '总经理', status: 1 },
      { userid: 'wangfang', name: '王芳', department: [2], is_leader_in_dept: [0], position: '导购', status: 1 },
      { userid: 'zhaolei', name: '赵磊', department: [4], is_leader_in_dept: [0], position: '导购', status: 1 },
      { userid: 'lihua', name: '李华', department: [3], is_leader_in_dept: [0], position: '导购', status: 1 },
      { userid: 'chenjing', name: '陈静', department: [3], is_leader_in_dept: [0], position: '导购', status: 1 },
    ],
    corpTags: [
      { group_name: '客户等级', createdBy: 'app', tag: [{ name: 'VIP' }, { name: '普通' }] },
      { group_name: '渠道', createdBy: 'app', tag: [{ name: '直播' }, { name: '门店' }, { name: '展会' }] },
    ],
    strategies: [{ strategy_name: '华东规则组', range: [{ type: 2, partyid: 2 }], tagGroups: [{ group_name: '华东专属', tag: [{ name: '华东VIP' }] }] }],
    customers: [
      { external_userid: 'wmOwnedCustomer', name: '老客户', type: 1, follow_users: [{ userid: 'wangfang', tags: [], remark: '老', state: '' }] },
    ],
  } as unknown as CompanyFixture;
}

/** Tag ids by "group/tag" name, from the simulator's reset answer (rule-group tags included). */
export function tagIdsOf(reset: Awaited<ReturnType<TestProduct['sim']['reset']>>): Record<string, string> {
  const groups = [...reset.tagGroups, ...reset.strategies.flatMap((s) => s.tagGroups)];
  return Object.fromEntries(groups.flatMap((g) => g.tags.map((tag) => [`${g.group_name}/${tag.name}`, tag.id])));
}

export async function syncAll(admin: ApiClient): Promise<void> {
  const started = await admin.post('/api/admin/sync');
  expect(started.status).toBe(202);
  const job = await waitFor(async () => {
    const polled = await admin.get(`/api/jobs/${started.body.jobId}`);
    return ['completed', 'failed'].includes(polled.body.state) ? polled.body : undefined;
  }, 'the full sync');
  expect(job).toMatchObject({ state: 'completed', error: null });
}

/** Every callback delivered and every inbox event processed. */
export async function inboxSettled(t: TestProduct): Promise<void> {
  await t.sim.idle();
  const db = t.product.ctx.db;
  await waitFor(async () => {
    const [row] = await db.select({ n: sql<number>`count(*)::int` }).from(inboxEvents).where(eq(inboxEvents.status, 'pending'));
    return row!.n === 0;
  }, 'every inbox event to be processed');
}

const grants = (departments: number[]): AudienceGrants => ({ departments, users: [], roles: [] });

/**
 * A visibility rule on one tag, written straight to the table (the admin API for rules is built
 * elsewhere) and made effective by bumping the policy version, as that API does.
 */
export async function restrictTag(t: TestProduct, tagId: string, audiences: { see: number[]; use: number[] }): Promise<void> {
  const db = t.product.ctx.db;
  await db.transaction(async (tx) => {
    await tx.insert(visibilityRules).values({ nodeType: 'tag', nodeId: tagId, see: grants(audiences.see), use: grants(audiences.use), updatedBy: 'test' });
    await bumpPolicyVersion(tx);
  });
}
