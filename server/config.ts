import { z } from 'zod';

/**
 * The one typed configuration, parsed once at boot from the environment. A missing or malformed
 * variable stops the process with its name; secrets are never printed.
 */
const booleanFlag = z.enum(['0', '1', 'true', 'false']).transform((v) => v === '1' || v === 'true');
const optionalUrl = z.url().optional();

const schema = z.object({
  WECOM_CORP_ID: z.string().regex(/^[A-Za-z0-9]{4,64}$/, 'a WeCom corp id such as ww1234567890abcdef').optional(),
  WECOM_CALLBACK_TOKEN: z.string().regex(/^[A-Za-z0-9]{1,32}$/, 'letters and digits, at most 32').optional(),
  WECOM_CALLBACK_AES_KEY: z.string().regex(/^[A-Za-z0-9]{43}$/, 'exactly 43 letters and digits (EncodingAESKey)').optional(),
  WECOM_AGENT_ID: z.coerce.number().int().positive().optional(),
  WECOM_AGENT_SECRET: z.string().min(1).optional(),
  WECOM_API_BASE: z.url().default('https://qyapi.weixin.qq.com'),
  DATABASE_URL: optionalUrl,
  REDIS_URL: optionalUrl,
  DATA_DIR: z.string().min(1).default('.data'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  PUBLIC_URL: optionalUrl,
  SANDBOX: booleanFlag.optional(),
  SESSION_SECRET: z.string().min(32, 'at least 32 characters').optional(),
  ADMIN_USERIDS: z.string().default('').transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean)),
  WECOM_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().positive().default(10_000),
  LOGIN_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(0).default(300),
  CALLBACK_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(0).default(200_000),
  CALLBACK_REJECTED_LIMIT_PER_MINUTE: z.coerce.number().int().min(0).default(300),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  METRICS_TOKEN: z.string().regex(/^[\x21-\x7e]{32,256}$/, 'at least 32 printable characters without spaces (sent as `Authorization: Bearer <token>`)').optional(),
});

type Env = z.infer<typeof schema>;

export interface WecomSettings {
  corpId: string;
  agentId: number;
  agentSecret: string;
  callbackToken: string;
  callbackAesKey: string;
  apiBase: string;
}

export interface AppConfig {
  /** Sandbox: embedded simulator seeded with the demo company, dev login enabled. */
  sandbox: boolean;
  /** In sandbox mode these are filled in once the simulator has started (see server/sandbox.ts). */
  wecom: WecomSettings;
  databaseUrl: string | undefined;
  redisUrl: string | undefined;
  dataDir: string;
  port: number;
  publicUrl: string | undefined;
  sessionSecret: string | undefined;
  adminUserIds: string[];
  wecomRateLimitPerMinute: number;
  /** Per source address and minute; 0 = no limit (see .env.example). */
  rateLimits: { loginPerMinute: number; callbackPerMinute: number; callbackRejectedPerMinute: number };
  logLevel: Env['LOG_LEVEL'];
  /** Lets Prometheus scrape /metrics with `Authorization: Bearer <token>` (admins' sessions work too). */
  metricsToken: string | undefined;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Production needs these (PUBLIC_URL: the OAuth redirect must never come from a Host header); sandbox generates its own. */
const PRODUCTION_REQUIRED = ['WECOM_CORP_ID', 'WECOM_CALLBACK_TOKEN', 'WECOM_CALLBACK_AES_KEY', 'WECOM_AGENT_ID', 'WECOM_AGENT_SECRET', 'SESSION_SECRET', 'PUBLIC_URL'] as const;

export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const input = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`invalid configuration (see .env.example):\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const sandbox = e.SANDBOX ?? !e.WECOM_CORP_ID;
  if (!sandbox) {
    const missing = PRODUCTION_REQUIRED.filter((name) => e[name] === undefined);
    if (missing.length > 0) {
      throw new ConfigError(`missing configuration: ${missing.join(', ')} (required when SANDBOX is off; see .env.example)`);
    }
  }
  return {
    sandbox,
    wecom: {
      corpId: e.WECOM_CORP_ID ?? '',
      agentId: e.WECOM_AGENT_ID ?? 0,
      agentSecret: e.WECOM_AGENT_SECRET ?? '',
      callbackToken: e.WECOM_CALLBACK_TOKEN ?? '',
      callbackAesKey: e.WECOM_CALLBACK_AES_KEY ?? '',
      apiBase: e.WECOM_API_BASE.replace(/\/+$/, ''),
    },
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    dataDir: e.DATA_DIR,
    port: e.PORT,
    publicUrl: e.PUBLIC_URL?.replace(/\/+$/, ''),
    sessionSecret: e.SESSION_SECRET,
    adminUserIds: e.ADMIN_USERIDS,
    wecomRateLimitPerMinute: e.WECOM_RATE_LIMIT_PER_MINUTE,
    rateLimits: { loginPerMinute: e.LOGIN_RATE_LIMIT_PER_MINUTE, callbackPerMinute: e.CALLBACK_RATE_LIMIT_PER_MINUTE, callbackRejectedPerMinute: e.CALLBACK_REJECTED_LIMIT_PER_MINUTE },
    logLevel: e.LOG_LEVEL,
    metricsToken: e.METRICS_TOKEN,
  };
}
