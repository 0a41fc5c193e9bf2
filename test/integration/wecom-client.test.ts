// The WeCom client against the simulator over HTTP and a real Redis: token caching and single-flight
// refresh, token-error recovery, config errors that must not hammer gettoken, transient retries,
// permanent errors, cursor following, and that no token or secret ever reaches an error or a log.
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { startSimulator } from '../../wecom-sim/index.ts';
import type { CompanyFixture, RunningSimulator } from '../../wecom-sim/index.ts';
import { WecomApiError, WecomClient, WecomNetworkError, isTransient } from '../../server/wecom/client.ts';
import type { WecomClientOptions } from '../../server/wecom/client.ts';

const CORP_ID = 'wwsimcorp0000000001';
const SECRET = 'sim-agent-secret';
const AGENT_ID = 1000002;
const FILE_PREFIX = `test:wecom-client:${process.pid}:`;

let sim: RunningSimulator;
let redis: Redis;
let testNo = 0;
let keyPrefix = '';
/** Every error the client threw and every line it logged, checked for secrets after each test. */
let seen: string[] = [];
const issuedTokens = new Set<string>();

const logger = {
  info: (obj: object, msg: string) => void seen.push(JSON.stringify(obj), msg),
  warn: (obj: object, msg: string) => void seen.push(JSON.stringify(obj), msg),
  error: (obj: object, msg: string) => void seen.push(JSON.stringify(obj), msg),
};

function client(overrides: Partial<WecomClientOptions> = {}): WecomClient {
  return new WecomClient({
    apiBase: sim.url,
    corpId: CORP_ID,
    secret: SECRET,
    agentId: AGENT_ID,
    redis,
    keyPrefix,
    timeoutMs: 2_000,
    maxTransientRetries: 3,
    backoffBaseMs: 5,
    logger,
    ...overrides,
  });
}

/** Runs `promise`, expects it to reject with a WecomApiError, and records the error for the secret check. */
async function failure(promise: Promise<unknown>): Promise<WecomApiError> {
  try {
    await promise;
  } catch (err) {
    seen.push(String(err), (err as Error).stack ?? '', JSON.stringify(err));
    expect(err).toBeInstanceOf(WecomApiError);
    return err as WecomApiError;
  }
  throw new Error('expected the call to fail');
}

async function simControl<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${sim.url}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? null : JSON.stringify(body),
  });
  const json = (await res.json()) as T;
  if (!res.ok) throw new Error(`sim ${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

interface SimCall {
  path: string;
  query: Record<string, string>;
  body: unknown;
  errcode: number | null;
}

async function calls(path: string): Promise<SimCall[]> {
  return (await simControl<{ calls: SimCall[] }>('GET', `/sim/calls?path=${encodeURIComponent(path)}`)).calls;
}

async function fault(path: string, errcode: number | 'timeout', count: number, holdMs?: number): Promise<void> {
  await simControl('POST', '/sim/faults', { path, errcode, count, ...(holdMs === undefined ? {} : { holdMs }) });
}

function users(n: number): { userid: string; name: string; department: number[] }[] {
  return Array.from({ length: n }, (_, i) => ({ userid: `u${String(i).padStart(4, '0')}`, name: `Member ${i}`, department: [2] }));
}

/** A small corp: two departments, alice/bob/carol/dave, a tag group, customers of alice and bob. */
function smallCorp(): CompanyFixture {
  return {
    departments: [
      { id: 1, name: 'HQ', parentid: 0 },
      { id: 2, name: 'Sales', parentid: 1 },
    ],
    users: [
      { userid: 'alice', name: 'Alice', department: [2], is_leader_in_dept: [1] },
      { userid: 'bob', name: 'Bob', department: [2] },
      { userid: 'carol', name: 'Carol', department: [1] },
      { userid: 'dave', name: 'Dave', department: [2] },
    ],
    corpTags: [{ group_name: 'Level', tag: [{ name: 'VIP' }, { name: 'Normal' }] }],
    customers: [
      { external_userid: 'wm_cust_a', name: 'Customer A', follow_users: [{ userid: 'alice', tags: ['VIP'], remark: 'A', state: 'fair2025' }] },
      { external_userid: 'wm_cust_b', name: 'Customer B', follow_users: [{ userid: 'bob', tags: [] }] },
      { external_userid: 'wm_cust_c', name: 'Customer C', follow_users: [{ userid: 'alice' }, { userid: 'bob' }] },
    ],
  };
}

function tokenKey(secret = SECRET): string {
  return `${keyPrefix}${CORP_ID}:${createHash('sha256').update(secret).digest('hex').slice(0, 16)}:access_token`;
}

beforeAll(async () => {
  redis = new Redis(inject('redisUrl'), { maxRetriesPerRequest: null });
  sim = await startSimulator({ port: 0 });
});

afterAll(async () => {
  const keys = await redis.keys(`${FILE_PREFIX}*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
  await sim.close();
});

