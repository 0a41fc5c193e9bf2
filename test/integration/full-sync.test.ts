// The full sync at a size that pages: a few thousand customers generated in the simulator, imported
// through batch/get_by_user (100 members a call, 100 customers a page, following cursors). A second
// sync with nothing changed in WeCom changes no row; a customer who changed their WeChat name (WeCom
// sends no callback for that) is the only row the next sync changes.
import { eq, like, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { customers, followRelations, relationTags } from '../../server/db/schema.ts';
import { SANDBOX_DEFAULT_ADMINS } from '../../server/sandbox.ts';
import { startTestProduct, waitFor, type ApiClient, type DatabaseKind, type TestProduct } from '../support/test-product.ts';

const GENERATED = 2_500;
const PREFIX = 'wmbulksync';

describe.each<DatabaseKind>(['pglite', 'postgres'])('full sync of a company with thousands of customers (%s)', (kind) => {
  let t: TestProduct;
  let admin: ApiClient;
  let db: TestProduct['product']['ctx']['db'];

  const syncAll = async (): Promise<void> => {
    const started = await admin.post('/api/admin/sync');
    expect(started.status).toBe(202);
    const job = await waitFor(async () => {
      const polled = await admin.get(`/api/jobs/${started.body.jobId}`);
      return ['completed', 'failed'].includes(polled.body.state) ? polled.body : undefined;
    }, 'the full sync', 120_000);
    expect(job).toMatchObject({ state: 'completed', error: null });
  };
  /** The database's clock (microseconds kept), to find rows written after it. */
  const dbNow = async (): Promise<string> => ((await db.execute(sql`select now()::text as now`)) as unknown as { rows: { now: string }[] }).rows[0]!.now;
  /** Rows written since `since`, per table (relation tags removed show in relation_tag_changes). */
  const changedSince = async (since: string) => {
    const count = async (table: string, column: string): Promise<number> =>
      ((await db.execute(sql`select count(*)::int as n from ${sql.identifier(table)} where ${sql.identifier(column)} > ${since}::timestamptz`)) as unknown as { rows: { n: number }[] }).rows[0]!.n;
    return {
      customers: await count('customers', 'updated_at'),
      relations: await count('follow_relations', 'updated_at'),
      relationTags: await count('relation_tags', 'created_at'),
      tagChanges: await count('relation_tag_changes', 'created_at'),
      ownerHistory: await count('owner_history', 'created_at'),
    };
  };

  beforeAll(async () => {
    t = await startTestProduct({ database: kind });
    db = t.product.ctx.db;
    admin = await t.as(SANDBOX_DEFAULT_ADMINS[0]!);
    const generated = await t.simCall<{ created: number; relations: number }>('POST', '/sim/customers/generate', { count: GENERATED, id_prefix: PREFIX, followers: 2, tags_per_relation: 2 });
    expect(generated).toMatchObject({ created: GENERATED, relations: GENERATED * 2 });
    await t.simCall('DELETE', '/sim/calls');
    await syncAll();
  }, 180_000);

  afterAll(async () => {
    await t?.stop();
  });

  it('imports every generated customer, relation and tag, paging with cursors', async () => {
    const [imported] = await db.select({ n: sql<number>`count(*)::int` }).from(customers).where(like(customers.externalUserId, `${PREFIX}%`));
    expect(imported!.n).toBe(GENERATED);
    const [relations] = await db.select({ n: sql<number>`count(*)::int` }).from(followRelations).where(like(followRelations.externalUserId, `${PREFIX}%`));
    expect(relations!.n).toBe(GENERATED * 2);
    // Every customer has an owner: one of its two followers.
    const [ownerless] = await db.select({ n: sql<number>`count(*)::int` }).from(customers).where(sql`${customers.externalUserId} like ${PREFIX + '%'} and ${customers.ownerUserid} is null`);
    expect(ownerless!.n).toBe(0);
    // Samples match WeCom's view exactly: followers and their tags.
    for (const id of [`${PREFIX}00000000`, `${PREFIX}00001234`, `${PREFIX}00002499`]) {
      const wecom = await t.simCall<{ follow_user: { userid: string; tags: { tag_id?: string }[] }[] }>('GET', `/sim/customers/${id}`);
      const expected = wecom.follow_user.flatMap((f) => f.tags.map((tag) => `${f.userid}:${tag.tag_id}`)).sort();
      const local = (await db.select().from(relationTags).where(eq(relationTags.externalUserId, id))).map((r) => `${r.userid}:${r.tagId}`).sort();
      expect(local).toEqual(expected);
      expect(local.length).toBeGreaterThan(0);
    }
    const { calls } = await t.simCall<{ calls: { body: { cursor?: string; userid_list: string[] } }[] }>('GET', '/sim/calls?path=externalcontact/batch/get_by_user');
    // 5,000 generated relations and the demo company's own, 100 per page.
    expect(calls.length).toBeGreaterThanOrEqual(GENERATED * 2 / 100);
    expect(calls.filter((c) => c.body.cursor).length).toBe(calls.length - 1);
  });

  it('a second sync with nothing changed in WeCom changes no row', async () => {
    const personalBefore = (await db.select({ n: sql<number>`count(*)::int` }).from(relationTags).where(eq(relationTags.kind, 'personal')))[0]!.n;
    const since = await dbNow();
    await syncAll();
    expect(await changedSince(since)).toEqual({ customers: 0, relations: 0, relationTags: 0, tagChanges: 0, ownerHistory: 0 });
    // Personal tags are not in batch/get_by_user: the sync leaves them alone.
    expect((await db.select({ n: sql<number>`count(*)::int` }).from(relationTags).where(eq(relationTags.kind, 'personal')))[0]!.n).toBe(personalBefore);
  }, 180_000);

  it('a customer who changed their WeChat name is the only row the next sync changes', async () => {
    const id = `${PREFIX}00001234`;
    await t.simCall('POST', '/sim/customers/profile', { external_userid: id, name: '改了微信名' });
    const since = await dbNow();
    await syncAll();
    expect(await changedSince(since)).toEqual({ customers: 1, relations: 0, relationTags: 0, tagChanges: 0, ownerHistory: 0 });
    const [row] = await db.select({ name: customers.name }).from(customers).where(eq(customers.externalUserId, id));
    expect(row!.name).toBe('改了微信名');
  }, 180_000);
});
