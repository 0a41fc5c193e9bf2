// "A tag appears on a path ⇔ the member may see it", on every path that shows tags or takes tag ids,
// through the real HTTP API of the whole product on PGlite, for random worlds (fast-check):
// departments, members (several departments, leaders, named roles), corp tags in nested folders and
// groups, a rule group with a range, visibility rules on any node, personal tags, and customers whose
// relations carry tags regardless of who may see them (as edits in WeCom's console leave them).
//
// Expected answers come from the reference evaluator (reference-evaluator.ts); the engine is checked
// against it on the same data. Paths: the member's tag tree (pickers and tag library view), the
// customer list and its count, the list filtered by each tag (any and all, mixed with a visible tag),
// the customer detail, CSV export rows and the export filter, and tag writes on the member's own
// relation (a hidden tag is refused like a missing one, a locked one with TAG_NOT_ALLOWED, nothing
// written); and the same reads by an admin viewing the app as the member (view-as), who sees the
// member's corp and rule-group tags but none of their personal tags.
import fc from 'fast-check';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AudienceGrants, PermissionAction, PermissionScope, RuleMode } from '../../server/db/schema.ts';
import {
  backgroundJobs, customers, departments, followRelations, memberDepartments, memberRoles, members, personalTags, relationTags, roles, strategies, strategyRanges,
  tagFolders, tagGroups, tags, visibilityRules,
} from '../../server/db/schema.ts';
import { TagPolicy, type PolicyData, type PolicyMember } from '../../server/policy/tag-policy.ts';
import { bumpPolicyVersion } from '../../server/services/policy-version.ts';
import { startTestProduct, waitFor, type ApiClient, type TestProduct } from '../support/test-product.ts';
import { decideReference } from './reference-evaluator.ts';

const RUNS = 12;
/** Every member holds it: view, export and tag on every customer, so only tag visibility varies. */
const READER_ROLE = 'tag_path_reader';
const NAMED_ROLES = ['质检', '培训'];
const RULE_ROLES = ['rep', 'manager', ...NAMED_ROLES];
const STRATEGY_ID = 901;
const MISSING_TAG = 'etMissing';
/** An admin (ADMIN_USERIDS) outside the world's rules, who views the app as each member. */
const ADMIN = 'pathadmin';

interface WorldMember { userid: string; departments: { id: number; leader: boolean }[]; namedRoles: string[] }
interface WorldPersonalTag { id: string; userid: string; name: string; groupName: string | null }
interface WorldRelation { userid: string; tags: string[]; personal: string[] }
interface WorldCustomer { id: string; relations: WorldRelation[] }
interface World {
  data: PolicyData;
  members: WorldMember[];
  personal: WorldPersonalTag[];
  customers: WorldCustomer[];
  /** "group/name" of every corp and rule-group tag (the export's tag column). */
  exportName: Map<string, string>;
}

// ── random worlds ───────────────────────────────────────────────────────────────────────────────

const pickSome = <T,>(pool: readonly T[], max: number) => fc.subarray([...pool], { maxLength: Math.min(max, pool.length) });

function audienceArb(departmentIds: number[], userids: string[]): fc.Arbitrary<AudienceGrants> {
  return fc.record({
    departments: pickSome(departmentIds, 2),
    users: pickSome(userids, 1),
    roles: fc.array(fc.record({ name: fc.constantFrom(...RULE_ROLES), limit: fc.option(pickSome(departmentIds, 1), { nil: undefined }) }), { maxLength: 1 })
      .map((list) => list.map((r) => (r.limit?.length ? { name: r.name, departments: r.limit } : { name: r.name }))),
  // fast-check builds records without a prototype; the jsonb columns want plain objects.
  }).map((a) => ({ departments: [...a.departments], users: [...a.users], roles: [...a.roles] }));
}

