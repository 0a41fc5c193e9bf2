// Typed errors for the WeCom server API. Every non-zero errcode becomes a WecomApiError whose `kind`
// tells callers (and the job queue) what to do: retry later, fix configuration, or give up.

/** What a caller should do about an error. */
export type WecomErrorKind =
  /** WeCom is busy or unreachable: retry later with backoff (the client already retried a few times). */
  | 'transient'
  /** The access token was rejected: the client refreshes and retries once by itself. */
  | 'token'
  /** Wrong corp id / secret / agent id: never retried, an operator must fix the configuration. */
  | 'config'
  /** The request itself is wrong or not allowed: retrying the same call cannot succeed. */
  | 'permanent';

/** Pseudo errcodes for failures that never reached a WeCom JSON answer. */
export const NETWORK_ERRCODE = -1000;
export const HTTP_STATUS_ERRCODE = -1001;
export const INVALID_RESPONSE_ERRCODE = -1002;
export const LOCK_WAIT_ERRCODE = -1003;

interface ErrorInfo {
  kind: WecomErrorKind;
  text: string;
}

const SECRET_HINT =
  'Not retried: repeated calls with a wrong secret can get this server\'s IP banned by WeCom for an hour.';

// Covers wecom-api.md §1 and Appendix A (plus 81013 from the message/send page). Texts say what went
// wrong and what to do; they are ours, in English, because WeCom's errmsg wording may change.
const ERROR_TABLE: Readonly<Record<number, ErrorInfo>> = {
  [-1]: { kind: 'transient', text: 'WeCom system busy: retry later with backoff' },
  40001: {
    kind: 'config',
    text: `invalid app secret (corp id and secret do not match, the secret was reset, or the app is disabled): check WECOM_AGENT_SECRET and WECOM_CORP_ID. ${SECRET_HINT}`,
  },
  40013: { kind: 'config', text: `invalid corp id: check WECOM_CORP_ID. ${SECRET_HINT}` },
  40091: {
    kind: 'config',
    text: `invalid secret (possibly another corp's secret): check that WECOM_AGENT_SECRET belongs to WECOM_CORP_ID. ${SECRET_HINT}`,
  },
  40014: { kind: 'token', text: 'invalid access_token (expired, garbled or issued for another app): refresh the token' },
  42001: { kind: 'token', text: 'access_token expired: refresh the token' },
  41001: { kind: 'token', text: 'access_token missing: it must be sent as a URL query parameter' },
  41002: { kind: 'config', text: 'corp id missing from the gettoken request: set WECOM_CORP_ID' },
  41004: { kind: 'config', text: 'secret missing from the gettoken request: set WECOM_AGENT_SECRET' },
  40003: { kind: 'permanent', text: 'invalid userid: the member does not exist or is outside the app\'s visible range' },
  40008: { kind: 'permanent', text: 'invalid message type' },
  40058: { kind: 'permanent', text: 'invalid parameter: the request does not match the API\'s documented fields' },
  41008: { kind: 'permanent', text: 'OAuth code missing: start the login again' },
  44004: { kind: 'permanent', text: 'empty content: the message text must not be empty' },
  47001: { kind: 'permanent', text: 'data format error: the body must be valid JSON with the documented field types' },
  60003: { kind: 'permanent', text: 'department not found (deleted, or outside the app\'s visible range)' },
  60123: { kind: 'permanent', text: 'invalid department id' },
  40029: { kind: 'permanent', text: 'invalid OAuth code (single use, valid 5 minutes): start the login again' },
  40056: { kind: 'config', text: 'invalid agentid: check WECOM_AGENT_ID' },
  40068: { kind: 'permanent', text: 'tag or tag group not found (missing or deleted id): re-sync the tag library' },
  40071: { kind: 'permanent', text: 'tag name already exists in this group: choose another name' },
  40072: { kind: 'permanent', text: 'tag name length invalid: customer tag names must be 1 to 30 characters' },
  40093: {
    kind: 'permanent',
    text: 'JS-SDK signature invalid (wrong ticket, wrong URL, or timestamp not in seconds): check how the signature is built',
  },
  40096: {
    kind: 'permanent',
    text: 'invalid external userid: use the external_userid of the right subject, with a follower inside the app\'s visible range',
  },
  40097: { kind: 'permanent', text: 'the handover member has not left the company: use the in-service transfer API' },
  40098: { kind: 'permanent', text: 'the member is not real-name verified: the member must verify in WeCom first' },
  40099: { kind: 'permanent', text: 'the member\'s external-contact count is at its limit: choose another takeover member' },
  40100: { kind: 'permanent', text: 'this member\'s customers are already being transferred: wait for that transfer to finish' },
  40126: { kind: 'permanent', text: 'corp tag limit reached (3000 tags per corp, rule-group tags included): delete unused tags' },
  40128: { kind: 'permanent', text: 'customer transferred too often (at most 2 times in 90 days): choose another customer or wait' },
  40129: { kind: 'permanent', text: 'the customer is currently being transferred: wait for the transfer result' },
  40130: { kind: 'permanent', text: 'handover and takeover member are the same person: choose a different takeover member' },
  40131: { kind: 'permanent', text: 'the handover member is not a follower of this customer: re-sync the customer\'s follow relations' },
  41035: { kind: 'permanent', text: 'external userid missing from the request' },
  41037: { kind: 'permanent', text: 'contact way: missing type' },
  41038: { kind: 'permanent', text: 'contact way: missing scene' },
  41039: { kind: 'permanent', text: 'contact way: invalid type (1 single member, 2 multiple)' },
  41040: { kind: 'permanent', text: 'contact way: invalid scene (1 mini-program, 2 QR code)' },
  41041: { kind: 'permanent', text: 'contact way: too many members (at most 100, departments expanded)' },
  41042: { kind: 'permanent', text: 'contact way: invalid style' },
  41043: { kind: 'permanent', text: 'contact way: missing config_id' },
  41044: { kind: 'permanent', text: 'contact way: invalid config_id (unknown or not created by this app)' },
  41045: { kind: 'permanent', text: 'contact way quota reached for this corp: delete unused contact ways' },
  41049: { kind: 'permanent', text: 'welcome message: missing welcome_code' },
  41050: { kind: 'permanent', text: 'welcome message: welcome_code invalid or expired (valid 20 seconds after the event)' },
  41051: {
    kind: 'permanent',
    text: 'welcome message: customer and member are already chatting, or another app already used this welcome_code',
  },
  41053: { kind: 'permanent', text: 'welcome message: the customer has not accepted the chat-archiving service notice' },
  41054: { kind: 'permanent', text: 'contact way: the member is not activated' },
  41096: { kind: 'permanent', text: 'welcome message: a welcome message is already being sent' },
  42012: {
    kind: 'permanent',
    text: 'jsapi ticket unavailable (corp ticket used for agentConfig, or a ticket of another app): fetch the right ticket with this app\'s token',
  },
  45009: { kind: 'transient', text: 'WeCom call frequency limit exceeded: back off and retry later' },
  45033: { kind: 'transient', text: 'WeCom concurrency limit on this API exceeded: lower concurrency and retry later' },
  48002: {
    kind: 'permanent',
    text: 'API not permitted for this app: add the app to Customer Contact > "apps that may call the API" (客户联系 → 可调用接口的应用) in the WeCom admin console',
  },
  50001: { kind: 'permanent', text: 'redirect_uri is not on the app\'s trusted domain: fix the domain in the WeCom admin console' },
  60011: {
    kind: 'permanent',
    text: 'no permission for this member, department or tag: it is outside the app\'s visible range, or the object belongs to another app',
  },
  60020: {
    kind: 'permanent',
    text: 'server IP not in the app\'s trusted IPs: add it in the WeCom admin console (takes about a minute to apply)',
  },
  60111: { kind: 'permanent', text: 'userid not found (member left, was deleted, or is outside the app\'s visible range)' },
  80001: { kind: 'permanent', text: 'untrusted domain: add the page\'s domain to the app\'s trusted domains' },
  81013: { kind: 'permanent', text: 'all recipients invalid: users, departments and tags are outside the app\'s visible range' },
  84061: {
    kind: 'permanent',
    text: 'no external-contact relationship between this member and customer (the member deleted the customer, or the add was never confirmed)',
  },
  84074: { kind: 'permanent', text: 'no external-contact permission: enable Customer Contact for the app and the member' },
  85005: { kind: 'permanent', text: 'domain ownership not verified: verify the domain in the WeCom admin console' },
  90501: { kind: 'permanent', text: 'not a customer group chat' },
  90507: { kind: 'permanent', text: 'the resigned member\'s group chat is already being inherited' },
  90508: { kind: 'permanent', text: 'the group chat has already been inherited' },
};

