import { and, eq, inArray, sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import type { Queryable } from '../db/database.ts';
import { customers, members, personalTags } from '../db/schema.ts';
import { DomainError } from '../http/domain-error.ts';
import { customerScopeParts, customerScopeSql, type AccessSubject } from '../policy/customer-scope.ts';
import { shownValue, type MaskableField } from '../policy/masking.ts';
import { visibleTagsOf, type TagView } from './customer-read.service.ts';

/**
 * `GET /api/customers` and `/count`: the customers in the member's `view` scope (the customer scope
 * predicate, never a post-filter), newest first, keyset-paged on (created_at desc, external_userid).
 * Search is by name and remark only: masked fields are never searched, filtered or sorted on.
 */
const csv = z.string().max(4_000).transform((v) => [...new Set(v.split(',').map((s) => s.trim()).filter(Boolean))]).pipe(z.array(z.string().min(1).max(128)).max(100));

export const customerListQuerySchema = z.object({
  cursor: z.string().min(1).max(512).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  q: z.string().trim().min(1).max(100).optional(),
  tags: csv.optional(),
  /** `any` (default): carries at least one of the tags; `all`: carries every one. */
  tagMatch: z.enum(['any', 'all']).default('any'),
  /** A member's userid, or `none` for customers without an owner. */
  owner: z.string().min(1).max(64).optional(),
  /** `1`: only customers in a public pool; `0`: only customers outside pools. */
  pool: z.enum(['0', '1']).optional(),
}).strict();
export type CustomerListQuery = z.infer<typeof customerListQuerySchema>;

export interface CustomerListItem {
  externalUserId: string;
  name: string;
  avatar: string | null;
  type: number;
  corpName: string | null;
  ownerUserid: string | null;
  ownerName: string | null;
  inPool: boolean;
  createdAt: string;
  /** Visible tags on any relation, once each. */
  tags: TagView[];
}

interface Cursor { createdAt: string; id: string }

function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify([cursor.createdAt, cursor.id])).toString('base64url');
}

function decodeCursor(value: string): Cursor {
  try {
    const [createdAt, id] = JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as unknown[];
    // The created_at text PostgreSQL gave (microseconds kept; a JS Date would round them off).
    if (typeof createdAt === 'string' && /^\d{4}-\d\d-\d\d[ T][\d:.]+([+-]\d\d(:?\d\d)?|Z)$/.test(createdAt) && typeof id === 'string' && id.length <= 128) return { createdAt, id };
  } catch { /* malformed: answered below */ }
  throw new DomainError('BAD_REQUEST', 'cursor: not a cursor this API returned');
}

