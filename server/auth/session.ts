import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { and, eq, gt, sql } from 'drizzle-orm';
import type { Request, Response } from 'express';
import type { Database } from '../db/database.ts';
import { sessions } from '../db/schema.ts';

/**
 * Server-side sessions. The cookie holds a random id signed with SESSION_SECRET; the database holds
 * only the id's SHA-256, so a leaked table cannot be replayed. Identity comes only from here, never
 * from a user id in a request.
 */
export const SESSION_COOKIE = 'wtg_session';
export const SESSION_TTL_MS = 12 * 3600_000;

export interface SessionInfo {
  /** Who the request acts as: the logged-in member, or the member an admin is viewing as. */
  userid: string;
  /** Who is logged in (differs from `userid` only during view-as). */
  actualUserid: string;
  /** Set while an admin views the app as another member (read-only). */
  viewAs: boolean;
  csrfToken: string;
  idHash: string;
}

const sha256 = (value: string): string => createHash('sha256').update(value).digest('hex');

export function sign(value: string, secret: string): string {
  return `${value}.${createHmac('sha256', secret).update(value).digest('base64url')}`;
}

export function unsign(signed: string, secret: string): string | undefined {
  const dot = signed.lastIndexOf('.');
  if (dot <= 0) return undefined;
  const value = signed.slice(0, dot);
  const expected = Buffer.from(sign(value, secret));
  const got = Buffer.from(signed);
  return expected.length === got.length && timingSafeEqual(expected, got) ? value : undefined;
}

export function readCookie(req: Request, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/** Cookie flags: HttpOnly always; Secure + SameSite=None over HTTPS (WeCom's webview embeds the page). */
export function cookieOptions(secure: boolean, maxAgeMs: number) {
  return { httpOnly: true, secure, sameSite: secure ? ('none' as const) : ('lax' as const), path: '/', maxAge: maxAgeMs };
}

export function isSecureRequest(req: Request, publicUrl: string | undefined): boolean {
  return req.secure || (publicUrl?.startsWith('https://') ?? false);
}

export async function loadSession(db: Database, req: Request, secret: string): Promise<(SessionInfo & { viewAsUserid: string | null }) | undefined> {
  const raw = readCookie(req, SESSION_COOKIE);
  const id = raw ? unsign(raw, secret) : undefined;
  if (!id) return undefined;
  const idHash = sha256(id);
  const [row] = await db.select().from(sessions).where(and(eq(sessions.idHash, idHash), gt(sessions.expiresAt, sql`now()`)));
  return row ? { userid: row.userid, actualUserid: row.userid, viewAs: false, csrfToken: row.csrfToken, idHash, viewAsUserid: row.viewAsUserid } : undefined;
}

/** Starts a session for the member, ending the one this browser had: the id rotates at every login. */
export async function startSession(db: Database, req: Request, res: Response, userid: string, options: { secret: string; secure: boolean }): Promise<SessionInfo> {
  const previous = await loadSession(db, req, options.secret);
  if (previous) await db.delete(sessions).where(eq(sessions.idHash, previous.idHash));
  const id = randomBytes(32).toString('base64url');
  const csrfToken = randomBytes(24).toString('base64url');
  const idHash = sha256(id);
  await db.insert(sessions).values({ idHash, userid, csrfToken, expiresAt: new Date(Date.now() + SESSION_TTL_MS) });
  res.cookie(SESSION_COOKIE, sign(id, options.secret), cookieOptions(options.secure, SESSION_TTL_MS));
  return { userid, actualUserid: userid, viewAs: false, csrfToken, idHash };
}

export async function endSession(db: Database, res: Response, session: SessionInfo | undefined, secure: boolean): Promise<void> {
  if (session) await db.delete(sessions).where(eq(sessions.idHash, session.idHash));
  res.clearCookie(SESSION_COOKIE, { ...cookieOptions(secure, 0), maxAge: undefined });
}

export const hashOf = sha256;

/** Constant-time check of the `X-CSRF-Token` header against the session's token. */
export function csrfMatches(header: string | undefined, session: SessionInfo): boolean {
  const expected = Buffer.from(session.csrfToken);
  const got = Buffer.from(header ?? '');
  return expected.length === got.length && timingSafeEqual(expected, got);
}