/** The codes this module explains; exported so tests can check the table's coverage. */
export const KNOWN_ERRCODES: readonly number[] = Object.keys(ERROR_TABLE).map(Number);

/** Codes after which the client drops its cached token, refreshes and retries once. */
export const REFRESHABLE_TOKEN_ERRCODES: ReadonlySet<number> = new Set([40014, 42001]);

export function describeErrcode(errcode: number): ErrorInfo {
  return (
    ERROR_TABLE[errcode] ?? {
      kind: 'permanent',
      text: `unrecognised WeCom error: look it up at https://open.work.weixin.qq.com/devtool/query?e=${errcode}`,
    }
  );
}

export interface WecomApiErrorInit {
  errcode: number;
  errmsg: string;
  /** API path without query string (so never the token). */
  path: string;
  kind?: WecomErrorKind;
  /** Overrides the table's text (network failures, HTTP statuses). */
  text?: string;
  httpStatus?: number;
}

export class WecomApiError extends Error {
  override readonly name: string = 'WecomApiError';
  readonly errcode: number;
  readonly errmsg: string;
  readonly path: string;
  readonly kind: WecomErrorKind;
  readonly httpStatus: number | undefined;
  /** How many attempts were made before this error was thrown (set by the client). */
  attempts = 1;

  constructor(init: WecomApiErrorInit) {
    const info = describeErrcode(init.errcode);
    const path = stripQuery(init.path);
    const text = init.text ?? info.text;
    const said = init.errmsg ? ` (WeCom errmsg: ${truncate(init.errmsg, 300)})` : '';
    super(`WeCom ${path} failed with errcode ${init.errcode}: ${text}${said}`);
    this.errcode = init.errcode;
    this.errmsg = init.errmsg;
    this.path = path;
    this.kind = init.kind ?? info.kind;
    this.httpStatus = init.httpStatus;
  }
}

