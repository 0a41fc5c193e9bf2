// Ownership over real HTTP, the simulator, Redis and a real database: manual assignment (all or
// nothing, new owner inside the actor's scope, history and audit), racing assignments, bulk
// assignment by filter as a job (progress, scope, visible tags only, authority re-checked when the job
// runs, thousands of customers in set-based batches), and follow-up notes. Every refused path is tried
// by a member without the permission: nothing leaks, nothing changes, an audit entry is written.
import { eq, inArray, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { customers, followUpNotes, memberDepartments, members, ownerHistory, relationTags } from '../../server/db/schema.ts';
import { BULK_ASSIGN_BATCH } from '../../server/services/assignment.service.ts';
import { startOwnershipWorld, type OwnershipWorld } from '../support/ownership-company.ts';

let w: OwnershipWorld;

beforeAll(async () => {
  w = await startOwnershipWorld();
  // A tag only 华南 may see: the east manager must not be able to filter by it.
  const hidden = await w.admin.request('PUT', `/api/admin/tag-groups/${w.reset.tagGroups.find((g) => g.group_name === '华南机密')!.group_id}/visibility`, { see: { departments: [3] } });
  expect(hidden.status).toBe(200);
});

afterAll(async () => {
  await w?.stop();
});

describe('manual assignment', () => {
  it('the first follower owns each synced customer, with a history row', async () => {
    expect(await w.ownerOf('wmEast1')).toBe('east_rep1');
    expect(await w.ownerOf('wmLeave4')).toBe('leaver');
    expect(await w.historyOf('wmEast1')).toEqual([{ fromUserid: null, toUserid: 'east_rep1', reason: 'sync', actor: null }]);
  });

  it('an admin assigns: the owner changes, history and audit are kept', async () => {
    const since = await w.lastAuditId();
    const res = await w.admin.post('/api/customers/assign', { externalUserIds: ['wmEast4'], owner: 'east_rep1' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ owner: 'east_rep1', changed: [{ externalUserId: 'wmEast4', fromUserid: 'east_rep2' }], unchanged: [] });
    expect(await w.ownerOf('wmEast4')).toBe('east_rep1');
    expect((await w.historyOf('wmEast4')).at(-1)).toEqual({ fromUserid: 'east_rep2', toUserid: 'east_rep1', reason: 'assign', actor: 'boss' });
    const entries = await w.auditSince(since, 'customer.assign');
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ actor: 'boss', subjectId: 'wmEast4', outcome: 'done', details: { from: 'east_rep2', to: 'east_rep1' } });
    // Assigning the owner it already has changes nothing and writes no history.
    const again = await w.admin.post('/api/customers/assign', { externalUserIds: ['wmEast4'], owner: 'east_rep1' });
    expect(again.body).toMatchObject({ changed: [], unchanged: ['wmEast4'] });
    expect(await w.historyOf('wmEast4')).toHaveLength(2);
  });

  it('a manager assigns customers of their departments to a member of their departments', async () => {
    const manager = await w.as('east_mgr');
    const res = await manager.post('/api/customers/assign', { externalUserIds: ['wmEast4'], owner: 'east_rep2' });
    expect(res.status).toBe(200);
    expect(await w.ownerOf('wmEast4')).toBe('east_rep2');
  });

  it('customers outside the view scope are named as not found, and nothing changes', async () => {
    const manager = await w.as('east_mgr');
    const since = await w.lastAuditId();
    const res = await manager.post('/api/customers/assign', { externalUserIds: ['wmEast3', 'wmSouth1', 'wmNoSuchCustomer'], owner: 'east_rep1' });
    expect(res.status).toBe(404);
    expect(res.body.error.notFound).toEqual(['wmNoSuchCustomer', 'wmSouth1']);
    expect(res.body.error.notAllowed).toEqual([]);
    // No detail about the hidden customer (its name, owner) comes back.
    expect(JSON.stringify(res.body)).not.toContain('南客一');
    expect(JSON.stringify(res.body)).not.toContain('south_rep');
    expect(await w.ownerOf('wmEast3')).toBe('east_rep2');
    expect(await w.ownerOf('wmSouth1')).toBe('south_rep');
    const denied = await w.auditSince(since, 'customer.assign');
    expect(denied.map((e) => [e.subjectId, e.outcome])).toEqual([['wmEast3', 'denied'], ['wmNoSuchCustomer', 'denied'], ['wmSouth1', 'denied']]);
  });

  it('a new owner outside the actor\'s scope is refused', async () => {
    const manager = await w.as('east_mgr');
    const since = await w.lastAuditId();
    const res = await manager.post('/api/customers/assign', { externalUserIds: ['wmEast3'], owner: 'south_rep' });
    expect(res.status).toBe(403);
    expect(await w.ownerOf('wmEast3')).toBe('east_rep2');
    expect(await w.auditSince(since, 'customer.assign')).toMatchObject([{ outcome: 'denied', details: { ownerOutsideScope: true } }]);
  });

  it('a rep may not assign even their own customer; a visible customer is named as not allowed', async () => {
    const rep = await w.as('east_rep1');
    const since = await w.lastAuditId();
    const res = await rep.post('/api/customers/assign', { externalUserIds: ['wmEast1'], owner: 'east_rep1' });
    expect(res.status).toBe(403);
    expect(res.body.error).toMatchObject({ notFound: [], notAllowed: ['wmEast1'] });
    expect(await w.ownerOf('wmEast1')).toBe('east_rep1');
    expect(await w.auditSince(since, 'customer.assign')).toMatchObject([{ actor: 'east_rep1', subjectId: 'wmEast1', outcome: 'denied' }]);
  });

  it('all or nothing: one refused customer leaves the allowed ones unchanged too', async () => {
    const manager = await w.as('east_mgr');
    const res = await manager.post('/api/customers/assign', { externalUserIds: ['wmEast3', 'wmSouth2'], owner: 'east_rep1' });
    expect(res.status).toBe(404);
    expect(await w.ownerOf('wmEast3')).toBe('east_rep2');
    expect(await w.ownerOf('wmSouth2')).toBe('south_rep');
  });

  it('two assignments racing: both apply in turn and the history chain has no gap', async () => {
    const before = (await w.historyOf('wmEast3')).length;
    const [a, b] = await Promise.all([
      w.admin.post('/api/customers/assign', { externalUserIds: ['wmEast3'], owner: 'east_rep1' }),
      (await w.as('east_mgr')).post('/api/customers/assign', { externalUserIds: ['wmEast3'], owner: 'east_mgr' }),
    ]);
    expect([a.status, b.status]).toEqual([200, 200]);
    const history = (await w.historyOf('wmEast3')).slice(before);
    expect(history).toHaveLength(2);
    // The second change starts from the owner the first one left.
    expect(history[0]!.fromUserid).toBe('east_rep2');
    expect(history[1]!.fromUserid).toBe(history[0]!.toUserid);
    expect(await w.ownerOf('wmEast3')).toBe(history[1]!.toUserid);
    await w.admin.post('/api/customers/assign', { externalUserIds: ['wmEast3'], owner: 'east_rep2' });
  });
});

