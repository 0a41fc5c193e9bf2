// Control: what tests assert on — calls received, callback deliveries, messages sent — and faults.
import express from 'express';
import type { Router } from 'express';
import { z } from 'zod';
import type { SimContext } from '../context.ts';
import { normalizeApiPath } from '../api/gateway.ts';
import { control, input } from './common.ts';

const DEFAULT_HOLD_MS = 10_000;

const faultSchema = z.object({
  path: z.string().min(1),
  errcode: z.union([z.number().int(), z.literal('timeout')]),
  count: z.number().int().min(1).default(1),
  /** How long a "timeout" fault holds the reply; longer than the client's timeout. */
  holdMs: z.number().int().min(0).default(DEFAULT_HOLD_MS),
});

export function observeControlRouter(ctx: SimContext): Router {
  const router = express.Router();

  router.get('/calls', control(ctx, (req) => {
    const path = typeof req.query.path === 'string' ? normalizeApiPath(req.query.path) : undefined;
    return { calls: path ? ctx.calls.filter((c) => c.path === path) : ctx.calls };
  }));

  router.delete('/calls', control(ctx, () => {
    ctx.calls.length = 0;
    return { ok: true };
  }));

  router.get('/callbacks', control(ctx, (req) => {
    const changeType = typeof req.query.change_type === 'string' ? req.query.change_type : undefined;
    const records = ctx.callbacks.list();
    return { callbacks: changeType ? records.filter((r) => r.event.ChangeType === changeType) : records };
  }));

  router.delete('/callbacks', control(ctx, () => {
    ctx.callbacks.clear();
    return { ok: true };
  }));

  router.get('/messages', control(ctx, (req) => {
    const kind = typeof req.query.kind === 'string' ? req.query.kind : undefined;
    return { messages: kind ? ctx.corp.messages.filter((m) => m.kind === kind) : ctx.corp.messages };
  }));

  router.get('/faults', control(ctx, () => ({ faults: ctx.faults })));

  router.post('/faults', control(ctx, (req) => {
    const body = input(faultSchema, req.body);
    const fault = { path: normalizeApiPath(body.path), kind: body.errcode, remaining: body.count, holdMs: body.holdMs };
    ctx.faults.push(fault);
    return fault;
  }));

  router.delete('/faults', control(ctx, () => {
    ctx.faults.length = 0;
    return { ok: true };
  }));

  return router;
}
