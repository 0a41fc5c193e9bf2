import { and, eq, isNull, sql } from 'drizzle-orm';
import type { Database, Queryable, Tx } from '../db/database.ts';
import { auditLog, contactWays, customers, members, type ContactWayRules } from '../db/schema.ts';
import type { Logger } from '../logger.ts';
import type { ExternalContactDetail, FollowUser, SendWelcomeMsgRequest } from '../wecom/api-types.ts';
import type { ExternalContactEvent } from '../wecom/callback-events.ts';
import { audit } from './audit.service.ts';
import { customersById, moveOwners } from './owner-moves.ts';
import {
  activeMembersOfDepartments, DESCRIPTION_MAX, REMARK_MAX, renderTemplate, truncateTo, type ContactWayRow, type TemplateValues,
} from './contact-ways.service.ts';
import type { PolicyCache } from './tag-policy.service.ts';
import { enqueueWrite, recordWrite as recordWriteBy, type WriteRequest } from './wecom-writes.service.ts';
import { writeJobId, type Queues } from '../../jobs/queues.ts';

/**
 * Auto-tagging on QR add: when a customer adds a member through a contact way (an add event whose
 * `State` names one), the contact way's rules run at once — tags via `mark_tag` (only those inside
 * the adding member's use audience; the rest are refused and audited), the owner per the rule,
 * remark/description from the templates, and the welcome message when WeCom sent a `WelcomeCode`.
 * Everything depends on `State` alone; the welcome code only decides whether a welcome goes out.
 *
 * Exactly once: tags, owner and remark are decided inside the inbox transaction of jobs/events.job.ts
 * (a retried job finds the event done and does nothing), and once per relation add (a half add later
 * confirmed does not run them twice). The welcome message cannot wait for that transaction's retries
 * (its code lives 20 s): it is recorded in its own small transaction as soon as the event is
 * processed, keyed by the inbox event, and queued on the separate `wecom-welcome` lane.
 */

export const AUTO_TAGGING_ACTOR = 'auto-tagging';
/** WeCom: a welcome_code may be used once, within 20 seconds of the event (wecom-api.md §6). */
export const WELCOME_CODE_TTL_MS = 20_000;
/** Dates in templates are the corp's local date (WeCom corps are in China). */
const TEMPLATE_TIME_ZONE = 'Asia/Shanghai';

export interface AutoTaggingDeps {
  db: Database;
  queues: Queues;
  policy: PolicyCache;
  logger: Logger;
}

interface TagDecision {
  tagId: string;
  name: string;
  allowed: boolean;
  /** Why the adding member may not use it (the policy's explanation), when refused. */
  because?: string[];
}

type AddEvent = Extract<ExternalContactEvent, { ChangeType: 'add_external_contact' | 'add_half_external_contact' }>;

function isAddEvent(event: ExternalContactEvent): event is AddEvent {
  return event.ChangeType === 'add_external_contact' || event.ChangeType === 'add_half_external_contact';
}

function localDate(): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: TEMPLATE_TIME_ZONE, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date());
}

function recordWrite(db: Queryable, request: WriteRequest): Promise<number> {
  return recordWriteBy(db, request, AUTO_TAGGING_ACTOR);
}

/** Has this step already been recorded for the customer? (Audit rows double as idempotency records.) */
async function recorded(db: Queryable, externalUserId: string, action: string, match: Record<string, string | number | null>): Promise<boolean> {
  const conditions = Object.entries(match).map(([key, value]) => sql`coalesce(${auditLog.details}->>${key}, '') = ${value === null ? '' : String(value)}`);
  const [row] = await db.select({ id: auditLog.id }).from(auditLog)
    .where(and(eq(auditLog.subjectType, 'customer'), eq(auditLog.subjectId, externalUserId), eq(auditLog.action, action), ...conditions))
    .limit(1);
  return Boolean(row);
}

/**
 * Starts the rules of the contact way named by an add event's `State`, outside any transaction
 * (called by the event job right after it read the customer from WeCom). Null when the event is not
 * an add through a known, live contact way. Sends the welcome message first.
 */
