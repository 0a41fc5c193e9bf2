import { randomUUID } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import type { AppContext } from '../context.ts';
import { backgroundJobs, customers, members } from '../db/schema.ts';
import { DomainError } from '../http/domain-error.ts';
import { reason } from '../http/reason.ts';
import { customerScopeSql, effectiveScope, type AccessSubject } from '../policy/customer-scope.ts';
import { auditDeniedCustomers, checkCustomers, deniedError } from './assignment.service.ts';
import { audit } from './audit.service.ts';
import { loadAccessSubject } from './customer-access.service.ts';
import { departmentSubtreeSql, rowsOf } from './customer-filter.ts';
import { MEMBER_LEFT } from './org-sync.service.ts';
import { customersById, memberWithinScopeSql, moveOwners } from './owner-moves.ts';
import { createTransferBatches, enqueueTransferJob, type CreatedBatch, type NotSent, type PlannedTransfer } from './transfers.service.ts';

/**
 * Departures (离职继承): a member who left (status 5, from the org sync or a change_contact event)
 * leaves customers they own and WeCom relations with customers. Admins and managers list them and
 * reassign them in bulk, to one member or spread evenly over a department's active members: the
 * owner changes at once (history reason `departure`), and where the leaver still holds the WeCom
 * relation a resigned-member transfer (resigned/transfer_customer) moves it to the new owner.
 * Everything is limited to customers inside the actor's `assign` scope, in SQL.
 */

/** The leaver's customers: owned by them, or with an active WeCom relation to them. */
function heldByLeaverSql(userid: string) {
  return sql`(${customers.ownerUserid} = ${userid} or exists (select 1 from follow_relations fr
    where fr.external_userid = ${customers.externalUserId} and fr.userid = ${userid} and fr.status = 'active'))`;
}

async function subjectWhoMayReassign(ctx: AppContext, actor: string, action: 'departure.read' | 'departure.reassign', what: string): Promise<AccessSubject> {
  const subject = await loadAccessSubject(ctx.db, actor, ctx.config.adminUserIds);
  if (effectiveScope(subject, 'assign') === 'none') {
    await ctx.db.transaction((tx) => audit(tx, { actor, action, subjectType: 'departure', subjectId: what, outcome: 'denied', details: { reason: 'no assign scope' } }));
    throw new DomainError('FORBIDDEN', 'departures are for admins and managers (you may not assign customers)', undefined, reason('ownership.departures_not_allowed'));
  }
  return subject;
}

export interface DepartureSummary {
  userid: string;
  name: string;
  leftAt: Date | null;
  /** Customers within your assign scope that the leaver owns. */
  owned: number;
  /** Customers within your assign scope the leaver still holds a WeCom relation with. */
  followed: number;
}

/** Members who left and still hold customers inside the actor's `assign` scope. */
export async function listDepartures(ctx: AppContext, actor: string): Promise<DepartureSummary[]> {
  const subject = await subjectWhoMayReassign(ctx, actor, 'departure.read', 'list');
  const scope = customerScopeSql(subject, 'assign');
  return rowsOf<DepartureSummary>(ctx.db, sql`
    select * from (
      select m.userid, m.name, m.left_at as "leftAt",
        (select count(*)::int from ${customers} where ${customers.ownerUserid} = m.userid and (${scope})) as owned,
        (select count(*)::int from ${customers} where exists (select 1 from follow_relations fr
            where fr.external_userid = ${customers.externalUserId} and fr.userid = m.userid and fr.status = 'active') and (${scope})) as followed
      from members m where m.status = ${MEMBER_LEFT}
    ) d where d.owned + d.followed > 0
    order by d."leftAt" desc nulls last, d.userid`);
}

async function leaver(ctx: AppContext, userid: string): Promise<{ userid: string; name: string; status: number }> {
  const [member] = await ctx.db.select({ userid: members.userid, name: members.name, status: members.status }).from(members).where(eq(members.userid, userid));
  if (!member) throw new DomainError('NOT_FOUND', `no member ${userid}`);
  return member;
}

export interface DepartureCustomer {
  externalUserId: string;
  name: string;
  ownerUserid: string | null;
  /** The leaver still holds the WeCom relation (a resigned transfer is needed). */
  relationWithLeaver: boolean;
  /** The state of the customer's latest transfer, if any. */
  transferState: string | null;
}

