// 「联系我」 contact ways and welcome messages (wecom-api.md §6). qr_code URLs point at the
// simulator itself (/sim/qr/:config_id serves an SVG) so demos can show them.
import express from 'express';
import type { Router } from 'express';
import { z } from 'zod';
import { fail } from '../errors.ts';
import type { SimContext } from '../context.ts';
import type { ContactWay } from '../state.ts';
import { body, page, parse, wecom } from './common.ts';

const DAY = 86_400;
const MAX_MEMBERS = 100;

const fieldsSchema = z.object({
  style: z.number().int().optional(),
  remark: z.string().max(30, 'remark must be at most 30 characters').optional(),
  skip_verify: z.boolean().optional(),
  state: z.string().max(30, 'state must be at most 30 characters').optional(),
  user: z.array(z.string()).optional(),
  party: z.array(z.number().int()).optional(),
  is_temp: z.boolean().optional(),
  expires_in: z.number().int().min(1).max(14 * DAY).optional(),
  chat_expires_in: z.number().int().min(1).max(14 * DAY).optional(),
  unionid: z.string().optional(),
  conclusions: z.unknown().optional(),
});

const welcomeSchema = z.object({
  welcome_code: z.string().optional(),
  text: z.object({ content: z.string() }).optional(),
  attachments: z.array(z.record(z.string(), z.unknown())).max(9).default([]),
});

export function contactWaysRouter(ctx: SimContext): Router {
  const router = express.Router();

  function view(way: ContactWay): Record<string, unknown> {
    const { create_time: _created, ...rest } = way;
    return { ...rest, ...(way.scene === 2 ? { qr_code: `${ctx.baseUrl}/sim/qr/${way.config_id}` } : {}) };
  }

  function lookup(configId: unknown): ContactWay {
    if (typeof configId !== 'string' || configId === '') fail(41043);
    return ctx.corp.contactWays.get(configId) ?? fail(41044, configId);
  }

  /** Members must exist and be activated; at most 100 including department expansion. */
  function checkMembers(type: number, user: string[], party: number[]): void {
    if (type === 1 && (user.length !== 1 || party.length > 0)) fail(40058, 'type 1 takes exactly one user and no party');
    if (type === 2 && user.length + party.length === 0) fail(40058, 'user or party required');
    const everyone = new Set<string>();
    for (const userid of user) {
      const m = ctx.corp.member(userid);
      if (m.status === 4) fail(41054, userid);
      if (m.status !== 1) fail(60111, `${userid} is not active`);
      everyone.add(userid);
    }
    for (const id of party) {
      if (!ctx.corp.department(id)) fail(60123, String(id));
      const tree = ctx.corp.subtree(id);
      for (const m of ctx.corp.members.values()) if (m.status === 1 && m.department.some((d) => tree.has(d))) everyone.add(m.userid);
    }
    if (everyone.size > MAX_MEMBERS) fail(41041);
  }

  router.post('/externalcontact/add_contact_way', wecom(ctx, (req) => {
    const raw = body(req) as { type?: unknown; scene?: unknown };
    if (raw.type === undefined) fail(41037);
    if (raw.scene === undefined) fail(41038);
    if (raw.type !== 1 && raw.type !== 2) fail(41039);
    if (raw.scene !== 1 && raw.scene !== 2) fail(41040);
    const input = parse(fieldsSchema, raw);
    if (input.style !== undefined && (input.style < 1 || input.style > 10)) fail(41042);
    const user = input.user ?? [];
    const party = input.party ?? [];
    checkMembers(raw.type, user, party);
    const way: ContactWay = {
      config_id: ctx.corp.ids.next('config'),
      type: raw.type,
      scene: raw.scene,
      remark: input.remark ?? '',
      skip_verify: input.skip_verify ?? true,
      state: input.state ?? '',
      user,
      party,
      is_temp: input.is_temp ?? false,
      create_time: ctx.clock.now(),
      ...(input.style !== undefined ? { style: input.style } : {}),
      ...(input.is_temp ? { expires_in: input.expires_in ?? 7 * DAY, chat_expires_in: input.chat_expires_in ?? DAY } : {}),
      ...(input.unionid !== undefined ? { unionid: input.unionid } : {}),
      ...(input.conclusions !== undefined ? { conclusions: input.conclusions } : {}),
    };
    ctx.corp.contactWays.set(way.config_id, way);
    return { config_id: way.config_id, ...(way.scene === 2 ? { qr_code: `${ctx.baseUrl}/sim/qr/${way.config_id}` } : {}) };
  }));

  router.post('/externalcontact/get_contact_way', wecom(ctx, (req) => ({
    contact_way: view(lookup((body(req) as { config_id?: unknown }).config_id)),
  })));

  router.post('/externalcontact/list_contact_way', wecom(ctx, (req) => {
    const input = parse(
      z.object({ start_time: z.number().int().optional(), end_time: z.number().int().optional(), cursor: z.string().optional(), limit: z.number().int().min(1).max(1000).default(100) }),
      body(req),
    );
    const now = ctx.clock.now();
    const start = input.start_time ?? now - 90 * DAY;
    const end = input.end_time ?? now;
    const ways = [...ctx.corp.contactWays.values()].filter((w) => w.create_time >= start && w.create_time <= end).map((w) => ({ config_id: w.config_id }));
    const { items, next_cursor } = page(ways, input.cursor, input.limit);
    return { contact_way: items, ...(next_cursor ? { next_cursor } : {}) };
  }));

  router.post('/externalcontact/update_contact_way', wecom(ctx, (req) => {
    const raw = body(req) as { config_id?: unknown };
    const way = lookup(raw.config_id);
    const input = parse(fieldsSchema, raw);
    if (input.style !== undefined && (input.style < 1 || input.style > 10)) fail(41042);
    const user = input.user ?? way.user;
    const party = input.party ?? way.party;
    checkMembers(way.type, user, party);
    // user / party / remark overwrite the old values (wecom-api.md §6).
    Object.assign(way, { user, party });
    for (const key of ['style', 'remark', 'skip_verify', 'state', 'expires_in', 'chat_expires_in', 'unionid', 'conclusions'] as const) {
      if (input[key] !== undefined) Object.assign(way, { [key]: input[key] });
    }
  }));

  router.post('/externalcontact/del_contact_way', wecom(ctx, (req) => {
    const way = lookup((body(req) as { config_id?: unknown }).config_id);
    ctx.corp.contactWays.delete(way.config_id);
  }));

  router.post('/externalcontact/send_welcome_msg', wecom(ctx, (req) => {
    const input = parse(welcomeSchema, body(req));
    if (!input.welcome_code) fail(41049);
    const code = ctx.corp.welcomeCodes.get(input.welcome_code) ?? fail(41050);
    // Single use: a second sender (or a retry) is told the customer and member are already chatting.
    if (code.used) fail(41051);
    if (code.expiresAt <= ctx.clock.now()) fail(41050, 'welcome_code is valid for 20 seconds');
    if (!input.text?.content && input.attachments.length === 0) fail(40058, 'text or attachments required');
    if (input.text && Buffer.byteLength(input.text.content) > 4000) fail(40058, 'text.content exceeds 4000 bytes');
    code.used = true;
    ctx.corp.messages.push({
      msgid: ctx.corp.ids.next('msg'),
      kind: 'welcome',
      at: ctx.clock.now(),
      body: { userid: code.userid, external_userid: code.external_userid, ...input, welcome_code: undefined },
      recipients: [code.external_userid ?? ''],
    });
  }));

  return router;
}
