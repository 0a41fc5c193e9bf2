// WeCom's error codes (wecom-api.md §1 and Appendix A) and how the simulator answers with them.
// WeCom answers errors with HTTP 200 and {errcode, errmsg}; clients must branch on errcode only.

export const ERRMSG: Readonly<Record<number, string>> = {
  [-1]: 'system busy',
  0: 'ok',
  40001: 'invalid credential',
  40003: 'invalid userid',
  40008: 'invalid message type',
  40013: 'invalid corpid',
  40014: 'invalid access_token',
  40029: 'invalid code',
  40056: 'invalid agentid',
  40058: 'invalid parameter',
  40068: 'invalid tagid',
  40071: 'UserTag Name Already Exist',
  40072: 'invalid tag name length',
  40096: 'invalid external userid',
  40097: 'the member has not resigned',
  40100: 'the customers of this member are already being transferred',
  40126: 'corp tag count reached the limit of 3000',
  40128: 'customer transferred too often: at most twice in 90 days',
  40129: 'customer is currently being transferred',
  40130: 'handover and takeover member are the same person',
  40131: 'handover member is not a follower of the customer',
  41001: 'access_token missing',
  41002: 'corpid missing',
  41004: 'corpsecret missing',
  41008: 'missing oauth code',
  41035: 'missing external userid',
  41037: 'missing contact way type',
  41038: 'missing contact way scene',
  41039: 'invalid contact way type',
  41040: 'invalid contact way scene',
  41041: 'contact way has more than 100 members',
  41042: 'invalid contact way style',
  41043: 'missing config_id',
  41044: 'invalid config_id',
  41049: 'missing welcome code',
  41050: 'invalid or expired welcome code',
  41051: 'customer and member are already chatting (welcome code used)',
  41054: 'member is not activated',
  42001: 'access_token expired',
  44004: 'empty content',
  45009: 'api freq out of limit',
  47001: 'data format error',
  48002: 'api forbidden',
  60003: 'department not found',
  60011: 'no privilege to access/modify contact/party/agent',
  60111: 'userid not found',
  60123: 'invalid party id',
  81013: 'user & party & tag all invalid',
  84061: 'not external contact',
};

/** A WeCom business error: the handler wrapper turns it into {errcode, errmsg}. */
export class WecomError extends Error {
  constructor(
    readonly errcode: number,
    /** Extra detail appended to errmsg; WeCom appends hints too, clients never parse them. */
    readonly detail?: string,
  ) {
    super(`${errcode} ${ERRMSG[errcode] ?? 'error'}${detail ? `: ${detail}` : ''}`);
  }
}

export function fail(errcode: number, detail?: string): never {
  throw new WecomError(errcode, detail);
}

export function errorBody(errcode: number, detail?: string): { errcode: number; errmsg: string } {
  const base = ERRMSG[errcode] ?? 'error';
  return { errcode, errmsg: detail ? `${base}, ${detail}` : base };
}

/** Control-API (/sim/...) error: answered as HTTP `status` with {error}. */
export class ControlError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export function badRequest(message: string): never {
  throw new ControlError(400, message);
}