describe('bulk assignment by filter', () => {
  it('assigns every customer with the tag inside the manager\'s scope, as a job with progress', async () => {
    const manager = await w.as('east_mgr');
    const since = await w.lastAuditId();
    const res = await manager.post('/api/customers/assign-by-filter', { filter: { tags: [w.tagIds['客户等级/VIP']] }, owner: 'east_rep2' });
    expect(res.status).toBe(202);
    // VIP customers: wmEast1, wmEast2 (east), wmLeave1 (east, leaver), wmSouth1 (south: outside the scope).
    expect(res.body.matching).toBe(3);
    const job = await w.job(manager, res.body.jobId);
    expect(job).toMatchObject({ state: 'completed', done: 3, total: 3, error: null });
    for (const id of ['wmEast1', 'wmEast2', 'wmLeave1']) expect(await w.ownerOf(id)).toBe('east_rep2');
    expect(await w.ownerOf('wmSouth1')).toBe('south_rep');
    expect((await w.historyOf('wmEast1')).at(-1)).toMatchObject({ toUserid: 'east_rep2', reason: 'bulk_assign', actor: 'east_mgr' });
    const entries = await w.auditSince(since);
    expect(entries.some((e) => e.action === 'customer.assign_by_filter' && e.outcome === 'done' && (e.details as { assigned: number }).assigned === 3)).toBe(true);
    // Others do not see the job.
    expect((await (await w.as('east_rep1')).get(`/api/jobs/${res.body.jobId}`)).status).toBe(404);
    // Put them back for the tests that follow.
    await w.admin.post('/api/customers/assign', { externalUserIds: ['wmEast1', 'wmEast2'], owner: 'east_rep1' });
    await w.admin.post('/api/customers/assign', { externalUserIds: ['wmLeave1'], owner: 'leaver' });
  });

  it('a tag the actor may not see is answered like a missing tag; nothing is queued', async () => {
    const manager = await w.as('east_mgr');
    const since = await w.lastAuditId();
    const secret = w.tagIds['华南机密/南方专属']!;
    const res = await manager.post('/api/customers/assign-by-filter', { filter: { tags: [secret] }, owner: 'east_rep1' });
    const missing = await manager.post('/api/customers/assign-by-filter', { filter: { tags: ['etNoSuchTag'] }, owner: 'east_rep1' });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('TAG_NOT_FOUND');
    expect(missing.status).toBe(404);
    expect(await w.ownerOf('wmSouth1')).toBe('south_rep');
    expect(await w.auditSince(since, 'customer.assign_by_filter')).toMatchObject([{ outcome: 'denied' }, { outcome: 'denied' }]);
  });

  it('a rep without assign scope is refused and audited', async () => {
    const rep = await w.as('east_rep1');
    const since = await w.lastAuditId();
    const res = await rep.post('/api/customers/assign-by-filter', { filter: { owner: 'east_rep1' }, owner: 'east_rep1' });
    expect(res.status).toBe(403);
    expect(await w.auditSince(since, 'customer.assign_by_filter')).toMatchObject([{ actor: 'east_rep1', outcome: 'denied' }]);
  });

  it('the job re-checks authority when it runs: a manager demoted meanwhile assigns nothing', async () => {
    const queue = w.t.product.ctx.queues.assignment;
    const manager = await w.as('east_mgr');
    await queue.pause();
    try {
      const res = await manager.post('/api/customers/assign-by-filter', { filter: { follower: 'east_rep1' }, owner: 'east_rep2' });
      expect(res.status).toBe(202);
      await w.db.update(memberDepartments).set({ isLeader: false }).where(eq(memberDepartments.userid, 'east_mgr'));
      await queue.resume();
      const job = await w.job(w.admin, res.body.jobId);
      expect(job.state).toBe('failed');
      expect(job.error).toMatch(/refused when the job ran/);
      expect(await w.ownerOf('wmEast1')).toBe('east_rep1');
      const denied = (await w.auditSince(0, 'customer.assign_by_filter')).filter((e) => e.subjectId === res.body.jobId);
      expect(denied.map((e) => e.outcome)).toEqual(['allowed', 'denied']);
    } finally {
      await queue.resume();
      await w.db.update(memberDepartments).set({ isLeader: true }).where(eq(memberDepartments.userid, 'east_mgr'));
    }
  });

  it('assigns thousands of customers in set-based batches', async () => {
    const count = BULK_ASSIGN_BATCH * 2 + 500;
    const tag = w.tagIds['客户等级/普通']!;
    await w.db.execute(sql`insert into customers (external_userid, name, owner_userid)
      select 'wmMass' || lpad(i::text, 6, '0'), '批量' || i, 'south_rep' from generate_series(1, ${count}) i`);
    await w.db.execute(sql`insert into relation_tags (external_userid, userid, tag_id, kind)
      select 'wmMass' || lpad(i::text, 6, '0'), 'south_rep', ${tag}, 'corp' from generate_series(1, ${count}) i`);
    const res = await w.admin.post('/api/customers/assign-by-filter', { filter: { tags: [tag], owner: 'south_rep' }, owner: 'helper' });
    expect(res.status).toBe(202);
    expect(res.body.matching).toBe(count);
    const job = await w.job(w.admin, res.body.jobId, 120_000);
    expect(job).toMatchObject({ state: 'completed', done: count, total: count });
    const [owned] = await w.db.select({ n: sql<number>`count(*)::int` }).from(customers).where(sql`${customers.externalUserId} like 'wmMass%' and ${customers.ownerUserid} = 'helper'`);
    expect(owned!.n).toBe(count);
    const [history] = await w.db.select({ n: sql<number>`count(*)::int` }).from(ownerHistory).where(sql`${ownerHistory.externalUserId} like 'wmMass%' and ${ownerHistory.reason} = 'bulk_assign'`);
    expect(history!.n).toBe(count);
    const batches = (await w.auditSince(0, 'customer.bulk_assign_batch')).filter((e) => e.subjectId === res.body.jobId);
    expect(batches).toHaveLength(3);
    await w.db.delete(relationTags).where(sql`${relationTags.externalUserId} like 'wmMass%'`);
    await w.db.delete(customers).where(sql`${customers.externalUserId} like 'wmMass%'`);
  });
});

