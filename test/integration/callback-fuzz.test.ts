// A quick fuzz of `/wecom/callback` in every `npm test` run (1,000 generated hostile requests; the
// 100,000-request run with memory checkpoints is `npm run test:fuzz`): every answer a 4xx, no
// connection dropped, nothing stored.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runCallbackFuzz } from '../support/callback-fuzz.ts';
import { startTestProduct, type TestProduct } from '../support/test-product.ts';

let test: TestProduct;
beforeAll(async () => {
  test = await startTestProduct();
});
afterAll(async () => {
  await test?.stop();
});

it('answers 1,000 hostile callback requests with 4xx only and stores nothing', async () => {
  const credentials = test.product.ctx.callbackCredentials();
  const seed = Number(process.env.FUZZ_SEED ?? 20261123);
  const run = await runCallbackFuzz({
    baseUrl: test.url, total: 1_000, seed, concurrency: 4, checkpoints: 1,
    keys: { token: credentials.token, aesKey: credentials.encodingAesKey, corpId: credentials.receiveId },
  });
  expect(run.failures, `seed ${seed}`).toEqual([]);
  expect(run.requests).toBe(1_000);
  // Every generator family was exercised.
  expect(Object.keys(run.families).sort()).toEqual(['bad ciphertext', 'binary body', 'hostile envelope', 'hostile event XML', 'malformed query', 'other method', 'oversized body', 'verification', 'wrong encoding', 'wrong signature']);
  const stored = await test.product.ctx.db.execute(sql`select count(*)::int as n from inbox_events`);
  expect((stored as unknown as { rows: { n: number }[] }).rows[0]!.n).toBe(0);
});
