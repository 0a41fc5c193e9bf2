import { randomUUID } from 'node:crypto';
import { and, eq, isNull, sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import type { AppContext } from '../context.ts';
import { materials } from '../db/schema.ts';
import { DomainError } from '../http/domain-error.ts';
import { audit } from './audit.service.ts';
import { assertCustomerAccess, loadAccessSubject, memberRoleNames } from './customer-access.service.ts';
import { departmentSubtreeSql, idList } from './customer-filter.ts';

/**
 * Sales materials (text, image, link) bound to tag groups. In the sidebar a member sees a material
 * when they may see at least one tag of one of its groups (the tag policy) and, for a region's
 * material, when one of their departments lies in that region's subtree; both are decided in SQL
 * from the member's visible groups and department chain. The library is managed by admins (any
 * material, company-wide ones too) and by managers for their regions only (the departments they
 * manage and below): anything else is the same 404 as a missing material.
 */

const url = z.url({ protocol: /^https?$/ }).max(2048);
const contentByKind = {
  text: z.object({ text: z.string().min(1).max(2000) }).strict(),
  image: z.object({ picUrl: url, mediaId: z.string().min(1).max(256).optional() }).strict(),
  link: z.object({ url, desc: z.string().max(512).optional(), imgUrl: url.optional() }).strict(),
};

export const materialSchema = z.object({
  kind: z.enum(['text', 'image', 'link']),
  title: z.string().trim().min(1).max(64),
  /** text: {text}; image: {picUrl, mediaId?} (mediaId from WeCom's media upload, needed to send an image); link: {url, desc?, imgUrl?}. */
  content: z.record(z.string(), z.unknown()),
  tagGroupIds: z.array(z.string().min(1).max(128)).min(1, 'bind the material to at least one tag group').max(20),
  /** The region (department) it belongs to; leave out or null for company-wide (admins only). */
  departmentId: z.number().int().positive().nullable().optional(),
}).strict().superRefine((m, refine) => {
  const checked = contentByKind[m.kind].safeParse(m.content);
  if (!checked.success) for (const issue of checked.error.issues) refine.addIssue({ code: 'custom', path: ['content', ...issue.path.map(String)], message: issue.message });
});

export type MaterialInput = z.infer<typeof materialSchema>;
type MaterialRow = typeof materials.$inferSelect;

const notFound = (): DomainError => new DomainError('NOT_FOUND', 'no such material among yours');

function view(row: MaterialRow) {
  return { id: row.id, kind: row.kind, title: row.title, content: row.content, tagGroupIds: row.tagGroupIds, departmentId: row.departmentId, createdBy: row.createdBy, updatedAt: row.updatedAt };
}

/** Tag groups with at least one tag the member may see. */
async function visibleGroups(ctx: AppContext, userid: string): Promise<string[]> {
  const [policy, tags] = await Promise.all([ctx.policy.policy(), ctx.policy.view(userid)]);
  return [...new Set([...tags.see].map((id) => policy.tag(id)?.groupId).filter((g): g is string => g !== undefined))];
}

/** The member's departments and all their ancestors: a region's material reaches members inside it. */
async function departmentChain(ctx: AppContext, userid: string): Promise<number[]> {
  const [policy, tags] = await Promise.all([ctx.policy.policy(), ctx.policy.view(userid)]);
  return [...new Set(tags.member.departments.flatMap((d) => policy.departmentChain(d)))];
}

function memberVisibleSql(groups: string[], chain: number[]): SQL {
  if (groups.length === 0) return sql`false`;
  const groupArray = sql`array[${idList(groups)}]::text[]`;
  const region = chain.length ? sql`(${materials.departmentId} is null or ${materials.departmentId} in (${idList(chain)}))` : sql`${materials.departmentId} is null`;
  return sql`jsonb_exists_any(${materials.tagGroupIds}, ${groupArray}) and ${region}`;
}

/** The sidebar's list: materials the session member may see, newest first. */
export async function listMemberMaterials(ctx: AppContext, userid: string) {
  const where = memberVisibleSql(await visibleGroups(ctx, userid), await departmentChain(ctx, userid));
  const rows = await ctx.db.select().from(materials).where(and(isNull(materials.deletedAt), where)).orderBy(sql`${materials.updatedAt} desc`, materials.id).limit(200);
  return rows.map(view);
}

/** Who manages the library: admins everything; managers the subtrees they manage; others nothing. */
async function librarian(ctx: AppContext, userid: string): Promise<{ admin: boolean; managed: number[] }> {
  const held = await memberRoleNames(ctx.db, userid, ctx.config.adminUserIds);
  return { admin: held.roles.includes('admin'), managed: held.managedDepartments };
}

function regionSql(who: { admin: boolean; managed: number[] }): SQL {
  if (who.admin) return sql`true`;
  return who.managed.length ? sql`${materials.departmentId} in (${departmentSubtreeSql(who.managed)})` : sql`false`;
}

export async function listLibrary(ctx: AppContext, userid: string) {
  const who = await librarian(ctx, userid);
  if (!who.admin && who.managed.length === 0) throw new DomainError('FORBIDDEN', 'the material library is managed by admins and regional managers');
  const rows = await ctx.db.select().from(materials).where(and(isNull(materials.deletedAt), regionSql(who))).orderBy(sql`${materials.updatedAt} desc`, materials.id);
  return rows.map(view);
}

/** Refuses a department outside the manager's regions and tag groups the author may not see. */
async function checkPlacement(ctx: AppContext, userid: string, who: { admin: boolean; managed: number[] }, input: MaterialInput): Promise<void> {
  const departmentId = input.departmentId ?? null;
  if (!who.admin) {
    if (departmentId === null) throw new DomainError('FORBIDDEN', 'only admins make company-wide materials: give departmentId, a department you manage');
    const policy = await ctx.policy.policy();
    if (!policy.departmentChain(departmentId).some((d) => who.managed.includes(d))) {
      throw new DomainError('FORBIDDEN', `department ${departmentId} is outside the regions you manage`, { departmentId });
    }
  } else if (departmentId !== null && !(await ctx.policy.policy()).hasDepartment(departmentId)) {
    throw new DomainError('BAD_REQUEST', `no department ${departmentId}`);
  }
  const groups = new Set(await visibleGroups(ctx, userid));
  const unknown = input.tagGroupIds.filter((g) => !groups.has(g));
  if (unknown.length) throw new DomainError('TAG_NOT_FOUND', `no such tag group among those you can see: ${unknown.join(', ')}`, { tagGroups: unknown });
}

async function managedRow(ctx: AppContext, userid: string, id: string, action: string): Promise<{ row: MaterialRow; who: { admin: boolean; managed: number[] } }> {
  const who = await librarian(ctx, userid);
  const [row] = await ctx.db.select().from(materials).where(and(eq(materials.id, id), isNull(materials.deletedAt), regionSql(who)));
  if (row) return { row, who };
  await ctx.db.transaction((tx) => audit(tx, { actor: userid, action, subjectType: 'material', subjectId: id, outcome: 'denied', details: { reason: 'not found in the actor\'s regions' } }));
  throw notFound();
}

export async function createMaterial(ctx: AppContext, userid: string, input: MaterialInput) {
  const who = await librarian(ctx, userid);
  if (!who.admin && who.managed.length === 0) throw new DomainError('FORBIDDEN', 'the material library is managed by admins and regional managers');
  await checkPlacement(ctx, userid, who, input);
  const id = `mat-${randomUUID()}`;
  const row = await ctx.db.transaction(async (tx) => {
    const [created] = await tx.insert(materials).values({
      id, kind: input.kind, title: input.title, content: input.content, tagGroupIds: [...new Set(input.tagGroupIds)], departmentId: input.departmentId ?? null, createdBy: userid,
    }).returning();
    await audit(tx, { actor: userid, action: 'material.create', subjectType: 'material', subjectId: id, outcome: 'done', details: { kind: input.kind, title: input.title, tagGroupIds: input.tagGroupIds, departmentId: input.departmentId ?? null } });
    return created!;
  });
  return view(row);
}

export async function updateMaterial(ctx: AppContext, userid: string, id: string, input: MaterialInput) {
  const { who } = await managedRow(ctx, userid, id, 'material.update');
  await checkPlacement(ctx, userid, who, input);
  const row = await ctx.db.transaction(async (tx) => {
    const [updated] = await tx.update(materials).set({
      kind: input.kind, title: input.title, content: input.content, tagGroupIds: [...new Set(input.tagGroupIds)], departmentId: input.departmentId ?? null, updatedAt: sql`now()`,
    }).where(eq(materials.id, id)).returning();
    await audit(tx, { actor: userid, action: 'material.update', subjectType: 'material', subjectId: id, outcome: 'done', details: { title: input.title, tagGroupIds: input.tagGroupIds, departmentId: input.departmentId ?? null } });
    return updated!;
  });
  return view(row);
}

export async function deleteMaterial(ctx: AppContext, userid: string, id: string) {
  await managedRow(ctx, userid, id, 'material.delete');
  await ctx.db.transaction(async (tx) => {
    await tx.update(materials).set({ deletedAt: sql`now()` }).where(eq(materials.id, id));
    await audit(tx, { actor: userid, action: 'material.delete', subjectType: 'material', subjectId: id, outcome: 'done', details: {} });
  });
  return { id, deleted: true };
}

/**
 * Records that a member sent a material into a customer's chat (the JS-SDK's sendChatMessage runs in
 * the browser): the material must be one they see and the customer in their view scope (404 otherwise).
 */
export async function recordMaterialSent(ctx: AppContext, userid: string, id: string, externalUserId: string) {
  const where = memberVisibleSql(await visibleGroups(ctx, userid), await departmentChain(ctx, userid));
  const [row] = await ctx.db.select({ id: materials.id }).from(materials).where(and(eq(materials.id, id), isNull(materials.deletedAt), where));
  if (!row) {
    await ctx.db.transaction((tx) => audit(tx, { actor: userid, action: 'material.send', subjectType: 'material', subjectId: id, outcome: 'denied', details: { reason: 'not visible' } }));
    throw notFound();
  }
  await assertCustomerAccess(ctx, await loadAccessSubject(ctx.db, userid, ctx.config.adminUserIds), 'view', externalUserId);
  await ctx.db.transaction((tx) => audit(tx, { actor: userid, action: 'material.send', subjectType: 'customer', subjectId: externalUserId, outcome: 'done', details: { material: id } }));
  return { id, externalUserId, recorded: true };
}
