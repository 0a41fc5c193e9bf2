import { ApiError } from './api.ts';
import { isReason, renderReason } from './reasons.ts';

type Translate = (key: string, values?: Record<string, unknown>) => string;

const PLAIN = new Set(['TAG_NOT_ALLOWED', 'TAG_NOT_FOUND', 'NO_RELATION', 'WECOM_ERROR', 'NOT_FOUND', 'UNAUTHENTICATED', 'NETWORK', 'SERVER_ERROR', 'MEMBER_LEFT', 'MEMBER_NOT_VISIBLE', 'OAUTH_STATE']);

/**
 * The error in plain words, in the current language: the server's reason code worded by the locale
 * files when it sends one, else a sentence per error code; the server's English only inside a
 * sentence that says what kind of refusal it was, when nothing better is known.
 */
export function describeError(error: unknown, t: Translate): string {
  if (!(error instanceof ApiError)) return t('errors.generic', { message: (error as Error)?.message ?? String(error) });
  // 502: WeCom refused or failed (a tag write answers 502 with its result, not an error object).
  if (error.status === 502) return t('errors.WECOM_ERROR');
  const reason = error.details.reason;
  const worded = isReason(reason) ? renderReason(reason, t) : undefined;
  if (worded) return worded;
  // View-as refusals from a server without reasons ("read-only: you are viewing as …").
  if (error.status === 403 && /^read-only: you are viewing/i.test(error.message)) return t('errors.READ_ONLY');
  if (PLAIN.has(error.code)) return t(`errors.${error.code}`);
  if (error.code === 'FORBIDDEN') return t('errors.FORBIDDEN');
  if (error.code === 'CONFLICT' || error.status === 409) return t('errors.CONFLICT', { message: error.message });
  if (error.code === 'BAD_REQUEST' || error.status === 400) return t('errors.BAD_REQUEST', { message: error.message });
  if (error.status >= 500) return t('errors.SERVER_ERROR');
  return t('errors.generic', { message: error.message });
}
