import { randomUUID } from 'node:crypto';
import { and, desc, eq, inArray, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { AppContext } from '../context.ts';
import type { Database, Queryable } from '../db/database.ts';
import { campaigns, campaignTasks, customers, outgoingWrites, type CampaignState, type TouchStatus } from '../db/schema.ts';
import { DomainError } from '../http/domain-error.ts';
import type { AccessSubject } from '../policy/customer-scope.ts';
import type * as Api from '../wecom/api-types.ts';
import type { WecomClient } from '../wecom/client.ts';
import { audienceSchema, audienceSql, assertAudienceTags, countAudienceSteps, unknownAudienceTags, type AudienceCounts, type AudienceDefinition } from './audience.service.ts';
import { audit } from './audit.service.ts';
import { loadAccessSubject, memberRoleNames } from './customer-access.service.ts';
import { idList, rowsOf } from './customer-filter.ts';
import { personalTagSnapshot, sharedTagSnapshot } from './tag-snapshot.ts';
import type { PolicyCache } from './tag-policy.service.ts';
import { enqueueWrite, recordWrite } from './wecom-writes.service.ts';
import type { Queues } from '../../jobs/queues.ts';

/**
 * Group-message campaigns. A manager or admin defines an audience (audience.service.ts) and a
 * message; when it is sent (now or at its scheduled time) the audience is evaluated again with the
 * creator's authority at that moment, each customer goes to its owner (an active member still
 * related to it), and each owner gets one WeCom task (`add_msg_template` with `sender`, ≤ 10,000
 * customers per call, through the write queue). Every customer reached for is a touch, recorded
 * with the tags that selected it; the tags' visibility rules are snapshotted on the campaign.
 * Results come from get_groupmsg_task / get_groupmsg_send_result (a repeatable poll and refresh).
 */

/** WeCom: ≤ 10,000 external_userid per add_msg_template call. */
export const CUSTOMERS_PER_TEMPLATE = 10_000;

const utf8Bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

/** The attachments a campaign may carry (WeCom's shapes): an image by URL, a link, a mini-program page. */
const attachmentSchema = z.discriminatedUnion('msgtype', [
  z.object({ msgtype: z.literal('image'), image: z.object({ pic_url: z.url({ protocol: /^https?$/ }) }).strict() }).strict(),
  z.object({ msgtype: z.literal('link'), link: z.object({ title: z.string().min(1).max(128), url: z.url({ protocol: /^https?$/ }), picurl: z.url().optional(), desc: z.string().max(512).optional() }).strict() }).strict(),
  z.object({ msgtype: z.literal('miniprogram'), miniprogram: z.object({ title: z.string().min(1).max(64), pic_media_id: z.string().min(1).max(256), appid: z.string().min(1).max(64), page: z.string().min(1).max(256) }).strict() }).strict(),
]);

export const campaignContentSchema = z.object({
  text: z.object({ content: z.string().min(1).refine((c) => utf8Bytes(c) <= 4000, 'text.content is over 4000 bytes (WeCom\'s limit): shorten it') }).strict().optional(),
  attachments: z.array(attachmentSchema).max(9, 'at most 9 attachments (WeCom\'s limit)').default([]),
}).strict().refine((c) => c.text !== undefined || c.attachments.length > 0, 'a message needs text or at least one attachment');

export type CampaignContent = z.infer<typeof campaignContentSchema>;

export const createCampaignSchema = z.object({
  name: z.string().trim().min(1).max(100),
  audience: audienceSchema,
  content: campaignContentSchema,
}).strict();

export const sendCampaignSchema = z.object({
  /** Send at this time (ISO, in the future); absent: now. */
  at: z.iso.datetime({ offset: true }).optional(),
}).strict();

type CampaignRow = typeof campaigns.$inferSelect;

function notFound(): DomainError {
  return new DomainError('NOT_FOUND', 'no such campaign among yours');
}

/** Campaigns are for managers and admins (marketing); reps only send what reaches them in WeCom. */
export async function mayRunCampaigns(db: Queryable, userid: string, admins: string[]): Promise<boolean> {
  const held = await memberRoleNames(db, userid, admins);
  return held.active && (held.roles.includes('admin') || held.roles.includes('manager'));
}

async function assertMayRun(ctx: AppContext, actor: string, action: string, subjectId: string): Promise<void> {
  if (await mayRunCampaigns(ctx.db, actor, ctx.config.adminUserIds)) return;
  await ctx.db.transaction((tx) => audit(tx, { actor, action, subjectType: 'campaign', subjectId, outcome: 'denied', details: { reason: 'not a manager or admin' } }));
  throw new DomainError('FORBIDDEN', 'campaigns are created and sent by managers and admins');
}

/** The campaign, for its creator or an admin; anyone else gets the same 404 as a missing id (audited). */
export async function campaignFor(ctx: AppContext, viewer: string, id: string, action: string): Promise<CampaignRow> {
  const [row] = await ctx.db.select().from(campaigns).where(eq(campaigns.id, id));
  if (row && (row.createdBy === viewer || (await memberRoleNames(ctx.db, viewer, ctx.config.adminUserIds)).roles.includes('admin'))) return row;
  await ctx.db.transaction((tx) => audit(tx, { actor: viewer, action, subjectType: 'campaign', subjectId: id, outcome: 'denied', details: { reason: row ? 'not the creator' : 'no such campaign' } }));
  throw notFound();
}

function publicView(row: CampaignRow) {
  return {
    id: row.id, name: row.name, createdBy: row.createdBy, state: row.state, audience: row.audience, content: row.content,
    scheduledAt: row.scheduledAt, sentAt: row.sentAt, error: row.error, createdAt: row.createdAt,
  };
}

export async function createCampaign(ctx: AppContext, actor: string, input: z.infer<typeof createCampaignSchema>) {
  await assertMayRun(ctx, actor, 'campaign.create', '-');
  await assertAudienceTags(ctx, actor, input.audience);
  const subject = await loadAccessSubject(ctx.db, actor, ctx.config.adminUserIds);
  const counts = await countAudienceSteps(ctx.db, subject, input.audience);
  const id = `campaign-${randomUUID()}`;
  const row = await ctx.db.transaction(async (tx) => {
    const [created] = await tx.insert(campaigns).values({ id, name: input.name, createdBy: actor, audience: input.audience, content: input.content }).returning();
    await audit(tx, { actor, action: 'campaign.create', subjectType: 'campaign', subjectId: id, outcome: 'done', details: { name: input.name, audience: input.audience, audienceSize: counts.total } });
    return created!;
  });
  return { ...publicView(row), counts };
}

export async function listCampaigns(ctx: AppContext, viewer: string) {
  const admin = (await memberRoleNames(ctx.db, viewer, ctx.config.adminUserIds)).roles.includes('admin');
  const rows = await ctx.db.select().from(campaigns).where(admin ? undefined : eq(campaigns.createdBy, viewer)).orderBy(desc(campaigns.createdAt)).limit(200);
  return rows.map(publicView);
}

/** A campaign with its audience counts now (before sending) and its report (after). */
export async function readCampaign(ctx: AppContext, viewer: string, id: string) {
  const row = await campaignFor(ctx, viewer, id, 'campaign.read');
  let counts: AudienceCounts | null = null;
  if (row.state === 'draft' || row.state === 'scheduled') {
    const subject = await loadAccessSubject(ctx.db, row.createdBy, ctx.config.adminUserIds);
    counts = await countAudienceSteps(ctx.db, subject, audienceSchema.parse(row.audience));
  }
  return { ...publicView(row), counts, report: await campaignReport(ctx.db, id) };
}

/** Customers of the audience that a rep can send to: an active owner still related to them. */
function withSenderSql(): ReturnType<typeof sql> {
  return sql`exists (select 1 from members m where m.userid = ${customers.ownerUserid} and m.status = 1)
    and exists (select 1 from follow_relations fr where fr.external_userid = ${customers.externalUserId} and fr.userid = ${customers.ownerUserid} and fr.status = 'active')`;
}

/** Per sending rep: how many customers they would send to, with the message (the preview). */
export async function previewCampaign(ctx: AppContext, viewer: string, id: string) {
  const row = await campaignFor(ctx, viewer, id, 'campaign.preview');
  const subject = await loadAccessSubject(ctx.db, row.createdBy, ctx.config.adminUserIds);
  const audience = audienceSchema.parse(row.audience);
  const senders = await rowsOf<{ sender: string; name: string; department_id: number | null; department: string | null; customers: number }>(ctx.db, sql`
    select ${customers.ownerUserid} as sender, m.name, m.main_department as department_id, d.name as department, count(*)::int as customers
    from ${customers}
    join members m on m.userid = ${customers.ownerUserid}
    left join departments d on d.id = m.main_department
    where ${audienceSql(subject, audience)} and ${withSenderSql()}
    group by ${customers.ownerUserid}, m.name, m.main_department, d.name order by count(*) desc, ${customers.ownerUserid}`);
  const counts = await countAudienceSteps(ctx.db, subject, audience);
  const reachable = senders.reduce((n, s) => n + s.customers, 0);
  return {
    content: row.content,
    senders: senders.map((s) => ({ userid: s.sender, name: s.name, departmentId: s.department_id, department: s.department, customers: s.customers, tasks: Math.ceil(s.customers / CUSTOMERS_PER_TEMPLATE) })),
    audience: counts.total,
    withoutSender: counts.total - reachable,
  };
}

export const campaignJobId = (id: string): string => `send-${id}`;

/** Sends now, or schedules the send (a delayed job) for `at`. Only the creator, while it is a draft. */
export async function sendCampaign(ctx: AppContext, actor: string, id: string, input: z.infer<typeof sendCampaignSchema>) {
  await assertMayRun(ctx, actor, 'campaign.send', id);
  const row = await campaignFor(ctx, actor, id, 'campaign.send');
  if (row.createdBy !== actor) throw new DomainError('FORBIDDEN', 'only the campaign\'s creator sends it');
  const at = input.at ? new Date(input.at) : null;
  if (at && at.getTime() <= Date.now()) throw new DomainError('BAD_REQUEST', 'the scheduled time is in the past: give a future time, or leave it out to send now');
  await assertAudienceTags(ctx, actor, audienceSchema.parse(row.audience));
  const state: CampaignState = at ? 'scheduled' : 'sending';
  const updated = await ctx.db.transaction(async (tx) => {
    const [changed] = await tx.update(campaigns).set({ state, scheduledAt: at, updatedAt: sql`now()` }).where(and(eq(campaigns.id, id), eq(campaigns.state, 'draft'))).returning();
    if (changed) await audit(tx, { actor, action: 'campaign.send', subjectType: 'campaign', subjectId: id, outcome: 'allowed', details: at ? { scheduledAt: at.toISOString() } : {} });
    return changed;
  });
  if (!updated) throw new DomainError('CONFLICT', `this campaign is ${row.state}: only a draft can be sent`);
  await ctx.queues.campaigns.add('send', { campaignId: id }, { jobId: campaignJobId(id), delay: at ? at.getTime() - Date.now() : 0 });
  return publicView(updated);
}

/** Cancels a draft or a scheduled campaign (a sent one is in the reps' hands in WeCom). */
export async function cancelCampaign(ctx: AppContext, actor: string, id: string) {
  const row = await campaignFor(ctx, actor, id, 'campaign.cancel');
  const updated = await ctx.db.transaction(async (tx) => {
    const [changed] = await tx.update(campaigns).set({ state: 'canceled', updatedAt: sql`now()` }).where(and(eq(campaigns.id, id), inArray(campaigns.state, ['draft', 'scheduled']))).returning();
    if (changed) await audit(tx, { actor, action: 'campaign.cancel', subjectType: 'campaign', subjectId: id, outcome: 'done', details: { was: row.state } });
    return changed;
  });
  if (!updated) throw new DomainError('CONFLICT', `this campaign is ${row.state}: only a draft or a scheduled campaign can be canceled`);
  await ctx.queues.campaigns.remove(campaignJobId(id)).catch(() => undefined);
  return publicView(updated);
}

export interface CampaignDeps {
  db: Database;
  policy: PolicyCache;
  queues: Queues;
  adminUserIds: string[];
}

/** Why the creator may not send any more (checked again when the send runs), or null. */
async function refusalAtSend(deps: CampaignDeps, row: CampaignRow, audience: AudienceDefinition): Promise<string | null> {
  if (!(await mayRunCampaigns(deps.db, row.createdBy, deps.adminUserIds))) return 'the creator is no longer a manager or admin';
  const unknown = await unknownAudienceTags(deps.db, await deps.policy.view(row.createdBy), row.createdBy, audience);
  return unknown.length ? `the creator may no longer use these tags: ${unknown.join(', ')}` : null;
}

/**
 * The `campaigns` job: evaluates the audience with the creator's authority now, records the touches,
 * the tasks (one per owner) and their add_msg_template writes in one transaction, then queues the
 * writes. A campaign that was canceled or already sent is left alone.
 */
export async function runCampaignSend(deps: CampaignDeps, id: string): Promise<void> {
  const { db } = deps;
  const [row] = await db.select().from(campaigns).where(eq(campaigns.id, id));
  if (!row || (row.state !== 'sending' && row.state !== 'scheduled')) return;
  const audience = audienceSchema.parse(row.audience);
  const content = campaignContentSchema.parse(row.content);
  const refused = await refusalAtSend(deps, row, audience);
  if (refused) {
    await db.transaction(async (tx) => {
      await tx.update(campaigns).set({ state: 'failed', error: `refused when sending: ${refused}`, updatedAt: sql`now()` }).where(eq(campaigns.id, id));
      await audit(tx, { actor: row.createdBy, action: 'campaign.run', subjectType: 'campaign', subjectId: id, outcome: 'denied', details: { reason: refused } });
    });
    return;
  }
  const subject: AccessSubject = await loadAccessSubject(db, row.createdBy, deps.adminUserIds);
  const policy = await deps.policy.policy();
  const shared = [...new Set([...audience.enterpriseTags, ...audience.directedTags])];
  const selecting = [...shared, ...audience.personalTags];
  const personalNames = audience.personalTags.length
    ? await rowsOf<{ id: string; name: string }>(db, sql`select id, name from personal_tags where id in (${idList(audience.personalTags)})`)
    : [];
  const snapshot = Object.fromEntries([
    ...shared.map((tagId) => [tagId, sharedTagSnapshot(policy, tagId, [
      ...(audience.enterpriseTags.includes(tagId) ? ['enterprise' as const] : []),
      ...(audience.directedTags.includes(tagId) ? ['directed' as const] : []),
    ])]),
    ...personalNames.map((p) => [p.id, personalTagSnapshot(p.id, p.name, row.createdBy)]),
  ]);
  const selectedBy = selecting.length
    ? sql`coalesce((select jsonb_agg(distinct rt.tag_id) from relation_tags rt where rt.external_userid = ${customers.externalUserId}
        and rt.tag_id in (${idList(selecting)}) and (rt.kind <> 'personal' or rt.userid = ${row.createdBy})), '[]'::jsonb)`
    : sql`'[]'::jsonb`;
  const writeIds: number[] = [];
  await db.transaction(async (tx) => {
    const [locked] = await tx.select({ state: campaigns.state }).from(campaigns).where(eq(campaigns.id, id)).for('update');
    if (locked?.state !== 'sending' && locked?.state !== 'scheduled') return;
    await tx.execute(sql`insert into campaign_touches (campaign_id, external_userid, sender, department_id, selected_by)
      select ${id}, ${customers.externalUserId}, ${customers.ownerUserid}, (select m.main_department from members m where m.userid = ${customers.ownerUserid}), ${selectedBy}
      from ${customers} where ${audienceSql(subject, audience)} and ${withSenderSql()}
      on conflict do nothing`);
    const senders = await rowsOf<{ sender: string; department_id: number | null; ids: string[] }>(tx, sql`
      select sender, min(department_id) as department_id, array_agg(external_userid order by external_userid) as ids
      from campaign_touches where campaign_id = ${id} group by sender order by sender`);
    for (const s of senders) {
      const ids: string[] = [];
      for (let i = 0; i < s.ids.length; i += CUSTOMERS_PER_TEMPLATE) {
        const payload: Api.AddMsgTemplateRequest = {
          chat_type: 'single', sender: s.sender, external_userid: s.ids.slice(i, i + CUSTOMERS_PER_TEMPLATE),
          ...(content.text ? { text: content.text } : {}), attachments: content.attachments as Api.WelcomeAttachment[],
        };
        const writeId = await recordWrite(tx, { api: 'add_msg_template', payload }, row.createdBy);
        ids.push(String(writeId));
        writeIds.push(writeId);
      }
      await tx.insert(campaignTasks).values({ campaignId: id, sender: s.sender, departmentId: s.department_id, customers: s.ids.length, writeIds: ids.map(Number) });
    }
    const touched = senders.reduce((n, s) => n + s.ids.length, 0);
    await tx.update(campaigns).set({ state: 'sending', sentAt: sql`now()`, tagSnapshot: snapshot, updatedAt: sql`now()` }).where(eq(campaigns.id, id));
    await audit(tx, { actor: row.createdBy, action: 'campaign.run', subjectType: 'campaign', subjectId: id, outcome: 'done', details: { senders: senders.length, customers: touched, writes: writeIds.length } });
  });
  // Bulk: each rep's task may wait behind interactive writes (tags, remarks).
  for (const writeId of writeIds) await enqueueWrite(deps.queues, writeId, { priority: 5 });
}

const STATUS_OF_RESULT: Record<number, TouchStatus> = { 0: 'pending', 1: 'delivered', 2: 'not_friend', 3: 'over_limit' };

/** Sets the status of pending touches from WeCom's answers, 1,000 rows per statement. */
async function applyTouchStatuses(db: Queryable, campaignId: string, rows: { id: string; status: TouchStatus; sentAt: number | null }[]): Promise<number> {
  let changed = 0;
  const moving = rows.filter((r) => r.status !== 'pending');
  for (let i = 0; i < moving.length; i += 1_000) {
    const values = sql.join(moving.slice(i, i + 1_000).map((r) => sql`(${r.id}, ${r.status}, ${r.sentAt}::bigint)`), sql`, `);
    const result = await rowsOf<{ n: number }>(db, sql`with moved as (
        update campaign_touches t set status = v.status, sent_at = case when v.sent is null then null else to_timestamp(v.sent) end, updated_at = now()
        from (values ${values}) as v(id, status, sent)
        where t.campaign_id = ${campaignId} and t.external_userid = v.id and t.status = 'pending' returning 1)
      select count(*)::int as n from moved`);
    changed += result[0]!.n;
  }
  return changed;
}

export interface PollDeps { db: Database; wecom: WecomClient }

/**
 * Reads one campaign's results: the writes' answers (msgid, fail_list, or failure), then each rep's
 * task and per-customer results. The campaign is `sent` once every write has an answer.
 */
export async function pollCampaign(deps: PollDeps, id: string): Promise<{ updated: number; failed: string[] }> {
  const { db } = deps;
  const tasks = await db.select().from(campaignTasks).where(eq(campaignTasks.campaignId, id));
  const allWrites = tasks.flatMap((t) => t.writeIds);
  const writes = allWrites.length ? await db.select().from(outgoingWrites).where(inArray(outgoingWrites.id, allWrites)) : [];
  const byId = new Map(writes.map((w) => [w.id, w]));
  let updated = 0;
  const failed: string[] = [];
  for (const task of tasks) {
    const msgids: string[] = [];
    for (const writeId of task.writeIds) {
      const write = byId.get(writeId);
      if (!write || write.state === 'queued') continue;
      const payload = write.payload as unknown as Api.AddMsgTemplateRequest;
      if (write.state === 'failed') {
        updated += await applyTouchStatuses(db, id, (payload.external_userid ?? []).map((c) => ({ id: c, status: 'failed', sentAt: null })));
        continue;
      }
      const result = (write.result ?? {}) as Partial<Api.AddMsgTemplateResponse>;
      if (result.msgid) msgids.push(result.msgid);
      updated += await applyTouchStatuses(db, id, (result.fail_list ?? []).map((c) => ({ id: c, status: 'refused', sentAt: null })));
    }
    let wecomStatus: number | null = task.wecomStatus;
    for (const msgid of msgids) {
      try {
        const taskList = await deps.wecom.getGroupmsgTask(msgid);
        wecomStatus = taskList.find((t) => t.userid === task.sender)?.status ?? wecomStatus;
        const results = await deps.wecom.getGroupmsgSendResult(msgid, task.sender);
        updated += await applyTouchStatuses(db, id, results.filter((r) => r.external_userid).map((r) => ({
          id: r.external_userid!, status: STATUS_OF_RESULT[r.status] ?? 'pending', sentAt: r.status === 1 ? r.send_time ?? null : null,
        })));
      } catch (error) {
        failed.push(`${task.sender}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    await db.update(campaignTasks).set({ msgids, wecomStatus, polledAt: sql`now()` }).where(and(eq(campaignTasks.campaignId, id), eq(campaignTasks.sender, task.sender)));
  }
  if (allWrites.every((w) => byId.get(w) && byId.get(w)!.state !== 'queued')) {
    await db.update(campaigns).set({ state: 'sent', updatedAt: sql`now()` }).where(and(eq(campaigns.id, id), eq(campaigns.state, 'sending')));
  }
  return { updated, failed };
}

/** Campaigns still sending, or sent in the last 30 days with customers not reached yet. */
export async function pollOpenCampaigns(deps: PollDeps): Promise<{ campaigns: number; updated: number; failed: string[] }> {
  const open = await rowsOf<{ id: string }>(deps.db, sql`select c.id from campaigns c where c.state = 'sending'
    or (c.state = 'sent' and c.sent_at > now() - interval '30 days' and exists (select 1 from campaign_touches t where t.campaign_id = c.id and t.status = 'pending'))`);
  let updated = 0;
  const failed: string[] = [];
  for (const { id } of open) {
    const outcome = await pollCampaign(deps, id);
    updated += outcome.updated;
    failed.push(...outcome.failed);
  }
  return { campaigns: open.length, updated, failed };
}

/** Asks WeCom now (POST /api/campaigns/:id/refresh); 502 when WeCom did not answer. */
export async function refreshCampaign(ctx: AppContext, viewer: string, id: string) {
  const row = await campaignFor(ctx, viewer, id, 'campaign.refresh');
  if (row.state !== 'sending' && row.state !== 'sent') throw new DomainError('CONFLICT', `this campaign is ${row.state}: there are no results to read yet`);
  const outcome = await pollCampaign({ db: ctx.db, wecom: ctx.wecom }, id);
  if (outcome.failed.length) throw new DomainError('WECOM_ERROR', `WeCom did not answer the group-message results: ${outcome.failed[0]}`);
  return readCampaign(ctx, viewer, id);
}

/** Per sender's department: customers targeted, delivered, failed (any reason) and still pending; and per rep. */
export async function campaignReport(db: Queryable, id: string) {
  const departments = await rowsOf<{ department_id: number | null; department: string | null; targeted: number; delivered: number; failed: number; pending: number }>(db, sql`
    select t.department_id, d.name as department, count(*)::int as targeted,
      count(*) filter (where t.status = 'delivered')::int as delivered,
      count(*) filter (where t.status in ('not_friend', 'over_limit', 'refused', 'failed'))::int as failed,
      count(*) filter (where t.status = 'pending')::int as pending
    from campaign_touches t left join departments d on d.id = t.department_id
    where t.campaign_id = ${id} group by t.department_id, d.name order by t.department_id nulls last`);
  const senders = await rowsOf<{ sender: string; name: string | null; wecom_status: number | null; customers: number; delivered: number; failed: number }>(db, sql`
    select k.sender, m.name, k.wecom_status, k.customers,
      (select count(*)::int from campaign_touches t where t.campaign_id = k.campaign_id and t.sender = k.sender and t.status = 'delivered') as delivered,
      (select count(*)::int from campaign_touches t where t.campaign_id = k.campaign_id and t.sender = k.sender and t.status in ('not_friend', 'over_limit', 'refused', 'failed')) as failed
    from campaign_tasks k left join members m on m.userid = k.sender where k.campaign_id = ${id} order by k.sender`);
  const sum = (key: 'targeted' | 'delivered' | 'failed' | 'pending') => departments.reduce((n, d) => n + d[key], 0);
  return {
    totals: { targeted: sum('targeted'), delivered: sum('delivered'), failed: sum('failed'), pending: sum('pending') },
    departments: departments.map((d) => ({ departmentId: d.department_id, department: d.department, targeted: d.targeted, delivered: d.delivered, failed: d.failed, pending: d.pending })),
    senders: senders.map((s) => ({ userid: s.sender, name: s.name, sent: s.wecom_status === 2, customers: s.customers, delivered: s.delivered, failed: s.failed })),
  };
}
