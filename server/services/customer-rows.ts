import { sql, type SQL } from 'drizzle-orm';
import { randomUUID } from 'node:crypto';
import type { Queryable } from '../db/database.ts';
import { customers, followRelations } from '../db/schema.ts';
import type { ExternalContact, FollowUser } from '../wecom/api-types.ts';
import { rowsOf } from './customer-filter.ts';
import { relationKey, type RelationTag } from './relation-tags.ts';

/**
 * Set-based reads and writes of customers, follow relations and relation tags, shared by the callback
 * path (one customer) and the full import (a page of customers): one statement reads everything the
 * comparison needs, and each kind of write is one multi-row statement issued only when something
 * differs, so applying an unchanged snapshot writes nothing at all.
 */

export type CustomerValues = ReturnType<typeof customerValues>;
export type RelationValues = ReturnType<typeof relationValues>;

export function customerValues(contact: ExternalContact) {
  return {
    externalUserId: contact.external_userid,
    name: contact.name ?? '',
    type: contact.type ?? 1,
    avatar: contact.avatar ?? null,
    gender: contact.gender ?? 0,
    corpName: contact.corp_name ?? null,
    corpFullName: contact.corp_full_name ?? null,
    position: contact.position ?? null,
    unionid: contact.unionid ?? null,
  };
}

export function relationValues(externalUserId: string, follow: Omit<FollowUser, 'tags'>) {
  return {
    externalUserId,
    userid: follow.userid,
    remark: follow.remark ?? null,
    description: follow.description ?? null,
    addedAt: follow.createtime ?? null,
    addWay: follow.add_way ?? null,
    state: follow.state ?? null,
    operUserid: follow.oper_userid ?? null,
    remarkCorpName: follow.remark_corp_name ?? null,
    remarkMobiles: (follow.remark_mobiles ?? []).filter((m) => m !== ''),
  };
}

export interface LocalCustomer extends CustomerValues {
  ownerUserid: string | null;
  inPool: boolean;
}

export interface LocalRelation extends RelationValues {
  status: 'active' | 'ended';
  endReason: string | null;
}

export interface LocalCustomerState {
  customers: Map<string, LocalCustomer>;
  /** By relationKey(externalUserId, userid). */
  relations: Map<string, LocalRelation>;
  /** Current tags by relationKey. */
  tags: Map<string, RelationTag[]>;
  /** Which of the asked tag ids are rule-group tags. */
  strategyTagIds: Set<string>;
}

/** A PostgreSQL text[] literal: one parameter however many ids, estimated well by the planner. */
export function textArray(values: readonly string[]): SQL {
  const literal = `{${values.map((v) => `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`).join(',')}}`;
  return sql`${literal}::text[]`;
}

/**
 * Customers, their relations (active and ended) and relation tags, plus which of `tagIds` are
 * rule-group tags, in one statement. Callers that serialise per customer read after taking the lock.
 */
