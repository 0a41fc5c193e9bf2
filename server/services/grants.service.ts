import { randomUUID } from 'node:crypto';
import { and, desc, eq, inArray, isNull, lte, sql } from 'drizzle-orm';
import type { AppContext } from '../context.ts';
import type { Queryable } from '../db/database.ts';
import { accessGrants, customers, departments } from '../db/schema.ts';
import { DomainError } from '../http/domain-error.ts';
import { customerScopeSql, effectiveScope, type AccessSubject, type CustomerAction } from '../policy/customer-scope.ts';
import { audit } from './audit.service.ts';
import { loadAccessSubject, mayActivateEmergency } from './customer-access.service.ts';
import { isAdmin } from './members.service.ts';
import { readGrantSettings } from './permission-settings.service.ts';
import { enqueueWrite, recordWrite } from './wecom-writes.service.ts';
import type { Queues } from '../../jobs/queues.ts';

/**
 * Time-limited extra access. A member requests actions on named customers or on a department subtree
 * for a while; another member who holds that access approves; the grant then counts until `expires_at`,
 * checked by the customer scope predicate on every request (no job needed to end it). Emergency
 * grants self-activate for a short window when one of the requester's roles allows it
 * (`roles.allow_emergency`, e.g. `service`) and wait for an admin's review.
 */
export type GrantRow = typeof accessGrants.$inferSelect;

export interface GrantRequest {
  actions: CustomerAction[];
  customerIds?: string[];
  departmentId?: number;
  durationSeconds: number;
  reason: string;
  emergency: boolean;
}

export function grantView(g: GrantRow, now = new Date()): Record<string, unknown> {
  return {
    id: g.id,
    requester: g.requester,
    approver: g.approver,
    actions: g.actions,
    customerIds: g.customerIds,
    departmentId: g.departmentId,
    reason: g.reason,
    state: g.state,
    emergency: g.emergency,
    durationSeconds: g.durationSeconds,
    startsAt: g.startsAt?.toISOString() ?? null,
    expiresAt: g.expiresAt?.toISOString() ?? null,
    /** Whether it gives access right now (active and not expired). */
    inForce: g.state === 'active' && g.expiresAt !== null && g.expiresAt.getTime() > now.getTime(),
    createdAt: g.createdAt.toISOString(),
    decidedAt: g.decidedAt?.toISOString() ?? null,
    reviewedAt: g.reviewedAt?.toISOString() ?? null,
    reviewedBy: g.reviewedBy,
    revokedAt: g.revokedAt?.toISOString() ?? null,
    revokedBy: g.revokedBy,
  };
}

async function denied(ctx: AppContext, actor: string, action: string, grantId: string, reason: string): Promise<never> {
  await ctx.db.transaction((tx) => audit(tx, { actor, action, subjectType: 'grant', subjectId: grantId, outcome: 'denied', details: { reason } }));
  throw new DomainError('FORBIDDEN', reason);
}

/**
 * A member who can see nothing of a grant (not its requester, approver, an admin, nor a member who
 * holds the access it asks for) gets the answer a missing grant gets: grant ids are no oracle.
 */
async function hidden(ctx: AppContext, actor: string, action: string, grantId: string): Promise<never> {
  await ctx.db.transaction((tx) => audit(tx, { actor, action, subjectType: 'grant', subjectId: grantId, outcome: 'denied', details: { reason: 'not_visible' } }));
  throw new DomainError('NOT_FOUND', `no grant ${grantId}`);
}

export async function requestGrant(ctx: AppContext, requester: string, input: GrantRequest): Promise<GrantRow> {
  const settings = await readGrantSettings(ctx.db);
  const max = input.emergency ? Math.min(settings.emergencySeconds, settings.maxSeconds) : settings.maxSeconds;
  if (input.durationSeconds > max) {
    throw new DomainError('BAD_REQUEST', `durationSeconds: at most ${max} seconds for ${input.emergency ? 'an emergency' : 'a'} grant`, { maxSeconds: max });
  }
  if (input.departmentId !== undefined) {
    const [department] = await ctx.db.select({ id: departments.id }).from(departments).where(eq(departments.id, input.departmentId));
    if (!department) throw new DomainError('BAD_REQUEST', `departmentId: no department ${input.departmentId}`);
  }
  const id = randomUUID();
  if (input.emergency && !(await mayActivateEmergency(ctx.db, requester, ctx.config.adminUserIds))) {
    await denied(ctx, requester, 'grant.emergency', id, 'none of your roles allows emergency grants');
  }
  return ctx.db.transaction(async (tx) => {
    const now = new Date();
    const [row] = await tx.insert(accessGrants).values({
      id, requester, actions: [...new Set(input.actions)], customerIds: input.customerIds ? [...new Set(input.customerIds)] : null,
      departmentId: input.departmentId ?? null, reason: input.reason, durationSeconds: input.durationSeconds, emergency: input.emergency,
      ...(input.emergency
        ? { state: 'active' as const, startsAt: now, expiresAt: new Date(now.getTime() + input.durationSeconds * 1000), decidedAt: now }
        : { state: 'requested' as const }),
    }).returning();
    await audit(tx, {
      actor: requester, action: input.emergency ? 'grant.emergency_activated' : 'grant.requested', subjectType: 'grant', subjectId: id, outcome: 'done',
      details: { actions: row!.actions, customerIds: row!.customerIds, departmentId: row!.departmentId, durationSeconds: row!.durationSeconds, reason: row!.reason },
    });
    return row!;
  });
}

