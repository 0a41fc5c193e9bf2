// Company fixtures: the shape accepted by POST /sim/reset, startSimulator({seed}) and demoCompany(),
// and how one becomes a fresh CorpState. Fixtures are checked like WeCom's own rules (known
// members and departments, tag names <= 30, rule-group tags only inside the group's range), so a
// fixture that WeCom could not contain is rejected with a clear 400 instead of silently loaded.
import { z } from 'zod';
import { badRequest, WecomError } from './errors.ts';
import { CorpState } from './state.ts';
import type { FollowRelation, RangeItem, TagGroup } from './state.ts';
import type { SimContext } from './context.ts';
import { addTags, checkUsableTag } from './tag-library.ts';

const creator = z.enum(['app', 'console']);
const tagGroupSchema = z.object({
  group_name: z.string().min(1),
  order: z.number().int().min(0).optional(),
  createdBy: creator.optional(),
  tag: z.array(z.object({ name: z.string().min(1), order: z.number().int().min(0).optional() })).min(1),
});
const rangeSchema = z.union([
  z.object({ type: z.literal(1), userid: z.string().min(1) }),
  z.object({ type: z.literal(2), partyid: z.number().int() }),
]);

export const fixtureSchema = z.object({
  corpId: z.string().min(1).optional(),
  agentId: z.number().int().positive().optional(),
  secret: z.string().min(1).optional(),
  departments: z.array(z.object({
    id: z.number().int().positive(),
    name: z.string().min(1),
    name_en: z.string().optional(),
    parentid: z.number().int().min(0),
    order: z.number().int().default(0),
  })).default([]),
  users: z.array(z.object({
    userid: z.string().min(1).max(64),
    name: z.string().min(1),
    department: z.array(z.number().int()).min(1),
    is_leader_in_dept: z.array(z.union([z.literal(0), z.literal(1)])).optional(),
    position: z.string().default(''),
    status: z.union([z.literal(1), z.literal(2), z.literal(4), z.literal(5)]).default(1),
    gender: z.enum(['0', '1', '2']).default('0'),
  })).default([]),
  corpTags: z.array(tagGroupSchema).default([]),
  strategies: z.array(z.object({
    strategy_name: z.string().min(1).max(30),
    parent_id: z.number().int().default(0),
    admin_list: z.array(z.string()).default([]),
    privilege: z.record(z.string(), z.boolean()).default({}),
    createdBy: creator.default('app'),
    range: z.array(rangeSchema).min(1),
    tagGroups: z.array(tagGroupSchema).default([]),
  })).default([]),
  contactWays: z.array(z.object({
    state: z.string().max(30),
    user: z.array(z.string()).default([]),
    party: z.array(z.number().int()).default([]),
    remark: z.string().max(30).default(''),
    skip_verify: z.boolean().default(true),
  })).default([]),
  customers: z.array(z.object({
    external_userid: z.string().min(1).optional(),
    name: z.string().min(1),
    type: z.union([z.literal(1), z.literal(2)]).default(1),
    gender: z.number().int().min(0).max(2).default(0),
    corp_name: z.string().default(''),
    position: z.string().default(''),
    unionid: z.string().optional(),
    follow_users: z.array(z.object({
      userid: z.string().min(1),
      tags: z.array(z.string()).default([]),
      personal_tags: z.array(z.string()).default([]),
      remark: z.string().default(''),
      description: z.string().default(''),
      state: z.string().max(30).optional(),
      remark_mobiles: z.array(z.string()).default([]),
      createtime: z.number().int().optional(),
      add_way: z.number().int().optional(),
      oper_userid: z.string().optional(),
    })).default([]),
  })).default([]),
  callback: z.object({
    url: z.string().url(),
    token: z.string().min(1).max(32),
    aesKey: z.string().regex(/^[a-zA-Z0-9]{43}$/, 'aesKey must be 43 characters of [a-zA-Z0-9]'),
  }).optional(),
});

/** What tests and demos write; every list may be omitted. */
export type CompanyFixture = z.input<typeof fixtureSchema>;

export interface ResetTagGroup {
  group_id: string;
  group_name: string;
  tags: { id: string; name: string }[];
}

