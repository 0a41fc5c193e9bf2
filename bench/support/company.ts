// The benchmark company (the simulator's demo company, optionally with many more customers) and
// WeCom-style callback requests for it, encrypted and signed with the product's own crypto wrapper.
import { randomBytes } from 'node:crypto';
import { encryptMessage, signatureOf, type CallbackCredentials } from '../../server/wecom/callback-crypto.ts';
import { demoCompany, type CompanyFixture } from '../../wecom-sim/index.ts';
import type { LoadRequest } from './load-generator.ts';

export interface BenchCredentials {
  corpId: string;
  agentId: number;
  agentSecret: string;
  callbackToken: string;
  callbackAesKey: string;
  sessionSecret: string;
}

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const alphanumeric = (length: number): string => Array.from(randomBytes(length), (b) => ALPHANUMERIC[b % ALPHANUMERIC.length]).join('');

export function benchCredentials(): BenchCredentials {
  return {
    corpId: 'wwbench0000000001',
    agentId: 1000002,
    agentSecret: alphanumeric(43),
    callbackToken: alphanumeric(32),
    callbackAesKey: alphanumeric(43),
    sessionSecret: alphanumeric(48),
  };
}

export const callbackCredentialsOf = (c: BenchCredentials): CallbackCredentials => ({ token: c.callbackToken, encodingAesKey: c.callbackAesKey, receiveId: c.corpId });

type Fixture = CompanyFixture & { users: NonNullable<CompanyFixture['users']>; customers: NonNullable<CompanyFixture['customers']> };

/** Active members of the demo company (the ones a customer can be added to). */
export function activeMembers(): string[] {
  return (demoCompany().users ?? []).filter((u) => (u.status ?? 1) === 1).map((u) => u.userid);
}

export interface BenchCustomer {
  externalUserId: string;
  userid: string;
}

/**
 * The demo company plus `extra` customers, each followed by one active member with two corp tags
 * (so processing an event writes a customer, a relation and its tags, as for a real customer).
 */
export function benchCompany(credentials: BenchCredentials, extra: number, idPrefix: string): { fixture: Fixture; customers: BenchCustomer[] } {
  const demo = demoCompany() as Fixture;
  const members = activeMembers();
  const levels = ['VIP', '普通', '潜在'];
  const sensitivity = ['高', '中', '低'];
  const customers: BenchCustomer[] = [];
  for (let i = 0; i < extra; i++) {
    const externalUserId = `${idPrefix}${String(i).padStart(8, '0')}`;
    const userid = members[i % members.length]!;
    customers.push({ externalUserId, userid });
    demo.customers.push({
      external_userid: externalUserId,
      name: `压测客户${i}`,
      follow_users: [{ userid, tags: [`客户等级/${levels[i % 3]}`, `促销敏感度/${sensitivity[(i >> 2) % 3]}`], remark: `客户${i}`, state: 'bench' }],
    });
  }
  const fixture: Fixture = { ...demo, corpId: credentials.corpId, agentId: credentials.agentId, secret: credentials.agentSecret };
  return { fixture, customers };
}

function cdata(value: string): string {
  return `<![CDATA[${value}]]>`;
}

/** One `change_external_contact` callback as WeCom sends it: encrypted XML body, signed query. */
export function callbackRequest(credentials: BenchCredentials, event: { changeType: string; userid: string; externalUserId: string; createTime: number }): LoadRequest {
  const plain = `<xml><ToUserName>${cdata(credentials.corpId)}</ToUserName><FromUserName>${cdata('sys')}</FromUserName>`
    + `<CreateTime>${event.createTime}</CreateTime><MsgType>${cdata('event')}</MsgType><Event>${cdata('change_external_contact')}</Event>`
    + `<ChangeType>${cdata(event.changeType)}</ChangeType><UserID>${cdata(event.userid)}</UserID><ExternalUserID>${cdata(event.externalUserId)}</ExternalUserID></xml>`;
  const encrypted = encryptMessage(callbackCredentialsOf(credentials), plain);
  const timestamp = String(event.createTime);
  const nonce = randomBytes(6).toString('hex');
  const signature = signatureOf(credentials.callbackToken, timestamp, nonce, encrypted);
  const body = `<xml><ToUserName>${cdata(credentials.corpId)}</ToUserName><AgentID>${cdata(String(credentials.agentId))}</AgentID><Encrypt>${cdata(encrypted)}</Encrypt></xml>`;
  return { path: `/wecom/callback?msg_signature=${signature}&timestamp=${timestamp}&nonce=${nonce}`, body, contentType: 'text/xml' };
}
