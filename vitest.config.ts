import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'wecom-sim/**/*.test.ts', 'server/**/*.test.ts', 'jobs/**/*.test.ts'],
    // The fault suite and the long fuzz run have their own commands (npm run test:faults, test:fuzz).
    exclude: ['**/node_modules/**', 'test/faults/**', 'test/fuzz/**'],
    // Redis and PostgreSQL are real processes started once for the whole run (see test/global-setup.ts).
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Two projects: everything above in node, and the web app's component tests in jsdom (sidebar/vitest.config.ts).
    projects: [{ extends: true, test: { name: 'node' } }, 'sidebar/vitest.config.ts'],
  },
});
