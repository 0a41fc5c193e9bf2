// Ownership and permission gaps closed, over real HTTP, Redis, a real database and the simulator:
// explaining a member's access to a customer (for themself and by an admin, allowed and denied, with
// the same decision as the permission check, audited); follow-up notes edited and deleted by their
// author only, within their edit scope; expired grants recorded once by the scheduled job with the
// holder told by a WeCom app message; the new owner told when a transfer succeeds; export files
// deleted after the admins' retention period.
import { existsSync } from 'node:fs';
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessGrants, auditLog, exportJobs } from '../../server/db/schema.ts';
import { startOwnershipWorld, type OwnershipWorld } from '../support/ownership-company.ts';
import { waitFor, type ApiClient } from '../support/test-product.ts';

let w: OwnershipWorld;

interface AppMessage { recipients: string[]; body: { text?: { content: string } } }
const messagesTo = async (userid: string): Promise<string[]> =>
  (await w.t.simCall<{ messages: AppMessage[] }>('GET', '/sim/messages?kind=app')).messages.filter((m) => m.recipients.includes(userid)).map((m) => m.body.text?.content ?? '');

beforeAll(async () => {
  w = await startOwnershipWorld();
});

afterAll(async () => {
  await w?.stop();
});

describe('explain customer access', () => {
  const explain = (client: ApiClient, id: string) => client.get(`/api/customers/${id}/access/explain`);
  const byAction = (body: { actions: { action: string }[] }) => Object.fromEntries(body.actions.map((a) => [a.action, a]));

  it('a rep about their own customer: each action allowed or denied with the rule, the same as the permission check', async () => {
    const rep = await w.as('east_rep1');
    const since = await w.lastAuditId();
    const res = await explain(rep, 'wmEast1');
    expect(res.status).toBe(200);
    expect(res.body.member).toMatchObject({ userid: 'east_rep1', active: true, probation: false, roles: ['rep'] });
    expect(res.body.customer).toMatchObject({ externalUserId: 'wmEast1', owner: 'east_rep1', inPool: false, activeFollowers: ['east_rep1'] });
    const actions = byAction(res.body);
    expect(actions.view).toMatchObject({ allowed: true, scope: 'own', roles: [{ role: 'rep', scope: 'own' }], because: ['you own this customer'], agrees: true });
    expect(actions.export).toMatchObject({ allowed: false, scope: 'none', roles: [], because: ['no role gives export'], agrees: true });
    expect(actions.assign).toMatchObject({ allowed: false, because: ['no role gives assign'] });
    // The detail's permissions say the same.
    const detail = await rep.get('/api/customers/wmEast1');
    for (const a of res.body.actions) expect(detail.body.permissions[a.action]).toBe(a.allowed);
    expect(res.body.actions.every((a: { agrees: boolean }) => a.agrees)).toBe(true);
    expect(await w.auditSince(since, 'customer.access_explained')).toMatchObject([{ actor: 'east_rep1', subjectId: 'wmEast1', outcome: 'allowed', details: { member: 'east_rep1', mode: 'self', allowed: ['view', 'edit', 'tag', 'unmask'] } }]);
  });

  it('about a customer outside the view scope: the same 404 as a missing one, audited as denied', async () => {
    const rep = await w.as('east_rep1');
    const since = await w.lastAuditId();
    const hidden = await explain(rep, 'wmSouth1');
    const missing = await explain(rep, 'wmNoSuchCustomer');
    expect(hidden.status).toBe(404);
    expect(hidden.body).toEqual(missing.body);
    expect(JSON.stringify(hidden.body)).not.toContain('south_rep');
    expect(await w.auditSince(since, 'customer.view')).toMatchObject([{ subjectId: 'wmSouth1', outcome: 'denied' }, { subjectId: 'wmNoSuchCustomer', outcome: 'denied' }]);
    expect(await w.auditSince(since, 'customer.access_explained')).toEqual([]);
  });

  it('an admin about any member: a manager allowed through their department, a rep of another region denied', async () => {
    const since = await w.lastAuditId();
    const manager = await w.admin.get('/api/admin/members/east_mgr/customers/wmEast3/access/explain');
    expect(manager.status).toBe(200);
    const m = byAction(manager.body);
    expect(m.assign).toMatchObject({ allowed: true, scope: 'dept', because: ['owned or followed by a member of a department you manage'], agrees: true });
    expect(m.delete).toMatchObject({ allowed: false, because: ['no role gives delete'] });
    expect(manager.body.member).toMatchObject({ roles: ['manager', 'rep'], managedDepartments: [2] });

    const south = await w.admin.get('/api/admin/members/south_rep/customers/wmEast3/access/explain');
    expect(south.status).toBe(200);
    const s = byAction(south.body);
    expect(s.view).toMatchObject({ allowed: false, scope: 'own', because: ['scope own for view does not cover this customer'], agrees: true });
    expect(south.body.actions.every((a: { allowed: boolean }) => !a.allowed)).toBe(true);
    expect(await w.auditSince(since, 'customer.access_explained')).toMatchObject([
      { actor: 'boss', subjectId: 'wmEast3', details: { member: 'east_mgr', mode: 'admin' } },
      { actor: 'boss', subjectId: 'wmEast3', details: { member: 'south_rep', mode: 'admin', allowed: [] } },
    ]);
  });

  it('probation and grants are named; members only reach the admin variant as 403, unknown members are 404', async () => {
    expect((await w.admin.request('PUT', '/api/admin/members/east_rep1/probation', { on: true })).status).toBe(200);
    const onProbation = byAction((await w.admin.get('/api/admin/members/east_rep1/customers/wmEast1/access/explain')).body);
    expect(onProbation.edit).toMatchObject({ allowed: false, because: ['read-only probation: only view is allowed, not edit'], agrees: true });
    expect(onProbation.view).toMatchObject({ allowed: true });
    expect((await w.admin.request('PUT', '/api/admin/members/east_rep1/probation', { on: false })).status).toBe(200);

    const rep = await w.as('east_rep1');
    expect((await rep.get('/api/admin/members/east_rep2/customers/wmEast3/access/explain')).status).toBe(403);
    expect((await w.admin.get('/api/admin/members/nobody/customers/wmEast3/access/explain')).status).toBe(404);
  });
});

