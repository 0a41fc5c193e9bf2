import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../server/config.ts';

const production = {
  WECOM_CORP_ID: 'ww1234567890abcdef',
  WECOM_AGENT_ID: '1000002',
  WECOM_AGENT_SECRET: 'secret-value-that-must-not-print',
  WECOM_CALLBACK_TOKEN: 'QDG6eK',
  WECOM_CALLBACK_AES_KEY: 'jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C',
  SESSION_SECRET: 'x'.repeat(40),
  PUBLIC_URL: 'https://crm.example.com',
};

describe('configuration', () => {
  it('defaults to sandbox mode when no corp id is set', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ sandbox: true, port: 3000, dataDir: '.data', adminUserIds: [] });
    expect(config.wecom.apiBase).toBe('https://qyapi.weixin.qq.com');
  });

  it('runs in production mode with every WeCom variable set', () => {
    const config = loadConfig({ ...production, ADMIN_USERIDS: 'a, b,,c', PORT: '8080' });
    expect(config).toMatchObject({ sandbox: false, port: 8080, adminUserIds: ['a', 'b', 'c'] });
    expect(config.wecom).toMatchObject({ corpId: production.WECOM_CORP_ID, agentId: 1000002 });
  });

  it('names each missing variable in production mode', () => {
    const { WECOM_AGENT_SECRET: _secret, SESSION_SECRET: _session, ...partial } = production;
    expect(() => loadConfig(partial)).toThrow(ConfigError);
    expect(() => loadConfig(partial)).toThrow(/WECOM_AGENT_SECRET, SESSION_SECRET/);
  });

  it('names a malformed variable and never prints secret values', () => {
    const bad = { ...production, WECOM_CALLBACK_AES_KEY: 'too-short', PORT: 'eighty', DATABASE_URL: 'not a url' };
    let message = '';
    try {
      loadConfig(bad);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/WECOM_CALLBACK_AES_KEY/);
    expect(message).toMatch(/PORT/);
    expect(message).toMatch(/DATABASE_URL/);
    expect(message).not.toContain(production.WECOM_AGENT_SECRET);
    expect(message).not.toContain('too-short');
  });

  it('treats SANDBOX=1 as sandbox even with a corp id', () => {
    expect(loadConfig({ WECOM_CORP_ID: 'ww1234567890abcdef', SANDBOX: '1' }).sandbox).toBe(true);
    expect(() => loadConfig({ SANDBOX: 'maybe' })).toThrow(/SANDBOX/);
  });
});
