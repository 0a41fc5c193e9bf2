import { and, desc, eq, lt } from 'drizzle-orm';
import type { AppContext } from '../context.ts';
import { followUpNotes, members } from '../db/schema.ts';
import { audit } from './audit.service.ts';
import { assertCustomerAccess, loadAccessSubject } from './customer-access.service.ts';
import { recordOwnerActivity } from './public-pool.service.ts';

/**
 * Follow-up notes (跟进记录): members who may `edit` a customer add them, members who may `view` it
 * read them. A note restarts the customer's pool clock. The audit entry records the note id and its
 * length, never its text (notes may hold phone numbers).
 */

export const NOTE_MAX_LENGTH = 5_000;

export interface NoteView {
  id: number;
  author: string;
  authorName: string | null;
  content: string;
  createdAt: Date;
}

export async function listNotes(ctx: AppContext, actor: string, externalUserId: string, page: { before?: number; limit: number }): Promise<{ items: NoteView[]; nextCursor: number | null }> {
  const subject = await loadAccessSubject(ctx.db, actor, ctx.config.adminUserIds);
  await assertCustomerAccess(ctx, subject, 'view', externalUserId);
  const rows = await ctx.db.select({ id: followUpNotes.id, author: followUpNotes.author, authorName: members.name, content: followUpNotes.content, createdAt: followUpNotes.createdAt })
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
    return { id: note!.id, author: note!.author, authorName: author?.name ?? null, content: note!.content, createdAt: note!.createdAt };
  });
}
