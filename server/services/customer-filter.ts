import { and, eq, inArray, sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import type { Queryable } from '../db/database.ts';
import { customers, personalTags } from '../db/schema.ts';
import type { MemberTagView } from './tag-policy.service.ts';

/**
 * The customer filter shared by bulk assignment and exports. Every field is an id or a plain
 * attribute: masked fields (phone numbers) cannot be filtered on, so a filter never reveals them.
 * `tags` are corp or rule-group tag ids the member may see, or the member's own personal tags.
 */
export const customerFilterSchema = z.object({
  tags: z.array(z.string().min(1).max(128)).max(200).default([]),
  /** `any`: carries at least one of `tags` on some relation; `all`: carries every one of them. */
  tagMatch: z.enum(['any', 'all']).default('any'),
  /** A member's userid, or null for customers without an owner. */
  owner: z.string().min(1).max(64).nullable().optional(),
  /** Owned by an active or former member of this department or one of its sub-departments. */
  ownerDepartment: z.number().int().positive().optional(),
  /** Has an active WeCom relation with this member. */
  follower: z.string().min(1).max(64).optional(),
  inPool: z.boolean().optional(),
  /** Part of the customer's name (case-insensitive). */
  name: z.string().min(1).max(100).optional(),
}).strict();

export type CustomerFilter = z.infer<typeof customerFilterSchema>;

/** Both drivers (pg and PGlite) answer raw queries with `{ rows }`. */
export async function rowsOf<T>(db: Queryable, query: SQL): Promise<T[]> {
  return ((await db.execute(query)) as unknown as { rows: T[] }).rows;
}

export function idList(values: readonly (string | number)[]): SQL {
  return sql.join(values.map((v) => sql`${v}`), sql`, `);
}

/** A subquery of the given departments and all their (live) sub-departments. */
export function departmentSubtreeSql(ids: readonly number[]): SQL {
  if (ids.length === 0) return sql`select null::integer as id where false`;
  return sql`with recursive subtree(id) as (
      select d.id from departments d where d.id in (${idList(ids)}) and d.removed_at is null
      union
      select d.id from departments d join subtree s on d.parent_id = s.id where d.removed_at is null
    ) select id from subtree`;
}

/** The filter as a predicate over `customers` (unaliased, like the permission core's predicates). */
export function customerFilterSql(filter: CustomerFilter): SQL {
  const parts: SQL[] = [];
  if (filter.tags.length) {
    const tagIds = [...new Set(filter.tags)];
    parts.push(filter.tagMatch === 'all'
      ? sql`(select count(distinct rt.tag_id) from relation_tags rt where rt.external_userid = ${customers.externalUserId} and rt.tag_id in (${idList(tagIds)})) = ${tagIds.length}`
      : sql`${customers.externalUserId} in (select rt.external_userid from relation_tags rt where rt.tag_id in (${idList(tagIds)}))`);
  }
  if (filter.owner === null) parts.push(sql`${customers.ownerUserid} is null`);
  else if (filter.owner !== undefined) parts.push(sql`${customers.ownerUserid} = ${filter.owner}`);
  if (filter.ownerDepartment !== undefined) {
    parts.push(sql`${customers.ownerUserid} in (select md.userid from member_departments md where md.department_id in (${departmentSubtreeSql([filter.ownerDepartment])}))`);
  }
  if (filter.follower !== undefined) {
    parts.push(sql`exists (select 1 from follow_relations fr where fr.external_userid = ${customers.externalUserId} and fr.userid = ${filter.follower} and fr.status = 'active')`);
  }
  if (filter.inPool !== undefined) parts.push(filter.inPool ? sql`${customers.inPoolSince} is not null` : sql`${customers.inPoolSince} is null`);
  if (filter.name !== undefined) parts.push(sql`${customers.name} ilike ${'%' + filter.name.replace(/[\\%_]/g, (c) => '\\' + c) + '%'}`);
  return parts.length ? sql.join(parts.map((p) => sql`(${p})`), sql` and `) : sql`true`;
}

/**
 * The filter's tags the member may not use in a filter: corp and rule-group tags outside their see
 * audience and personal tags that are not theirs. They are answered exactly like tags that do not exist.
 */
export async function unknownFilterTags(db: Queryable, view: MemberTagView, userid: string, filter: CustomerFilter): Promise<string[]> {
  const outside = filter.tags.filter((id) => !view.see.has(id));
  if (outside.length === 0) return [];
  const own = new Set((await db.select({ id: personalTags.id }).from(personalTags)
    .where(and(inArray(personalTags.id, outside), eq(personalTags.userid, userid)))).map((r) => r.id));
  return outside.filter((id) => !own.has(id));
}
