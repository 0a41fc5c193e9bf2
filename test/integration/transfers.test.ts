// Transfers of the WeCom relationship against the simulator, over real HTTP, Redis and a real
// database: in-service transfers that complete after WeCom's 24 h (the simulator clock), refusals
// reported by transfer_fail callbacks, the 2-in-90-days rule checked before calling, calls of at most
// 100 customers, and departures (resigned transfers, spread over a department). Refused paths are
// tried by members without the permission: nothing leaks, nothing changes, an audit entry is written.
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { followRelations, members, transferBatches, transferFailures } from '../../server/db/schema.ts';
import { startOwnershipWorld, type OwnershipWorld } from '../support/ownership-company.ts';
import { waitFor, type ApiClient } from '../support/test-product.ts';

const BULK = 150;
const DAY = 24 * 3600;

let w: OwnershipWorld;

interface Call { body: { handover_userid: string; takeover_userid: string; external_userid: string[] } }
const calls = async (path: string): Promise<Call[]> => (await w.t.simCall<{ calls: Call[] }>('GET', `/sim/calls?path=${encodeURIComponent(path)}`)).calls;
const IN_SERVICE = 'externalcontact/transfer_customer';
const RESIGNED = 'externalcontact/resigned/transfer_customer';

interface TransferView { id: string; kind: string; handover: string; takeover: string; counts: Record<string, number>; items: { externalUserId: string; state: string; errcode: number | null; error: string | null; takeoverTime: number | null }[] }

async function requestAndSend(client: ApiClient, body: Record<string, unknown>): Promise<{ jobId: string; transfers: { id: string; kind: string; handover: string; takeover: string; customers: number; toSend: number }[]; notSent: { externalUserId: string; state: string; errcode: number | null }[] }> {
  const res = await client.post('/api/transfers', body);
  expect(res.status).toBe(202);
  expect(await w.job(client, res.body.jobId)).toMatchObject({ state: 'completed' });
  return res.body;
}

const transfer = async (client: ApiClient, id: string): Promise<TransferView> => {
  const res = await client.get(`/api/transfers/${id}`);
  expect(res.status).toBe(200);
  return res.body;
};

/** WeCom's 24 h pass on the simulator clock; then the transfer's results are asked for now. */
async function takeoverDay(client: ApiClient, ids: string[]): Promise<void> {
  await w.t.simCall('POST', '/sim/clock/advance', { seconds: DAY + 60 });
  for (const id of ids) expect((await client.post(`/api/transfers/${id}/refresh`)).status).toBe(200);
}

beforeAll(async () => {
  w = await startOwnershipWorld({ company: { bulkCustomers: BULK } });
});

afterAll(async () => {
  await w?.stop();
});

