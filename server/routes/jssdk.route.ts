import { randomBytes } from 'node:crypto';
import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { AppContext } from '../context.ts';
import { DomainError } from '../http/domain-error.ts';
import { requirePermission } from '../http/guard.ts';
import { jsapiSignature } from '../wecom/callback-crypto.ts';
import { isWecomApiError } from '../wecom/errors.ts';

export const query = z.object({ url: z.string().min(1).max(2048) });

/** The origins a page may be signed for: PUBLIC_URL's, and in sandbox also the one the browser used. */
function allowedOrigins(ctx: AppContext, req: Request): string[] {
  const origins: string[] = [];
  if (ctx.config.publicUrl) origins.push(new URL(ctx.config.publicUrl).origin);
  if (ctx.config.sandbox) origins.push(`${req.protocol}://${req.get('host')}`);
  return origins;
}

/**
 * `GET /api/jssdk/config?url=`: what the sidebar needs for `ww.register` (wecom-api.md §9): the corp
 * signature (`config`, corp jsapi_ticket) and the app signature (`agentConfig`, agent_config ticket),
 * both made here; tickets never leave the server. Only pages of this app's own origin are signed.
 */
export function jssdkRouter(ctx: AppContext): Router {
  const router = Router();
  router.get('/api/jssdk/config', requirePermission(ctx, 'member'), async (req: Request, res: Response) => {
    const raw = query.parse(req.query).url;
    let page: URL;
    try {
      page = new URL(raw);
    } catch {
      throw new DomainError('BAD_REQUEST', 'url: not an absolute URL');
    }
    if (!allowedOrigins(ctx, req).includes(page.origin)) {
      throw new DomainError('BAD_REQUEST', `url: only pages of ${allowedOrigins(ctx, req).join(' or ') || 'PUBLIC_URL'} are signed`);
    }
    // The signed URL is the page URL without the fragment (wecom-api.md §9), not URL-encoded again.
    const url = raw.split('#')[0]!;
    let tickets: [string, string];
    try {
      tickets = await Promise.all([ctx.wecom.getJsapiTicket(), ctx.wecom.getAgentConfigTicket()]);
    } catch (error) {
      if (isWecomApiError(error)) throw new DomainError('WECOM_ERROR', `WeCom refused the JS-SDK ticket (${error.errcode}); try again later`);
      throw error;
    }
    const timestamp = Math.floor(Date.now() / 1000);
    const nonceStr = randomBytes(12).toString('base64url');
    res.set('Cache-Control', 'no-store');
    res.json({
      corpId: ctx.config.wecom.corpId,
      agentId: ctx.config.wecom.agentId,
      timestamp,
      nonceStr,
      signature: jsapiSignature(tickets[0], nonceStr, timestamp, url),
      agentSignature: jsapiSignature(tickets[1], nonceStr, timestamp, url),
    });
  });
  return router;
}
