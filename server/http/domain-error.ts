import type { Reason } from './reason.ts';

/**
 * Domain errors carry a code; one middleware (error-handler.ts) maps codes to HTTP statuses, so
 * handlers throw and never build error responses themselves.
 */
export type ErrorCode =
  | 'BAD_REQUEST'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'PAYLOAD_TOO_LARGE'
  | 'CALLBACK_SIGNATURE'
  | 'CALLBACK_UNDECRYPTABLE'
  | 'CALLBACK_FORMAT'
  | 'MEMBER_LEFT'
  | 'MEMBER_NOT_VISIBLE'
  | 'OAUTH_STATE'
  | 'WECOM_ERROR'
  | 'UNAVAILABLE'
  | 'TAG_NAME_INVALID'
  | 'TAG_NAME_TAKEN'
  | 'TAG_LIMIT_REACHED'
  | 'WECOM_NOT_OWNED'
  | 'WECOM_NOT_FOUND'
  | 'FOLDER_CYCLE'
  | 'FOLDER_NOT_EMPTY'
  | 'VISIBILITY_WIDENED'
  | 'TAG_NOT_FOUND'
  | 'TAG_NOT_ALLOWED'
  | 'NO_RELATION'
  | 'RATE_LIMITED';

export const STATUS_OF: Record<ErrorCode, number> = {
  BAD_REQUEST: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  CALLBACK_SIGNATURE: 401,
  CALLBACK_UNDECRYPTABLE: 401,
  CALLBACK_FORMAT: 400,
  MEMBER_LEFT: 403,
  MEMBER_NOT_VISIBLE: 403,
  OAUTH_STATE: 400,
  WECOM_ERROR: 502,
  UNAVAILABLE: 503,
  TAG_NAME_INVALID: 400,
  TAG_NAME_TAKEN: 409,
  TAG_LIMIT_REACHED: 409,
  /** WeCom 60011: the tag, group or rule group was not created by this app (e.g. made in the console). */
  WECOM_NOT_OWNED: 409,
  /** WeCom 40068: WeCom no longer has it (deleted in the console); the local mirror is corrected. */
  WECOM_NOT_FOUND: 409,
  FOLDER_CYCLE: 409,
  FOLDER_NOT_EMPTY: 409,
  VISIBILITY_WIDENED: 409,
  TAG_NOT_FOUND: 404,
  TAG_NOT_ALLOWED: 403,
  NO_RELATION: 409,
  /** Too many requests from one address; the answer carries Retry-After. */
  RATE_LIMITED: 429,
};

export class DomainError extends Error {
  override name = 'DomainError';
  /**
   * `message` is English for API clients; `reason` (a stable code with parameters, see reason.ts)
   * lets the web app say the same in the member's language.
   */
  constructor(readonly code: ErrorCode, message: string, readonly details?: Record<string, unknown>, readonly reason?: Reason) {
    super(message);
  }
}
