import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AppConfig } from './config.ts';

/**
 * Sandbox mode runs against the embedded simulator with credentials generated once per data
 * directory (kept in `sandbox.json`, readable only by the owner), so restarts keep sessions valid.
 */
export interface SandboxCredentials {
  callbackToken: string;
  callbackAesKey: string;
  agentSecret: string;
  sessionSecret: string;
}

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const randomAlphanumeric = (length: number): string => Array.from(randomBytes(length), (b) => ALPHANUMERIC[b % ALPHANUMERIC.length]).join('');

export function sandboxCredentials(dataDir: string): SandboxCredentials {
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, 'sandbox.json');
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as SandboxCredentials;
  const credentials: SandboxCredentials = {
    callbackToken: randomAlphanumeric(32),
    callbackAesKey: randomAlphanumeric(43),
    agentSecret: randomAlphanumeric(43),
    sessionSecret: randomBytes(32).toString('base64url'),
  };
  writeFileSync(file, JSON.stringify(credentials, null, 2), { mode: 0o600 });
  return credentials;
}

/** The demo company's general manager administers the sandbox unless ADMIN_USERIDS names others. */
export const SANDBOX_DEFAULT_ADMINS = ['zhuxiaoyan'];

/** The config with WeCom pointed at the simulator; explicitly configured values still win. */
export function sandboxConfig(config: AppConfig, credentials: SandboxCredentials, simulator: { url: string; corpId: string; agentId: number }): AppConfig {
  return {
    ...config,
    sessionSecret: config.sessionSecret ?? credentials.sessionSecret,
    adminUserIds: config.adminUserIds.length ? config.adminUserIds : SANDBOX_DEFAULT_ADMINS,
    wecom: {
      corpId: simulator.corpId,
      agentId: simulator.agentId,
      agentSecret: credentials.agentSecret,
      callbackToken: credentials.callbackToken,
      callbackAesKey: credentials.callbackAesKey,
      apiBase: simulator.url,
    },
  };
}