export async function readCustomerState(db: Queryable, externalUserIds: string[], tagIds: string[]): Promise<LocalCustomerState> {
  const ids = textArray(externalUserIds);
  const [row] = await rowsOf<{ customers: LocalCustomer[]; relations: LocalRelation[]; tags: { externalUserId: string; userid: string; tagId: string; kind: RelationTag['kind'] }[]; strategy_tags: string[] }>(db, sql`select
    coalesce((select json_agg(json_build_object('externalUserId', c.external_userid, 'name', c.name, 'type', c.type, 'avatar', c.avatar,
      'gender', c.gender, 'corpName', c.corp_name, 'corpFullName', c.corp_full_name, 'position', c.position, 'unionid', c.unionid,
      'ownerUserid', c.owner_userid, 'inPool', c.in_pool_since is not null))
      from customers c where c.external_userid = any(${ids})), '[]'::json) as customers,
    coalesce((select json_agg(json_build_object('externalUserId', fr.external_userid, 'userid', fr.userid, 'remark', fr.remark,
      'description', fr.description, 'addedAt', fr.added_at, 'addWay', fr.add_way, 'state', fr.state, 'operUserid', fr.oper_userid,
      'remarkCorpName', fr.remark_corp_name, 'remarkMobiles', fr.remark_mobiles, 'status', fr.status, 'endReason', fr.end_reason))
      from follow_relations fr where fr.external_userid = any(${ids})), '[]'::json) as relations,
    coalesce((select json_agg(json_build_object('externalUserId', rt.external_userid, 'userid', rt.userid, 'tagId', rt.tag_id, 'kind', rt.kind))
      from relation_tags rt where rt.external_userid = any(${ids})), '[]'::json) as tags,
    ${tagIds.length
      ? sql`coalesce((select json_agg(t.tag_id) from tags t where t.tag_id = any(${textArray([...new Set(tagIds)])}) and t.strategy_id is not null), '[]'::json)`
      : sql`'[]'::json`} as strategy_tags`);
  const state: LocalCustomerState = {
    customers: new Map(row!.customers.map((c) => [c.externalUserId, c])),
    relations: new Map(row!.relations.map((r) => [relationKey(r.externalUserId, r.userid), r])),
    tags: new Map(),
    strategyTagIds: new Set(row!.strategy_tags),
  };
  for (const tag of row!.tags) {
    const key = relationKey(tag.externalUserId, tag.userid);
    const list = state.tags.get(key) ?? [];
    list.push({ tagId: tag.tagId, kind: tag.kind });
    state.tags.set(key, list);
  }
  return state;
}

export function customerDiffers(local: LocalCustomer | undefined, wanted: CustomerValues): boolean {
  return !local || local.name !== wanted.name || local.type !== wanted.type || local.avatar !== wanted.avatar || local.gender !== wanted.gender
    || local.corpName !== wanted.corpName || local.corpFullName !== wanted.corpFullName || local.position !== wanted.position || local.unionid !== wanted.unionid;
}

/** Does making this relation active with these values change its row? */
export function relationDiffers(local: LocalRelation | undefined, wanted: RelationValues): boolean {
  return !local || local.status !== 'active' || local.remark !== wanted.remark || local.description !== wanted.description
    || local.addedAt !== wanted.addedAt || local.addWay !== wanted.addWay || local.state !== wanted.state || local.operUserid !== wanted.operUserid
    || local.remarkCorpName !== wanted.remarkCorpName || JSON.stringify(local.remarkMobiles ?? []) !== JSON.stringify(wanted.remarkMobiles);
}

/** Restarts the pool clock of the written customers: on any change (`all`), or when `ownedBy` owns it. */
export type ActivityMark = { all: true } | { ownedBy: string };

const customerFieldsDistinct = sql`(${customers.name}, ${customers.type}, ${customers.avatar}, ${customers.gender}, ${customers.corpName}, ${customers.corpFullName}, ${customers.position}, ${customers.unionid})
  is distinct from (excluded.name, excluded.type, excluded.avatar, excluded.gender, excluded.corp_name, excluded.corp_full_name, excluded.position, excluded.unionid)`;

/**
 * Inserts or updates customers in one statement; a row changes only when a field differs (or the
 * pool clock is to restart). Returns how many rows were inserted or changed.
 */
