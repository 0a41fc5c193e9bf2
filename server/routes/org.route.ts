import { Router, type Request, type Response } from 'express';
import { asc, desc, isNull } from 'drizzle-orm';
import type { AppContext } from '../context.ts';
import type { Queryable } from '../db/database.ts';
import { appAdmins, departments, memberDepartments, memberManagedDepartments, memberRoles, members } from '../db/schema.ts';
import { requirePermission } from '../http/guard.ts';
import { MEMBER_ACTIVE } from '../services/org-sync.service.ts';

export interface OrgMember {
  userid: string;
  name: string;
  position: string | null;
  status: number;
  mainDepartment: number | null;
  departments: { id: number; isLeader: boolean }[];
  roles: string[];
  probation: boolean;
}

/**
 * The organization as synced from WeCom, in a few set queries (not one per member): departments in
 * WeCom's order and members with their departments and roles. Roles follow memberRoleNames
 * (customer-access.service.ts): `rep` for every active member, `manager` for leaders and named managers,
 * `admin` for ADMIN_USERIDS and app admins, plus roles named in member_roles.
 */
export async function readOrganization(db: Queryable, configuredAdmins: string[]): Promise<{ departments: { id: number; name: string; parentId: number | null; order: number }[]; members: OrgMember[] }> {
  const departmentRows = await db.select({ id: departments.id, name: departments.name, parentId: departments.parentId, order: departments.order })
    .from(departments).where(isNull(departments.removedAt)).orderBy(desc(departments.order), asc(departments.id));
  const memberRows = await db.select().from(members).orderBy(asc(members.name), asc(members.userid));
  const links = await db.select().from(memberDepartments);
  const named = await db.select({ userid: memberRoles.userid, role: memberRoles.role }).from(memberRoles);
  const managers = new Set((await db.select({ userid: memberManagedDepartments.userid }).from(memberManagedDepartments)).map((r) => r.userid));
  const admins = new Set([...configuredAdmins, ...(await db.select({ userid: appAdmins.userid }).from(appAdmins)).map((r) => r.userid)]);
  const linksOf = new Map<string, { id: number; isLeader: boolean }[]>();
  for (const link of links) linksOf.set(link.userid, [...(linksOf.get(link.userid) ?? []), { id: link.departmentId, isLeader: link.isLeader }]);
  const namedOf = new Map<string, string[]>();
  for (const row of named) namedOf.set(row.userid, [...(namedOf.get(row.userid) ?? []), row.role]);
  return {
    departments: departmentRows,
    members: memberRows.map((m) => {
      const own = linksOf.get(m.userid) ?? [];
      const roles = new Set<string>();
      if (m.status === MEMBER_ACTIVE) {
        roles.add('rep');
        for (const role of namedOf.get(m.userid) ?? []) roles.add(role);
        if (own.some((d) => d.isLeader) || managers.has(m.userid)) roles.add('manager');
        if (admins.has(m.userid)) roles.add('admin');
      }
      return { userid: m.userid, name: m.name, position: m.position, status: m.status, mainDepartment: m.mainDepartment, departments: own, roles: [...roles].sort(), probation: m.probation };
    }),
  };
}

/**
 * `GET /api/admin/org`: departments and members for the console (department tree, visibility matrix,
 * member pickers). `GET /api/dev/members`: sandbox only (404 elsewhere), the active members the sign-in
 * picker offers in place of WeCom's login, as `POST /api/dev/login` accepts any of them.
 */
export function orgRouter(ctx: AppContext): Router {
  const router = Router();
  router.get('/api/admin/org', requirePermission(ctx, 'admin'), async (_req: Request, res: Response) => {
    res.json(await readOrganization(ctx.db, ctx.config.adminUserIds));
  });

  // Sandbox only: outside it the route is not mounted at all.
  if (ctx.config.sandbox) {
    router.get('/api/dev/members', requirePermission(ctx, 'public'), async (_req: Request, res: Response) => {
      const org = await readOrganization(ctx.db, ctx.config.adminUserIds);
      const nameOf = new Map(org.departments.map((d) => [d.id, d.name]));
      res.json({
        members: org.members.filter((m) => m.status === MEMBER_ACTIVE).map((m) => ({
          userid: m.userid,
          name: m.name,
          position: m.position,
          department: m.mainDepartment != null ? nameOf.get(m.mainDepartment) ?? null : null,
          roles: m.roles,
        })),
      });
    });
  }
  return router;
}