/** A subject's own roles without any grant: approving needs access held, not borrowed. */
function withoutGrants(subject: AccessSubject): AccessSubject {
  return { ...subject, grants: [] };
}

/** Whether `approver` holds every action of the grant over everything it covers. */
export async function holdsGrantedAccess(db: Queryable, approver: AccessSubject, grant: Pick<GrantRow, 'actions' | 'customerIds' | 'departmentId'>): Promise<boolean> {
  const subject = withoutGrants(approver);
  for (const action of grant.actions) {
    if (grant.customerIds?.length) {
      const ids = [...new Set(grant.customerIds)];
      const [row] = await db.select({ n: sql<number>`count(*)::int` }).from(customers).where(and(inArray(customers.externalUserId, ids), customerScopeSql(subject, action)));
      if ((row?.n ?? 0) !== ids.length) return false;
    } else if (grant.departmentId !== null) {
      const scope = effectiveScope(subject, action);
      if (scope === 'all') continue;
      if (scope !== 'dept' || !subject.managedDepartments.length) return false;
      const roots = sql.join(subject.managedDepartments.map((d) => sql`${d}`), sql`, `);
      const result = (await db.execute(sql`with recursive sub(id) as (select unnest(array[${roots}]::integer[]) union select d.id from departments d join sub on d.parent_id = sub.id)
        select exists (select 1 from sub where id = ${grant.departmentId}) as inside`)) as unknown as { rows: { inside: boolean }[] };
      if (!result.rows[0]?.inside) return false;
    } else {
      return false;
    }
  }
  return true;
}

async function grantFor(db: Queryable, id: string): Promise<GrantRow> {
  const [row] = await db.select().from(accessGrants).where(eq(accessGrants.id, id));
  if (!row) throw new DomainError('NOT_FOUND', `no grant ${id}`);
  return row;
}

export async function decideGrant(ctx: AppContext, approverId: string, id: string, decision: 'approve' | 'reject'): Promise<GrantRow> {
  const grant = await grantFor(ctx.db, id);
  const action = decision === 'approve' ? 'grant.approved' : 'grant.rejected';
  if (grant.requester === approverId) await denied(ctx, approverId, action, id, 'you cannot decide your own request');
  if (grant.state !== 'requested') throw new DomainError('CONFLICT', `this grant is ${grant.state}, not waiting for a decision`);
  const approver = await loadAccessSubject(ctx.db, approverId, ctx.config.adminUserIds);
  if (!(await holdsGrantedAccess(ctx.db, approver, grant))) await hidden(ctx, approverId, action, id);
  return ctx.db.transaction(async (tx) => {
    const now = new Date();
    const set = decision === 'approve'
      ? { state: 'active' as const, approver: approverId, decidedAt: now, startsAt: now, expiresAt: new Date(now.getTime() + grant.durationSeconds * 1000) }
      : { state: 'rejected' as const, approver: approverId, decidedAt: now };
    // Only a request still waiting is decided (two approvers racing: one wins, the other gets 409).
    const [row] = await tx.update(accessGrants).set(set).where(and(eq(accessGrants.id, id), eq(accessGrants.state, 'requested'))).returning();
    if (!row) throw new DomainError('CONFLICT', 'this grant was decided meanwhile');
    await audit(tx, { actor: approverId, action, subjectType: 'grant', subjectId: id, outcome: 'done', details: { requester: grant.requester, actions: grant.actions, expiresAt: row.expiresAt?.toISOString() ?? null } });
    return row;
  });
}

/** The requester, the approver or an admin ends a grant (or withdraws a request) at once. */
export async function revokeGrant(ctx: AppContext, actor: string, id: string): Promise<GrantRow> {
  const grant = await grantFor(ctx.db, id);
  const allowed = grant.requester === actor || grant.approver === actor || (await isAdmin(ctx.db, actor, ctx.config.adminUserIds));
  if (!allowed) {
    const holder = await holdsGrantedAccess(ctx.db, await loadAccessSubject(ctx.db, actor, ctx.config.adminUserIds), grant);
    if (!holder) await hidden(ctx, actor, 'grant.revoked', id);
    await denied(ctx, actor, 'grant.revoked', id, 'only the requester, the approver or an admin may revoke a grant');
  }
  if (grant.state !== 'active' && grant.state !== 'requested') throw new DomainError('CONFLICT', `this grant is already ${grant.state}`);
  return ctx.db.transaction(async (tx) => {
    const now = new Date();
    const [row] = await tx.update(accessGrants).set({ state: 'revoked', revokedBy: actor, revokedAt: now })
      .where(and(eq(accessGrants.id, id), inArray(accessGrants.state, ['active', 'requested']))).returning();
    if (!row) throw new DomainError('CONFLICT', 'this grant changed meanwhile');
    await audit(tx, { actor, action: 'grant.revoked', subjectType: 'grant', subjectId: id, outcome: 'done', details: { requester: grant.requester, wasState: grant.state } });
    return row;
  });
}

