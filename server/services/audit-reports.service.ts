import { desc, eq, inArray, sql } from 'drizzle-orm';
import type { Database, Queryable } from '../db/database.ts';
import { auditReports, departments, members } from '../db/schema.ts';
import { DomainError } from '../http/domain-error.ts';
import { audit } from './audit.service.ts';

/**
 * The monthly audit report: for each department (the actor's main department), who viewed, changed
 * and exported what (counts per member and action), and the notable entries: unmasking, exports with
 * their row counts, denied attempts. Months are China-time calendar months. Aggregated in SQL; stored
 * one row per month, replaced when regenerated (the regeneration itself is audited).
 */

export const CORP_UTC_OFFSET_HOURS = 8; // Asia/Shanghai, no daylight saving
export const MONTH_PATTERN = /^\d{4}-(0[1-9]|1[0-2])$/;
/** Notable entries kept per kind and department (the counts are always complete). */
export const NOTABLE_LIMIT = 200;

export type ActivityKind = 'viewed' | 'changed' | 'exported';

/** Which column of the report an action counts in (denied attempts are counted apart). */
export function activityKind(action: string): ActivityKind {
  if (action.startsWith('export.')) return 'exported';
  if (action === 'customer.view' || action === 'customer.reveal' || action === 'customer.access_explained' || action.startsWith('view_as.') || action.startsWith('auth.') || action.endsWith('.read')) return 'viewed';
  return 'changed';
}

interface Totals { viewed: number; changed: number; exported: number; denied: number }
const zero = (): Totals => ({ viewed: 0, changed: 0, exported: 0, denied: 0 });

export interface ReportMember extends Totals {
  userid: string | null;
  name: string | null;
  actions: { action: string; outcome: string; count: number }[];
}

export interface NotableEntry {
  id: number;
  at: string;
  actor: string | null;
  action: string;
  subjectType: string;
  subjectId: string;
  /** reveal: the field; export: format and rowCount; denied: the reason. Never a revealed value. */
  details: Record<string, unknown>;
}

export interface ReportDepartment {
  /** null: system actions and actors without a known department. */
  departmentId: number | null;
  departmentName: string | null;
  totals: Totals;
  members: ReportMember[];
  notable: {
    unmasked: NotableEntry[];
    exports: NotableEntry[];
    denied: NotableEntry[];
    /** How many of each there were (the lists stop at NOTABLE_LIMIT). */
    counts: { unmasked: number; exports: number; exportedRows: number; denied: number };
  };
}

export interface AuditReportSummary {
  month: string;
  from: string;
  to: string;
  /** The month was not over when the report was made. */
  partial: boolean;
  totals: Totals & { entries: number };
  departments: ReportDepartment[];
}

export function monthRange(month: string): { from: Date; to: Date } {
  if (!MONTH_PATTERN.test(month)) throw new DomainError('BAD_REQUEST', `month: "${month}" is not a month such as 2026-10 (YYYY-MM)`);
  const [year, m] = month.split('-').map(Number) as [number, number];
  const offset = CORP_UTC_OFFSET_HOURS * 3_600_000;
  return { from: new Date(Date.UTC(year, m - 1, 1) - offset), to: new Date(Date.UTC(year, m, 1) - offset) };
}

/** The China-time month before the one `now` falls in (what the scheduled job reports on). */
export function previousMonth(now = new Date()): string {
  const local = new Date(now.getTime() + CORP_UTC_OFFSET_HOURS * 3_600_000);
  const first = new Date(Date.UTC(local.getUTCFullYear(), local.getUTCMonth() - 1, 1));
  return `${first.getUTCFullYear()}-${String(first.getUTCMonth() + 1).padStart(2, '0')}`;
}

/** Both drivers answer raw queries with `{ rows }`. */
async function rowsOf<T>(db: Queryable, query: ReturnType<typeof sql>): Promise<T[]> {
  return ((await db.execute(query)) as unknown as { rows: T[] }).rows;
}

const json = <T>(value: unknown): T => (typeof value === 'string' ? JSON.parse(value) : value) as T;

