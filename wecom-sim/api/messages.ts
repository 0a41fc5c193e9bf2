// App messages (message/send): recorded, not delivered anywhere, so tests can read them through
// GET /sim/messages. Shapes follow WeCom's send API (text, textcard, markdown, news).
import express from 'express';
import type { Router } from 'express';
import { z } from 'zod';
import { fail } from '../errors.ts';
import type { SimContext } from '../context.ts';
import { body, parse, wecom } from './common.ts';

const sendSchema = z.object({
  touser: z.string().optional(),
  toparty: z.string().optional(),
  totag: z.string().optional(),
  msgtype: z.string(),
  agentid: z.union([z.number(), z.string()]),
  text: z.object({ content: z.string() }).optional(),
  textcard: z.object({ title: z.string(), description: z.string(), url: z.string(), btntxt: z.string().optional() }).optional(),
  markdown: z.object({ content: z.string() }).optional(),
  news: z.object({ articles: z.array(z.object({ title: z.string(), description: z.string().optional(), url: z.string().optional(), picurl: z.string().optional(), appid: z.string().optional(), pagepath: z.string().optional() })) }).optional(),
  safe: z.number().optional(),
  enable_id_trans: z.number().optional(),
  enable_duplicate_check: z.number().optional(),
  duplicate_check_interval: z.number().optional(),
});

const split = (value: string | undefined) => (value ? value.split('|').filter((v) => v !== '') : []);

export function messagesRouter(ctx: SimContext): Router {
  const router = express.Router();

  router.post('/message/send', wecom(ctx, (req) => {
    const input = parse(sendSchema, body(req));
    if (Number(input.agentid) !== ctx.corp.agentId) fail(40056);
    switch (input.msgtype) {
      case 'text':
      case 'markdown': {
        const content = input[input.msgtype]?.content ?? '';
        if (content === '') fail(44004);
        if (Buffer.byteLength(content) > 2048) fail(40058, 'content exceeds 2048 bytes');
        break;
      }
      case 'textcard': {
        const card = input.textcard ?? fail(40058, 'textcard required');
        if (card.title === '' || Buffer.byteLength(card.title) > 128) fail(40058, 'textcard.title must be 1..128 bytes');
        if (Buffer.byteLength(card.description) > 512) fail(40058, 'textcard.description exceeds 512 bytes');
        if (!/^https?:\/\//.test(card.url)) fail(40058, 'textcard.url must be an http(s) URL');
        break;
      }
      case 'news': {
        const articles = input.news?.articles ?? [];
        if (articles.length < 1 || articles.length > 8) fail(40058, 'news takes 1..8 articles');
        if (articles.some((a) => a.title === '' || Buffer.byteLength(a.title) > 128)) fail(40058, 'article title must be 1..128 bytes');
        break;
      }
      default:
        fail(40008, input.msgtype);
    }
    const recipients = new Set<string>();
    const invalidUser: string[] = [];
    const active = [...ctx.corp.members.values()].filter((m) => m.status === 1);
    for (const userid of split(input.touser)) {
      if (userid === '@all') active.forEach((m) => recipients.add(m.userid));
      else if (active.some((m) => m.userid === userid)) recipients.add(userid);
      else invalidUser.push(userid);
    }
    const invalidParty: string[] = [];
    for (const party of split(input.toparty)) {
      const id = Number(party);
      if (!ctx.corp.department(id)) {
        invalidParty.push(party);
        continue;
      }
      const tree = ctx.corp.subtree(id);
      active.filter((m) => m.department.some((d) => tree.has(d))).forEach((m) => recipients.add(m.userid));
    }
    // Address-book tags are not simulated: every totag entry is invalid.
    const invalidTag = split(input.totag);
    if (recipients.size === 0) fail(81013);
    const msgid = ctx.corp.ids.next('msg');
    ctx.corp.messages.push({ msgid, kind: 'app', at: ctx.clock.now(), body: input, recipients: [...recipients] });
    return {
      ...(invalidUser.length ? { invaliduser: invalidUser.join('|') } : {}),
      ...(invalidParty.length ? { invalidparty: invalidParty.join('|') } : {}),
      ...(invalidTag.length ? { invalidtag: invalidTag.join('|') } : {}),
      msgid,
    };
  }));

  return router;
}
