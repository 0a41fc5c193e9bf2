import { and, desc, eq, lt } from 'drizzle-orm';
import { DomainError } from '../http/domain-error.ts';
import type { AppContext } from '../context.ts';
import { followUpNotes, members } from '../db/schema.ts';
import { audit } from './audit.service.ts';
import { assertCustomerAccess, loadAccessSubject } from './customer-access.service.ts';
import { recordOwnerActivity } from './public-pool.service.ts';

/**
 * Follow-up notes (跟进记录): members who may `edit` a customer add them, members who may `view` it
 * read them. A note restarts the customer's pool clock. Its author alone edits or deletes it, and
 * only while they may still `edit` the customer. The audit entry records the note id and its
 * length, never its text (notes may hold phone numbers).
 */

export const NOTE_MAX_LENGTH = 5_000;

export interface NoteView {
  id: number;
  author: string;
  authorName: string | null;
  content: string;
  createdAt: Date;
  /** When the author last edited it (null: as written). */
  updatedAt: Date | null;
}

export async function listNotes(ctx: AppContext, actor: string, externalUserId: string, page: { before?: number; limit: number }): Promise<{ items: NoteView[]; nextCursor: number | null }> {
  const subject = await loadAccessSubject(ctx.db, actor, ctx.config.adminUserIds);
  await assertCustomerAccess(ctx, subject, 'view', externalUserId);
  const rows = await ctx.db.select({ id: followUpNotes.id, author: followUpNotes.author, authorName: members.name, content: followUpNotes.content, createdAt: followUpNotes.createdAt, updatedAt: followUpNotes.updatedAt })
    .from(followUpNotes).leftJoin(members, eq(members.userid, followUpNotes.author))
    .where(and(eq(followUpNotes.externalUserId, externalUserId), page.before !== undefined ? lt(followUpNotes.id, page.before) : undefined))
    .orderBy(desc(followUpNotes.id)).limit(page.limit + 1);
  const more = rows.length > page.limit;
  const items = more ? rows.slice(0, page.limit) : rows;
  return { items, nextCursor: more ? items[items.length - 1]!.id : null };
}

export async function addNote(ctx: AppContext, actor: string, externalUserId: string, content: string): Promise<NoteView> {
  const subject = await loadAccessSubject(ctx.db, actor, ctx.config.adminUserIds);
  await assertCustomerAccess(ctx, subject, 'edit', externalUserId);
  return ctx.db.transaction(async (tx) => {
    const [note] = await tx.insert(followUpNotes).values({ externalUserId, author: actor, content }).returning();
    await recordOwnerActivity(tx, externalUserId, null);
    await audit(tx, { actor, action: 'customer.note_added', subjectType: 'customer', subjectId: externalUserId, outcome: 'done', details: { noteId: note!.id, length: content.length } });
    const [author] = await tx.select({ name: members.name }).from(members).where(eq(members.userid, actor));
    return { id: note!.id, author: note!.author, authorName: author?.name ?? null, content: note!.content, createdAt: note!.createdAt, updatedAt: null };
  });
}

/**
 * The note, when `actor` may change it: `edit` on the customer (404 outside the view scope, 403
 * without `edit`) and authorship (403, audited). A note of another customer is a missing note.
 */
async function ownNote(ctx: AppContext, actor: string, externalUserId: string, noteId: number, action: 'customer.note_edited' | 'customer.note_deleted') {
  const subject = await loadAccessSubject(ctx.db, actor, ctx.config.adminUserIds);
  await assertCustomerAccess(ctx, subject, 'edit', externalUserId);
  const [note] = await ctx.db.select().from(followUpNotes).where(and(eq(followUpNotes.id, noteId), eq(followUpNotes.externalUserId, externalUserId)));
  if (!note || note.author !== actor) {
    await ctx.db.transaction((tx) => audit(tx, { actor, action, subjectType: 'customer', subjectId: externalUserId, outcome: 'denied', details: { noteId, reason: note ? 'not_author' : 'no_such_note' } }));
    if (!note) throw new DomainError('NOT_FOUND', `no note ${noteId} on this customer`);
    throw new DomainError('FORBIDDEN', 'only the author of a follow-up note may change or delete it');
  }
  return note;
}

export async function editNote(ctx: AppContext, actor: string, externalUserId: string, noteId: number, content: string): Promise<NoteView> {
  const note = await ownNote(ctx, actor, externalUserId, noteId, 'customer.note_edited');
  return ctx.db.transaction(async (tx) => {
    const [updated] = await tx.update(followUpNotes).set({ content, updatedAt: new Date() }).where(eq(followUpNotes.id, noteId)).returning();
    await audit(tx, { actor, action: 'customer.note_edited', subjectType: 'customer', subjectId: externalUserId, outcome: 'done', details: { noteId, length: content.length, previousLength: note.content.length } });
    const [author] = await tx.select({ name: members.name }).from(members).where(eq(members.userid, actor));
    return { id: updated!.id, author: updated!.author, authorName: author?.name ?? null, content: updated!.content, createdAt: updated!.createdAt, updatedAt: updated!.updatedAt };
  });
}

export async function deleteNote(ctx: AppContext, actor: string, externalUserId: string, noteId: number): Promise<void> {
  const note = await ownNote(ctx, actor, externalUserId, noteId, 'customer.note_deleted');
  await ctx.db.transaction(async (tx) => {
    await tx.delete(followUpNotes).where(eq(followUpNotes.id, noteId));
    await audit(tx, { actor, action: 'customer.note_deleted', subjectType: 'customer', subjectId: externalUserId, outcome: 'done', details: { noteId, length: note.content.length, createdAt: note.createdAt.toISOString() } });
  });
}