describe('in-service transfers', () => {
  it('sends the customer, waits for WeCom\'s 24 h, then records done and moves the owner', async () => {
    const manager = await w.as('east_mgr');
    const since = await w.lastAuditId();
    const sent = await requestAndSend(manager, { externalUserIds: ['wmEast2'], takeover: 'east_rep2' });
    expect(sent.transfers).toMatchObject([{ kind: 'in_service', handover: 'east_rep1', takeover: 'east_rep2', customers: 1, toSend: 1 }]);
    const id = sent.transfers[0]!.id;
    let view = await transfer(manager, id);
    expect(view.items).toMatchObject([{ externalUserId: 'wmEast2', state: 'waiting', errcode: 0 }]);
    expect(await w.ownerOf('wmEast2')).toBe('east_rep1');
    expect((await calls(IN_SERVICE)).map((c) => c.body)).toEqual([{ handover_userid: 'east_rep1', takeover_userid: 'east_rep2', external_userid: ['wmEast2'] }]);

    // Before the 24 h nothing completes.
    expect((await manager.post(`/api/transfers/${id}/refresh`)).body.items[0].state).toBe('waiting');
    await takeoverDay(manager, [id]);
    view = await transfer(manager, id);
    expect(view.items).toMatchObject([{ state: 'done', errcode: 0 }]);
    expect(view.items[0]!.takeoverTime).toEqual(expect.any(Number));
    expect(await w.ownerOf('wmEast2')).toBe('east_rep2');
    expect((await w.historyOf('wmEast2')).at(-1)).toEqual({ fromUserid: 'east_rep1', toUserid: 'east_rep2', reason: 'transfer', actor: 'east_mgr' });
    const actions = (await w.auditSince(since)).filter((e) => e.subjectId === id).map((e) => `${e.action}:${e.outcome}`);
    expect(actions).toEqual(['transfer.requested:allowed', 'transfer.sent:done', 'transfer.answered:done', 'transfer.result:done']);
    // WeCom's callbacks move the relation: the old one ends, the new one is active. (The end reason
    // depends on which of the del/add events is processed first: both re-read the customer.)
    await w.inboxSettled();
    await waitFor(async () => {
      const rows = await w.db.select().from(followRelations).where(eq(followRelations.externalUserId, 'wmEast2'));
      const byUser = new Map(rows.map((r) => [r.userid, r]));
      return byUser.get('east_rep2')?.status === 'active' && byUser.get('east_rep1')?.status === 'ended';
    }, 'the relation to move to east_rep2');
  });

  it('a customer who refuses: the transfer_fail callback marks the item refused, the owner stays', async () => {
    const manager = await w.as('east_mgr');
    const sent = await requestAndSend(manager, { externalUserIds: ['wmEast1'], takeover: 'east_rep2' });
    const id = sent.transfers[0]!.id;
    await w.t.simCall('POST', '/sim/transfers/refuse', { external_userid: 'wmEast1' });
    await w.inboxSettled();
    const view = await waitFor(async () => {
      const v = await transfer(manager, id);
      return v.items[0]!.state === 'refused' ? v : undefined;
    }, 'the refusal');
    expect(view.items[0]).toMatchObject({ state: 'refused', error: 'the customer refused the transfer' });
    expect(await w.ownerOf('wmEast1')).toBe('east_rep1');
    const failures = await w.db.select().from(transferFailures).where(eq(transferFailures.externalUserId, 'wmEast1'));
    expect(failures).toMatchObject([{ takeoverUserid: 'east_rep2', reason: 'customer_refused' }]);
    // Polling later does not undo the refusal.
    await takeoverDay(manager, [id]);
    expect((await transfer(manager, id)).items[0]!.state).toBe('refused');
  });

  it('the 2-in-90-days rule is checked before calling: the third transfer is reported, not sent', async () => {
    const admin = w.admin;
    const first = await requestAndSend(admin, { externalUserIds: ['wmEast3'], takeover: 'east_rep1' });
    await takeoverDay(admin, [first.transfers[0]!.id]);
    const second = await requestAndSend(admin, { externalUserIds: ['wmEast3'], takeover: 'east_rep2' });
    await takeoverDay(admin, [second.transfers[0]!.id]);
    expect(await w.ownerOf('wmEast3')).toBe('east_rep2');
    await w.inboxSettled();
    const before = (await calls(IN_SERVICE)).length;
    const third = await requestAndSend(admin, { externalUserIds: ['wmEast3', 'wmEast4'], takeover: 'east_rep1' });
    expect(third.notSent).toEqual([{ externalUserId: 'wmEast3', state: 'over_limit', errcode: 40128, reason: expect.stringMatching(/2 times in 90 days/) }]);
    const view = await transfer(admin, third.transfers[0]!.id);
    expect(view.items).toMatchObject([{ externalUserId: 'wmEast3', state: 'over_limit', errcode: 40128 }, { externalUserId: 'wmEast4', state: 'waiting', errcode: 0 }]);
    const sentNow = (await calls(IN_SERVICE)).slice(before);
    expect(sentNow.map((c) => c.body.external_userid)).toEqual([['wmEast4']]);
  });

  it('sends more than 100 customers in calls of at most 100, with progress', async () => {
    const ids = Array.from({ length: BULK }, (_, i) => `wmBulk${String(i).padStart(3, '0')}`);
    const before = (await calls(IN_SERVICE)).length;
    const sent = await requestAndSend(w.admin, { externalUserIds: ids, takeover: 'east_rep2' });
    expect(sent.transfers).toMatchObject([{ customers: BULK, toSend: BULK }]);
    const job = await w.job(w.admin, sent.jobId);
    expect(job).toMatchObject({ state: 'completed', done: BULK, total: BULK });
    const sentNow = (await calls(IN_SERVICE)).slice(before);
    expect(sentNow.map((c) => c.body.external_userid.length)).toEqual([100, 50]);
    expect(new Set(sentNow.flatMap((c) => c.body.external_userid))).toEqual(new Set(ids));
    const view = await transfer(w.admin, sent.transfers[0]!.id);
    expect(view.counts).toEqual({ waiting: BULK });
  });

  it('a member without transfer scope is refused; a customer outside the view scope is a 404; nothing is created', async () => {
    const [before] = await w.db.select({ n: sql<number>`count(*)::int` }).from(transferBatches);
    const since = await w.lastAuditId();
    const rep = await w.as('east_rep2');
    const own = await rep.post('/api/transfers', { externalUserIds: ['wmEast4'], takeover: 'east_rep1' });
    expect(own.status).toBe(403);
    expect(own.body.error.notAllowed).toEqual(['wmEast4']);
    const south = await w.as('south_mgr');
    const hidden = await south.post('/api/transfers', { externalUserIds: ['wmEast4'], takeover: 'south_rep' });
    expect(hidden.status).toBe(404);
    expect(hidden.body.error.notFound).toEqual(['wmEast4']);
    const manager = await w.as('east_mgr');
    const outside = await manager.post('/api/transfers', { externalUserIds: ['wmEast4'], takeover: 'south_rep' });
    expect(outside.status).toBe(403);
    const [after] = await w.db.select({ n: sql<number>`count(*)::int` }).from(transferBatches);
    expect(after!.n).toBe(before!.n);
    const denied = await w.auditSince(since, 'transfer.request');
    expect(denied.map((e) => [e.actor, e.outcome])).toEqual([['east_rep2', 'denied'], ['south_mgr', 'denied'], ['east_mgr', 'denied']]);
    // Another member's transfer does not exist for them.
    const [someone] = await w.db.select({ id: transferBatches.id }).from(transferBatches).limit(1);
    const before404 = await w.lastAuditId();
    expect((await rep.get(`/api/transfers/${someone!.id}`)).status).toBe(404);
    expect((await rep.post(`/api/transfers/${someone!.id}/refresh`)).status).toBe(404);
    expect(await w.auditSince(before404, 'transfer.read')).toMatchObject([{ actor: 'east_rep2', outcome: 'denied' }, { actor: 'east_rep2', outcome: 'denied' }]);
  });
});