beforeEach(async () => {
  keyPrefix = `${FILE_PREFIX}${++testNo}:`;
  seen = [];
  await sim.reset(smallCorp());
});

afterEach(async () => {
  // Tokens this test's clients cached, plus any the simulator handed out in this test.
  for (const key of await redis.keys(`${keyPrefix}*:access_token`)) {
    const token = await redis.get(key);
    if (token) issuedTokens.add(token);
  }
  const text = seen.join('\n');
  expect(text).not.toContain(SECRET);
  expect(text).not.toContain('wrong-secret-');
  expect(text).not.toMatch(/access_token=|corpsecret=/);
  for (const token of issuedTokens) expect(text).not.toContain(token);
});

describe('access token cache', () => {
  it('is stored in Redis under corp id + secret hash (never the secret) and reused across client instances', async () => {
    const first = client();
    const second = client();
    expect((await first.getFollowUserList()).follow_user).toEqual(expect.arrayContaining(['alice', 'bob']));
    expect((await second.getFollowUserList()).follow_user).toContain('carol');
    expect(await calls('/cgi-bin/gettoken')).toHaveLength(1);

    const keys = await redis.keys(`${keyPrefix}*`);
    expect(keys).toEqual([tokenKey()]);
    expect(keys.join()).not.toContain(SECRET);
    const ttl = await redis.pttl(tokenKey());
    // expires_in 7200 minus the 300 s safety margin.
    expect(ttl).toBeGreaterThan(6_800_000);
    expect(ttl).toBeLessThanOrEqual(6_900_000);
    expect(await first.getAccessToken()).toBe(await redis.get(tokenKey()));
  });

  it('concurrent first calls from several instances (as from several processes) make one gettoken', async () => {
    const instances = [client(), client(), client()];
    const results = await Promise.all(
      instances.flatMap((c) => Array.from({ length: 10 }, () => c.listExternalContacts('alice'))),
    );
    expect(results).toHaveLength(30);
    for (const r of results) expect(r.external_userid.sort()).toEqual(['wm_cust_a', 'wm_cust_c']);
    expect(await calls('/cgi-bin/gettoken')).toHaveLength(1);
    expect(await redis.exists(`${tokenKey()}:lock`)).toBe(0);
  });

  it('after the token expires (42001) it refreshes and retries the call once', async () => {
    const c = client();
    await c.getFollowUserList();
    const before = await redis.get(tokenKey());
    issuedTokens.add(before!);
    await simControl('POST', '/sim/clock/advance', { seconds: 7_300 });

    expect((await c.getFollowUserList()).follow_user).toContain('alice');
    const followCalls = await calls('/cgi-bin/externalcontact/get_follow_user_list');
    expect(followCalls.map((x) => x.errcode)).toEqual([0, 42001, 0]);
    expect(await calls('/cgi-bin/gettoken')).toHaveLength(2);
    const after = await redis.get(tokenKey());
    expect(after).toBeTruthy();
    expect(after).not.toBe(before);
  });

  it('an invalid cached token (40014) is dropped, refreshed and the call retried', async () => {
    await redis.set(tokenKey(), 'garbage-token-from-somewhere', 'PX', 60_000);
    const c = client();
    expect((await c.getUser('alice')).name).toBe('Alice');
    expect((await calls('/cgi-bin/user/get')).map((x) => x.errcode)).toEqual([40014, 0]);
    expect(await redis.get(tokenKey())).not.toBe('garbage-token-from-somewhere');
  });

  it('retries a token error only once', async () => {
    const c = client();
    await fault('/cgi-bin/externalcontact/get_follow_user_list', 42001, 5);
    const err = await failure(c.getFollowUserList());
    expect(err.errcode).toBe(42001);
    expect(err.kind).toBe('token');
    expect(isTransient(err)).toBe(false);
    expect(await calls('/cgi-bin/externalcontact/get_follow_user_list')).toHaveLength(2);
  });

  it('a wrong secret (40001) fails loudly naming WECOM_AGENT_SECRET, with exactly one gettoken call', async () => {
    const wrong = 'wrong-secret-0123456789';
    const c = client({ secret: wrong });
    const errors = await Promise.all(Array.from({ length: 5 }, () => failure(c.getFollowUserList())));
    errors.push(await failure(c.getUser('alice')));
    errors.push(await failure(client({ secret: wrong }).getFollowUserList())); // another instance / process
    errors.push(await failure(c.getAccessToken()));
    for (const err of errors) {
      expect(err.errcode).toBe(40001);
      expect(err.kind).toBe('config');
      expect(err.path).toBe('/cgi-bin/gettoken');
      expect(err.message).toContain('WECOM_AGENT_SECRET');
      expect(err.message).not.toContain(wrong);
      expect(isTransient(err)).toBe(false);
    }
    expect(await calls('/cgi-bin/gettoken')).toHaveLength(1);
    expect(await calls('/cgi-bin/externalcontact/get_follow_user_list')).toHaveLength(0);
    expect(seen.some((line) => line.includes('WECOM_AGENT_SECRET'))).toBe(true); // logged at error level
  });

  it('a wrong corp id (40013) fails naming WECOM_CORP_ID', async () => {
    const err = await failure(client({ corpId: 'wwnotmycorp' }).getFollowUserList());
    expect(err.errcode).toBe(40013);
    expect(err.kind).toBe('config');
    expect(err.message).toContain('WECOM_CORP_ID');
    expect(await calls('/cgi-bin/gettoken')).toHaveLength(1);
  });
});

