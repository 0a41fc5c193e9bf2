// Customer exports over real HTTP, Redis and a real database: the `export` scope, rows limited to the
// requester's scopes, only tags they may see, phone numbers and configured fields masked without
// `unmask`, CSV and a valid XLSX (checked by reading the ZIP back: CRCs, parts, cells), approval above
// a row count, permissions re-checked when the job runs, downloads for the requester only, and the
// audit of requests, refusals, completions (filter and row count) and downloads.
import { existsSync } from 'node:fs';
import { crc32, inflateRawSync } from 'node:zlib';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportJobs, memberDepartments } from '../../server/db/schema.ts';
import { startOwnershipWorld, type OwnershipWorld } from '../support/ownership-company.ts';
import { waitFor, type ApiClient } from '../support/test-product.ts';

let w: OwnershipWorld;

interface ExportView { id: string; state: string; rowCount: number | null; estimatedRows: number; error: string | null; download: string | null }

async function finished(client: ApiClient, id: string): Promise<ExportView> {
  return waitFor(async () => {
    const res = await client.get(`/api/exports/${id}`);
    expect(res.status).toBe(200);
    return ['completed', 'failed', 'rejected'].includes(res.body.state) ? res.body : undefined;
  }, `export ${id}`);
}

async function download(client: ApiClient, id: string): Promise<{ status: number; type: string | null; bytes: Buffer }> {
  const res = await fetch(`${w.t.url}/api/exports/${id}/download`, { headers: { cookie: [...client.cookies].map(([k, v]) => `${k}=${v}`).join('; ') } });
  return { status: res.status, type: res.headers.get('content-type'), bytes: Buffer.from(await res.arrayBuffer()) };
}

/** Reads a ZIP from its central directory, checking every entry's CRC-32 and sizes. */
function readZip(zip: Buffer): Map<string, string> {
  const end = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  expect(end).toBeGreaterThan(0);
  const entries = zip.readUInt16LE(end + 10);
  let at = zip.readUInt32LE(end + 16);
  const files = new Map<string, string>();
  for (let i = 0; i < entries; i++) {
    expect(zip.readUInt32LE(at)).toBe(0x02014b50);
    const method = zip.readUInt16LE(at + 10);
    const crc = zip.readUInt32LE(at + 16);
    const compressed = zip.readUInt32LE(at + 20);
    const size = zip.readUInt32LE(at + 24);
    const nameLength = zip.readUInt16LE(at + 28);
    const extra = zip.readUInt16LE(at + 30);
    const comment = zip.readUInt16LE(at + 32);
    const offset = zip.readUInt32LE(at + 42);
    const name = zip.subarray(at + 46, at + 46 + nameLength).toString('utf8');
    expect(zip.readUInt32LE(offset)).toBe(0x04034b50);
    const dataStart = offset + 30 + zip.readUInt16LE(offset + 26) + zip.readUInt16LE(offset + 28);
    const raw = zip.subarray(dataStart, dataStart + compressed);
    const data = method === 8 ? inflateRawSync(raw) : raw;
    expect(data.length).toBe(size);
    expect(crc32(data) >>> 0).toBe(crc);
    files.set(name, data.toString('utf8'));
    at += 46 + nameLength + extra + comment;
  }
  return files;
}

