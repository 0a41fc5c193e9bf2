// Public entry point of the WeCom simulator. Other code (the server's sandbox mode and its tests)
// depends on exactly these exports.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CompanyFixture, ResetResult } from './fixture.ts';
import { resetCorp } from './fixture.ts';
import { createApp, createContext } from './simulator.ts';
import { processDueTransfers } from './transfer-engine.ts';

export { demoCompany } from './demo-company.ts';
export type { CompanyFixture, ResetResult };

export interface SimulatorOptions {
  /** 0 = any free port (default 0). */
  port?: number;
  /** Default '127.0.0.1'. */
  host?: string;
  /** access_token lifetime in seconds, default 7200. */
  tokenTtlSeconds?: number;
  /** Per corp per API path per minute, default 10000 (45009 when exceeded). */
  rateLimitPerMinute?: number;
  /** Deadline of one callback attempt, default 5000 (WeCom's). */
  callbackTimeoutMs?: number;
  /** Delays before each retry; default [1000, 2000, 4000] = up to 3 retries. */
  callbackRetryDelaysMs?: number[];
  /** Applied like POST /sim/reset at start. */
  seed?: CompanyFixture;
  /** Optional log sink; lines never contain secrets. */
  log?: (line: string) => void;
}

export interface RunningSimulator {
  /** e.g. http://127.0.0.1:41234 */
  url: string;
  /** Same as POST /sim/reset. */
  reset(fixture: CompanyFixture): Promise<ResetResult>;
  /** Stops listening and cancels pending callback retries. */
  close(): Promise<void>;
  /** Resolves when no callback delivery is in flight or scheduled. */
  idle(): Promise<void>;
}

/** How often due 24 h takeovers are completed without any request arriving (real-time demos). */
const SWEEP_MS = 30_000;

export async function startSimulator(options: SimulatorOptions = {}): Promise<RunningSimulator> {
  const ctx = createContext({
    tokenTtlSeconds: options.tokenTtlSeconds ?? 7200,
    rateLimitPerMinute: options.rateLimitPerMinute ?? 10_000,
    callbackTimeoutMs: options.callbackTimeoutMs ?? 5000,
    callbackRetryDelaysMs: options.callbackRetryDelaysMs ?? [1000, 2000, 4000],
    log: options.log ?? (() => {}),
  });
  const server = createServer(createApp(ctx));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  ctx.baseUrl = `http://${host}:${address.port}`;
  const sweep = setInterval(() => processDueTransfers(ctx), SWEEP_MS);
  sweep.unref();

  if (options.seed) {
    try {
      await resetCorp(ctx, options.seed);
    } catch (error) {
      // A bad seed must not leave a listening server behind.
      clearInterval(sweep);
      ctx.callbacks.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      throw error;
    }
  }

  let closed: Promise<void> | undefined;
  return {
    url: ctx.baseUrl,
    reset: (fixture) => resetCorp(ctx, fixture),
    idle: () => ctx.callbacks.idle(),
    close() {
      closed ??= new Promise<void>((resolve) => {
        clearInterval(sweep);
        ctx.callbacks.close();
        for (const timer of ctx.holds) clearTimeout(timer);
        ctx.holds.clear();
        server.close(() => resolve());
        // Held "timeout" replies and keep-alive sockets would otherwise keep close() waiting.
        server.closeAllConnections();
      });
      return closed;
    },
  };
}
