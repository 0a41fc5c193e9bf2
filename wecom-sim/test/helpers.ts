// Test helpers: a started simulator and small typed HTTP helpers for its WeCom and control APIs.
import { startSimulator } from '../index.ts';
import type { CompanyFixture, RunningSimulator, SimulatorOptions } from '../index.ts';

export type Json = Record<string, any>;

export const CORP_ID = 'wwtestcorp000000001';
export const SECRET = 'test-secret';

/** A small company: a root, two regions with one city each, five members, two tag groups, one rule group. */
export function smallCompany(extra: Partial<CompanyFixture> = {}): CompanyFixture {
  return {
    corpId: CORP_ID,
    agentId: 1000005,
    secret: SECRET,
    departments: [
      { id: 1, name: '总部', parentid: 0, order: 1 },
      { id: 2, name: '华东', parentid: 1, order: 2 },
      { id: 3, name: '华南', parentid: 1, order: 3 },
      { id: 4, name: '上海', parentid: 2, order: 4 },
    ],
    users: [
      { userid: 'boss', name: '老板', department: [1], is_leader_in_dept: [1], position: '总经理', status: 1 },
      { userid: 'alice', name: '爱丽丝', department: [4], is_leader_in_dept: [1], position: '店长', status: 1 },
      { userid: 'bob', name: '鲍勃', department: [3], is_leader_in_dept: [0], position: '导购', status: 1 },
      { userid: 'carol', name: '卡罗', department: [4], is_leader_in_dept: [0], position: '导购', status: 1 },
      { userid: 'dave', name: '戴夫', department: [3], is_leader_in_dept: [0], position: '导购', status: 5 },
    ],
    corpTags: [
      { group_name: '客户等级', tag: [{ name: 'VIP' }, { name: '普通' }] },
      { group_name: '行业', tag: [{ name: '教育' }, { name: '金融' }] },
    ],
    strategies: [
      { strategy_name: '华东规则组', range: [{ type: 2, partyid: 2 }], tagGroups: [{ group_name: '华东活动', tag: [{ name: '会员日' }] }] },
    ],
    contactWays: [{ state: 'shop_sh_01', user: ['alice'] }],
    customers: [
      {
        external_userid: 'wmcustomer1',
        name: '客户一',
        type: 1,
        follow_users: [
          { userid: 'alice', tags: ['VIP', '华东活动/会员日'], personal_tags: ['老朋友'], remark: '一号', state: 'shop_sh_01' },
          { userid: 'bob', tags: ['教育'], remark: '' },
        ],
      },
      { external_userid: 'wmcustomer2', name: '客户二', type: 2, corp_name: '某公司', follow_users: [{ userid: 'bob', tags: ['普通'] }] },
      { external_userid: 'wmcustomer3', name: '客户三', follow_users: [{ userid: 'dave', tags: [] }] },
    ],
    ...extra,
  };
}

export class Client {
  private token?: string;
  constructor(readonly sim: RunningSimulator, private readonly secret = SECRET, private readonly corpId = CORP_ID) {}

  async raw(path: string, init?: RequestInit): Promise<Response> {
    return fetch(`${this.sim.url}${path}`, init);
  }

  async gettoken(): Promise<Json> {
    const res = await this.raw(`/cgi-bin/gettoken?corpid=${this.corpId}&corpsecret=${encodeURIComponent(this.secret)}`);
    const json = (await res.json()) as Json;
    if (json.errcode === 0) this.token = json.access_token;
    return json;
  }

  async accessToken(): Promise<string> {
    if (!this.token) await this.gettoken();
    return this.token!;
  }

  /**
   * GET when body is undefined, else POST JSON. `query` is appended after access_token. Like a real
   * client, refreshes the token once on 40014/42001 (tests that assert those codes use raw()).
   */
  async api(path: string, body?: unknown, query: Record<string, string> = {}, retried = false): Promise<Json> {
    const params = new URLSearchParams({ access_token: await this.accessToken(), ...query });
    const res = await this.raw(`/cgi-bin/${path}?${params}`, body === undefined ? undefined : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const json = (await res.json()) as Json;
    if (!retried && (json.errcode === 42001 || json.errcode === 40014)) {
      await this.gettoken();
      return this.api(path, body, query, true);
    }
    return json;
  }

  async control(path: string, body?: unknown, method?: string): Promise<{ status: number; json: Json }> {
    const res = await this.raw(`/sim/${path}`, {
      method: method ?? (body === undefined ? 'GET' : 'POST'),
      ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    });
    return { status: res.status, json: (await res.json()) as Json };
  }

  /** A control call that must succeed. */
  async ok(path: string, body?: unknown): Promise<Json> {
    const { status, json } = await this.control(path, body);
    if (status !== 200) throw new Error(`${path} → ${status} ${JSON.stringify(json)}`);
    return json;
  }
}

export async function started(options: SimulatorOptions = {}): Promise<{ sim: RunningSimulator; client: Client }> {
  const sim = await startSimulator({ seed: smallCompany(), ...options });
  return { sim, client: new Client(sim) };
}
