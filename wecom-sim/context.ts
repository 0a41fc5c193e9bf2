// What every router gets: the current corp, the clock, the callback dispatcher and the options.
// The corp is swapped by a reset; the clock, the tokens and the dispatcher survive it.
import type { CallbackDispatcher } from './callbacks.ts';
import type { CorpState, SimClock } from './state.ts';

export interface ResolvedOptions {
  tokenTtlSeconds: number;
  rateLimitPerMinute: number;
  callbackTimeoutMs: number;
  callbackRetryDelaysMs: number[];
  log: (line: string) => void;
}

export interface CallRecord {
  method: string;
  path: string;
  /** Query without access_token/corpsecret: the call log never holds secrets. */
  query: Record<string, string>;
  body: unknown;
  errcode: number | null;
  at: number;
  /** Wall-clock milliseconds when the simulator answered (its state already changed), for latency measurements. */
  answeredAtMs?: number;
}

export interface Fault {
  path: string;
  kind: number | 'timeout';
  remaining: number;
  holdMs: number;
}

export interface IssuedToken {
  token: string;
  corpId: string;
  secret: string;
  expiresAt: number;
}

export interface SimContext {
  corp: CorpState;
  clock: SimClock;
  callbacks: CallbackDispatcher;
  options: ResolvedOptions;
  tokens: Map<string, IssuedToken>;
  tickets: Map<string, { ticket: string; expiresAt: number }>;
  calls: CallRecord[];
  faults: Fault[];
  /** Per corp per API path: the current one-minute window and its count. */
  rate: Map<string, { windowStart: number; count: number }>;
  /** The simulator's base URL, known once it listens (used for qr_code URLs). */
  baseUrl: string;
  /** Timers holding replies for "timeout" faults, released on close. */
  holds: Set<NodeJS.Timeout>;
}
