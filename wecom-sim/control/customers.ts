// Control: what customers and members do in their WeCom/WeChat clients. Unlike API calls, these
// produce change_external_contact callbacks, exactly as the real clients' actions do.
import express from 'express';
import type { Router } from 'express';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { badRequest, ControlError } from '../errors.ts';
import type { SimContext } from '../context.ts';
import type { Customer, FollowRelation } from '../state.ts';
import { checkUsableTag } from '../tag-library.ts';
import { externalContactView, followUserView } from '../api/customers.ts';
import { control, input } from './common.ts';

/** welcome_code is valid 20 s on the simulator clock (wecom-api.md §6). */
export const WELCOME_CODE_TTL_SECONDS = 20;

const pair = z.object({ userid: z.string().min(1), external_userid: z.string().min(1) });

const addSchema = z.object({
  userid: z.string().min(1).optional(),
  state: z.string().max(30).optional(),
  half: z.boolean().default(false),
  external_userid: z.string().min(1).optional(),
  name: z.string().min(1).optional(),
  type: z.union([z.literal(1), z.literal(2)]).default(1),
  add_way: z.number().int().optional(),
  /** false: the admin configured a welcome message, so WeCom sends no WelcomeCode. */
  welcome_code: z.boolean().default(true),
});

const editTagsSchema = pair.extend({
  add: z.array(z.string()).default([]),
  remove: z.array(z.string()).default([]),
  personal_add: z.array(z.string().min(1).max(30)).default([]),
  personal_remove: z.array(z.string()).default([]),
  remark: z.string().max(20).optional(),
  description: z.string().max(150).optional(),
});

