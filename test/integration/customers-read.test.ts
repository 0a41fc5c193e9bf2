// GET /api/customers/:externalUserId over real HTTP against the whole product in sandbox mode, with the
// demo company imported by a full sync: who sees a customer (followers, admins), that everyone else
// gets the same 404 as for an id that does not exist, that personal tags stay with their owner, that
// malformed ids are 400, and that identity comes only from the session.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoCompany } from '../../wecom-sim/index.ts';
import { apiClient, startTestProduct, waitFor, type ApiClient, type TestProduct } from '../support/test-product.ts';

interface TagView { tagId: string; kind: string; name: string; groupName: string | null }
interface RelationView { userid: string; status: string; remark: string | null; endReason: string | null; tags: TagView[] }
interface CustomerView { externalUserId: string; name: string; relations: RelationView[] }

/** The demo company as the simulator holds it (same seed, so the same ids on every start). */
interface DemoFollow { userid: string; tags: string[]; personalTags: string[] }
interface DemoCustomer { externalUserId: string; name: string; follows: DemoFollow[] }
const demo = demoCompany();
const demoCustomers: DemoCustomer[] = (demo.customers ?? []).map((c) => ({
  externalUserId: c.external_userid!,
  name: c.name,
  follows: (c.follow_users ?? []).map((f) => ({ userid: f.userid, tags: f.tags ?? [], personalTags: f.personal_tags ?? [] })),
}));
const activeMembers = new Set((demo.users ?? []).filter((u) => (u.status ?? 1) === 1).map((u) => u.userid));
const ADMIN = 'zhuxiaoyan';

// Followers with corp-library tags only: rule-group tags are seen only inside the group's range, which
// is the tag policy's concern, not this file's.
const corpGroups = new Set((demo.corpTags ?? []).map((g) => g.group_name));
const plainFollower = (f: DemoFollow): boolean =>
  activeMembers.has(f.userid) && f.userid !== ADMIN && f.tags.every((tag) => corpGroups.has(tag.split('/')[0]!));
// A customer followed by two active members (neither an admin), each of whom gets a personal tag.
const shared = demoCustomers.find((c) => c.follows.length === 2 && c.follows.every(plainFollower))!;
const followerA = shared.follows[0]!.userid;
const followerB = shared.follows[1]!.userid;
// Department leaders are managers: they see their departments' customers (the `dept` scope), so the
// members below who must not see a customer are never leaders.
const leaders = new Set((demo.users ?? []).filter((u) => (u.is_leader_in_dept ?? []).includes(1)).map((u) => u.userid));
// An active member who follows no customer at all and manages nobody.
const followed = new Set(demoCustomers.flatMap((c) => c.follows.map((f) => f.userid)));
const outsider = [...activeMembers].find((u) => !followed.has(u) && u !== ADMIN && !leaders.has(u))!;
// Another customer, used to end a relation.
const other = demoCustomers.find((c) => c !== shared && c.follows.length === 2 && c.follows.every((f) => plainFollower(f) && f.userid !== followerA && f.userid !== followerB))!;

const PERSONAL_A = '只在A的标签';
const PERSONAL_B = '只在B的标签';

let t: TestProduct;
let admin: ApiClient;
let a: ApiClient;
let b: ApiClient;
let stranger: ApiClient;

async function fullSync(client: ApiClient): Promise<void> {
  const started = await client.post('/api/admin/sync');
  expect(started.status).toBe(202);
  await waitFor(async () => {
    const job = (await client.get(`/api/jobs/${started.body.jobId}`)).body;
    if (job.state === 'failed') throw new Error(`sync failed: ${job.error}`);
    return job.state === 'completed';
  }, 'the full sync', 30_000);
}

const path = (id: string): string => `/api/customers/${encodeURIComponent(id)}`;
const relationOf = (customer: CustomerView, userid: string): RelationView => customer.relations.find((r) => r.userid === userid)!;
const corpTagNames = (relation: RelationView): string[] => relation.tags.filter((tag) => tag.kind !== 'personal').map((tag) => `${tag.groupName}/${tag.name}`).sort();
const personalTagNames = (relation: RelationView): string[] => relation.tags.filter((tag) => tag.kind === 'personal').map((tag) => tag.name).sort();
const fixtureTags = (customer: DemoCustomer, userid: string): string[] => [...customer.follows.find((f) => f.userid === userid)!.tags].sort();

