import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import type { AppConfig } from './config.ts';
import type { AppContext } from './context.ts';
import { createApp } from './app.ts';
import { openDatabase, type OpenDatabase } from './db/database.ts';
import { settings } from './db/schema.ts';
import { createLogger, type Logger } from './logger.ts';
import { RateLimiter } from './http/rate-limit.ts';
import { ProductMetrics } from './observability/metrics.ts';
import { startPrivateRedis, type PrivateRedis } from './runtime/private-redis.ts';
import { sandboxConfig, sandboxCredentials } from './sandbox.ts';
import { requestFullSync } from './services/full-sync.service.ts';
import { ensureBuiltinRoles } from './services/roles.service.ts';
import { PolicyCache } from './services/tag-policy.service.ts';
import type { CallbackCredentials } from './wecom/callback-crypto.ts';
import { WecomClient, type WecomClientOptions } from './wecom/client.ts';
import { createQueues, redisConnection } from '../jobs/queues.ts';
import { startWorkers, type RunningWorkers } from '../jobs/workers.ts';
import { demoCompany, startSimulator, type RunningSimulator, type SimulatorOptions } from '../wecom-sim/index.ts';

export type Role = 'all' | 'server' | 'worker';

export interface StartOptions {
  config: AppConfig;
  role: Role;
  logger?: Logger;
  /** Tests inject a database (e.g. in-memory PGlite, or a fresh PostgreSQL database). */
  database?: OpenDatabase;
  /** Namespace of every Redis key (queues, token cache); tests use one per file. */
  redisPrefix?: string;
  host?: string;
  wecomClient?: Partial<WecomClientOptions>;
  simulator?: SimulatorOptions;
  /** Sandbox: queue a full sync once started (default true). */
  initialSync?: boolean;
  eventConcurrency?: number;
  sweepEveryMs?: number;
  /** Tests: answer callbacks with these credentials instead of the configured (or sandbox) ones. */
  callbackCredentials?: CallbackCredentials;
}

export interface RunningProduct {
  url: string;
  ctx: AppContext;
  simulator?: RunningSimulator;
  workers?: RunningWorkers;
  /** Graceful: stops taking requests and jobs, finishes what is in flight, releases everything. */
  stop(): Promise<void>;
}