const worldArb: fc.Arbitrary<World> = fc.record({
  // Department i+2 hangs under an earlier department (1 is the root).
  parents: fc.array(fc.nat(), { maxLength: 5 }),
  memberSeeds: fc.array(fc.record({
    departments: fc.array(fc.record({ pick: fc.nat(), leader: fc.boolean() }), { minLength: 1, maxLength: 2 }),
    namedRoles: fc.subarray(NAMED_ROLES),
  }), { minLength: 2, maxLength: 4 }),
}).chain(({ parents, memberSeeds }) => {
  const departmentList = [{ id: 1, name: '总部', parentId: null as number | null }, ...parents.map((p, i) => ({ id: i + 2, name: `部门${i + 2}`, parentId: 1 + (p % (i + 1)) }))];
  const departmentIds = departmentList.map((d) => d.id);
  const memberList: WorldMember[] = memberSeeds.map((m, i) => {
    const chosen = new Map<number, boolean>();
    for (const d of m.departments) chosen.set(departmentIds[d.pick % departmentIds.length]!, d.leader);
    return { userid: `pu${i}`, departments: [...chosen].map(([id, leader]) => ({ id, leader })), namedRoles: m.namedRoles };
  });
  const userids = memberList.map((m) => m.userid);
  const audience = audienceArb(departmentIds, userids);
  const rule = fc.option(fc.record({ see: audience, use: fc.oneof(fc.constant('same' as const), fc.constant('nobody' as const), audience), mode: fc.constantFrom<RuleMode>('enforce', 'report') }), { freq: 2, nil: undefined });
  return fc.record({
    folderParents: fc.array(fc.option(fc.nat(), { nil: null }), { maxLength: 3 }),
    groupSeeds: fc.array(fc.record({ folder: fc.option(fc.nat(), { nil: null }), strategy: fc.boolean() }), { minLength: 1, maxLength: 4 }),
    tagGroupPicks: fc.array(fc.nat(), { minLength: 2, maxLength: 8 }),
    range: fc.record({ departments: pickSome(departmentIds, 2), users: pickSome(userids, 1) }),
    folderRules: fc.array(rule, { minLength: 3, maxLength: 3 }),
    groupRules: fc.array(rule, { minLength: 4, maxLength: 4 }),
    tagRules: fc.array(rule, { minLength: 8, maxLength: 8 }),
    personalOwners: fc.subarray(userids),
    customerSeeds: fc.array(fc.array(fc.record({ member: fc.nat(), tags: fc.array(fc.nat(), { maxLength: 3 }), personal: fc.boolean() }), { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 5 }),
  }).map((s): World => {
    const folders = s.folderParents.map((parent, i) => ({ id: i + 1, name: `文件夹${i + 1}`, parentId: parent === null || i === 0 ? null : 1 + (parent % i) }));
    const groups = s.groupSeeds.map((g, i) => ({
      groupId: `eg${i}`, name: `分组${i}`,
      folderId: g.folder === null || folders.length === 0 || g.strategy ? null : folders[g.folder % folders.length]!.id,
      strategyId: g.strategy ? STRATEGY_ID : null,
    }));
    const tagList = s.tagGroupPicks.map((pick, i) => {
      const group = groups[pick % groups.length]!;
      return { tagId: `et${i}`, groupId: group.groupId, name: `标签${i}`, strategyId: group.strategyId };
    });
    const rules: PolicyData['rules'] = [];
    const addRule = (nodeType: 'folder' | 'group' | 'tag', nodeId: string, draw: (typeof s.folderRules)[number]) => {
      if (!draw) return;
      const use = draw.use === 'same' ? draw.see : draw.use === 'nobody' ? { departments: [], users: [], roles: [] } : draw.use;
      rules.push({ nodeType, nodeId, see: draw.see, use, mode: draw.mode });
    };
    folders.forEach((f, i) => addRule('folder', String(f.id), s.folderRules[i]));
    groups.forEach((g, i) => addRule('group', g.groupId, s.groupRules[i]));
    tagList.forEach((t, i) => addRule('tag', t.tagId, s.tagRules[i]));
    const personal = s.personalOwners.map((userid, i) => ({ id: `pt_${userid}`, userid, name: `私人${i}`, groupName: i % 2 ? '我的分组' : null }));
    const customerList: WorldCustomer[] = s.customerSeeds.map((seeds, c) => {
      const relations = new Map<string, WorldRelation>();
      for (const seed of seeds) {
        const userid = userids[seed.member % userids.length]!;
        const own = personal.find((p) => p.userid === userid);
        relations.set(userid, {
          userid,
          tags: [...new Set(seed.tags.map((t) => tagList[t % tagList.length]!.tagId))],
          personal: seed.personal && own ? [own.id] : [],
        });
      }
      return { id: `wmPath${c}`, relations: [...relations.values()] };
    });
    const groupName = new Map(groups.map((g) => [g.groupId, g.name]));
    return {
      data: {
        departments: departmentList, folders, groups, tags: tagList, rules,
        strategies: [{ strategyId: STRATEGY_ID, name: '规则组', users: s.range.users, departments: s.range.departments }],
      },
      members: memberList,
      personal,
      customers: customerList,
      exportName: new Map(tagList.map((t) => [t.tagId, `${groupName.get(t.groupId)}/${t.name}`])),
    };
  });
});

// ── expectations ────────────────────────────────────────────────────────────────────────────────

/** The member as the policy sees them: implicit rep, manager when leading a department, named roles. */
function policyMember(m: WorldMember): PolicyMember {
  const roleNames = new Set(['rep', READER_ROLE, ...m.namedRoles]);
  if (m.departments.some((d) => d.leader)) roleNames.add('manager');
  return { userid: m.userid, departments: m.departments.map((d) => d.id), roles: [...roleNames] };
}

interface Expected { see: Set<string>; use: Set<string> }

function expectedFor(world: World, member: WorldMember): Expected {
  const subject = policyMember(member);
  const see = new Set<string>();
  const use = new Set<string>();
  for (const tag of world.data.tags) {
    const decision = decideReference(world.data, subject, tag.tagId);
    if (decision.see) see.add(tag.tagId);
    if (decision.use) use.add(tag.tagId);
  }
  return { see, use };
}

const sorted = (values: Iterable<string>) => [...values].sort();

/**
 * Tags a member should see on one relation: visible corp/rule-group tags, and their own personal tags
 * on their own relation (`personalOf` null: nobody's, as when an admin views the app as the member).
 */
const relationTagsFor = (relation: WorldRelation, personalOf: string | null, expected: Expected) =>
  sorted([...relation.tags.filter((t) => expected.see.has(t)), ...(relation.userid === personalOf ? relation.personal : [])]);

const customerTagsFor = (customer: WorldCustomer, personalOf: string | null, expected: Expected) =>
  sorted(new Set(customer.relations.flatMap((r) => relationTagsFor(r, personalOf, expected))));

const carriers = (world: World, tagId: string) => sorted(world.customers.filter((c) => c.relations.some((r) => r.tags.includes(tagId) || r.personal.includes(tagId))).map((c) => c.id));

// ── loading a world into the product's database ─────────────────────────────────────────────────

let t: TestProduct;
const markTagCalls = async () => (await t.simCall<{ calls: unknown[] }>('GET', '/sim/calls?path=/cgi-bin/externalcontact/mark_tag')).calls.length;

async function load(world: World): Promise<void> {
  const db = t.product.ctx.db;
  await db.execute(sql`truncate departments, members, member_departments, member_roles, member_managed_departments, app_admins, tag_folders, tag_groups, tags,
    visibility_rules, strategies, strategy_ranges, customers, follow_relations, relation_tags, relation_tag_changes, personal_tags, export_jobs, outgoing_writes, sessions restart identity`);
  const insert = async <T,>(rows: T[], fn: (rows: T[]) => Promise<unknown>) => { if (rows.length) await fn(rows); };
  const { data } = world;
  await db.transaction(async (tx) => {
    await insert(data.departments.map((d) => ({ id: d.id, name: d.name, parentId: d.parentId })), (rows) => tx.insert(departments).values(rows));
    await insert([...world.members.map((m) => ({ userid: m.userid, name: m.userid, status: 1, mainDepartment: m.departments[0]!.id })), { userid: ADMIN, name: ADMIN, status: 1, mainDepartment: 1 }], (rows) => tx.insert(members).values(rows));
    await tx.insert(memberDepartments).values({ userid: ADMIN, departmentId: 1, isLeader: false });
    await insert(world.members.flatMap((m) => m.departments.map((d) => ({ userid: m.userid, departmentId: d.id, isLeader: d.leader }))), (rows) => tx.insert(memberDepartments).values(rows));
    await insert(world.members.flatMap((m) => [READER_ROLE, ...m.namedRoles].map((role) => ({ userid: m.userid, role }))), (rows) => tx.insert(memberRoles).values(rows));
    // Identity ids restart at 1 and folders are inserted in order, parents first: their ids are the world's.
    for (const folder of data.folders) {
      const [row] = await tx.insert(tagFolders).values({ name: folder.name, parentId: folder.parentId, order: 0 }).returning({ id: tagFolders.id });
      expect(row!.id).toBe(folder.id);
    }
    await insert(data.groups.map((g) => ({ groupId: g.groupId, name: g.name, folderId: g.folderId, strategyId: g.strategyId })), (rows) => tx.insert(tagGroups).values(rows));
    await insert(data.tags.map((tag) => ({ tagId: tag.tagId, groupId: tag.groupId, name: tag.name, strategyId: tag.strategyId })), (rows) => tx.insert(tags).values(rows));
    await insert(data.rules.map((r) => ({ nodeType: r.nodeType, nodeId: r.nodeId, see: r.see, use: r.use, mode: r.mode, updatedBy: 'test' })), (rows) => tx.insert(visibilityRules).values(rows));
    await tx.insert(strategies).values({ strategyId: STRATEGY_ID, name: '规则组' });
    const range = data.strategies[0]!;
    await insert([...range.users.map((u) => `u:${u}`), ...range.departments.map((d) => `d:${d}`)].map((rangeKey) => ({ strategyId: STRATEGY_ID, rangeKey })), (rows) => tx.insert(strategyRanges).values(rows));
    await insert(world.personal.map((p) => ({ id: p.id, userid: p.userid, name: p.name, groupName: p.groupName })), (rows) => tx.insert(personalTags).values(rows));
    await insert(world.customers.map((c, i) => ({ externalUserId: c.id, name: `客户${i}`, createdAt: new Date(Date.UTC(2026, 0, 1, 0, i)) })), (rows) => tx.insert(customers).values(rows));
    await insert(world.customers.flatMap((c) => c.relations.map((r) => ({ externalUserId: c.id, userid: r.userid, status: 'active' as const }))), (rows) => tx.insert(followRelations).values(rows));
    await insert(world.customers.flatMap((c) => c.relations.flatMap((r) => [
      ...r.tags.map((tagId) => ({ externalUserId: c.id, userid: r.userid, tagId, kind: (data.tags.find((x) => x.tagId === tagId)!.strategyId === null ? 'corp' : 'strategy') as 'corp' | 'strategy' })),
      ...r.personal.map((tagId) => ({ externalUserId: c.id, userid: r.userid, tagId, kind: 'personal' as const })),
    ])), (rows) => tx.insert(relationTags).values(rows));
    // What every admin change does: the next request rebuilds the cached policy and member views.
    await bumpPolicyVersion(tx);
  });
}

// ── reading the paths ───────────────────────────────────────────────────────────────────────────

interface TreeNode { type: 'folder' | 'group'; id: string; children?: TreeNode[]; tags?: { id: string; usable: boolean; lockedReason?: string }[] }

/** Tag ids and usable flags from the member's tag tree; empty branches are reported as problems. */
function walkTree(nodes: TreeNode[], out: { see: string[]; use: string[]; emptyBranches: string[] }) {
  for (const node of nodes) {
    if (node.type === 'group') {
      if (!node.tags?.length) out.emptyBranches.push(`group ${node.id}`);
      for (const tag of node.tags ?? []) {
        out.see.push(tag.id);
        if (tag.usable) out.use.push(tag.id);
        else if (!tag.lockedReason) out.emptyBranches.push(`locked tag ${tag.id} without a reason`);
      }
    } else {
      if (!node.children?.length) out.emptyBranches.push(`folder ${node.id}`);
      walkTree(node.children ?? [], out);
    }
  }
  return out;
}

/** RFC 4180 rows (quoted cells, doubled quotes), BOM dropped. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  const body = text.replace(/^\ufeff/, '');
  for (let i = 0; i < body.length; i++) {
    const ch = body[i]!;
    if (quoted) {
      if (ch === '"' && body[i + 1] === '"') { cell += '"'; i++; } else if (ch === '"') quoted = false; else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') { row.push(cell); cell = ''; } else if (ch === '\r') continue;
    else if (ch === '\n') { row.push(cell); rows.push(row); row = []; cell = ''; } else cell += ch;
  }
  if (cell || row.length) { row.push(cell); rows.push(row); }
  return rows;
}

async function exportRows(client: ApiClient, filter: Record<string, unknown>): Promise<string[][]> {
  const started = await client.post('/api/exports', { format: 'csv', filter });
  expect(started.status, JSON.stringify(started.body)).toBe(202);
  const done = await waitFor(async () => {
    const polled = await client.get(`/api/exports/${started.body.id}`);
    return ['completed', 'failed', 'rejected'].includes(polled.body.state) ? polled.body : undefined;
  }, `export ${started.body.id}`);
  expect(done.state).toBe('completed');
  const res = await fetch(`${t.url}/api/exports/${started.body.id}/download`, { headers: { cookie: [...client.cookies].map(([k, v]) => `${k}=${v}`).join('; ') } });
  expect(res.status).toBe(200);
  const [header, ...rows] = parseCsv(await res.text());
  expect(header![0]).toBe('external_userid');
  expect(header![10]).toBe('标签');
  return rows;
}

const listIds = (body: { items: { externalUserId: string }[] }) => sorted(body.items.map((i) => i.externalUserId));

// ── the property ────────────────────────────────────────────────────────────────────────────────

beforeAll(async () => {
  t = await startTestProduct({ database: 'pglite', env: { ADMIN_USERIDS: ADMIN } });
  // The organization sync scheduled at start would mark this test's members as left (the simulator's
  // company does not have them): let it finish first; the next one is hours away.
  await waitFor(async () => (await t.product.ctx.db.select({ state: backgroundJobs.state }).from(backgroundJobs).where(eq(backgroundJobs.kind, 'org-sync')))
    .some((job) => job.state === 'completed'), 'the organization sync scheduled at start', 30_000);
  const none: Record<PermissionAction, PermissionScope> = { view: 'none', edit: 'none', tag: 'none', export: 'none', delete: 'none', assign: 'none', transfer: 'none', unmask: 'none' };
  // Named roles grant nothing on customers: they only matter to visibility rules that name them.
  await t.product.ctx.db.insert(roles).values([
    { name: READER_ROLE, label: READER_ROLE, scopes: { ...none, view: 'all', tag: 'all', export: 'all' } },
    ...NAMED_ROLES.map((name) => ({ name, label: name, scopes: none })),
  ]);
});

afterAll(async () => {
  await t?.stop();
});

const stats = { pairs: 0, seen: 0, used: 0, hiddenOnCustomers: 0 };

describe('a tag appears on a path ⇔ the member may see it (HTTP, PGlite, fast-check)', () => {
  it(`tag tree, list, count, filters, detail, export and tag writes agree with the reference evaluator (${RUNS} runs)`, async () => {
    await fc.assert(fc.asyncProperty(worldArb, async (world) => {
      await load(world);
      const engine = new TagPolicy(world.data);
      const allTagIds = world.data.tags.map((tag) => tag.tagId);
      const admin = await t.as(ADMIN);
      for (const member of world.members) {
        const expected = expectedFor(world, member);
        const who = `${member.userid} ${JSON.stringify(policyMember(member))}`;
        // The engine the product runs agrees with the reference on this world.
        for (const tagId of allTagIds) {
          const decision = engine.decide(policyMember(member), tagId);
          expect({ tagId, see: decision.see, use: decision.use }, `engine ≠ reference for ${who}`).toEqual({ tagId, see: expected.see.has(tagId), use: expected.use.has(tagId) });
          stats.pairs++;
          if (expected.see.has(tagId)) stats.seen++;
          if (expected.use.has(tagId)) stats.used++;
        }
        const ownPersonal = world.personal.filter((p) => p.userid === member.userid).map((p) => p.id);
        const client = await t.as(member.userid);

        // Tag tree (sidebar picker, filter picker, the member's view of the tag library).
        const tree = await client.get('/api/tags');
        expect(tree.status).toBe(200);
        const walked = walkTree(tree.body.tree, { see: [], use: [], emptyBranches: [] });
        expect(sorted(walked.see), `tag tree of ${who}`).toEqual(sorted(expected.see));
        expect(sorted(walked.use), `usable tags in the tree of ${who}`).toEqual(sorted(expected.use));
        expect(walked.emptyBranches, `branches without visible tags in the tree of ${who}`).toEqual([]);
        expect(sorted(tree.body.personal.map((p: { id: string }) => p.id)), `personal tags of ${who}`).toEqual(sorted(ownPersonal));

        // Customer list: every customer (the reader role views all), each with exactly its visible tags.
        const list = await client.get('/api/customers?limit=200');
        expect(list.status).toBe(200);
        expect(listIds(list.body)).toEqual(sorted(world.customers.map((c) => c.id)));
        for (const item of list.body.items as { externalUserId: string; tags: { tagId: string }[] }[]) {
          const customer = world.customers.find((c) => c.id === item.externalUserId)!;
          expect(sorted(item.tags.map((tag) => tag.tagId)), `list tags of ${item.externalUserId} for ${who}`).toEqual(customerTagsFor(customer, member.userid, expected));
          stats.hiddenOnCustomers += customer.relations.flatMap((r) => r.tags).filter((tag) => !expected.see.has(tag)).length;
        }

        // View-as: an admin opening the sidebar as this member sees exactly the member's corp and
        // rule-group tags, and none of their personal tags (private, admins included).
        const viewAs = await admin.post('/api/admin/view-as', { userid: member.userid });
        expect(viewAs.status).toBe(200);
        const viewedTree = await admin.get('/api/tags');
        expect(sorted(walkTree(viewedTree.body.tree, { see: [], use: [], emptyBranches: [] }).see), `tag tree of ${who} seen by view-as`).toEqual(sorted(expected.see));
        expect(viewedTree.body.personal, `personal tags of ${who} seen by view-as`).toEqual([]);
        expect((await admin.get('/api/personal-tags')).body.tags).toEqual([]);
        const viewedList = (await admin.get('/api/customers?limit=200')).body.items as { externalUserId: string; tags: { tagId: string }[] }[];
        expect(sorted(viewedList.map((item) => item.externalUserId))).toEqual(sorted(world.customers.map((c) => c.id)));
        for (const item of viewedList) {
          const customer = world.customers.find((c) => c.id === item.externalUserId)!;
          expect(sorted(item.tags.map((tag) => tag.tagId)), `list tags of ${item.externalUserId} for ${who} seen by view-as`).toEqual(customerTagsFor(customer, null, expected));
          const viewedDetail = await admin.get(`/api/customers/${customer.id}`);
          const detailTags = (viewedDetail.body.relations as { tags: { tagId: string }[] }[]).flatMap((r) => r.tags.map((tag) => tag.tagId));
          expect(sorted(new Set(detailTags)), `detail tags of ${customer.id} for ${who} seen by view-as`).toEqual(customerTagsFor(customer, null, expected));
        }
        for (const tagId of ownPersonal) {
          const byPersonal = await admin.get(`/api/customers?limit=200&tags=${tagId}`);
          expect(byPersonal.body, `filter by ${who}'s personal tag seen by view-as`).toEqual({ items: [], nextCursor: null });
          expect((await admin.get(`/api/customers/count?tags=${tagId}`)).body.count).toBe(0);
        }
        expect((await admin.request('DELETE', '/api/admin/view-as')).status).toBe(200);

        // Customer detail: per relation, its visible tags (personal ones only on the member's own relation).
        for (const customer of world.customers) {
          const detail = await client.get(`/api/customers/${customer.id}`);
          expect(detail.status).toBe(200);
          for (const relation of customer.relations) {
            const shown = (detail.body.relations as { userid: string; tags: { tagId: string }[] }[]).find((r) => r.userid === relation.userid)!;
            expect(sorted(shown.tags.map((tag) => tag.tagId)), `detail tags of ${customer.id}/${relation.userid} for ${who}`).toEqual(relationTagsFor(relation, member.userid, expected));
          }
        }

        // Filters: a tag the member may see (or their own personal tag) finds its carriers; any other
        // tag, someone else's personal tag included, answers exactly like a tag that does not exist.
        const missing = await client.get(`/api/customers?limit=200&tags=${MISSING_TAG}`);
        expect(missing.body).toEqual({ items: [], nextCursor: null });
        const firstVisible = [...expected.see][0];
        for (const tagId of [...allTagIds, ...world.personal.map((p) => p.id)]) {
          const may = expected.see.has(tagId) || ownPersonal.includes(tagId);
          for (const match of ['any', 'all']) {
            const filtered = await client.get(`/api/customers?limit=200&tagMatch=${match}&tags=${tagId}`);
            expect(filtered.status).toBe(200);
            if (may) expect(listIds(filtered.body), `filter ${tagId} (${match}) for ${who}`).toEqual(carriers(world, tagId));
            else expect(filtered.body, `filter by hidden ${tagId} (${match}) for ${who}`).toEqual(missing.body);
            const count = await client.get(`/api/customers/count?tagMatch=${match}&tags=${tagId}`);
            expect(count.status, JSON.stringify(count.body)).toBe(200);
            expect(count.body.count, `count by ${tagId} (${match}) for ${who}`).toBe(may ? carriers(world, tagId).length : 0);
          }
          if (!may && firstVisible) {
            // Mixed with a visible tag: `all` needs the hidden one too (nothing), `any` ignores it.
            const all = await client.get(`/api/customers?limit=200&tagMatch=all&tags=${firstVisible},${tagId}`);
            expect(all.body, `all of ${firstVisible},${tagId} for ${who}`).toEqual(missing.body);
            const any = await client.get(`/api/customers?limit=200&tagMatch=any&tags=${firstVisible},${tagId}`);
            expect(listIds(any.body), `any of ${firstVisible},${tagId} for ${who}`).toEqual(carriers(world, firstVisible));
          }
        }

        // Exports: the filter refuses a hidden tag exactly like a missing one; the rows carry exactly
        // the visible tags (group/name; personal tags by their own name).
        const missingExport = await client.post('/api/exports', { format: 'csv', filter: { tags: [MISSING_TAG] } });
        expect(missingExport.status).toBe(404);
        for (const tagId of allTagIds.filter((id) => !expected.see.has(id))) {
          const refused = await client.post('/api/exports', { format: 'csv', filter: { tags: [tagId] } });
          expect({ status: refused.status, code: refused.body.error?.code }, `export filter by hidden ${tagId} for ${who}`).toEqual({ status: 404, code: missingExport.body.error.code });
        }
        const personalName = new Map(world.personal.map((p) => [p.id, p.groupName ? `${p.groupName}/${p.name}` : p.name]));
        const nameOf = (tagId: string) => world.exportName.get(tagId) ?? personalName.get(tagId)!;
        const rows = await exportRows(client, firstVisible ? { tags: [firstVisible] } : {});
        const exported = new Map(rows.map((row) => [row[0]!, row[10] ? sorted(row[10].split('; ')) : []]));
        expect(sorted(exported.keys()), `export rows for ${who}`).toEqual(firstVisible ? carriers(world, firstVisible) : sorted(world.customers.map((c) => c.id)));
        for (const [id, names] of exported) {
          const customer = world.customers.find((c) => c.id === id)!;
          expect(names, `export tags of ${id} for ${who}`).toEqual(sorted(new Set(customerTagsFor(customer, member.userid, expected).map(nameOf))));
        }

        // Writes on the member's own relation: hidden → the missing-tag answer, locked → TAG_NOT_ALLOWED.
        const followed = world.customers.find((c) => c.relations.some((r) => r.userid === member.userid));
        if (followed) {
          const missingWrite = await client.post(`/api/customers/${followed.id}/tags`, { add: [MISSING_TAG] });
          expect({ status: missingWrite.status, code: missingWrite.body.error?.code }).toEqual({ status: 404, code: 'TAG_NOT_FOUND' });
          for (const other of world.personal.filter((p) => p.userid !== member.userid)) {
            const write = await client.post(`/api/customers/${followed.id}/tags`, { add: [other.id] });
            expect({ status: write.status, code: write.body.error?.code }, `adding ${other.userid}'s personal tag for ${who}`).toEqual({ status: 404, code: 'TAG_NOT_FOUND' });
          }
          for (const tagId of allTagIds) {
            if (expected.use.has(tagId)) continue;
            const write = await client.post(`/api/customers/${followed.id}/tags`, { add: [tagId] });
            const want = expected.see.has(tagId) ? { status: 403, code: 'TAG_NOT_ALLOWED' } : { status: 404, code: 'TAG_NOT_FOUND' };
            expect({ status: write.status, code: write.body.error?.code }, `adding ${tagId} for ${who}`).toEqual(want);
            if (expected.see.has(tagId)) expect(write.body.error.tags.map((x: { tagId: string }) => x.tagId)).toEqual([tagId]);
          }
        }
      }
      // Nothing was written: no WeCom write queued or sent, every relation's tags as loaded.
      expect(await markTagCalls(), 'mark_tag calls in the simulator').toBe(0);
      const db = t.product.ctx.db;
      const [writes] = (await db.execute(sql`select count(*)::int as n from outgoing_writes`) as unknown as { rows: { n: number }[] }).rows;
      expect(writes!.n).toBe(0);
      const [tagRows] = (await db.execute(sql`select count(*)::int as n from relation_tags`) as unknown as { rows: { n: number }[] }).rows;
      expect(tagRows!.n).toBe(world.customers.reduce((n, c) => n + c.relations.reduce((m, r) => m + r.tags.length + r.personal.length, 0), 0));
      // No shrinking: each run is a whole product's worth of HTTP requests, and the first
      // counterexample already names the member, tag and path.
    }), { numRuns: RUNS, endOnFailure: true });
    // Not vacuous: members saw some tags and not others, used fewer than they saw, and customers
    // carried tags their viewers could not see.
    expect(stats.seen).toBeGreaterThan(stats.pairs / 10);
    expect(stats.seen).toBeLessThan(stats.pairs * 0.9);
    expect(stats.used).toBeLessThan(stats.seen);
    expect(stats.hiddenOnCustomers).toBeGreaterThan(0);
  }, 240_000);
});
