import type { Redis } from 'ioredis';
import type { RateLimiter } from './http/rate-limit.ts';
import type { AppConfig } from './config.ts';
import type { Database } from './db/database.ts';
import type { Logger } from './logger.ts';
import type { WecomClient } from './wecom/client.ts';
import type { CallbackCredentials } from './wecom/callback-crypto.ts';
import type { Queues } from '../jobs/queues.ts';
import type { PolicyCache } from './services/tag-policy.service.ts';
import type { ProductMetrics } from './observability/metrics.ts';

/** What request handlers need, built once at boot (server/boot.ts). */
export interface AppContext {
  config: AppConfig;
  db: Database;
  databaseKind: 'pglite' | 'postgres';
  pingDatabase(): Promise<void>;
  redis: Redis;
  /** Per-source request counters in Redis (login and callback rate limits). */
  rateLimiter: RateLimiter;
  queues: Queues;
  wecom: WecomClient;
  logger: Logger;
  /** Prometheus metrics of this process (GET /metrics). */
  metrics: ProductMetrics;
  /** The tag policy, cached per process and rebuilt when the policy version moves. */
  policy: PolicyCache;
  callbackCredentials(): CallbackCredentials;
  /** Whether this process runs workers, and whether they are up (for /healthz). */
  workers: { inProcess: boolean; running(): boolean };
  sandbox?: { simulatorUrl: string };
}
