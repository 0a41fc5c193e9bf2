// The public pool over real HTTP, Redis and a real database: the release job (inactive owners and
// ownerless customers, into the pool of the owner's department subtree or the corp-wide pool), who sees
// which pool, atomic claims (two concurrent claims: exactly one wins), the daily claim limit, releases
// by the owner or a manager, and activity that keeps a customer out of the pool. Refused paths change
// nothing and are audited.
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { customers, ownerHistory } from '../../server/db/schema.ts';
import { startOwnershipWorld, type OwnershipWorld } from '../support/ownership-company.ts';
import type { DatabaseKind } from '../support/test-product.ts';

let w: OwnershipWorld;

const poolOf = async (id: string) => (await w.db.select({ inPool: customers.inPoolSince, dept: customers.poolDepartmentId, owner: customers.ownerUserid }).from(customers).where(eq(customers.externalUserId, id)))[0]!;
const ids = (body: { items: { externalUserId: string }[] }) => body.items.map((i) => i.externalUserId);
const longAgo = new Date(Date.now() - 400 * 86_400_000);

async function runRelease(): Promise<{ state: string; done: number; total: number }> {
  const res = await w.admin.post('/api/admin/pool/release');
  expect(res.status).toBe(202);
  return w.job(w.admin, res.body.jobId);
}