export async function writeCustomers(db: Queryable, rows: CustomerValues[], activity?: ActivityMark): Promise<number> {
  if (rows.length === 0) return 0;
  const unique = [...new Map(rows.map((r) => [r.externalUserId, r])).values()].sort((a, b) => (a.externalUserId < b.externalUserId ? -1 : 1));
  const restart = !activity ? sql`false` : 'all' in activity ? sql`true` : sql`${customers.ownerUserid} = ${activity.ownedBy}::text`;
  const written = await db.insert(customers)
    .values(unique.map((r) => (activity && 'all' in activity ? { ...r, lastActivityAt: sql`now()` } : r)))
    .onConflictDoUpdate({
      target: customers.externalUserId,
      set: {
        name: sql`excluded.name`, type: sql`excluded.type`, avatar: sql`excluded.avatar`, gender: sql`excluded.gender`,
        corpName: sql`excluded.corp_name`, corpFullName: sql`excluded.corp_full_name`, position: sql`excluded.position`, unionid: sql`excluded.unionid`,
        updatedAt: sql`case when ${customerFieldsDistinct} then now() else ${customers.updatedAt} end`,
        ...(activity ? { lastActivityAt: sql`case when ${restart} then now() else ${customers.lastActivityAt} end` } : {}),
      },
      setWhere: sql`${customerFieldsDistinct} or ${restart}`,
    })
    .returning({ id: customers.externalUserId });
  return written.length;
}

/** Makes relations active with these values (re-activating ended ones) in one statement. */
export async function writeActiveRelations(db: Queryable, rows: RelationValues[]): Promise<number> {
  if (rows.length === 0) return 0;
  const unique = [...new Map(rows.map((r) => [relationKey(r.externalUserId, r.userid), r])).entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1)).map(([, r]) => ({ ...r, status: 'active' as const }));
  const written = await db.insert(followRelations).values(unique).onConflictDoUpdate({
    target: [followRelations.externalUserId, followRelations.userid],
    set: {
      remark: sql`excluded.remark`, description: sql`excluded.description`, addedAt: sql`excluded.added_at`,
      addWay: sql`excluded.add_way`, state: sql`excluded.state`, operUserid: sql`excluded.oper_userid`,
      remarkCorpName: sql`excluded.remark_corp_name`, remarkMobiles: sql`excluded.remark_mobiles`,
      status: 'active', endedAt: null, endReason: null, updatedAt: sql`now()`,
    },
    setWhere: sql`(${followRelations.remark}, ${followRelations.description}, ${followRelations.addedAt}, ${followRelations.addWay}, ${followRelations.state}, ${followRelations.operUserid}, ${followRelations.remarkCorpName}, ${followRelations.remarkMobiles}, ${followRelations.status})
      is distinct from (excluded.remark, excluded.description, excluded.added_at, excluded.add_way, excluded.state, excluded.oper_userid, excluded.remark_corp_name, excluded.remark_mobiles, 'active')`,
  }).returning({ userid: followRelations.userid });
  return written.length;
}

export interface RelationEnd {
  externalUserId: string;
  userid: string;
  reason: string;
}

/** Ends the active ones among these relations (history kept); returns the keys it ended. */
export async function endRelations(db: Queryable, ends: RelationEnd[]): Promise<Set<string>> {
  if (ends.length === 0) return new Set();
  const rows = await rowsOf<{ external_userid: string; userid: string }>(db, sql`update follow_relations fr
    set status = 'ended', ended_at = now(), end_reason = v.reason, updated_at = now()
    from json_to_recordset(${JSON.stringify(ends)}::json) as v("externalUserId" text, userid text, reason text)
    where fr.external_userid = v."externalUserId" and fr.userid = v.userid and fr.status = 'active'
    returning fr.external_userid, fr.userid`);
  return new Set(rows.map((r) => relationKey(r.external_userid, r.userid)));
}

export interface RelationTagChange {
  externalUserId: string;
  userid: string;
  added: RelationTag[];
  removed: RelationTag[];
}

/**
 * Applies tag diffs of many relations in one statement: removals, additions and the change record
 * the policy engine reads (`relation_tag_changes`, one row per relation that changed).
 */
