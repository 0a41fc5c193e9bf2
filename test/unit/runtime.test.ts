import { Redis } from 'ioredis';
import pg from 'pg';
import { describe, expect, inject, it } from 'vitest';

describe('test runtime', () => {
  it('reaches the private Redis started for the run', async () => {
    const redis = new Redis(inject('redisUrl'), { maxRetriesPerRequest: 1 });
    await redis.set('runtime-check', 'ok');
    expect(await redis.get('runtime-check')).toBe('ok');
    await redis.quit();
  });

  it('reaches the private PostgreSQL started for the run', async () => {
    const client = new pg.Client({ connectionString: inject('postgresUrl') });
    await client.connect();
    const { rows } = await client.query<{ server_version: string }>('show server_version');
    expect(Number.parseInt(rows[0]!.server_version, 10)).toBeGreaterThanOrEqual(15);
    await client.end();
  });
});
