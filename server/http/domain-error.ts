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
  | 'UNAVAILABLE';

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
};

export class DomainError extends Error {
  override name = 'DomainError';
  constructor(readonly code: ErrorCode, message: string, readonly details?: Record<string, unknown>) {
    super(message);
  }
}
