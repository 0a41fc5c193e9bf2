import { defineConfig } from 'vitest/config';

// `npm run test:fuzz`: the long fuzz runs (100,000 requests). `--expose-gc` lets the run measure the
// heap after a full collection at each checkpoint.
export default defineConfig({
  test: {
    include: ['test/fuzz/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 1_800_000,
    hookTimeout: 120_000,
    pool: 'forks',
    execArgv: ['--expose-gc'],
    fileParallelism: false,
  },
});
