// Redis cache for WeCom credentials (access token, jsapi tickets) with single-flight refresh.
//
// Within a process, concurrent readers of one key share one promise. Across processes, a short Redis
// lock (SET NX PX) lets exactly one process call WeCom while the others poll for the cached value.
// A configuration failure (wrong secret / corp id) is remembered for a while, so neither this process
// nor any other keeps calling gettoken with a bad secret: WeCom bans the server's IP for that.

import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { LOCK_WAIT_ERRCODE, WecomApiError, describeErrcode, isConfigError } from './errors.ts';
import type { WecomErrorKind } from './errors.ts';

export interface FetchedCredential {
  value: string;
  /** Lifetime in seconds as WeCom returned it (`expires_in`). */
  expiresIn: number;
}

export interface TokenCacheOptions {
  redis: Redis;
  /** How long a refresh lock lives if its holder dies; must exceed one fetch. */
  lockTtlMs: number;
  /** Delay between polls while another process refreshes. */
  pollMs?: number;
  /** How long a configuration failure blocks further fetches (all processes). */
  configErrorCooldownMs?: number;
}

const RELEASE_IF_OWNER = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0`;

/** Seconds kept in reserve before WeCom's expiry, so a token is never used in its last moments. */
export function safetyMarginSeconds(expiresIn: number): number {
  return Math.min(300, Math.floor(expiresIn / 10));
}

export class TokenCache {
  private readonly redis: Redis;
  private readonly lockTtlMs: number;
  private readonly pollMs: number;
  private readonly configErrorCooldownMs: number;
  private readonly inflight = new Map<string, Promise<string>>();

  constructor(options: TokenCacheOptions) {
    this.redis = options.redis;
    this.lockTtlMs = options.lockTtlMs;
    this.pollMs = options.pollMs ?? 50;
    this.configErrorCooldownMs = options.configErrorCooldownMs ?? 60_000;
  }

  /**
   * The cached value under `key`, or a fresh one from `fetch` (called by at most one caller in this
   * process and, through the Redis lock, in all processes). `path` names the API in errors.
   */
  get(key: string, path: string, fetch: () => Promise<FetchedCredential>): Promise<string> {
    let pending = this.inflight.get(key);
    if (!pending) {
      pending = this.load(key, path, fetch).finally(() => this.inflight.delete(key));
      this.inflight.set(key, pending);
    }
    return pending;
  }

  /** Drops `staleValue` if it is still the cached one (a newer value stored meanwhile is kept). */
  async invalidate(key: string, staleValue: string): Promise<void> {
    await this.redis.eval(RELEASE_IF_OWNER, 1, key, staleValue);
  }

  private async load(key: string, path: string, fetch: () => Promise<FetchedCredential>): Promise<string> {
    const lockKey = `${key}:lock`;
    const failedKey = `${key}:failed`;
    // A holder that died leaves its lock for lockTtlMs; after that a waiter takes over, well before this.
    const deadline = Date.now() + this.lockTtlMs + 2_000;
    for (;;) {
      const [cached, failed] = await this.redis.mget(key, failedKey);
      if (cached) return cached;
      if (failed) throw rememberedFailure(failed, path);

      const lockId = randomBytes(16).toString('hex');
      const acquired = await this.redis.set(lockKey, lockId, 'PX', this.lockTtlMs, 'NX');
      if (acquired === 'OK') {
        try {
          return await this.refreshHoldingLock(key, failedKey, path, fetch);
        } finally {
          await this.redis.eval(RELEASE_IF_OWNER, 1, lockKey, lockId);
        }
      }
      if (Date.now() >= deadline) {
        throw new WecomApiError({
          errcode: LOCK_WAIT_ERRCODE,
          errmsg: '',
          path,
          kind: 'transient',
          text: 'timed out waiting for another process to refresh the WeCom credential: retry later',
        });
      }
      await sleep(this.pollMs);
    }
  }

  private async refreshHoldingLock(
    key: string,
    failedKey: string,
    path: string,
    fetch: () => Promise<FetchedCredential>,
  ): Promise<string> {
    // Another process may have stored a value between our read and our lock.
    const [cached, failed] = await this.redis.mget(key, failedKey);
    if (cached) return cached;
    if (failed) throw rememberedFailure(failed, path);
    let fresh: FetchedCredential;
    try {
      fresh = await fetch();
    } catch (err) {
      if (isConfigError(err)) {
        const e = err as WecomApiError;
        const record: FailureRecord = { errcode: e.errcode, errmsg: e.errmsg, path: e.path, kind: e.kind };
        await this.redis.set(failedKey, JSON.stringify(record), 'PX', this.configErrorCooldownMs);
      }
      throw err;
    }
    const ttlSeconds = fresh.expiresIn - safetyMarginSeconds(fresh.expiresIn);
    await this.redis.set(key, fresh.value, 'PX', Math.max(1_000, ttlSeconds * 1_000));
    return fresh.value;
  }
}

interface FailureRecord {
  errcode: number;
  errmsg: string;
  path: string;
  kind: WecomErrorKind;
}

function rememberedFailure(raw: string, fallbackPath: string): WecomApiError {
  let record: FailureRecord;
  try {
    record = JSON.parse(raw) as FailureRecord;
  } catch {
    record = { errcode: 40001, errmsg: '', path: fallbackPath, kind: 'config' };
  }
  return new WecomApiError({
    errcode: record.errcode,
    errmsg: record.errmsg,
    path: record.path || fallbackPath,
    kind: record.kind,
    text: `${describeErrcode(record.errcode).text} (remembered from a recent attempt: WeCom was not called again)`,
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
