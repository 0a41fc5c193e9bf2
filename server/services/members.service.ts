import { eq } from 'drizzle-orm';
import type { Database, Queryable } from '../db/database.ts';
import { appAdmins, departments, memberDepartments, members } from '../db/schema.ts';
import { MEMBER_LEFT } from './org-sync.service.ts';

export type RoleName = 'admin' | 'manager' | 'rep';

export interface MemberProfile {
  userid: string;
  name: string;
  position: string | null;
  status: number;
  departments: { id: number; name: string; isLeader: boolean; main: boolean }[];
  roles: RoleName[];
}

/** Admins: ADMIN_USERIDS from the start, plus those named in the console. */
export async function isAdmin(db: Queryable, userid: string, configuredAdmins: string[]): Promise<boolean> {
  if (configuredAdmins.includes(userid)) return true;
  const [row] = await db.select({ userid: appAdmins.userid }).from(appAdmins).where(eq(appAdmins.userid, userid));
  return Boolean(row);
}

/**
 * A member with departments and roles. Until the roles module exists, roles derive from WeCom:
 * admins as configured, managers are department leaders, everyone else is a rep.
 */
export async function memberProfile(db: Database, userid: string, configuredAdmins: string[]): Promise<MemberProfile | undefined> {
  const [member] = await db.select().from(members).where(eq(members.userid, userid));
  if (!member) return undefined;
  const rows = await db.select({ id: departments.id, name: departments.name, isLeader: memberDepartments.isLeader })
    .from(memberDepartments).innerJoin(departments, eq(departments.id, memberDepartments.departmentId))
    .where(eq(memberDepartments.userid, userid));
  const roles: RoleName[] = [];
  if (member.status !== MEMBER_LEFT) {
    if (await isAdmin(db, userid, configuredAdmins)) roles.push('admin');
    if (rows.some((r) => r.isLeader)) roles.push('manager');
    roles.push('rep');
  }
  return {
    userid: member.userid,
    name: member.name,
    position: member.position,
    status: member.status,
    departments: rows.map((r) => ({ ...r, main: r.id === member.mainDepartment })),
    roles,
  };
}