/** Network failure, timeout, or an HTTP status / body that is not a WeCom answer. */
export class WecomNetworkError extends WecomApiError {
  override readonly name: string = 'WecomNetworkError';
  /** Node/axios error code such as ECONNREFUSED or ETIMEDOUT, when there was one. */
  readonly networkCode: string | undefined;
  /**
   * True when WeCom may have applied the request although no answer arrived (timeout, connection
   * reset, HTTP 5xx). The client does not repeat non-idempotent writes (send a message, create a
   * contact way, start a transfer) after such a failure; whoever retries later should check first.
   */
  readonly maybeApplied: boolean;

  constructor(init: WecomApiErrorInit & { networkCode?: string; maybeApplied?: boolean }) {
    super(init);
    this.networkCode = init.networkCode;
    this.maybeApplied = init.maybeApplied ?? false;
  }
}

/** Connection errors after which the request certainly never reached WeCom. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * A request that got no answer. Only the error code and a scrubbed message are kept: the original
 * (axios) error carries the request URL and config, which hold the token or the secret.
 */
export function networkFailure(
  path: string,
  failure: { code?: string | undefined; message: string },
  timeoutMs: number,
  secrets: readonly (string | undefined)[],
): WecomNetworkError {
  const { code } = failure;
  const timedOut = code === 'ETIMEDOUT' || code === 'ECONNABORTED';
  const detail = scrubUrls(redact(failure.message, secrets));
  const text = timedOut
    ? `no answer within ${timeoutMs} ms (timeout): retry later`
    : `network error${code ? ` ${code}` : ''} (${detail}): check connectivity to WECOM_API_BASE; retry later`;
  return new WecomNetworkError({
    errcode: NETWORK_ERRCODE,
    errmsg: '',
    path,
    kind: 'transient',
    text,
    networkCode: code,
    maybeApplied: !(code !== undefined && NOT_SENT_CODES.has(code)),
  });
}

/** An HTTP error status instead of a WeCom JSON answer (WeCom itself always answers 200). */
export function httpStatusFailure(path: string, status: number): WecomNetworkError {
  const transient = status >= 500 || status === 429;
  return new WecomNetworkError({
    errcode: HTTP_STATUS_ERRCODE,
    errmsg: '',
    path,
    httpStatus: status,
    kind: transient ? 'transient' : 'permanent',
    text: `HTTP ${status} instead of a WeCom answer${transient ? ': retry later' : ': check WECOM_API_BASE'}`,
    maybeApplied: status >= 500,
  });
}

/** An answer that is not what the API documents (not JSON, missing fields, looping cursor). */
export function invalidResponse(path: string, what: string): WecomNetworkError {
  return new WecomNetworkError({ errcode: INVALID_RESPONSE_ERRCODE, errmsg: '', path, kind: 'permanent', text: `unexpected answer: ${what}` });
}

export function isWecomApiError(err: unknown): err is WecomApiError {
  return err instanceof WecomApiError;
}

/** True when retrying later may succeed (what a job queue should retry with backoff). */
export function isTransient(err: unknown): boolean {
  return err instanceof WecomApiError && err.kind === 'transient';
}

/** True when the configuration (corp id, secret, agent id) is wrong: alert an operator, do not retry. */
export function isConfigError(err: unknown): boolean {
  return err instanceof WecomApiError && err.kind === 'config';
}

function stripQuery(path: string): string {
  const cut = path.search(/[?#]/);
  return cut === -1 ? path : path.slice(0, cut);
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}

function scrubUrls(text: string): string {
  return text.replace(/(access_token|corpsecret)=[^&\s"']*/gi, '$1=[redacted]').replace(/https?:\/\/\S+/g, '[url]');
}

/** Replaces every occurrence of the given secrets (token, app secret) in a text. */
export function redact(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret && secret.length >= 4) out = out.split(secret).join('[redacted]');
  }
  return out;
}
