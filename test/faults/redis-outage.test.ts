// Redis stopped for 30 s in the middle of a steady stream of callbacks, then started again: the
// server keeps answering 200 (the inbox commits in PostgreSQL without Redis), and after Redis returns
// the worker processes every event exactly once (the sweeper queues what never reached Redis).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { waitFor } from '../support/test-product.ts';
import { printTally, settled, streamAdds, tally } from './support/event-stream.ts';
import { startFaultRig, waitForInitialSync, type FaultRig } from './support/fault-rig.ts';

const OUTAGE_SECONDS = 30;
let rig: FaultRig;

beforeAll(async () => {
  rig = await startFaultRig();
  await rig.startServer();
  await rig.startWorker();
  await waitForInitialSync(rig);
});
afterAll(async () => {
  await rig?.stop();
});

it('answers every callback 200 while Redis is down and processes each event once after it returns', async () => {
  const prefix = 'wmredis';
  let redisDownAt = 0;
  let redisUpAt = 0;
  const { sent, refused } = await streamAdds(rig, {
    prefix, count: 450, perSecond: 10,
    at: [{
      second: 5,
      run: async () => {
        await rig.redis.stop();
        redisDownAt = Date.now();
        // The fault itself: Redis stays down this long while callbacks keep arriving.
        await new Promise((resolve) => setTimeout(resolve, OUTAGE_SECONDS * 1000));
        await rig.redis.start();
        redisUpAt = Date.now();
      },
    }],
  });
  expect(refused).toBe(0);
  expect(redisUpAt - redisDownAt).toBeGreaterThanOrEqual(OUTAGE_SECONDS * 1000);

  // Events that arrived while Redis was down are in the inbox, still pending, until Redis returns.
  await waitFor(() => settled(rig, prefix, sent), 'every event to be processed after Redis returned', 150_000);
  const result = await tally(rig, prefix, sent);
  printTally('redis stopped 30 s', result);
  expect(result.sent).toBe(450);
  // Every delivery was answered 200 on its first attempt: WeCom never had to retry.
  expect(result.attempts).toEqual({ 200: 450 });
  expect(result.answered).toBe(450);
  expect(result.processed).toBe(450);
  expect(result.lost).toBe(0);
  expect(result.duplicates).toBe(0);
  const { rows } = await rig.pool.query<{ n: string }>(`select count(*) as n from customers where external_userid like $1 and owner_userid is not null`, [`${prefix}%`]);
  expect(Number(rows[0]!.n)).toBe(450);
});
