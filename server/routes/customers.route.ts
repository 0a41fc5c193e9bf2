import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { AppContext } from '../context.ts';
import { DomainError } from '../http/domain-error.ts';
import { currentSession, requirePermission } from '../http/guard.ts';
import { MASKABLE_FIELDS } from '../policy/masking.ts';
import { audit } from '../services/audit.service.ts';
import { assertCustomerAccess, customerNotFound, loadAccessSubject } from '../services/customer-access.service.ts';
import { countCustomers, customerListQuerySchema, listCustomers } from '../services/customer-list.service.ts';
import { readCustomer, readFieldValue } from '../services/customer-read.service.ts';
import { changeCustomerTags } from '../services/customer-tags.service.ts';
import { readMaskedFields } from '../services/permission-settings.service.ts';

export const tagId = z.string().min(1).max(128);
export const tagChange = z.object({ add: z.array(tagId).max(100).default([]), remove: z.array(tagId).max(100).default([]) }).strict()
  .refine((b) => b.add.length + b.remove.length > 0, { message: 'give at least one tag id in add or remove' });

export const externalUserIdSchema = z.string().min(1).max(128).regex(/^[\w-]+$/, 'an external_userid has letters, digits, _ and - only');

export const revealBody = z.object({
  field: z.enum(MASKABLE_FIELDS),
  /** The member whose relation holds the value (relation.* fields). */
  userid: z.string().min(1).max(64).optional(),
  /** Which phone number of `relation.remarkMobiles` (default the first). */
  index: z.number().int().min(0).max(20).default(0),
}).strict().refine((b) => !b.field.startsWith('relation.') || b.userid !== undefined, { message: 'relation fields need the userid of the relation' });

/**
 * Customers as the session member may see them: every route reads through the customer scope
 * predicate (services/customer-access.service.ts), so list, count and detail agree, and a customer
 * outside the member's view scope is the same 404 as one that does not exist.
 */
export function customersRouter(ctx: AppContext): Router {
  const router = Router();
  const subjectOf = (res: Response) => loadAccessSubject(ctx.db, currentSession(res).userid, ctx.config.adminUserIds);
  // Personal tags are their owner's alone: an admin viewing the app as the member does not see them.
  const personalOf = (res: Response) => (currentSession(res).viewAs ? null : currentSession(res).userid);

  router.get('/api/customers', requirePermission(ctx, 'member'), async (req: Request, res: Response) => {
    const query = customerListQuerySchema.parse(req.query);
    const subject = await subjectOf(res);
    const { see } = await ctx.policy.view(subject.userid);
    res.json(await listCustomers(ctx.db, subject, { seeTags: see, maskedFields: await readMaskedFields(ctx.db), personalOf: personalOf(res) }, query));
  });

  router.get('/api/customers/count', requirePermission(ctx, 'member'), async (req: Request, res: Response) => {
    const { cursor: _cursor, limit: _limit, ...query } = customerListQuerySchema.parse(req.query);
    const subject = await subjectOf(res);
    const { see } = await ctx.policy.view(subject.userid);
    res.json({ count: await countCustomers(ctx.db, subject, see, query, personalOf(res)) });
  });

  router.get('/api/customers/:externalUserId', requirePermission(ctx, 'member'), async (req: Request, res: Response) => {
    const id = externalUserIdSchema.parse(req.params.externalUserId);
    const subject = await subjectOf(res);
    const { see } = await ctx.policy.view(subject.userid);
    const customer = await readCustomer(ctx.db, id, { subject, seeTags: see, maskedFields: await readMaskedFields(ctx.db), personalOf: personalOf(res) });
    if (!customer) {
      // Audited like every refusal; the answer is the one a missing customer gets.
      await assertCustomerAccess(ctx, subject, 'view', id);
      throw customerNotFound();
    }
    res.json(customer);
  });

  router.post('/api/customers/:externalUserId/reveal', requirePermission(ctx, 'member'), async (req: Request, res: Response) => {
    const id = externalUserIdSchema.parse(req.params.externalUserId);
    const body = revealBody.parse(req.body);
    const subject = await subjectOf(res);
    await assertCustomerAccess(ctx, subject, 'unmask', id);
    const value = await readFieldValue(ctx.db, id, body.field, body.userid, body.index);
    if (value === undefined) throw new DomainError('NOT_FOUND', 'this customer has no such value');
    await ctx.db.transaction((tx) => audit(tx, {
      actor: subject.userid, action: 'customer.reveal', subjectType: 'customer', subjectId: id, outcome: 'allowed',
      // Which value was revealed, never the value itself.
      details: { field: body.field, ...(body.userid ? { relation: body.userid } : {}), index: body.index },
    }));
    res.json({ field: body.field, userid: body.userid ?? null, index: body.index, value });
  });

  router.post('/api/customers/:externalUserId/tags', requirePermission(ctx, 'member'), async (req: Request, res: Response) => {
    const id = externalUserIdSchema.parse(req.params.externalUserId);
    const body = tagChange.parse(req.body);
    const session = currentSession(res);
    await assertCustomerAccess(ctx, await subjectOf(res), 'tag', id);
    const result = await changeCustomerTags(ctx, session.userid, id, body);
    res.status(result.wecom?.state === 'failed' ? 502 : result.wecom?.state === 'queued' ? 202 : 200).json(result);
  });
  return router;
}