export function customersControlRouter(ctx: SimContext): Router {
  const router = express.Router();

  function memberFor(userid: string | undefined, state: string | undefined): string {
    if (userid) return userid;
    const way = [...ctx.corp.contactWays.values()].find((w) => w.state === state);
    if (!way) badRequest('userid is required unless state names a contact way');
    const first = way.user[0] ?? [...ctx.corp.members.values()].find((m) => m.status === 1 && way.party.some((p) => ctx.corp.subtree(p).has(m.main_department)))?.userid;
    return first ?? badRequest(`contact way ${way.config_id} has no member`);
  }

  function relationOrFail(customer: Customer, userid: string): FollowRelation {
    const f = customer.follows.find((r) => r.userid === userid && !r.half);
    return f ?? badRequest(`${userid} has no relation with ${customer.external_userid}`);
  }

  function customerOrFail(id: string): Customer {
    return ctx.corp.customers.get(id) ?? badRequest(`unknown customer ${id}`);
  }

  router.post('/customers/add', control(ctx, (req) => {
    const body = input(addSchema, req.body);
    const userid = memberFor(body.userid, body.state);
    const member = ctx.corp.members.get(userid);
    if (!member) badRequest(`unknown member ${userid}`);
    if (member.status !== 1) badRequest(`member ${userid} is not active (status ${member.status})`);
    const now = ctx.clock.now();
    let customer = body.external_userid ? ctx.corp.customers.get(body.external_userid) : undefined;
    if (!customer) {
      const id = body.external_userid ?? ctx.corp.ids.next('external');
      customer = { external_userid: id, name: body.name ?? `客户${ctx.corp.customers.size + 1}`, type: body.type, gender: 0, avatar: '', corp_name: '', position: '', follows: [] };
      ctx.corp.customers.set(id, customer);
    }
    const existing = customer.follows.find((f) => f.userid === userid);
    if (existing && !existing.half && !existing.customerDeleted) badRequest(`${customer.external_userid} is already a customer of ${userid}`);
    customer.follows = customer.follows.filter((f) => f !== existing);
    customer.follows.push({
      userid, remark: existing?.remark ?? '', description: existing?.description ?? '', createtime: now,
      tagIds: existing?.tagIds ?? [], personalTags: existing?.personalTags ?? [], remark_corp_name: '', remark_mobiles: existing?.remark_mobiles ?? [],
      oper_userid: customer.external_userid, add_way: body.add_way ?? (body.state ? 1 : 0),
      ...(body.state !== undefined ? { state: body.state } : {}), half: body.half, customerDeleted: false,
    });
    let welcomeCode: string | undefined;
    if (body.welcome_code) {
      welcomeCode = randomBytes(24).toString('base64url');
      ctx.corp.welcomeCodes.set(welcomeCode, { code: welcomeCode, userid, external_userid: customer.external_userid, expiresAt: now + WELCOME_CODE_TTL_SECONDS, used: false });
    }
    ctx.callbacks.send({
      Event: 'change_external_contact',
      ChangeType: body.half ? 'add_half_external_contact' : 'add_external_contact',
      UserID: userid,
      ExternalUserID: customer.external_userid,
      ...(body.state !== undefined ? { State: body.state } : {}),
      ...(welcomeCode ? { WelcomeCode: welcomeCode } : {}),
    });
    return { external_userid: customer.external_userid, ...(welcomeCode ? { welcome_code: welcomeCode } : {}) };
  }));

  router.post('/customers/confirm', control(ctx, (req) => {
    const body = input(pair, req.body);
    const customer = customerOrFail(body.external_userid);
    const half = customer.follows.find((f) => f.userid === body.userid && f.half);
    if (!half) badRequest(`no half relation between ${body.userid} and ${body.external_userid}`);
    half.half = false;
    ctx.callbacks.send({ Event: 'change_external_contact', ChangeType: 'add_external_contact', UserID: body.userid, ExternalUserID: customer.external_userid, ...(half.state !== undefined ? { State: half.state } : {}) });
    return { ok: true };
  }));

  router.post('/customers/edit-tags', control(ctx, (req) => {
    const body = input(editTagsSchema, req.body);
    const customer = customerOrFail(body.external_userid);
    const follow = relationOrFail(customer, body.userid);
    if (body.add.length + body.remove.length + body.personal_add.length + body.personal_remove.length === 0 && body.remark === undefined && body.description === undefined) {
      badRequest('nothing to edit: give add, remove, personal_add, personal_remove, remark or description');
    }
    // The WeCom client's own rules: existing tags, rule-group tags only inside the group's range.
    for (const id of [...body.add, ...body.remove]) checkUsableTag(ctx.corp, 'console', body.userid, id);
    const remove = new Set(body.remove);
    follow.tagIds = follow.tagIds.filter((id) => !remove.has(id));
    for (const id of body.add) if (!follow.tagIds.includes(id)) follow.tagIds.push(id);
    const personalRemove = new Set(body.personal_remove);
    follow.personalTags = follow.personalTags.filter((t) => !personalRemove.has(t));
    for (const name of body.personal_add) if (!follow.personalTags.includes(name)) follow.personalTags.push(name);
    if (body.remark !== undefined) follow.remark = body.remark;
    if (body.description !== undefined) follow.description = body.description;
    ctx.callbacks.send({ Event: 'change_external_contact', ChangeType: 'edit_external_contact', UserID: body.userid, ExternalUserID: customer.external_userid });
    return followUserView(ctx.corp, follow, customer);
  }));

  router.post('/customers/delete-member', control(ctx, (req) => {
    const body = input(pair, req.body);
    const customer = customerOrFail(body.external_userid);
    const follow = relationOrFail(customer, body.userid);
    // The customer deleted the member: a one-way relation remains (the APIs still work on it).
    follow.customerDeleted = true;
    ctx.callbacks.send({ Event: 'change_external_contact', ChangeType: 'del_follow_user', UserID: body.userid, ExternalUserID: customer.external_userid });
    return { ok: true };
  }));

  router.post('/members/delete-customer', control(ctx, (req) => {
    const body = input(pair, req.body);
    const customer = customerOrFail(body.external_userid);
    const follow = relationOrFail(customer, body.userid);
    customer.follows = customer.follows.filter((f) => f !== follow);
    ctx.callbacks.send({ Event: 'change_external_contact', ChangeType: 'del_external_contact', UserID: body.userid, ExternalUserID: customer.external_userid });
    return { ok: true };
  }));

  router.post('/members/resign', control(ctx, (req) => {
    const { userid } = input(z.object({ userid: z.string().min(1) }), req.body);
    const member = ctx.corp.members.get(userid) ?? badRequest(`unknown member ${userid}`);
    if (member.status === 5) badRequest(`member ${userid} has already left`);
    member.status = 5;
    member.dimissionTime = ctx.clock.now();
    return { userid, status: 5, customers: ctx.corp.customersOf(userid).length };
  }));

  router.get('/customers/:external_userid', control(ctx, (req) => {
    const customer = ctx.corp.customers.get(String(req.params.external_userid));
    if (!customer) throw new ControlError(404, `unknown customer ${String(req.params.external_userid)}`);
    return {
      external_contact: externalContactView(customer),
      follow_user: customer.follows.map((f) => ({
        ...followUserView(ctx.corp, f, customer),
        personal_tags: f.personalTags,
        half: f.half,
        customer_deleted: f.customerDeleted,
      })),
      transfers: ctx.corp.transfers.filter((t) => t.external_userid === customer.external_userid),
    };
  }));

  return router;
}