describe('departures', () => {
  it('a member who leaves: listed for managers and admins, reassigned over a department with resigned transfers', async () => {
    await w.t.simCall('POST', '/sim/members/resign', { userid: 'leaver' });
    await w.syncAll();
    const [member] = await w.db.select({ status: members.status }).from(members).where(eq(members.userid, 'leaver'));
    expect(member!.status).toBe(5);

    const unassigned = await w.admin.get('/api/admin/unassigned');
    expect(unassigned.status).toBe(200);
    expect(unassigned.body.items.map((i: { externalUserId: string }) => i.externalUserId).sort()).toEqual(['wmLeave1', 'wmLeave2', 'wmLeave3', 'wmLeave4']);
    expect(unassigned.body.items[0]).toMatchObject({ handoverUserid: 'leaver', handoverName: '将离职' });

    const manager = await w.as('east_mgr');
    const list = await manager.get('/api/admin/departures');
    expect(list.status).toBe(200);
    expect(list.body.items).toMatchObject([{ userid: 'leaver', owned: 4, followed: 4 }]);
    // The south manager manages none of them: the leaver is not listed, the customers are not theirs.
    expect((await (await w.as('south_mgr')).get('/api/admin/departures')).body.items).toEqual([]);
    const customersOf = await manager.get('/api/admin/departures/leaver/customers');
    expect(customersOf.body.items.map((c: { externalUserId: string }) => c.externalUserId)).toEqual(['wmLeave1', 'wmLeave2', 'wmLeave3', 'wmLeave4']);
    expect(customersOf.body.items[3]).toMatchObject({ ownerUserid: 'leaver', relationWithLeaver: true });

    const since = await w.lastAuditId();
    const res = await manager.post('/api/admin/departures/leaver/reassign', { toDepartment: 2 });
    expect(res.status).toBe(200);
    // Active members of 华东 and 上海, in id order, round-robin over the customers in id order.
    expect(res.body).toMatchObject({ reassigned: 4, byOwner: { east_mgr: 2, east_rep1: 1, east_rep2: 1 }, notSent: [], notTransferred: [] });
    expect(await Promise.all(['wmLeave1', 'wmLeave2', 'wmLeave3', 'wmLeave4'].map((id) => w.ownerOf(id)))).toEqual(['east_mgr', 'east_rep1', 'east_rep2', 'east_mgr']);
    expect((await w.historyOf('wmLeave2')).at(-1)).toEqual({ fromUserid: 'leaver', toUserid: 'east_rep1', reason: 'departure', actor: 'east_mgr' });
    expect(res.body.transfers.map((b: { kind: string }) => b.kind)).toEqual(['resigned', 'resigned', 'resigned']);
    expect(await w.job(manager, res.body.jobId)).toMatchObject({ state: 'completed', done: 4, total: 4 });
    const resignedCalls = (await calls(RESIGNED)).map((c) => c.body);
    expect(resignedCalls.map((c) => [c.takeover_userid, c.external_userid])).toEqual(expect.arrayContaining([
      ['east_mgr', ['wmLeave1', 'wmLeave4']], ['east_rep1', ['wmLeave2']], ['east_rep2', ['wmLeave3']],
    ]));
    expect(resignedCalls.every((c) => c.handover_userid === 'leaver')).toBe(true);
    // The in-service API was never used for the member who left.
    expect((await calls(IN_SERVICE)).some((c) => c.body.handover_userid === 'leaver')).toBe(false);
    expect((await w.auditSince(since, 'departure.reassign')).length).toBe(3);

    await takeoverDay(manager, res.body.transfers.map((b: { id: string }) => b.id));
    for (const batch of res.body.transfers as { id: string }[]) {
      expect(Object.keys((await transfer(manager, batch.id)).counts)).toEqual(['done']);
    }
    await w.inboxSettled();
    await waitFor(async () => {
      const [row] = await w.db.select().from(followRelations).where(and(eq(followRelations.externalUserId, 'wmLeave3'), eq(followRelations.userid, 'east_rep2')));
      return row?.status === 'active';
    }, 'the resigned transfer to bring the relation to east_rep2');
    expect((await w.admin.get('/api/admin/unassigned')).body.items).toEqual([]);
    expect((await manager.get('/api/admin/departures')).body.items).toEqual([]);
  });

  it('departures are not for reps, and a manager cannot reassign customers outside their scope', async () => {
    const since = await w.lastAuditId();
    const rep = await w.as('east_rep1');
    expect((await rep.get('/api/admin/departures')).status).toBe(403);
    expect((await rep.post('/api/admin/departures/leaver/reassign', { to: 'east_rep1' })).status).toBe(403);
    const south = await w.as('south_mgr');
    const res = await south.post('/api/admin/departures/leaver/reassign', { to: 'helper', externalUserIds: ['wmLeave1'] });
    expect(res.status).toBe(404);
    expect(await w.ownerOf('wmLeave1')).toBe('east_mgr');
    const entries = await w.auditSince(since);
    expect(entries.filter((e) => e.outcome === 'denied').map((e) => [e.actor, e.action])).toEqual([
      ['east_rep1', 'departure.read'], ['east_rep1', 'departure.reassign'], ['south_mgr', 'departure.reassign'],
    ]);
    // An admin-only list stays admin-only.
    expect((await south.get('/api/admin/unassigned')).status).toBe(403);
  });

  it('a member who has not left cannot be reassigned as a departure', async () => {
    const res = await w.admin.post('/api/admin/departures/east_rep1/reassign', { to: 'east_rep2' });
    expect(res.status).toBe(409);
    expect(await w.ownerOf('wmEast1')).toBe('east_rep1');
  });
});
