import { Router, type Request, type Response } from 'express';
import type { AppContext } from '../context.ts';
import { requirePermission } from '../http/guard.ts';

const withTimeout = <T>(promise: Promise<T>, ms: number): Promise<T> =>
  Promise.race([promise, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms).unref())]);

/** `GET /healthz`: 200 when the database, Redis and the workers are up; 503 naming what is down. */
export function healthRouter(ctx: AppContext): Router {
  const router = Router();
  router.get('/healthz', requirePermission(ctx, 'public'), async (_req: Request, res: Response) => {
    const check = async (run: () => Promise<unknown>): Promise<{ ok: boolean; error?: string }> => {
      try {
        await withTimeout(run(), 2_000);
        return { ok: true };
      } catch (error) {
        return { ok: false, error: (error as Error).message.slice(0, 200) };
      }
    };
    const [database, redis] = await Promise.all([check(() => ctx.pingDatabase()), check(() => ctx.queues.producer.ping())]);
    const workers = ctx.workers.inProcess ? { ok: ctx.workers.running(), inProcess: true } : { ok: true, inProcess: false };
    const failing = [database.ok ? null : 'database', redis.ok ? null : 'redis', workers.ok ? null : 'workers'].filter(Boolean);
    res.status(failing.length ? 503 : 200).json({
      ok: failing.length === 0,
      ...(failing.length ? { failing } : {}),
      database: { ...database, kind: ctx.databaseKind },
      redis,
      workers,
      ...(ctx.sandbox ? { sandbox: { simulatorUrl: ctx.sandbox.simulatorUrl } } : {}),
    });
  });
  return router;
}
