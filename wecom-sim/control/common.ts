// Plumbing for the /sim control API: JSON in, JSON out, bad input → 400 {error} with a clear message.
import type { Request, RequestHandler } from 'express';
import type { z } from 'zod';
import { badRequest, ControlError, WecomError } from '../errors.ts';
import type { SimContext } from '../context.ts';

export function control(ctx: SimContext, handler: (req: Request) => unknown): RequestHandler {
  return async (req, res) => {
    try {
      const result = await handler(req);
      res.json(result ?? { ok: true });
    } catch (error) {
      if (error instanceof ControlError) return void res.status(error.status).json({ error: error.message });
      // A WeCom rule broken by a control call (e.g. a rule-group tag outside its range): still a 400.
      if (error instanceof WecomError) return void res.status(400).json({ error: error.message, errcode: error.errcode });
      ctx.options.log(`control error on ${req.method} ${req.path}: ${(error as Error).stack ?? String(error)}`);
      res.status(500).json({ error: (error as Error).message });
    }
  };
}

export function input<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  return badRequest(`${issue.path.join('.') || 'body'}: ${issue.message}`);
}
