// Encrypted callback delivery, behaving like WeCom: XML event encrypted and signed (crypto.ts),
// POSTed to the configured URL with msg_signature/timestamp/nonce in the query, a deadline per
// attempt (5 s by default) and up to 3 retries on timeout or any non-200 status. Every attempt is
// recorded so tests can assert on delivery behaviour, not just on final state.
import { computeSignature, encryptMessage, randomNonce } from './crypto.ts';
import type { CallbackConfig, SimClock } from './state.ts';
import { randomBytes } from 'node:crypto';

export interface CallbackEvent {
  Event: 'change_external_contact' | 'change_external_tag' | 'change_contact';
  ChangeType: string;
  /** change_contact update_user: the member's new userid, when it changed. */
  NewUserID?: string;
  FailReason?: string;
  UserID?: string;
  ExternalUserID?: string;
  State?: string;
  WelcomeCode?: string;
  Source?: string;
  Id?: string;
  TagType?: 'tag' | 'tag_group';
  StrategyId?: number;
}

/** Field order follows the samples in wecom-api.md §3. */
const FIELD_ORDER: (keyof CallbackEvent)[] = [
  'Id', 'TagType', 'StrategyId', 'ChangeType', 'FailReason', 'UserID', 'NewUserID', 'ExternalUserID', 'State', 'WelcomeCode', 'Source',
];

export interface DeliveryAttempt {
  at: string;
  status?: number;
  error?: 'timeout' | string;
  ms: number;
}

export interface DeliveryRecord {
  id: number;
  event: CallbackEvent & { ToUserName: string; FromUserName: 'sys'; CreateTime: number; MsgType: 'event' };
  /** Wall-clock milliseconds when the event happened (queued for delivery), like the attempts' `at`. */
  emittedAtMs: number;
  /** Target URL without its query; null when no callback URL was configured (nothing is sent). */
  url: string | null;
  attempts: DeliveryAttempt[];
  lastStatus: number | 'timeout' | 'error' | null;
  delivered: boolean;
  /** True once delivered, retries are exhausted, no URL is configured, or the simulator closed. */
  finished: boolean;
}

export interface DispatcherOptions {
  clock: SimClock;
  timeoutMs: number;
  retryDelaysMs: number[];
  log: (line: string) => void;
  target: () => { corpId: string; agentId: number; callback?: CallbackConfig };
}

function cdata(value: string): string {
  // "]]>" cannot appear inside one CDATA section; split it across two.
  return `<![CDATA[${value.replaceAll(']]>', ']]]]><![CDATA[>')}]]>`;
}

export function eventXml(event: DeliveryRecord['event']): string {
  let xml = `<xml><ToUserName>${cdata(event.ToUserName)}</ToUserName><FromUserName>${cdata('sys')}</FromUserName>`;
  xml += `<CreateTime>${event.CreateTime}</CreateTime><MsgType>${cdata('event')}</MsgType><Event>${cdata(event.Event)}</Event>`;
  for (const key of FIELD_ORDER) {
    const value = event[key];
    if (value === undefined) continue;
    xml += typeof value === 'number' ? `<${key}>${value}</${key}>` : `<${key}>${cdata(String(value))}</${key}>`;
  }
  return `${xml}</xml>`;
}

function withQuery(url: string, params: Record<string, string>): string {
  const target = new URL(url);
  for (const [k, v] of Object.entries(params)) target.searchParams.set(k, v);
  return target.toString();
}

function stripQuery(url: string): string {
  const u = new URL(url);
  return `${u.origin}${u.pathname}`;
}

export class CallbackDispatcher {
  private records: DeliveryRecord[] = [];
  private nextId = 1;
  private active = 0;
  private waiters: (() => void)[] = [];
  private timers = new Set<NodeJS.Timeout>();
  private controllers = new Set<AbortController>();
  private closed = false;
  private chains = new Map<string, Promise<void>>();

  constructor(private readonly options: DispatcherOptions) {}

  list(): DeliveryRecord[] {
    return this.records;
  }

  clear(): void {
    this.records = [];
  }