export async function reviewGrant(ctx: AppContext, admin: string, id: string, note: string | undefined): Promise<GrantRow> {
  const grant = await grantFor(ctx.db, id);
  if (!grant.emergency) throw new DomainError('CONFLICT', 'only emergency grants are reviewed');
  return ctx.db.transaction(async (tx) => {
    const [row] = await tx.update(accessGrants).set({ reviewedAt: new Date(), reviewedBy: admin }).where(and(eq(accessGrants.id, id), isNull(accessGrants.reviewedAt))).returning();
    if (!row) throw new DomainError('CONFLICT', 'this grant was already reviewed');
    await audit(tx, { actor: admin, action: 'grant.reviewed', subjectType: 'grant', subjectId: id, outcome: 'done', details: { requester: grant.requester, ...(note ? { note } : {}) } });
    return row;
  });
}

function expiryMessage(grant: { actions: string[]; customerIds: string[] | null; departmentId: number | null; expiresAt: Date | null; reason: string }): string {
  const at = grant.expiresAt?.toISOString().replace('T', ' ').slice(0, 16) ?? '';
  const scopeZh = grant.customerIds?.length ? `${grant.customerIds.length} 个客户` : `部门 ${grant.departmentId}`;
  const scopeEn = grant.customerIds?.length ? `${grant.customerIds.length} customer(s)` : `department ${grant.departmentId}`;
  return [
    `您的临时授权（${grant.actions.join('、')}；${scopeZh}；原因：${grant.reason}）已于 ${at} UTC 到期，相关访问已结束。如仍需要，请重新申请。`,
    `Your time-limited grant (${grant.actions.join(', ')} on ${scopeEn}) expired at ${at} UTC; that access has ended. Request it again if you still need it.`,
  ].join('\n');
}

/**
 * Records, once each, the grants whose time is up (state `expired`, audited) and tells each holder
 * by a WeCom app message (through the write queue, recorded in the same transaction). Access already
 * ended at `expires_at` through the predicate; this only makes the end visible and known. With
 * `queues` the messages are queued at once, otherwise the maintenance sweep queues them.
 */
export async function recordExpiredGrants(db: Queryable, options: { queues?: Queues; now?: Date } = {}): Promise<number> {
  const now = options.now ?? new Date();
  const { expired, writeIds } = await db.transaction(async (tx) => {
    const rows = await tx.update(accessGrants).set({ state: 'expired' })
      .where(and(eq(accessGrants.state, 'active'), lte(accessGrants.expiresAt, now))).returning();
    const writes: number[] = [];
    for (const row of rows) {
      await audit(tx, { actor: null, action: 'grant.expired', subjectType: 'grant', subjectId: row.id, outcome: 'done', details: { requester: row.requester, expiresAt: row.expiresAt?.toISOString() ?? null } });
      writes.push(await recordWrite(tx, { api: 'message_send', payload: { touser: row.requester, msgtype: 'text', text: { content: expiryMessage(row) } } }, null));
    }
    return { expired: rows.length, writeIds: writes };
  });
  if (options.queues) for (const id of writeIds) await enqueueWrite(options.queues, id);
  return expired;
}

/** The member's own grants, and the requests waiting that they may decide. */
export async function grantsOf(ctx: AppContext, userid: string): Promise<{ mine: GrantRow[]; toDecide: GrantRow[] }> {
  await recordExpiredGrants(ctx.db, { queues: ctx.queues });
  const mine = await ctx.db.select().from(accessGrants).where(eq(accessGrants.requester, userid)).orderBy(desc(accessGrants.createdAt)).limit(200);
  const waiting = await ctx.db.select().from(accessGrants).where(and(eq(accessGrants.state, 'requested'), sql`${accessGrants.requester} <> ${userid}`)).orderBy(desc(accessGrants.createdAt)).limit(200);
  const subject = await loadAccessSubject(ctx.db, userid, ctx.config.adminUserIds);
  const toDecide: GrantRow[] = [];
  for (const grant of waiting) if (await holdsGrantedAccess(ctx.db, subject, grant)) toDecide.push(grant);
  return { mine, toDecide };
}

export async function listGrantsForAdmin(ctx: AppContext, reviewOnly: boolean): Promise<GrantRow[]> {
  await recordExpiredGrants(ctx.db, { queues: ctx.queues });
  return ctx.db.select().from(accessGrants)
    .where(reviewOnly ? and(eq(accessGrants.emergency, true), isNull(accessGrants.reviewedAt)) : undefined)
    .orderBy(desc(accessGrants.createdAt)).limit(500);
}