beforeAll(async () => {
  expect(shared).toBeDefined();
  expect(other).toBeDefined();
  expect(outsider).toBeDefined();
  t = await startTestProduct();
  admin = await t.as(ADMIN);
  await fullSync(admin);
  [a, b, stranger] = await Promise.all([t.as(followerA), t.as(followerB), t.as(outsider)]);
  // Each follower tags the customer privately in their WeCom client; the edit callbacks bring the
  // personal tags in (the batch import cannot see them).
  await t.simCall('POST', '/sim/customers/edit-tags', { userid: followerA, external_userid: shared.externalUserId, personal_add: [PERSONAL_A] });
  await t.simCall('POST', '/sim/customers/edit-tags', { userid: followerB, external_userid: shared.externalUserId, personal_add: [PERSONAL_B] });
  for (const [client, userid, tag] of [[a, followerA, PERSONAL_A], [b, followerB, PERSONAL_B]] as const) {
    await waitFor(async () => {
      const res = await client.get(path(shared.externalUserId));
      return res.status === 200 && personalTagNames(relationOf(res.body, userid)).includes(tag);
    }, `${userid}'s personal tag to arrive`);
  }
});

afterAll(async () => {
  await t?.stop();
});

describe('GET /api/customers/:externalUserId', () => {
  it('a follower sees the customer with every relation and its corp tags', async () => {
    const res = await a.get(path(shared.externalUserId));
    expect(res.status).toBe(200);
    const customer: CustomerView = res.body;
    expect(customer.externalUserId).toBe(shared.externalUserId);
    expect(customer.name).toBe(shared.name);
    expect(customer.relations.map((r) => r.userid).sort()).toEqual([followerA, followerB].sort());
    for (const userid of [followerA, followerB]) {
      const relation = relationOf(customer, userid);
      expect(relation.status).toBe('active');
      expect(corpTagNames(relation)).toEqual(fixtureTags(shared, userid));
      for (const tag of relation.tags) expect(tag.tagId).toEqual(expect.any(String));
    }
  });

  it('personal tags are shown only to the member who owns them', async () => {
    const seenByA: CustomerView = (await a.get(path(shared.externalUserId))).body;
    const seenByB: CustomerView = (await b.get(path(shared.externalUserId))).body;
    const ownA = personalTagNames(relationOf(seenByA, followerA));
    const ownB = personalTagNames(relationOf(seenByB, followerB));
    expect(ownA).toContain(PERSONAL_A);
    expect(ownB).toContain(PERSONAL_B);
    // Each sees nothing personal on the other's relation, and never the other's tag names anywhere.
    expect(personalTagNames(relationOf(seenByA, followerB))).toEqual([]);
    expect(personalTagNames(relationOf(seenByB, followerA))).toEqual([]);
    expect(JSON.stringify(seenByA)).not.toContain(PERSONAL_B);
    expect(JSON.stringify(seenByB)).not.toContain(PERSONAL_A);
    // The fixture's own personal tags of the other member stay hidden too.
    for (const name of shared.follows.find((f) => f.userid === followerB)!.personalTags) {
      if (!ownA.includes(name)) expect(JSON.stringify(seenByA)).not.toContain(name);
    }
  });

  it('an admin who follows nobody sees the customer, but no member\'s personal tags', async () => {
    const res = await admin.get(path(shared.externalUserId));
    expect(res.status).toBe(200);
    const customer: CustomerView = res.body;
    expect(customer.relations.map((r) => r.userid).sort()).toEqual([followerA, followerB].sort());
    for (const relation of customer.relations) {
      expect(corpTagNames(relation)).toEqual(fixtureTags(shared, relation.userid));
      expect(personalTagNames(relation)).toEqual([]);
    }
    expect(JSON.stringify(customer)).not.toContain(PERSONAL_A);
    expect(JSON.stringify(customer)).not.toContain(PERSONAL_B);
  });

  it('a member who does not follow the customer gets the same 404 as for a customer that does not exist', async () => {
    const hidden = await stranger.get(path(shared.externalUserId));
    const missing = await stranger.get(path('wmNoSuchCustomer000000000000000'));
    expect(hidden.status).toBe(404);
    expect(missing.status).toBe(404);
    expect(hidden.body).toEqual(missing.body);
    expect(hidden.body.error.code).toBe('NOT_FOUND');
    expect(JSON.stringify(hidden.body)).not.toContain(shared.name);
    // A follower of another customer is no different.
    const otherFollower = other.follows.find((f) => !leaders.has(f.userid))!.userid;
    const res = await (await t.as(otherFollower)).get(path(shared.externalUserId));
    expect(res.status).toBe(404);
    expect(res.body).toEqual(missing.body);
  });

  it('the user id is never taken from the request', async () => {
    const spoofed = {
      'x-userid': followerA,
      'x-wecom-userid': followerA,
      'x-forwarded-user': followerA,
      'x-remote-user': followerA,
    };
    const claims = [
      await stranger.request('GET', `${path(shared.externalUserId)}?userid=${followerA}`),
      await stranger.request('GET', `${path(shared.externalUserId)}?userid=${ADMIN}&admin=1`),
      await stranger.request('GET', path(shared.externalUserId), undefined, spoofed),
      await stranger.request('GET', path(shared.externalUserId), undefined, { cookie: `${[...stranger.cookies].map(([k, v]) => `${k}=${v}`).join('; ')}; userid=${followerA}` }),
    ];
    for (const res of claims) expect(res.status).toBe(404);
    // Without a session, a claimed identity gives nothing at all.
    const anonymous = await t.anonymous().request('GET', `${path(shared.externalUserId)}?userid=${followerA}`, undefined, spoofed);
    expect(anonymous.status).toBe(401);
    // A follower claiming to be someone else still sees exactly their own view.
    const res = await a.request('GET', `${path(shared.externalUserId)}?userid=${followerB}`, undefined, { 'x-userid': followerB });
    expect(res.status).toBe(200);
    expect(personalTagNames(relationOf(res.body, followerA))).toContain(PERSONAL_A);
    expect(JSON.stringify(res.body)).not.toContain(PERSONAL_B);
  });

  it('is 401 without a session', async () => {
    const res = await t.anonymous().get(path(shared.externalUserId));
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('UNAUTHENTICATED');
  });

  it.each([
    ['a space', 'wm bad id'],
    ['a slash', 'wm/abc'],
    ['quotes', "wm'abc\""],
    ['a semicolon', 'wm;drop table customers'],
    ['unicode', '客户'],
    ['129 characters', 'w'.repeat(129)],
  ])('a malformed id (%s) is 400', async (_what, id) => {
    for (const client of [a, admin]) {
      const res = await client.get(path(id));
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('BAD_REQUEST');
    }
  });

  it('a member whose relation ended no longer sees the customer; an admin sees the ended relation', async () => {
    const leaving = other.follows[0]!.userid;
    const staying = other.follows[1]!.userid;
    const member = await t.as(leaving);
    expect((await member.get(path(other.externalUserId))).status).toBe(200);

    // The member deletes the customer in their WeCom client.
    await t.simCall('POST', '/sim/members/delete-customer', { userid: leaving, external_userid: other.externalUserId });
    const gone = await waitFor(async () => {
      const res = await member.get(path(other.externalUserId));
      return res.status === 404 ? res : undefined;
    }, 'the relation to end');
    const missing = await member.get(path('wmNoSuchCustomer000000000000000'));
    expect(gone.body).toEqual(missing.body);

    expect((await (await t.as(staying)).get(path(other.externalUserId))).status).toBe(200);
    const seenByAdmin: CustomerView = (await admin.get(path(other.externalUserId))).body;
    expect(relationOf(seenByAdmin, leaving)).toMatchObject({ status: 'ended', endReason: 'member_deleted' });
    expect(relationOf(seenByAdmin, staying).status).toBe('active');
  });

  it('a session that was never issued is 401, not a view of anyone', async () => {
    const forged = apiClient(t.url);
    forged.cookies.set('wtg_session', 'forged.value');
    expect((await forged.get(path(shared.externalUserId))).status).toBe(401);
  });
});
