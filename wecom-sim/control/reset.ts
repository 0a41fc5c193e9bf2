// Control: reset to a fixture, the clock, the callback configuration, and a state summary.
import express from 'express';
import type { Router } from 'express';
import { z } from 'zod';
import { badRequest } from '../errors.ts';
import type { SimContext } from '../context.ts';
import { resetCorp } from '../fixture.ts';
import { processDueTransfers } from '../transfer-engine.ts';
import { control, input } from './common.ts';

const callbackSchema = z.object({
  url: z.string().url(),
  token: z.string().min(1).max(32),
  aesKey: z.string().regex(/^[a-zA-Z0-9]{43}$/, 'aesKey must be 43 characters of [a-zA-Z0-9]'),
  /** false skips the GET verification (for a receiver that starts later); default true, like the console. */
  verify: z.boolean().default(true),
});

export function resetControlRouter(ctx: SimContext): Router {
  const router = express.Router();

  router.get('/', control(ctx, () => ({ name: 'wecom-sim', url: ctx.baseUrl, corpId: ctx.corp.corpId, agentId: ctx.corp.agentId, now: ctx.clock.now() })));

  router.post('/reset', control(ctx, (req) => resetCorp(ctx, req.body)));

  router.get('/clock', control(ctx, () => ({ now: ctx.clock.now() })));

  router.post('/clock/advance', control(ctx, (req) => {
    const { seconds } = input(z.object({ seconds: z.number().min(0) }), req.body);
    ctx.clock.advance(seconds);
    processDueTransfers(ctx);
    return { now: ctx.clock.now() };
  }));

  router.post('/callback', control(ctx, async (req) => {
    const config = input(callbackSchema, req.body);
    const target = { url: config.url, token: config.token, aesKey: config.aesKey };
    if (!config.verify) {
      ctx.corp.callback = target;
      return { url: config.url, verified: false };
    }
    // Like the admin console: the URL is saved only when the GET verification succeeds.
    const outcome = await ctx.callbacks.verify(target, ctx.corp.corpId);
    if (!outcome.verified) badRequest(`callback URL verification failed: ${outcome.error ?? 'unknown'}`);
    ctx.corp.callback = target;
    return { url: config.url, verified: true };
  }));

  router.delete('/callback', control(ctx, () => {
    delete ctx.corp.callback;
    return { ok: true };
  }));

  router.get('/state/summary', control(ctx, () => {
    const corp = ctx.corp;
    const members = [...corp.members.values()];
    const customers = [...corp.customers.values()];
    const groups = corp.liveGroups('any');
    const records = ctx.callbacks.list();
    const count = (status: number) => corp.transfers.filter((t) => t.status === status).length;
    return {
      corpId: corp.corpId,
      agentId: corp.agentId,
      now: ctx.clock.now(),
      departments: corp.departments.length,
      members: members.length,
      activeMembers: members.filter((m) => m.status === 1).length,
      leftMembers: members.filter((m) => m.status === 5).length,
      customers: customers.length,
      relations: customers.reduce((n, c) => n + c.follows.filter((f) => !f.half).length, 0),
      corpTagGroups: groups.filter((g) => g.strategyId === undefined).length,
      corpTags: groups.filter((g) => g.strategyId === undefined).reduce((n, g) => n + g.tags.filter((t) => !t.deleted).length, 0),
      strategies: corp.strategies.length,
      strategyTags: groups.filter((g) => g.strategyId !== undefined).reduce((n, g) => n + g.tags.filter((t) => !t.deleted).length, 0),
      contactWays: corp.contactWays.size,
      transfers: { waiting: count(2), done: count(1), refused: count(3), limitExceeded: count(4) },
      messages: corp.messages.length,
      groupMessages: corp.groupMsgs.length,
      callbacks: {
        total: records.length,
        delivered: records.filter((r) => r.delivered).length,
        pending: records.filter((r) => !r.finished).length,
        failed: records.filter((r) => r.finished && !r.delivered && r.url !== null).length,
      },
      calls: ctx.calls.length,
      callbackUrl: corp.callback?.url ?? null,
    };
  }));

  return router;
}
