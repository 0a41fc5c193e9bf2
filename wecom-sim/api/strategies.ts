// Rule groups (客户联系规则组) and their tag libraries (wecom-api.md §5). An app reads and manages
// only rule groups it created (60011 otherwise); rule-group tags count toward the 3000-tag cap.
import express from 'express';
import type { Router } from 'express';
import { z } from 'zod';
import { fail } from '../errors.ts';
import type { SimContext } from '../context.ts';
import type { RangeItem, Strategy } from '../state.ts';
import { addTags, deleteTags, editTag, groupView, listGroups } from '../tag-library.ts';
import { body, page, parse, wecom } from './common.ts';

const rangeItem = z.union([
  z.object({ type: z.literal(1), userid: z.string().min(1) }),
  z.object({ type: z.literal(2), partyid: z.number().int() }),
]);
const ids = z.array(z.string()).default([]);
const strategyName = z.string().min(1).max(30);

const createSchema = z.object({
  parent_id: z.number().int().default(0),
  strategy_name: strategyName,
  admin_list: z.array(z.string()).default([]),
  privilege: z.record(z.string(), z.boolean()).default({}),
  range: z.array(rangeItem).min(1),
});

const editSchema = z.object({
  strategy_id: z.number().int(),
  strategy_name: strategyName.optional(),
  admin_list: z.array(z.string()).optional(),
  privilege: z.record(z.string(), z.boolean()).optional(),
  range_add: z.array(rangeItem).default([]),
  range_del: z.array(rangeItem).default([]),
});

const sameRange = (a: RangeItem, b: RangeItem) =>
  a.type === b.type && (a.type === 1 ? a.userid === (b as typeof a).userid : a.partyid === (b as typeof a).partyid);

export function strategiesRouter(ctx: SimContext): Router {
  const router = express.Router();

  function owned(id: unknown): Strategy {
    if (typeof id !== 'number') fail(40058, 'strategy_id required');
    const strategy = ctx.corp.strategy(id) ?? fail(40058, `invalid strategy_id ${id}`);
    if (strategy.createdBy !== 'app') fail(60011, `rule group ${id} was not created by this app`);
    return strategy;
  }

  function checkRange(range: RangeItem[]): void {
    for (const r of range) {
      if (r.type === 1) ctx.corp.member(r.userid);
      else if (!ctx.corp.department(r.partyid)) fail(60123, String(r.partyid));
    }
  }

  function checkAdmins(list: string[]): void {
    for (const userid of list) ctx.corp.member(userid);
  }

  router.post('/externalcontact/customer_strategy/list', wecom(ctx, (req) => {
    const input = parse(z.object({ cursor: z.string().optional(), limit: z.number().int().min(1).max(1000).default(1000) }), body(req));
    const mine = ctx.corp.strategies.filter((s) => s.createdBy === 'app').map((s) => ({ strategy_id: s.strategy_id }));
    const { items, next_cursor } = page(mine, input.cursor, input.limit);
    return { strategy: items, ...(next_cursor ? { next_cursor } : {}) };
  }));

  router.post('/externalcontact/customer_strategy/get', wecom(ctx, (req) => {
    const s = owned((body(req) as { strategy_id?: unknown }).strategy_id);
    return {
      strategy: { strategy_id: s.strategy_id, parent_id: s.parent_id, strategy_name: s.strategy_name, create_time: s.create_time, admin_list: s.admin_list, privilege: s.privilege },
    };
  }));

  router.post('/externalcontact/customer_strategy/get_range', wecom(ctx, (req) => {
    const input = parse(z.object({ strategy_id: z.number().int(), cursor: z.string().optional(), limit: z.number().int().min(1).max(1000).default(1000) }), body(req));
    const s = owned(input.strategy_id);
    const { items, next_cursor } = page(s.range, input.cursor, input.limit);
    return { range: items, ...(next_cursor ? { next_cursor } : {}) };
  }));

  router.post('/externalcontact/customer_strategy/create', wecom(ctx, (req) => {
    const input = parse(createSchema, body(req));
    if (input.parent_id !== 0) owned(input.parent_id);
    checkAdmins(input.admin_list);
    checkRange(input.range);
    const strategy: Strategy = { strategy_id: ctx.corp.nextStrategyId++, ...input, create_time: ctx.clock.now(), createdBy: 'app' };
    ctx.corp.strategies.push(strategy);
    return { strategy_id: strategy.strategy_id };
  }));

  router.post('/externalcontact/customer_strategy/edit', wecom(ctx, (req) => {
    const input = parse(editSchema, body(req));
    const s = owned(input.strategy_id);
    if (input.admin_list) checkAdmins(input.admin_list);
    checkRange(input.range_add);
    if (input.strategy_name !== undefined) s.strategy_name = input.strategy_name;
    if (input.admin_list) s.admin_list = input.admin_list;
    if (input.privilege) s.privilege = { ...s.privilege, ...input.privilege };
    const range = s.range.filter((r) => !input.range_del.some((d) => sameRange(r, d)));
    for (const r of input.range_add) if (!range.some((x) => sameRange(x, r))) range.push(r);
    s.range = range;
  }));

  router.post('/externalcontact/customer_strategy/del', wecom(ctx, (req) => {
    const s = owned((body(req) as { strategy_id?: unknown }).strategy_id);
    const removed = new Set<string>();
    for (const g of ctx.corp.tagGroups.filter((g) => g.strategyId === s.strategy_id && !g.deleted)) {
      g.deleted = true;
      for (const t of g.tags) {
        t.deleted = true;
        removed.add(t.id);
      }
    }
    ctx.corp.forgetTags(removed);
    ctx.corp.strategies = ctx.corp.strategies.filter((x) => x !== s);
  }));

  router.post('/externalcontact/get_strategy_tag_list', wecom(ctx, (req) => {
    const input = parse(z.object({ strategy_id: z.number().int().optional(), tag_id: ids, group_id: ids }), body(req));
    const scope = input.strategy_id !== undefined ? [owned(input.strategy_id).strategy_id] : ctx.corp.strategies.filter((s) => s.createdBy === 'app').map((s) => s.strategy_id);
    const groups = ctx.corp.tagGroups.filter((g) => g.strategyId !== undefined && scope.includes(g.strategyId));
    return { tag_group: listGroups(ctx.corp, groups, input.tag_id, input.group_id) };
  }));

  router.post('/externalcontact/add_strategy_tag', wecom(ctx, (req) => {
    const input = parse(
      z.object({
        strategy_id: z.number().int(),
        group_id: z.string().optional(),
        group_name: z.string().optional(),
        order: z.number().int().min(0).optional(),
        tag: z.array(z.object({ name: z.string(), order: z.number().int().min(0).optional() })).default([]),
      }),
      body(req),
    );
    const s = owned(input.strategy_id);
    const { group, created } = addTags(ctx.corp, ctx.clock.now(), { ...input, strategyId: s.strategy_id }, 'app');
    return { tag_group: groupView(group, created) };
  }));

  router.post('/externalcontact/edit_strategy_tag', wecom(ctx, (req) => {
    const input = parse(z.object({ id: z.string().min(1), name: z.string().optional(), order: z.number().int().min(0).optional() }), body(req));
    editTag(ctx.corp, 'app', input, 'strategy');
  }));

  router.post('/externalcontact/del_strategy_tag', wecom(ctx, (req) => {
    const input = parse(z.object({ tag_id: ids, group_id: ids }), body(req));
    deleteTags(ctx.corp, 'app', input.tag_id, input.group_id, 'strategy');
  }));

  return router;
}
