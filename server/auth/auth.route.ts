import { randomBytes } from 'node:crypto';
import { Router, type Request, type Response } from 'express';
import { and, eq, gt, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { AppContext } from '../context.ts';
import { oauthStates } from '../db/schema.ts';
import { DomainError } from '../http/domain-error.ts';
import { reason } from '../http/reason.ts';
import { requirePermission } from '../http/guard.ts';
import { limitPerAddress } from '../http/rate-limit.ts';
import { audit } from '../services/audit.service.ts';
import { isWecomApiError } from '../wecom/errors.ts';
import { admitMember } from './login.service.ts';
import { cookieOptions, csrfMatches, endSession, hashOf, isSecureRequest, loadSession, readCookie, startSession } from './session.ts';

const OAUTH_COOKIE = 'wtg_oauth';
const OAUTH_TTL_MS = 10 * 60_000;
const WECOM_AUTHORIZE_URL = 'https://open.weixin.qq.com/connect/oauth2/authorize';

/** Only same-site relative paths may be returned to after login (no open redirect). */
export const oauthCallbackQuery = z.object({ code: z.string().min(1).max(512), state: z.string().min(1).max(128) });
export const devLoginBody = z.object({ userid: z.string().min(1).max(64) });
export const returnToSchema = z.string().max(512).regex(/^\/(?!\/)[\w\-./?=&%#]*$/).catch('/sidebar/');

/** Admits the member and audits the login, refused or allowed (the audit log records logins). */
async function admitAndAudit(ctx: AppContext, userid: string, method: 'wecom_oauth' | 'dev_login'): Promise<void> {
  try {
    await admitMember(ctx, userid);
  } catch (error) {
    if (error instanceof DomainError) {
      await ctx.db.transaction((tx) => audit(tx, { actor: userid, action: 'auth.login', subjectType: 'member', subjectId: userid, outcome: 'denied', details: { method, code: error.code } }));
    }
    throw error;
  }
  await ctx.db.transaction((tx) => audit(tx, { actor: userid, action: 'auth.login', subjectType: 'member', subjectId: userid, outcome: 'allowed', details: { method } }));
}

/** The return path with `?loginError=<code>` before its fragment (the pages use hash routing). */
export function withLoginError(returnTo: string, code: string): string {
  const [path = '/sidebar/', ...fragment] = returnTo.split('#');
  const separator = path.includes('?') ? '&' : '?';
  return `${path}${separator}loginError=${encodeURIComponent(code)}${fragment.length ? `#${fragment.join('#')}` : ''}`;
}

function origin(ctx: AppContext, req: Request): string {
  return ctx.config.publicUrl ?? `${req.protocol}://${req.get('host')}`;
}

/**
 * Login. Production: WeCom OAuth2 (silent snsapi_base) with a `state` bound to this browser by an
 * HttpOnly cookie and usable once. Sandbox only: `POST /api/dev/login`, 404 everywhere else.
 */
export function authRouter(ctx: AppContext): Router {
  const router = Router();
  const secret = ctx.config.sessionSecret!;
  // Logins per source address; generous, since a whole office may sign in from behind one NAT address.
  const loginLimit = limitPerAddress(ctx.rateLimiter, 'login', ctx.config.rateLimits.loginPerMinute, 'login attempts');

  router.get('/api/auth/wecom/start', requirePermission(ctx, 'public'), loginLimit, async (req: Request, res: Response) => {
    const returnTo = returnToSchema.parse(req.query.returnTo ?? '/sidebar/');
    const state = randomBytes(24).toString('base64url').replace(/[-_]/g, 'x');
    const browser = randomBytes(24).toString('base64url');
    await ctx.db.insert(oauthStates).values({ stateHash: hashOf(state), browserHash: hashOf(browser), returnTo, expiresAt: new Date(Date.now() + OAUTH_TTL_MS) });
    res.cookie(OAUTH_COOKIE, browser, cookieOptions(isSecureRequest(req, ctx.config.publicUrl), OAUTH_TTL_MS));
    const authorize = ctx.sandbox ? `${ctx.sandbox.simulatorUrl}/connect/oauth2/authorize` : WECOM_AUTHORIZE_URL;
    const params = new URLSearchParams({
      appid: ctx.config.wecom.corpId,
      redirect_uri: `${origin(ctx, req)}/api/auth/wecom/callback`,
      response_type: 'code',
      scope: 'snsapi_base',
      state,
      agentid: String(ctx.config.wecom.agentId),
    });
    res.redirect(302, `${authorize}?${params.toString()}#wechat_redirect`);
  });

  router.get('/api/auth/wecom/callback', requirePermission(ctx, 'public'), loginLimit, async (req: Request, res: Response) => {
    const query = oauthCallbackQuery.safeParse(req.query);
    if (!query.success) throw new DomainError('BAD_REQUEST', 'the login link is missing code or state: open the app from WeCom again', undefined, reason('login.link_incomplete'));
    const browser = readCookie(req, OAUTH_COOKIE) ?? '';
    // Single use: the row is deleted by the same statement that checks it.
    const [state] = await ctx.db.delete(oauthStates)
      .where(and(eq(oauthStates.stateHash, hashOf(query.data.state)), eq(oauthStates.browserHash, hashOf(browser)), gt(oauthStates.expiresAt, sql`now()`)))
      .returning();
    res.clearCookie(OAUTH_COOKIE, { path: '/' });
    if (!state) throw new DomainError('OAUTH_STATE', 'this login link is expired, already used, or was started in another browser: open the app from WeCom again', undefined, reason('login.link_invalid'));
    let userid: string | undefined;
    try {
      userid = (await ctx.wecom.getUserInfoByCode(query.data.code)).userid;
    } catch (error) {
      if (isWecomApiError(error) && error.errcode === 40029) throw new DomainError('OAUTH_STATE', 'the WeCom login code is invalid or expired: open the app from WeCom again', undefined, reason('login.code_invalid'));
      throw error;
    }
    if (!userid) throw new DomainError('MEMBER_NOT_VISIBLE', 'only members of this company can sign in', undefined, reason('login.not_member'));
    try {
      await admitAndAudit(ctx, userid, 'wecom_oauth');
    } catch (error) {
      // A browser that followed WeCom's redirect goes back to the page it came from, which says why in
      // the member's language; API clients get the JSON error as usual.
      if (error instanceof DomainError && req.accepts(['json', 'html']) === 'html') {
        res.redirect(302, withLoginError(state.returnTo ?? '/sidebar/', error.reason?.code ?? error.code));
        return;
      }
      throw error;
    }
    await startSession(ctx.db, req, res, userid, { secret, secure: isSecureRequest(req, ctx.config.publicUrl) });
    ctx.logger.info({ userid }, 'member logged in with WeCom OAuth');
    res.redirect(302, state.returnTo ?? '/sidebar/');
  });

  // Sandbox only: outside it the route is not mounted at all (the API's 404).
  if (ctx.config.sandbox) {
    router.post('/api/dev/login', requirePermission(ctx, 'public'), loginLimit, async (req: Request, res: Response) => {
      const body = devLoginBody.parse(req.body);
      await admitAndAudit(ctx, body.userid, 'dev_login');
      const session = await startSession(ctx.db, req, res, body.userid, { secret, secure: isSecureRequest(req, ctx.config.publicUrl) });
      res.json({ userid: body.userid, csrfToken: session.csrfToken });
    });
  }

  router.post('/api/auth/logout', requirePermission(ctx, 'public'), async (req: Request, res: Response) => {
    const session = await loadSession(ctx.db, req, secret);
    if (session && !csrfMatches(req.get('x-csrf-token'), session)) throw new DomainError('FORBIDDEN', 'missing or wrong X-CSRF-Token header');
    await endSession(ctx.db, res, session, isSecureRequest(req, ctx.config.publicUrl));
    res.json({ ok: true });
  });

  return router;
}
