import { Router, type Request, type Response } from 'express';
import { eq } from 'drizzle-orm';
import { z } from 'zod';
import type { AppContext } from '../context.ts';
import { members, type PolicyNodeType } from '../db/schema.ts';
import { DomainError } from '../http/domain-error.ts';
import { currentSession, requirePermission } from '../http/guard.ts';
import { findConflicts } from '../services/tag-conflicts.service.ts';
import { loadPolicyMember } from '../services/tag-policy.service.ts';
import { nodeVisibility, saveRule } from '../services/visibility-rules.service.ts';

export const roleGrant = z.union([
  z.string().min(1).max(64).transform((name) => ({ name })),
  z.object({ name: z.string().min(1).max(64), departments: z.array(z.number().int().positive()).max(500).optional() }),
]);
export const audience = z.object({
  departments: z.array(z.number().int().positive()).max(1000).default([]),
  users: z.array(z.string().min(1).max(64)).max(1000).default([]),
  roles: z.array(roleGrant).max(100).default([]),
}).strict();
export const ruleBody = z.object({
  see: audience.nullable(),
  use: audience.optional(),
  mode: z.enum(['enforce', 'report']).optional(),
}).strict();

export const explainQuery = z.object({ userid: z.string().min(1).max(64), tagId: z.string().min(1).max(128) });

export const NODE_PATHS: { path: string; type: PolicyNodeType; param: z.ZodType<string> }[] = [
  { path: '/api/admin/tag-groups/:id/visibility', type: 'group', param: z.string().min(1).max(128) },
  { path: '/api/admin/tags/:id/visibility', type: 'tag', param: z.string().min(1).max(128) },
  { path: '/api/admin/tag-folders/:id/visibility', type: 'folder', param: z.string().regex(/^\d{1,9}$/, 'a folder id is a number') },
];

/**
 * Admin API of the tag policy: the visibility rule of each node (folder, group, tag), and `explain`.
 */
export function adminTagPolicyRouter(ctx: AppContext): Router {
  const router = Router();

  for (const { path, type, param } of NODE_PATHS) {
    router.get(path, requirePermission(ctx, 'admin'), async (req: Request, res: Response) => {
      const id = param.parse(req.params.id);
      res.json(nodeVisibility(await ctx.policy.policy(), type, id));
    });
    router.put(path, requirePermission(ctx, 'admin'), async (req: Request, res: Response) => {
      const id = param.parse(req.params.id);
      const body = ruleBody.parse(req.body);
      res.json(await saveRule(ctx.db, ctx.config.adminUserIds, currentSession(res).userid, type, id, body));
    });
  }

  router.get('/api/admin/explain/tag', requirePermission(ctx, 'admin'), async (req: Request, res: Response) => {
    const query = explainQuery.parse(req.query);
    const [member] = await ctx.db.select({ name: members.name }).from(members).where(eq(members.userid, query.userid));
    if (!member) throw new DomainError('NOT_FOUND', `no member ${query.userid}`);
    const policy = await ctx.policy.policy();
    if (!policy.tag(query.tagId)) throw new DomainError('NOT_FOUND', `no tag ${query.tagId} (personal tags are private to their owner)`);
    const subject = await loadPolicyMember(ctx.db, query.userid, ctx.config.adminUserIds);
    const explanation = policy.explain(subject, query.tagId, (u) => (u === query.userid ? member.name : u));
    res.json({ userid: query.userid, member: member.name, ...explanation });
  });

  router.get('/api/admin/tag-policy/conflicts', requirePermission(ctx, 'admin'), async (_req: Request, res: Response) => {
    const conflicts = await findConflicts(ctx.db, await ctx.policy.policy(), ctx.config.adminUserIds);
    res.json({ conflicts });
  });

  return router;
}
