import { and, desc, eq, sql } from 'drizzle-orm';
import { expect } from 'vitest';
import { auditLog, customers, inboxEvents, ownerHistory } from '../../server/db/schema.ts';
import type { CompanyFixture, ResetResult } from '../../wecom-sim/index.ts';
import { startTestProduct, waitFor, type ApiClient, type DatabaseKind, type TestProduct } from './test-product.ts';

/**
 * A small company for the ownership tests, so assertions can name exact members and customers:
 *
 *   总部 (1) ─┬─ 华东 (2, leader east_mgr) ── 上海 (4)
 *             └─ 华南 (3, leader south_mgr)
 *
 * boss is the admin (ADMIN_USERIDS). Reps: east_rep1 (华东), east_rep2 (上海), south_rep and helper
 * (华南), leaver (华东, leaves during the tests). Customer ids say who follows them.
 */
export const ADMIN = 'boss';

export interface CompanyOptions {
  /** Extra customers followed by east_rep1 only (ids wmBulk000 …), for batches of 100. */
  bulkCustomers?: number;
}

export function ownershipCompany(options: CompanyOptions = {}): CompanyFixture {
  const follow = (userid: string, tags: string[] = [], extra: Record<string, unknown> = {}) => ({ userid, tags, remark: '', state: '', ...extra });
  const bulk = Array.from({ length: options.bulkCustomers ?? 0 }, (_, i) => ({
    external_userid: `wmBulk${String(i).padStart(3, '0')}`, name: `批量客户${i}`, type: 1, follow_users: [follow('east_rep1')],
  }));
  return {
    departments: [
      { id: 1, name: '总部', parentid: 0, order: 1 },
      { id: 2, name: '华东', parentid: 1, order: 1 },
      { id: 3, name: '华南', parentid: 1, order: 2 },
      { id: 4, name: '上海', parentid: 2, order: 1 },
    ],
    users: [
      { userid: 'boss', name: '老板', department: [1], is_leader_in_dept: [0], position: '总经理', status: 1 },
      { userid: 'east_mgr', name: '东经理', department: [2], is_leader_in_dept: [1], position: '经理', status: 1 },
      { userid: 'east_rep1', name: '东一', department: [2], is_leader_in_dept: [0], position: '销售', status: 1 },
      { userid: 'east_rep2', name: '东二', department: [4], is_leader_in_dept: [0], position: '销售', status: 1 },
      { userid: 'leaver', name: '将离职', department: [2], is_leader_in_dept: [0], position: '销售', status: 1 },
      { userid: 'south_mgr', name: '南经理', department: [3], is_leader_in_dept: [1], position: '经理', status: 1 },
      { userid: 'south_rep', name: '南一', department: [3], is_leader_in_dept: [0], position: '销售', status: 1 },
      { userid: 'helper', name: '南二', department: [3], is_leader_in_dept: [0], position: '销售', status: 1 },
    ],
    corpTags: [
      { group_name: '客户等级', tag: [{ name: 'VIP' }, { name: '普通' }] },
      { group_name: '华南机密', tag: [{ name: '南方专属' }] },
    ],
    customers: [
      { external_userid: 'wmEast1', name: '东客一', type: 2, corp_name: '东方贸易有限公司', follow_users: [follow('east_rep1', ['客户等级/VIP'], { remark_mobiles: ['13812345678'] })] },
      { external_userid: 'wmEast2', name: '东客二', type: 1, follow_users: [follow('east_rep1', ['客户等级/VIP'])] },
      { external_userid: 'wmEast3', name: '东客三', type: 1, follow_users: [follow('east_rep2', ['客户等级/普通'])] },
      { external_userid: 'wmEast4', name: '东客四', type: 1, follow_users: [follow('east_rep2')] },
      { external_userid: 'wmSouth1', name: '南客一', type: 1, follow_users: [follow('south_rep', ['客户等级/VIP', '华南机密/南方专属'])] },
      { external_userid: 'wmSouth2', name: '南客二', type: 1, follow_users: [follow('south_rep')] },
      { external_userid: 'wmShared', name: '共享客', type: 1, follow_users: [follow('east_rep1'), follow('south_rep')] },
      { external_userid: 'wmLeave1', name: '离客一', type: 1, follow_users: [follow('leaver', ['客户等级/VIP'])] },
      { external_userid: 'wmLeave2', name: '离客二', type: 1, follow_users: [follow('leaver')] },
      { external_userid: 'wmLeave3', name: '离客三', type: 1, follow_users: [follow('leaver')] },
      { external_userid: 'wmLeave4', name: '离客四', type: 1, follow_users: [follow('leaver', [], { createtime: 1_700_000_000 }), follow('east_rep1', [], { createtime: 1_700_000_100 })] },
      ...bulk,
    ],
  } as unknown as CompanyFixture;
}

