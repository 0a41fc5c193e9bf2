// Runs only the simulator's tests, without the project's global setup (Redis/PostgreSQL), which
// the simulator does not need: `npx vitest run wecom-sim --config wecom-sim/vitest.config.ts`.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['wecom-sim/**/*.test.ts'],
    testTimeout: 30_000,
    pool: 'forks',
  },
});
