import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { AppContext } from '../context.ts';
import { currentSession, requirePermission } from '../http/guard.ts';
import {
  addRuleGroupTags, createRuleGroup, deleteRuleGroup, deleteRuleGroupTag, listRuleGroups, readRuleGroup, updateRuleGroup, updateRuleGroupTag,
} from '../services/rule-groups.service.ts';

export const wecomOrder = z.number().int().min(0).max(4_294_967_295);
export const userid = z.string().min(1).max(64);
export const range = z.object({
  users: z.array(userid).max(1000).default([]),
  departments: z.array(z.number().int().positive()).max(1000).default([]),
}).strict();
export const strategyId = z.string().regex(/^\d{1,9}$/, 'a rule group id is a number').transform(Number);
export const wecomId = z.string().min(1).max(128);
export const newTags = z.array(z.object({ name: z.string(), order: wecomOrder.optional() }).strict()).min(1, 'at least one tag (WeCom has no empty groups)').max(3000);

export const createBody = z.object({
  name: z.string(),
  parentId: z.number().int().positive().nullable().optional(),
  adminList: z.array(userid).max(1000).default([]),
  range,
}).strict();
export const updateBody = z.object({ name: z.string().optional(), rangeAdd: range.optional(), rangeDel: range.optional(), adminList: z.array(userid).max(1000).optional() }).strict()
  .refine((b) => Object.keys(b).length > 0, 'nothing to change: send name, rangeAdd, rangeDel or adminList');
export const addTagsBody = z.object({ name: z.string().optional(), groupId: wecomId.optional(), order: wecomOrder.optional(), tags: newTags }).strict()
  .refine((b) => (b.name === undefined) !== (b.groupId === undefined), 'send either name (a new tag group) or groupId (an existing group of this rule group)');
export const updateTagBody = z.object({ name: z.string().optional(), order: wecomOrder.optional() }).strict()
  .refine((b) => Object.keys(b).length > 0, 'nothing to change: send name or order');

/** Admin API of rule groups (客户联系规则组) created by this app, their ranges and their tags. */
export function adminRuleGroupsRouter(ctx: AppContext): Router {
  const router = Router();
  const admin = requirePermission(ctx, 'admin');
  const actor = (res: Response) => currentSession(res).userid;

  router.get('/api/admin/rule-groups', admin, async (_req: Request, res: Response) => {
    res.json({ ruleGroups: await listRuleGroups(ctx.db) });
  });
  router.get('/api/admin/rule-groups/:id', admin, async (req: Request, res: Response) => {
    res.json(await readRuleGroup(ctx, strategyId.parse(req.params.id)));
  });
  router.post('/api/admin/rule-groups', admin, async (req: Request, res: Response) => {
    const body = createBody.parse(req.body);
    res.status(201).json(await createRuleGroup(ctx, actor(res), body));
  });
  router.patch('/api/admin/rule-groups/:id', admin, async (req: Request, res: Response) => {
    const id = strategyId.parse(req.params.id);
    res.json(await updateRuleGroup(ctx, actor(res), id, updateBody.parse(req.body)));
  });
  router.delete('/api/admin/rule-groups/:id', admin, async (req: Request, res: Response) => {
    const id = strategyId.parse(req.params.id);
    res.json(await deleteRuleGroup(ctx, actor(res), id));
  });

  router.post('/api/admin/rule-groups/:id/tag-groups', admin, async (req: Request, res: Response) => {
    const id = strategyId.parse(req.params.id);
    res.status(201).json(await addRuleGroupTags(ctx, actor(res), id, addTagsBody.parse(req.body)));
  });
  // `:tagId` is a rule-group tag or a rule-group tag group, as WeCom's edit/del_strategy_tag take either.
  router.patch('/api/admin/rule-group-tags/:tagId', admin, async (req: Request, res: Response) => {
    const id = wecomId.parse(req.params.tagId);
    res.json(await updateRuleGroupTag(ctx, actor(res), id, updateTagBody.parse(req.body)));
  });
  router.delete('/api/admin/rule-group-tags/:tagId', admin, async (req: Request, res: Response) => {
    const id = wecomId.parse(req.params.tagId);
    res.json(await deleteRuleGroupTag(ctx, actor(res), id));
  });

  return router;
}
