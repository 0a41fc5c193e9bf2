import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { AppContext } from '../context.ts';
import { currentSession, requirePermission } from '../http/guard.ts';
import {
  addTagsToGroup, createTagGroup, deleteTag, deleteTagGroup, readTagLibrary, updateTag, updateTagGroup,
} from '../services/corp-tags.service.ts';
import { createFolder, deleteFolder, updateFolder } from '../services/tag-folders.service.ts';
import { readTagNameRules, saveTagNameRules } from '../services/tag-name-rules.service.ts';

/** WeCom's `order`: [0, 2^32), larger shown first. Folder order is local (same convention, int4). */
export const wecomOrder = z.number().int().min(0).max(4_294_967_295);
export const folderOrder = z.number().int().min(0).max(2_147_483_647);
/** Names are checked by the naming rules (tag-names.ts) for a message naming the character. */
export const name = z.string();
export const newTag = z.object({ name, order: wecomOrder.optional() }).strict();
export const newTags = z.array(newTag).min(1, 'at least one tag (WeCom has no empty groups)').max(3000);
export const wecomId = z.string().min(1).max(128);
export const folderId = z.string().regex(/^\d{1,9}$/, 'a folder id is a number').transform(Number);
export const folderRef = z.number().int().positive().max(2_147_483_647).nullable();
const somethingToChange = (body: Record<string, unknown>) => Object.keys(body).some((k) => k !== 'acknowledgeWidening');

export const createGroupBody = z.object({ name, order: wecomOrder.optional(), folderId: folderRef.optional(), tags: newTags }).strict();
export const addTagsBody = z.object({ tags: newTags }).strict();
export const updateGroupBody = z.object({ name: name.optional(), order: wecomOrder.optional(), folderId: folderRef.optional(), acknowledgeWidening: z.boolean().optional() }).strict()
  .refine(somethingToChange, 'nothing to change: send name, order or folderId');
export const updateTagBody = z.object({ name: name.optional(), order: wecomOrder.optional() }).strict()
  .refine(somethingToChange, 'nothing to change: send name or order');
export const createFolderBody = z.object({ name, parentId: folderRef.optional(), order: folderOrder.optional() }).strict();
export const updateFolderBody = z.object({ name: name.optional(), parentId: folderRef.optional(), order: folderOrder.optional(), acknowledgeWidening: z.boolean().optional() }).strict()
  .refine(somethingToChange, 'nothing to change: send name, parentId or order');
export const nameRulesBody = z.object({ forbiddenCharacters: z.array(z.string()).max(200) }).strict();

/**
 * Admin API of the enterprise tag library: the whole tree, corp tag groups and tags (written to
 * WeCom, then locally), local folders, and the naming rules.
 */
export function adminTagsRouter(ctx: AppContext): Router {
  const router = Router();
  const admin = requirePermission(ctx, 'admin');
  const actor = (res: Response) => currentSession(res).userid;

  router.get('/api/admin/tag-library', admin, async (_req: Request, res: Response) => {
    res.json(await readTagLibrary(ctx.db));
  });

  router.get('/api/admin/tag-name-rules', admin, async (_req: Request, res: Response) => {
    res.json(await readTagNameRules(ctx.db));
  });
  router.put('/api/admin/tag-name-rules', admin, async (req: Request, res: Response) => {
    const body = nameRulesBody.parse(req.body);
    res.json(await ctx.db.transaction((tx) => saveTagNameRules(tx, actor(res), body.forbiddenCharacters)));
  });

  router.post('/api/admin/tag-groups', admin, async (req: Request, res: Response) => {
    const body = createGroupBody.parse(req.body);
    res.status(201).json(await createTagGroup(ctx, actor(res), body));
  });
  router.post('/api/admin/tag-groups/:groupId/tags', admin, async (req: Request, res: Response) => {
    const groupId = wecomId.parse(req.params.groupId);
    const body = addTagsBody.parse(req.body);
    res.status(201).json(await addTagsToGroup(ctx, actor(res), groupId, body.tags));
  });
  router.patch('/api/admin/tag-groups/:groupId', admin, async (req: Request, res: Response) => {
    const groupId = wecomId.parse(req.params.groupId);
    const body = updateGroupBody.parse(req.body);
    res.json(await updateTagGroup(ctx, actor(res), groupId, body));
  });
  router.delete('/api/admin/tag-groups/:groupId', admin, async (req: Request, res: Response) => {
    const groupId = wecomId.parse(req.params.groupId);
    res.json(await deleteTagGroup(ctx, actor(res), groupId));
  });

  router.patch('/api/admin/tags/:tagId', admin, async (req: Request, res: Response) => {
    const tagId = wecomId.parse(req.params.tagId);
    const body = updateTagBody.parse(req.body);
    res.json(await updateTag(ctx, actor(res), tagId, body));
  });
  router.delete('/api/admin/tags/:tagId', admin, async (req: Request, res: Response) => {
    const tagId = wecomId.parse(req.params.tagId);
    res.json(await deleteTag(ctx, actor(res), tagId));
  });

  router.post('/api/admin/tag-folders', admin, async (req: Request, res: Response) => {
    const body = createFolderBody.parse(req.body);
    res.status(201).json(await createFolder(ctx, actor(res), body));
  });
  router.patch('/api/admin/tag-folders/:id', admin, async (req: Request, res: Response) => {
    const id = folderId.parse(req.params.id);
    const body = updateFolderBody.parse(req.body);
    res.json(await updateFolder(ctx, actor(res), id, body));
  });
  router.delete('/api/admin/tag-folders/:id', admin, async (req: Request, res: Response) => {
    const id = folderId.parse(req.params.id);
    await deleteFolder(ctx, actor(res), id);
    res.json({ id, deleted: true });
  });

  return router;
}
