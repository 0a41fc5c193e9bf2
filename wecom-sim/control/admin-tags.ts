// Control: an admin edits the corp tag library (or a rule group's tags) in the WeCom admin console.
// Unlike the API, console edits produce change_external_tag callbacks.
import express from 'express';
import type { Router } from 'express';
import { z } from 'zod';
import { badRequest } from '../errors.ts';
import type { SimContext } from '../context.ts';
import type { TagGroup } from '../state.ts';
import { addTags, deleteTags, editTag, groupView } from '../tag-library.ts';
import { control, input } from './common.ts';

const tagList = z.array(z.object({ name: z.string(), order: z.number().int().min(0).optional() }));

const schema = z.discriminatedUnion('action', [
  z.object({
    action: z.literal('create'),
    strategy_id: z.number().int().optional(),
    group_id: z.string().optional(),
    group_name: z.string().optional(),
    order: z.number().int().min(0).optional(),
    tag: tagList.min(1),
  }),
  z.object({ action: z.literal('update'), id: z.string().min(1), name: z.string().optional(), order: z.number().int().min(0).optional() }),
  z.object({ action: z.literal('delete'), tag_id: z.array(z.string()).default([]), group_id: z.array(z.string()).default([]) }),
  z.object({
    action: z.literal('shuffle'),
    group_id: z.string().min(1),
    /** Tag ids in their new display order (first shown first); omitted = reverse the current order. */
    tag_order: z.array(z.string()).optional(),
  }),
]);

export function adminTagsControlRouter(ctx: SimContext): Router {
  const router = express.Router();

  function strategyField(group: TagGroup): { StrategyId?: number } {
    return group.strategyId !== undefined ? { StrategyId: group.strategyId } : {};
  }

  function tagEvent(changeType: string, id: string, tagType: 'tag' | 'tag_group', group: TagGroup) {
    return ctx.callbacks.send({ Event: 'change_external_tag', ChangeType: changeType, Id: id, TagType: tagType, ...strategyField(group) }).id;
  }

  router.post('/admin/tags', control(ctx, (req) => {
    const body = input(schema, req.body);
    const corp = ctx.corp;
    switch (body.action) {
      case 'create': {
        if (body.strategy_id !== undefined && !corp.strategy(body.strategy_id)) badRequest(`unknown strategy ${body.strategy_id}`);
        const before = new Set(corp.tagGroups.map((g) => g.group_id));
        const { group, created } = addTags(
          corp,
          ctx.clock.now(),
          { ...body, ...(body.strategy_id !== undefined ? { strategyId: body.strategy_id } : {}) },
          'console',
        );
        // A new group is one event for the group; tags added to an existing group are one event each.
        const events = before.has(group.group_id)
          ? created.map((t) => tagEvent('create', t.id, 'tag', group))
          : [tagEvent('create', group.group_id, 'tag_group', group)];
        return { tag_group: groupView(group, created), events };
      }
      case 'update': {
        const scope = corp.findGroup(body.id)?.strategyId ?? corp.findTag(body.id)?.group.strategyId;
        const { kind, group } = editTag(corp, 'console', body, scope === undefined ? 'corp' : 'strategy');
        return { events: [tagEvent('update', body.id, kind, group)] };
      }
      case 'delete': {
        const all = [...body.tag_id, ...body.group_id];
        if (all.length === 0) badRequest('give tag_id or group_id');
        const first = all[0]!;
        const scope = corp.findGroup(first)?.strategyId ?? corp.findTag(first)?.group.strategyId;
        const tagGroups = new Map(body.tag_id.map((id) => [id, corp.findTag(id)?.group]));
        const { tags, groups } = deleteTags(corp, 'console', body.tag_id, body.group_id, scope === undefined ? 'corp' : 'strategy');
        const events = [
          ...tags.map((t) => tagEvent('delete', t.id, 'tag', tagGroups.get(t.id)!)),
          ...groups.map((g) => tagEvent('delete', g.group_id, 'tag_group', g)),
        ];
        return { events };
      }
      case 'shuffle': {
        const group = corp.findGroup(body.group_id) ?? badRequest(`unknown group ${body.group_id}`);
        const live = group.tags.filter((t) => !t.deleted);
        const order = body.tag_order ?? live.map((t) => t.id).reverse();
        if (order.length !== live.length || !live.every((t) => order.includes(t.id))) {
          badRequest('tag_order must list every tag of the group exactly once');
        }
        // Larger order = shown first (wecom-api.md §5).
        for (const t of live) t.order = order.length - order.indexOf(t.id);
        const id = ctx.callbacks.send({ Event: 'change_external_tag', ChangeType: 'shuffle', Id: group.group_id, ...strategyField(group) }).id;
        return { events: [id] };
      }
    }
  }));

  return router;
}
