// gettoken, JS-SDK tickets and getcallbackip (wecom-api.md §1, §2, §9).
import express from 'express';
import type { Router } from 'express';
import { randomBytes } from 'node:crypto';
import { fail } from '../errors.ts';
import type { SimContext } from '../context.ts';
import { queryString, wecom } from './common.ts';

export function authTokensRouter(ctx: SimContext): Router {
  const router = express.Router();

  router.get('/gettoken', wecom(ctx, (req) => {
    const corpid = queryString(req, 'corpid');
    const secret = queryString(req, 'corpsecret');
    if (!corpid) fail(41002);
    if (!secret) fail(41004);
    if (corpid !== ctx.corp.corpId) fail(40013);
    if (secret !== ctx.corp.secret) fail(40001);
    const now = ctx.clock.now();
    // Within its lifetime WeCom hands out the same token again; a new one only after expiry.
    for (const issued of ctx.tokens.values()) {
      if (issued.corpId === corpid && issued.secret === secret && issued.expiresAt > now) {
        return { access_token: issued.token, expires_in: issued.expiresAt - now };
      }
    }
    const token = randomBytes(48).toString('base64url');
    ctx.tokens.set(token, { token, corpId: corpid, secret, expiresAt: now + ctx.options.tokenTtlSeconds });
    return { access_token: token, expires_in: ctx.options.tokenTtlSeconds };
  }));

  /** Same-ticket-within-lifetime, like tokens; one ticket per kind. */
  function ticket(kind: string): { ticket: string; expires_in: number } {
    const now = ctx.clock.now();
    const key = `${ctx.corp.corpId}|${kind}`;
    const current = ctx.tickets.get(key);
    if (current && current.expiresAt > now) return { ticket: current.ticket, expires_in: current.expiresAt - now };
    const fresh = { ticket: randomBytes(32).toString('base64url'), expiresAt: now + 7200 };
    ctx.tickets.set(key, fresh);
    return { ticket: fresh.ticket, expires_in: 7200 };
  }

  router.get('/get_jsapi_ticket', wecom(ctx, () => ticket('corp')));

  router.get('/ticket/get', wecom(ctx, (req) => {
    if (queryString(req, 'type') !== 'agent_config') fail(40058, 'type must be agent_config');
    return ticket('agent_config');
  }));

  router.get('/getcallbackip', wecom(ctx, () => ({ ip_list: ['127.0.0.1'] })));

  return router;
}
