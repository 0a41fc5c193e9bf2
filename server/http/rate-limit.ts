import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Redis } from 'ioredis';
import type { Logger } from '../logger.ts';
import { DomainError } from './domain-error.ts';

/** One fixed window per key: the count and how long until the window ends. */
export interface WindowCount {
  count: number;
  retryAfterSeconds: number;
}

// INCR and the window's expiry in one step, so every process sharing Redis counts in the same window.
const INCREMENT = `local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
return {n, ttl}`;
const PEEK = `local n = tonumber(redis.call('GET', KEYS[1]) or '0')
local ttl = redis.call('PTTL', KEYS[1])
return {n, ttl}`;

/** A Redis command that does not answer this fast is skipped: a limiter must never hold a request up. */
const REDIS_WAIT_MS = 250;

/**
 * Per-source request counting in Redis (fixed windows), shared by every server process. When Redis
 * is down or slow the limiter lets requests through: callbacks must still reach the inbox, which
 * commits without Redis, and a login must not fail because a counter is unavailable.
 */
export class RateLimiter {
  constructor(private readonly redis: Redis, private readonly prefix: string, private readonly logger: Logger) {}

  /** Counts one request in `key`'s window; undefined when Redis could not answer. */
  increment(key: string, windowMs: number): Promise<WindowCount | undefined> {
    return this.run(INCREMENT, key, windowMs);
  }

  /** Reads `key`'s window without counting. */
  peek(key: string): Promise<WindowCount | undefined> {
    return this.run(PEEK, key, 0);
  }

  private async run(script: string, key: string, windowMs: number): Promise<WindowCount | undefined> {
    if (this.redis.status !== 'ready') return undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const reply = await Promise.race([
        this.redis.eval(script, 1, `${this.prefix}:rate:${key}`, String(windowMs)) as Promise<[number, number]>,
        new Promise<undefined>((resolve) => { timer = setTimeout(() => resolve(undefined), REDIS_WAIT_MS); }),
      ]);
      if (!reply) return undefined;
      const [count, ttlMs] = reply;
      return { count, retryAfterSeconds: Math.max(1, Math.ceil((ttlMs > 0 ? ttlMs : windowMs) / 1000)) };
    } catch (error) {
      this.logger.warn({ err: error }, 'rate limiter could not reach Redis; request let through');
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** The address a request came from (X-Forwarded-For only from the trusted proxy, see app.ts). */
export function sourceAddress(req: Request): string {
  return req.ip ?? req.socket.remoteAddress ?? 'unknown';
}

/**
 * Limits requests per source address: `limit` per minute, 0 = no limit. Over it: 429 with
 * Retry-After and a message saying when to try again.
 */
export function limitPerAddress(limiter: RateLimiter, name: string, limit: number, what: string): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction) => {
    if (limit <= 0) return next();
    const window = await limiter.increment(`${name}:${sourceAddress(req)}`, 60_000);
    if (window && window.count > limit) {
      res.setHeader('Retry-After', String(window.retryAfterSeconds));
      throw new DomainError('RATE_LIMITED', `too many ${what} from your address (at most ${limit} a minute): try again in ${window.retryAfterSeconds} seconds`, { retryAfterSeconds: window.retryAfterSeconds });
    }
    next();
  };
}
