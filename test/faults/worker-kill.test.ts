// A worker process killed with SIGKILL in the middle of jobs: the jobs it held are taken up again by
// another worker once their locks lapse and complete once; a tag write that reached WeCom but not the
// local database when the worker died converges (the retried write re-applies `mark_tag`, which WeCom
// treats as a no-op for a tag already there, and then records it locally).
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { waitFor, type ApiResponse } from '../support/test-product.ts';
import { printTally, settled, streamAdds, tally } from './support/event-stream.ts';
import { SEEDED_CUSTOMER, startFaultRig, waitForInitialSync, type FaultRig, type ProductProcess } from './support/fault-rig.ts';

let rig: FaultRig;
let workerA: ProductProcess;

beforeAll(async () => {
  rig = await startFaultRig();
  await rig.startServer();
  workerA = await rig.startWorker();
  await waitForInitialSync(rig);
});
afterAll(async () => {
  await rig?.stop();
});

interface CallRecord { path: string; body: { external_userid?: string; add_tag?: string[] } | null; errcode: number | null }

async function markTagCalls(): Promise<CallRecord[]> {
  const { calls } = await rig.simCall<{ calls: CallRecord[] }>('GET', '/sim/calls?path=externalcontact/mark_tag');
  return calls.filter((c) => c.body?.external_userid === SEEDED_CUSTOMER);
}

async function localTags(): Promise<string[]> {
  const { rows } = await rig.pool.query<{ tag_id: string }>('select tag_id from relation_tags where external_userid = $1 and userid = $2 order by tag_id', [SEEDED_CUSTOMER, 'wangfang']);
  return rows.map((r) => r.tag_id);
}

async function wecomTags(): Promise<string[]> {
  const customer = await rig.simCall<{ follow_user: { userid: string; tags: { tag_id: string; type: number }[] }[] }>('GET', `/sim/customers/${SEEDED_CUSTOMER}`);
  return customer.follow_user.find((f) => f.userid === 'wangfang')!.tags.filter((t) => t.type === 1).map((t) => t.tag_id).sort();
}

it('retries the killed worker\'s jobs to completion once, and a tag write cut between WeCom and the database converges', async () => {
  const vip = rig.company.tagGroups[0]!.tags[0]!.id;
  const rep = await rig.login('wangfang');
  expect(await localTags()).toEqual([]);

  // Writes to relation_tags wait behind this lock: the worker applies `mark_tag` in WeCom, then blocks
  // inside its local transaction, which is exactly where it is killed.
  const locker = new pg.Client({ connectionString: rig.databaseUrl });
  await locker.connect();
  await locker.query('begin');
  await locker.query('lock table relation_tags in exclusive mode');

  const prefix = 'wmkill';
  const stream = streamAdds(rig, { prefix, count: 200, perSecond: 20 });
  const tagging: Promise<ApiResponse> = rep.post(`/api/customers/${SEEDED_CUSTOMER}/tags`, { add: [vip] });
  await waitFor(async () => (await markTagCalls()).some((c) => c.errcode === 0), 'mark_tag to succeed in WeCom');
  await waitFor(async () => {
    const { rows } = await rig.pool.query<{ n: string }>(`select count(*) as n from pg_stat_activity where wait_event_type = 'Lock' and datname = current_database()`);
    return Number(rows[0]!.n) > 0;
  }, 'the worker to wait inside its local transaction');
  const active = await waitFor(async () => {
    const jobs = await rig.events.getActive();
    return jobs.length > 0 ? jobs : undefined;
  }, 'event jobs to be running');
  const activeInboxIds = active.map((job) => Number((job.data as { inboxId: number }).inboxId));

  workerA.child.kill('SIGKILL');
  expect((await workerA.exited).signal).toBe('SIGKILL');
  await locker.query('rollback');
  await locker.end();
  expect([200, 202]).toContain((await tagging).status);

  // Diverged: WeCom has the tag, the local mirror does not, the write is still queued.
  expect(await wecomTags()).toEqual([vip]);
  expect(await localTags()).toEqual([]);
  const { rows: [write] } = await rig.pool.query<{ id: number; state: string }>(`select id, state from outgoing_writes where api = 'mark_tag' and payload->>'external_userid' = $1`, [SEEDED_CUSTOMER]);
  expect(write!.state).toBe('queued');

  const { sent, refused } = await stream;
  expect(refused).toBe(0);
  await rig.startWorker();

  await waitFor(() => settled(rig, prefix, sent), 'every event to be processed by the new worker', 180_000);
  await waitFor(async () => (await rig.pool.query<{ state: string }>('select state from outgoing_writes where id = $1', [write!.id])).rows[0]!.state === 'done', 'the interrupted tag write to complete', 120_000);
  expect(await localTags()).toEqual([vip]);
  expect(await wecomTags()).toEqual([vip]);
  expect((await markTagCalls()).filter((c) => c.errcode === 0).length).toBe(2);

  // The jobs the killed worker held were picked up again and applied once.
  const { rows: held } = await rig.pool.query<{ status: string; attempts: number }>('select status, attempts from inbox_events where id = any($1)', [activeInboxIds]);
  expect(held.length).toBe(activeInboxIds.length);
  expect(held.every((r) => r.status === 'done' && r.attempts === 1)).toBe(true);

  const result = await tally(rig, prefix, sent);
  printTally(`worker SIGKILL (${activeInboxIds.length} jobs active at the kill)`, result);
  expect(result.sent).toBe(200);
  expect(result.answered).toBe(200);
  expect(result.processed).toBe(200);
  expect(result.lost).toBe(0);
  expect(result.duplicates).toBe(0);
});
