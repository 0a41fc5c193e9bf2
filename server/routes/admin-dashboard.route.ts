import { Router, type Request, type Response } from 'express';
import { and, count, desc, eq, gte, inArray, isNotNull, isNull, ne, sql } from 'drizzle-orm';
import type { AppContext } from '../context.ts';
import { customers, departments, inboxEvents, memberDepartments, members, ownerHistory, relationTags, tags, transferItems } from '../db/schema.ts';
import { requirePermission } from '../http/guard.ts';
import { MEMBER_ACTIVE } from '../services/org-sync.service.ts';

const TOP_TAGS = 8;
const TOP_OWNERS = 15;
const POOL_DAYS = 30;
const DAY_MS = 86_400_000;

/** Aggregates only (no customer, no phone): counts for the console's charts. */
export interface Dashboard {
  totals: { customers: number; inPool: number; activeMembers: number; tags: number; failedEvents: number };
  /** Corp and rule-group tag uses on relations, by the top-level department of the member who holds the relation. */
  tagUsage: { departments: { id: number; name: string }[]; tags: { tagId: string; name: string; counts: number[] }[] };
  customersPerOwner: { userid: string; name: string; customers: number }[];
  /** Customers in a pool at the end of each of the last 30 days (today's count, walked back through owner history). */
  poolSize: { date: string; size: number }[];
  transferOutcomes: { state: string; items: number }[];
}

export async function readDashboard(ctx: AppContext, now = new Date()): Promise<Dashboard> {
  const db = ctx.db;
  const n = (rows: { n: number }[]) => Number(rows[0]?.n ?? 0);
  const [customersTotal, inPool, activeMembers, tagsTotal, failedEvents] = await Promise.all([
    db.select({ n: count() }).from(customers).then(n),
    db.select({ n: count() }).from(customers).where(isNotNull(customers.inPoolSince)).then(n),
    db.select({ n: count() }).from(members).where(eq(members.status, MEMBER_ACTIVE)).then(n),
    db.select({ n: count() }).from(tags).where(isNull(tags.deletedAt)).then(n),
    db.select({ n: count() }).from(inboxEvents).where(eq(inboxEvents.status, 'failed')).then(n),
  ]);

  // Tag usage: relation tags × the departments of the member holding the relation, folded to top-level departments.
  const departmentRows = await db.select({ id: departments.id, name: departments.name, parentId: departments.parentId, order: departments.order })
    .from(departments).where(isNull(departments.removedAt)).orderBy(desc(departments.order), departments.id);
  const parentOf = new Map(departmentRows.map((d) => [d.id, d.parentId]));
  const roots = new Set(departmentRows.filter((d) => d.parentId == null || !parentOf.has(d.parentId)).map((d) => d.id));
  // The regions: children of the root (or the root itself when it has none).
  const regions = departmentRows.filter((d) => d.parentId != null && roots.has(d.parentId));
  const regionOf = (id: number): number | undefined => {
    const seen = new Set<number>();
    for (let current: number | null | undefined = id; current != null && !seen.has(current); current = parentOf.get(current)) {
      seen.add(current);
      if (regions.some((r) => r.id === current)) return current;
    }
    return undefined;
  };
  const usage = await db.select({ tagId: relationTags.tagId, departmentId: memberDepartments.departmentId, n: count() })
    .from(relationTags).innerJoin(memberDepartments, eq(memberDepartments.userid, relationTags.userid))
    .where(ne(relationTags.kind, 'personal')).groupBy(relationTags.tagId, memberDepartments.departmentId);
  const byTag = new Map<string, Map<number, number>>();
  for (const row of usage) {
    const region = regionOf(row.departmentId);
    if (region === undefined) continue;
    const counts = byTag.get(row.tagId) ?? new Map<number, number>();
    counts.set(region, (counts.get(region) ?? 0) + Number(row.n));
    byTag.set(row.tagId, counts);
  }
  const total = (counts: Map<number, number>) => [...counts.values()].reduce((a, b) => a + b, 0);
  const topTags = [...byTag].sort((a, b) => total(b[1]) - total(a[1])).slice(0, TOP_TAGS);
  const tagNames = topTags.length
    ? new Map((await db.select({ id: tags.tagId, name: tags.name }).from(tags).where(inArray(tags.tagId, topTags.map(([id]) => id)))).map((t) => [t.id, t.name]))
    : new Map<string, string>();

  const owners = await db.select({ userid: customers.ownerUserid, n: count() }).from(customers)
    .where(isNotNull(customers.ownerUserid)).groupBy(customers.ownerUserid).orderBy(desc(count())).limit(TOP_OWNERS);
  const ownerNames = owners.length
    ? new Map((await db.select({ userid: members.userid, name: members.name }).from(members).where(inArray(members.userid, owners.map((o) => o.userid!)))).map((m) => [m.userid, m.name]))
    : new Map<string, string>();

  // Pool size per day: today's size, minus releases and plus claims after each day's end.
  const since = new Date(now.getTime() - POOL_DAYS * DAY_MS);
  const day = sql<string>`to_char(${ownerHistory.at} at time zone 'UTC', 'YYYY-MM-DD')`;
  const moves = await db.select({ day, reason: ownerHistory.reason, n: count() }).from(ownerHistory)
    .where(and(gte(ownerHistory.at, since), inArray(ownerHistory.reason, ['pool_release', 'pool_claim']))).groupBy(day, ownerHistory.reason);
  const net = new Map<string, number>();
  for (const m of moves) net.set(m.day, (net.get(m.day) ?? 0) + (m.reason === 'pool_release' ? 1 : -1) * Number(m.n));
  const poolSize: { date: string; size: number }[] = [];
  let size = inPool;
  for (let i = 0; i < POOL_DAYS; i++) {
    const date = new Date(now.getTime() - i * DAY_MS).toISOString().slice(0, 10);
    poolSize.unshift({ date, size: Math.max(0, size) });
    size -= net.get(date) ?? 0;
  }

  const transfers = await db.select({ state: transferItems.state, n: count() }).from(transferItems).groupBy(transferItems.state);

  return {
    totals: { customers: customersTotal, inPool, activeMembers, tags: tagsTotal, failedEvents },
    tagUsage: {
      departments: regions.map((r) => ({ id: r.id, name: r.name })),
      tags: topTags.map(([tagId, counts]) => ({ tagId, name: tagNames.get(tagId) ?? tagId, counts: regions.map((r) => counts.get(r.id) ?? 0) })),
    },
    customersPerOwner: owners.map((o) => ({ userid: o.userid!, name: ownerNames.get(o.userid!) ?? o.userid!, customers: Number(o.n) })),
    poolSize,
    transferOutcomes: transfers.map((t) => ({ state: t.state, items: Number(t.n) })),
  };
}

/** `GET /api/admin/dashboard`: the console's overview charts (admins). */
export function adminDashboardRouter(ctx: AppContext): Router {
  const router = Router();
  router.get('/api/admin/dashboard', requirePermission(ctx, 'admin'), async (_req: Request, res: Response) => {
    res.json(await readDashboard(ctx));
  });
  return router;
}
