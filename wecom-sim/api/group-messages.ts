// Group messaging to customers (群发): add_msg_template creates one task per sending member;
// members "press send" through POST /sim/groupmsg/send, and the result APIs report per member and
// per customer. Customer groups (chat_type "group") get tasks without customers: groups are not simulated.
// Limits as WeCom states them: ≤ 10,000 external_userid per call, ≤ 9 attachments, text ≤ 4,000 bytes,
// and a customer receives at most 4 group messages per natural month (later ones: status 3).
import express from 'express';
import type { Router } from 'express';
import { z } from 'zod';
import { fail } from '../errors.ts';
import type { SimContext } from '../context.ts';
import type { FollowRelation, GroupMsg, GroupMsgTask } from '../state.ts';
import { body, page, parse, wecom } from './common.ts';

const MAX_CUSTOMERS_PER_TEMPLATE = 10_000;

/** The attachment shapes WeCom accepts (the same as welcome messages). */
const attachmentSchema = z.discriminatedUnion('msgtype', [
  z.object({ msgtype: z.literal('image'), image: z.object({ media_id: z.string().min(1).optional(), pic_url: z.string().url().optional() })
    .refine((i) => i.media_id !== undefined || i.pic_url !== undefined, 'image needs media_id or pic_url') }),
  z.object({ msgtype: z.literal('link'), link: z.object({ title: z.string().min(1).max(128), url: z.string().url(), picurl: z.string().optional(), desc: z.string().max(512).optional() }) }),
  z.object({ msgtype: z.literal('miniprogram'), miniprogram: z.object({ title: z.string().min(1).max(64), pic_media_id: z.string().min(1), appid: z.string().min(1), page: z.string().min(1) }) }),
  z.object({ msgtype: z.literal('video'), video: z.object({ media_id: z.string().min(1) }) }),
  z.object({ msgtype: z.literal('file'), file: z.object({ media_id: z.string().min(1) }) }),
]);

const templateSchema = z.object({
  chat_type: z.enum(['single', 'group']).default('single'),
  external_userid: z.array(z.string()).max(MAX_CUSTOMERS_PER_TEMPLATE).default([]),
  chat_id_list: z.array(z.string()).default([]),
  tag_filter: z.object({ group_list: z.array(z.object({ tag_list: z.array(z.string()) })).default([]) }).optional(),
  sender: z.string().optional(),
  allow_select: z.boolean().optional(),
  text: z.object({ content: z.string().refine((c) => Buffer.byteLength(c, 'utf8') <= 4000, 'text.content is over 4000 bytes') }).optional(),
  attachments: z.array(attachmentSchema).max(9).default([]),
});

