import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Logger } from '../logger.ts';
import { requestContext } from '../observability/request-context.ts';

/** What a caller may send as `X-Request-Id`; anything else is replaced by a fresh id. */
const INCOMING_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
/** Probes and scrapes: logged at debug so they do not drown the access log. */
const QUIET_PATHS = new Set(['/healthz', '/metrics']);

/** Fields a route adds to its request's access log line (e.g. the callback's inbox id). */
export function addLogFields(res: Response, fields: Record<string, unknown>): void {
  res.locals.logFields = { ...(res.locals.logFields as Record<string, unknown> | undefined), ...fields };
}

/**
 * Gives every request an id (the caller's `X-Request-Id` when it is a plain token, else a UUID),
 * answers it back in `X-Request-Id`, runs the rest of the request inside its request context, and
 * writes one access log line when the answer is sent: method, path (never the query string: it carries
 * signatures and OAuth codes), status, duration.
 */
export function requestIdMiddleware(logger: Logger): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const incoming = req.get('x-request-id');
    const requestId = incoming && INCOMING_REQUEST_ID.test(incoming) ? incoming : randomUUID();
    res.locals.requestId = requestId;
    res.setHeader('X-Request-Id', requestId);
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const fields = {
        requestId, method: req.method, path: req.path, status: res.statusCode,
        ms: Math.round(Number(process.hrtime.bigint() - started) / 1e4) / 100,
        ...(res.locals.logFields as Record<string, unknown> | undefined),
      };
      if (res.statusCode >= 500) logger.error(fields, 'request failed');
      else if (QUIET_PATHS.has(req.path)) logger.debug(fields, 'request completed');
      else logger.info(fields, 'request completed');
    });
    requestContext.run({ requestId }, next);
  };
}

/**
 * Body parsers call `next` from the socket's stream events, outside the request's async context:
 * this re-enters it, so handlers after a body parser still log (and enqueue jobs) with the request id.
 */
export const reenterRequestContext: RequestHandler = (_req, res, next) => {
  const requestId = res.locals.requestId as string | undefined;
  if (!requestId) return next();
  requestContext.run({ requestId }, next);
};
