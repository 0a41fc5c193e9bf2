// The JSON logger: one parseable line per entry, secret-looking fields replaced, phone numbers masked
// in any text, and the request context (request id, queue, job) on every line written inside it.
import { describe, expect, it } from 'vitest';
import { createLogger, redact } from '../../server/logger.ts';
import { requestContext, withRequestId } from '../../server/observability/request-context.ts';

function capture(level: Parameters<typeof createLogger>[0] = 'debug') {
  const lines: string[] = [];
  const logger = createLogger(level, { role: 'all' }, (line) => void lines.push(line));
  return { logger, entries: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>), lines };
}

describe('logger', () => {
  it('writes one JSON object per line with level, ISO time, message and base fields', () => {
    const { logger, entries, lines } = capture();
    logger.info({ inboxId: 7 }, 'callback event processed');
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain('\n');
    expect(entries()[0]).toMatchObject({ level: 'info', msg: 'callback event processed', inboxId: 7, role: 'all', pid: process.pid });
    expect(entries()[0]!.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('honours the level', () => {
    const { logger, lines } = capture('warn');
    logger.debug({}, 'd');
    logger.info({}, 'i');
    logger.warn({}, 'w');
    logger.error({}, 'e');
    expect(lines.map((l) => JSON.parse(l).msg)).toEqual(['w', 'e']);
    const silent = capture('silent');
    silent.logger.error({}, 'nothing');
    expect(silent.lines).toEqual([]);
  });

  it('replaces secrets, tokens, tickets, keys, codes, cookies, phone fields and callback bodies, at any depth', () => {
    const { logger, lines } = capture();
    logger.warn({
      access_token: 'AT-secret-1', corpsecret: 'S-secret-2', jsapi_ticket: 'T-secret-3', encodingAesKey: 'K-secret-4', code: 'C-secret-5',
      WelcomeCode: 'W-secret-6', cookie: 'wtg_session=X-secret-7', authorization: 'Bearer B-secret-8', remark_mobiles: ['M-secret-9'],
      nested: { deeper: { plaintext: '<xml>P-secret-10</xml>', body: 'B-secret-11', payload: { ExternalUserID: 'wm-secret-12' } } },
      Encrypt: 'E-secret-13', echostr: 'H-secret-14', password: 'P-secret-15',
    }, 'something failed');
    expect(lines[0]).not.toMatch(/secret-\d+/);
    expect(JSON.parse(lines[0]!).nested.deeper.plaintext).toBe('[redacted]');
  });

  it('keeps errcode (a WeCom answer code is not a secret)', () => {
    expect(redact({ errcode: 45009, path: '/cgi-bin/externalcontact/get' })).toEqual({ errcode: 45009, path: '/cgi-bin/externalcontact/get' });
  });

  it('masks mainland mobile numbers inside messages, values and error messages, but not longer digit runs', () => {
    const { logger, lines } = capture();
    logger.error({ reason: 'remark mobile 13812345678 refused', err: new Error('bad +86 139-0000 and 8613912345678'), id: '9138123456789' }, 'call 15900001111 failed');
    const entry = JSON.parse(lines[0]!);
    expect(lines[0]).not.toContain('15900001111');
    expect(lines[0]).not.toContain('8613912345678');
    expect(entry.msg).toBe('call [phone] failed');
    expect(entry.reason).toBe('remark mobile [phone] refused');
    expect(entry.id).toBe('9138123456789');
    expect(entry.err).toEqual({ name: 'Error', message: 'bad +86 139-0000 and [phone]' });
  });

  it('adds the request context to every line written inside it; an explicit field wins', async () => {
    const { logger, entries } = capture();
    await requestContext.run({ requestId: 'req-1', queue: 'wecom-events', jobId: 'event-3' }, async () => {
      await Promise.resolve();
      logger.child({ route: 'callback' }).info({}, 'inside');
      logger.info({ requestId: 'explicit' }, 'explicit');
    });
    logger.info({}, 'outside');
    expect(entries()[0]).toMatchObject({ requestId: 'req-1', queue: 'wecom-events', jobId: 'event-3', route: 'callback' });
    expect(entries()[1]!.requestId).toBe('explicit');
    expect(entries()[2]!.requestId).toBeUndefined();
  });

  it('puts the current request id into job data, keeping one already there', () => {
    expect(withRequestId({ inboxId: 1 })).toEqual({ inboxId: 1 });
    requestContext.run({ requestId: 'req-2' }, () => {
      expect(withRequestId({ inboxId: 1 })).toEqual({ inboxId: 1, requestId: 'req-2' });
      expect(withRequestId({ inboxId: 1, requestId: 'own' })).toEqual({ inboxId: 1, requestId: 'own' });
    });
  });
});