// PostgreSQL too: there the two claims really run at the same time on two connections.
describe.each<DatabaseKind>(['pglite', 'postgres'])('public pool (%s)', (database) => {
  beforeAll(async () => {
    w = await startOwnershipWorld({ database });
  });

  afterAll(async () => {
    await w?.stop();
  });

  describe('release to the pool', () => {
    it('releases customers whose owner has been inactive for the configured days, and customers without owner', async () => {
      const settings = await w.admin.request('PUT', '/api/admin/ownership-settings', { poolInactiveDays: 30, poolDailyClaimLimit: 2 });
      expect(settings.status).toBe(200);
      expect(settings.body).toEqual({ poolInactiveDays: 30, poolDailyClaimLimit: 2, exportApprovalRows: null, exportRetentionDays: 7 });
      // Only admins change settings.
      expect((await (await w.as('east_mgr')).request('PUT', '/api/admin/ownership-settings', { poolInactiveDays: 1 })).status).toBe(403);

      await w.db.update(customers).set({ lastActivityAt: longAgo }).where(sql`${customers.externalUserId} in ('wmEast1', 'wmEast3', 'wmSouth2')`);
      await w.db.update(customers).set({ lastActivityAt: new Date(Date.now() - 10 * 86_400_000) }).where(eq(customers.externalUserId, 'wmEast2'));
      await w.db.insert(customers).values([{ externalUserId: 'wmOrphan', name: '无主客户' }, { externalUserId: 'wmOrphan2', name: '无主客户二' }]);
      const job = await runRelease();
      expect(job).toMatchObject({ state: 'completed', done: 5, total: 5 });

      expect(await poolOf('wmEast1')).toMatchObject({ owner: null, dept: 2 });
      expect(await poolOf('wmEast3')).toMatchObject({ owner: null, dept: 4 });
      expect(await poolOf('wmSouth2')).toMatchObject({ owner: null, dept: 3 });
      expect(await poolOf('wmOrphan')).toMatchObject({ owner: null, dept: null });
      expect((await poolOf('wmOrphan')).inPool).not.toBeNull();
      expect((await poolOf('wmEast2')).owner).toBe('east_rep1');
      // Started by an admin, so the admin is the actor (the daily schedule records 'public-pool').
      expect((await w.historyOf('wmEast1')).at(-1)).toEqual({ fromUserid: 'east_rep1', toUserid: null, reason: 'pool_release', actor: 'boss' });
      // Running again releases nothing more.
      expect(await runRelease()).toMatchObject({ state: 'completed', done: 0 });
    });

    it('a callback about a pool customer does not give it an owner again', async () => {
      await w.t.simCall('POST', '/sim/customers/edit-tags', { userid: 'east_rep1', external_userid: 'wmEast1', remark: '还在池里' });
      await w.inboxSettled();
      expect(await poolOf('wmEast1')).toMatchObject({ owner: null, dept: 2 });
    });
  });

  describe('who sees which pool', () => {
    it('members see the pools of their departments (and the corp-wide pool); admins see every pool', async () => {
      // 上海 (4) is under 华东 (2): its members see 华东's pool too.
      expect(ids((await (await w.as('east_rep2')).get('/api/pool')).body).sort()).toEqual(['wmEast1', 'wmEast3', 'wmOrphan', 'wmOrphan2']);
      expect(ids((await (await w.as('east_rep1')).get('/api/pool')).body).sort()).toEqual(['wmEast1', 'wmOrphan', 'wmOrphan2']);
      expect(ids((await (await w.as('south_rep')).get('/api/pool')).body).sort()).toEqual(['wmOrphan', 'wmOrphan2', 'wmSouth2']);
      expect(ids((await w.admin.get('/api/pool')).body).sort()).toEqual(['wmEast1', 'wmEast3', 'wmOrphan', 'wmOrphan2', 'wmSouth2']);
      const page = await (await w.as('east_rep2')).get('/api/pool?limit=1');
      expect(page.body).toMatchObject({ items: [{ externalUserId: 'wmEast1', poolDepartmentName: '华东' }], nextCursor: 'wmEast1', claimsLeftToday: 2 });
    });

    it('a pool customer of another department can neither be seen nor claimed: 404, audited, unchanged', async () => {
      const south = await w.as('helper');
      const since = await w.lastAuditId();
      const res = await south.post('/api/pool/wmEast3/claim');
      const missing = await south.post('/api/pool/wmNoSuchCustomer/claim');
      expect(res.status).toBe(404);
      expect(res.body).toEqual(missing.body);
      expect(await poolOf('wmEast3')).toMatchObject({ owner: null, dept: 4 });
      expect(await w.auditSince(since)).toMatchObject([
        { actor: 'helper', action: 'customer.view', subjectId: 'wmEast3', outcome: 'denied' },
        { actor: 'helper', action: 'customer.view', subjectId: 'wmNoSuchCustomer', outcome: 'denied' },
      ]);
    });
  });

  describe('claims', () => {
    it('two members claiming the same customer at once: exactly one wins', async () => {
      const [a, b] = [await w.as('east_rep1'), await w.as('east_rep2')];
      const [first, second] = await Promise.all([a.post('/api/pool/wmEast1/claim'), b.post('/api/pool/wmEast1/claim')]);
      // The loser gets 409 when its claim reached the conditional UPDATE, or 404 when the customer had
      // already left the pool (and so its view scope) by the time its request was checked.
      expect([first.status, second.status].filter((status) => status === 200)).toHaveLength(1);
      expect([409, 404]).toContain(first.status === 200 ? second.status : first.status);
      const winner = first.status === 200 ? 'east_rep1' : 'east_rep2';
      expect(await poolOf('wmEast1')).toEqual({ owner: winner, dept: null, inPool: null });
      const claims = await w.db.select().from(ownerHistory).where(sql`${ownerHistory.externalUserId} = 'wmEast1' and ${ownerHistory.reason} = 'pool_claim'`);
      expect(claims).toMatchObject([{ fromUserid: null, toUserid: winner, actor: winner }]);
      const audits = (await w.auditSince(0)).filter((e) => e.subjectId === 'wmEast1' && (e.action === 'pool.claim' || e.outcome === 'denied'));
      expect(audits.map((e) => `${e.action}:${e.outcome}`).sort()).toEqual(['pool.claim:done', (first.status === 200 ? second.status : first.status) === 409 ? 'pool.claim:failed' : 'customer.view:denied'].sort());
    });

    it('a member may claim at most the daily limit', async () => {
      const rep = await w.as('east_rep2');
      const claimed = (await w.db.select().from(ownerHistory).where(sql`${ownerHistory.actor} = 'east_rep2' and ${ownerHistory.reason} = 'pool_claim'`)).length;
      // The limit is 2 per day: claim until it is reached, then one more is refused.
      const queue = ['wmEast3', 'wmOrphan', 'wmOrphan2'];
      for (let i = claimed; i < 2; i++) expect((await rep.post(`/api/pool/${queue.shift()}/claim`)).status).toBe(200);
      const next = queue.shift()!;
      const since = await w.lastAuditId();
      const refused = await rep.post(`/api/pool/${next}/claim`);
      expect(refused.status).toBe(403);
      expect(refused.body.error).toMatchObject({ reason: 'DAILY_CLAIM_LIMIT', limit: 2 });
      expect((await poolOf(next)).owner).toBeNull();
      expect(await w.auditSince(since, 'pool.claim')).toMatchObject([{ actor: 'east_rep2', outcome: 'denied' }]);
      expect((await rep.get('/api/pool')).body.claimsLeftToday).toBe(0);
    });
  });

  describe('release by the owner or a manager', () => {
    it('the owner releases their customer into their department\'s pool', async () => {
      const rep = await w.as('east_rep1');
      const res = await rep.post('/api/customers/wmEast2/release', { reason: '客户无意向' });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ externalUserId: 'wmEast2', poolDepartmentId: 2 });
      expect((await w.historyOf('wmEast2')).at(-1)).toEqual({ fromUserid: 'east_rep1', toUserid: null, reason: 'pool_release', actor: 'east_rep1' });
      expect((await w.auditSince(0, 'pool.release')).filter((e) => e.subjectId === 'wmEast2')).toMatchObject([{ outcome: 'done', details: { from: 'east_rep1', pool: 2, reason: '客户无意向' } }]);
      expect((await rep.post('/api/customers/wmEast2/release')).status).toBe(409);
    });

    it('a follower who is not the owner may not release; a manager may', async () => {
      // wmShared: owned by east_rep1, also followed by south_rep.
      const since = await w.lastAuditId();
      const follower = await w.as('south_rep');
      const res = await follower.post('/api/customers/wmShared/release');
      expect(res.status).toBe(403);
      expect((await poolOf('wmShared')).owner).toBe('east_rep1');
      expect(await w.auditSince(since, 'pool.release')).toMatchObject([{ actor: 'south_rep', outcome: 'denied' }]);
      const stranger = await w.as('helper');
      expect((await stranger.post('/api/customers/wmEast4/release')).status).toBe(404);
      const manager = await w.as('east_mgr');
      expect((await manager.post('/api/customers/wmShared/release')).status).toBe(200);
      expect(await poolOf('wmShared')).toMatchObject({ owner: null, dept: 2 });
    });

    it('two followers claiming the released customer at once: one wins, the other gets 409', async () => {
      // Both follow wmShared, so both keep seeing it after the other's claim: the race is decided by
      // the conditional UPDATE alone.
      const [a, b] = [await w.as('east_rep1'), await w.as('south_rep')];
      const [first, second] = await Promise.all([a.post('/api/pool/wmShared/claim'), b.post('/api/pool/wmShared/claim')]);
      expect([first.status, second.status].sort()).toEqual([200, 409]);
      const winner = first.status === 200 ? 'east_rep1' : 'south_rep';
      expect((await poolOf('wmShared')).owner).toBe(winner);
      const claims = await w.db.select().from(ownerHistory).where(sql`${ownerHistory.externalUserId} = 'wmShared' and ${ownerHistory.reason} = 'pool_claim'`);
      expect(claims).toMatchObject([{ toUserid: winner }]);
    });
  });

  describe('activity', () => {
    it('a note or a tag change by the owner keeps the customer out of the next release', async () => {
      await w.db.update(customers).set({ lastActivityAt: longAgo }).where(sql`${customers.externalUserId} in ('wmEast4', 'wmSouth1')`);
      expect((await (await w.as('east_rep2')).post('/api/customers/wmEast4/notes', { content: '上门拜访' })).status).toBe(201);
      const tag = await (await w.as('south_rep')).post('/api/customers/wmSouth1/tags', { add: [w.tagIds['客户等级/普通']] });
      expect([200, 202]).toContain(tag.status);
      await runRelease();
      expect((await poolOf('wmEast4')).owner).toBe('east_rep2');
      expect((await poolOf('wmSouth1')).owner).toBe('south_rep');
    });
  });
});
