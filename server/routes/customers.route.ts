import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { AppContext } from '../context.ts';
import { DomainError } from '../http/domain-error.ts';
import { currentSession, requirePermission } from '../http/guard.ts';
import { readCustomer } from '../services/customer-read.service.ts';
import { changeCustomerTags } from '../services/customer-tags.service.ts';
import { isAdmin } from '../services/members.service.ts';

const tagId = z.string().min(1).max(128);
const tagChange = z.object({ add: z.array(tagId).max(100).default([]), remove: z.array(tagId).max(100).default([]) }).strict()
  .refine((b) => b.add.length + b.remove.length > 0, { message: 'give at least one tag id in add or remove' });

const externalUserId = z.string().min(1).max(128).regex(/^[\w-]+$/, 'an external_userid has letters, digits, _ and - only');

export function customersRouter(ctx: AppContext): Router {
  const router = Router();
  router.get('/api/customers/:externalUserId', requirePermission(ctx, 'member'), async (req: Request, res: Response) => {
    const id = externalUserId.parse(req.params.externalUserId);
    const session = currentSession(res);
    const admin = await isAdmin(ctx.db, session.userid, ctx.config.adminUserIds);
    const { see } = await ctx.policy.view(session.userid);
    const customer = await readCustomer(ctx.db, id, { userid: session.userid, admin, seeTags: see });
    if (!customer) throw new DomainError('NOT_FOUND', 'no such customer among yours');
    res.json(customer);
  });

  router.post('/api/customers/:externalUserId/tags', requirePermission(ctx, 'member'), async (req: Request, res: Response) => {
    const id = externalUserId.parse(req.params.externalUserId);
    const body = tagChange.parse(req.body);
    const session = currentSession(res);
    const admin = await isAdmin(ctx.db, session.userid, ctx.config.adminUserIds);
    const result = await changeCustomerTags(ctx, session.userid, admin, id, body);
    res.status(result.wecom?.state === 'failed' ? 502 : result.wecom?.state === 'queued' ? 202 : 200).json(result);
  });
  return router;
}
