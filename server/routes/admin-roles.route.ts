import { Router, type Request, type Response } from 'express';
import { eq } from 'drizzle-orm';
import { z } from 'zod';
import type { AppContext } from '../context.ts';
import { memberRoles } from '../db/schema.ts';
import { currentSession, requirePermission } from '../http/guard.ts';
import { CUSTOMER_ACTIONS, CUSTOMER_SCOPES, type CustomerAction } from '../policy/customer-scope.ts';
import { MASKABLE_FIELDS } from '../policy/masking.ts';
import { loadAccessSubject, mayActivateEmergency, memberRoleNames } from '../services/customer-access.service.ts';
import { grantSettingsSchema, maskingView, readGrantSettings, readMaskedFields, writeGrantSettings, writeMaskedFields } from '../services/permission-settings.service.ts';
import { createRole, deleteRole, listRoles, ROLE_NAME_PATTERN, setMemberRoles, setProbation, updateRole } from '../services/roles.service.ts';

export const scope = z.enum(CUSTOMER_SCOPES);
export const fullScopes = z.object(Object.fromEntries(CUSTOMER_ACTIONS.map((a) => [a, scope])) as Record<CustomerAction, typeof scope>).strict();
const partialScopes = fullScopes.partial();
export const roleName = z.string().regex(ROLE_NAME_PATTERN, 'a role name is 2-32 lowercase letters, digits, _ or -, starting with a letter');
export const userid = z.string().min(1).max(64);

export const maskingBody = z.object({ fields: z.array(z.enum(MASKABLE_FIELDS)).max(MASKABLE_FIELDS.length) }).strict();
export const createBody = z.object({
  name: roleName,
  label: z.string().trim().min(1).max(64),
  scopes: fullScopes,
  allowEmergency: z.boolean().default(false),
}).strict();
export const patchBody = z.object({
  label: z.string().trim().min(1).max(64).optional(),
  scopes: partialScopes.optional(),
  allowEmergency: z.boolean().optional(),
}).strict().refine((b) => b.label !== undefined || b.scopes !== undefined || b.allowEmergency !== undefined, { message: 'give label, scopes or allowEmergency' });
export const memberRolesBody = z.object({
  roles: z.array(roleName).max(32),
  managedDepartments: z.array(z.number().int().positive()).max(500).optional(),
}).strict();
export const probationBody = z.object({
  on: z.boolean(),
  /** ISO date-time; null or absent = until an admin clears it. */
  until: z.iso.datetime({ offset: true }).nullable().optional(),
}).strict();

/**
 * Roles and their customer scopes, members' roles and managed departments, probation, and the
 * masking and grant settings. Admins only; every change is audited in its transaction, and role
 * changes bump the tag policy version (tag rules can grant by role).
 */
export function adminRolesRouter(ctx: AppContext): Router {
  const router = Router();
  const admin = requirePermission(ctx, 'admin');

  router.get('/api/admin/roles', admin, async (_req: Request, res: Response) => {
    res.json({ roles: await listRoles(ctx.db), actions: CUSTOMER_ACTIONS, scopes: CUSTOMER_SCOPES });
  });

  router.post('/api/admin/roles', admin, async (req: Request, res: Response) => {
    const body = createBody.parse(req.body);
    const actor = currentSession(res).userid;
    res.status(201).json(await ctx.db.transaction((tx) => createRole(tx, body, actor)));
  });

  router.patch('/api/admin/roles/:name', admin, async (req: Request, res: Response) => {
    const name = roleName.parse(req.params.name);
    const body = patchBody.parse(req.body);
    const actor = currentSession(res).userid;
    res.json(await ctx.db.transaction((tx) => updateRole(tx, name, body, actor)));
  });

  router.delete('/api/admin/roles/:name', admin, async (req: Request, res: Response) => {
    const name = roleName.parse(req.params.name);
    const actor = currentSession(res).userid;
    res.json(await ctx.db.transaction((tx) => deleteRole(tx, name, actor)));
  });

  /** What a member holds and can do: named and implicit roles, managed departments, probation, scopes, grants. */
  router.get('/api/admin/members/:userid/access', admin, async (req: Request, res: Response) => {
    const id = userid.parse(req.params.userid);
    const held = await memberRoleNames(ctx.db, id, ctx.config.adminUserIds);
    const named = (await ctx.db.select({ role: memberRoles.role }).from(memberRoles).where(eq(memberRoles.userid, id))).map((r) => r.role).sort();
    const subject = await loadAccessSubject(ctx.db, id, ctx.config.adminUserIds);
    res.json({
      userid: id,
      active: subject.active,
      roles: held.roles,
      namedRoles: named,
      managedDepartments: subject.managedDepartments,
      probation: { ...held.probation, inForce: subject.probation },
      scopes: subject.scopes,
      allowEmergency: await mayActivateEmergency(ctx.db, id, ctx.config.adminUserIds),
      grants: subject.grants,
    });
  });

  router.put('/api/admin/members/:userid/roles', admin, async (req: Request, res: Response) => {
    const id = userid.parse(req.params.userid);
    const body = memberRolesBody.parse(req.body);
    const actor = currentSession(res).userid;
    await ctx.db.transaction((tx) => setMemberRoles(tx, id, body, actor));
    const held = await memberRoleNames(ctx.db, id, ctx.config.adminUserIds);
    res.json({ userid: id, namedRoles: [...new Set(body.roles)].sort(), roles: held.roles, managedDepartments: held.managedDepartments });
  });

  router.put('/api/admin/members/:userid/probation', admin, async (req: Request, res: Response) => {
    const id = userid.parse(req.params.userid);
    const body = probationBody.parse(req.body);
    const actor = currentSession(res).userid;
    const after = await ctx.db.transaction((tx) => setProbation(tx, id, { on: body.on, until: body.until ? new Date(body.until) : null }, actor));
    res.json({ userid: id, probation: { on: after.on, until: after.until?.toISOString() ?? null } });
  });

  router.get('/api/admin/masking', admin, async (_req: Request, res: Response) => {
    res.json(maskingView(await readMaskedFields(ctx.db)));
  });

  router.put('/api/admin/masking', admin, async (req: Request, res: Response) => {
    const body = maskingBody.parse(req.body);
    const actor = currentSession(res).userid;
    res.json(maskingView(await ctx.db.transaction((tx) => writeMaskedFields(tx, body.fields, actor))));
  });

  router.get('/api/admin/grant-settings', admin, async (_req: Request, res: Response) => {
    res.json(await readGrantSettings(ctx.db));
  });

  router.put('/api/admin/grant-settings', admin, async (req: Request, res: Response) => {
    const body = grantSettingsSchema.parse(req.body);
    const actor = currentSession(res).userid;
    res.json(await ctx.db.transaction((tx) => writeGrantSettings(tx, body, actor)));
  });

  return router;
}
