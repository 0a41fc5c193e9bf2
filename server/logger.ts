/**
 * A small structured logger: one JSON line per entry on stderr. Fields whose names look secret are
 * replaced, so a token, ticket, secret, key or phone number passed by mistake never reaches the log.
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

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };
const SECRET_FIELD = /token|secret|ticket|password|aes|key$|mobile|phone|echostr|encrypt|cookie|authorization|code$/i;

export function redact(value: unknown, depth = 0): unknown {
  if (depth > 4 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return { name: value.name, message: value.message, ...(value as { code?: unknown }).code !== undefined ? { code: (value as { code?: unknown }).code } : {} };
  if (Array.isArray(value)) return value.slice(0, 50).map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_FIELD.test(k) ? '[redacted]' : redact(v, depth + 1);
  return out;
}

export function createLogger(level: LogLevel, base: LogFields = {}, write: (line: string) => void = (l) => process.stderr.write(l + '\n')): Logger {
  const threshold = ORDER[level];
  const emit = (at: Exclude<LogLevel, 'silent'>, fields: LogFields, message: string): void => {
    if (ORDER[at] < threshold) return;
    write(JSON.stringify({ time: new Date().toISOString(), level: at, msg: message, ...(redact({ ...base, ...fields }) as LogFields) }));
  };
  return {
    debug: (f, m) => emit('debug', f, m),
    info: (f, m) => emit('info', f, m),
    warn: (f, m) => emit('warn', f, m),
    error: (f, m) => emit('error', f, m),
    child: (fields) => createLogger(level, { ...base, ...fields }, write),
  };
}
