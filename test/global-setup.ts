import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startPrivatePostgres } from '../server/runtime/private-postgres.ts';
import { startPrivateRedis } from '../server/runtime/private-redis.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
    postgresUrl: string;
  }
}

/** One real Redis and one real PostgreSQL for the whole test run, each on a private port. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const root = mkdtempSync(join(tmpdir(), 'wecom-test-'));
  chmodSync(root, 0o755); // PostgreSQL runs as its own user when the tests run as root
  const redis = await startPrivateRedis({ dir: join(root, 'redis') });
  const postgres = await startPrivatePostgres({ dir: join(root, 'postgres') });
  project.provide('redisUrl', redis.url);
  project.provide('postgresUrl', postgres.url);
  return async () => {
    await Promise.allSettled([redis.stop(), postgres.stop()]);
    rmSync(root, { recursive: true, force: true });
  };
}
