// Customer (externalcontact) read APIs and remark (wecom-api.md §4).
import express from 'express';
import type { Router } from 'express';
import { z } from 'zod';
import { fail } from '../errors.ts';
import type { SimContext } from '../context.ts';
import type { CorpState, Customer, FollowRelation } from '../state.ts';
import { body, page, parse, queryString, wecom } from './common.ts';

/** WeCom pages a customer's followers 500 at a time in externalcontact/get. */
export const FOLLOW_PAGE_SIZE = 500;

export function externalContactView(c: Customer): Record<string, unknown> {
  const view: Record<string, unknown> = {
    external_userid: c.external_userid,
    name: c.name,
    type: c.type,
    avatar: c.avatar,
    gender: c.gender,
  };
  if (c.type === 2) {
    view.corp_name = c.corp_name;
    view.corp_full_name = c.corp_name;
    view.position = c.position;
  } else if (c.unionid) {
    view.unionid = c.unionid;
  }
  return view;
}

/** Tags as externalcontact/get shows them: type 1 corp, 2 personal (no tag_id), 3 rule-group. */
export function tagViews(corp: CorpState, f: FollowRelation): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const id of f.tagIds) {
    const found = corp.findTag(id);
    if (!found) continue;
    out.push({ group_name: found.group.group_name, tag_name: found.tag.name, tag_id: id, type: found.group.strategyId ? 3 : 1 });
  }
  for (const name of f.personalTags) out.push({ group_name: '', tag_name: name, type: 2 });
  return out;
}

function relationBase(f: FollowRelation, customer: Customer): Record<string, unknown> {
  const view: Record<string, unknown> = {
    userid: f.userid,
    remark: f.remark,
    description: f.description,
    createtime: f.createtime,
    remark_mobiles: f.remark_mobiles,
    oper_userid: f.oper_userid,
    add_way: f.add_way,
  };
  if (customer.type === 1) view.remark_corp_name = f.remark_corp_name;
  if (f.state !== undefined) view.state = f.state;
  return view;
}

export function followUserView(corp: CorpState, f: FollowRelation, customer: Customer): Record<string, unknown> {
  return { ...relationBase(f, customer), tags: tagViews(corp, f) };
}

/** batch/get_by_user's follow_info: only corp and rule-group tag ids, no personal tags. */
export function followInfoView(corp: CorpState, f: FollowRelation, customer: Customer): Record<string, unknown> {
  return { ...relationBase(f, customer), tag_id: f.tagIds.filter((id) => corp.findTag(id)) };
}

const batchSchema = z.object({
  userid_list: z.array(z.string()).min(1).max(100),
  cursor: z.string().optional(),
  limit: z.number().int().min(1).max(100).default(50),
});

const remarkSchema = z.object({
  userid: z.string().min(1),
  external_userid: z.string().min(1),
  remark: z.string().max(20).optional(),
  description: z.string().max(150).optional(),
  remark_company: z.string().max(20).optional(),
  remark_mobiles: z.array(z.string()).optional(),
  remark_pic_mediaid: z.string().optional(),
});

export function customersRouter(ctx: SimContext): Router {
  const router = express.Router();

  router.get('/externalcontact/get_follow_user_list', wecom(ctx, () => ({
    follow_user: [...ctx.corp.members.values()].filter((m) => m.status === 1).map((m) => m.userid),
  })));

  router.get('/externalcontact/list', wecom(ctx, (req) => {
    const member = ctx.corp.member(queryString(req, 'userid'));
    const ids = ctx.corp.customersOf(member.userid).map((c) => c.external_userid);
    // Real WeCom answers a member without customers with 84061 rather than an empty list.
    if (ids.length === 0) fail(84061, member.userid);
    return { external_userid: ids };
  }));

  router.get('/externalcontact/get', wecom(ctx, (req) => {
    const customer = ctx.corp.customer(queryString(req, 'external_userid'));
    const follows = ctx.corp.visibleFollows(customer);
    if (follows.length === 0) fail(84061, customer.external_userid);
    const { items, next_cursor } = page(follows, queryString(req, 'cursor'), FOLLOW_PAGE_SIZE);
    const result: Record<string, unknown> = {
      external_contact: externalContactView(customer),
      follow_user: items.map((f) => followUserView(ctx.corp, f, customer)),
    };
    if (next_cursor) result.next_cursor = next_cursor;
    return result;
  }));

  router.post('/externalcontact/batch/get_by_user', wecom(ctx, (req) => {
    const input = parse(batchSchema, body(req));
    for (const userid of input.userid_list) ctx.corp.member(userid);
    // One pass over the corp's customers (not one per member): a page of a 100,000-customer corp
    // stays cheap. Rows are ordered by member in the list's order, then by customer.
    const byMember = new Map<string, { customer: Customer; follow: FollowRelation }[]>(input.userid_list.map((u) => [u, []]));
    for (const customer of ctx.corp.customers.values()) {
      for (const follow of customer.follows) {
        if (!follow.half) byMember.get(follow.userid)?.push({ customer, follow });
      }
    }
    const rows = [...new Set(input.userid_list)].flatMap((userid) => byMember.get(userid) ?? []);
    const { items, next_cursor } = page(rows, input.cursor, input.limit);
    return {
      external_contact_list: items.map(({ customer, follow }) => ({
        external_contact: externalContactView(customer),
        follow_info: followInfoView(ctx.corp, follow, customer),
      })),
      next_cursor,
    };
  }));

  router.post('/externalcontact/remark', wecom(ctx, (req) => {
    const input = parse(remarkSchema, body(req));
    const member = ctx.corp.member(input.userid);
    const customer = ctx.corp.customer(input.external_userid);
    const follow = ctx.corp.relation(customer, member.userid);
    const { remark, description, remark_company, remark_mobiles, remark_pic_mediaid } = input;
    if ([remark, description, remark_company, remark_mobiles, remark_pic_mediaid].every((v) => v === undefined)) {
      fail(40058, 'nothing to change');
    }
    if (remark_company !== undefined && customer.type !== 1) fail(40058, 'remark_company is only for WeChat customers');
    if (remark !== undefined) follow.remark = remark;
    if (description !== undefined) follow.description = description;
    if (remark_company !== undefined) follow.remark_corp_name = remark_company;
    // remark_mobiles replaces the old list; [""] clears it.
    if (remark_mobiles !== undefined) follow.remark_mobiles = remark_mobiles.filter((m) => m !== '');
  }));

  return router;
}
