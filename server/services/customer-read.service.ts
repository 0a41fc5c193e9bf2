import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import type { Database } from '../db/database.ts';
import { customers, followRelations, personalTags, relationTags, tagGroups, tags } from '../db/schema.ts';

export interface CustomerView {
  externalUserId: string;
  name: string;
  type: number;
  avatar: string | null;
  gender: number;
  corpName: string | null;
  ownerUserid: string | null;
  relations: {
    userid: string;
    remark: string | null;
    description: string | null;
    addedAt: number | null;
    addWay: number | null;
    state: string | null;
    operUserid: string | null;
    status: string;
    endReason: string | null;
    tags: { tagId: string; kind: string; name: string; groupName: string | null }[];
  }[];
}

/**
 * One customer with its follow relations and tags. `viewer` decides what is returned: admins see every
 * relation; other members must follow the customer, and the absence of any access is `undefined`
 * (a 404 for the caller, never a 403). Only tags the viewer may see are returned; personal tags only
 * to their owner.
 */
export async function readCustomer(db: Database, externalUserId: string, viewer: { userid: string; admin: boolean; seeTags: Set<string> }): Promise<CustomerView | undefined> {
  const visible = viewer.admin
    ? sql`true`
    : sql`exists (select 1 from ${followRelations} fr where fr.external_userid = ${customers.externalUserId} and fr.userid = ${viewer.userid} and fr.status = 'active')`;
  const [customer] = await db.select().from(customers).where(and(eq(customers.externalUserId, externalUserId), visible));
  if (!customer) return undefined;
  const relations = await db.select().from(followRelations).where(eq(followRelations.externalUserId, externalUserId)).orderBy(asc(followRelations.addedAt));
  const tagRows = await db.select().from(relationTags).where(eq(relationTags.externalUserId, externalUserId));
  const wecomIds = tagRows.filter((t) => t.kind !== 'personal').map((t) => t.tagId);
  const personalIds = tagRows.filter((t) => t.kind === 'personal').map((t) => t.tagId);
  const wecomTags = wecomIds.length
    ? await db.select({ tagId: tags.tagId, name: tags.name, groupName: tagGroups.name }).from(tags).leftJoin(tagGroups, eq(tagGroups.groupId, tags.groupId)).where(inArray(tags.tagId, wecomIds))
    : [];
  const personal = personalIds.length ? await db.select().from(personalTags).where(inArray(personalTags.id, personalIds)) : [];
  const nameOf = new Map<string, { name: string; groupName: string | null; owner?: string }>([
    ...wecomTags.map((t) => [t.tagId, { name: t.name, groupName: t.groupName }] as const),
    ...personal.map((t) => [t.id, { name: t.name, groupName: t.groupName, owner: t.userid }] as const),
  ]);
  return {
    externalUserId: customer.externalUserId,
    name: customer.name,
    type: customer.type,
    avatar: customer.avatar,
    gender: customer.gender,
    corpName: customer.corpName,
    ownerUserid: customer.ownerUserid,
    relations: relations.map((r) => ({
      userid: r.userid,
      remark: r.remark,
      description: r.description,
      addedAt: r.addedAt,
      addWay: r.addWay,
      state: r.state,
      operUserid: r.operUserid,
      status: r.status,
      endReason: r.endReason,
      tags: tagRows
        .filter((t) => t.userid === r.userid)
        // Tags outside the viewer's see audience are not there for them; personal tags only for their owner.
        .filter((t) => (t.kind === 'personal' ? nameOf.get(t.tagId)?.owner === viewer.userid : viewer.seeTags.has(t.tagId)))
        .map((t) => ({ tagId: t.tagId, kind: t.kind, name: nameOf.get(t.tagId)?.name ?? t.tagId, groupName: nameOf.get(t.tagId)?.groupName ?? null })),
    })),
  };
}