export interface OwnershipWorld {
  t: TestProduct;
  db: TestProduct['product']['ctx']['db'];
  reset: ResetResult;
  tagIds: Record<string, string>;
  as(userid: string): Promise<ApiClient>;
  admin: ApiClient;
  syncAll(): Promise<void>;
  inboxSettled(): Promise<void>;
  /** Polls `GET /api/jobs/:id` until the job completed or failed, and returns it. */
  job(client: ApiClient, jobId: string, timeoutMs?: number): Promise<{ state: string; done: number; total: number; error: string | null }>;
  ownerOf(externalUserId: string): Promise<string | null>;
  historyOf(externalUserId: string): Promise<{ fromUserid: string | null; toUserid: string | null; reason: string; actor: string | null }[]>;
  /** Audit entries written after `sinceId`, optionally for one action. */
  auditSince(sinceId: number, action?: string): Promise<(typeof auditLog.$inferSelect)[]>;
  lastAuditId(): Promise<number>;
  stop(): Promise<void>;
}

export async function startOwnershipWorld(options: { database?: DatabaseKind; company?: CompanyOptions } = {}): Promise<OwnershipWorld> {
  const t = await startTestProduct({ database: options.database ?? 'pglite', env: { ADMIN_USERIDS: ADMIN } });
  const db = t.product.ctx.db;
  const reset = await t.sim.reset(ownershipCompany(options.company));
  const tagIds = Object.fromEntries(reset.tagGroups.flatMap((g) => g.tags.map((tag) => [`${g.group_name}/${tag.name}`, tag.id])));
  const clients = new Map<string, ApiClient>();
  const as = async (userid: string): Promise<ApiClient> => {
    if (!clients.has(userid)) clients.set(userid, await t.as(userid));
    return clients.get(userid)!;
  };
  const admin = await as(ADMIN);
  const job: OwnershipWorld['job'] = async (client, jobId, timeoutMs = 30_000) => waitFor(async () => {
    const polled = await client.get(`/api/jobs/${jobId}`);
    expect(polled.status).toBe(200);
    return ['completed', 'failed'].includes(polled.body.state) ? polled.body : undefined;
  }, `job ${jobId}`, timeoutMs);
  const world: OwnershipWorld = {
    t, db, reset, tagIds, as, admin, job,
    async syncAll() {
      const started = await admin.post('/api/admin/sync');
      expect(started.status).toBe(202);
      expect(await job(admin, started.body.jobId, 60_000)).toMatchObject({ state: 'completed' });
    },
    async inboxSettled() {
      await t.sim.idle();
      await waitFor(async () => {
        const [row] = await db.select({ n: sql<number>`count(*)::int` }).from(inboxEvents).where(eq(inboxEvents.status, 'pending'));
        return row!.n === 0;
      }, 'every inbox event to be processed');
    },
    async ownerOf(id) {
      const [row] = await db.select({ owner: customers.ownerUserid }).from(customers).where(eq(customers.externalUserId, id));
      return row?.owner ?? null;
    },
    async historyOf(id) {
      return db.select({ fromUserid: ownerHistory.fromUserid, toUserid: ownerHistory.toUserid, reason: ownerHistory.reason, actor: ownerHistory.actor })
        .from(ownerHistory).where(eq(ownerHistory.externalUserId, id)).orderBy(ownerHistory.id);
    },
    async auditSince(sinceId, action) {
      return db.select().from(auditLog).where(and(sql`${auditLog.id} > ${sinceId}`, action ? eq(auditLog.action, action) : undefined)).orderBy(auditLog.id);
    },
    async lastAuditId() {
      const [row] = await db.select({ id: auditLog.id }).from(auditLog).orderBy(desc(auditLog.id)).limit(1);
      return row?.id ?? 0;
    },
    stop: () => t.stop(),
  };
  await world.syncAll();
  return world;
}