export function groupMessagesRouter(ctx: SimContext): Router {
  const router = express.Router();

  function message(msgid: unknown): GroupMsg {
    if (typeof msgid !== 'string' || msgid === '') fail(40058, 'msgid required');
    return ctx.corp.groupMsgs.find((m) => m.msgid === msgid) ?? fail(40058, `invalid msgid ${msgid}`);
  }

  router.post('/externalcontact/add_msg_template', wecom(ctx, (req) => {
    const input = parse(templateSchema, body(req));
    if (!input.text?.content && input.attachments.length === 0) fail(40058, 'text or attachments required');
    if (input.sender !== undefined) ctx.corp.member(input.sender);
    if (input.chat_type === 'group' && !input.sender) fail(40058, 'sender is required for chat_type group');
    // Tag filter: at least one tag of every group (OR inside a group, AND across groups).
    const matches = (f: FollowRelation) =>
      (input.tag_filter?.group_list ?? []).every((g) => g.tag_list.length === 0 || g.tag_list.some((t) => f.tagIds.includes(t)));
    const byMember = new Map<string, string[]>();
    const failList: string[] = [];
    if (input.chat_type === 'single') {
      const explicit = input.external_userid.length > 0;
      const customers = explicit
        ? input.external_userid.map((id) => ({ id, customer: ctx.corp.customers.get(id) }))
        : [...ctx.corp.customers.values()].map((customer) => ({ id: customer.external_userid, customer }));
      for (const { id, customer } of customers) {
        const follows = (customer?.follows ?? []).filter(
          (f) => !f.half && (input.sender === undefined || f.userid === input.sender) && ctx.corp.members.get(f.userid)?.status === 1 && matches(f),
        );
        if (follows.length === 0) {
          if (explicit) failList.push(id);
          continue;
        }
        for (const f of follows) byMember.set(f.userid, [...(byMember.get(f.userid) ?? []), id]);
      }
    } else {
      byMember.set(input.sender!, []);
    }
    const tasks: GroupMsgTask[] = [...byMember].map(([userid, ids]) => ({
      userid,
      status: 0,
      customers: ids.map((external_userid) => ({ external_userid, status: 0 })),
    }));
    const msgid = ctx.corp.ids.next('msg');
    ctx.corp.groupMsgs.push({
      msgid,
      creator: input.sender ?? '',
      create_type: 0,
      chat_type: input.chat_type,
      create_time: ctx.clock.now(),
      ...(input.text ? { text: input.text } : {}),
      attachments: input.attachments,
      tasks,
    });
    return { fail_list: failList, msgid };
  }));

  // Stops a task: members can no longer send it; what was sent stays sent.
  router.post('/externalcontact/cancel_groupmsg_send', wecom(ctx, (req) => {
    const input = parse(z.object({ msgid: z.string().min(1) }), body(req));
    message(input.msgid).canceled = true;
  }));

  router.post('/externalcontact/get_groupmsg_list_v2', wecom(ctx, (req) => {
    const input = parse(
      z.object({
        chat_type: z.enum(['single', 'group']),
        start_time: z.number().int(),
        end_time: z.number().int(),
        creator: z.string().optional(),
        filter_type: z.number().int().min(0).max(2).default(2),
        limit: z.number().int().min(1).max(100).default(50),
        cursor: z.string().optional(),
      }),
      body(req),
    );
    if (input.end_time < input.start_time || input.end_time - input.start_time > 31 * 86_400) fail(40058, 'time range must be within one month');
    const list = ctx.corp.groupMsgs
      .filter((m) => m.chat_type === input.chat_type && m.create_time >= input.start_time && m.create_time <= input.end_time)
      .filter((m) => input.creator === undefined || m.creator === input.creator)
      .filter((m) => input.filter_type === 2 || m.create_type === input.filter_type)
      .map((m) => ({ msgid: m.msgid, creator: m.creator, create_type: m.create_type, ...(m.text ? { text: m.text } : {}), attachments: m.attachments }));
    const { items, next_cursor } = page(list, input.cursor, input.limit);
    return { next_cursor, group_msg_list: items };
  }));

  router.post('/externalcontact/get_groupmsg_task', wecom(ctx, (req) => {
    const input = parse(z.object({ msgid: z.string(), limit: z.number().int().min(1).max(1000).default(500), cursor: z.string().optional() }), body(req));
    const rows = message(input.msgid).tasks.map((t) => ({ userid: t.userid, status: t.status, ...(t.send_time ? { send_time: t.send_time } : {}) }));
    const { items, next_cursor } = page(rows, input.cursor, input.limit);
    return { next_cursor, task_list: items };
  }));

  router.post('/externalcontact/get_groupmsg_send_result', wecom(ctx, (req) => {
    const input = parse(
      z.object({ msgid: z.string(), userid: z.string().min(1), limit: z.number().int().min(1).max(1000).default(500), cursor: z.string().optional() }),
      body(req),
    );
    const task = message(input.msgid).tasks.find((t) => t.userid === input.userid);
    const rows = (task?.customers ?? []).map((c) => ({
      external_userid: c.external_userid,
      chat_id: '',
      userid: input.userid,
      status: c.status,
      ...(c.send_time ? { send_time: c.send_time } : {}),
    }));
    const { items, next_cursor } = page(rows, input.cursor, input.limit);
    return { next_cursor, send_list: items };
  }));

  return router;
}
