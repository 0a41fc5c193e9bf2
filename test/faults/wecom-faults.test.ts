// WeCom failing under the product (faults injected in the simulator while callbacks stream in): bursts
// of -1 (busy), 45009 (rate limited) and 45033 (concurrency limit), replies held past the client's
// timeout, and every access token expiring at once. Transient failures are retried with backoff until
// they pass; a permanent error parks the event as `failed`, visible to admins and retryable. Nothing is
// lost, nothing applied twice, and the product's own calls never trip WeCom's rate limit.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { waitFor, type ApiClient } from '../support/test-product.ts';
import { printTally, settled, streamAdds, tally } from './support/event-stream.ts';
import { ADMIN, SEEDED_CUSTOMER, startFaultRig, waitForInitialSync, type FaultRig } from './support/fault-rig.ts';

/** The simulator's per-API limit for this run: far above what the stream needs, so any 45009 beyond
 * the injected ones would mean the product's retries hammered WeCom. */
const RATE_LIMIT_PER_MINUTE = 2_000;
const BURST = 10;
let rig: FaultRig;
let admin: ApiClient;

beforeAll(async () => {
  rig = await startFaultRig({ simulator: { rateLimitPerMinute: RATE_LIMIT_PER_MINUTE } });
  await rig.startServer();
  await rig.startWorker();
  await waitForInitialSync(rig);
  admin = await rig.login(ADMIN);
});
afterAll(async () => {
  await rig?.stop();
});

interface CallRecord { path: string; errcode: number | null; body: { external_userid?: string } | null }

async function calls(path: string): Promise<CallRecord[]> {
  return (await rig.simCall<{ calls: CallRecord[] }>('GET', `/sim/calls?path=${path}`)).calls;
}

const countBy = (list: CallRecord[], errcode: number): number => list.filter((c) => c.errcode === errcode).length;

it('retries transient WeCom errors, timeouts and expired tokens; parks permanent errors visibly; loses nothing', async () => {
  // Consumed in this order by the calls that follow (each fault answers the next `count` calls).
  const faults = [
    { path: 'externalcontact/get', errcode: -1, count: BURST },
    { path: 'externalcontact/get', errcode: 45009, count: BURST },
    { path: 'externalcontact/get', errcode: 45033, count: BURST },
    // Held past the client's 10 s timeout, then answered -1 without applying anything.
    { path: 'externalcontact/get', errcode: 'timeout', count: 2, holdMs: 11_000 },
    // Invalid parameter: retrying the same call cannot succeed, so the event is parked.
    { path: 'externalcontact/get', errcode: 40058, count: 2 },
  ];
  for (const fault of faults) await rig.simCall('POST', '/sim/faults', fault);

  const prefix = 'wmwecom';
  const { sent, refused } = await streamAdds(rig, {
    prefix, count: 150, perSecond: 15,
    // Every access token expires at once: calls answer 42001 until the client fetches a new token.
    at: [{ second: 5, run: async () => { await rig.simCall('POST', '/sim/clock/advance', { seconds: 7_300 }); } }],
  });
  expect(refused).toBe(0);
  await waitFor(() => settled(rig, prefix, sent), 'every event to be processed or parked', 180_000);
  expect((await rig.simCall<{ faults: { remaining: number }[] }>('GET', '/sim/faults')).faults.every((f) => f.remaining === 0)).toBe(true);

  const gets = await calls('externalcontact/get');
  expect(countBy(gets, -1)).toBe(BURST);
  // The held replies: the client gave up at its timeout and retried; WeCom's late answer was never read.
  expect(gets.filter((c) => c.errcode === null).length).toBe(2);
  expect(countBy(gets, 45033)).toBe(BURST);
  expect(countBy(gets, 42001)).toBeGreaterThan(0); // tokens expired mid-stream and were renewed
  // Only the injected 45009s: the retries never pushed the product over WeCom's rate limit.
  const all = (await rig.simCall<{ calls: CallRecord[] }>('GET', '/sim/calls')).calls;
  expect(countBy(all, 45009)).toBe(BURST);

  // The two permanent errors are parked and visible to admins, with WeCom's reason.
  const failed = await admin.get('/api/admin/events?status=failed');
  expect(failed.status).toBe(200);
  const parked = (failed.body.events as { id: number; externalUserId: string; lastError: string }[]).filter((e) => e.externalUserId.startsWith(prefix));
  expect(parked).toHaveLength(2);
  for (const event of parked) expect(event.lastError).toMatch(/40058/);
  const before = await tally(rig, prefix, sent);
  printTally('WeCom faults (before the admin retries the parked events)', before);
  expect(before).toMatchObject({ sent: 150, answered: 150, processed: 148, parked: 2, lost: 0, duplicates: 0 });

  // An admin retries them; WeCom answers normally now.
  for (const event of parked) expect((await admin.post(`/api/admin/events/${event.id}/retry`)).status).toBe(202);
  await waitFor(async () => (await tally(rig, prefix, sent)).processed === 150, 'the retried events to be processed');
  const after = await tally(rig, prefix, sent);
  printTally('WeCom faults', after);
  expect(after).toMatchObject({ sent: 150, answered: 150, processed: 150, parked: 0, lost: 0, duplicates: 0 });
});

it('retries a tag write through bursts of -1, 45009 and 45033 until WeCom and the database agree', async () => {
  const rep = await rig.login('wangfang');
  const vip = rig.company.tagGroups[0]!.tags[1]!.id;
  for (const errcode of [-1, 45009, 45033]) await rig.simCall('POST', '/sim/faults', { path: 'externalcontact/mark_tag', errcode, count: 3 });
  const answer = await rep.post(`/api/customers/${SEEDED_CUSTOMER}/tags`, { add: [vip] });
  expect([200, 202]).toContain(answer.status);
  const writeId = answer.body.wecom.writeId as number;
  await waitFor(async () => (await rig.pool.query<{ state: string }>('select state from outgoing_writes where id = $1', [writeId])).rows[0]!.state === 'done', 'the tag write to pass the faults', 120_000);
  const marks = (await calls('externalcontact/mark_tag')).filter((c) => c.body?.external_userid === SEEDED_CUSTOMER);
  expect(marks.map((c) => c.errcode)).toEqual([-1, -1, -1, 45009, 45009, 45009, 45033, 45033, 45033, 0]);
  const { rows } = await rig.pool.query('select 1 from relation_tags where external_userid = $1 and userid = $2 and tag_id = $3', [SEEDED_CUSTOMER, 'wangfang', vip]);
  expect(rows).toHaveLength(1);
  const customer = await rig.simCall<{ follow_user: { userid: string; tags: { tag_id?: string }[] }[] }>('GET', `/sim/customers/${SEEDED_CUSTOMER}`);
  expect(customer.follow_user.find((f) => f.userid === 'wangfang')!.tags.map((t) => t.tag_id)).toContain(vip);
});
