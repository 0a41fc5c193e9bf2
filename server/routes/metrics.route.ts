import { createHash, timingSafeEqual } from 'node:crypto';
import { Router, type NextFunction, type Request, type Response } from 'express';
import type { AppContext } from '../context.ts';
import { DomainError } from '../http/domain-error.ts';
import { adminOrOwnGuard, requirePermission } from '../http/guard.ts';

const digest = (value: string): Buffer => createHash('sha256').update(value).digest();

/**
 * `GET /metrics` in Prometheus' text format, for a scraper holding METRICS_TOKEN (as a bearer token)
 * or an admin's session. A request with a bearer token is decided by the token alone; one without
 * goes to the admin check (401 anonymous, 403 non-admins).
 */
export function metricsRouter(ctx: AppContext): Router {
  const router = Router();
  const expected = ctx.config.metricsToken ? digest(ctx.config.metricsToken) : undefined;

  const serve = async (_req: Request, res: Response) => {
    res.set('Cache-Control', 'no-store').type(ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics());
  };

  const bearerToken = adminOrOwnGuard((req: Request, _res: Response, next: NextFunction) => {
    const header = req.get('authorization');
    if (!header?.startsWith('Bearer ')) return next('route');
    // Hashes of equal length, compared in constant time: the token's length does not leak either.
    if (!expected) throw new DomainError('UNAUTHENTICATED', 'METRICS_TOKEN is not set on this server: set it to scrape with a bearer token, or use an admin session');
    if (!timingSafeEqual(digest(header.slice('Bearer '.length).trim()), expected)) throw new DomainError('UNAUTHENTICATED', 'wrong bearer token for /metrics: send Authorization: Bearer <METRICS_TOKEN>');
    next();
  });

  router.get('/metrics', bearerToken, serve);
  router.get('/metrics', requirePermission(ctx, 'admin'), serve);
  return router;
}
