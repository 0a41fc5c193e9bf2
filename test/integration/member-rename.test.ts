// A member's userid changed in WeCom (change_contact / update_user with NewUserID), end to end: the
// simulator renames the member and sends the callback, the product moves every reference in one
// transaction (membership, roles, relations, tags, ownership, history, notes, sessions) and keeps
// the member's audit trail findable under the new id. Applying the rename again changes nothing.
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, customers, followRelations, followUpNotes, inboxEvents, memberDepartments, memberRoles, members, ownerHistory, relationTags, sessions } from '../../server/db/schema.ts';
import { renameMember } from '../../server/services/member-rename.service.ts';
import { startOwnershipWorld, type OwnershipWorld } from '../support/ownership-company.ts';
import type { ApiClient, DatabaseKind } from '../support/test-product.ts';

describe.each<DatabaseKind>(['pglite', 'postgres'])('member userid renamed in WeCom (%s)', (kind) => {
  let w: OwnershipWorld;
  let rep: ApiClient;
  const before = { relations: 0, owned: 0, tags: 0, history: 0 };

  const count = async (query: Promise<{ n: number }[]>): Promise<number> => (await query)[0]!.n;
  const n = sql<number>`count(*)::int`;

  beforeAll(async () => {
    w = await startOwnershipWorld({ database: kind });
    rep = await w.as('east_rep1');
    // Things that name east_rep1: a note, a denied read (audited), a named role given by the admin.
    expect((await rep.post('/api/customers/wmEast1/notes', { content: '改名前的跟进' })).status).toBe(201);
    expect((await rep.get('/api/customers/wmSouth1')).status).toBe(404);
    expect((await w.admin.request('PUT', '/api/admin/members/east_rep1/roles', { roles: ['service'] })).status).toBe(200);
    before.relations = await count(w.db.select({ n }).from(followRelations).where(eq(followRelations.userid, 'east_rep1')));
    before.owned = await count(w.db.select({ n }).from(customers).where(eq(customers.ownerUserid, 'east_rep1')));
    before.tags = await count(w.db.select({ n }).from(relationTags).where(eq(relationTags.userid, 'east_rep1')));
    before.history = await count(w.db.select({ n }).from(ownerHistory).where(eq(ownerHistory.toUserid, 'east_rep1')));
    expect(before.relations).toBeGreaterThan(0);
    expect(before.owned).toBeGreaterThan(0);
    expect(before.tags).toBeGreaterThan(0);

    const renamed = await w.t.simCall<{ userid: string; previous: string }>('POST', '/sim/members/rename', { userid: 'east_rep1', new_userid: 'east_rep1_cn' });
    expect(renamed).toMatchObject({ userid: 'east_rep1_cn', previous: 'east_rep1' });
    await w.inboxSettled();
  }, 120_000);

  afterAll(async () => {
    await w?.stop();
  });

  it('stores the callback and applies it once', async () => {
    const rows = await w.db.select().from(inboxEvents).where(eq(inboxEvents.event, 'change_contact'));
    const rename = rows.filter((r) => r.payload.NewUserID === 'east_rep1_cn');
    expect(rename).toHaveLength(1);
    expect(rename[0]).toMatchObject({ status: 'done', changeType: 'update_user', payload: { UserID: 'east_rep1', NewUserID: 'east_rep1_cn' } });
  });

  it('moves the member, departments, named role, relations, tags, ownership, history and notes to the new id', async () => {
    expect(await w.db.select({ userid: members.userid }).from(members).where(eq(members.userid, 'east_rep1'))).toEqual([]);
    expect(await w.db.select({ name: members.name, status: members.status }).from(members).where(eq(members.userid, 'east_rep1_cn'))).toEqual([{ name: '东一', status: 1 }]);
    expect(await w.db.select({ d: memberDepartments.departmentId }).from(memberDepartments).where(eq(memberDepartments.userid, 'east_rep1_cn'))).toEqual([{ d: 2 }]);
    expect(await w.db.select({ role: memberRoles.role }).from(memberRoles).where(eq(memberRoles.userid, 'east_rep1_cn'))).toEqual([{ role: 'service' }]);
    for (const [table, column] of [[followRelations, followRelations.userid], [relationTags, relationTags.userid], [memberRoles, memberRoles.userid], [memberDepartments, memberDepartments.userid], [sessions, sessions.userid]] as const) {
      expect(await count(w.db.select({ n }).from(table).where(eq(column, 'east_rep1')))).toBe(0);
    }
    expect(await count(w.db.select({ n }).from(followRelations).where(eq(followRelations.userid, 'east_rep1_cn')))).toBe(before.relations);
    expect(await count(w.db.select({ n }).from(relationTags).where(eq(relationTags.userid, 'east_rep1_cn')))).toBe(before.tags);
    expect(await count(w.db.select({ n }).from(customers).where(eq(customers.ownerUserid, 'east_rep1_cn')))).toBe(before.owned);
    expect(await count(w.db.select({ n }).from(customers).where(eq(customers.ownerUserid, 'east_rep1')))).toBe(0);
    expect(await count(w.db.select({ n }).from(ownerHistory).where(eq(ownerHistory.toUserid, 'east_rep1_cn')))).toBe(before.history);
    expect(await w.db.select({ author: followUpNotes.author }).from(followUpNotes).where(eq(followUpNotes.externalUserId, 'wmEast1'))).toEqual([{ author: 'east_rep1_cn' }]);
  });

  it('keeps the member signed in under the new id, with the same customers', async () => {
    const me = await rep.get('/api/me');
    expect(me.status).toBe(200);
    expect(me.body.userid).toBe('east_rep1_cn');
    const customer = await rep.get('/api/customers/wmEast1');
    expect(customer.status).toBe(200);
    expect(customer.body.owner).toMatchObject({ userid: 'east_rep1_cn', name: '东一' });
    // Later callbacks name the new id and find the relation (an edit in the WeCom client).
    await w.t.simCall('POST', '/sim/customers/edit-tags', { userid: 'east_rep1_cn', external_userid: 'wmEast2', remark: '改名后' });
    await w.inboxSettled();
    const [relation] = await w.db.select().from(followRelations).where(and(eq(followRelations.externalUserId, 'wmEast2'), eq(followRelations.userid, 'east_rep1_cn')));
    expect(relation).toMatchObject({ remark: '改名后', status: 'active' });
  });

  it('finds the audit entries made under the old id by the new id, and records the rename', async () => {
    const found = await w.admin.get('/api/admin/audit?actor=east_rep1_cn&limit=500');
    expect(found.status).toBe(200);
    const actions = found.body.entries.map((e: { action: string; actor: string }) => `${e.actor}:${e.action}`);
    expect(actions).toContain('east_rep1:customer.note_added');
    expect(found.body.entries.some((e: { actor: string; outcome: string }) => e.actor === 'east_rep1' && e.outcome === 'denied')).toBe(true);
    const [renamed] = await w.db.select().from(auditLog).where(eq(auditLog.action, 'member.renamed'));
    expect(renamed).toMatchObject({ subjectType: 'member', subjectId: 'east_rep1_cn', details: { from: 'east_rep1', to: 'east_rep1_cn' } });
    expect((await w.admin.get('/api/admin/audit/verify')).body.ok).toBe(true);
  });

  it('applying the same rename again changes nothing and records nothing', async () => {
    const result = await w.db.transaction((tx) => renameMember(tx, 'east_rep1', 'east_rep1_cn'));
    expect(result.moved).toBe(0);
    expect(await count(w.db.select({ n }).from(auditLog).where(eq(auditLog.action, 'member.renamed')))).toBe(1);
  });
});
