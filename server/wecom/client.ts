// WeCom server-API client: access token per app secret cached in Redis with single-flight refresh,
// refresh-and-retry once on 40014/42001, bounded backoff on transient errors, typed errors, and thin
// typed wrappers for the endpoints the product uses (wecom-api.md §4–§8).
//
// The access token travels as a URL query parameter, so nothing here ever logs or throws a URL, an
// axios error or a request config: errors are built from the path alone and secrets are redacted.

import { createHash } from 'node:crypto';
import axios from 'axios';
import type { AxiosInstance } from 'axios';
import type { Redis } from 'ioredis';
import {
  REFRESHABLE_TOKEN_ERRCODES,
  WecomApiError,
  WecomNetworkError,
  httpStatusFailure,
  invalidResponse,
  networkFailure,
  redact,
} from './errors.ts';
import { TokenCache } from './token-cache.ts';
import type { FetchedCredential } from './token-cache.ts';
import type * as Api from './api-types.ts';
import type { WecomCallResult } from '../observability/metrics.ts';

export { WecomApiError, WecomNetworkError, isTransient, isConfigError, isWecomApiError } from './errors.ts';

export interface WecomLogger {
  debug?(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface WecomClientOptions {
  /** e.g. https://qyapi.weixin.qq.com (WECOM_API_BASE). */
  apiBase: string;
  corpId: string;
  /** The self-built app's secret (WECOM_AGENT_SECRET). */
  secret: string;
  agentId?: number;
  redis: Redis;
  /** Prefix of every Redis key this client writes; default "wecom:". */
  keyPrefix?: string;
  /** Per HTTP request; default 10 000 ms. */
  timeoutMs?: number;
  /** Retries after a transient failure (-1, 45009, 45033, network, timeout, HTTP 5xx); default 3. */
  maxTransientRetries?: number;
  /** First backoff delay; doubles per retry, with jitter; default 500 ms. */
  backoffBaseMs?: number;
  logger?: WecomLogger;
  /** Told of every HTTP call's end: the path, its errcode (or why it has none), and how long it took. */
  onCall?: (path: string, result: WecomCallResult, seconds: number) => void;
}

type Query = Record<string, string | number | boolean | undefined>;
type Method = 'GET' | 'POST';

interface CallOptions {
  /** Transient failures retried within this call. */
  maxRetries: number;
  /**
   * False for writes that must not happen twice (send a message, create a contact way, start a
   * transfer): a failure after which WeCom may have applied the request is then not repeated.
   */
  idempotent: boolean;
}

const GETTOKEN_PATH = '/cgi-bin/gettoken';
const MAX_BACKOFF_MS = 30_000;
/** Guards against a server that keeps answering the same cursor. */
const MAX_PAGES = 100_000;

const silentLogger: WecomLogger = { info() {}, warn() {}, error() {} };

export class WecomClient {
  readonly corpId: string;
  readonly agentId: number | undefined;
  private readonly secret: string;
  private readonly http: AxiosInstance;
  private readonly tokens: TokenCache;
  private readonly keyBase: string;
  private readonly timeoutMs: number;
  private readonly maxTransientRetries: number;
  private readonly backoffBaseMs: number;
  private readonly logger: WecomLogger;
  private readonly onCall: WecomClientOptions['onCall'];

  constructor(options: WecomClientOptions) {
    this.corpId = options.corpId;
    this.agentId = options.agentId;
    this.secret = options.secret;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.maxTransientRetries = options.maxTransientRetries ?? 3;
    this.backoffBaseMs = options.backoffBaseMs ?? 500;
    this.logger = options.logger ?? silentLogger;
    this.onCall = options.onCall;
    // One token per app secret; the key holds a hash prefix of the secret, never the secret itself.
    const secretHash = createHash('sha256').update(options.secret).digest('hex').slice(0, 16);
    this.keyBase = `${options.keyPrefix ?? 'wecom:'}${options.corpId}:${secretHash}`;
    this.http = axios.create({
      baseURL: options.apiBase.replace(/\/+$/, ''),
      timeout: this.timeoutMs,
      validateStatus: () => true,
      transitional: { clarifyTimeoutError: true },
    });
    // A ticket fetch may need a token fetch and a retry after 42001: three requests at most.
    this.tokens = new TokenCache({ redis: options.redis, lockTtlMs: 3 * this.timeoutMs + 2_000 });
  }

  // ── core ──────────────────────────────────────────────────────────────────────────────────────────

  get<T>(path: string, query?: Query): Promise<T> {
    return this.call<T>('GET', path, query, undefined, { maxRetries: this.maxTransientRetries, idempotent: true });
  }

  post<T>(path: string, body: unknown, query?: Query): Promise<T> {
    return this.call<T>('POST', path, query, body, { maxRetries: this.maxTransientRetries, idempotent: true });
  }

  /** POST for writes that must not be applied twice (see CallOptions.idempotent). */
  private postOnce<T>(path: string, body: unknown): Promise<T> {
    return this.call<T>('POST', path, undefined, body, { maxRetries: this.maxTransientRetries, idempotent: false });
  }

  /** The app's access token (cached; fetched from WeCom when missing or expired). */
  getAccessToken(): Promise<string> {
    return this.withTransientRetry(GETTOKEN_PATH, () => this.currentToken());
  }

  private currentToken(): Promise<string> {
    return this.tokens.get(`${this.keyBase}:access_token`, GETTOKEN_PATH, () => this.fetchToken());
  }

  private async fetchToken(): Promise<FetchedCredential> {
    try {
      const reply = await this.send<Api.GetTokenResponse>('GET', GETTOKEN_PATH, { corpid: this.corpId, corpsecret: this.secret }, undefined);
      if (typeof reply.access_token !== 'string' || !reply.access_token || typeof reply.expires_in !== 'number') {
        throw invalidResponse(GETTOKEN_PATH, 'gettoken answered without access_token/expires_in');
      }
      this.logger.info({ corpId: this.corpId, expiresIn: reply.expires_in }, 'wecom access token refreshed');
      return { value: reply.access_token, expiresIn: reply.expires_in };
    } catch (err) {
      if (err instanceof WecomApiError && err.kind === 'config') {
        this.logger.error({ corpId: this.corpId, path: err.path, errcode: err.errcode }, err.message);
      }
      throw err;
    }
  }

  private async call<T>(method: Method, path: string, query: Query | undefined, body: unknown, options: CallOptions): Promise<T> {
    let refreshed = false;
    let transientFailures = 0;
    for (;;) {
      let token: string | undefined;
      try {
        token = await this.currentToken();
        return await this.send<T>(method, path, { ...query, access_token: token }, body);
      } catch (raw) {
        if (!(raw instanceof WecomApiError)) throw raw;
        const err = raw;
        if (token && !refreshed && err.kind === 'token' && REFRESHABLE_TOKEN_ERRCODES.has(err.errcode)) {
          refreshed = true;
          this.logger.warn({ path, errcode: err.errcode }, 'wecom access token rejected: refreshing and retrying once');
          await this.tokens.invalidate(`${this.keyBase}:access_token`, token);
          continue;
        }
        // A write that may have been applied is not repeated; a failed token fetch sent nothing yet.
        const repeatable = options.idempotent || !token || !(err instanceof WecomNetworkError && err.maybeApplied);
        if (err.kind === 'transient' && repeatable && transientFailures < options.maxRetries) {
          await this.backoff(path, err, transientFailures++);
          continue;
        }
        err.attempts = transientFailures + (refreshed ? 2 : 1);
        throw err;
      }
    }
  }

  private async withTransientRetry<T>(path: string, run: () => Promise<T>): Promise<T> {
    for (let failures = 0; ; ) {
      try {
        return await run();
      } catch (err) {
        if (!(err instanceof WecomApiError) || err.kind !== 'transient' || failures >= this.maxTransientRetries) {
          if (err instanceof WecomApiError) err.attempts = failures + 1;
          throw err;
        }
        await this.backoff(path, err, failures++);
      }
    }
  }

  private async backoff(path: string, err: WecomApiError, failures: number): Promise<void> {
    const ceiling = Math.min(this.backoffBaseMs * 2 ** failures, MAX_BACKOFF_MS);
    const delayMs = Math.round(ceiling * (0.5 + Math.random() * 0.5));
    this.logger.warn({ path, errcode: err.errcode, retry: failures + 1, delayMs }, 'wecom transient error: retrying');
    await new Promise((resolve) => setTimeout(resolve, delayMs));
  }

  /** One HTTP request; returns the body on errcode 0, throws a WecomApiError otherwise. */
  private async send<T>(method: Method, path: string, query: Query, body: unknown): Promise<T> {
    const started = process.hrtime.bigint();
    let result: WecomCallResult = 'invalid_response';
    try {
      return await this.request<T>(method, path, query, body, (outcome) => { result = outcome; });
    } finally {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      this.onCall?.(path, result, seconds);
      // The path only: the query carries the access token.
      this.logger.debug?.({ api: path, errcode: result, ms: Math.round(seconds * 1e5) / 100 }, 'wecom call');
    }
  }

  private async request<T>(method: Method, path: string, query: Query, body: unknown, settle: (result: WecomCallResult) => void): Promise<T> {
    const secrets = [this.secret, typeof query.access_token === 'string' ? query.access_token : undefined];
    let status: number;
    let data: unknown;
    try {
      const res = await this.http.request({ method, url: path, params: query, data: body });
      status = res.status;
      data = res.data;
    } catch (err) {
      settle('network');
      const code = axios.isAxiosError(err) ? err.code : undefined;
      throw networkFailure(path, { code, message: err instanceof Error ? err.message : String(err) }, this.timeoutMs, secrets);
    }
    if (status >= 400) {
      settle('http_error');
      throw httpStatusFailure(path, status);
    }
    if (typeof data !== 'object' || data === null) {
      throw invalidResponse(path, `HTTP ${status} with a body that is not JSON: check WECOM_API_BASE`);
    }
    const envelope = data as Api.WecomEnvelope;
    const errcode = envelope.errcode ?? 0;
    if (typeof errcode !== 'number') throw invalidResponse(path, 'errcode is not a number');
    settle(errcode);
    if (errcode !== 0) {
      throw new WecomApiError({ errcode, errmsg: redact(String(envelope.errmsg ?? ''), secrets), path });
    }
    return data as T;
  }

  // ── tokens, tickets ───────────────────────────────────────────────────────────────────────────────

  /** Corp jsapi_ticket (for `config` signatures), cached in Redis like the token. */
  getJsapiTicket(): Promise<string> {
    return this.ticket('jsapi_ticket', '/cgi-bin/get_jsapi_ticket', {});
  }

  /** App ticket (for `agentConfig` signatures), cached in Redis like the token. */
  getAgentConfigTicket(): Promise<string> {
    return this.ticket('agent_config_ticket', '/cgi-bin/ticket/get', { type: 'agent_config' });
  }

  private ticket(name: string, path: string, query: Query): Promise<string> {
    const fetchTicket = async (): Promise<FetchedCredential> => {
      // One attempt while holding the lock; transient failures are retried outside it.
      const reply = await this.call<Api.TicketResponse>('GET', path, query, undefined, { maxRetries: 0, idempotent: true });
      if (typeof reply.ticket !== 'string' || !reply.ticket || typeof reply.expires_in !== 'number') {
        throw invalidResponse(path, 'answered without ticket/expires_in');
      }
      return { value: reply.ticket, expiresIn: reply.expires_in };
    };
    return this.withTransientRetry(path, () => this.tokens.get(`${this.keyBase}:${name}`, path, fetchTicket));
  }

  async getCallbackIps(): Promise<string[]> {
    return (await this.get<Api.CallbackIpResponse>('/cgi-bin/getcallbackip')).ip_list;
  }

  // ── org (§8) ──────────────────────────────────────────────────────────────────────────────────────

  listDepartments(id?: number): Promise<Api.DepartmentListResponse> {
    return this.get('/cgi-bin/department/list', { id });
  }

  getDepartment(id: number): Promise<Api.DepartmentGetResponse> {
    return this.get('/cgi-bin/department/get', { id });
  }

  listSimpleUsers(departmentId: number, fetchChild: boolean): Promise<Api.SimpleUserListResponse> {
    return this.get('/cgi-bin/user/simplelist', { department_id: departmentId, fetch_child: fetchChild ? 1 : 0 });
  }

  getUser(userid: string): Promise<Api.WecomUser> {
    return this.get('/cgi-bin/user/get', { userid });
  }

  /** OAuth2 code → member (`userid`) or visitor (`openid`, `external_userid`). */
  getUserInfoByCode(code: string): Promise<Api.UserInfoByCodeResponse> {
    return this.get('/cgi-bin/auth/getuserinfo', { code });
  }

  // ── customers (§4) ────────────────────────────────────────────────────────────────────────────────

  getFollowUserList(): Promise<Api.FollowUserListResponse> {
    return this.get('/cgi-bin/externalcontact/get_follow_user_list');
  }

  /** A member's customers. WeCom answers 84061 for a member without customers: that becomes []. */
  async listExternalContacts(userid: string): Promise<Api.ExternalContactListResponse> {
    try {
      return await this.get<Api.ExternalContactListResponse>('/cgi-bin/externalcontact/list', { userid });
    } catch (err) {
      if (err instanceof WecomApiError && err.errcode === 84061) return { external_userid: [] };
      throw err;
    }
  }

  /** externalcontact/get, following `next_cursor` (customers with > 500 followers), merged. */
  async getExternalContact(externalUserId: string): Promise<Api.ExternalContactDetail> {
    const path = '/cgi-bin/externalcontact/get';
    let external: Api.ExternalContact | undefined;
    const followers: Api.FollowUser[] = [];
    for await (const page of this.pages(path, (cursor) =>
      this.get<Api.ExternalContactGetResponse>(path, { external_userid: externalUserId, cursor }),
    )) {
      external ??= page.external_contact;
      followers.push(...(page.follow_user ?? []));
    }
    if (!external) throw invalidResponse(path, 'answered without external_contact');
    return { external_contact: external, follow_user: followers };
  }

  /** One page of batch/get_by_user for at most 100 members. */
  async batchGetByUser(userids: string[], cursor?: string, limit = 100): Promise<Api.BatchGetByUserResponse> {
    if (userids.length === 0 || userids.length > 100) {
      throw new RangeError(`batchGetByUser takes 1 to 100 userids, got ${userids.length}`);
    }
    const body: Api.BatchGetByUserRequest = { userid_list: userids, cursor: cursor ?? '', limit };
    return this.post('/cgi-bin/externalcontact/batch/get_by_user', body);
  }

  /**
   * Every (customer, follow relation) of the given members: ids in chunks of 100, each chunk's cursor
   * followed to the end. Yields one array per WeCom page (up to 100 items) so callers can write in batches.
   */
  async *iterateByUsers(userids: Iterable<string>): AsyncGenerator<Api.BatchExternalContactItem[]> {
    const unique = [...new Set(userids)];
    for (let i = 0; i < unique.length; i += 100) {
      const chunk = unique.slice(i, i + 100);
      for await (const page of this.pages('/cgi-bin/externalcontact/batch/get_by_user', (cursor) =>
        this.batchGetByUser(chunk, cursor),
      )) {
        yield page.external_contact_list ?? [];
      }
    }
  }

  async remark(body: Api.RemarkRequest): Promise<void> {
    await this.post('/cgi-bin/externalcontact/remark', body);
  }

  // ── corp tags (§5) ────────────────────────────────────────────────────────────────────────────────

  getCorpTagList(filter: Api.TagFilter = {}): Promise<Api.CorpTagListResponse> {
    return this.post('/cgi-bin/externalcontact/get_corp_tag_list', { tag_id: filter.tagIds ?? [], group_id: filter.groupIds ?? [] });
  }

  addCorpTag(body: Api.AddCorpTagRequest): Promise<Api.AddCorpTagResponse> {
    return this.post('/cgi-bin/externalcontact/add_corp_tag', body);
  }

  async editCorpTag(body: Api.EditCorpTagRequest): Promise<void> {
    await this.post('/cgi-bin/externalcontact/edit_corp_tag', body);
  }

  async delCorpTag(body: Api.DelCorpTagRequest): Promise<void> {
    await this.post('/cgi-bin/externalcontact/del_corp_tag', body);
  }

  async markTag(body: Api.MarkTagRequest): Promise<void> {
    await this.post('/cgi-bin/externalcontact/mark_tag', body);
  }

  // ── rule groups and rule-group tags (§5) ──────────────────────────────────────────────────────────

  /** Every rule group this app created (ids only), following the cursor. */
  listStrategies(): Promise<{ strategy_id: number }[]> {
    return this.collect('/cgi-bin/externalcontact/customer_strategy/list', (cursor) => ({ cursor, limit: 1000 }),
      (page: Api.StrategyListResponse) => page.strategy);
  }

  getStrategy(strategyId: number): Promise<Api.StrategyGetResponse> {
    return this.post('/cgi-bin/externalcontact/customer_strategy/get', { strategy_id: strategyId });
  }

  /** The rule group's whole management range, following the cursor. */
  getStrategyRange(strategyId: number): Promise<Api.StrategyRange[]> {
    return this.collect('/cgi-bin/externalcontact/customer_strategy/get_range',
      (cursor) => ({ strategy_id: strategyId, cursor, limit: 1000 }), (page: Api.StrategyRangeResponse) => page.range);
  }

  createStrategy(body: Api.CreateStrategyRequest): Promise<Api.CreateStrategyResponse> {
    return this.postOnce('/cgi-bin/externalcontact/customer_strategy/create', body);
  }

  async editStrategy(body: Api.EditStrategyRequest): Promise<void> {
    await this.post('/cgi-bin/externalcontact/customer_strategy/edit', body);
  }

  async delStrategy(strategyId: number): Promise<void> {
    await this.post('/cgi-bin/externalcontact/customer_strategy/del', { strategy_id: strategyId });
  }

  getStrategyTagList(filter: Api.StrategyTagFilter): Promise<Api.StrategyTagListResponse> {
    return this.post('/cgi-bin/externalcontact/get_strategy_tag_list', {
      strategy_id: filter.strategyId,
      tag_id: filter.tagIds ?? [],
      group_id: filter.groupIds ?? [],
    });
  }

  addStrategyTag(body: Api.AddStrategyTagRequest): Promise<Api.AddStrategyTagResponse> {
    return this.post('/cgi-bin/externalcontact/add_strategy_tag', body);
  }

  async editStrategyTag(body: Api.EditStrategyTagRequest): Promise<void> {
    await this.post('/cgi-bin/externalcontact/edit_strategy_tag', body);
  }

  async delStrategyTag(body: Api.DelStrategyTagRequest): Promise<void> {
    await this.post('/cgi-bin/externalcontact/del_strategy_tag', body);
  }

  // ── contact ways and welcome messages (§6) ────────────────────────────────────────────────────────

  addContactWay(body: Api.AddContactWayRequest): Promise<Api.AddContactWayResponse> {
    return this.postOnce('/cgi-bin/externalcontact/add_contact_way', body);
  }

  getContactWay(configId: string): Promise<Api.GetContactWayResponse> {
    return this.post('/cgi-bin/externalcontact/get_contact_way', { config_id: configId });
  }

  /** Contact-way ids created in the window (WeCom default: the last 90 days), following the cursor. */
  listContactWays(request: Api.ListContactWayRequest = {}): Promise<{ config_id: string }[]> {
    return this.collect('/cgi-bin/externalcontact/list_contact_way', (cursor) => ({ limit: 1000, ...request, cursor }),
      (page: Api.ListContactWayResponse) => page.contact_way);
  }

  async updateContactWay(body: Api.UpdateContactWayRequest): Promise<void> {
    await this.post('/cgi-bin/externalcontact/update_contact_way', body);
  }

  async delContactWay(configId: string): Promise<void> {
    await this.post('/cgi-bin/externalcontact/del_contact_way', { config_id: configId });
  }

  async sendWelcomeMsg(body: Api.SendWelcomeMsgRequest): Promise<void> {
    await this.postOnce('/cgi-bin/externalcontact/send_welcome_msg', body);
  }

  // ── transfers (§7) ────────────────────────────────────────────────────────────────────────────────

  /** In-service transfer; per-customer errcode 0 only means the handover started. */
  transferCustomer(body: Api.TransferCustomerRequest): Promise<Api.TransferCustomerResponse> {
    return this.postOnce('/cgi-bin/externalcontact/transfer_customer', body);
  }

  /** Status of every customer in an in-service handover, following the cursor. */
  transferResult(handoverUserid: string, takeoverUserid: string): Promise<Api.TransferResultItem[]> {
    return this.transferResults('/cgi-bin/externalcontact/transfer_result', handoverUserid, takeoverUserid);
  }

  /** Every customer of members who left and was not reassigned yet, following the cursor. */
  getUnassignedList(): Promise<Api.UnassignedItem[]> {
    return this.collect('/cgi-bin/externalcontact/get_unassigned_list', (cursor) => ({ cursor, page_size: 1000 }),
      (page: Api.UnassignedListResponse) => page.info);
  }

  resignedTransferCustomer(body: Api.ResignedTransferCustomerRequest): Promise<Api.TransferCustomerResponse> {
    return this.postOnce('/cgi-bin/externalcontact/resigned/transfer_customer', body);
  }

  /** Status of every customer in a resigned-member handover, following the cursor. */
  resignedTransferResult(handoverUserid: string, takeoverUserid: string): Promise<Api.TransferResultItem[]> {
    return this.transferResults('/cgi-bin/externalcontact/resigned/transfer_result', handoverUserid, takeoverUserid);
  }

  private transferResults(path: string, handover: string, takeover: string): Promise<Api.TransferResultItem[]> {
    return this.collect(path, (cursor): Api.TransferResultRequest => ({ handover_userid: handover, takeover_userid: takeover, cursor }),
      (page: Api.TransferResultResponse) => page.customer);
  }

  // ── messages ──────────────────────────────────────────────────────────────────────────────────────

  /** message/send; `agentid` defaults to the client's agentId. */
  async sendAppMessage(body: Api.AppMessageRequest): Promise<Api.AppMessageResponse> {
    const agentid = body.agentid ?? this.agentId;
    if (agentid === undefined) throw new TypeError('sendAppMessage needs an agentid: set WECOM_AGENT_ID');
    return this.postOnce('/cgi-bin/message/send', { ...body, agentid });
  }

  addMsgTemplate(body: Api.AddMsgTemplateRequest): Promise<Api.AddMsgTemplateResponse> {
    return this.postOnce('/cgi-bin/externalcontact/add_msg_template', body);
  }

  /** Each member's task of a group message (whether they pressed send), following the cursor. */
  getGroupmsgTask(msgid: string): Promise<Api.GroupMsgTaskItem[]> {
    return this.collect('/cgi-bin/externalcontact/get_groupmsg_task', (cursor) => ({ msgid, limit: 1000, ...(cursor ? { cursor } : {}) }),
      (page: Api.GroupMsgTaskResponse) => page.task_list);
  }

  /** Per-customer outcome of one member's task, following the cursor. */
  getGroupmsgSendResult(msgid: string, userid: string): Promise<Api.GroupMsgSendItem[]> {
    return this.collect('/cgi-bin/externalcontact/get_groupmsg_send_result', (cursor) => ({ msgid, userid, limit: 1000, ...(cursor ? { cursor } : {}) }),
      (page: Api.GroupMsgSendResultResponse) => page.send_list);
  }

  async cancelGroupmsgSend(msgid: string): Promise<void> {
    await this.postOnce('/cgi-bin/externalcontact/cancel_groupmsg_send', { msgid });
  }

  // ── paging ────────────────────────────────────────────────────────────────────────────────────────

  /** Every item of a POST cursor API: `body(cursor)` per page ('' first), `items(page)` picked and joined. */
  private async collect<P extends { next_cursor?: string }, I>(
    path: string,
    body: (cursor: string) => object,
    items: (page: P) => I[] | undefined,
  ): Promise<I[]> {
    const all: I[] = [];
    for await (const page of this.pages(path, (cursor) => this.post<P>(path, body(cursor ?? '')))) all.push(...(items(page) ?? []));
    return all;
  }

  /** Pages of a cursor API: first call without a cursor, then `next_cursor` until it is empty. */
  private async *pages<P extends { next_cursor?: string }>(
    path: string,
    fetchPage: (cursor: string | undefined) => Promise<P>,
  ): AsyncGenerator<P> {
    const seen = new Set<string>();
    let cursor: string | undefined;
    for (let n = 0; n < MAX_PAGES; n++) {
      const page = await fetchPage(cursor);
      yield page;
      cursor = page.next_cursor || undefined;
      if (!cursor || (page as { is_last?: boolean }).is_last === true) return;
      if (seen.has(cursor)) throw invalidResponse(path, 'the same next_cursor was returned twice');
      seen.add(cursor);
    }
    throw invalidResponse(path, `more than ${MAX_PAGES} pages`);
  }
}