describe('transient errors', () => {
  it.each([-1, 45009, 45033])('errcode %i is retried with backoff, then the call succeeds', async (code) => {
    await fault('/cgi-bin/externalcontact/get_follow_user_list', code, 2);
    const result = await client().getFollowUserList();
    expect(result.follow_user).toContain('alice');
    expect((await calls('/cgi-bin/externalcontact/get_follow_user_list')).map((x) => x.errcode)).toEqual([code, code, 0]);
  });

  it('a timeout is retried, then the call succeeds', async () => {
    await fault('/cgi-bin/user/get', 'timeout', 1, 3_000);
    const started = Date.now();
    expect((await client({ timeoutMs: 300 }).getUser('bob')).userid).toBe('bob');
    expect(Date.now() - started).toBeLessThan(2_500);
    expect(await calls('/cgi-bin/user/get')).toHaveLength(2);
  });

  it('a transient gettoken failure is retried too', async () => {
    await fault('/cgi-bin/gettoken', -1, 1);
    expect((await client().getFollowUserList()).follow_user).toContain('alice');
    expect((await calls('/cgi-bin/gettoken')).map((x) => x.errcode)).toEqual([-1, 0]);
  });

  it('a persistent -1 is thrown as transient after the bounded retries', async () => {
    await fault('/cgi-bin/externalcontact/get_follow_user_list', -1, 100);
    const err = await failure(client({ maxTransientRetries: 2 }).getFollowUserList());
    expect(err.errcode).toBe(-1);
    expect(err.kind).toBe('transient');
    expect(isTransient(err)).toBe(true);
    expect(err.attempts).toBe(3);
    expect(err.path).toBe('/cgi-bin/externalcontact/get_follow_user_list');
    expect(await calls('/cgi-bin/externalcontact/get_follow_user_list')).toHaveLength(3);
  });

  it('a persistent timeout becomes a transient WecomNetworkError (-1000)', async () => {
    await fault('/cgi-bin/user/get', 'timeout', 10, 3_000);
    const err = await failure(client({ timeoutMs: 200, maxTransientRetries: 1 }).getUser('bob'));
    expect(err).toBeInstanceOf(WecomNetworkError);
    expect(err.errcode).toBe(-1000);
    expect(err.kind).toBe('transient');
    expect(err.message).toContain('timeout');
    expect(await calls('/cgi-bin/user/get')).toHaveLength(2);
  });

  it('an unreachable server becomes a transient network error without the URL in it', async () => {
    const port = await closedPort();
    const err = await failure(client({ apiBase: `http://127.0.0.1:${port}`, maxTransientRetries: 1 }).getFollowUserList());
    expect(err).toBeInstanceOf(WecomNetworkError);
    expect(err.errcode).toBe(-1000);
    expect(isTransient(err)).toBe(true);
    expect((err as WecomNetworkError).networkCode).toBe('ECONNREFUSED');
    expect(err.message).not.toContain('http://');
  });

  it('HTTP 5xx is transient and retried; the final error names the status', async () => {
    let hits = 0;
    const server = createServer((_req, res) => {
      hits++;
      res.writeHead(502, { 'content-type': 'text/html' }).end('<html>bad gateway</html>');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const err = await failure(client({ apiBase: `http://127.0.0.1:${port}`, maxTransientRetries: 2 }).getAccessToken());
      expect(err.kind).toBe('transient');
      expect(err.httpStatus).toBe(502);
      expect(err.message).toContain('HTTP 502');
      expect(hits).toBe(3);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('writes that must not be applied twice', () => {
  it('are retried when WeCom refused them (-1), since nothing was applied', async () => {
    await fault('/cgi-bin/message/send', -1, 1);
    const sent = await client().sendAppMessage({ touser: 'alice', msgtype: 'text', text: { content: 'hello' } });
    expect(sent.msgid).toBeTruthy();
    expect((await calls('/cgi-bin/message/send')).map((x) => x.errcode)).toEqual([-1, 0]);
  });

  it('are not repeated after a timeout (WeCom may have applied them): thrown as transient, maybeApplied', async () => {
    await fault('/cgi-bin/message/send', 'timeout', 1, 3_000);
    const err = await failure(client({ timeoutMs: 200 }).sendAppMessage({ touser: 'alice', msgtype: 'text', text: { content: 'hello' } }));
    expect(err).toBeInstanceOf(WecomNetworkError);
    expect(isTransient(err)).toBe(true);
    expect((err as WecomNetworkError).maybeApplied).toBe(true);
    expect(await calls('/cgi-bin/message/send')).toHaveLength(1);
  });

  it('are retried after the token expired (WeCom rejected them)', async () => {
    const c = client();
    await c.getFollowUserList();
    await simControl('POST', '/sim/clock/advance', { seconds: 7_300 });
    const created = await c.addContactWay({ type: 1, scene: 2, user: ['alice'], state: 'retry' });
    expect(created.config_id).toBeTruthy();
    expect((await calls('/cgi-bin/externalcontact/add_contact_way')).map((x) => x.errcode)).toEqual([42001, 0]);
  });
});

describe('permanent errors', () => {
  it('84061 on mark_tag is thrown at once, typed and explained, never retried', async () => {
    const c = client();
    const vip = (await c.getCorpTagList()).tag_group[0]!.tag.find((t) => t.name === 'VIP')!;
    // carol follows no customer: WeCom's own answer, not an injected fault.
    const err = await failure(c.markTag({ userid: 'carol', external_userid: 'wm_cust_a', add_tag: [vip.id] }));
    expect(err.errcode).toBe(84061);
    expect(err.kind).toBe('permanent');
    expect(err.errmsg.length).toBeGreaterThan(0);
    expect(err.path).toBe('/cgi-bin/externalcontact/mark_tag');
    expect(err.message).toContain('no external-contact relationship between this member and customer');
    expect(isTransient(err)).toBe(false);
    expect(await calls('/cgi-bin/externalcontact/mark_tag')).toHaveLength(1);
  });

  it('40068 for an unknown tag id is permanent', async () => {
    const err = await failure(client().markTag({ userid: 'alice', external_userid: 'wm_cust_a', add_tag: ['etNOSUCHTAG'] }));
    expect(err.errcode).toBe(40068);
    expect(err.message).toContain('tag or tag group not found');
    expect(await calls('/cgi-bin/externalcontact/mark_tag')).toHaveLength(1);
  });
});

describe('cursor following', () => {
  it('getExternalContact merges more than 500 followers across cursors', async () => {
    const members = users(1_201);
    await sim.reset({
      departments: [
        { id: 1, name: 'HQ', parentid: 0 },
        { id: 2, name: 'Field', parentid: 1 },
      ],
      users: members,
      customers: [{ external_userid: 'wm_popular', name: 'Popular', follow_users: members.map((m) => ({ userid: m.userid })) }],
    });
    const detail = await client().getExternalContact('wm_popular');
    expect(detail.external_contact.external_userid).toBe('wm_popular');
    expect(detail.follow_user).toHaveLength(1_201);
    expect(new Set(detail.follow_user.map((f) => f.userid)).size).toBe(1_201);
    expect(detail).not.toHaveProperty('next_cursor');
    const pages = await calls('/cgi-bin/externalcontact/get');
    expect(pages).toHaveLength(3);
    expect(pages[0]!.query.cursor).toBeUndefined();
    expect(pages[1]!.query.cursor).toBeTruthy();
  });

  it('iterateByUsers chunks member ids by 100 and follows each chunk\'s cursor', async () => {
    const members = users(250);
    const fixture: CompanyFixture = {
      departments: [
        { id: 1, name: 'HQ', parentid: 0 },
        { id: 2, name: 'Field', parentid: 1 },
      ],
      users: members,
      customers: [
        { external_userid: 'wm_shared', name: 'Shared', follow_users: members.map((m) => ({ userid: m.userid })) },
        ...Array.from({ length: 150 }, (_, i) => ({ external_userid: `wm_own_${i}`, name: `Own ${i}`, follow_users: [{ userid: 'u0000' }] })),
      ],
    };
    await sim.reset(fixture);
    const c = client();
    const seenPairs = new Set<string>();
    let pageCount = 0;
    for await (const page of c.iterateByUsers([...members.map((m) => m.userid), 'u0000'])) {
      pageCount++;
      expect(page.length).toBeLessThanOrEqual(100);
      for (const item of page) seenPairs.add(`${item.external_contact.external_userid}|${item.follow_info.userid}`);
    }
    expect(seenPairs.size).toBe(250 + 150);
    const batchCalls = await calls('/cgi-bin/externalcontact/batch/get_by_user');
    expect(batchCalls).toHaveLength(pageCount);
    for (const call of batchCalls) expect((call.body as { userid_list: string[] }).userid_list.length).toBeLessThanOrEqual(100);
    expect(new Set(batchCalls.map((x) => (x.body as { userid_list: string[] }).userid_list[0])).size).toBe(3);

    const one = await c.batchGetByUser(['u0001'], undefined, 10);
    expect(one.external_contact_list).toHaveLength(1);
    await expect(c.batchGetByUser(members.slice(0, 101).map((m) => m.userid))).rejects.toThrow(RangeError);
  });
});

describe('typed endpoints against the simulator', () => {
  it('org, OAuth and callback IPs', async () => {
    const c = client();
    expect((await c.listDepartments()).department.map((d) => d.id).sort()).toEqual([1, 2]);
    expect((await c.getDepartment(2)).department.name).toBe('Sales');
    const simple = await c.listSimpleUsers(1, true);
    expect(simple.userlist.map((u) => u.userid).sort()).toEqual(['alice', 'bob', 'carol', 'dave']);
    expect((await c.listSimpleUsers(1, false)).userlist.map((u) => u.userid)).toEqual(['carol']);
    const alice = await c.getUser('alice');
    expect(alice).toMatchObject({ userid: 'alice', department: [2], is_leader_in_dept: [1], status: 1 });
    const { code } = await simControl<{ code: string }>('POST', '/sim/oauth/code', { userid: 'bob' });
    expect((await c.getUserInfoByCode(code)).userid).toBe('bob');
    expect((await failure(c.getUserInfoByCode(code))).errcode).toBe(40029);
    expect(await c.getCallbackIps()).toEqual(expect.arrayContaining([expect.any(String)]));
    expect((await failure(c.getUser('nobody'))).kind).toBe('permanent');
  });

  it('jsapi and agent_config tickets are cached in Redis like the token', async () => {
    const a = client();
    const b = client();
    const [corpTicket, agentTicket] = await Promise.all([a.getJsapiTicket(), a.getAgentConfigTicket()]);
    expect(await b.getJsapiTicket()).toBe(corpTicket);
    expect(await b.getAgentConfigTicket()).toBe(agentTicket);
    expect(corpTicket).not.toBe(agentTicket);
    expect(await calls('/cgi-bin/get_jsapi_ticket')).toHaveLength(1);
    const agentCalls = await calls('/cgi-bin/ticket/get');
    expect(agentCalls).toHaveLength(1);
    expect(agentCalls[0]!.query.type).toBe('agent_config');
  });

  it('customers and corp tags', async () => {
    const c = client();
    expect((await c.listExternalContacts('alice')).external_userid.sort()).toEqual(['wm_cust_a', 'wm_cust_c']);
    expect((await c.listExternalContacts('carol')).external_userid).toEqual([]);

    const a = await c.getExternalContact('wm_cust_a');
    expect(a.external_contact.name).toBe('Customer A');
    expect(a.follow_user[0]).toMatchObject({ userid: 'alice', remark: 'A', state: 'fair2025' });
    expect(a.follow_user[0]!.tags).toEqual([expect.objectContaining({ tag_name: 'VIP', group_name: 'Level', type: 1 })]);

    const added = await c.addCorpTag({ group_name: 'Source', tag: [{ name: 'Expo' }, { name: 'Web' }] });
    expect(added.tag_group.tag.map((t) => t.name)).toEqual(['Expo', 'Web']);
    const expo = added.tag_group.tag[0]!;
    await c.markTag({ userid: 'bob', external_userid: 'wm_cust_b', add_tag: [expo.id] });
    const batch = await c.batchGetByUser(['bob']);
    const b = batch.external_contact_list.find((x) => x.external_contact.external_userid === 'wm_cust_b')!;
    expect(b.follow_info.tag_id).toEqual([expo.id]);

    await c.editCorpTag({ id: expo.id, name: 'Trade fair' });
    const filtered = await c.getCorpTagList({ groupIds: [added.tag_group.group_id] });
    expect(filtered.tag_group).toHaveLength(1);
    expect(filtered.tag_group[0]!.tag.map((t) => t.name)).toContain('Trade fair');
    await c.delCorpTag({ tag_id: [added.tag_group.tag[1]!.id] });
    const afterDelete = await c.getCorpTagList({ groupIds: [added.tag_group.group_id] });
    expect(afterDelete.tag_group[0]!.tag.filter((t) => !t.deleted).map((t) => t.name)).toEqual(['Trade fair']);

    await c.remark({ userid: 'bob', external_userid: 'wm_cust_b', remark: 'Bee', description: 'met at the fair' });
    const bDetail = await c.getExternalContact('wm_cust_b');
    expect(bDetail.follow_user[0]).toMatchObject({ remark: 'Bee', description: 'met at the fair' });
  });

  it('rule groups and rule-group tags', async () => {
    const c = client();
    const { strategy_id } = await c.createStrategy({
      strategy_name: 'East region',
      admin_list: ['alice'],
      privilege: { view_customer_list: true, manage_customer_tag: true },
      range: [{ type: 1, userid: 'alice' }, { type: 2, partyid: 1 }],
    });
    expect((await c.listStrategies()).map((s) => s.strategy_id)).toContain(strategy_id);
    const got = await c.getStrategy(strategy_id);
    expect(got.strategy).toMatchObject({ strategy_id, strategy_name: 'East region', admin_list: ['alice'] });
    expect(await c.getStrategyRange(strategy_id)).toEqual(
      expect.arrayContaining([{ type: 1, userid: 'alice' }, { type: 2, partyid: 1 }]),
    );
    await c.editStrategy({ strategy_id, strategy_name: 'East', range_add: [{ type: 1, userid: 'bob' }] });
    expect((await c.getStrategy(strategy_id)).strategy.strategy_name).toBe('East');
    expect(await c.getStrategyRange(strategy_id)).toContainEqual({ type: 1, userid: 'bob' });

    const group = await c.addStrategyTag({ strategy_id, group_name: 'East levels', tag: [{ name: 'Gold' }] });
    expect(group.tag_group.strategy_id).toBe(strategy_id);
    const goldId = group.tag_group.tag[0]!.id;
    await c.markTag({ userid: 'alice', external_userid: 'wm_cust_a', add_tag: [goldId] });
    await c.editStrategyTag({ id: goldId, name: 'Platinum' });
    const list = await c.getStrategyTagList({ strategyId: strategy_id });
    expect(list.tag_group[0]!.tag[0]!.name).toBe('Platinum');
    await c.delStrategyTag({ group_id: [group.tag_group.group_id] });
    expect((await c.getStrategyTagList({ strategyId: strategy_id })).tag_group).toEqual([]);
    await c.delStrategy(strategy_id);
    expect((await c.listStrategies()).map((s) => s.strategy_id)).not.toContain(strategy_id);
  });

  it('contact ways and welcome messages', async () => {
    const c = client();
    const created = await c.addContactWay({ type: 1, scene: 2, user: ['alice'], state: 'expo2025', remark: 'booth' });
    expect(created.config_id).toBeTruthy();
    expect(created.qr_code).toBeTruthy();
    const got = await c.getContactWay(created.config_id);
    expect(got.contact_way).toMatchObject({ config_id: created.config_id, state: 'expo2025', user: ['alice'] });
    expect((await c.listContactWays()).map((w) => w.config_id)).toContain(created.config_id);
    await c.updateContactWay({ config_id: created.config_id, remark: 'main booth' });
    expect((await c.getContactWay(created.config_id)).contact_way.remark).toBe('main booth');
    await c.delContactWay(created.config_id);
    expect((await failure(c.getContactWay(created.config_id))).errcode).toBe(41044);

    const err = await failure(c.sendWelcomeMsg({ welcome_code: 'not-a-code', text: { content: 'hi' } }));
    expect(err.errcode).toBe(41050);
    expect(err.kind).toBe('permanent');
  });

  it('in-service and resigned transfers', async () => {
    const c = client();
    const started = await c.transferCustomer({ handover_userid: 'alice', takeover_userid: 'dave', external_userid: ['wm_cust_a', 'wm_nobody'] });
    expect(started.customer).toEqual([
      { external_userid: 'wm_cust_a', errcode: 0 },
      { external_userid: 'wm_nobody', errcode: expect.any(Number) },
    ]);
    const results = await c.transferResult('alice', 'dave');
    expect(results).toEqual([expect.objectContaining({ external_userid: 'wm_cust_a', status: 2 })]);

    await simControl('POST', '/sim/members/resign', { userid: 'bob' });
    const unassigned = await c.getUnassignedList();
    expect(unassigned.map((u) => u.external_userid).sort()).toEqual(['wm_cust_b', 'wm_cust_c']);
    expect(unassigned.every((u) => u.handover_userid === 'bob')).toBe(true);
    const resigned = await c.resignedTransferCustomer({ handover_userid: 'bob', takeover_userid: 'dave', external_userid: ['wm_cust_b'] });
    expect(resigned.customer).toEqual([{ external_userid: 'wm_cust_b', errcode: 0 }]);
    expect(await c.resignedTransferResult('bob', 'dave')).toEqual([expect.objectContaining({ external_userid: 'wm_cust_b', status: 2 })]);
    expect((await failure(c.resignedTransferCustomer({ handover_userid: 'alice', takeover_userid: 'dave', external_userid: ['wm_cust_c'] }))).errcode).toBe(40097);
  });

  it('app messages and group-message templates', async () => {
    const c = client();
    const sent = await c.sendAppMessage({ touser: 'alice|nobody', msgtype: 'text', text: { content: 'A customer needs you' } });
    expect(sent.msgid).toBeTruthy();
    expect(sent.invaliduser).toBe('nobody');
    const sendCalls = await calls('/cgi-bin/message/send');
    expect((sendCalls[0]!.body as { agentid: number }).agentid).toBe(AGENT_ID);

    const template = await c.addMsgTemplate({ chat_type: 'single', external_userid: ['wm_cust_a'], sender: 'alice', text: { content: 'Spring offer' } });
    expect(template.msgid).toBeTruthy();
  });
});

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
