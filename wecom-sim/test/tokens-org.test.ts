// Tokens (41001/40014/42001/40001/40013), the frequency limit (45009), org reads and OAuth codes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, CORP_ID, started } from './helpers.ts';
import type { RunningSimulator } from '../index.ts';

let sim: RunningSimulator;
let client: Client;

beforeAll(async () => {
  ({ sim, client } = await started({ tokenTtlSeconds: 600 }));
});
afterAll(() => sim.close());

describe('access tokens', () => {
  it('issues a token with the configured lifetime and reuses it while valid', async () => {
    const first = await client.gettoken();
    expect(first).toMatchObject({ errcode: 0, errmsg: 'ok', expires_in: 600 });
    expect(typeof first.access_token).toBe('string');
    const again = await client.gettoken();
    expect(again.access_token).toBe(first.access_token);
  });

  it('rejects a wrong secret (40001), an unknown corp (40013) and missing parameters', async () => {
    const wrong = await new Client(sim, 'not-the-secret').gettoken();
    expect(wrong.errcode).toBe(40001);
    const unknown = await new Client(sim, 'x', 'wwunknown').gettoken();
    expect(unknown.errcode).toBe(40013);
    const missing = await (await client.raw(`/cgi-bin/gettoken?corpid=${CORP_ID}`)).json();
    expect(missing.errcode).toBe(41004);
  });

  it('answers a missing token with 41001 and an unknown one with 40014', async () => {
    expect(await (await client.raw('/cgi-bin/user/get?userid=alice')).json()).toMatchObject({ errcode: 41001 });
    expect(await (await client.raw('/cgi-bin/user/get?userid=alice&access_token=bogus')).json()).toMatchObject({ errcode: 40014 });
  });

  it('expires tokens on the simulator clock (42001), after which gettoken gives a new one', async () => {
    const token = await client.accessToken();
    expect((await client.api('user/get', undefined, { userid: 'alice' })).errcode).toBe(0);
    await client.ok('clock/advance', { seconds: 601 });
    const expired = await (await client.raw(`/cgi-bin/user/get?userid=alice&access_token=${token}`)).json();
    expect(expired.errcode).toBe(42001);
    const fresh = await client.gettoken();
    expect(fresh.access_token).not.toBe(token);
    expect((await client.api('user/get', undefined, { userid: 'alice' })).errcode).toBe(0);
  });

  it('serves JS-SDK tickets and callback IPs', async () => {
    expect(await client.api('get_jsapi_ticket')).toMatchObject({ errcode: 0, expires_in: 7200 });
    const agent = await client.api('ticket/get', undefined, { type: 'agent_config' });
    expect(agent.errcode).toBe(0);
    expect(typeof agent.ticket).toBe('string');
    expect((await client.api('getcallbackip')).ip_list).toEqual(['127.0.0.1']);
  });
});

describe('frequency limit', () => {
  it('answers 45009 past the per-corp per-API limit, per path, and recovers next minute', async () => {
    const limited = await started({ rateLimitPerMinute: 3 });
    try {
      const c = limited.client;
      await c.ok('clock/advance', { seconds: 60 - (Math.floor(Date.now() / 1000) % 60) });
      const codes: number[] = [];
      for (let i = 0; i < 4; i++) codes.push((await c.api('user/get', undefined, { userid: 'alice' })).errcode);
      expect(codes).toEqual([0, 0, 0, 45009]);
      expect((await c.api('department/list')).errcode).toBe(0);
      await c.ok('clock/advance', { seconds: 61 });
      expect((await c.api('user/get', undefined, { userid: 'alice' })).errcode).toBe(0);
    } finally {
      await limited.sim.close();
    }
  });
});

describe('org', () => {
  it('lists departments with leaders, sub-trees and single departments', async () => {
    const all = await client.api('department/list');
    expect(all.department).toHaveLength(4);
    expect(all.department.find((d: { id: number }) => d.id === 4)).toMatchObject({ name: '上海', parentid: 2, department_leader: ['alice'] });
    const sub = await client.api('department/list', undefined, { id: '2' });
    expect(sub.department.map((d: { id: number }) => d.id).sort()).toEqual([2, 4]);
    expect((await client.api('department/simplelist')).department_id[0]).toEqual({ id: 1, parentid: 0, order: 1 });
    expect((await client.api('department/get', undefined, { id: '3' })).department).toMatchObject({ id: 3, name: '华南' });
    expect((await client.api('department/get', undefined, { id: '99' })).errcode).toBe(60123);
  });

  it('reads members, including one who left (status 5), and 60111 for unknown ones', async () => {
    expect(await client.api('user/get', undefined, { userid: 'alice' })).toMatchObject({ errcode: 0, name: '爱丽丝', department: [4], is_leader_in_dept: [1], status: 1, position: '店长' });
    expect(await client.api('user/get', undefined, { userid: 'dave' })).toMatchObject({ status: 5 });
    expect((await client.api('user/get', undefined, { userid: 'nobody' })).errcode).toBe(60111);
  });

  it('lists members of a department with and without children, and pages user/list_id', async () => {
    const direct = await client.api('user/simplelist', undefined, { department_id: '2', fetch_child: '0' });
    expect(direct.userlist).toEqual([]);
    const child = await client.api('user/simplelist', undefined, { department_id: '2', fetch_child: '1' });
    expect(child.userlist.map((u: { userid: string }) => u.userid).sort()).toEqual(['alice', 'carol']);
    const first = await client.api('user/list_id', { limit: 2 });
    expect(first.dept_user).toHaveLength(2);
    const second = await client.api('user/list_id', { cursor: first.next_cursor, limit: 10 });
    expect(second.dept_user).toHaveLength(2);
    expect(second.next_cursor).toBe('');
  });
});

describe('OAuth2', () => {
  it('serves a member picker that redirects back with a code and the state', async () => {
    const page = await client.raw(`/connect/oauth2/authorize?appid=${CORP_ID}&redirect_uri=${encodeURIComponent('http://app.test/cb?x=1')}&response_type=code&scope=snsapi_base&state=abc123&agentid=1000005`);
    const html = await page.text();
    expect(html).toContain('爱丽丝');
    const link = /href="([^"]*userid=alice[^"]*)"/.exec(html)![1]!.replaceAll('&#38;', '&');
    const redirect = await client.raw(link, { redirect: 'manual' });
    expect(redirect.status).toBe(302);
    const target = new URL(redirect.headers.get('location')!);
    expect(target.origin + target.pathname).toBe('http://app.test/cb');
    expect(target.searchParams.get('state')).toBe('abc123');
    expect(target.searchParams.get('x')).toBe('1');
    const info = await client.api('auth/getuserinfo', undefined, { code: target.searchParams.get('code')! });
    expect(info).toMatchObject({ errcode: 0, userid: 'alice' });
  });

  it('makes codes single-use (40029) and expires them after 5 minutes', async () => {
    const { code } = await client.ok('oauth/code', { userid: 'bob' });
    expect((await client.api('auth/getuserinfo', undefined, { code })).userid).toBe('bob');
    expect((await client.api('auth/getuserinfo', undefined, { code })).errcode).toBe(40029);
    const late = await client.ok('oauth/code', { userid: 'bob' });
    await client.ok('clock/advance', { seconds: 301 });
    await client.gettoken();
    expect((await client.api('auth/getuserinfo', undefined, { code: late.code })).errcode).toBe(40029);
    expect((await client.api('auth/getuserinfo')).errcode).toBe(41008);
  });
});
