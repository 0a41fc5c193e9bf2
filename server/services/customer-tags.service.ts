import { and, eq, inArray } from 'drizzle-orm';
import type { AppContext } from '../context.ts';
import { customers, followRelations, personalTags, relationTagChanges, relationTags } from '../db/schema.ts';
import { DomainError } from '../http/domain-error.ts';
import { reason } from '../http/reason.ts';
import { audit } from './audit.service.ts';
import { recordOwnerActivity } from './public-pool.service.ts';
import { awaitWrite, enqueueWrite, recordWrite } from './wecom-writes.service.ts';

export interface TagChangeRequest {
  add: string[];
  remove: string[];
}

export interface TagChangeResult {
  personal: { added: string[]; removed: string[] };
  wecom: { writeId: number; state: string; errcode: number | null; error: string | null } | null;
}

const PERSONAL_PREFIX = 'pt_';

/**
 * A member adds or removes tags on their own relation with a customer, after the route's `tag` check
 * on that customer (outside the member's scope: 404 there). Every tag is checked first;
 * one refused tag refuses the whole request and nothing changes. Corp and rule-group tags go to WeCom
 * through the rate-limited write queue (and to local state when WeCom confirms); personal tags are
 * local. Every decision is audited.
 */
export async function changeCustomerTags(ctx: AppContext, actor: string, externalUserId: string, request: TagChangeRequest): Promise<TagChangeResult> {
  const [customer] = await ctx.db.select({ id: customers.externalUserId }).from(customers).where(eq(customers.externalUserId, externalUserId));
  const [relation] = await ctx.db.select({ status: followRelations.status }).from(followRelations)
    .where(and(eq(followRelations.externalUserId, externalUserId), eq(followRelations.userid, actor)));
  const follows = relation?.status === 'active';
  if (!customer) throw new DomainError('NOT_FOUND', 'no such customer among yours', undefined, reason('customer.not_found'));
  // The caller has already passed the `tag` check on this customer (a manager of the followers, an
  // admin), so the customer is no secret to them: say why nothing can change.
  if (!follows) throw new DomainError('NO_RELATION', 'you have no WeCom relation with this customer, so you cannot tag it; tags live on each member\'s own relation', undefined, reason('tag.no_relation'));

  const requested = [...new Set([...request.add, ...request.remove])];
  const personalIds = requested.filter((id) => id.startsWith(PERSONAL_PREFIX));
  const wecomIds = requested.filter((id) => !id.startsWith(PERSONAL_PREFIX));
  const ownPersonal = personalIds.length
    ? new Set((await ctx.db.select({ id: personalTags.id }).from(personalTags).where(and(inArray(personalTags.id, personalIds), eq(personalTags.userid, actor)))).map((r) => r.id))
    : new Set<string>();
  const view = await ctx.policy.view(actor);
  const policy = await ctx.policy.policy();
  const unknown = [...personalIds.filter((id) => !ownPersonal.has(id)), ...wecomIds.filter((id) => !view.see.has(id))];
  const refused = wecomIds.filter((id) => view.see.has(id) && !view.use.has(id));

  if (unknown.length || refused.length) {
    await ctx.db.transaction((tx) => audit(tx, {
      actor, action: 'customer.tags_changed', subjectType: 'customer', subjectId: externalUserId, outcome: 'denied',
      details: { add: request.add, remove: request.remove, unknown, refused },
    }));
    if (unknown.length) {
      // A tag the member may not see is answered exactly as one that does not exist.
      throw new DomainError('TAG_NOT_FOUND', `no such tag: ${unknown.join(', ')}`, { tags: unknown }, reason('tag.not_found'));
    }
    const reasons = refused.map((tagId) => {
      const locked = policy.lockReason(view.member, tagId);
      return { tagId, name: policy.tag(tagId)?.name ?? tagId, reason: locked.text, lock: locked.reason };
    });
    const names = reasons.map((r) => r.name);
    throw new DomainError('TAG_NOT_ALLOWED', `you may see but not use: ${names.join(', ')}`, { tags: reasons }, reason('tag.not_allowed', { tags: names }));
  }

  const addPersonal = request.add.filter((id) => ownPersonal.has(id));
  const removePersonal = request.remove.filter((id) => ownPersonal.has(id) && !addPersonal.includes(id));
  const addWecom = request.add.filter((id) => !id.startsWith(PERSONAL_PREFIX));
  const removeWecom = request.remove.filter((id) => !id.startsWith(PERSONAL_PREFIX) && !addWecom.includes(id));

  const writeId = await ctx.db.transaction(async (tx) => {
    if (removePersonal.length) {
      await tx.delete(relationTags).where(and(eq(relationTags.externalUserId, externalUserId), eq(relationTags.userid, actor), inArray(relationTags.tagId, removePersonal)));
    }
    if (addPersonal.length) {
      await tx.insert(relationTags).values(addPersonal.map((tagId) => ({ externalUserId, userid: actor, tagId, kind: 'personal' as const }))).onConflictDoNothing();
    }
    if (addPersonal.length || removePersonal.length) {
      await tx.insert(relationTagChanges).values({ externalUserId, userid: actor, added: addPersonal, removed: removePersonal, source: 'api' });
    }
    let id: number | null = null;
    if (addWecom.length || removeWecom.length) {
      id = await recordWrite(tx, { api: 'mark_tag', payload: { userid: actor, external_userid: externalUserId, add_tag: addWecom, remove_tag: removeWecom } }, actor);
    }
    await audit(tx, {
      actor, action: 'customer.tags_changed', subjectType: 'customer', subjectId: externalUserId, outcome: 'allowed',
      details: { add: request.add, remove: request.remove, writeId: id },
    });
    // A tag change by the owner restarts the customer's public-pool clock.
    await recordOwnerActivity(tx, externalUserId, actor);
    return id;
  });
  let wecom: TagChangeResult['wecom'] = null;
  if (writeId !== null) {
    await enqueueWrite(ctx.queues, writeId);
    // Reps tag in one tap: answer with WeCom's outcome when it comes quickly, else with `queued`.
    wecom = { writeId, ...(await awaitWrite(ctx.db, writeId, 5_000)) };
  }
  return { personal: { added: addPersonal, removed: removePersonal }, wecom };
}
