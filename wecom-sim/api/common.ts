// Shared plumbing for the WeCom API routers: the handler wrapper that turns results and
// WecomErrors into WeCom's {errcode, errmsg, ...} replies, body validation, and cursor paging.
import type { Request, RequestHandler } from 'express';
import { z } from 'zod';
import { errorBody, fail, WecomError } from '../errors.ts';
import type { SimContext } from '../context.ts';

export type ApiResult = Record<string, unknown> | void;

/** Wraps a synchronous handler: success → {errcode:0, errmsg:'ok', ...result}; WecomError → its code. */
export function wecom(ctx: SimContext, handler: (req: Request) => ApiResult): RequestHandler {
  return (req, res) => {
    try {
      const result = handler(req) ?? {};
      res.json({ errcode: 0, errmsg: 'ok', ...result });
    } catch (error) {
      if (error instanceof WecomError) {
        res.json(errorBody(error.errcode, error.detail));
        return;
      }
      // A simulator bug: answer like WeCom's "system busy" but make it loud in the log.
      ctx.options.log(`internal error on ${req.method} ${req.path}: ${(error as Error).stack ?? String(error)}`);
      res.json(errorBody(-1));
    }
  };
}

/** Validates a JSON body or query; WeCom answers malformed parameters with 40058. */
export function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  fail(40058, issue ? `${issue.path.join('.') || 'body'}: ${issue.message}` : undefined);
}

/** The parsed JSON body (set by the gateway); {} for GETs. */
export function body(req: Request): unknown {
  return req.body ?? {};
}

export function queryString(req: Request, name: string): string | undefined {
  const value = req.query[name];
  return typeof value === 'string' ? value : undefined;
}

/** Opaque cursors (base64 of an offset), like WeCom's: clients must pass back what they got. */
export function encodeCursor(offset: number): string {
  return Buffer.from(`sim:${offset}`).toString('base64url');
}

export function decodeCursor(cursor: string | undefined | null): number {
  if (!cursor) return 0;
  const match = /^sim:(\d+)$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match) fail(40058, 'invalid cursor');
  return Number(match[1]);
}

/** One page of `items`; next_cursor is '' when the list is exhausted. */
export function page<T>(items: T[], cursor: string | undefined | null, limit: number): { items: T[]; next_cursor: string } {
  const offset = decodeCursor(cursor);
  const slice = items.slice(offset, offset + limit);
  const next = offset + limit < items.length ? encodeCursor(offset + limit) : '';
  return { items: slice, next_cursor: next };
}

/** A WeCom name (tag, group, strategy): 1..30 characters, else 40072 for tags. */
export function checkName(name: unknown, code = 40072): string {
  if (typeof name !== 'string' || name.trim() === '' || [...name].length > 30) fail(code, `name: ${String(name)}`);
  return name;
}

export { WecomError };
