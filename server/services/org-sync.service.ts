import { and, eq, isNull, notInArray, sql } from 'drizzle-orm';
import type { Database, Queryable } from '../db/database.ts';
import { departments, memberDepartments, members, sessions } from '../db/schema.ts';
import type { WecomClient } from '../wecom/client.ts';
import type { WecomUser } from '../wecom/api-types.ts';
import { bumpPolicyVersion } from './policy-version.ts';

/** WeCom member status 5 = left. Members who left keep their rows (history) but lose all access. */
export const MEMBER_LEFT = 5;
/** Only active members (status 1) may sign in or keep a session; disabled (2) and not activated (4) may not. */
export const MEMBER_ACTIVE = 1;

/** Writes one member as WeCom reports them; a member who left also loses every session at once. */
export async function upsertMember(db: Queryable, user: WecomUser): Promise<void> {
  const left = user.status === MEMBER_LEFT;
  await db.insert(members).values({
    userid: user.userid, name: user.name, position: user.position ?? null, mainDepartment: user.main_department ?? null,
    status: user.status, leftAt: left ? sql`now()` : null,
  }).onConflictDoUpdate({
    target: members.userid,
    set: {
      name: user.name, position: user.position ?? null, mainDepartment: user.main_department ?? null, status: user.status,
      leftAt: left ? sql`coalesce(${members.leftAt}, now())` : null, syncedAt: sql`now()`,
    },
  });
  await db.delete(memberDepartments).where(eq(memberDepartments.userid, user.userid));
  const rows = (user.department ?? []).map((departmentId, i) => ({ userid: user.userid, departmentId, isLeader: user.is_leader_in_dept?.[i] === 1 }));
  if (rows.length) await db.insert(memberDepartments).values(rows).onConflictDoNothing();
  if (user.status !== MEMBER_ACTIVE) await db.delete(sessions).where(eq(sessions.userid, user.userid));
  await bumpPolicyVersion(db);
}

/** Marks a member as left without a WeCom read (user/get answers 60111 for deleted members). */
export async function markMemberLeft(db: Queryable, userid: string): Promise<void> {
  await db.update(members).set({ status: MEMBER_LEFT, leftAt: sql`coalesce(${members.leftAt}, now())`, syncedAt: sql`now()` }).where(eq(members.userid, userid));
  await db.delete(sessions).where(eq(sessions.userid, userid));
  await bumpPolicyVersion(db);
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]!);
    }
  }));
  return results;
}

/**
 * Departments and members from WeCom. The member list comes from `user/simplelist` over the whole
 * tree; `user/get` per member adds leader flags, main department and status. Members no longer listed
 * are marked as left, never deleted.
 */
export async function syncOrganization(db: Database, wecom: WecomClient, onProgress?: (done: number, total: number) => Promise<void>): Promise<{ departments: number; members: number }> {
  const { department } = await wecom.listDepartments();
  await db.transaction(async (tx) => {
    for (const d of department) {
      await tx.insert(departments).values({ id: d.id, name: d.name, nameEn: d.name_en ?? null, parentId: d.parentid || null, order: d.order ?? 0 })
        .onConflictDoUpdate({ target: departments.id, set: { name: d.name, nameEn: d.name_en ?? null, parentId: d.parentid || null, order: d.order ?? 0, removedAt: null, syncedAt: sql`now()` } });
    }
    const ids = department.map((d) => d.id);
    await tx.update(departments).set({ removedAt: sql`now()` }).where(and(isNull(departments.removedAt), ids.length ? notInArray(departments.id, ids) : undefined));
    await bumpPolicyVersion(tx);
  });
  const roots = department.filter((d) => !department.some((p) => p.id === d.parentid));
  const listed = new Map<string, true>();
  for (const root of roots) {
    const { userlist } = await wecom.listSimpleUsers(root.id, true);
    for (const user of userlist) listed.set(user.userid, true);
  }
  const userids = [...listed.keys()];
  let done = 0;
  await mapLimit(userids, 5, async (userid) => {
    const user = await wecom.getUser(userid);
    await db.transaction((tx) => upsertMember(tx, user));
    done++;
    if (onProgress && done % 50 === 0) await onProgress(done, userids.length);
  });
  const gone = await db.select({ userid: members.userid }).from(members)
    .where(and(sql`${members.status} <> ${MEMBER_LEFT}`, userids.length ? notInArray(members.userid, userids) : undefined));
  for (const { userid } of gone) await markMemberLeft(db, userid);
  return { departments: department.length, members: userids.length };
}
