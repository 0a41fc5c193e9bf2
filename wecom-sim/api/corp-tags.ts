// Corp tag library and mark_tag (wecom-api.md §5). API changes produce no callback, as in WeCom.
import express from 'express';
import type { Router } from 'express';
import { z } from 'zod';
import { fail } from '../errors.ts';
import type { SimContext } from '../context.ts';
import { addTags, checkUsableTag, deleteTags, editTag, groupView, listGroups } from '../tag-library.ts';
import { body, parse, wecom } from './common.ts';

const ids = z.array(z.string()).default([]);
const tagInput = z.array(z.object({ name: z.string(), order: z.number().int().min(0).optional() })).default([]);

const addSchema = z.object({
  group_id: z.string().optional(),
  group_name: z.string().optional(),
  order: z.number().int().min(0).optional(),
  tag: tagInput,
  agentid: z.number().optional(),
});

const editSchema = z.object({
  id: z.string().min(1),
  name: z.string().optional(),
  order: z.number().int().min(0).optional(),
  agentid: z.number().optional(),
});

const markSchema = z.object({
  userid: z.string().min(1),
  external_userid: z.string().min(1),
  add_tag: ids,
  remove_tag: ids,
});

export function corpTagsRouter(ctx: SimContext): Router {
  const router = express.Router();

  router.post('/externalcontact/get_corp_tag_list', wecom(ctx, (req) => {
    const input = parse(z.object({ tag_id: ids, group_id: ids }), body(req));
    const corpGroups = ctx.corp.tagGroups.filter((g) => g.strategyId === undefined);
    return { tag_group: listGroups(ctx.corp, corpGroups, input.tag_id, input.group_id) };
  }));

  router.post('/externalcontact/add_corp_tag', wecom(ctx, (req) => {
    const input = parse(addSchema, body(req));
    const { group, created } = addTags(ctx.corp, ctx.clock.now(), { ...input, tag: input.tag }, 'app');
    return { tag_group: groupView(group, created) };
  }));

  router.post('/externalcontact/edit_corp_tag', wecom(ctx, (req) => {
    editTag(ctx.corp, 'app', parse(editSchema, body(req)), 'corp');
  }));

  router.post('/externalcontact/del_corp_tag', wecom(ctx, (req) => {
    const input = parse(z.object({ tag_id: ids, group_id: ids, agentid: z.number().optional() }), body(req));
    deleteTags(ctx.corp, 'app', input.tag_id, input.group_id, 'corp');
  }));

  router.post('/externalcontact/mark_tag', wecom(ctx, (req) => {
    const input = parse(markSchema, body(req));
    const member = ctx.corp.member(input.userid);
    const customer = ctx.corp.customer(input.external_userid);
    const follow = ctx.corp.relation(customer, member.userid);
    if (input.add_tag.length === 0 && input.remove_tag.length === 0) fail(40058, 'add_tag and remove_tag are both empty');
    // Check every id before changing anything: a rejected call leaves the customer untouched.
    for (const id of [...input.add_tag, ...input.remove_tag]) checkUsableTag(ctx.corp, 'app', member.userid, id);
    const remove = new Set(input.remove_tag);
    const next = follow.tagIds.filter((id) => !remove.has(id));
    for (const id of input.add_tag) if (!next.includes(id)) next.push(id);
    follow.tagIds = next;
  }));

  return router;
}
