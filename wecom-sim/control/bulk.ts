// Control: a large company without a fixture of that size. Generates customers deterministically
// (ids `<id_prefix><index padded to 8 digits>`), each followed by active members in turn with corp
// tags picked from the live library, and no callbacks (like a fixture: the customers were there
// before the app). Also a customer changing their WeChat profile, which WeCom reports to nobody.
import express from 'express';
import type { Router } from 'express';
import { z } from 'zod';
import { badRequest } from '../errors.ts';
import type { SimContext } from '../context.ts';
import { control, input } from './common.ts';

const generateSchema = z.object({
  count: z.number().int().min(1).max(1_000_000),
  id_prefix: z.string().min(1).max(40).regex(/^[A-Za-z0-9_-]+$/, 'id_prefix: letters, digits, _ and - only'),
  /** Followers per customer (consecutive active members), default 1. */
  followers: z.number().int().min(1).max(20).default(1),
  /** Corp tags on each relation, default 2. */
  tags_per_relation: z.number().int().min(0).max(20).default(2),
});

const profileSchema = z.object({
  external_userid: z.string().min(1),
  name: z.string().min(1).max(64).optional(),
  avatar: z.string().max(512).optional(),
});

export function bulkControlRouter(ctx: SimContext): Router {
  const router = express.Router();

  router.post('/customers/generate', control(ctx, (req) => {
    const body = input(generateSchema, req.body);
    const corp = ctx.corp;
    const members = [...corp.members.values()].filter((m) => m.status === 1).map((m) => m.userid);
    if (members.length === 0) badRequest('the corp has no active member to follow the customers');
    const tagIds = corp.liveGroups(undefined).flatMap((g) => g.tags.filter((t) => !t.deleted).map((t) => t.id));
    if (body.tags_per_relation > 0 && tagIds.length === 0) badRequest('the corp has no corp tag to put on relations (tags_per_relation: 0 for none)');
    const now = ctx.clock.now();
    let relations = 0;
    for (let i = 0; i < body.count; i++) {
      const id = `${body.id_prefix}${String(i).padStart(8, '0')}`;
      if (corp.customers.has(id)) badRequest(`customer ${id} exists already (use another id_prefix)`);
      const followers = Array.from({ length: Math.min(body.followers, members.length) }, (_, k) => members[(i + k) % members.length]!);
      corp.customers.set(id, {
        external_userid: id, name: `客户${i}`, type: 1, gender: (i % 3) as 0 | 1 | 2, avatar: '', corp_name: '', position: '',
        follows: followers.map((userid, k) => ({
          userid, remark: `备注${i}`, description: '', createtime: now - (i % 86_400), remark_corp_name: '', remark_mobiles: [],
          tagIds: [...new Set(Array.from({ length: body.tags_per_relation }, (_, t) => tagIds[(i * 7 + k * 3 + t * 11) % tagIds.length]!))],
          personalTags: [], oper_userid: id, add_way: 1, state: 'bulk', half: false, customerDeleted: false,
        })),
      });
      relations += followers.length;
    }
    return { created: body.count, relations, customers: corp.customers.size };
  }));

  router.post('/customers/profile', control(ctx, (req) => {
    const body = input(profileSchema, req.body);
    const customer = ctx.corp.customers.get(body.external_userid) ?? badRequest(`unknown customer ${body.external_userid}`);
    if (body.name === undefined && body.avatar === undefined) badRequest('nothing to change: give name or avatar');
    if (body.name !== undefined) customer.name = body.name;
    if (body.avatar !== undefined) customer.avatar = body.avatar;
    return { external_userid: customer.external_userid, name: customer.name, avatar: customer.avatar };
  }));

  return router;
}
