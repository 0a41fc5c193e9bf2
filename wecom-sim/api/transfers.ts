// In-service and resigned-member transfers (wecom-api.md §7). Starting a transfer produces no
// callback; completion 24 h later (sim clock) does — see transfer-engine.ts.
import express from 'express';
import type { Router } from 'express';
import { z } from 'zod';
import { fail } from '../errors.ts';
import type { SimContext } from '../context.ts';
import type { Transfer } from '../state.ts';
import { TAKEOVER_DELAY_SECONDS } from '../transfer-engine.ts';
import { body, decodeCursor, encodeCursor, page, parse, wecom } from './common.ts';

const NINETY_DAYS = 90 * 24 * 3600;

const transferSchema = z.object({
  handover_userid: z.string().min(1),
  takeover_userid: z.string().min(1),
  external_userid: z.array(z.string()).min(1),
  transfer_success_msg: z.string().max(200).optional(),
});

const resultSchema = z.object({
  handover_userid: z.string().min(1),
  takeover_userid: z.string().min(1),
  cursor: z.string().optional(),
});

export function transfersRouter(ctx: SimContext): Router {
  const router = express.Router();

  function start(kind: Transfer['kind'], raw: unknown) {
    const input = parse(transferSchema, raw);
    if (input.external_userid.length > 100) fail(40058, 'at most 100 external_userid per call');
    const handover = ctx.corp.member(input.handover_userid);
    const takeover = ctx.corp.member(input.takeover_userid);
    if (kind === 'resigned' && handover.status !== 5) fail(40097, handover.userid);
    // A member who left is gone from the address book for in-service APIs: this catches resigned
    // transfers sent to the in-service endpoint, a mistake real integrations make.
    if (kind === 'onjob' && handover.status === 5) fail(60111, `${handover.userid} has left: use resigned/transfer_customer`);
    if (handover.userid === takeover.userid) fail(40130);
    if (takeover.status !== 1) fail(60111, `${takeover.userid} is not an active member`);
    const now = ctx.clock.now();
    const customer = input.external_userid.map((externalUserid) => {
      const errcode = check(kind, handover.userid, externalUserid, now);
      if (errcode === 0) {
        ctx.corp.transfers.push({
          kind,
          external_userid: externalUserid,
          handover_userid: handover.userid,
          takeover_userid: takeover.userid,
          startedAt: now,
          takeover_time: now + TAKEOVER_DELAY_SECONDS,
          status: 2,
        });
      }
      return { external_userid: externalUserid, errcode };
    });
    return { customer };
  }

  /** Per-customer result code: 0 means the handover started, not that it completed. */
  function check(kind: Transfer['kind'], handover: string, externalUserid: string, now: number): number {
    const customer = ctx.corp.customers.get(externalUserid);
    if (!customer) return 40096;
    if (!customer.follows.some((f) => f.userid === handover && !f.half)) return 40131;
    const history = ctx.corp.transfers.filter((t) => t.external_userid === externalUserid);
    if (history.some((t) => t.status === 2)) return 40129;
    const recent = history.filter((t) => t.kind === 'onjob' && t.startedAt > now - NINETY_DAYS);
    if (kind === 'onjob' && recent.length >= 2) return 40128;
    return 0;
  }

  function results(kind: Transfer['kind'], raw: unknown) {
    const input = parse(resultSchema, raw);
    ctx.corp.member(input.handover_userid);
    ctx.corp.member(input.takeover_userid);
    // The latest transfer per customer for this pair.
    const latest = new Map<string, Transfer>();
    for (const t of ctx.corp.transfers) {
      if (t.kind === kind && t.handover_userid === input.handover_userid && t.takeover_userid === input.takeover_userid) {
        latest.set(t.external_userid, t);
      }
    }
    const rows = [...latest.values()].map((t) => ({ external_userid: t.external_userid, status: t.status, takeover_time: t.takeover_time }));
    const { items, next_cursor } = page(rows, input.cursor, 1000);
    return { customer: items, next_cursor };
  }

  router.post('/externalcontact/transfer_customer', wecom(ctx, (req) => start('onjob', body(req))));
  router.post('/externalcontact/transfer_result', wecom(ctx, (req) => results('onjob', body(req))));
  router.post('/externalcontact/resigned/transfer_customer', wecom(ctx, (req) => start('resigned', body(req))));
  router.post('/externalcontact/resigned/transfer_result', wecom(ctx, (req) => results('resigned', body(req))));

  router.post('/externalcontact/get_unassigned_list', wecom(ctx, (req) => {
    const input = parse(
      z.object({ cursor: z.string().optional(), page_size: z.number().int().min(1).max(1000).default(1000), page_id: z.number().int().min(0).optional() }),
      body(req),
    );
    const pending = new Set(ctx.corp.transfers.filter((t) => t.status === 2).map((t) => `${t.handover_userid}|${t.external_userid}`));
    const rows: { handover_userid: string; external_userid: string; dimission_time: number }[] = [];
    for (const m of ctx.corp.members.values()) {
      if (m.status !== 5) continue;
      for (const c of ctx.corp.customersOf(m.userid)) {
        if (!pending.has(`${m.userid}|${c.external_userid}`)) {
          rows.push({ handover_userid: m.userid, external_userid: c.external_userid, dimission_time: m.dimissionTime ?? 0 });
        }
      }
    }
    // Legacy page_id paging: no next_cursor in the reply.
    if (input.page_id !== undefined && !input.cursor) {
      const offset = input.page_id * input.page_size;
      const info = rows.slice(offset, offset + input.page_size);
      return { info, is_last: offset + input.page_size >= rows.length };
    }
    const offset = decodeCursor(input.cursor);
    const info = rows.slice(offset, offset + input.page_size);
    const done = offset + input.page_size >= rows.length;
    return { info, is_last: done, next_cursor: done ? '' : encodeCursor(offset + input.page_size) };
  }));

  return router;
}