describe('follow-up notes: edit and delete by their author', () => {
  it('the author edits and deletes within their edit scope; others are refused; everything audited', async () => {
    const rep = await w.as('east_rep1');
    const added = await rep.post('/api/customers/wmEast1/notes', { content: '初次拜访，客户对报价有疑问' });
    expect(added.status).toBe(201);
    const id = added.body.id as number;
    const since = await w.lastAuditId();

    const edited = await rep.request('PATCH', `/api/customers/wmEast1/notes/${id}`, { content: '初次拜访，已解释报价' });
    expect(edited.status).toBe(200);
    expect(edited.body).toMatchObject({ id, author: 'east_rep1', content: '初次拜访，已解释报价', updatedAt: expect.any(String) });
    expect((await rep.get('/api/customers/wmEast1/notes')).body.items.find((n: { id: number }) => n.id === id).content).toBe('初次拜访，已解释报价');

    // The manager may edit the customer but did not write the note; a rep of another region cannot see the customer.
    const manager = await w.as('east_mgr');
    const notAuthor = await manager.request('PATCH', `/api/customers/wmEast1/notes/${id}`, { content: '改写' });
    expect(notAuthor.status).toBe(403);
    expect(notAuthor.body.error.message).toContain('only the author');
    expect((await manager.request('DELETE', `/api/customers/wmEast1/notes/${id}`)).status).toBe(403);
    const south = await w.as('south_rep');
    expect((await south.request('PATCH', `/api/customers/wmEast1/notes/${id}`, { content: '改写' })).status).toBe(404);
    // A note id under another customer is a missing note; an empty note is a 400.
    expect((await rep.request('PATCH', `/api/customers/wmEast2/notes/${id}`, { content: 'x' })).status).toBe(404);
    const empty = await rep.request('PATCH', `/api/customers/wmEast1/notes/${id}`, { content: '   ' });
    expect(empty.status).toBe(400);

    // On probation the author has no edit on the customer any more.
    await w.admin.request('PUT', '/api/admin/members/east_rep1/probation', { on: true });
    expect((await rep.request('DELETE', `/api/customers/wmEast1/notes/${id}`)).status).toBe(403);
    await w.admin.request('PUT', '/api/admin/members/east_rep1/probation', { on: false });
    expect((await rep.get('/api/customers/wmEast1/notes')).body.items.find((n: { id: number }) => n.id === id).content).toBe('初次拜访，已解释报价');

    expect((await rep.request('DELETE', `/api/customers/wmEast1/notes/${id}`)).status).toBe(204);
    expect((await rep.get('/api/customers/wmEast1/notes')).body.items.some((n: { id: number }) => n.id === id)).toBe(false);
    expect((await rep.request('DELETE', `/api/customers/wmEast1/notes/${id}`)).status).toBe(404);

    const entries = (await w.auditSince(since)).filter((e) => e.action.startsWith('customer.note_') || e.action === 'customer.edit');
    expect(entries.map((e) => `${e.actor}:${e.action}:${e.outcome}`)).toEqual([
      'east_rep1:customer.note_edited:done',
      'east_mgr:customer.note_edited:denied',
      'east_mgr:customer.note_deleted:denied',
      'south_rep:customer.edit:denied',
      'east_rep1:customer.note_edited:denied',
      'east_rep1:customer.edit:denied',
      'east_rep1:customer.note_deleted:done',
      'east_rep1:customer.note_deleted:denied',
    ]);
    expect(entries[0]!.details).toEqual({ noteId: id, length: 10, previousLength: 13 });
    // Note text never goes to the audit log.
    expect(JSON.stringify(entries)).not.toContain('报价');
  });
});