  /** Queues one event; each event is its own delivery even when two share a CreateTime second. */
  send(event: CallbackEvent): DeliveryRecord {
    const target = this.options.target();
    const record: DeliveryRecord = {
      id: this.nextId++,
      event: { ToUserName: target.corpId, FromUserName: 'sys', CreateTime: this.options.clock.now(), MsgType: 'event', ...event },
      emittedAtMs: Date.now(),
      url: target.callback ? stripQuery(target.callback.url) : null,
      attempts: [],
      lastStatus: null,
      delivered: false,
      finished: !target.callback || this.closed,
    };
    this.records.push(record);
    if (!target.callback || this.closed) return record;
    const config = target.callback;
    const encrypted = encryptMessage(config.aesKey, eventXml(record.event), target.corpId);
    const body =
      `<xml><ToUserName>${cdata(target.corpId)}</ToUserName><AgentID>${cdata(String(target.agentId))}</AgentID>` +
      `<Encrypt>${cdata(encrypted)}</Encrypt></xml>`;
    this.active++;
    // First attempts for the same customer (or tag) go out one after another, in event order, so a
    // receiver sees e.g. del_external_contact before the add that follows it; events about different
    // customers go out in parallel, as WeCom's do. Retries are scheduled independently.
    const key = event.ExternalUserID ?? event.Id ?? '';
    const next = (this.chains.get(key) ?? Promise.resolve())
      .then(() => this.attempt(record, config, encrypted, body, 0))
      .catch((error: unknown) => {
        this.options.log(`callback #${record.id} failed unexpectedly: ${String(error)}`);
        this.finish(record);
      });
    this.chains.set(key, next);
    void next.then(() => {
      if (this.chains.get(key) === next) this.chains.delete(key);
    });
    return record;
  }

  private async attempt(record: DeliveryRecord, config: CallbackConfig, encrypted: string, body: string, n: number): Promise<void> {
    if (this.closed) return this.finish(record);
    const timestamp = String(this.options.clock.now());
    const nonce = randomNonce();
    const url = withQuery(config.url, {
      msg_signature: computeSignature(config.token, timestamp, nonce, encrypted),
      timestamp,
      nonce,
    });
    const outcome = await this.request(url, { method: 'POST', headers: { 'content-type': 'text/xml' }, body });
    record.attempts.push(outcome);
    record.lastStatus = outcome.status ?? (outcome.error === 'timeout' ? 'timeout' : 'error');
    const label = `${record.event.Event}/${record.event.ChangeType}`;
    if (outcome.status === 200) {
      record.delivered = true;
      this.options.log(`callback #${record.id} ${label} delivered (attempt ${n + 1})`);
      return this.finish(record);
    }
    const delay = this.options.retryDelaysMs[n];
    if (delay === undefined || this.closed) {
      this.options.log(`callback #${record.id} ${label} failed after ${n + 1} attempts (${record.lastStatus})`);
      return this.finish(record);
    }
    this.options.log(`callback #${record.id} ${label} attempt ${n + 1} failed (${record.lastStatus}); retrying`);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void this.attempt(record, config, encrypted, body, n + 1);
    }, delay);
    this.timers.add(timer);
  }

  /** One HTTP request with WeCom's deadline; never throws. */
  private async request(url: string, init: RequestInit): Promise<DeliveryAttempt & { text?: string }> {
    const started = Date.now();
    const controller = new AbortController();
    this.controllers.add(controller);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.options.timeoutMs);
    try {
      const res = await fetch(url, { ...init, signal: controller.signal });
      const text = await res.text();
      return { at: new Date().toISOString(), status: res.status, ms: Date.now() - started, text };
    } catch (error) {
      const message = timedOut ? 'timeout' : this.closed ? 'closed' : (error as Error).message;
      return { at: new Date().toISOString(), error: message, ms: Date.now() - started };
    } finally {
      clearTimeout(timer);
      this.controllers.delete(controller);
    }
  }

  private finish(record: DeliveryRecord): void {
    if (record.finished) return;
    record.finished = true;
    this.active--;
    if (this.active === 0) for (const resolve of this.waiters.splice(0)) resolve();
  }

  /**
   * WeCom's URL verification: GET with an encrypted echostr; the receiver must answer 200 with the
   * bare plaintext. Uses the same deadline as event delivery.
   */
  async verify(config: CallbackConfig, corpId: string): Promise<{ verified: boolean; status?: number; error?: string }> {
    const echo = String(BigInt(`0x${randomBytes(8).toString('hex')}`));
    const echostr = encryptMessage(config.aesKey, echo, corpId);
    const timestamp = String(this.options.clock.now());
    const nonce = randomNonce();
    const url = withQuery(config.url, {
      msg_signature: computeSignature(config.token, timestamp, nonce, echostr),
      timestamp,
      nonce,
      echostr,
    });
    const outcome = await this.request(url, { method: 'GET' });
    if (outcome.status === undefined) return { verified: false, error: outcome.error };
    if (outcome.status !== 200) return { verified: false, status: outcome.status, error: `HTTP ${outcome.status}` };
    if (outcome.text !== echo) return { verified: false, status: 200, error: 'reply body is not the decrypted echostr' };
    return { verified: true, status: 200 };
  }

  /** Resolves when no delivery is in flight or waiting for a retry. */
  idle(): Promise<void> {
    if (this.active === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Cancels pending retries and aborts in-flight requests. */
  close(): void {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const controller of this.controllers) controller.abort();
    for (const record of this.records) this.finish(record);
  }
}