/** One leaver's customers inside the actor's `assign` scope, in id order (keyset: `after`). */
export async function departureCustomers(ctx: AppContext, actor: string, userid: string, page: { after?: string; limit: number }): Promise<{ member: { userid: string; name: string }; items: DepartureCustomer[]; nextCursor: string | null }> {
  const subject = await subjectWhoMayReassign(ctx, actor, 'departure.read', userid);
  const member = await leaver(ctx, userid);
  if (member.status !== MEMBER_LEFT) throw new DomainError('NOT_FOUND', `${userid} has not left`);
  const items = await rowsOf<DepartureCustomer>(ctx.db, sql`
    select ${customers.externalUserId} as "externalUserId", ${customers.name} as name, ${customers.ownerUserid} as "ownerUserid",
      exists (select 1 from follow_relations fr where fr.external_userid = ${customers.externalUserId} and fr.userid = ${userid} and fr.status = 'active') as "relationWithLeaver",
      (select ti.state from transfer_items ti join transfer_batches b on b.id = ti.batch_id
        where ti.external_userid = ${customers.externalUserId} order by b.created_at desc limit 1) as "transferState"
    from ${customers}
    where ${heldByLeaverSql(userid)} and (${customerScopeSql(subject, 'assign')}) and ${customers.externalUserId} > ${page.after ?? ''}
    order by ${customers.externalUserId} limit ${page.limit + 1}`);
  const more = items.length > page.limit;
  const shown = more ? items.slice(0, page.limit) : items;
  return { member: { userid: member.userid, name: member.name }, items: shown, nextCursor: more ? shown[shown.length - 1]!.externalUserId : null };
}

export type ReassignTarget = { to: string } | { toDepartment: number };

export interface ReassignResult {
  reassigned: number;
  byOwner: Record<string, number>;
  /** The WeCom side, when the leaver still held relations: progress at `GET /api/jobs/:id`. */
  jobId: string | null;
  transfers: CreatedBatch[];
  notSent: NotSent[];
  /** Relations the actor may not transfer (no `transfer` scope on them): owner changed, relation not moved. */
  notTransferred: string[];
}

/**
 * Reassigns the leaver's customers (all of those inside the actor's `assign` scope, or the named
 * ones, which must all be inside it). New owners must be active members inside the actor's scope;
 * with `toDepartment` the customers are spread round-robin over its active members (sub-departments
 * included) that are inside that scope.
 */