const likePattern = (q: string): string => `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/**
 * The tags a member may filter by: corp and rule-group tags they may see, and their own personal tags.
 * Any other id is treated as a tag that does not exist (it matches nothing), so a hidden tag and a
 * missing tag give the same answer.
 */
async function usableFilterTags(db: Queryable, userid: string | null, seeTags: Set<string>, requested: string[]): Promise<string[]> {
  const outside = requested.filter((id) => !seeTags.has(id));
  const own = outside.length && userid !== null
    ? new Set((await db.select({ id: personalTags.id }).from(personalTags).where(and(inArray(personalTags.id, outside), eq(personalTags.userid, userid)))).map((r) => r.id))
    : new Set<string>();
  return requested.filter((id) => seeTags.has(id) || own.has(id));
}

/** The list's filters (besides the scope and the cursor) as one predicate over `customers`. */
async function filtersSql(db: Queryable, subject: AccessSubject, seeTags: Set<string>, query: Omit<CustomerListQuery, 'cursor' | 'limit'>, personalOf: string | null): Promise<SQL> {
  const parts: SQL[] = [];
  if (query.q) {
    const pattern = likePattern(query.q);
    parts.push(sql`(${customers.name} ilike ${pattern} or ${customers.externalUserId} in (select r.external_userid from follow_relations r where r.remark ilike ${pattern}))`);
  }
  if (query.tags?.length) {
    const usable = await usableFilterTags(db, personalOf, seeTags, query.tags);
    if (query.tagMatch === 'all') {
      if (usable.length < query.tags.length) parts.push(sql`false`);
      for (const tagId of usable) parts.push(sql`${customers.externalUserId} in (select t.external_userid from relation_tags t where t.tag_id = ${tagId})`);
    } else {
      parts.push(usable.length ? sql`${customers.externalUserId} in (select t.external_userid from relation_tags t where t.tag_id in (${sql.join(usable.map((id) => sql`${id}`), sql`, `)}))` : sql`false`);
    }
  }
  if (query.owner === 'none') parts.push(sql`${customers.ownerUserid} is null`);
  else if (query.owner) parts.push(eq(customers.ownerUserid, query.owner));
  if (query.pool === '1') parts.push(sql`${customers.inPoolSince} is not null`);
  if (query.pool === '0') parts.push(sql`${customers.inPoolSince} is null`);
  return parts.length ? and(...parts)! : sql`true`;
}

/** The scope (`view`) and the list's filters as one predicate over `customers` (the count uses it). */
export async function customerListFilterSql(db: Queryable, subject: AccessSubject, seeTags: Set<string>, query: Omit<CustomerListQuery, 'cursor' | 'limit'>, personalOf: string | null = subject.userid): Promise<SQL> {
  return and(customerScopeSql(subject, 'view', 'auto', { outsidePools: query.pool === '0' }), await filtersSql(db, subject, seeTags, query, personalOf))!;
}

const LIST_ORDER = sql`${customers.createdAt} desc, ${customers.externalUserId} asc`;

/**
 * The page query (scope, filters, keyset, order, limit + 1), wrapped (a query builder is a thenable,
 * which an async function would run): exposed for EXPLAIN in the benchmark. Each part of the scope
 * (customerScopeParts) gives its own first `limit + 1` rows after the cursor on its own index; the
 * page is the first `limit + 1` of their union, which is the first `limit + 1` of the whole scope.
 */
export async function customerPageQuery(db: Queryable, subject: AccessSubject, seeTags: Set<string>, query: CustomerListQuery, personalOf: string | null = subject.userid) {
  const filters = await filtersSql(db, subject, seeTags, query, personalOf);
  const after = query.cursor ? decodeCursor(query.cursor) : undefined;
  const keyset = after
    ? sql`(${customers.createdAt} < ${after.createdAt}::timestamptz or (${customers.createdAt} = ${after.createdAt}::timestamptz and ${customers.externalUserId} > ${after.id}))`
    : sql`true`;
  const parts = customerScopeParts(subject, 'view', { outsidePools: query.pool === '0' });
  let where: SQL;
  if (parts === 'all') where = and(filters, keyset)!;
  else if (!parts.length) where = sql`false`;
  else {
    const pages = parts.map((part) => sql`(select ${customers.externalUserId} from ${customers} where (${part}) and ${filters} and ${keyset} order by ${LIST_ORDER} limit ${query.limit + 1})`);
    where = sql`${customers.externalUserId} in (${sql.join(pages, sql` union all `)})`;
  }
  const page = db.select({
    externalUserId: customers.externalUserId,
    name: customers.name,
    avatar: customers.avatar,
    type: customers.type,
    corpName: customers.corpName,
    ownerUserid: customers.ownerUserid,
    inPoolSince: customers.inPoolSince,
    createdAt: customers.createdAt,
    createdAtText: sql<string>`${customers.createdAt}::text`,
  }).from(customers)
    .where(where)
    .orderBy(sql`${customers.createdAt} desc`, sql`${customers.externalUserId} asc`)
    .limit(query.limit + 1);
  return { page };
}

/** `viewer.personalOf`: whose personal tags are shown and may filter (default the subject's own; null: nobody's, during view-as). */
export async function listCustomers(db: Queryable, subject: AccessSubject, viewer: { seeTags: Set<string>; maskedFields: Set<MaskableField>; personalOf?: string | null }, query: CustomerListQuery): Promise<{ items: CustomerListItem[]; nextCursor: string | null }> {
  const personalOf = viewer.personalOf === undefined ? subject.userid : viewer.personalOf;
  const rows = await (await customerPageQuery(db, subject, viewer.seeTags, query, personalOf)).page;
  const page = rows.slice(0, query.limit);
  const ids = page.map((r) => r.externalUserId);
  const ownerIds = [...new Set(page.map((r) => r.ownerUserid).filter((u): u is string => u !== null))];
  const owners = new Map(ownerIds.length ? (await db.select({ userid: members.userid, name: members.name }).from(members).where(inArray(members.userid, ownerIds))).map((m) => [m.userid, m.name]) : []);
  const tagsOf = await visibleTagsOf(db, ids, { personalOf, seeTags: viewer.seeTags });
  const items = page.map((r) => {
    const seen = new Set<string>();
    return {
      externalUserId: r.externalUserId,
      name: r.name,
      avatar: r.avatar,
      type: r.type,
      // Masked for everyone in lists; a member with `unmask` reveals one value at a time on the detail.
      corpName: shownValue('customer.corpName', r.corpName, viewer.maskedFields, false),
      ownerUserid: r.ownerUserid,
      ownerName: r.ownerUserid ? owners.get(r.ownerUserid) ?? null : null,
      inPool: r.inPoolSince !== null,
      createdAt: r.createdAt.toISOString(),
      tags: (tagsOf.get(r.externalUserId) ?? []).map((t) => t.tag).filter((t) => !seen.has(t.tagId) && seen.add(t.tagId)),
    };
  });
  const last = rows.length > query.limit ? page[page.length - 1] : undefined;
  return { items, nextCursor: last ? encodeCursor({ createdAt: last.createdAtText, id: last.externalUserId }) : null };
}

export async function countCustomers(db: Queryable, subject: AccessSubject, seeTags: Set<string>, query: Omit<CustomerListQuery, 'cursor' | 'limit'>, personalOf: string | null = subject.userid): Promise<number> {
  const filter = await customerListFilterSql(db, subject, seeTags, query, personalOf);
  const [row] = await db.select({ count: sql<number>`count(*)::int` }).from(customers).where(filter);
  return row?.count ?? 0;
}