describe('grant expiry notification', () => {
  it('access ends at expires_at on the next request; the scheduled job records the expiry once and tells the holder', async () => {
    const schedulers = await w.t.product.ctx.queues.maintenance.getJobSchedulers();
    expect(schedulers.find((s) => s.key === 'grant-expiry')).toMatchObject({ every: 60_000 });

    const rep = await w.as('east_rep1');
    const requested = await rep.post('/api/grants', { actions: ['view'], customerIds: ['wmSouth2'], durationSeconds: 3_600, reason: '协助南区跟进' });
    expect(requested.status).toBe(201);
    const grantId = requested.body.id as string;
    const approver = await w.as('south_mgr');
    expect((await approver.post(`/api/grants/${grantId}/approve`)).status).toBe(200);
    expect((await rep.get('/api/customers/wmSouth2')).status).toBe(200);

    // Its hour passes: access ends with the very next request, before any job ran.
    await w.db.update(accessGrants).set({ expiresAt: new Date(Date.now() - 1_000) }).where(eq(accessGrants.id, grantId));
    expect((await rep.get('/api/customers/wmSouth2')).status).toBe(404);

    await w.t.product.ctx.queues.maintenance.add('grant-expiry', {});
    const expired = await waitFor(async () => {
      const rows = await w.db.select().from(auditLog).where(and(eq(auditLog.action, 'grant.expired'), eq(auditLog.subjectId, grantId)));
      return rows.length ? rows : undefined;
    }, 'the expiry to be recorded');
    expect(expired).toMatchObject([{ actor: null, outcome: 'done', details: { requester: 'east_rep1' } }]);
    const [grant] = await w.db.select({ state: accessGrants.state }).from(accessGrants).where(eq(accessGrants.id, grantId));
    expect(grant!.state).toBe('expired');
    const told = await waitFor(async () => {
      const texts = (await messagesTo('east_rep1')).filter((m) => m.includes('临时授权'));
      return texts.length ? texts : undefined;
    }, 'the holder to be told');
    expect(told[0]).toContain('协助南区跟进');
    expect(told[0]).toContain('expired');

    // Running again records nothing new and sends nothing new.
    const again = await w.t.product.ctx.queues.maintenance.add('grant-expiry', {});
    await waitFor(async () => (await again.getState()) === 'unknown' || (await again.isCompleted()), 'the second run');
    expect(await w.db.select().from(auditLog).where(and(eq(auditLog.action, 'grant.expired'), eq(auditLog.subjectId, grantId)))).toHaveLength(1);
    await w.t.sim.idle();
    expect((await messagesTo('east_rep1')).filter((m) => m.includes('临时授权'))).toHaveLength(1);
  });
});

