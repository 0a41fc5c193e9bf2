import { describe, expect, it } from 'vitest';
import {
  KNOWN_ERRCODES,
  NETWORK_ERRCODE,
  WecomApiError,
  WecomNetworkError,
  describeErrcode,
  httpStatusFailure,
  isConfigError,
  isTransient,
  networkFailure,
  redact,
} from '../../server/wecom/errors.ts';

// Every code of wecom-api.md Appendix A and the §1 table.
const APPENDIX_A = [
  -1, 40001, 40013, 40091, 40014, 42001, 41001, 40029, 40056, 40068, 40071, 40072, 40093, 40096, 40097, 40098,
  40099, 40100, 40126, 40128, 40129, 40130, 40131, 41035, 41037, 41038, 41039, 41040, 41041, 41042, 41043, 41044,
  41045, 41049, 41050, 41051, 41053, 41096, 41054, 42012, 45009, 45033, 48002, 50001, 60011, 60020, 60111, 80001,
  85005, 84061, 84074, 90501, 90507, 90508,
];

describe('WeCom error table', () => {
  it('explains every Appendix A code', () => {
    const missing = APPENDIX_A.filter((code) => !KNOWN_ERRCODES.includes(code));
    expect(missing).toEqual([]);
  });

  it.each([
    [-1, 'transient'],
    [45009, 'transient'],
    [45033, 'transient'],
    [40014, 'token'],
    [42001, 'token'],
    [41001, 'token'],
    [40001, 'config'],
    [40013, 'config'],
    [40091, 'config'],
    [84061, 'permanent'],
    [40068, 'permanent'],
    [60020, 'permanent'],
    [48002, 'permanent'],
    [99999, 'permanent'],
  ] as const)('errcode %i is %s', (code, kind) => {
    expect(describeErrcode(code).kind).toBe(kind);
    expect(new WecomApiError({ errcode: code, errmsg: 'x', path: '/p' }).kind).toBe(kind);
  });

  it('names the configuration variable for wrong secret or corp id', () => {
    expect(describeErrcode(40001).text).toContain('WECOM_AGENT_SECRET');
    expect(describeErrcode(40013).text).toContain('WECOM_CORP_ID');
    expect(describeErrcode(40091).text).toContain('WECOM_AGENT_SECRET');
    expect(describeErrcode(40056).text).toContain('WECOM_AGENT_ID');
  });

  it('says what went wrong and what to do', () => {
    expect(describeErrcode(84061).text).toContain('no external-contact relationship between this member and customer');
    expect(describeErrcode(40068).text).toContain('tag or tag group not found');
    expect(describeErrcode(60020).text).toContain("server IP not in the app's trusted IPs: add it in the WeCom admin console");
    expect(describeErrcode(48002).text).toContain('admin console');
    expect(describeErrcode(123456).text).toContain('e=123456');
  });
});

describe('WecomApiError', () => {
  it('carries errcode, errmsg, path without query, kind and a readable message', () => {
    const err = new WecomApiError({ errcode: 84061, errmsg: 'not external contact', path: '/cgi-bin/externalcontact/mark_tag?access_token=abc' });
    expect(err).toBeInstanceOf(Error);
    expect(err.errcode).toBe(84061);
    expect(err.errmsg).toBe('not external contact');
    expect(err.path).toBe('/cgi-bin/externalcontact/mark_tag');
    expect(err.kind).toBe('permanent');
    expect(err.message).toContain('/cgi-bin/externalcontact/mark_tag failed with errcode 84061');
    expect(err.message).toContain('not external contact');
    expect(err.message).not.toContain('abc');
  });

  it('network errors are transient WecomApiErrors with errcode -1000', () => {
    const err = new WecomNetworkError({ errcode: NETWORK_ERRCODE, errmsg: '', path: '/cgi-bin/user/get', kind: 'transient', text: 'timeout' });
    expect(err).toBeInstanceOf(WecomApiError);
    expect(err.errcode).toBe(-1000);
    expect(isTransient(err)).toBe(true);
  });

  it('isTransient and isConfigError only accept WeCom errors of that kind', () => {
    expect(isTransient(new WecomApiError({ errcode: 45009, errmsg: '', path: '/p' }))).toBe(true);
    expect(isTransient(new WecomApiError({ errcode: 84061, errmsg: '', path: '/p' }))).toBe(false);
    expect(isTransient(new WecomApiError({ errcode: 42001, errmsg: '', path: '/p' }))).toBe(false);
    expect(isTransient(new Error('boom'))).toBe(false);
    expect(isTransient(undefined)).toBe(false);
    expect(isConfigError(new WecomApiError({ errcode: 40001, errmsg: '', path: '/p' }))).toBe(true);
    expect(isConfigError(new WecomApiError({ errcode: -1, errmsg: '', path: '/p' }))).toBe(false);
  });

  it('redact removes every occurrence of each secret', () => {
    expect(redact('token TOKEN123 again TOKEN123, secret s3cret!', ['TOKEN123', 's3cret!', undefined])).toBe(
      'token [redacted] again [redacted], secret [redacted]',
    );
  });
});

describe('failures without a WeCom answer', () => {
  const secrets = ['TOKEN-abcdef', 'the-app-secret'];

  it('a refused connection was certainly not applied; a timeout or reset may have been', () => {
    expect(networkFailure('/p', { code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:1' }, 1000, secrets).maybeApplied).toBe(false);
    expect(networkFailure('/p', { code: 'ETIMEDOUT', message: 'timeout of 1000ms exceeded' }, 1000, secrets).maybeApplied).toBe(true);
    expect(networkFailure('/p', { code: 'ECONNRESET', message: 'socket hang up' }, 1000, secrets).maybeApplied).toBe(true);
    expect(httpStatusFailure('/p', 502).maybeApplied).toBe(true);
    expect(httpStatusFailure('/p', 429).maybeApplied).toBe(false);
  });

  it('timeouts and network errors are transient -1000; HTTP 5xx transient, 4xx permanent', () => {
    const timeout = networkFailure('/cgi-bin/user/get', { code: 'ECONNABORTED', message: 'x' }, 1234, secrets);
    expect(timeout.errcode).toBe(-1000);
    expect(timeout.kind).toBe('transient');
    expect(timeout.message).toContain('1234 ms');
    expect(httpStatusFailure('/p', 503).kind).toBe('transient');
    expect(httpStatusFailure('/p', 404).kind).toBe('permanent');
  });

  it('never carries the token, the secret or a URL from the underlying error', () => {
    const err = networkFailure(
      '/cgi-bin/gettoken',
      { code: 'EPROTO', message: 'bad thing at https://qyapi.weixin.qq.com/cgi-bin/gettoken?corpid=ww1&corpsecret=the-app-secret and TOKEN-abcdef' },
      1000,
      secrets,
    );
    expect(err.message).not.toContain('the-app-secret');
    expect(err.message).not.toContain('TOKEN-abcdef');
    expect(err.message).not.toContain('https://');
    expect(err.message).toContain('EPROTO');
  });
});