export async function startContactWayRules(
  deps: AutoTaggingDeps, event: ExternalContactEvent, detail: ExternalContactDetail | null, inbox: { id: number; receivedAt: Date },
): Promise<ContactWayRulesRun | null> {
  if (!isAddEvent(event) || !event.State) return null;
  const [way] = await deps.db.select().from(contactWays).where(and(eq(contactWays.state, event.State), isNull(contactWays.deletedAt)));
  if (!way) return null;
  const [member] = await deps.db.select({ name: members.name }).from(members).where(eq(members.userid, event.UserID));
  // The policy is read here, outside the inbox transaction (the cache queries through the pool).
  const policy = await deps.policy.policy();
  const view = await deps.policy.view(event.UserID);
  const decisions: TagDecision[] = way.rules.tagIds.map((tagId) => {
    const name = policy.tag(tagId)?.name ?? tagId;
    if (view.use.has(tagId)) return { tagId, name, allowed: true };
    return { tagId, name, allowed: false, because: policy.explain(view.member, tagId).because };
  });
  const values: TemplateValues = {
    customer_name: detail?.external_contact.name ?? '',
    member_name: member?.name ?? event.UserID,
    state: event.State,
    date: localDate(),
  };
  const run = new ContactWayRulesRun(way, event, inbox.id, decisions, values);
  if (event.WelcomeCode) await run.sendWelcome(deps, event.WelcomeCode, inbox.receivedAt);
  else if (way.rules.welcome) {
    await deps.db.transaction(async (tx) => {
      if (await recorded(tx, event.ExternalUserID, 'contact_way.welcome_skipped', { inboxEventId: inbox.id })) return;
      await audit(tx, {
        actor: AUTO_TAGGING_ACTOR, action: 'contact_way.welcome_skipped', subjectType: 'customer', subjectId: event.ExternalUserID, outcome: 'done',
        details: { ...run.base(), reason: 'the event carries no WelcomeCode (WeCom sends none when an admin set a welcome message in the console, the pair already chatted, or a welcome was already sent)' },
      });
    });
  }
  return run;
}

/** One run of a contact way's rules for one add event. */
export class ContactWayRulesRun {
  private ownerBefore: string | null = null;
  private readonly writes: number[] = [];

  constructor(
    readonly way: ContactWayRow,
    readonly event: AddEvent,
    readonly inboxEventId: number,
    readonly decisions: TagDecision[],
    readonly values: TemplateValues,
  ) {}

  private get rules(): ContactWayRules {
    return this.way.rules;
  }

  base() {
    return { configId: this.way.configId, state: this.way.state, userid: this.event.UserID, changeType: this.event.ChangeType, inboxEventId: this.inboxEventId };
  }

