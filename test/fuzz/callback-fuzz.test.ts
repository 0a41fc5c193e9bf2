// The long fuzz of `/wecom/callback` (`npm run test:fuzz`): 100,000 generated hostile requests
// (FUZZ_REQUESTS to change), every answer a 4xx, no connection dropped, nothing stored, and the heap
// after a full GC bounded across the run (measured at 20 checkpoints).
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runCallbackFuzz } from '../support/callback-fuzz.ts';
import { startTestProduct, type TestProduct } from '../support/test-product.ts';

const TOTAL = Number(process.env.FUZZ_REQUESTS ?? 100_000);
const CHECKPOINTS = 20;
/** Allowed heap growth from the first tenth of the run to the end: 100 bytes per request at 100,000. */
const MAX_GROWTH_MB = 10;

let test: TestProduct;
beforeAll(async () => {
  test = await startTestProduct();
});
afterAll(async () => {
  await test?.stop();
});

it(`answers ${TOTAL.toLocaleString('en-US')} hostile callback requests with 4xx only, stores nothing, and keeps the heap bounded`, async () => {
  expect(typeof (globalThis as { gc?: unknown }).gc, 'run with --expose-gc (test/fuzz/vitest.config.ts)').toBe('function');
  const credentials = test.product.ctx.callbackCredentials();
  const seed = Number(process.env.FUZZ_SEED ?? 7_2026);
  const started = Date.now();
  const run = await runCallbackFuzz({
    baseUrl: test.url, total: TOTAL, seed, concurrency: 8, checkpoints: CHECKPOINTS,
    keys: { token: credentials.token, aesKey: credentials.encodingAesKey, corpId: credentials.receiveId },
  });
  const seconds = (Date.now() - started) / 1000;
  const afterTenth = run.heapMb[2]!;
  const end = run.heapMb[run.heapMb.length - 1]!;
  console.log(`FUZZ ${JSON.stringify({ requests: run.requests, seconds, perSecond: Math.round(run.requests / seconds), seed, statuses: run.statuses, families: run.families, failures: run.failures.length, heapMbAfterGc: run.heapMb, growthMb: Math.round((end - afterTenth) * 10) / 10 })}`);
  expect(run.failures.slice(0, 5), `seed ${seed}`).toEqual([]);
  expect(run.requests).toBe(TOTAL);
  expect(run.heapMb).toHaveLength(CHECKPOINTS + 1);
  expect(end - afterTenth).toBeLessThan(MAX_GROWTH_MB);
  const stored = await test.product.ctx.db.execute(sql`select count(*)::int as n from inbox_events`);
  expect((stored as unknown as { rows: { n: number }[] }).rows[0]!.n).toBe(0);
});
