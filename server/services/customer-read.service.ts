import { and, asc, eq, inArray, sql, type SQL } from 'drizzle-orm';
import type { Queryable } from '../db/database.ts';
import { customers, followRelations, members, personalTags, relationTags, tagGroups, tags } from '../db/schema.ts';
import { customerScopeSql, type AccessSubject, type CustomerAction } from '../policy/customer-scope.ts';
import { permissionColumns } from './customer-access.service.ts';
import { shownValue, type MaskableField } from '../policy/masking.ts';

export interface TagView { tagId: string; kind: string; name: string; groupName: string | null }

export interface CustomerView {
  externalUserId: string;
  name: string;
  type: number;
  avatar: string | null;
  gender: number;
  corpName: string | null;
  corpFullName: string | null;
  position: string | null;
  ownerUserid: string | null;
  owner: { userid: string; name: string; active: boolean } | null;
  inPool: boolean;
  poolDepartmentId: number | null;
  relations: {
    userid: string;
    /** The colleague's name from the member table (the userid when the member is unknown here). */
    name: string;
    /** Who added the customer for this relation (shared by a colleague, assigned by an admin), by name. */
    operName: string | null;
    remark: string | null;
    description: string | null;
    remarkCorpName: string | null;
    remarkMobiles: string[];
    addedAt: number | null;
    addWay: number | null;
    state: string | null;
    operUserid: string | null;
    status: string;
    endReason: string | null;
    tags: TagView[];
  }[];
  /** The fields shown masked in this answer: always every masked field; `unmask` allows `reveal`, one value at a time. */
  masked: MaskableField[];
  /** What the member may do with this customer. */
  permissions: Record<CustomerAction, boolean>;
}

export interface Viewer {
  subject: AccessSubject;
  /** Corp and rule-group tags the member may see (tag policy). */
  seeTags: Set<string>;
  maskedFields: Set<MaskableField>;
  /**
   * Whose personal tags appear: the member's own (undefined, the default), or nobody's (null) while an
   * admin views the app as the member (personal tags are private, admins included).
   */
  personalOf?: string | null;
}

/** Tag names for tag rows, visible ones only (corp/rule-group by see audience; personal to their owner). */
/** Tags of the customers' relations the viewer may see; personal tags only those of `personalOf` (null: none). */
export async function visibleTagsOf(db: Queryable, externalUserIds: string[], viewer: { personalOf: string | null; seeTags: Set<string> }): Promise<Map<string, { userid: string; tag: TagView }[]>> {
  const out = new Map<string, { userid: string; tag: TagView }[]>();
  if (!externalUserIds.length) return out;
  const tagRows = await db.select().from(relationTags).where(inArray(relationTags.externalUserId, externalUserIds));
  const wecomIds = [...new Set(tagRows.filter((t) => t.kind !== 'personal' && viewer.seeTags.has(t.tagId)).map((t) => t.tagId))];
  const personalIds = [...new Set(tagRows.filter((t) => t.kind === 'personal' && viewer.personalOf !== null && t.userid === viewer.personalOf).map((t) => t.tagId))];
  const wecomTags = wecomIds.length
    ? await db.select({ tagId: tags.tagId, name: tags.name, groupName: tagGroups.name }).from(tags).leftJoin(tagGroups, eq(tagGroups.groupId, tags.groupId)).where(inArray(tags.tagId, wecomIds))
    : [];
  const personal = personalIds.length && viewer.personalOf !== null ? await db.select().from(personalTags).where(and(inArray(personalTags.id, personalIds), eq(personalTags.userid, viewer.personalOf))) : [];
  const nameOf = new Map<string, { name: string; groupName: string | null }>([
    ...wecomTags.map((t) => [t.tagId, { name: t.name, groupName: t.groupName }] as const),
    ...personal.map((t) => [t.id, { name: t.name, groupName: t.groupName }] as const),
  ]);
  for (const row of tagRows) {
    // Tags outside the viewer's see audience are not there for them; personal tags only for their owner.
    const visible = row.kind === 'personal' ? row.userid === viewer.personalOf && nameOf.has(row.tagId) : viewer.seeTags.has(row.tagId);
    if (!visible) continue;
    const entry = { userid: row.userid, tag: { tagId: row.tagId, kind: row.kind, name: nameOf.get(row.tagId)?.name ?? row.tagId, groupName: nameOf.get(row.tagId)?.groupName ?? null } };
    out.set(row.externalUserId, [...(out.get(row.externalUserId) ?? []), entry]);
  }
  return out;
}

