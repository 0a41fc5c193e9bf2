import { randomBytes } from 'node:crypto';
import { and, asc, eq, gt, inArray, isNull, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { AppContext } from '../context.ts';
import type { Queryable } from '../db/database.ts';
import { contactWays, departments, members, tags, type ContactWayRules } from '../db/schema.ts';
import { DomainError } from '../http/domain-error.ts';
import { reason, type Reason } from '../http/reason.ts';
import type { UpdateContactWayRequest } from '../wecom/api-types.ts';
import { isWecomApiError } from '../wecom/errors.ts';
import { audit } from './audit.service.ts';
import { MEMBER_LEFT } from './org-sync.service.ts';

/**
 * 「联系我」 contact ways managed by admins: created, updated and deleted in WeCom first
 * (`add/update/del_contact_way`), then stored locally with their auto-tagging rules, every change
 * audited. Configuration answers carry warnings where the rules and the tag policy disagree (a tag
 * some members may not use, a rule-group tag outside some members' range, a deleted tag); the rules
 * themselves are enforced again when they run (auto-tagging.service.ts).
 */

export type ContactWayRow = typeof contactWays.$inferSelect;

// ── input ────────────────────────────────────────────────────────────────────────────────────────

/** WeCom allows 30 characters; letters, digits, `_` and `-` keep it safe in URLs and OAuth-style checks. */
export const STATE_PATTERN = /^[A-Za-z0-9_-]{1,30}$/;
/** Placeholders the remark, description and welcome templates may use. */
export const TEMPLATE_PLACEHOLDERS = ['customer_name', 'member_name', 'state', 'date'] as const;
export type TemplateValues = Record<(typeof TEMPLATE_PLACEHOLDERS)[number], string>;
/** WeCom's limits on what the templates fill (externalcontact/remark, send_welcome_msg). */
export const REMARK_MAX = 20;
export const DESCRIPTION_MAX = 150;
const MAX_MEMBERS = 100;
const PLACEHOLDER = /\{([A-Za-z_]+)\}/g;

function placeholdersOf(template: string): string[] {
  return [...template.matchAll(PLACEHOLDER)].map((m) => m[1]!);
}

/** A template: known placeholders only; its fixed text must fit WeCom's limit (placeholders may be cut). */
const template = (fixedMax: number, what: string) => z.string().max(fixedMax * 4)
  .refine((t) => placeholdersOf(t).every((p) => (TEMPLATE_PLACEHOLDERS as readonly string[]).includes(p)), {
    message: `unknown placeholder; ${what} may use ${TEMPLATE_PLACEHOLDERS.map((p) => `{${p}}`).join(', ')}`,
  })
  .refine((t) => t.replace(PLACEHOLDER, '').length <= fixedMax, { message: `${what} text without placeholders must be at most ${fixedMax} characters (WeCom's limit)` });

const userid = z.string().min(1).max(64);
const departmentId = z.number().int().positive();

const ownerRule = z.discriminatedUnion('mode', [
  z.object({ mode: z.literal('adder') }).strict(),
  z.object({ mode: z.literal('round_robin'), departmentId }).strict(),
  z.object({ mode: z.literal('fixed'), userid }).strict(),
], { error: 'owner.mode must be adder, round_robin (with departmentId) or fixed (with userid)' });

const attachment = z.discriminatedUnion('msgtype', [
  z.object({ msgtype: z.literal('image'), image: z.object({ media_id: z.string().min(1).optional(), pic_url: z.url().optional() }).refine((i) => i.media_id || i.pic_url, 'image needs media_id or pic_url') }),
  z.object({ msgtype: z.literal('link'), link: z.object({ title: z.string().min(1).max(128), picurl: z.url().optional(), desc: z.string().max(512).optional(), url: z.url() }) }),
  z.object({ msgtype: z.literal('miniprogram'), miniprogram: z.object({ title: z.string().min(1).max(64), pic_media_id: z.string().min(1), appid: z.string().min(1), page: z.string().min(1) }) }),
  z.object({ msgtype: z.literal('video'), video: z.object({ media_id: z.string().min(1) }) }),
  z.object({ msgtype: z.literal('file'), file: z.object({ media_id: z.string().min(1) }) }),
], { error: 'attachment msgtype must be image, link, miniprogram, video or file with the matching object' });

export const rulesSchema = z.object({
  tagIds: z.array(z.string().min(1).max(128)).max(100).default([]).transform((ids) => [...new Set(ids)]),
  owner: ownerRule.default({ mode: 'adder' }),
  remarkTemplate: template(REMARK_MAX, 'remarkTemplate').optional(),
  descriptionTemplate: template(DESCRIPTION_MAX, 'descriptionTemplate').optional(),
  welcome: z.object({
    text: z.string().min(1).refine((t) => Buffer.byteLength(t) <= 4000, 'welcome.text must be at most 4000 bytes')
      .refine((t) => placeholdersOf(t).every((p) => (TEMPLATE_PLACEHOLDERS as readonly string[]).includes(p)), `unknown placeholder; welcome.text may use ${TEMPLATE_PLACEHOLDERS.map((p) => `{${p}}`).join(', ')}`)
      .optional(),
    attachments: z.array(attachment).max(9, 'at most 9 welcome attachments').optional(),
  }).strict().refine((w) => w.text || w.attachments?.length, 'welcome needs text or attachments').optional(),
}).strict();

const stateField = z.string().regex(STATE_PATTERN, 'state must be 1 to 30 characters: letters, digits, _ and -');

export const createContactWaySchema = z.object({
  users: z.array(userid).max(MAX_MEMBERS).default([]).transform((ids) => [...new Set(ids)]),
  parties: z.array(departmentId).max(MAX_MEMBERS).default([]).transform((ids) => [...new Set(ids)]),
  type: z.union([z.literal(1), z.literal(2)], { error: 'type must be 1 (single member) or 2 (several members)' }).optional(),
  skipVerify: z.boolean().default(true),
  remark: z.string().max(30, 'remark must be at most 30 characters').optional(),
  state: stateField.optional(),
  rules: rulesSchema,
}).strict();
export type CreateContactWayInput = z.infer<typeof createContactWaySchema>;

export const updateContactWaySchema = z.object({
  users: z.array(userid).max(MAX_MEMBERS).transform((ids) => [...new Set(ids)]).optional(),
  parties: z.array(departmentId).max(MAX_MEMBERS).transform((ids) => [...new Set(ids)]).optional(),
  skipVerify: z.boolean().optional(),
  remark: z.string().max(30, 'remark must be at most 30 characters').optional(),
  state: stateField.optional(),
  rules: rulesSchema.optional(),
}).strict().refine((b) => Object.keys(b).length > 0, 'nothing to change: give users, parties, skipVerify, remark, state or rules');
export type UpdateContactWayInput = z.infer<typeof updateContactWaySchema>;

// ── output ───────────────────────────────────────────────────────────────────────────────────────

export type ContactWayWarningCode = 'TAG_NOT_USABLE' | 'RULE_GROUP_RANGE' | 'TAG_DELETED' | 'OWNER_DEPARTMENT_EMPTY';

export interface ContactWayWarning {
  code: ContactWayWarningCode;
  /** English, for API clients; `reason` is the same as a code with parameters. */
  message: string;
  reason: Reason;
  tagId?: string;
  members?: string[];
}

export function contactWayView(row: ContactWayRow) {
  return {
    configId: row.configId,
    state: row.state,
    type: row.type,
    scene: row.scene,
    skipVerify: row.skipVerify,
    users: row.users,
    parties: row.parties,
    remark: row.remark,
    qrCode: row.qrCode,
    qrDownload: `/api/admin/contact-ways/${encodeURIComponent(row.configId)}/qr`,
    rules: row.rules,
    createdBy: row.createdBy,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

// ── templates ────────────────────────────────────────────────────────────────────────────────────

export function renderTemplate(text: string, values: TemplateValues): string {
  return text.replace(PLACEHOLDER, (whole, name: string) => (name in values ? values[name as keyof TemplateValues] : whole));
}

/** Cuts to WeCom's limit in UTF-16 units (how WeCom and the simulator count), never inside a character. */
export function truncateTo(text: string, max: number): string {
  let out = '';
  for (const ch of text) {
    if (out.length + ch.length > max) break;
    out += ch;
  }
  return out;
}

// ── organization helpers ─────────────────────────────────────────────────────────────────────────

/** Active members (status 1) of the departments and all their sub-departments, sorted by userid. */
export async function activeMembersOfDepartments(db: Queryable, departmentIds: number[]): Promise<string[]> {
  if (departmentIds.length === 0) return [];
  const result = (await db.execute(sql`
    with recursive tree(id) as (
      select id from departments where id in (${sql.join(departmentIds.map((id) => sql`${id}`), sql`, `)}) and removed_at is null
      union
      select d.id from departments d join tree t on d.parent_id = t.id where d.removed_at is null
    )
    select distinct m.userid from members m join member_departments md on md.userid = m.userid
    where md.department_id in (select id from tree) and m.status = 1
    order by m.userid`)) as unknown as { rows: { userid: string }[] };
  return result.rows.map((r) => r.userid);
}

/** Everyone a customer may reach through the contact way: its members plus the active members of its departments. */
export async function contactWayMembers(db: Queryable, users: string[], parties: number[]): Promise<string[]> {
  return [...new Set([...users, ...(await activeMembersOfDepartments(db, parties))])].sort();
}

// ── validation against local state ───────────────────────────────────────────────────────────────

function deriveType(users: string[], parties: number[], requested: 1 | 2 | undefined): 1 | 2 {
  if (users.length + parties.length === 0) throw new DomainError('BAD_REQUEST', 'a contact way needs at least one member (users) or department (parties)');
  const single = users.length === 1 && parties.length === 0;
  if (requested === 1 && !single) throw new DomainError('BAD_REQUEST', 'type 1 (single member) takes exactly one member in users and no parties');
  return requested ?? (single ? 1 : 2);
}

async function checkMembersAndDepartments(db: Queryable, users: string[], parties: number[]): Promise<void> {
  if (users.length) {
    const rows = await db.select({ userid: members.userid, status: members.status }).from(members).where(inArray(members.userid, users));
    const known = new Map(rows.map((r) => [r.userid, r.status]));
    const unknown = users.filter((u) => !known.has(u));
    if (unknown.length) throw new DomainError('BAD_REQUEST', `unknown members: ${unknown.join(', ')} (sync the organization if they were just added)`, { users: unknown });
    const inactive = users.filter((u) => known.get(u) !== 1);
    if (inactive.length) {
      throw new DomainError('BAD_REQUEST', `members not active: ${inactive.map((u) => `${u} (${known.get(u) === MEMBER_LEFT ? 'left the company' : `status ${known.get(u)}`})`).join(', ')}`, { users: inactive });
    }
  }
  if (parties.length) {
    const rows = await db.select({ id: departments.id }).from(departments).where(and(inArray(departments.id, parties), isNull(departments.removedAt)));
    const known = new Set(rows.map((r) => r.id));
    const unknown = parties.filter((p) => !known.has(p));
    if (unknown.length) throw new DomainError('BAD_REQUEST', `unknown departments: ${unknown.join(', ')}`, { parties: unknown });
  }
  const everyone = await contactWayMembers(db, users, parties);
  if (everyone.length > MAX_MEMBERS) throw new DomainError('BAD_REQUEST', `a contact way reaches at most ${MAX_MEMBERS} members, departments expanded; this one reaches ${everyone.length}`);
}

async function checkRules(db: Queryable, rules: ContactWayRules): Promise<void> {
  if (rules.tagIds.length) {
    const rows = await db.select({ tagId: tags.tagId }).from(tags).where(inArray(tags.tagId, rules.tagIds));
    const known = new Set(rows.map((r) => r.tagId));
    const unknown = rules.tagIds.filter((id) => !known.has(id));
    if (unknown.length) {
      throw new DomainError('BAD_REQUEST', `unknown tag ids: ${unknown.join(', ')} (only corp and rule-group tags can be applied by a contact way)`, { tags: unknown });
    }
  }
  const owner = rules.owner;
  if (owner.mode === 'round_robin') {
    const [dept] = await db.select({ id: departments.id }).from(departments).where(and(eq(departments.id, owner.departmentId), isNull(departments.removedAt)));
    if (!dept) throw new DomainError('BAD_REQUEST', `rules.owner.departmentId: unknown department ${owner.departmentId}`);
  } else if (owner.mode === 'fixed') {
    const [member] = await db.select({ status: members.status }).from(members).where(eq(members.userid, owner.userid));
    if (!member) throw new DomainError('BAD_REQUEST', `rules.owner.userid: unknown member ${owner.userid}`);
    if (member.status !== 1) throw new DomainError('BAD_REQUEST', `rules.owner.userid: ${owner.userid} is not active`);
  }
}

async function stateHolder(db: Queryable, state: string, except?: string): Promise<ContactWayRow | undefined> {
  const [row] = await db.select().from(contactWays).where(eq(contactWays.state, state));
  return row && row.configId !== except ? row : undefined;
}

async function refuseTakenState(ctx: AppContext, actor: string, state: string, except?: string): Promise<void> {
  const holder = await stateHolder(ctx.db, state, except);
  if (!holder) return;
  await ctx.db.transaction((tx) => audit(tx, { actor, action: except ? 'contact_way.updated' : 'contact_way.created', subjectType: 'contact_way', subjectId: except ?? state, outcome: 'denied', details: { reason: 'state_taken', state, heldBy: holder.configId } }));
  throw new DomainError('CONFLICT', holder.deletedAt
    ? `state "${state}" belonged to a deleted contact way (${holder.configId}); states are not reused so that customers' channels stay unambiguous`
    : `state "${state}" is already used by contact way ${holder.configId}`, { field: 'state', configId: holder.configId });
}

async function generateState(db: Queryable): Promise<string> {
  for (;;) {
    const state = `cw_${randomBytes(8).toString('hex')}`;
    if (!(await stateHolder(db, state))) return state;
  }
}

/** Whether a database error is a unique violation (PostgreSQL and PGlite, wrapped or not by drizzle). */
function isUniqueViolation(error: unknown): boolean {
  const candidates = [error, (error as { cause?: unknown } | null)?.cause];
  return candidates.some((e) => (e as { code?: unknown } | null)?.code === '23505');
}

/** WeCom's answer as an HTTP error: invalid input is the caller's to fix (400), the rest is a 502. */
async function wecomFailure(ctx: AppContext, actor: string, action: string, subjectId: string, error: unknown): Promise<never> {
  if (!isWecomApiError(error)) throw error;
  await ctx.db.transaction((tx) => audit(tx, { actor, action, subjectType: 'contact_way', subjectId, outcome: 'failed', details: { errcode: error.errcode, error: error.message } }));
  if (error.kind === 'permanent') throw new DomainError('BAD_REQUEST', `WeCom refused: ${error.message}`, { errcode: error.errcode });
  throw new DomainError('WECOM_ERROR', error.message, { errcode: error.errcode });
}

// ── warnings ─────────────────────────────────────────────────────────────────────────────────────

/**
 * Where the rules and the tag policy disagree, for the admin to see when configuring. Auto-tagging
 * still refuses such tags for such members when a customer is added (and audits it).
 */
export async function contactWayWarnings(ctx: AppContext, way: Pick<ContactWayRow, 'users' | 'parties' | 'rules'>): Promise<ContactWayWarning[]> {
  const warnings: ContactWayWarning[] = [];
  const everyone = await contactWayMembers(ctx.db, way.users, way.parties);
  const policy = await ctx.policy.policy();
  const views = await Promise.all(everyone.map((u) => ctx.policy.view(u)));
  const tagRows = way.rules.tagIds.length
    ? await ctx.db.select({ tagId: tags.tagId, name: tags.name, deletedAt: tags.deletedAt, strategyId: tags.strategyId }).from(tags).where(inArray(tags.tagId, way.rules.tagIds))
    : [];
  const byId = new Map(tagRows.map((t) => [t.tagId, t]));
  const named = everyone.length ? await ctx.db.select({ userid: members.userid, name: members.name }).from(members).where(inArray(members.userid, everyone)) : [];
  const names = new Map(named.map((m) => [m.userid, m.name]));
  const nameOf = (userid: string): string => names.get(userid) ?? userid;
  for (const tagId of way.rules.tagIds) {
    const tag = byId.get(tagId);
    const label = tag ? `"${tag.name}" (${tagId})` : tagId;
    if (!tag || tag.deletedAt) {
      warnings.push({ code: 'TAG_DELETED', tagId, message: `tag ${label} was deleted in WeCom: it will not be applied`, reason: reason('contact_way.tag_deleted', { tag: tag?.name ?? tagId }) });
      continue;
    }
    const outsideRange = tag.strategyId != null ? views.filter((v) => !policy.inStrategyRange(tag.strategyId!, v.member)).map((v) => v.member.userid) : [];
    if (outsideRange.length) {
      const range = policy.strategy(tag.strategyId!);
      warnings.push({
        code: 'RULE_GROUP_RANGE', tagId, members: outsideRange,
        message: `rule-group tag ${label} belongs to rule group "${range?.name ?? tag.strategyId}", whose range excludes ${outsideRange.join(', ')}: it will not be applied to customers who add them`,
        reason: reason('contact_way.rule_group_range', { tag: tag.name, strategy: range?.name ?? String(tag.strategyId), members: outsideRange.map(nameOf) }),
      });
    }
    const excluded = new Set(outsideRange);
    const notUsable = views.filter((v) => !excluded.has(v.member.userid) && !v.use.has(tagId)).map((v) => v.member.userid);
    if (notUsable.length) {
      warnings.push({
        code: 'TAG_NOT_USABLE', tagId, members: notUsable,
        message: `tag ${label} is outside the use audience of ${notUsable.join(', ')} (tag policy): it will not be applied to customers who add them`,
        reason: reason('contact_way.tag_not_usable', { tag: tag.name, members: notUsable.map(nameOf) }),
      });
    }
  }
  if (way.rules.owner.mode === 'round_robin' && (await activeMembersOfDepartments(ctx.db, [way.rules.owner.departmentId])).length === 0) {
    warnings.push({ code: 'OWNER_DEPARTMENT_EMPTY', message: `department ${way.rules.owner.departmentId} has no active member to rotate ownership over: the adding member will own the customer`, reason: reason('contact_way.owner_department_empty', { department: policy.departmentName(way.rules.owner.departmentId) }) });
  }
  return warnings;
}

// ── operations ───────────────────────────────────────────────────────────────────────────────────

export async function listContactWays(db: Queryable, page: { after?: string; limit: number; state?: string }): Promise<{ contactWays: ReturnType<typeof contactWayView>[]; nextAfter: string | null }> {
  const rows = await db.select().from(contactWays)
    .where(and(isNull(contactWays.deletedAt), page.after ? gt(contactWays.configId, page.after) : undefined, page.state ? eq(contactWays.state, page.state) : undefined))
    .orderBy(asc(contactWays.configId)).limit(page.limit);
  return { contactWays: rows.map(contactWayView), nextAfter: rows.length === page.limit ? rows[rows.length - 1]!.configId : null };
}

export async function findContactWay(db: Queryable, configId: string): Promise<ContactWayRow> {
  const [row] = await db.select().from(contactWays).where(and(eq(contactWays.configId, configId), isNull(contactWays.deletedAt)));
  if (!row) throw new DomainError('NOT_FOUND', 'no such contact way');
  return row;
}

export async function getContactWay(ctx: AppContext, configId: string) {
  const row = await findContactWay(ctx.db, configId);
  return { contactWay: contactWayView(row), warnings: await contactWayWarnings(ctx, row) };
}

/** Creates the QR code in WeCom (scene 2), then stores it; if storing fails the WeCom code is deleted again. */
export async function createContactWay(ctx: AppContext, actor: string, input: CreateContactWayInput) {
  const type = deriveType(input.users, input.parties, input.type);
  await checkMembersAndDepartments(ctx.db, input.users, input.parties);
  const rules = input.rules as ContactWayRules;
  await checkRules(ctx.db, rules);
  const state = input.state ?? (await generateState(ctx.db));
  await refuseTakenState(ctx, actor, state);

  let created: { config_id: string; qr_code?: string };
  try {
    created = await ctx.wecom.addContactWay({
      type, scene: 2, skip_verify: input.skipVerify, state,
      ...(input.remark !== undefined ? { remark: input.remark } : {}),
      ...(input.users.length ? { user: input.users } : {}),
      ...(input.parties.length ? { party: input.parties } : {}),
    });
  } catch (error) {
    return wecomFailure(ctx, actor, 'contact_way.created', state, error);
  }

  const warnings = await contactWayWarnings(ctx, { users: input.users, parties: input.parties, rules });
  let row: ContactWayRow;
  try {
    row = await ctx.db.transaction(async (tx) => {
      const [inserted] = await tx.insert(contactWays).values({
        configId: created.config_id, state, type, scene: 2, skipVerify: input.skipVerify, users: input.users, parties: input.parties,
        remark: input.remark ?? null, qrCode: created.qr_code ?? null, rules, createdBy: actor,
      }).returning();
      await audit(tx, {
        actor, action: 'contact_way.created', subjectType: 'contact_way', subjectId: created.config_id, outcome: 'done',
        details: { state, type, users: input.users, parties: input.parties, skipVerify: input.skipVerify, remark: input.remark ?? null, rules, warnings: warnings.map((w) => w.code) },
      });
      return inserted!;
    });
  } catch (error) {
    // Never leave a QR code in WeCom that nothing here knows about.
    await ctx.wecom.delContactWay(created.config_id).catch((e: unknown) => ctx.logger.error({ err: e, configId: created.config_id }, 'could not delete a contact way created in WeCom but not stored'));
    if (isUniqueViolation(error)) throw new DomainError('CONFLICT', `state "${state}" was taken at the same moment by another contact way`, { field: 'state' });
    throw error;
  }
  return { contactWay: contactWayView(row), warnings };
}

/** Fields omitted keep their value; `rules` is replaced as a whole. WeCom is updated only when its fields change. */
export async function updateContactWay(ctx: AppContext, actor: string, configId: string, input: UpdateContactWayInput) {
  const current = await findContactWay(ctx.db, configId);
  const users = input.users ?? current.users;
  const parties = input.parties ?? current.parties;
  if (current.type === 1 && (users.length !== 1 || parties.length > 0)) {
    throw new DomainError('BAD_REQUEST', 'this is a single-member contact way (type 1): it takes exactly one member and no parties; create a new one for several members');
  }
  deriveType(users, parties, current.type as 1 | 2);
  await checkMembersAndDepartments(ctx.db, users, parties);
  const rules = (input.rules ?? current.rules) as ContactWayRules;
  if (input.rules) await checkRules(ctx.db, rules);
  const state = input.state ?? current.state;
  if (state !== current.state) await refuseTakenState(ctx, actor, state, configId);
  const next = { users, parties, skipVerify: input.skipVerify ?? current.skipVerify, remark: input.remark ?? current.remark, state, rules };

  const wecomChanged = JSON.stringify([users, parties, next.skipVerify, next.remark, state]) !== JSON.stringify([current.users, current.parties, current.skipVerify, current.remark, current.state]);
  if (wecomChanged) {
    // user, party and remark overwrite WeCom's values, so all of them are sent every time.
    const request: UpdateContactWayRequest = { config_id: configId, user: users, party: parties, remark: next.remark ?? '', skip_verify: next.skipVerify, state };
    try {
      await ctx.wecom.updateContactWay(request);
    } catch (error) {
      if (isWecomApiError(error) && error.errcode === 41044) {
        throw new DomainError('CONFLICT', 'this contact way no longer exists in WeCom (deleted outside this app): delete it here and create a new one');
      }
      return wecomFailure(ctx, actor, 'contact_way.updated', configId, error);
    }
  }
  const warnings = await contactWayWarnings(ctx, next);
  let row: ContactWayRow;
  try {
    row = await ctx.db.transaction(async (tx) => {
      const [updated] = await tx.update(contactWays).set({ ...next, updatedAt: sql`now()` }).where(eq(contactWays.configId, configId)).returning();
      await audit(tx, {
        actor, action: 'contact_way.updated', subjectType: 'contact_way', subjectId: configId, outcome: 'done',
        details: {
          before: { users: current.users, parties: current.parties, skipVerify: current.skipVerify, remark: current.remark, state: current.state, rules: current.rules },
          after: next, wecomUpdated: wecomChanged, warnings: warnings.map((w) => w.code),
        },
      });
      return updated!;
    });
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    // Another contact way took the state meanwhile: put WeCom back as it was.
    if (wecomChanged) {
      await ctx.wecom.updateContactWay({ config_id: configId, user: current.users, party: current.parties, remark: current.remark ?? '', skip_verify: current.skipVerify, state: current.state })
        .catch((e: unknown) => ctx.logger.error({ err: e, configId }, 'could not restore a contact way in WeCom after a state conflict'));
    }
    throw new DomainError('CONFLICT', `state "${state}" was taken at the same moment by another contact way`, { field: 'state' });
  }
  return { contactWay: contactWayView(row), warnings };
}

/** Deletes in WeCom (a code already gone there is fine), then marks it deleted here; its state is kept. */
export async function deleteContactWay(ctx: AppContext, actor: string, configId: string): Promise<void> {
  const current = await findContactWay(ctx.db, configId);
  let goneInWecom = false;
  try {
    await ctx.wecom.delContactWay(configId);
  } catch (error) {
    if (isWecomApiError(error) && error.errcode === 41044) goneInWecom = true;
    else await wecomFailure(ctx, actor, 'contact_way.deleted', configId, error);
  }
  await ctx.db.transaction(async (tx) => {
    await tx.update(contactWays).set({ deletedAt: sql`now()`, updatedAt: sql`now()` }).where(eq(contactWays.configId, configId));
    await audit(tx, { actor, action: 'contact_way.deleted', subjectType: 'contact_way', subjectId: configId, outcome: 'done', details: { state: current.state, goneInWecom } });
  });
}

const QR_TYPES: Record<string, string> = { 'image/png': 'png', 'image/jpeg': 'jpg', 'image/gif': 'gif', 'image/svg+xml': 'svg', 'image/webp': 'webp' };
const QR_MAX_BYTES = 2 * 1024 * 1024;

/** The QR image behind WeCom's `qr_code` URL, fetched by the server so the admin gets a file to save. */
export async function downloadQr(ctx: AppContext, configId: string): Promise<{ body: Buffer; contentType: string; filename: string }> {
  const row = await findContactWay(ctx.db, configId);
  if (!row.qrCode) throw new DomainError('NOT_FOUND', 'this contact way has no QR code');
  const url = new URL(row.qrCode);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new DomainError('WECOM_ERROR', 'the stored QR code URL is not an http(s) URL');
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(10_000), redirect: 'follow' });
  } catch (error) {
    throw new DomainError('WECOM_ERROR', `could not fetch the QR code from WeCom: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (!response.ok) throw new DomainError('WECOM_ERROR', `WeCom answered HTTP ${response.status} for the QR code`);
  const contentType = (response.headers.get('content-type') ?? 'image/png').split(';')[0]!.trim().toLowerCase();
  const extension = QR_TYPES[contentType];
  if (!extension) throw new DomainError('WECOM_ERROR', `the QR code URL did not answer with an image (${contentType})`);
  const body = Buffer.from(await response.arrayBuffer());
  if (body.length > QR_MAX_BYTES) throw new DomainError('WECOM_ERROR', 'the QR code image is larger than expected');
  return { body, contentType, filename: `contact-way-${row.state}.${extension}` };
}