/** What a notable entry may show: identifiers and decisions only. */
function notableDetails(action: string, details: Record<string, unknown>): Record<string, unknown> {
  const keep = action === 'customer.reveal' ? ['field', 'relation', 'index'] : action === 'export.completed' ? ['format', 'rowCount'] : ['reason'];
  return Object.fromEntries(keep.filter((k) => details[k] !== undefined).map((k) => [k, details[k]]));
}

export async function buildAuditReport(db: Queryable, month: string, now = new Date()): Promise<{ summary: AuditReportSummary; entries: number; firstEntryId: number | null; lastEntryId: number | null }> {
  const { from, to } = monthRange(month);
  if (from.getTime() > now.getTime()) throw new DomainError('BAD_REQUEST', `month: ${month} has not started yet`);
  const range = sql`a.at >= ${from.toISOString()}::timestamptz and a.at < ${to.toISOString()}::timestamptz`;
  const counts = await rowsOf<{ actor: string | null; action: string; outcome: string; n: number }>(db, sql`
    select a.actor, a.action, a.outcome, count(*)::int as n from audit_log a where ${range} group by 1, 2, 3`);
  const [bounds] = await rowsOf<{ first: number | null; last: number | null }>(db, sql`select min(a.id)::bigint as first, max(a.id)::bigint as last from audit_log a where ${range}`);
  const notableRows = await rowsOf<{ id: number; at: string | Date; actor: string | null; action: string; subject_type: string; subject_id: string; details: unknown; kind: 'unmasked' | 'exports' | 'denied'; rank: number }>(db, sql`
    select * from (
      select a.id, a.at, a.actor, a.action, a.subject_type, a.subject_id, a.details, k.kind,
        row_number() over (partition by k.kind, coalesce(m.main_department, -1) order by a.id) as rank
      from audit_log a
      cross join lateral (select case when a.outcome = 'denied' then 'denied' when a.action = 'customer.reveal' then 'unmasked' when a.action = 'export.completed' then 'exports' end as kind) k
      left join members m on m.userid = a.actor
      where ${range} and k.kind is not null
    ) t where t.rank <= ${NOTABLE_LIMIT} order by t.id`);
  const exportedRows = await rowsOf<{ actor: string | null; exports: number; rows: number }>(db, sql`
    select a.actor, count(*)::int as exports, coalesce(sum((a.details->>'rowCount')::bigint), 0)::bigint as rows
    from audit_log a where ${range} and a.action = 'export.completed' group by 1`);

  const actors = [...new Set([...counts.map((c) => c.actor), ...notableRows.map((r) => r.actor)].filter((a): a is string => a !== null))];
  const people = actors.length ? await db.select({ userid: members.userid, name: members.name, department: members.mainDepartment }).from(members).where(inArray(members.userid, actors)) : [];
  const personOf = new Map(people.map((p) => [p.userid, p]));
  const departmentIds = [...new Set(people.map((p) => p.department).filter((d): d is number => d !== null))];
  const names = new Map((departmentIds.length ? await db.select({ id: departments.id, name: departments.name }).from(departments).where(inArray(departments.id, departmentIds)) : []).map((d) => [d.id, d.name]));

  const byDepartment = new Map<number | null, ReportDepartment>();
  const departmentOf = (actor: string | null): ReportDepartment => {
    const id = actor === null ? null : (personOf.get(actor)?.department ?? null);
    let entry = byDepartment.get(id);
    if (!entry) {
      entry = { departmentId: id, departmentName: id === null ? null : (names.get(id) ?? null), totals: zero(), members: [], notable: { unmasked: [], exports: [], denied: [], counts: { unmasked: 0, exports: 0, exportedRows: 0, denied: 0 } } };
      byDepartment.set(id, entry);
    }
    return entry;
  };
  const memberRows = new Map<string, ReportMember>();
  const totals = { ...zero(), entries: 0 };
  for (const c of counts) {
    const department = departmentOf(c.actor);
    const key = `${department.departmentId}|${c.actor}`;
    let member = memberRows.get(key);
    if (!member) {
      member = { userid: c.actor, name: c.actor === null ? null : (personOf.get(c.actor)?.name ?? null), ...zero(), actions: [] };
      memberRows.set(key, member);
      department.members.push(member);
    }
    const n = Number(c.n);
    member.actions.push({ action: c.action, outcome: c.outcome, count: n });
    const column: keyof Totals = c.outcome === 'denied' ? 'denied' : activityKind(c.action);
    member[column] += n;
    department.totals[column] += n;
    totals[column] += n;
    totals.entries += n;
    if (c.action === 'customer.reveal' && c.outcome !== 'denied') department.notable.counts.unmasked += n;
    if (c.outcome === 'denied') department.notable.counts.denied += n;
  }
  for (const e of exportedRows) {
    const department = departmentOf(e.actor);
    department.notable.counts.exports += Number(e.exports);
    department.notable.counts.exportedRows += Number(e.rows);
  }
  for (const row of notableRows) {
    departmentOf(row.actor).notable[row.kind].push({
      id: Number(row.id), at: new Date(row.at).toISOString(), actor: row.actor, action: row.action, subjectType: row.subject_type, subjectId: row.subject_id,
      details: notableDetails(row.action, json<Record<string, unknown>>(row.details) ?? {}),
    });
  }
  const activity = (t: Totals): number => t.viewed + t.changed + t.exported + t.denied;
  for (const department of byDepartment.values()) {
    department.members.sort((a, b) => activity(b) - activity(a) || String(a.userid).localeCompare(String(b.userid)));
    for (const member of department.members) member.actions.sort((a, b) => b.count - a.count || a.action.localeCompare(b.action) || a.outcome.localeCompare(b.outcome));
  }
  const list = [...byDepartment.values()].sort((a, b) => (a.departmentId === null ? 1 : b.departmentId === null ? -1 : a.departmentId - b.departmentId));
  return {
    summary: { month, from: from.toISOString(), to: to.toISOString(), partial: to.getTime() > now.getTime(), totals, departments: list },
    entries: totals.entries,
    firstEntryId: bounds?.first === null || bounds?.first === undefined ? null : Number(bounds.first),
    lastEntryId: bounds?.last === null || bounds?.last === undefined ? null : Number(bounds.last),
  };
}

