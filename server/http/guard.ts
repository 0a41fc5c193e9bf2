import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { eq } from 'drizzle-orm';
import type { AppContext } from '../context.ts';
import { members } from '../db/schema.ts';
import { csrfMatches, loadSession, type SessionInfo } from '../auth/session.ts';
import { isAdmin } from '../services/members.service.ts';
import { MEMBER_ACTIVE } from '../services/org-sync.service.ts';
import { DomainError } from './domain-error.ts';
import { reason } from './reason.ts';

/**
 * Every route states who may call it. `public` needs nothing; `member` a live session of a member
 * who has not left; `admin` an admin's session. State-changing requests with a session also need the
 * session's CSRF token in `X-CSRF-Token`.
 */
export type RoutePermission = 'public' | 'member' | 'admin';

/**
 * What a route declares, readable from the mounted app (test/security/route-permissions.test.ts walks
 * every route and fails on one without a declaration). `wecom-signature`: WeCom's callback, whose
 * handler verifies the message signature itself.
 */
export type DeclaredPermission = RoutePermission | 'wecom-signature';

const DECLARED = Symbol('declared route permission');
type Declared = RequestHandler & { [DECLARED]?: DeclaredPermission };

function declare<T extends RequestHandler>(handler: T, permission: DeclaredPermission): T {
  (handler as Declared)[DECLARED] = permission;
  return handler;
}

/** The permission a route handler declares, if it is a guard made by this module. */
export function declaredPermission(handler: unknown): DeclaredPermission | undefined {
  return typeof handler === 'function' ? (handler as Declared)[DECLARED] : undefined;
}

/**
 * For a guard of its own that admits admins' peers by other means (Prometheus' bearer token on
 * /metrics): declared `admin`, and the same path's next route must be `requirePermission(ctx, 'admin')`
 * for callers without that means.
 */
export function adminOrOwnGuard<T extends RequestHandler>(handler: T): T {
  return declare(handler, 'admin');
}

/** For WeCom's callback: lets every request through to a handler that checks WeCom's signature. */
export function signedByWecom(): RequestHandler {
  return declare((_req: Request, _res: Response, next: NextFunction) => next(), 'wecom-signature');
}

export function currentSession(res: Response): SessionInfo {
  const session = res.locals.session as SessionInfo | undefined;
  if (!session) throw new DomainError('UNAUTHENTICATED', 'log in first');
  return session;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface PermissionOptions {
  /** The route ends view-as, so it stays callable (as the admin) while viewing as someone. */
  endsViewAs?: boolean;
}

export function requirePermission(ctx: AppContext, permission: RoutePermission, options: PermissionOptions = {}): RequestHandler {
  return declare(async (req: Request, res: Response, next: NextFunction) => {
    if (permission === 'public') return next();
    const secret = ctx.config.sessionSecret!;
    const session = await loadSession(ctx.db, req, secret);
    if (!session) throw new DomainError('UNAUTHENTICATED', 'not logged in, or the session expired: open the app from WeCom again');
    const [member] = await ctx.db.select({ status: members.status }).from(members).where(eq(members.userid, session.userid));
    // Left (5), disabled (2) or not activated (4): access ends at once.
    if (!member || member.status !== MEMBER_ACTIVE) throw new DomainError('UNAUTHENTICATED', 'this member is no longer active in WeCom; access has ended', undefined, reason('session.member_inactive'));
    if (!SAFE_METHODS.has(req.method) && !csrfMatches(req.get('x-csrf-token'), session)) {
      throw new DomainError('FORBIDDEN', 'missing or wrong X-CSRF-Token header: read csrfToken from GET /api/me', undefined, reason('session.csrf'));
    }
    if (permission === 'admin' && !(await isAdmin(ctx.db, session.userid, ctx.config.adminUserIds))) {
      throw new DomainError('FORBIDDEN', 'admins only', undefined, reason('session.admins_only'));
    }
    const { viewAsUserid, ...info } = session;
    if (viewAsUserid && !options.endsViewAs) {
      // View-as: an admin reads member routes exactly as that member would; nothing can be changed.
      if (!SAFE_METHODS.has(req.method)) throw new DomainError('FORBIDDEN', `read-only: you are viewing as ${viewAsUserid}; end view-as to make changes`, undefined, reason('session.read_only'));
      if (permission === 'member') {
        res.locals.session = { ...info, userid: viewAsUserid, viewAs: true } satisfies SessionInfo;
        return next();
      }
    }
    res.locals.session = info satisfies SessionInfo;
    next();
  }, permission);
}
