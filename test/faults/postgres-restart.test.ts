// PostgreSQL restarted in the middle of a steady stream of callbacks: while it is down the server
// answers 503 (nothing committed, so WeCom must send again), the simulator's retries (WeCom's: after
// 1, 2 and 4 s) deliver those events again, and each is stored and processed exactly once.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { waitFor } from '../support/test-product.ts';
import { printTally, settled, streamAdds, tally } from './support/event-stream.ts';
import { startFaultRig, waitForInitialSync, type FaultRig } from './support/fault-rig.ts';

/** Down long enough for several deliveries to meet the outage, short enough for WeCom's 7 s of retries. */
const DOWN_MS = 1_500;
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

it('answers 503 during the outage; the retried deliveries are stored and processed once, none lost', async () => {
  const prefix = 'wmpgrestart';
  const { sent, refused } = await streamAdds(rig, {
    prefix, count: 200, perSecond: 10,
    at: [{
      second: 5,
      run: async () => {
        await rig.postgres.stop();
        await new Promise((resolve) => setTimeout(resolve, DOWN_MS));
        await rig.postgres.restart();
      },
    }],
  });
  expect(refused).toBe(0);

  await waitFor(() => settled(rig, prefix, sent), 'every event to be processed after PostgreSQL returned', 120_000);
  const result = await tally(rig, prefix, sent);
  printTally('PostgreSQL restarted', result);
  expect(result.sent).toBe(200);
  // The outage was seen: some deliveries were refused with 503 (never a 500, never a hang past WeCom's 5 s).
  expect(result.attempts['503']).toBeGreaterThan(0);
  expect(Object.keys(result.attempts).sort()).toEqual(['200', '503']);
  expect(result.answered).toBe(200);
  expect(result.processed).toBe(200);
  expect(result.lost).toBe(0);
  expect(result.duplicates).toBe(0);
});
