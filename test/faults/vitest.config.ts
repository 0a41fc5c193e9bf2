import { defineConfig } from 'vitest/config';

// `npm run test:faults`: the product as separate processes while Redis, PostgreSQL, a worker or WeCom
// fail. Each file starts its own Redis and PostgreSQL (the tests stop them), so no global setup; files
// run one at a time because each keeps several processes busy on a small machine.
export default defineConfig({
  test: {
    include: ['test/faults/**/*.test.ts'],
    testTimeout: 240_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