/** The inline-string and number cells of sheet1, row by row. */
function sheetRows(xml: string): string[][] {
  return [...xml.matchAll(/<row r="\d+">(.*?)<\/row>/g)].map((row) => [...row[1]!.matchAll(/<c r="([A-Z]+)\d+"[^>]*>(?:<is><t[^>]*>(.*?)<\/t><\/is>|<v>(.*?)<\/v>)<\/c>/g)]
    .map((cell) => (cell[2] ?? cell[3] ?? '').replaceAll('&amp;', '&').replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&quot;', '"')));
}

beforeAll(async () => {
  w = await startOwnershipWorld();
  const group = w.reset.tagGroups.find((g) => g.group_name === '华南机密')!.group_id;
  expect((await w.admin.request('PUT', `/api/admin/tag-groups/${group}/visibility`, { see: { departments: [3] } })).status).toBe(200);
  expect((await w.admin.request('PUT', '/api/admin/masking', { fields: ['customer.corpName', 'customer.corpFullName'] })).status).toBe(200);
  // An exporter: sees and exports every customer, may unmask none.
  const scopes = { view: 'all', edit: 'none', tag: 'none', export: 'all', delete: 'none', assign: 'none', transfer: 'none', unmask: 'none' };
  expect((await w.admin.post('/api/admin/roles', { name: 'exporter', label: '导出员', scopes })).status).toBe(201);
  expect((await w.admin.request('PUT', '/api/admin/members/east_rep2/roles', { roles: ['exporter'] })).status).toBe(200);
});

afterAll(async () => {
  await w?.stop();
});

describe('who may export', () => {
  it('a member without export scope is refused and audited; nothing is queued', async () => {
    const since = await w.lastAuditId();
    const rep = await w.as('east_rep1');
    const res = await rep.post('/api/exports', { format: 'csv', filter: {} });
    expect(res.status).toBe(403);
    expect(await w.db.select().from(exportJobs)).toEqual([]);
    expect(await w.auditSince(since, 'export.request')).toMatchObject([{ actor: 'east_rep1', outcome: 'denied' }]);
  });

  it('a tag the member may not see cannot be used in the filter (answered like a missing tag)', async () => {
    const manager = await w.as('east_mgr');
    const res = await manager.post('/api/exports', { format: 'csv', filter: { tags: [w.tagIds['华南机密/南方专属']] } });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('TAG_NOT_FOUND');
    expect(await w.db.select().from(exportJobs)).toEqual([]);
  });
});

describe('CSV', () => {
  let id = '';

  it('contains only visible tags, masks phone numbers and configured fields, and is audited with filter and row count', async () => {
    const exporter = await w.as('east_rep2');
    const since = await w.lastAuditId();
    const res = await exporter.post('/api/exports', { format: 'csv', filter: { tags: [w.tagIds['客户等级/VIP']] } });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ state: 'queued', estimatedRows: 4 });
    id = res.body.id;
    const done = await finished(exporter, id);
    expect(done).toMatchObject({ state: 'completed', rowCount: 4, download: `/api/exports/${id}/download` });
    const file = await download(exporter, id);
    expect(file.status).toBe(200);
    expect(file.type).toMatch(/^text\/csv/);
    const text = file.bytes.toString('utf8');
    expect(text.startsWith('\ufeff')).toBe(true);
    const lines = text.trim().split('\r\n');
    expect(lines).toHaveLength(5);
    expect(lines.slice(1).map((l) => l.split(',')[0]).sort()).toEqual(['wmEast1', 'wmEast2', 'wmLeave1', 'wmSouth1']);
    expect(text).toContain('138********');
    expect(text).not.toContain('13812345678');
    expect(text).toContain('东方贸*****');
    expect(text).not.toContain('东方贸易有限公司');
    expect(text).toContain('客户等级/VIP');
    expect(text).not.toContain('南方专属');
    const entries = await w.auditSince(since);
    expect(entries.filter((e) => e.subjectId === id).map((e) => `${e.action}:${e.outcome}`)).toEqual(['export.request:allowed', 'export.completed:done', 'export.download:allowed']);
    expect(entries.find((e) => e.action === 'export.completed')!.details).toMatchObject({ rowCount: 4, filter: { tags: [w.tagIds['客户等级/VIP']] } });
    // Job data and audit details hold ids and the filter, never the phone number.
    expect(JSON.stringify(entries.map((e) => e.details))).not.toContain('13812345678');
  });

  it('only the requester reads and downloads it; everyone else gets a 404, and a download attempt is audited', async () => {
    const since = await w.lastAuditId();
    expect((await w.admin.get(`/api/exports/${id}`)).status).toBe(404);
    const other = await download(w.admin, id);
    expect(other.status).toBe(404);
    expect(other.bytes.toString()).not.toContain('wmEast1');
    expect((await download(await w.as('east_mgr'), id)).status).toBe(404);
    expect(await w.auditSince(since, 'export.download')).toMatchObject([{ actor: 'boss', outcome: 'denied' }, { actor: 'east_mgr', outcome: 'denied' }]);
    expect(await w.auditSince(since, 'export.read')).toMatchObject([{ actor: 'boss', subjectId: id, outcome: 'denied' }]);
  });
});