/**
 * One customer as the viewer may see it, read with the customer scope's `view` predicate plus
 * `id = $1` (the list's predicate, so detail and list never disagree). Outside the scope, or missing:
 * `undefined`, the same 404 for the caller either way. Masked fields are masked here, on the server,
 * for everyone: a member with `unmask` on this customer fetches one value at a time with `reveal`
 * (audited per value), so full values never travel unasked.
 */
export async function readCustomer(db: Queryable, externalUserId: string, viewer: Viewer): Promise<CustomerView | undefined> {
  const { columns, read } = permissionColumns(viewer.subject);
  const [customer] = await db.select({ row: customers, permissions: columns }).from(customers)
    .where(and(customerScopeSql(viewer.subject, 'view', 'row'), eq(customers.externalUserId, externalUserId)));
  if (!customer) return undefined;
  const { row } = customer;
  const permissions = read(customer.permissions);
  const relations = await db.select().from(followRelations).where(eq(followRelations.externalUserId, externalUserId)).orderBy(asc(followRelations.addedAt), asc(followRelations.userid));
  // Owner, followers and who added them, named in one query.
  const named = [...new Set([row.ownerUserid, ...relations.flatMap((r) => [r.userid, r.operUserid])].filter((u): u is string => Boolean(u)))];
  const people = named.length ? await db.select({ userid: members.userid, name: members.name, status: members.status }).from(members).where(inArray(members.userid, named)) : [];
  const person = new Map(people.map((p) => [p.userid, p]));
  const owner = row.ownerUserid ? person.get(row.ownerUserid) : undefined;
  const tagsOf = (await visibleTagsOf(db, [externalUserId], { personalOf: viewer.personalOf === undefined ? viewer.subject.userid : viewer.personalOf, seeTags: viewer.seeTags })).get(externalUserId) ?? [];
  const masked = [...viewer.maskedFields].sort();
  const show = <T extends string | null>(field: MaskableField, value: T): T => shownValue(field, value, viewer.maskedFields, false);
  return {
    externalUserId: row.externalUserId,
    name: row.name,
    type: row.type,
    avatar: row.avatar,
    gender: row.gender,
    corpName: show('customer.corpName', row.corpName),
    corpFullName: show('customer.corpFullName', row.corpFullName),
    position: show('customer.position', row.position),
    ownerUserid: row.ownerUserid,
    owner: row.ownerUserid ? { userid: row.ownerUserid, name: owner?.name ?? row.ownerUserid, active: owner?.status === 1 } : null,
    inPool: row.inPoolSince !== null,
    poolDepartmentId: row.poolDepartmentId,
    relations: relations.map((r) => ({
      userid: r.userid,
      name: person.get(r.userid)?.name ?? r.userid,
      operName: r.operUserid ? person.get(r.operUserid)?.name ?? r.operUserid : null,
      remark: r.remark,
      description: show('relation.description', r.description),
      remarkCorpName: show('relation.remarkCorpName', r.remarkCorpName),
      remarkMobiles: (r.remarkMobiles ?? []).map((m) => show('relation.remarkMobiles', m)),
      addedAt: r.addedAt,
      addWay: r.addWay,
      state: r.state,
      operUserid: r.operUserid,
      status: r.status,
      endReason: r.endReason,
      tags: tagsOf.filter((t) => t.userid === r.userid).map((t) => t.tag),
    })),
    masked,
    permissions,
  };
}

/** The full value of one masked field, or undefined when there is no such value. No permission check. */
export async function readFieldValue(db: Queryable, externalUserId: string, field: MaskableField, relationUserid: string | undefined, index: number): Promise<string | undefined> {
  if (field.startsWith('customer.')) {
    const [row] = await db.select({ corpName: customers.corpName, corpFullName: customers.corpFullName, position: customers.position }).from(customers).where(eq(customers.externalUserId, externalUserId));
    const key = field.slice('customer.'.length) as 'corpName' | 'corpFullName' | 'position';
    return row?.[key] ?? undefined;
  }
  if (!relationUserid) return undefined;
  const [row] = await db.select({ description: followRelations.description, remarkCorpName: followRelations.remarkCorpName, remarkMobiles: followRelations.remarkMobiles })
    .from(followRelations).where(and(eq(followRelations.externalUserId, externalUserId), eq(followRelations.userid, relationUserid)));
  if (!row) return undefined;
  if (field === 'relation.remarkMobiles') return row.remarkMobiles?.[index] ?? undefined;
  if (index !== 0) return undefined;
  return (field === 'relation.description' ? row.description : row.remarkCorpName) ?? undefined;
}