export interface ResetResult {
  corpId: string;
  agentId: number;
  tagGroups: ResetTagGroup[];
  strategies: { strategy_id: number; strategy_name: string; tagGroups: ResetTagGroup[] }[];
  customers: string[];
  contactWays: { config_id: string; state: string; qr_code: string }[];
  callback?: { url: string; verified: boolean; error?: string };
}

function summary(group: TagGroup): ResetTagGroup {
  return { group_id: group.group_id, group_name: group.group_name, tags: group.tags.map((t) => ({ id: t.id, name: t.name })) };
}

/** WeCom rule errors raised while loading a fixture become a 400 naming the fixture entry. */
function guard<T>(where: string, run: () => T): T {
  try {
    return run();
  } catch (error) {
    if (error instanceof WecomError) badRequest(`${where}: ${error.message}`);
    throw error;
  }
}

/** Builds a fresh corp from a fixture (pure: nothing in ctx changes). */
export function buildCorp(ctx: SimContext, raw: unknown): { corp: CorpState; result: ResetResult; callback?: { url: string; token: string; aesKey: string } } {
  const parsed = fixtureSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    badRequest(`fixture.${issue.path.join('.')}: ${issue.message}`);
  }
  const f = parsed.data;
  const now = ctx.clock.now();
  const corp = new CorpState(f.corpId ?? ctx.corp.corpId, f.agentId ?? ctx.corp.agentId, f.secret ?? ctx.corp.secret);

  const deptIds = new Set(f.departments.map((d) => d.id));
  for (const d of f.departments) {
    if (d.parentid !== 0 && !deptIds.has(d.parentid)) badRequest(`department ${d.id}: parentid ${d.parentid} is not a department`);
    corp.departments.push({ id: d.id, name: d.name, name_en: d.name_en ?? '', parentid: d.parentid, order: d.order });
  }
  for (const u of f.users) {
    if (corp.members.has(u.userid)) badRequest(`user ${u.userid} appears twice`);
    for (const d of u.department) if (!deptIds.has(d)) badRequest(`user ${u.userid}: department ${d} does not exist`);
    const leader = u.is_leader_in_dept ?? u.department.map(() => 0);
    if (leader.length !== u.department.length) badRequest(`user ${u.userid}: is_leader_in_dept must have one entry per department`);
    corp.members.set(u.userid, {
      userid: u.userid, name: u.name, department: u.department, order: u.department.map(() => 0), is_leader_in_dept: leader,
      position: u.position, status: u.status, main_department: u.department[0]!, gender: u.gender,
      ...(u.status === 5 ? { dimissionTime: now } : {}),
    });
  }

  const checkRange = (where: string, range: RangeItem[]) => {
    for (const r of range) {
      if (r.type === 1 && !corp.members.has(r.userid)) badRequest(`${where}: range user ${r.userid} does not exist`);
      if (r.type === 2 && !deptIds.has(r.partyid)) badRequest(`${where}: range department ${r.partyid} does not exist`);
    }
  };

  const result: ResetResult = { corpId: corp.corpId, agentId: corp.agentId, tagGroups: [], strategies: [], customers: [], contactWays: [] };
  for (const g of f.corpTags) {
    const { group } = guard(`corpTags ${g.group_name}`, () => addTags(corp, now, { ...g, tag: g.tag }, g.createdBy ?? 'console'));
    result.tagGroups.push(summary(group));
  }
  for (const s of f.strategies) {
    checkRange(`strategy ${s.strategy_name}`, s.range);
    const strategy = {
      strategy_id: corp.nextStrategyId++, parent_id: s.parent_id, strategy_name: s.strategy_name, create_time: now,
      admin_list: s.admin_list, privilege: s.privilege, range: s.range, createdBy: s.createdBy,
    };
    corp.strategies.push(strategy);
    const groups = s.tagGroups.map((g) =>
      summary(guard(`strategy ${s.strategy_name} ${g.group_name}`, () => addTags(corp, now, { ...g, tag: g.tag, strategyId: strategy.strategy_id }, s.createdBy)).group),
    );
    result.strategies.push({ strategy_id: strategy.strategy_id, strategy_name: strategy.strategy_name, tagGroups: groups });
  }
  for (const w of f.contactWays) {
    for (const u of w.user) if (!corp.members.has(u)) badRequest(`contact way ${w.state}: user ${u} does not exist`);
    for (const p of w.party) if (!deptIds.has(p)) badRequest(`contact way ${w.state}: department ${p} does not exist`);
    const config_id = corp.ids.next('config');
    corp.contactWays.set(config_id, {
      config_id, type: w.user.length === 1 && w.party.length === 0 ? 1 : 2, scene: 2, remark: w.remark, skip_verify: w.skip_verify,
      state: w.state, user: w.user, party: w.party, is_temp: false, create_time: now,
    });
    result.contactWays.push({ config_id, state: w.state, qr_code: `${ctx.baseUrl}/sim/qr/${config_id}` });
  }

  const resolveTag = (where: string, ref: string): string => {
    const live = corp.liveGroups('any');
    if (corp.findTag(ref)) return ref;
    const byName = live.flatMap((g) => g.tags.filter((t) => t.name === ref).map((t) => t.id));
    if (byName.length === 1) return byName[0]!;
    if (byName.length > 1) badRequest(`${where}: tag name "${ref}" is ambiguous; write it as "group/tag"`);
    const slash = ref.indexOf('/');
    if (slash > 0) {
      const [groupName, tagName] = [ref.slice(0, slash), ref.slice(slash + 1)];
      const matches = live.filter((g) => g.group_name === groupName).flatMap((g) => g.tags.filter((t) => t.name === tagName));
      if (matches.length === 1) return matches[0]!.id;
    }
    return badRequest(`${where}: unknown tag "${ref}"`);
  };

  for (const c of f.customers) {
    const externalUserid = c.external_userid ?? corp.ids.next('external');
    if (corp.customers.has(externalUserid)) badRequest(`customer ${externalUserid} appears twice`);
    const follows: FollowRelation[] = c.follow_users.map((fu) => {
      const where = `customer ${externalUserid} follower ${fu.userid}`;
      if (!corp.members.has(fu.userid)) badRequest(`${where}: user does not exist`);
      const tagIds = [...new Set(fu.tags.map((ref) => resolveTag(where, ref)))];
      // The member's own client enforces rule-group ranges, so fixtures must respect them too.
      for (const id of tagIds) guard(where, () => checkUsableTag(corp, 'console', fu.userid, id));
      return {
        userid: fu.userid, remark: fu.remark, description: fu.description, createtime: fu.createtime ?? now, tagIds,
        personalTags: [...new Set(fu.personal_tags)], remark_corp_name: '', remark_mobiles: fu.remark_mobiles,
        oper_userid: fu.oper_userid ?? externalUserid, add_way: fu.add_way ?? (fu.state ? 1 : 0),
        ...(fu.state !== undefined ? { state: fu.state } : {}), half: false, customerDeleted: false,
      };
    });
    corp.customers.set(externalUserid, {
      external_userid: externalUserid, name: c.name, type: c.type, gender: c.gender, avatar: '', corp_name: c.corp_name,
      position: c.position, ...(c.unionid ? { unionid: c.unionid } : {}), follows,
    });
    result.customers.push(externalUserid);
  }
  return { corp, result, ...(f.callback ? { callback: f.callback } : {}) };
}

/** POST /sim/reset: swap in the fixture's corp; keep the clock, keep tokens of the same corp+secret. */
export async function resetCorp(ctx: SimContext, raw: unknown): Promise<ResetResult> {
  const previous = ctx.corp;
  const { corp, result, callback } = buildCorp(ctx, raw);
  corp.callback = callback ?? previous.callback;
  ctx.corp = corp;
  ctx.calls.length = 0;
  ctx.faults.length = 0;
  ctx.rate.clear();
  ctx.callbacks.clear();
  if (corp.callback) {
    const outcome = await ctx.callbacks.verify(corp.callback, corp.corpId);
    result.callback = { url: corp.callback.url, verified: outcome.verified, ...(outcome.error ? { error: outcome.error } : {}) };
  }
  ctx.options.log(`reset: corp ${corp.corpId}, ${corp.members.size} members, ${corp.customers.size} customers`);
  return result;
}
