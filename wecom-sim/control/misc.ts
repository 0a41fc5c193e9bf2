// Control: shortcuts for flows that need a human in real WeCom — an OAuth login without the HTML
// page, a customer refusing a transfer, a member pressing "send" on a group-message task — and the
// QR images behind contact-way qr_code URLs.
import express from 'express';
import type { Router } from 'express';
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { badRequest } from '../errors.ts';
import type { SimContext } from '../context.ts';
import { issueOAuthCode } from '../api/oauth.ts';
import { failTransfer } from '../transfer-engine.ts';
import { control, input } from './common.ts';

/** A QR-looking SVG derived from the config id (a picture for demos; it encodes nothing). */
function qrSvg(configId: string, state: string): string {
  const bits = createHash('sha256').update(configId).digest();
  const size = 21;
  let cells = '';
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const finder = (x < 7 && y < 7) || (x >= size - 7 && y < 7) || (x < 7 && y >= size - 7);
      const on = finder
        ? Math.max(Math.abs((x % 14) - 3), Math.abs((y % 14) - 3)) !== 2 || (x >= 7 && x < size - 7)
        : (((bits[(y * size + x) % bits.length] ?? 0) >> (x % 8)) & 1) === 1;
      if (on) cells += `<rect x="${x + 2}" y="${y + 2}" width="1" height="1"/>`;
    }
  }
  const label = state.replace(/[<>&"]/g, '');
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 25 28" width="250" height="280"><rect width="25" height="28" fill="#fff"/><g fill="#000">${cells}</g><text x="12.5" y="26.5" font-size="1.6" text-anchor="middle">${label}</text></svg>`;
}

/** WeCom: one corp may send a customer at most 4 group messages per natural month. */
const MONTHLY_GROUP_MESSAGES = 4;

/** The natural month (China time, UTC+8) of a Unix time, as `YYYY-MM`. */
function chinaMonth(unixSeconds: number): string {
  return new Date((unixSeconds + 8 * 3600) * 1000).toISOString().slice(0, 7);
}

/** Group messages a customer received in the natural month of `now`. */
function receivedThisMonth(ctx: SimContext, externalUserId: string, now: number): number {
  const month = chinaMonth(now);
  let n = 0;
  for (const msg of ctx.corp.groupMsgs) {
    for (const task of msg.tasks) {
      for (const c of task.customers) if (c.external_userid === externalUserId && c.status === 1 && c.send_time !== undefined && chinaMonth(c.send_time) === month) n++;
    }
  }
  return n;
}

export function miscControlRouter(ctx: SimContext): Router {
  const router = express.Router();

  router.post('/oauth/code', control(ctx, (req) => {
    const { userid } = input(z.object({ userid: z.string().min(1) }), req.body);
    const member = ctx.corp.members.get(userid);
    if (!member || member.status !== 1) badRequest(`${userid} is not an active member`);
    return { code: issueOAuthCode(ctx, userid) };
  }));

  router.post('/transfers/refuse', control(ctx, (req) => {
    const body = input(
      z.object({ external_userid: z.string().min(1), reason: z.enum(['customer_refused', 'customer_limit_exceed']).default('customer_refused') }),
      req.body,
    );
    const transfer = failTransfer(ctx, body.external_userid, body.reason);
    return { external_userid: transfer.external_userid, status: transfer.status };
  }));

  router.post('/groupmsg/send', control(ctx, (req) => {
    const body = input(z.object({ msgid: z.string().min(1), userid: z.string().optional() }), req.body);
    const msg = ctx.corp.groupMsgs.find((m) => m.msgid === body.msgid) ?? badRequest(`unknown msgid ${body.msgid}`);
    const now = ctx.clock.now();
    const tasks = msg.tasks.filter((t) => body.userid === undefined || t.userid === body.userid);
    if (tasks.length === 0) badRequest(`no task for ${body.userid ?? 'any member'} in ${body.msgid}`);
    if (msg.canceled) badRequest(`${body.msgid} was canceled (cancel_groupmsg_send): it can no longer be sent`);
    for (const task of tasks) {
      if (task.status === 2) continue;
      task.status = 2;
      task.send_time = now;
      for (const c of task.customers) {
        // 1 sent; 2 no longer a customer of the sender; 3 already received this month's 4 group messages.
        const still = ctx.corp.customers.get(c.external_userid)?.follows.some((f) => f.userid === task.userid && !f.half);
        c.status = !still ? 2 : receivedThisMonth(ctx, c.external_userid, now) >= MONTHLY_GROUP_MESSAGES ? 3 : 1;
        if (c.status === 1) c.send_time = now;
      }
    }
    return { msgid: msg.msgid, tasks: msg.tasks.map((t) => ({ userid: t.userid, status: t.status })) };
  }));

  router.get('/qr/:config_id', (req, res) => {
    const way = ctx.corp.contactWays.get(String(req.params.config_id));
    if (!way) return void res.status(404).json({ error: 'unknown config_id' });
    res.type('image/svg+xml').send(qrSvg(way.config_id, way.state));
  });

  return router;
}