describe('XLSX', () => {
  it('is a valid workbook: a ZIP with the OOXML parts, one row per customer, unmasked for an admin', async () => {
    const res = await w.admin.post('/api/exports', { format: 'xlsx', filter: {} });
    expect(res.status).toBe(202);
    const done = await finished(w.admin, res.body.id);
    const [count] = await w.db.execute(sql`select count(*)::int as n from customers`).then((r) => (r as unknown as { rows: { n: number }[] }).rows);
    expect(done).toMatchObject({ state: 'completed', rowCount: count!.n });
    const file = await download(w.admin, res.body.id);
    expect(file.type).toBe('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
    const parts = readZip(file.bytes);
    expect([...parts.keys()].sort()).toEqual(['[Content_Types].xml', '_rels/.rels', 'xl/_rels/workbook.xml.rels', 'xl/styles.xml', 'xl/workbook.xml', 'xl/worksheets/sheet1.xml']);
    expect(parts.get('[Content_Types].xml')).toContain('spreadsheetml.sheet.main+xml');
    const rows = sheetRows(parts.get('xl/worksheets/sheet1.xml')!);
    expect(rows).toHaveLength(count!.n + 1);
    expect(rows[0]![0]).toBe('external_userid');
    const east1 = rows.find((r) => r[0] === 'wmEast1')!;
    expect(east1).toContain('东客一');
    expect(east1).toContain('东方贸易有限公司');
    expect(east1).toContain('13812345678');
  });
});

describe('approval above a row count', () => {
  it('waits for an admin; the requester cannot approve; another admin approves, or rejects', async () => {
    expect((await w.admin.request('PUT', '/api/admin/ownership-settings', { exportApprovalRows: 3 })).status).toBe(200);
    const manager = await w.as('east_mgr');
    const big = await manager.post('/api/exports', { format: 'csv', filter: {} });
    expect(big.body.state).toBe('awaiting_approval');
    expect(big.body.estimatedRows).toBeGreaterThan(3);
    // Managers are not admins; the waiting export has no file.
    expect((await manager.post(`/api/admin/exports/${big.body.id}/approve`)).status).toBe(403);
    expect((await download(manager, big.body.id)).status).toBe(409);
    const waiting = await w.admin.get('/api/admin/exports?state=awaiting_approval');
    expect(waiting.body.items.map((e: { id: string }) => e.id)).toEqual([big.body.id]);
    const approved = await w.admin.post(`/api/admin/exports/${big.body.id}/approve`);
    expect(approved.status).toBe(200);
    expect(await finished(manager, big.body.id)).toMatchObject({ state: 'completed', rowCount: big.body.estimatedRows });
    expect((await w.auditSince(0, 'export.approve')).map((e) => [e.actor, e.subjectId, e.outcome])).toEqual([['boss', big.body.id, 'done']]);

    const another = await manager.post('/api/exports', { format: 'xlsx', filter: {} });
    const rejected = await w.admin.post(`/api/admin/exports/${another.body.id}/reject`, { reason: '范围过大' });
    expect(rejected.body).toMatchObject({ state: 'rejected', error: '范围过大' });
    expect((await w.admin.post(`/api/admin/exports/${another.body.id}/approve`)).status).toBe(409);

    // An admin's own large export needs another admin.
    const own = await w.admin.post('/api/exports', { format: 'csv', filter: {} });
    expect(own.body.state).toBe('awaiting_approval');
    expect((await w.admin.post(`/api/admin/exports/${own.body.id}/approve`)).status).toBe(403);
    expect((await w.admin.request('PUT', '/api/admin/ownership-settings', { exportApprovalRows: null })).status).toBe(200);
  });
});

describe('permissions re-checked when the job runs', () => {
  it('a manager demoted before the job runs gets no file; the refusal is audited', async () => {
    const queue = w.t.product.ctx.queues.exports;
    const manager = await w.as('east_mgr');
    await queue.pause();
    try {
      const res = await manager.post('/api/exports', { format: 'csv', filter: {} });
      expect(res.body.state).toBe('queued');
      await w.db.update(memberDepartments).set({ isLeader: false }).where(eq(memberDepartments.userid, 'east_mgr'));
      await queue.resume();
      const done = await finished(manager, res.body.id);
      expect(done.state).toBe('failed');
      expect(done.error).toMatch(/refused when the export ran/);
      const [row] = await w.db.select().from(exportJobs).where(eq(exportJobs.id, res.body.id));
      expect(row!.filePath).toBeNull();
      expect(existsSync(`${w.t.product.ctx.config.dataDir}/exports/${res.body.id}.csv`)).toBe(false);
      expect((await w.auditSince(0, 'export.run')).map((e) => [e.subjectId, e.outcome])).toEqual([[res.body.id, 'denied']]);
    } finally {
      await queue.resume();
      await w.db.update(memberDepartments).set({ isLeader: true }).where(eq(memberDepartments.userid, 'east_mgr'));
    }
  });
});
