// Everything in front of the WeCom API handlers, in the order WeCom itself would apply it:
// record the call (for GET /sim/calls), injected faults, access_token checks (41001/40014/42001),
// and the per-corp per-API frequency limit (45009).
import express from 'express';
import type { Request, Response, NextFunction, Router } from 'express';
import { errorBody } from '../errors.ts';
import type { CallRecord, SimContext } from '../context.ts';
import { processDueTransfers } from '../transfer-engine.ts';

const SECRET_PARAMS = new Set(['access_token', 'corpsecret']);

function publicQuery(req: Request): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.query)) if (!SECRET_PARAMS.has(k) && typeof v === 'string') out[k] = v;
  return out;
}

/** '/cgi-bin/x', 'cgi-bin/x' and 'x' all name the API path '/cgi-bin/x'. */
export function normalizeApiPath(path: string): string {
  const trimmed = path.replace(/^\/+/, '').replace(/\?.*$/, '');
  return trimmed.startsWith('cgi-bin/') ? `/${trimmed}` : `/cgi-bin/${trimmed}`;
}

export function gateway(ctx: SimContext): Router {
  const router = express.Router();
  // Read the raw body so a malformed one can be answered with WeCom's 47001 instead of an HTML 400.
  router.use(express.text({ type: () => true, limit: '2mb' }));

  router.use((req: Request, res: Response, next: NextFunction) => {
    const path = `/cgi-bin${req.path}`;
    const record: CallRecord = { method: req.method, path, query: publicQuery(req), body: null, errcode: null, at: ctx.clock.now() };
    ctx.calls.push(record);
    const json = res.json.bind(res);
    res.json = (payload: unknown) => {
      const code = (payload as { errcode?: unknown } | null)?.errcode;
      record.errcode = typeof code === 'number' ? code : null;
      record.answeredAtMs = Date.now();
      return json(payload);
    };

    const raw = typeof req.body === 'string' ? req.body.trim() : '';
    if (req.method === 'POST') {
      if (raw === '') {
        req.body = {};
      } else {
        try {
          req.body = JSON.parse(raw);
        } catch {
          res.json(errorBody(47001));
          return;
        }
      }
      record.body = req.body;
    } else {
      req.body = {};
    }

    processDueTransfers(ctx);

    const fault = ctx.faults.find((f) => f.path === path && f.remaining > 0);
    if (fault) {
      fault.remaining--;
      if (fault.kind === 'timeout') {
        // Hold the reply past the client's deadline; then answer "system busy" (nothing was applied).
        const timer = setTimeout(() => {
          ctx.holds.delete(timer);
          if (!res.headersSent && !res.destroyed) res.json(errorBody(-1));
        }, fault.holdMs);
        ctx.holds.add(timer);
        res.on('close', () => {
          clearTimeout(timer);
          ctx.holds.delete(timer);
        });
        return;
      }
      res.json(errorBody(fault.kind));
      return;
    }

    let corpId: string;
    if (path === '/cgi-bin/gettoken') {
      corpId = typeof req.query.corpid === 'string' ? req.query.corpid : '';
    } else {
      const token = req.query.access_token;
      if (typeof token !== 'string' || token === '') return void res.json(errorBody(41001));
      const issued = ctx.tokens.get(token);
      if (!issued || issued.corpId !== ctx.corp.corpId || issued.secret !== ctx.corp.secret) {
        return void res.json(errorBody(40014));
      }
      if (issued.expiresAt <= ctx.clock.now()) return void res.json(errorBody(42001));
      corpId = issued.corpId;
    }

    const key = `${corpId}|${path}`;
    const minute = Math.floor(ctx.clock.nowMs() / 60_000);
    const window = ctx.rate.get(key);
    if (!window || window.windowStart !== minute) {
      ctx.rate.set(key, { windowStart: minute, count: 1 });
    } else if (++window.count > ctx.options.rateLimitPerMinute) {
      return void res.json(errorBody(45009));
    }
    next();
  });
  return router;
}
