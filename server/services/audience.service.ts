import { and, eq, inArray, sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import type { AppContext } from '../context.ts';
import type { Queryable } from '../db/database.ts';
import { customers, personalTags } from '../db/schema.ts';
import { DomainError } from '../http/domain-error.ts';
import { customerScopeSql, type AccessSubject } from '../policy/customer-scope.ts';
import { departmentSubtreeSql, idList, rowsOf } from './customer-filter.ts';
import { loadAccessSubject } from './customer-access.service.ts';
import type { MemberTagView } from './tag-policy.service.ts';

/**
 * Audiences for targeted messaging, built in layers: enterprise tags (corp and rule-group tags the
 * creator may see) select the target group, the creator's own personal tags refine it, then
 * conditions (added since, owner, owner's department). "Directed" tags limit the whole audience to
 * customers carrying one of them. Every layer stays inside the creator's view scope (the permission
 * core's predicate, in SQL); each step's count is the customers left after it.
 */
const tagIds = z.array(z.string().min(1).max(128)).max(100).default([]);

export const audienceSchema = z.object({
  enterpriseTags: tagIds,
  /** `any`: carries at least one; `all`: carries every one (on any relation). */
  enterpriseMatch: z.enum(['any', 'all']).default('any'),
  personalTags: tagIds,
  personalMatch: z.enum(['any', 'all']).default('any'),
  conditions: z.object({
    /** A relation with a member added at or after this time. */
    addedSince: z.iso.datetime({ offset: true }).optional(),
    /** The customer's owner (a userid). */
    owner: z.string().min(1).max(64).optional(),
    /** Owned by a member of this department or one of its sub-departments. */
    department: z.number().int().positive().optional(),
  }).strict().default({}),
  /** Directed visibility: only customers carrying at least one of these tags are ever in the audience. */
  directedTags: tagIds,
}).strict();

export type AudienceDefinition = z.infer<typeof audienceSchema>;
export type AudienceStep = 'enterprise' | 'personal' | 'conditions';
export type AudienceLayer = AudienceStep | 'directed';

export interface AudienceCounts {
  /** Customers left after each step, in order (each includes the directed limit and the view scope). */
  steps: { step: AudienceStep; count: number }[];
  total: number;
}

const tagsOn = (ids: readonly string[], match: 'any' | 'all', userid?: string): SQL => {
  const unique = [...new Set(ids)];
  const member = userid === undefined ? sql`` : sql` and rt.userid = ${userid}`;
  return match === 'all' && unique.length > 1
    ? sql`${customers.externalUserId} in (select rt.external_userid from relation_tags rt where rt.tag_id in (${idList(unique)})${member} group by rt.external_userid having count(distinct rt.tag_id) = ${unique.length})`
    : sql`${customers.externalUserId} in (select rt.external_userid from relation_tags rt where rt.tag_id in (${idList(unique)})${member})`;
};

/** The predicates of each layer over `customers` (`true` for an empty layer). Personal tags count only on the creator's relations. */
export function audienceLayerSql(audience: AudienceDefinition, creator: string): Record<AudienceLayer, SQL> {
  const conditions: SQL[] = [];
  const c = audience.conditions;
  if (c.addedSince !== undefined) {
    const since = Math.floor(new Date(c.addedSince).getTime() / 1000);
    conditions.push(sql`exists (select 1 from follow_relations fr where fr.external_userid = ${customers.externalUserId} and fr.status = 'active' and fr.added_at >= ${since})`);
  }
  if (c.owner !== undefined) conditions.push(sql`${customers.ownerUserid} = ${c.owner}`);
  if (c.department !== undefined) conditions.push(sql`${customers.ownerUserid} in (select md.userid from member_departments md where md.department_id in (${departmentSubtreeSql([c.department])}))`);
  return {
    directed: audience.directedTags.length ? tagsOn(audience.directedTags, 'any') : sql`true`,
    enterprise: audience.enterpriseTags.length ? tagsOn(audience.enterpriseTags, audience.enterpriseMatch) : sql`true`,
    personal: audience.personalTags.length ? tagsOn(audience.personalTags, audience.personalMatch, creator) : sql`true`,
    conditions: conditions.length ? sql.join(conditions.map((p) => sql`(${p})`), sql` and `) : sql`true`,
  };
}

/** Every layer and the creator's view scope: the audience as one predicate over `customers`. */
export function audienceSql(subject: AccessSubject, audience: AudienceDefinition): SQL {
  const layer = audienceLayerSql(audience, subject.userid);
  return sql`(${customerScopeSql(subject, 'view')}) and (${layer.directed}) and (${layer.enterprise}) and (${layer.personal}) and (${layer.conditions})`;
}

/**
 * The tags of an audience the creator may not use: corp and rule-group tags outside their see
 * audience (also in the personal layer), and personal tags that are not theirs (also in the tag
 * layers). They are answered exactly like tags that do not exist.
 */
export async function unknownAudienceTags(db: Queryable, view: MemberTagView, creator: string, audience: AudienceDefinition): Promise<string[]> {
  const shared = [...audience.enterpriseTags, ...audience.directedTags].filter((id) => !view.see.has(id));
  const personal = audience.personalTags;
  const own = personal.length
    ? new Set((await db.select({ id: personalTags.id }).from(personalTags).where(and(inArray(personalTags.id, personal), eq(personalTags.userid, creator)))).map((r) => r.id))
    : new Set<string>();
  return [...new Set([...shared, ...personal.filter((id) => !own.has(id))])];
}

/** Refuses (404 TAG_NOT_FOUND) an audience naming tags the creator may not use. */
export async function assertAudienceTags(ctx: AppContext, creator: string, audience: AudienceDefinition): Promise<MemberTagView> {
  const view = await ctx.policy.view(creator);
  const unknown = await unknownAudienceTags(ctx.db, view, creator, audience);
  if (unknown.length) throw new DomainError('TAG_NOT_FOUND', `no such tag among yours: ${unknown.join(', ')}; use tags you can see, and your own personal tags`, { tags: unknown });
  return view;
}

/**
 * The customers carrying the directed and enterprise tags, as a set computed from relation_tags alone
 * (index-only on (tag_id, external_userid)), or null when neither layer names a tag.
 */
function taggedCandidatesSql(audience: AudienceDefinition): SQL | null {
  const sets: SQL[] = [];
  const directed = [...new Set(audience.directedTags)];
  const enterprise = [...new Set(audience.enterpriseTags)];
  if (directed.length) sets.push(sql`select rt.external_userid from relation_tags rt where rt.tag_id in (${idList(directed)})`);
  if (enterprise.length) {
    sets.push(audience.enterpriseMatch === 'all' && enterprise.length > 1
      ? sql`select rt.external_userid from relation_tags rt where rt.tag_id in (${idList(enterprise)}) group by rt.external_userid having count(distinct rt.tag_id) = ${enterprise.length}`
      : sql`select rt.external_userid from relation_tags rt where rt.tag_id in (${idList(enterprise)})`);
  }
  return sets.length ? sql.join(sets, sql` intersect `) : null;
}

/**
 * The count after each step, in one statement over the creator's view scope and the directed limit.
 * With tag layers the tagged customers are gathered first and each is looked up by primary key
 * (`offset 0` keeps the lookup per candidate) with the scope tested on the row: a department-wide
 * scope never walks all customers. Without tags the scope itself is counted.
 */
export async function countAudienceSteps(db: Queryable, subject: AccessSubject, audience: AudienceDefinition): Promise<AudienceCounts> {
  const layer = audienceLayerSql(audience, subject.userid);
  const candidates = taggedCandidatesSql(audience);
  const [row] = candidates
    ? await rowsOf<{ enterprise: number; personal: number; conditions: number }>(db, sql`
      with candidates as materialized (${candidates})
      select count(*)::int as enterprise,
        count(*) filter (where c.personal)::int as personal,
        count(*) filter (where c.personal and c.conditions)::int as conditions
      from candidates k cross join lateral (
        select (${layer.personal}) as personal, (${layer.conditions}) as conditions from ${customers}
        where ${customers.externalUserId} = k.external_userid and (${customerScopeSql(subject, 'view', 'row')}) offset 0
      ) c`)
    : await rowsOf<{ enterprise: number; personal: number; conditions: number }>(db, sql`
      select count(*)::int as enterprise,
        count(*) filter (where ${layer.personal})::int as personal,
        count(*) filter (where (${layer.personal}) and (${layer.conditions}))::int as conditions
      from ${customers}
      where (${customerScopeSql(subject, 'view')}) and (${layer.directed}) and (${layer.enterprise})`);
  const steps: AudienceCounts['steps'] = [
    { step: 'enterprise', count: row!.enterprise },
    { step: 'personal', count: row!.personal },
    { step: 'conditions', count: row!.conditions },
  ];
  return { steps, total: row!.conditions };
}

/** Counts for the member who asks (POST /api/audiences/count). */
export async function countAudience(ctx: AppContext, creator: string, audience: AudienceDefinition): Promise<AudienceCounts> {
  await assertAudienceTags(ctx, creator, audience);
  const subject = await loadAccessSubject(ctx.db, creator, ctx.config.adminUserIds);
  return countAudienceSteps(ctx.db, subject, audience);
}