describe('transfer success message', () => {
  it('the new owner gets an app message naming the customers once the transfer is done', async () => {
    const manager = await w.as('east_mgr');
    const res = await manager.post('/api/transfers', { externalUserIds: ['wmEast4'], takeover: 'east_rep1' });
    expect(res.status).toBe(202);
    expect(await w.job(manager, res.body.jobId)).toMatchObject({ state: 'completed' });
    const id = res.body.transfers[0].id as string;
    // Waiting: nothing said yet.
    expect((await messagesTo('east_rep1')).filter((m) => m.includes('东客四'))).toEqual([]);
    await w.t.simCall('POST', '/sim/clock/advance', { seconds: 24 * 3600 + 60 });
    const refreshed = await manager.post(`/api/transfers/${id}/refresh`);
    expect(refreshed.body.items).toMatchObject([{ externalUserId: 'wmEast4', state: 'done' }]);
    const told = await waitFor(async () => {
      const texts = (await messagesTo('east_rep1')).filter((m) => m.includes('东客四'));
      return texts.length ? texts : undefined;
    }, 'the new owner to be told');
    expect(told).toHaveLength(1);
    expect(told[0]).toContain('已成功转接给您');
    expect(told[0]).toContain('1 customer(s) were transferred to you');
    // The old owner is not told.
    expect((await messagesTo('east_rep2')).filter((m) => m.includes('东客四'))).toEqual([]);
  });
});

describe('export retention', () => {
  it('files older than the retention are deleted and the export shows expired; newer ones stay', async () => {
    const bad = await w.admin.request('PUT', '/api/admin/ownership-settings', { exportRetentionDays: 0 });
    expect(bad.status).toBe(400);
    expect((await w.admin.request('PUT', '/api/admin/ownership-settings', { exportRetentionDays: 3 })).body).toMatchObject({ exportRetentionDays: 3 });

    const exportNow = async (): Promise<string> => {
      const res = await w.admin.post('/api/exports', { format: 'csv', filter: {} });
      expect(res.status).toBe(202);
      await waitFor(async () => (await w.admin.get(`/api/exports/${res.body.id}`)).body.state === 'completed', 'the export');
      return res.body.id;
    };
    const old = await exportNow();
    const recent = await exportNow();
    const [oldRow] = await w.db.select().from(exportJobs).where(eq(exportJobs.id, old));
    expect(existsSync(oldRow!.filePath!)).toBe(true);
    // Four days ago: older than the 3 days kept.
    await w.db.update(exportJobs).set({ completedAt: sql`now() - interval '4 days'` }).where(eq(exportJobs.id, old));
    const since = await w.lastAuditId();

    await w.t.product.ctx.queues.maintenance.add('prune', {});
    await waitFor(async () => (await w.admin.get(`/api/exports/${old}`)).body.state === 'expired', 'the old export to expire');
    expect(existsSync(oldRow!.filePath!)).toBe(false);
    const download = await w.admin.get(`/api/exports/${old}/download`);
    expect(download.status).toBe(409);
    expect(download.body.error.message).toContain('request the export again');
    expect(await w.auditSince(since, 'export.expired')).toMatchObject([{ subjectId: old, actor: null, details: { requestedBy: 'boss', retentionDays: 3 } }]);

    expect((await w.admin.get(`/api/exports/${recent}`)).body.state).toBe('completed');
    expect((await w.admin.get(`/api/exports/${recent}/download`)).status).toBe(200);
  });
});
