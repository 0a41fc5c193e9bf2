import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { AppContext } from '../context.ts';
import { DomainError } from '../http/domain-error.ts';
import { currentSession, requirePermission } from '../http/guard.ts';
import { readCustomer } from '../services/customer-read.service.ts';
import { isAdmin } from '../services/members.service.ts';

const externalUserId = z.string().min(1).max(128).regex(/^[\w-]+$/, 'an external_userid has letters, digits, _ and - only');

export function customersRouter(ctx: AppContext): Router {
  const router = Router();
  router.get('/api/customers/:externalUserId', requirePermission(ctx, 'member'), async (req: Request, res: Response) => {
    const id = externalUserId.parse(req.params.externalUserId);
    const session = currentSession(res);
    const admin = await isAdmin(ctx.db, session.userid, ctx.config.adminUserIds);
    const customer = await readCustomer(ctx.db, id, { userid: session.userid, admin });
    if (!customer) throw new DomainError('NOT_FOUND', 'no such customer among yours');
    res.json(customer);
  });
  return router;
}