export async function writeRelationTagChanges(
  db: Queryable, changes: RelationTagChange[], record: { source: 'callback' | 'sync' | 'api'; inboxEventId?: number | undefined },
): Promise<void> {
  const real = changes.filter((c) => c.added.length || c.removed.length);
  if (real.length === 0) return;
  const removed = real.flatMap((c) => c.removed.map((t) => ({ e: c.externalUserId, u: c.userid, t: t.tagId })));
  const added = real.flatMap((c) => c.added.map((t) => ({ e: c.externalUserId, u: c.userid, t: t.tagId, k: t.kind })));
  const recorded = real.map((c) => ({ e: c.externalUserId, u: c.userid, a: c.added.map((t) => t.tagId), r: c.removed.map((t) => t.tagId) }));
  await db.execute(sql`with removed as (
      delete from relation_tags rt using json_to_recordset(${JSON.stringify(removed)}::json) as v(e text, u text, t text)
      where rt.external_userid = v.e and rt.userid = v.u and rt.tag_id = v.t
      returning 1
    ), added as (
      insert into relation_tags (external_userid, userid, tag_id, kind)
      select v.e, v.u, v.t, v.k from json_to_recordset(${JSON.stringify(added)}::json) as v(e text, u text, t text, k text)
      on conflict do nothing
      returning 1
    )
    insert into relation_tag_changes (external_userid, userid, added, removed, source, inbox_event_id)
    select v.e, v.u, v.a, v.r, ${record.source}::text, ${record.inboxEventId ?? null}::bigint
    from json_to_recordset(${JSON.stringify(recorded)}::json) as v(e text, u text, a jsonb, r jsonb)`);
}

export interface PersonalTagName {
  userid: string;
  name: string;
  groupName?: string | undefined;
}

export const personalTagKey = (userid: string, name: string): string => `${userid}\u0000${name}`;

/**
 * Finds or creates members' personal tags by name (WeCom reports personal tags without ids) in one
 * statement; keyed by personalTagKey.
 */
export async function personalTagIds(db: Queryable, wanted: PersonalTagName[]): Promise<Map<string, string>> {
  const result = new Map<string, string>();
  if (wanted.length === 0) return result;
  const unique = [...new Map(wanted.map((w) => [personalTagKey(w.userid, w.name), w])).values()]
    .map((w) => ({ id: `pt_${randomUUID()}`, userid: w.userid, name: w.name, group_name: w.groupName ?? null }));
  const rows = await rowsOf<{ userid: string; name: string; id: string | null }>(db, sql`with wanted as (
      select * from json_to_recordset(${JSON.stringify(unique)}::json) as v(id text, userid text, name text, group_name text)
    ), inserted as (
      insert into personal_tags (id, userid, name, group_name) select id, userid, name, group_name from wanted
      on conflict do nothing
      returning id, userid, name
    )
    select w.userid, w.name, coalesce(i.id, p.id) as id from wanted w
    left join inserted i on i.userid = w.userid and i.name = w.name
    left join personal_tags p on p.userid = w.userid and p.name = w.name`);
  for (const row of rows) {
    if (row.id) {
      result.set(personalTagKey(row.userid, row.name), row.id);
      continue;
    }
    // Created by a concurrent transaction after this statement's snapshot: visible to a new one.
    const [again] = await rowsOf<{ id: string }>(db, sql`select id from personal_tags where userid = ${row.userid} and name = ${row.name}`);
    if (again) result.set(personalTagKey(row.userid, row.name), again.id);
  }
  return result;
}

/** The diff that makes `current` (restricted to `kinds`) equal to `wanted`. */
export function tagDiff(current: RelationTag[], wanted: RelationTag[], kinds: RelationTag['kind'][]): { added: RelationTag[]; removed: RelationTag[] } {
  const inScope = current.filter((t) => kinds.includes(t.kind));
  const currentIds = new Set(inScope.map((t) => t.tagId));
  const wantedIds = new Set(wanted.map((t) => t.tagId));
  return { added: wanted.filter((t) => !currentIds.has(t.tagId)), removed: inScope.filter((t) => !wantedIds.has(t.tagId)) };
}