/** Boots the product: the same path for `npm start`, the split roles, the tests and the benchmarks. */
export async function startProduct(options: StartOptions): Promise<RunningProduct> {
  let config = options.config;
  const logger = options.logger ?? createLogger(config.logLevel);
  const cleanups: (() => Promise<unknown>)[] = [];
  const cleanup = async (): Promise<void> => {
    for (const fn of cleanups.reverse()) await fn().catch((error: unknown) => logger.warn({ err: error }, 'error during shutdown'));
  };
  try {
    mkdirSync(config.dataDir, { recursive: true });
    let redisUrl = config.redisUrl;
    let privateRedis: PrivateRedis | undefined;
    if (!redisUrl) {
      privateRedis = await startPrivateRedis({ dir: join(config.dataDir, 'redis'), persistent: true });
      cleanups.push(() => privateRedis!.stop());
      redisUrl = privateRedis.url;
      logger.info({ port: privateRedis.port }, 'private Redis started');
    }
    const database = options.database ?? (await openDatabase(config.databaseUrl ? { url: config.databaseUrl } : { pgliteDir: join(config.dataDir, 'db') }));
    cleanups.push(() => database.close());
    // Built-in roles (admin, manager, rep, service) exist from the first start; admins' edits are kept.
    await ensureBuiltinRoles(database.db);

    let simulator: RunningSimulator | undefined;
    let credentials: ReturnType<typeof sandboxCredentials> | undefined;
    if (config.sandbox) {
      simulator = await startSimulator({ ...options.simulator, log: (line) => logger.debug({ component: 'simulator' }, line) });
      cleanups.push(() => simulator!.close());
      credentials = sandboxCredentials(config.dataDir);
      const company = demoCompany();
      config = sandboxConfig(config, credentials, { url: simulator.url, corpId: company.corpId ?? 'wwsimcorp0000000001', agentId: company.agentId ?? 1000002 });
    }

    const prefix = options.redisPrefix ?? 'wtg';
    const redis = redisConnection(redisUrl);
    redis.on('error', () => undefined);
    cleanups.push(async () => redis.disconnect());
    const queues = createQueues(redisUrl, prefix);
    cleanups.push(() => queues.close());
    const metrics = new ProductMetrics();
    metrics.watchState(database.db, queues);
    const wecom = new WecomClient({
      apiBase: config.wecom.apiBase, corpId: config.wecom.corpId, secret: config.wecom.agentSecret, agentId: config.wecom.agentId,
      redis, keyPrefix: `${prefix}:wecom:`, logger, onCall: (path, result, seconds) => metrics.wecomCall(path, result, seconds), ...options.wecomClient,
    });

    let workers: RunningWorkers | undefined;
    const ctx: AppContext = {
      config,
      db: database.db,
      databaseKind: database.kind,
      pingDatabase: () => database.ping(),
      redis,
      rateLimiter: new RateLimiter(redis, prefix, logger),
      queues,
      wecom,
      logger,
      metrics,
      policy: new PolicyCache(database.db, config.adminUserIds),
      callbackCredentials: () => options.callbackCredentials ?? ({ token: config.wecom.callbackToken, encodingAesKey: config.wecom.callbackAesKey, receiveId: config.wecom.corpId }),
      workers: { inProcess: options.role !== 'server', running: () => workers?.running() ?? false },
      ...(simulator ? { sandbox: { simulatorUrl: simulator.url } } : {}),
    };

    let server: Server | undefined;
    let url = '';
    if (options.role !== 'worker') {
      server = createServer(createApp(ctx));
      server.keepAliveTimeout = 5_000;
      await new Promise<void>((resolve, reject) => {
        server!.once('error', reject);
        server!.listen(config.port, options.host ?? '0.0.0.0', () => resolve());
      });
      const port = (server.address() as AddressInfo).port;
      url = `http://127.0.0.1:${port}`;
      cleanups.push(() => closeServer(server!));
    }

    if (options.role !== 'server') {
      // In one process the workers get their own PostgreSQL pool, so callback commits never wait
      // behind worker transactions (WeCom gives up after 5 s). PGlite has a single connection: fewer
      // concurrent event jobs keep a callback's wait short there.
      let workerDatabase = database;
      if (options.role === 'all' && database.kind === 'postgres' && config.databaseUrl && !options.database) {
        workerDatabase = await openDatabase({ url: config.databaseUrl }, { poolSize: 10 });
        cleanups.push(() => workerDatabase.close());
      }
      workers = await startWorkers({
        db: workerDatabase.db, policy: ctx.policy, wecom, queues, redis, redisUrl, prefix, logger, metrics, perApiPerMinute: config.wecomRateLimitPerMinute,
        adminUserIds: config.adminUserIds, dataDir: config.dataDir,
        eventConcurrency: options.eventConcurrency ?? (database.kind === 'pglite' ? 2 : undefined), sweepEveryMs: options.sweepEveryMs,
      });
      // Workers drain before the connections they use are closed.
      cleanups.push(() => workers!.close());
    }

    if (simulator && credentials) {
      // The demo company, with callbacks pointed at this server (the simulator verifies the URL first).
      await simulator.reset({ ...demoCompany(), secret: credentials.agentSecret, callback: { url: `${url}/wecom/callback`, token: credentials.callbackToken, aesKey: credentials.callbackAesKey } });
    }
    if (options.initialSync ?? true) await requestInitialSync(ctx, Boolean(simulator));

    return { url, ctx, simulator, workers, stop: cleanup };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

/** The first start imports everything; a sandbox start always does (the simulator starts fresh). */
async function requestInitialSync(ctx: AppContext, always: boolean): Promise<void> {
  const [done] = await ctx.db.select().from(settings).where(eq(settings.key, 'initial_sync_requested'));
  if (done && !always) return;
  const jobId = await requestFullSync(ctx, null);
  await ctx.db.insert(settings).values({ key: 'initial_sync_requested', value: { jobId } })
    .onConflictDoUpdate({ target: settings.key, set: { value: { jobId } } });
  ctx.logger.info({ jobId }, 'full sync queued');
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    // Idle keep-alive sockets would hold close() open; in-flight requests still finish.
    server.closeIdleConnections();
  });
}