  /** Records and queues the welcome message on its own lane, once per event, unless the code already expired. */
  async sendWelcome(deps: AutoTaggingDeps, welcomeCode: string, receivedAt: Date): Promise<void> {
    const welcome = this.rules.welcome;
    if (!welcome) return;
    const customer = this.event.ExternalUserID;
    const writeId = await deps.db.transaction(async (tx) => {
      await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${'welcome:' + this.inboxEventId}))`);
      if (await recorded(tx, customer, 'contact_way.welcome', { inboxEventId: this.inboxEventId })) return null;
      const ageMs = Date.now() - receivedAt.getTime();
      if (ageMs > WELCOME_CODE_TTL_MS) {
        await audit(tx, {
          actor: AUTO_TAGGING_ACTOR, action: 'contact_way.welcome', subjectType: 'customer', subjectId: customer, outcome: 'failed',
          details: { ...this.base(), reason: `the welcome_code expired (valid 20 s; the event was processed ${Math.round(ageMs / 1000)} s after it arrived)` },
        });
        return null;
      }
      const payload: SendWelcomeMsgRequest = {
        welcome_code: welcomeCode,
        ...(welcome.text ? { text: { content: renderTemplate(welcome.text, this.values) } } : {}),
        ...(welcome.attachments?.length ? { attachments: welcome.attachments as unknown as SendWelcomeMsgRequest['attachments'] } : {}),
      };
      const id = await recordWrite(tx, { api: 'send_welcome_msg', payload });
      await audit(tx, { actor: AUTO_TAGGING_ACTOR, action: 'contact_way.welcome', subjectType: 'customer', subjectId: customer, outcome: 'allowed', details: { ...this.base(), writeId: id } });
      return id;
    });
    // A failed enqueue leaves the row queued for the maintenance sweep (by then the code has expired).
    if (writeId !== null) await deps.queues.welcome.add('welcome', { writeId }, { jobId: writeJobId(writeId) }).catch(() => undefined);
  }

  /**
   * Inside the inbox transaction, before the customer snapshot: serialises with other events of the
   * customer and remembers its owner before this add (the rule's owner wins only over an owner this
   * same add assigned).
   */
  async beforeSnapshot(tx: Tx): Promise<void> {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${'customer:' + this.event.ExternalUserID}))`);
    const [row] = await tx.select({ owner: customers.ownerUserid }).from(customers).where(eq(customers.externalUserId, this.event.ExternalUserID));
    this.ownerBefore = row?.owner ?? null;
  }

  /** Inside the inbox transaction, after the snapshot: tags, owner, remark/description. */
  async apply(tx: Tx, detail: ExternalContactDetail | null): Promise<void> {
    const customer = this.event.ExternalUserID;
    const follow = detail?.follow_user.find((f) => f.userid === this.event.UserID);
    if (!follow) {
      // A half relation (免验证 before the member confirms) is invisible to the API: mark_tag would fail.
      await audit(tx, {
        actor: AUTO_TAGGING_ACTOR, action: 'contact_way.rules_deferred', subjectType: 'customer', subjectId: customer, outcome: 'done',
        details: { ...this.base(), reason: 'the relation is not visible through the WeCom API yet (not confirmed); the rules run when the add is confirmed' },
      });
      return;
    }
    const addedAt = follow.createtime ?? null;
    if (await recorded(tx, customer, 'contact_way.rules_applied', { configId: this.way.configId, userid: this.event.UserID, addedAt })) {
      await audit(tx, {
        actor: AUTO_TAGGING_ACTOR, action: 'contact_way.rules_skipped', subjectType: 'customer', subjectId: customer, outcome: 'done',
        details: { ...this.base(), addedAt, reason: 'the rules already ran for this add of the relation' },
      });
      return;
    }
    const tagsQueued = await this.applyTags(tx, follow);
    const owner = await this.assignOwner(tx);
    const remarkWriteId = await this.applyRemark(tx, detail!);
    await audit(tx, {
      actor: AUTO_TAGGING_ACTOR, action: 'contact_way.rules_applied', subjectType: 'customer', subjectId: customer, outcome: 'done',
      details: { ...this.base(), addedAt, tagsQueued, tagsRefused: this.decisions.filter((d) => !d.allowed).map((d) => d.tagId), owner, remarkWriteId },
    });
  }

  private async applyTags(tx: Tx, follow: FollowUser): Promise<string[]> {
    const customer = this.event.ExternalUserID;
    const refused = this.decisions.filter((d) => !d.allowed);
    if (refused.length) {
      await audit(tx, {
        actor: AUTO_TAGGING_ACTOR, action: 'contact_way.tags_refused', subjectType: 'customer', subjectId: customer, outcome: 'denied',
        details: { ...this.base(), tags: refused.map((d) => ({ tagId: d.tagId, name: d.name, because: d.because ?? [] })) },
      });
    }
    const present = new Set((follow.tags ?? []).flatMap((t) => (t.tag_id ? [t.tag_id] : [])));
    const add = this.decisions.filter((d) => d.allowed && !present.has(d.tagId)).map((d) => d.tagId);
    if (add.length === 0) return [];
    const writeId = await recordWrite(tx, { api: 'mark_tag', payload: { userid: this.event.UserID, external_userid: customer, add_tag: add } });
    this.writes.push(writeId);
    await audit(tx, {
      actor: AUTO_TAGGING_ACTOR, action: 'contact_way.tags_applied', subjectType: 'customer', subjectId: customer, outcome: 'allowed',
      details: { ...this.base(), tagIds: add, writeId },
    });
    return add;
  }

  /** The owner per the rule, when the customer had none before this add; otherwise the existing owner stays. */
  private async assignOwner(tx: Tx): Promise<string | null> {
    const customer = this.event.ExternalUserID;
    const rule = this.rules.owner;
    const [row] = await tx.select({ owner: customers.ownerUserid }).from(customers).where(eq(customers.externalUserId, customer));
    const current = row?.owner ?? null;
    if (this.ownerBefore !== null) {
      await audit(tx, {
        actor: AUTO_TAGGING_ACTOR, action: 'contact_way.owner_kept', subjectType: 'customer', subjectId: customer, outcome: 'done',
        details: { ...this.base(), mode: rule.mode, owner: this.ownerBefore, reason: 'the customer already had an owner before this add' },
      });
      return this.ownerBefore;
    }
    let chosen: string | null = null;
    let problem = '';
    if (rule.mode === 'adder') {
      chosen = this.event.UserID;
    } else if (rule.mode === 'fixed') {
      const [member] = await tx.select({ status: members.status }).from(members).where(eq(members.userid, rule.userid));
      if (member?.status === 1) chosen = rule.userid;
      else problem = `the fixed owner ${rule.userid} is not an active member`;
    } else {
      const candidates = await activeMembersOfDepartments(tx, [rule.departmentId]);
      if (candidates.length) {
        // The row lock of this update serialises concurrent adds through the same contact way.
        const [turn] = await tx.update(contactWays).set({ rotation: sql`${contactWays.rotation} + 1` }).where(eq(contactWays.configId, this.way.configId)).returning({ rotation: contactWays.rotation });
        chosen = candidates[(turn!.rotation - 1) % candidates.length]!;
      } else {
        problem = `department ${rule.departmentId} has no active member to rotate over`;
      }
    }
    if (!chosen) {
      await audit(tx, {
        actor: AUTO_TAGGING_ACTOR, action: 'contact_way.owner_assigned', subjectType: 'customer', subjectId: customer, outcome: 'failed',
        details: { ...this.base(), mode: rule.mode, owner: current, reason: `${problem}; the default owner (first adder) stays` },
      });
      return current;
    }
    if (chosen !== current) {
      // Also takes the customer out of the public pool, with an owner_history row.
      await moveOwners(tx, customersById([customer]), chosen, 'contact_way', AUTO_TAGGING_ACTOR);
    }
    await audit(tx, {
      actor: AUTO_TAGGING_ACTOR, action: 'contact_way.owner_assigned', subjectType: 'customer', subjectId: customer, outcome: 'done',
      details: { ...this.base(), mode: rule.mode, owner: chosen, replaced: current },
    });
    return chosen;
  }

  private async applyRemark(tx: Tx, detail: ExternalContactDetail): Promise<number | null> {
    const values = { ...this.values, customer_name: detail.external_contact.name ?? this.values.customer_name };
    const remark = this.rules.remarkTemplate ? truncateTo(renderTemplate(this.rules.remarkTemplate, values), REMARK_MAX) : '';
    const description = this.rules.descriptionTemplate ? truncateTo(renderTemplate(this.rules.descriptionTemplate, values), DESCRIPTION_MAX) : '';
    if (!remark && !description) return null;
    const writeId = await recordWrite(tx, {
      api: 'remark',
      payload: { userid: this.event.UserID, external_userid: this.event.ExternalUserID, ...(remark ? { remark } : {}), ...(description ? { description } : {}) },
    });
    this.writes.push(writeId);
    await audit(tx, {
      actor: AUTO_TAGGING_ACTOR, action: 'contact_way.remark_applied', subjectType: 'customer', subjectId: this.event.ExternalUserID, outcome: 'allowed',
      details: { ...this.base(), writeId, remark: Boolean(remark), description: Boolean(description) },
    });
    return writeId;
  }

  /** After the inbox transaction committed: queues the recorded writes (the sweep catches a failed enqueue). */
  async enqueueWrites(queues: Queues): Promise<void> {
    for (const writeId of this.writes.splice(0)) await enqueueWrite(queues, writeId);
  }
}
