import express, { Router, type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import type { Logger } from '../logger.ts';
import type { Database } from '../db/database.ts';
import type { Queues } from '../../jobs/queues.ts';
import { signedByWecom } from '../http/guard.ts';
import { sourceAddress, type RateLimiter } from '../http/rate-limit.ts';
import { CallbackCryptoError, decryptMessage, verifySignature, type CallbackCredentials } from '../wecom/callback-crypto.ts';
import { CallbackFormatError, envelopeSchema, parseEvent, parseXmlRecord } from '../wecom/callback-events.ts';
import { enqueueResync, InboxWriter, type CommitResult } from './inbox.ts';
import type { CallbackOutcome, ProductMetrics } from '../observability/metrics.ts';
import { addLogFields, reenterRequestContext } from '../http/request-id.ts';

export interface CallbackRouteDeps {
  db: Database;
  queues: Queues;
  logger: Logger;
  credentials: () => CallbackCredentials;
  /** Per source address and minute (0 = no limit): all callbacks, and callbacks that were rejected. */
  rateLimit?: { limiter: RateLimiter; perMinute: number; rejectedPerMinute: number };
  metrics: ProductMetrics;
}

export const signedQuery = z.object({
  msg_signature: z.string().regex(/^[0-9a-fA-F]{40}$/, 'msg_signature must be 40 hex characters'),
  timestamp: z.string().regex(/^\d{1,12}$/, 'timestamp must be digits'),
  nonce: z.string().min(1).max(64),
});

/** URL verification: the signed query plus the encrypted echo string. */
export const verificationQuery = signedQuery.extend({ echostr: z.string().min(1).max(2048) });

type Rejection = { status: number; reason: string };

const OUTCOME_OF_STATUS: Record<number, CallbackOutcome> = { 400: 'bad_request', 401: 'unauthorized', 413: 'too_large' };

function rejectAndCount(res: Response, logger: Logger, rejection: Rejection, metrics: ProductMetrics, limits?: CallbackRouteDeps['rateLimit']): void {
  // The reason is logged; the answer says only what kind of failure it was (no keys, no plaintext).
  logger.warn({ status: rejection.status, reason: rejection.reason }, 'callback rejected');
  metrics.callback(OUTCOME_OF_STATUS[rejection.status] ?? 'bad_request');
  // WeCom's own messages are never rejected: many rejections from one address are someone else probing.
  if (limits && limits.rejectedPerMinute > 0) void limits.limiter.increment(`callback-rejected:${sourceAddress(res.req)}`, 60_000);
  res.status(rejection.status).type('text/plain').send(rejection.status === 413 ? 'payload too large' : rejection.status === 401 ? 'unauthorized' : 'bad request');
}

function cryptoRejection(error: unknown): Rejection | undefined {
  if (error instanceof CallbackCryptoError) return { status: 401, reason: `${error.reason}: ${error.message}` };
  if (error instanceof CallbackFormatError) return { status: 400, reason: error.message };
  return undefined;
}

/**
 * `GET /wecom/callback` (URL verification) and `POST /wecom/callback` (events). The POST path never
 * calls WeCom: verify → decrypt → parse → validate → commit to the inbox → 200, then enqueue.
 * Timestamps are not checked for age: WeCom promises no clock agreement.
 */
export function callbackRouter(deps: CallbackRouteDeps): Router {
  const router = Router();
  const inbox = new InboxWriter(deps.db, deps.queues, deps.logger);
  const { logger, metrics } = deps;
  const limits = deps.rateLimit;
  const reject = (res: Response, _logger: Logger, rejection: Rejection, _metrics?: ProductMetrics): void => rejectAndCount(res, logger, rejection, metrics, limits);

  /**
   * Per source address: a generous limit on all callbacks (WeCom delivers from a few addresses, in
   * bursts) and a tight one on rejected callbacks. Redis down: let through (see RateLimiter).
   */
  const limitBySource = async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    if (!limits) return next();
    const address = sourceAddress(req);
    const [all, rejected] = await Promise.all([
      limits.perMinute > 0 ? limits.limiter.increment(`callback:${address}`, 60_000) : undefined,
      limits.rejectedPerMinute > 0 ? limits.limiter.peek(`callback-rejected:${address}`) : undefined,
    ]);
    const over = all && all.count > limits.perMinute ? all : rejected && rejected.count >= limits.rejectedPerMinute ? rejected : undefined;
    if (!over) return next();
    logger.warn({ address, limit: over === all ? 'all' : 'rejected' }, 'callback rate limit reached');
    res.status(429).set('Retry-After', String(over.retryAfterSeconds)).type('text/plain')
      .send(`too many requests from this address: try again in ${over.retryAfterSeconds} seconds`);
  };

  router.get('/wecom/callback', signedByWecom(), limitBySource, (req: Request, res: Response) => {
    const query = verificationQuery.safeParse(req.query);
    if (!query.success) return reject(res, logger, { status: 400, reason: `verification query: ${query.error.issues[0]?.message}` });
    const { msg_signature, timestamp, nonce, echostr } = query.data;
    try {
      const credentials = deps.credentials();
      verifySignature(credentials, timestamp, nonce, echostr, msg_signature);
      const plaintext = decryptMessage(credentials, echostr);
      metrics.callback('url_verified');
      res.status(200).type('text/plain').send(plaintext);
    } catch (error) {
      const rejection = cryptoRejection(error);
      if (!rejection) throw error;
      reject(res, logger, rejection, metrics);
    }
  });

  // The body is read here rather than by the app's error handler so that an oversized or unreadable
  // body is answered and logged like every other rejection.
  const readBody = express.text({ type: () => true, limit: '64kb' });
  const body = (req: Request, res: Response, next: NextFunction): void => {
    readBody(req, res, (error?: unknown) => {
      if (!error) return next();
      const { status, type } = error as { status?: number; type?: string };
      if (status === 413) return reject(res, logger, { status: 413, reason: 'body larger than 64 KB' }, metrics);
      if (status && status >= 400 && status < 500) return reject(res, logger, { status: 400, reason: `body could not be read (${type ?? status})` }, metrics);
      next(error);
    });
  };

  router.post('/wecom/callback', signedByWecom(), limitBySource, body, reenterRequestContext, async (req: Request, res: Response) => {
    const query = signedQuery.safeParse(req.query);
    if (!query.success) return reject(res, logger, { status: 400, reason: `event query: ${query.error.issues[0]?.message}` }, metrics);
    if (typeof req.body !== 'string' || req.body.length === 0) return reject(res, logger, { status: 400, reason: 'empty body' }, metrics);
    const { msg_signature, timestamp, nonce } = query.data;
    let fields: Record<string, string>;
    let parsed: ReturnType<typeof parseEvent>;
    try {
      const envelope = envelopeSchema.safeParse(parseXmlRecord(req.body));
      if (!envelope.success) throw new CallbackFormatError(`envelope: ${envelope.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
      const credentials = deps.credentials();
      verifySignature(credentials, timestamp, nonce, envelope.data.Encrypt, msg_signature);
      const record = parseXmlRecord(decryptMessage(credentials, envelope.data.Encrypt));
      parsed = parseEvent(record);
      fields = { ...record } as Record<string, string>;
    } catch (error) {
      const rejection = cryptoRejection(error);
      if (!rejection) throw error;
      return reject(res, logger, rejection, metrics);
    }
    let committed: CommitResult;
    try {
      committed = await inbox.commit(parsed, fields, res.locals.requestId as string | undefined);
    } catch (error) {
      // Not committed: a 503 makes WeCom deliver it again.
      metrics.callback('unavailable');
      logger.error({ err: error }, 'callback event could not be committed; answering 503 so WeCom retries');
      res.status(503).type('text/plain').send('temporarily unavailable');
      return;
    }
    const outcome: CallbackOutcome = committed.duplicate ? 'duplicate' : parsed.kind === 'unhandled' ? 'unhandled' : 'stored';
    metrics.callback(outcome);
    addLogFields(res, { inboxId: committed.id, callback: outcome, event: fields.Event, changeType: fields.ChangeType });
    res.status(200).type('text/plain').send('');
    if (committed.duplicate) {
      logger.info({ inboxId: committed.id }, 'duplicate callback delivery acknowledged');
      if (committed.status === 'done' && fields.ChangeType === 'edit_external_contact') void enqueueResync(deps.queues, committed.id, logger);
    } else if (parsed.kind === 'unhandled') {
      logger.info({ inboxId: committed.id, event: fields.Event, changeType: fields.ChangeType }, 'callback event of an unhandled type stored as ignored');
    }
  });

  return router;
}
