import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { AppContext } from '../context.ts';
import { currentSession, requirePermission } from '../http/guard.ts';
import { addNote, deleteNote, editNote, listNotes, NOTE_MAX_LENGTH } from '../services/follow-up-notes.service.ts';
import { externalUserIdSchema } from './customers.route.ts';

export const noteBody = z.object({ content: z.string().trim().min(1).max(NOTE_MAX_LENGTH) }).strict();
export const notesQuery = z.object({ before: z.coerce.number().int().positive().optional(), limit: z.coerce.number().int().min(1).max(200).default(50) }).strict();
export const noteId = z.coerce.number().int().positive();

/** Follow-up notes: read with `view`, added with `edit` on the customer; edited and deleted by their author (with `edit`). */
export function followUpNotesRouter(ctx: AppContext): Router {
  const router = Router();
  router.get('/api/customers/:externalUserId/notes', requirePermission(ctx, 'member'), async (req: Request, res: Response) => {
    const id = externalUserIdSchema.parse(req.params.externalUserId);
    res.json(await listNotes(ctx, currentSession(res).userid, id, notesQuery.parse(req.query)));
  });
  router.post('/api/customers/:externalUserId/notes', requirePermission(ctx, 'member'), async (req: Request, res: Response) => {
    const id = externalUserIdSchema.parse(req.params.externalUserId);
    const body = noteBody.parse(req.body);
    res.status(201).json(await addNote(ctx, currentSession(res).userid, id, body.content));
  });
  router.patch('/api/customers/:externalUserId/notes/:noteId', requirePermission(ctx, 'member'), async (req: Request, res: Response) => {
    const id = externalUserIdSchema.parse(req.params.externalUserId);
    const body = noteBody.parse(req.body);
    res.json(await editNote(ctx, currentSession(res).userid, id, noteId.parse(req.params.noteId), body.content));
  });
  router.delete('/api/customers/:externalUserId/notes/:noteId', requirePermission(ctx, 'member'), async (req: Request, res: Response) => {
    const id = externalUserIdSchema.parse(req.params.externalUserId);
    await deleteNote(ctx, currentSession(res).userid, id, noteId.parse(req.params.noteId));
    res.status(204).end();
  });
  return router;
}