describe('follow-up notes', () => {
  it('a follower with edit adds a note; it counts as activity; a manager with view reads it', async () => {
    await w.db.update(customers).set({ lastActivityAt: new Date('2020-01-01T00:00:00Z') }).where(eq(customers.externalUserId, 'wmEast2'));
    const rep = await w.as('east_rep1');
    const since = await w.lastAuditId();
    const added = await rep.post('/api/customers/wmEast2/notes', { content: '电话回访，客户对新品有兴趣' });
    expect(added.status).toBe(201);
    expect(added.body).toMatchObject({ author: 'east_rep1', authorName: '东一', content: '电话回访，客户对新品有兴趣' });
    const [row] = await w.db.select({ at: customers.lastActivityAt }).from(customers).where(eq(customers.externalUserId, 'wmEast2'));
    expect(row!.at!.getTime()).toBeGreaterThan(new Date('2025-01-01').getTime());
    const entries = await w.auditSince(since, 'customer.note_added');
    expect(entries).toMatchObject([{ actor: 'east_rep1', subjectId: 'wmEast2', outcome: 'done' }]);
    // The audit holds the note's id and length, not its text.
    expect(JSON.stringify(entries[0]!.details)).not.toContain('回访');
    const read = await (await w.as('east_mgr')).get('/api/customers/wmEast2/notes');
    expect(read.status).toBe(200);
    expect(read.body.items.map((n: { content: string }) => n.content)).toEqual(['电话回访，客户对新品有兴趣']);
  });

  it('a member outside the view scope can neither read nor add: 404, audited, nothing written', async () => {
    const south = await w.as('south_rep');
    const since = await w.lastAuditId();
    const [before] = await w.db.select({ n: sql<number>`count(*)::int` }).from(followUpNotes);
    const read = await south.get('/api/customers/wmEast2/notes');
    const add = await south.post('/api/customers/wmEast2/notes', { content: '越权' });
    const missing = await south.get('/api/customers/wmNoSuchCustomer/notes');
    expect([read.status, add.status]).toEqual([404, 404]);
    expect(read.body).toEqual(missing.body);
    expect(JSON.stringify(read.body)).not.toContain('回访');
    const [after] = await w.db.select({ n: sql<number>`count(*)::int` }).from(followUpNotes);
    expect(after!.n).toBe(before!.n);
    const denied = (await w.auditSince(since)).filter((e) => e.outcome === 'denied' && e.subjectId === 'wmEast2');
    expect(denied.map((e) => e.action).sort()).toEqual(['customer.edit', 'customer.view']);
  });

  it('a member on read-only probation reads notes but may not add one', async () => {
    await w.db.update(members).set({ probation: true }).where(eq(members.userid, 'east_rep1'));
    try {
      const rep = await w.as('east_rep1');
      expect((await rep.get('/api/customers/wmEast2/notes')).status).toBe(200);
      const add = await rep.post('/api/customers/wmEast2/notes', { content: '试用期' });
      expect(add.status).toBe(403);
      const notes = await w.db.select().from(followUpNotes).where(inArray(followUpNotes.content, ['试用期']));
      expect(notes).toEqual([]);
    } finally {
      await w.db.update(members).set({ probation: false }).where(eq(members.userid, 'east_rep1'));
    }
  });
});
