import { randomUUID } from 'node:crypto';
import { mkdir, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { and, desc, eq, sql } from 'drizzle-orm';
import type { AppContext } from '../context.ts';
import type { Database, Queryable } from '../db/database.ts';
import { customers, exportJobs, type ExportState } from '../db/schema.ts';
import { DomainError } from '../http/domain-error.ts';
import { customerScopeSql, effectiveScope, type AccessSubject } from '../policy/customer-scope.ts';
import { shownValue, type MaskableField } from '../policy/masking.ts';
import { audit } from './audit.service.ts';
import { loadAccessSubject } from './customer-access.service.ts';
import { customerFilterSchema, customerFilterSql, rowsOf, unknownFilterTags, type CustomerFilter } from './customer-filter.ts';
import { visibleTagsOf } from './customer-read.service.ts';
import { isAdmin } from './members.service.ts';
import { readOwnershipSettings } from './ownership-settings.service.ts';
import { readMaskedFields } from './permission-settings.service.ts';
import type { PolicyCache } from './tag-policy.service.ts';
import { writeXlsx, type Cell } from './xlsx-writer.ts';
import type { Queues } from '../../jobs/queues.ts';

/**
 * Customer exports (CSV and XLSX). A request needs `export` scope; rows are the customers matching
 * the filter inside the requester's `export` and `view` scopes, decided in SQL when the job runs (a
 * member who lost the scope since gets nothing). Columns are what the member may see: tags by the tag
 * policy, phone numbers and configured fields masked unless they may `unmask` that customer. Above the
 * admins' row threshold an export waits for another admin's approval. Requests, approvals, refusals,
 * completion (filter and row count) and downloads are audited. Only the requester can download.
 */

export type ExportFormat = 'csv' | 'xlsx';
const PAGE = 1_000;

function the404(): DomainError {
  return new DomainError('NOT_FOUND', 'no such export');
}

function scopeOf(subject: AccessSubject) {
  return sql`(${customerScopeSql(subject, 'export')}) and (${customerScopeSql(subject, 'view')})`;
}

async function refusal(db: Queryable, policy: PolicyCache, subject: AccessSubject, filter: CustomerFilter): Promise<{ code: 'FORBIDDEN' | 'TAG_NOT_FOUND'; message: string; details?: Record<string, unknown> } | null> {
  if (effectiveScope(subject, 'export') === 'none') return { code: 'FORBIDDEN', message: 'your roles do not allow exporting customers' };
  const unknown = await unknownFilterTags(db, await policy.view(subject.userid), subject.userid, filter);
  if (unknown.length) return { code: 'TAG_NOT_FOUND', message: `no such tag: ${unknown.join(', ')}`, details: { tags: unknown } };
  return null;
}

export async function requestExport(ctx: AppContext, actor: string, request: { format: ExportFormat; filter: CustomerFilter }): Promise<{ id: string; state: ExportState; estimatedRows: number }> {
  const subject = await loadAccessSubject(ctx.db, actor, ctx.config.adminUserIds);
  const refused = await refusal(ctx.db, ctx.policy, subject, request.filter);
  if (refused) {
    await ctx.db.transaction((tx) => audit(tx, {
      actor, action: 'export.request', subjectType: 'export', subjectId: '-', outcome: 'denied', details: { format: request.format, filter: request.filter, reason: refused.message },
    }));
    throw new DomainError(refused.code, refused.message, refused.details);
  }
  const [count] = await rowsOf<{ n: number }>(ctx.db, sql`select count(*)::int as n from ${customers} where (${customerFilterSql(request.filter)}) and ${scopeOf(subject)}`);
  const { exportApprovalRows } = await readOwnershipSettings(ctx.db);
  const state: ExportState = exportApprovalRows !== null && count!.n > exportApprovalRows ? 'awaiting_approval' : 'queued';
  const id = `export-${randomUUID()}`;
  await ctx.db.transaction(async (tx) => {
    await tx.insert(exportJobs).values({ id, requestedBy: actor, format: request.format, filter: request.filter, state, estimatedRows: count!.n });
    await audit(tx, {
      actor, action: 'export.request', subjectType: 'export', subjectId: id, outcome: 'allowed',
      details: { format: request.format, filter: request.filter, estimatedRows: count!.n, state, ...(state === 'awaiting_approval' ? { approvalAbove: exportApprovalRows } : {}) },
    });
  });
  if (state === 'queued') await enqueueExport(ctx.queues, id);
  return { id, state, estimatedRows: count!.n };
}

async function enqueueExport(queues: Queues, id: string): Promise<void> {
  await queues.exports.add('export', { exportId: id }, { jobId: id });
}

function publicView(row: typeof exportJobs.$inferSelect) {
  return {
    id: row.id, requestedBy: row.requestedBy, format: row.format, filter: row.filter, state: row.state, estimatedRows: row.estimatedRows,
    rowCount: row.rowCount, approver: row.approver, error: row.error, createdAt: row.createdAt, completedAt: row.completedAt,
    download: row.state === 'completed' ? `/api/exports/${row.id}/download` : null,
  };
}

/** The requester's own export; to anyone else it does not exist. */
export async function readExport(ctx: AppContext, viewer: string, id: string) {
  const [row] = await ctx.db.select().from(exportJobs).where(eq(exportJobs.id, id));
  if (!row || row.requestedBy !== viewer) {
    await ctx.db.transaction((tx) => audit(tx, { actor: viewer, action: 'export.read', subjectType: 'export', subjectId: id, outcome: 'denied', details: { reason: row ? 'not the requester' : 'no such export' } }));
    throw the404();
  }
  return publicView(row);
}

export async function listExports(ctx: AppContext, viewer: string, options: { all: boolean; state?: ExportState }) {
  const rows = await ctx.db.select().from(exportJobs)
    .where(and(options.all ? undefined : eq(exportJobs.requestedBy, viewer), options.state ? eq(exportJobs.state, options.state) : undefined))
    .orderBy(desc(exportJobs.createdAt)).limit(200);
  return rows.map(publicView);
}

/** An admin approves (queues) or rejects an export waiting for approval; never their own. */
export async function decideExport(ctx: AppContext, admin: string, id: string, decision: 'approve' | 'reject', reason?: string) {
  const [row] = await ctx.db.select().from(exportJobs).where(eq(exportJobs.id, id));
  if (!row) throw the404();
  if (row.requestedBy === admin) {
    await ctx.db.transaction((tx) => audit(tx, { actor: admin, action: `export.${decision}`, subjectType: 'export', subjectId: id, outcome: 'denied', details: { reason: 'own export' } }));
    throw new DomainError('FORBIDDEN', 'another admin must decide on your own export');
  }
  const updated = await ctx.db.transaction(async (tx) => {
    const [changed] = await tx.update(exportJobs).set({ state: decision === 'approve' ? 'queued' : 'rejected', approver: admin, ...(decision === 'reject' ? { error: reason ?? 'rejected by an admin', completedAt: sql`now()` } : {}) })
      .where(and(eq(exportJobs.id, id), eq(exportJobs.state, 'awaiting_approval'))).returning();
    if (changed) await audit(tx, { actor: admin, action: `export.${decision}`, subjectType: 'export', subjectId: id, outcome: 'done', details: { requestedBy: row.requestedBy, estimatedRows: row.estimatedRows, ...(reason ? { reason } : {}) } });
    return changed;
  });
  if (!updated) throw new DomainError('CONFLICT', `this export is ${row.state}, not awaiting approval`);
  if (decision === 'approve') await enqueueExport(ctx.queues, id);
  return publicView(updated);
}

/** The file of a completed export, for its requester only; the download is audited. */
export async function exportFile(ctx: AppContext, viewer: string, id: string): Promise<{ path: string; filename: string; contentType: string }> {
  const [row] = await ctx.db.select().from(exportJobs).where(eq(exportJobs.id, id));
  if (!row || row.requestedBy !== viewer) {
    await ctx.db.transaction((tx) => audit(tx, { actor: viewer, action: 'export.download', subjectType: 'export', subjectId: id, outcome: 'denied', details: { reason: row ? 'not the requester' : 'no such export' } }));
    throw the404();
  }
  if (row.state === 'expired') throw new DomainError('CONFLICT', 'this export\'s file was deleted after the retention period: request the export again');
  if (row.state !== 'completed' || !row.filePath) throw new DomainError('CONFLICT', `this export is ${row.state}`);
  await ctx.db.transaction((tx) => audit(tx, { actor: viewer, action: 'export.download', subjectType: 'export', subjectId: id, outcome: 'allowed', details: { rowCount: row.rowCount } }));
  return {
    path: row.filePath,
    filename: `customers-${row.createdAt.toISOString().slice(0, 10)}-${row.id.slice(-8)}.${row.format}`,
    contentType: row.format === 'csv' ? 'text/csv; charset=utf-8' : 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  };
}

export async function mayApproveExports(ctx: AppContext, userid: string): Promise<boolean> {
  return isAdmin(ctx.db, userid, ctx.config.adminUserIds);
}

// ── the job ──────────────────────────────────────────────────────────────────────────────────────

export interface ExportDeps {
  db: Database;
  policy: PolicyCache;
  adminUserIds: string[];
  dataDir: string;
}

const HEADER = ['external_userid', '客户名称', '类型', '性别', '企业', '企业全称', '职位', '归属人', '归属人姓名', '跟进成员', '标签', '备注手机号', '公海', '创建时间', '最近跟进'];

interface ExportRow {
  external_userid: string;
  name: string;
  type: number;
  gender: number;
  corp_name: string | null;
  corp_full_name: string | null;
  position: string | null;
  owner_userid: string | null;
  owner_name: string | null;
  followers: string | null;
  mobiles: string[] | null;
  in_pool: boolean;
  created_at: string | Date;
  last_activity_at: string | Date | null;
  unmask: boolean;
}

const iso = (value: string | Date | null): string | null => (value === null ? null : new Date(value).toISOString());

/** Pages of export rows as the requester may see them. */
async function* exportPages(db: Database, subject: AccessSubject, filter: CustomerFilter, seeTags: Set<string>, masked: Set<MaskableField>): AsyncGenerator<Cell[][]> {
  let after = '';
  for (;;) {
    const rows = await rowsOf<ExportRow>(db, sql`
      select ${customers.externalUserId} as external_userid, ${customers.name} as name, ${customers.type} as type, ${customers.gender} as gender,
        ${customers.corpName} as corp_name, ${customers.corpFullName} as corp_full_name, ${customers.position} as position,
        ${customers.ownerUserid} as owner_userid, m.name as owner_name,
        (select string_agg(fr.userid, ' ' order by fr.userid) from follow_relations fr where fr.external_userid = ${customers.externalUserId} and fr.status = 'active') as followers,
        (select array_agg(distinct mob) from follow_relations fr, jsonb_array_elements_text(fr.remark_mobiles) mob
          where fr.external_userid = ${customers.externalUserId} and fr.status = 'active') as mobiles,
        ${customers.inPoolSince} is not null as in_pool, ${customers.createdAt} as created_at, ${customers.lastActivityAt} as last_activity_at,
        (${customerScopeSql(subject, 'unmask')}) as unmask
      from ${customers} left join members m on m.userid = ${customers.ownerUserid}
      where ${customers.externalUserId} > ${after} and (${customerFilterSql(filter)}) and ${scopeOf(subject)}
      order by ${customers.externalUserId} limit ${PAGE}`);
    if (rows.length === 0) return;
    const tags = await visibleTagsOf(db, rows.map((r) => r.external_userid), { personalOf: subject.userid, seeTags });
    yield rows.map((r) => {
      const show = (field: MaskableField, value: string | null): string | null => shownValue(field, value, masked, r.unmask === true);
      const tagNames = [...new Set((tags.get(r.external_userid) ?? []).map((t) => (t.tag.groupName ? `${t.tag.groupName}/${t.tag.name}` : t.tag.name)))].sort();
      return [
        r.external_userid, r.name, r.type === 2 ? '企业微信' : '微信', r.gender === 1 ? '男' : r.gender === 2 ? '女' : '未知',
        show('customer.corpName', r.corp_name), show('customer.corpFullName', r.corp_full_name), show('customer.position', r.position),
        r.owner_userid, r.owner_name, r.followers, tagNames.join('; '),
        (r.mobiles ?? []).map((mobile) => show('relation.remarkMobiles', mobile)).join(' '),
        r.in_pool ? '是' : '否', iso(r.created_at), iso(r.last_activity_at),
      ];
    });
    after = rows[rows.length - 1]!.external_userid;
  }
}

/** A cell for CSV: quoted when needed; a leading =, +, - or @ is defused (spreadsheet formula injection). */
export function csvCell(value: Cell): string {
  if (value === null) return '';
  let text = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

async function writeCsv(path: string, header: string[], pages: AsyncIterable<Cell[][]>): Promise<number> {
  const file = await open(path, 'w');
  let count = 0;
  try {
    // The BOM makes Excel read UTF-8 (Chinese names) correctly.
    await file.write(`\ufeff${header.map(csvCell).join(',')}\r\n`);
    for await (const page of pages) {
      await file.write(page.map((row) => row.map(csvCell).join(',')).join('\r\n') + '\r\n');
      count += page.length;
    }
  } finally {
    await file.close();
  }
  return count;
}

/**
 * The `customer-exports` job. Authority is loaded again now: an export whose requester lost `export`
 * scope (or the right to see a tag in the filter) fails without a file and the refusal is audited.
 */
export async function runExport(deps: ExportDeps, exportId: string): Promise<void> {
  const { db } = deps;
  const [row] = await db.select().from(exportJobs).where(eq(exportJobs.id, exportId));
  if (!row || (row.state !== 'queued' && row.state !== 'running')) return;
  await db.update(exportJobs).set({ state: 'running', error: null }).where(eq(exportJobs.id, exportId));
  const subject = await loadAccessSubject(db, row.requestedBy, deps.adminUserIds);
  const parsed = customerFilterSchema.safeParse(row.filter);
  const refused = parsed.success ? await refusal(db, deps.policy, subject, parsed.data) : { code: 'FORBIDDEN' as const, message: 'the stored filter is no longer valid' };
  if (refused || !parsed.success) {
    const message = `refused when the export ran: ${refused?.message}`;
    await db.transaction(async (tx) => {
      await tx.update(exportJobs).set({ state: 'failed', error: message, completedAt: sql`now()` }).where(eq(exportJobs.id, exportId));
      await audit(tx, { actor: row.requestedBy, action: 'export.run', subjectType: 'export', subjectId: exportId, outcome: 'denied', details: { filter: row.filter, reason: message } });
    });
    return;
  }
  const dir = join(deps.dataDir, 'exports');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, `${exportId}.${row.format}`);
  const { see } = await deps.policy.view(row.requestedBy);
  const masked = await readMaskedFields(db);
  const pages = exportPages(db, subject, parsed.data, see, masked);
  let rowCount: number;
  try {
    rowCount = row.format === 'csv' ? await writeCsv(path, HEADER, pages) : await writeXlsx(path, '客户', HEADER, pages);
  } catch (error) {
    await rm(path, { force: true });
    throw error;
  }
  await db.transaction(async (tx) => {
    await tx.update(exportJobs).set({ state: 'completed', rowCount, filePath: path, completedAt: sql`now()` }).where(eq(exportJobs.id, exportId));
    await audit(tx, { actor: row.requestedBy, action: 'export.completed', subjectType: 'export', subjectId: exportId, outcome: 'done', details: { format: row.format, filter: row.filter, rowCount } });
  });
}

/**
 * Deletes the files of exports completed more than `exportRetentionDays` ago (admins' setting) and
 * marks them `expired`, audited. The file goes inside the transaction that marks it, so a file that
 * could not be deleted keeps its export `completed` and is tried again on the next run.
 */
export async function expireExportFiles(db: Database, now = new Date()): Promise<{ expired: number; retentionDays: number }> {
  const { exportRetentionDays: days } = await readOwnershipSettings(db);
  const due = await db.select({ id: exportJobs.id, path: exportJobs.filePath }).from(exportJobs)
    .where(and(eq(exportJobs.state, 'completed'), sql`${exportJobs.completedAt} < ${now.toISOString()}::timestamptz - make_interval(days => ${days}::int)`))
    .orderBy(exportJobs.completedAt).limit(1_000);
  let expired = 0;
  for (const { id, path } of due) {
    await db.transaction(async (tx) => {
      const [row] = await tx.update(exportJobs).set({ state: 'expired', filePath: null }).where(and(eq(exportJobs.id, id), eq(exportJobs.state, 'completed')))
        .returning({ requestedBy: exportJobs.requestedBy, rowCount: exportJobs.rowCount });
      if (!row) return;
      await audit(tx, { actor: null, action: 'export.expired', subjectType: 'export', subjectId: id, outcome: 'done', details: { requestedBy: row.requestedBy, rowCount: row.rowCount, retentionDays: days } });
      // Last, so a failed delete rolls the state back and the next run tries again.
      if (path) await rm(path, { force: true });
      expired += 1;
    });
  }
  return { expired, retentionDays: days };
}

/** After the job's last attempt failed: the export shows why. */
export async function markExportFailed(db: Database, exportId: string, error: string): Promise<void> {
  await db.update(exportJobs).set({ state: 'failed', error: error.slice(0, 500), completedAt: sql`now()` }).where(and(eq(exportJobs.id, exportId), eq(exportJobs.state, 'running')));
}