export async function reassignDeparted(ctx: AppContext, actor: string, userid: string, target: ReassignTarget, only?: string[]): Promise<ReassignResult> {
  const subject = await subjectWhoMayReassign(ctx, actor, 'departure.reassign', userid);
  const member = await leaver(ctx, userid);
  if (member.status !== MEMBER_LEFT) throw new DomainError('CONFLICT', `${userid} has not left the company: use POST /api/customers/assign or /api/transfers`, undefined, reason('ownership.not_left', { member: userid }));
  const candidates = 'to' in target
    ? sql`select ${target.to}::text as userid`
    : sql`select distinct md.userid from member_departments md where md.department_id in (${departmentSubtreeSql([target.toDepartment])})`;
  const owners = (await rowsOf<{ userid: string }>(ctx.db, sql`
    select t.userid from (${candidates}) t where ${memberWithinScopeSql(subject, 'assign', sql`t.userid`)} order by t.userid`)).map((r) => r.userid);
  if (owners.length === 0) {
    await auditDeniedCustomers(ctx.db, actor, 'departure.reassign', only ?? [], { leaver: userid, target, reason: 'no new owner inside the actor\'s scope' });
    throw new DomainError('FORBIDDEN', 'to' in target
      ? `nothing changed: ${target.to} is not an active member inside your scope`
      : `nothing changed: department ${target.toDepartment} has no active member inside your scope`, { target },
    'to' in target ? reason('ownership.member_outside_scope', { member: target.to }) : reason('ownership.department_empty_in_scope', { department: target.toDepartment }));
  }
  if (only?.length) {
    const check = await checkCustomers(ctx.db, subject, 'assign', [...new Set(only)].sort());
    const [held] = await rowsOf<{ ids: string[] }>(ctx.db, sql`select coalesce(array_agg(${customers.externalUserId}), '{}') as ids from ${customers}
      where ${customers.externalUserId} in (${customersById(only)}) and ${heldByLeaverSql(userid)}`);
    const notHeld = only.filter((id) => !held!.ids.includes(id) && !check.notFound.includes(id) && !check.notAllowed.includes(id));
    if (check.notFound.length || check.notAllowed.length || notHeld.length) {
      await auditDeniedCustomers(ctx.db, actor, 'departure.reassign', only, { leaver: userid, notFound: check.notFound, notAllowed: check.notAllowed, notHeldByLeaver: notHeld });
      if (notHeld.length && !check.notFound.length && !check.notAllowed.length) {
        throw new DomainError('BAD_REQUEST', `nothing changed: not customers of ${userid}: ${notHeld.join(', ')}`, { notHeldByLeaver: notHeld });
      }
      throw deniedError('assign', check);
    }
  }
  const jobId = `transfer-job-${randomUUID()}`;
  const outcome = await ctx.db.transaction(async (tx) => {
    const selected = await rowsOf<{ id: string; owned: boolean; follows: boolean; transferable: boolean }>(tx, sql`
      select ${customers.externalUserId} as id, ${customers.ownerUserid} is not distinct from ${userid}::text as owned,
        exists (select 1 from follow_relations fr where fr.external_userid = ${customers.externalUserId} and fr.userid = ${userid} and fr.status = 'active') as follows,
        (${customerScopeSql(subject, 'transfer')}) as transferable
      from ${customers}
      where ${heldByLeaverSql(userid)} and (${customerScopeSql(subject, 'assign')})
        ${only?.length ? sql`and ${customers.externalUserId} in (${customersById(only)})` : sql``}
      order by ${customers.externalUserId}
      for update of ${customers}`);
    // Round-robin over the new owners, in id order: even spread, the same answer on a retry.
    const ownerOf = new Map(selected.map((c, i) => [c.id, owners[i % owners.length]!]));
    const byOwner: Record<string, number> = {};
    let reassigned = 0;
    for (const owner of owners) {
      const ids = selected.filter((c) => c.owned && ownerOf.get(c.id) === owner).map((c) => c.id);
      if (ids.length === 0) continue;
      const moved = await moveOwners(tx, customersById(ids), owner, 'departure', actor, { returnRows: true });
      reassigned += moved.changedCount;
      byOwner[owner] = moved.changedCount;
      await audit(tx, {
        actor, action: 'departure.reassign', subjectType: 'member', subjectId: userid, outcome: 'done',
        details: { to: owner, customers: moved.changed.map((c) => c.externalUserId) },
      });
    }
    const planned: PlannedTransfer[] = selected.filter((c) => c.follows && c.transferable).map((c) => ({ externalUserId: c.id, handover: userid, takeover: ownerOf.get(c.id)! }));
    const notTransferred = selected.filter((c) => c.follows && !c.transferable).map((c) => c.id);
    if (planned.length === 0) return { reassigned, byOwner, transfers: [], notSent: [], notTransferred, jobId: null };
    await tx.insert(backgroundJobs).values({ id: jobId, kind: 'transfer', requestedBy: actor, total: planned.length });
    const created = await createTransferBatches(tx, actor, jobId, planned);
    return { reassigned, byOwner, transfers: created.batches, notSent: created.notSent, notTransferred, jobId };
  });
  if (outcome.jobId) await enqueueTransferJob(ctx.queues, outcome.jobId);
  return outcome;
}

/** `get_unassigned_list`: WeCom's own list of customers of members who left, not yet reassigned. */
export async function unassignedInWecom(ctx: AppContext): Promise<{ handoverUserid: string; handoverName: string | null; externalUserId: string; customerName: string | null; dimissionTime: number }[]> {
  const rows = await ctx.wecom.getUnassignedList();
  if (rows.length === 0) return [];
  const names = await rowsOf<{ kind: 'm' | 'c'; id: string; name: string }>(ctx.db, sql`
    select 'm' as kind, userid as id, name from members where userid in (select json_array_elements_text(${JSON.stringify([...new Set(rows.map((r) => r.handover_userid))])}::json))
    union all
    select 'c', external_userid, name from customers where external_userid in (${customersById(rows.map((r) => r.external_userid))})`);
  const nameOf = new Map(names.map((n) => [`${n.kind}:${n.id}`, n.name]));
  return rows.map((r) => ({
    handoverUserid: r.handover_userid, handoverName: nameOf.get(`m:${r.handover_userid}`) ?? null,
    externalUserId: r.external_userid, customerName: nameOf.get(`c:${r.external_userid}`) ?? null, dimissionTime: r.dimission_time,
  }));
}
