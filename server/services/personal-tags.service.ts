import { randomUUID } from 'node:crypto';
import { and, asc, eq, ne, sql } from 'drizzle-orm';
import type { Database, Queryable } from '../db/database.ts';
import { personalTags, relationTags } from '../db/schema.ts';
import { DomainError } from '../http/domain-error.ts';
import { reason } from '../http/reason.ts';
import { audit } from './audit.service.ts';
import { assertName, readTagNameRules } from './tag-name-rules.service.ts';

/**
 * Personal tags: one member's own, stored locally (WeCom's API cannot set them). Every query is
 * scoped by the owner, so another member's tag (admins included) looks exactly like a missing one.
 * The audit log records ids only: admins read the log, and personal tag names are private.
 */

export interface PersonalTagView {
  id: string;
  name: string;
  groupName: string | null;
  createdAt: Date;
  /** How many of the owner's customer relations carry it. */
  customers: number;
}

const usage = sql<number>`(select count(*)::int from ${relationTags} rt where rt.tag_id = ${personalTags.id} and rt.userid = ${personalTags.userid})`;

export async function listPersonalTags(db: Queryable, userid: string): Promise<PersonalTagView[]> {
  return db.select({ id: personalTags.id, name: personalTags.name, groupName: personalTags.groupName, createdAt: personalTags.createdAt, customers: usage })
    .from(personalTags).where(eq(personalTags.userid, userid)).orderBy(asc(personalTags.groupName), asc(personalTags.name));
}

async function ownTag(db: Queryable, userid: string, id: string): Promise<PersonalTagView> {
  const [tag] = await db.select({ id: personalTags.id, name: personalTags.name, groupName: personalTags.groupName, createdAt: personalTags.createdAt, customers: usage })
    .from(personalTags).where(and(eq(personalTags.id, id), eq(personalTags.userid, userid)));
  if (!tag) throw new DomainError('NOT_FOUND', `no personal tag ${id} among yours`);
  return tag;
}

async function otherNames(db: Queryable, userid: string, exceptId?: string): Promise<string[]> {
  const rows = await db.select({ name: personalTags.name }).from(personalTags)
    .where(and(eq(personalTags.userid, userid), exceptId ? ne(personalTags.id, exceptId) : undefined));
  return rows.map((r) => r.name);
}

async function assertNames(db: Queryable, userid: string, input: { name?: string | undefined; groupName?: string | null | undefined }, exceptId?: string): Promise<void> {
  const rules = await readTagNameRules(db);
  if (input.name !== undefined) assertName(input.name, 'name', { rules, taken: await otherNames(db, userid, exceptId), takenIn: 'your personal tags' });
  if (input.groupName !== undefined && input.groupName !== null) assertName(input.groupName, 'groupName', { rules, label: 'group name' });
}

/** A unique violation (a concurrent request took the name first) becomes the same 409. */
function takenOnRace(err: unknown, name: string | undefined): unknown {
  const code = (err as { code?: string; cause?: { code?: string } }).code ?? (err as { cause?: { code?: string } }).cause?.code;
  return code === '23505' ? new DomainError('TAG_NAME_TAKEN', `name: tag name ${JSON.stringify(name)} is already used in your personal tags`, { field: 'name', problem: 'duplicate' }, reason('name.duplicate', { name: name ?? '' })) : err;
}

export async function createPersonalTag(db: Database, userid: string, input: { name: string; groupName?: string | null | undefined }): Promise<PersonalTagView> {
  await assertNames(db, userid, input);
  const id = `pt_${randomUUID()}`;
  try {
    return await db.transaction(async (tx) => {
      await tx.insert(personalTags).values({ id, userid, name: input.name, groupName: input.groupName ?? null });
      await audit(tx, { actor: userid, action: 'personal_tag.create', subjectType: 'personal_tag', subjectId: id, outcome: 'done' });
      return ownTag(tx, userid, id);
    });
  } catch (err) {
    throw takenOnRace(err, input.name);
  }
}

export async function updatePersonalTag(db: Database, userid: string, id: string, input: { name?: string | undefined; groupName?: string | null | undefined }): Promise<PersonalTagView> {
  const tag = await ownTag(db, userid, id);
  await assertNames(db, userid, input, id);
  try {
    return await db.transaction(async (tx) => {
      await tx.update(personalTags).set({ name: input.name ?? tag.name, groupName: input.groupName === undefined ? tag.groupName : input.groupName })
        .where(and(eq(personalTags.id, id), eq(personalTags.userid, userid)));
      await audit(tx, { actor: userid, action: 'personal_tag.update', subjectType: 'personal_tag', subjectId: id, outcome: 'done' });
      return ownTag(tx, userid, id);
    });
  } catch (err) {
    throw takenOnRace(err, input.name);
  }
}

/** Deletes the tag and takes it off every relation of its owner. */
export async function deletePersonalTag(db: Database, userid: string, id: string): Promise<{ id: string; customersUntagged: number }> {
  await ownTag(db, userid, id);
  return db.transaction(async (tx) => {
    const untagged = await tx.delete(relationTags).where(and(eq(relationTags.tagId, id), eq(relationTags.userid, userid), eq(relationTags.kind, 'personal')))
      .returning({ externalUserId: relationTags.externalUserId });
    await tx.delete(personalTags).where(and(eq(personalTags.id, id), eq(personalTags.userid, userid)));
    await audit(tx, { actor: userid, action: 'personal_tag.delete', subjectType: 'personal_tag', subjectId: id, outcome: 'done', details: { customersUntagged: untagged.length } });
    return { id, customersUntagged: untagged.length };
  });
}