export type AuditReportRow = typeof auditReports.$inferSelect;

/** Builds and stores (replaces) a month's report; audited as `audit.report_generated`. */
export async function generateAuditReport(db: Database, month: string, generatedBy: string | null, now = new Date()): Promise<AuditReportRow> {
  return db.transaction(async (tx) => {
    // One generation of a month at a time: a scheduled run and an admin's request do not interleave.
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`audit_report:${month}`}))`);
    const built = await buildAuditReport(tx, month, now);
    const values = { month, generatedAt: now, generatedBy, entries: built.entries, firstEntryId: built.firstEntryId, lastEntryId: built.lastEntryId, summary: built.summary as unknown as Record<string, unknown> };
    const [row] = await tx.insert(auditReports).values(values).onConflictDoUpdate({ target: auditReports.month, set: values }).returning();
    await audit(tx, { actor: generatedBy, action: 'audit.report_generated', subjectType: 'audit_report', subjectId: month, outcome: 'done', details: { entries: built.entries, partial: built.summary.partial, scheduled: generatedBy === null } });
    return row!;
  });
}

/** Every stored report without its body, newest month first. */
export async function listAuditReports(db: Queryable) {
  const rows = await db.select({
    month: auditReports.month, generatedAt: auditReports.generatedAt, generatedBy: auditReports.generatedBy, entries: auditReports.entries,
    firstEntryId: auditReports.firstEntryId, lastEntryId: auditReports.lastEntryId,
    totals: sql<unknown>`${auditReports.summary}->'totals'`, partial: sql<unknown>`${auditReports.summary}->'partial'`,
  }).from(auditReports).orderBy(desc(auditReports.month)).limit(240);
  return rows.map((r) => ({ ...r, totals: json(r.totals), partial: json(r.partial) }));
}

export async function readAuditReport(db: Queryable, month: string): Promise<AuditReportRow> {
  monthRange(month);
  const [row] = await db.select().from(auditReports).where(eq(auditReports.month, month));
  if (!row) throw new DomainError('NOT_FOUND', `no audit report for ${month}: generate it with POST /api/admin/audit/reports {"month":"${month}"}`);
  return { ...row, summary: json(row.summary) };
}
