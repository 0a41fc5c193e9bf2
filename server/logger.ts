import { hostname } from 'node:os';
import pino from 'pino';
import { requestContext } from './observability/request-context.ts';

/**
 * Structured JSON logs (pino), one line per entry. Fields whose names look secret are replaced and
 * mainland phone numbers inside text are masked, so a token, ticket, secret, key, phone number or
 * decrypted callback body passed by mistake never reaches the log. Lines written while serving a
 * request or running a job carry its `requestId` (and `queue`, `jobId`) from the request context.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(fields: LogFields, message: string): void;
  info(fields: LogFields, message: string): void;
  warn(fields: LogFields, message: string): void;
  error(fields: LogFields, message: string): void;
  child(fields: LogFields): Logger;
}

const SECRET_FIELD = /token|secret|ticket|password|aes|key$|mobile|phone|echostr|encrypt|cookie|authorization|(?<!err)code$|plaintext|decrypted|^body$|^xml$|^payload$/i;
/** An 11-digit mainland mobile number standing alone (not part of a longer run of digits). */
const PHONE_NUMBER = /(?<!\d)(?:\+?86[- ]?)?1[3-9]\d{9}(?!\d)/g;

export function maskPhoneNumbers(text: string): string {
  return text.replace(PHONE_NUMBER, '[phone]');
}

export function redact(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return maskPhoneNumbers(value);
  if (depth > 4 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    return { name: value.name, message: maskPhoneNumbers(value.message), ...(code !== undefined ? { code } : {}) };
  }
  if (Array.isArray(value)) return value.slice(0, 50).map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_FIELD.test(k) ? '[redacted]' : redact(v, depth + 1);
  return out;
}

function wrap(base: pino.Logger): Logger {
  const emit = (level: Exclude<LogLevel, 'silent'>, fields: LogFields, message: string): void => {
    if (!base.isLevelEnabled(level)) return;
    // The request context first, so a field given explicitly wins (and no key is written twice).
    base[level]({ ...requestContext.getStore(), ...(redact(fields) as LogFields) }, maskPhoneNumbers(message));
  };
  return {
    debug: (f, m) => emit('debug', f, m),
    info: (f, m) => emit('info', f, m),
    warn: (f, m) => emit('warn', f, m),
    error: (f, m) => emit('error', f, m),
    child: (fields) => wrap(base.child(redact(fields) as LogFields)),
  };
}

/**
 * `write` receives each line without its newline (tests collect lines); by default lines go to stderr,
 * synchronously, so the last lines before a crash are not lost.
 */
export function createLogger(level: LogLevel, base: LogFields = {}, write?: (line: string) => void): Logger {
  const destination = write ? { write: (line: string) => write(line.endsWith('\n') ? line.slice(0, -1) : line) } : pino.destination({ dest: 2, sync: true });
  return wrap(pino({
    level,
    base: { pid: process.pid, hostname: hostname(), ...(redact(base) as LogFields) },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    // Errors are already reduced to name, message and code by redact(): no stack (it can quote values).
    serializers: { err: (value: unknown) => value },
  }, destination));
}
