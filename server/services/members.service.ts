import { eq } from 'drizzle-orm';
import type { Database, Queryable } from '../db/database.ts';
import { appAdmins, departments, memberDepartments, members } from '../db/schema.ts';
import type { CustomerAction, CustomerScope } from '../policy/customer-scope.ts';
import { loadAccessSubject, memberRoleNames } from './customer-access.service.ts';

/** Built-in (admin, manager, rep, service) or custom role names. */
export type RoleName = string;

export interface MemberProfile {
  userid: string;
  name: string;
  position: string | null;
  status: number;
  departments: { id: number; name: string; isLeader: boolean; main: boolean }[];
  roles: RoleName[];
  /** The member's customer scope per action (most permissive over their roles; none while inactive). */
  scopes: Record<CustomerAction, CustomerScope>;
  /** Read-only probation in force now. */
  probation: boolean;
}

/** Admins: ADMIN_USERIDS from the start, plus those named in the console. */
export async function isAdmin(db: Queryable, userid: string, configuredAdmins: string[]): Promise<boolean> {
  if (configuredAdmins.includes(userid)) return true;
  const [row] = await db.select({ userid: appAdmins.userid }).from(appAdmins).where(eq(appAdmins.userid, userid));
  return Boolean(row);
}

/**
 * A member with departments, roles (implicit: admin, manager, rep; plus those an admin named) and
 * customer scopes, for the UI's capability store (the server enforces; the UI only hides).
 */
export async function memberProfile(db: Database, userid: string, configuredAdmins: string[]): Promise<MemberProfile | undefined> {
  const [member] = await db.select().from(members).where(eq(members.userid, userid));
  if (!member) return undefined;
  const rows = await db.select({ id: departments.id, name: departments.name, isLeader: memberDepartments.isLeader })
    .from(memberDepartments).innerJoin(departments, eq(departments.id, memberDepartments.departmentId))
    .where(eq(memberDepartments.userid, userid));
  const { roles } = await memberRoleNames(db, userid, configuredAdmins);
  const subject = await loadAccessSubject(db, userid, configuredAdmins);
  return {
    userid: member.userid,
    name: member.name,
    position: member.position,
    status: member.status,
    departments: rows.map((r) => ({ ...r, main: r.id === member.mainDepartment })),
    roles,
    scopes: subject.scopes,
    probation: subject.probation,
  };
}
