// GET/POST /wecom/callback over real HTTP against the whole product (sandbox mode, the simulator, the
// run's real Redis, PGlite or PostgreSQL): URL verification, the official vectors, every rejection
// status, duplicates, unhandled types, a database outage (503 then WeCom's retry), a Redis outage
// (200, nothing lost) and 200 concurrent deliveries with exact repeats.
import { randomInt } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq, sql } from 'drizzle-orm';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { inboxEvents } from '../../server/db/schema.ts';
import { createLogger } from '../../server/logger.ts';
import { startPrivateRedis, type PrivateRedis } from '../../server/runtime/private-redis.ts';
import { encryptMessage, signatureOf, type CallbackCredentials } from '../../server/wecom/callback-crypto.ts';
import { demoCompany } from '../../wecom-sim/index.ts';
import { startTestProduct, waitFor, type TestProduct } from '../support/test-product.ts';

interface Delivery {
  query: Record<string, string>;
  body: string;
}

interface Answer {
  status: number;
  body: string;
}

const SET_A: CallbackCredentials = { token: 'QDG6eK', encodingAesKey: 'jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C', receiveId: 'wx5823bf96d3bd56c7' };

/** Demo customers with one of their followers: real WeCom data for `externalcontact/get`. */
const DEMO_CUSTOMERS = demoCompany().customers!.map((c) => ({ externalUserId: c.external_userid!, userid: c.follow_users![0]!.userid }));

/** Every error body seen in this file, checked at the end for secrets, plaintext and stack traces. */
const errorBodies: string[] = [];
/** What must never appear in an answer or a log line. */
const secrets = new Set<string>([SET_A.token, SET_A.encodingAesKey]);

function credentialsOf(test: TestProduct): CallbackCredentials {
  const { corpId, callbackToken, callbackAesKey } = test.product.ctx.config.wecom;
  secrets.add(callbackToken);
  secrets.add(callbackAesKey);
  return { token: callbackToken, encodingAesKey: callbackAesKey, receiveId: corpId };
}

const nonce = (): string => String(randomInt(1, 2 ** 31));

function envelope(toUserName: string, encrypt: string): string {
  return `<xml><ToUserName><![CDATA[${toUserName}]]></ToUserName><Encrypt><![CDATA[${encrypt}]]></Encrypt><AgentID><![CDATA[1000002]]></AgentID></xml>`;
}

/** A delivery as WeCom makes it: encrypted with `encryptWith`, signed with `signWith`'s token. */
function delivery(plaintext: string, encryptWith: CallbackCredentials, signWith: CallbackCredentials = encryptWith): Delivery {
  const encrypt = encryptMessage(encryptWith, plaintext);
  const timestamp = String(Math.floor(Date.now() / 1000));
  const n = nonce();
  return { query: { msg_signature: signatureOf(signWith.token, timestamp, n, encrypt), timestamp, nonce: n }, body: envelope(encryptWith.receiveId, encrypt) };
}

/** A delivery whose <Encrypt> is `encrypt` as given, correctly signed. */
function signedEnvelope(encrypt: string, credentials: CallbackCredentials): Delivery {
  const timestamp = String(Math.floor(Date.now() / 1000));
  const n = nonce();
  return { query: { msg_signature: signatureOf(credentials.token, timestamp, n, encrypt), timestamp, nonce: n }, body: envelope(credentials.receiveId, encrypt) };
}

async function post(test: TestProduct, d: Delivery, contentType = 'text/xml'): Promise<Answer> {
  const response = await fetch(`${test.url}/wecom/callback?${new URLSearchParams(d.query)}`, { method: 'POST', headers: { 'content-type': contentType }, body: d.body });
  const answer = { status: response.status, body: await response.text() };
  if (answer.status !== 200) errorBodies.push(answer.body);
  return answer;
}

async function get(test: TestProduct, query: Record<string, string>): Promise<Answer & { contentType: string | null }> {
  const response = await fetch(`${test.url}/wecom/callback?${new URLSearchParams(query)}`);
  const answer = { status: response.status, body: await response.text(), contentType: response.headers.get('content-type') };
  if (answer.status !== 200) errorBodies.push(answer.body);
  return answer;
}

/** The URL verification WeCom makes when the callback URL is saved. */
function verification(credentials: CallbackCredentials, plaintext: string, signWith: CallbackCredentials = credentials): Record<string, string> {
  const echostr = encryptMessage(credentials, plaintext);
  const timestamp = String(Math.floor(Date.now() / 1000));
  const n = nonce();
  return { msg_signature: signatureOf(signWith.token, timestamp, n, echostr), timestamp, nonce: n, echostr };
}

function eventXml(fields: Record<string, string>): string {
  const all = { ToUserName: fields.ToUserName ?? 'corp', FromUserName: 'sys', MsgType: 'event', ...fields };
  return `<xml>${Object.entries(all).map(([k, v]) => `<${k}><![CDATA[${v}]]></${k}>`).join('')}</xml>`;
}

function contactEvent(test: TestProduct, changeType: string, customer: { externalUserId: string; userid: string }, createTime: number): string {
  return eventXml({ ToUserName: test.product.ctx.config.wecom.corpId, CreateTime: String(createTime), Event: 'change_external_contact', ChangeType: changeType, UserID: customer.userid, ExternalUserID: customer.externalUserId });
}

async function rowsAt(test: TestProduct, createTime: number) {
  return test.product.ctx.db.select().from(inboxEvents).where(sql`${inboxEvents.payload}->>'CreateTime' = ${String(createTime)}`).orderBy(inboxEvents.id);
}

async function fetchesOf(test: TestProduct): Promise<Map<string, number>> {
  const { calls } = await test.simCall<{ calls: { query: Record<string, string> }[] }>('GET', '/sim/calls?path=/cgi-bin/externalcontact/get');
  const counts = new Map<string, number>();
  for (const call of calls) counts.set(call.query.external_userid ?? '', (counts.get(call.query.external_userid ?? '') ?? 0) + 1);
  return counts;
}

/** CreateTime values are unique per test so that each test finds exactly its own inbox rows. */
let clock = 1_800_000_000;
const nextCreateTime = (): number => ++clock;

// The four products this file needs start (and stop) in parallel: each boot is several seconds.
const logLines: string[] = [];
let sandbox: TestProduct;
let setA: TestProduct;
let postgresProduct: TestProduct;
let redisProduct: TestProduct;
let privateRedis: PrivateRedis;
let privateRedisDir: string;

beforeAll(async () => {
  privateRedisDir = mkdtempSync(join(tmpdir(), 'wtg-callback-redis-'));
  privateRedis = await startPrivateRedis({ dir: privateRedisDir });
  [sandbox, setA, postgresProduct, redisProduct] = await Promise.all([
    // The default embedded database, with a logger that keeps every line for the log checks.
    startTestProduct({ start: { logger: createLogger('debug', {}, (line) => void logLines.push(line)) } }),
    startTestProduct({ database: 'postgres', start: { callbackCredentials: SET_A } }),
    startTestProduct({ database: 'postgres' }),
    // Its own Redis, which the Redis outage test kills.
    startTestProduct({ database: 'postgres', env: { REDIS_URL: privateRedis.url } }),
  ]);
}, 90_000);

afterAll(async () => {
  await privateRedis?.start().catch(() => undefined);
  await Promise.allSettled([sandbox, setA, postgresProduct, redisProduct].map((product) => product?.stop()));
  await privateRedis?.stop();
  rmSync(privateRedisDir, { recursive: true, force: true });
});

describe('the sandbox product (PGlite)', () => {
  let test: TestProduct;
  let credentials: CallbackCredentials;
  beforeAll(() => {
    test = sandbox;
    credentials = credentialsOf(test);
  });

  it('GET verification with the product\'s credentials answers the bare plaintext', async () => {
    const answer = await get(test, verification(credentials, '5927782000121345689'));
    expect(answer.status).toBe(200);
    expect(answer.body).toBe('5927782000121345689');
    expect(answer.contentType).toMatch(/^text\/plain/);
  });

  it('GET verification refuses a bad signature, another receiver, another key (401) and a missing echostr (400)', async () => {
    const good = verification(credentials, '1234567890');
    expect((await get(test, { ...good, msg_signature: 'f'.repeat(40) })).status).toBe(401);
    expect((await get(test, verification({ ...credentials, receiveId: 'wwsomeothercorp' }, '1234567890', credentials))).status).toBe(401);
    expect((await get(test, verification({ ...credentials, encodingAesKey: SET_A.encodingAesKey }, '1234567890', credentials))).status).toBe(401);
    const { echostr: _echostr, ...withoutEchostr } = good;
    expect((await get(test, withoutEchostr)).status).toBe(400);
  });

  it('POST statuses: 401 for a bad signature, undecryptable or another receiver; nothing is stored', async () => {
    const createTime = nextCreateTime();
    const plaintext = contactEvent(test, 'edit_external_contact', DEMO_CUSTOMERS[300]!, createTime);
    const good = delivery(plaintext, credentials);
    const otherToken = { ...credentials, token: 'notTheToken' };
    const cases: Delivery[] = [
      { ...good, query: { ...good.query, msg_signature: '0'.repeat(40) } },
      { ...good, query: { ...good.query, nonce: `${good.query.nonce}1` } },
      delivery(plaintext, credentials, otherToken),
      // Correctly signed, but encrypted with another key, tampered with, or for another corp.
      signedEnvelope(encryptMessage({ ...credentials, encodingAesKey: SET_A.encodingAesKey }, plaintext), credentials),
      signedEnvelope(Buffer.from(good.body.match(/<Encrypt><!\[CDATA\[(.*)\]\]><\/Encrypt>/)![1]!, 'base64').subarray(0, 64).toString('base64'), credentials),
      signedEnvelope('bm90IFdlQ29tIGNpcGhlcnRleHQ=', credentials),
      signedEnvelope(encryptMessage({ ...credentials, receiveId: 'wwsomeothercorp' }, plaintext), credentials),
    ];
    for (const d of cases) expect((await post(test, d)).status).toBe(401);
    expect(await rowsAt(test, createTime)).toHaveLength(0);
    expect((await post(test, good)).status).toBe(200);
    expect(await rowsAt(test, createTime)).toHaveLength(1);
  });

  it('POST statuses: 400 for a malformed query, envelope, inner XML, missing fields or wrong types', async () => {
    const createTime = nextCreateTime();
    const customer = DEMO_CUSTOMERS[301]!;
    const good = delivery(contactEvent(test, 'edit_external_contact', customer, createTime), credentials);
    const corpId = credentials.receiveId;
    const inner = (xml: string): Delivery => delivery(xml, credentials);
    const cases: Delivery[] = [
      { ...good, query: { timestamp: good.query.timestamp!, nonce: good.query.nonce! } },
      { ...good, query: { ...good.query, timestamp: 'yesterday' } },
      { ...good, body: 'not xml at all' },
      { ...good, body: '' },
      { ...good, body: '<xml><ToUserName>x</ToUserName></xml>' },
      { ...good, body: good.body.replace('</xml>', '') },
      { ...good, body: `<!DOCTYPE xml [<!ENTITY e SYSTEM "file:///etc/passwd">]>${good.body}` },
      inner('<xml><ToUserName>unclosed'),
      inner('{"Event":"change_external_contact"}'),
      inner(`<!DOCTYPE xml [<!ENTITY x "y">]>${contactEvent(test, 'edit_external_contact', customer, createTime)}`),
      inner(`<xml><__proto__><polluted>1</polluted></__proto__><ToUserName>${corpId}</ToUserName></xml>`),
      inner(`<xml>${'<a>'.repeat(50)}x${'</a>'.repeat(50)}</xml>`),
      inner(eventXml({ ToUserName: corpId, CreateTime: String(createTime), Event: 'change_external_contact', ChangeType: 'edit_external_contact', UserID: customer.userid })),
      inner(eventXml({ ToUserName: corpId, Event: 'change_external_contact', ChangeType: 'add_external_contact', UserID: customer.userid, ExternalUserID: customer.externalUserId })),
      inner(eventXml({ ToUserName: corpId, CreateTime: 'not-a-time', Event: 'change_external_contact', ChangeType: 'del_follow_user', UserID: customer.userid, ExternalUserID: customer.externalUserId })),
      inner(eventXml({ ToUserName: corpId, CreateTime: String(createTime), Event: 'change_external_tag', ChangeType: 'create', Id: 'et1', TagType: 'sticker' })),
      inner(contactEvent(test, 'edit_external_contact', customer, createTime).replace(`<UserID><![CDATA[${customer.userid}]]></UserID>`, '<UserID><a>nested</a></UserID>')),
    ];
    for (const d of cases) expect((await post(test, d)).status).toBe(400);
    // A body in a charset that cannot be read is malformed too.
    expect((await post(test, good, 'text/xml; charset=x-unknown-charset')).status).toBe(400);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(await rowsAt(test, createTime)).toHaveLength(0);
  });

  it('POST over 64 KB is 413, and nothing is stored', async () => {
    const createTime = nextCreateTime();
    const big = delivery(contactEvent(test, 'edit_external_contact', DEMO_CUSTOMERS[302]!, createTime), credentials);
    const answer = await post(test, { ...big, body: big.body.replace('</xml>', `<Padding>${'x'.repeat(70_000)}</Padding></xml>`) });
    expect(answer).toEqual({ status: 413, body: 'payload too large' });
    expect(await rowsAt(test, createTime)).toHaveLength(0);
    // Any content type is read as text, and the limit holds for all of them.
    expect((await post(test, { ...big, body: 'x'.repeat(65_537) }, 'application/octet-stream')).status).toBe(413);
  });

  it('the same delivery sent 3 times: one inbox row, 2 duplicate deliveries, processed once', async () => {
    const createTime = nextCreateTime();
    const customer = DEMO_CUSTOMERS[0]!;
    const d = delivery(contactEvent(test, 'add_external_contact', customer, createTime), credentials);
    for (let i = 0; i < 3; i++) expect(await post(test, d)).toEqual({ status: 200, body: '' });
    const [row] = await waitFor(async () => {
      const rows = await rowsAt(test, createTime);
      return rows.length === 1 && rows[0]!.status !== 'pending' ? rows : undefined;
    }, 'the event to be processed');
    expect(row).toMatchObject({ status: 'done', duplicateDeliveries: 2, attempts: 1, event: 'change_external_contact', changeType: 'add_external_contact' });
    // A 4th delivery, after processing, is still only acknowledged.
    expect((await post(test, d)).status).toBe(200);
    const [after] = await rowsAt(test, createTime);
    expect(after).toMatchObject({ id: row!.id, status: 'done', duplicateDeliveries: 3, attempts: 1 });
    expect((await fetchesOf(test)).get(customer.externalUserId)).toBe(1);
  });

  it('an unknown event type is stored, answered 200 and marked ignored (never queued)', async () => {
    const createTime = nextCreateTime();
    const d = delivery(eventXml({ ToUserName: credentials.receiveId, CreateTime: String(createTime), Event: 'change_external_chat', ChatId: 'wrChat001', ChangeType: 'update', UpdateDetail: 'add_member' }), credentials);
    expect(await post(test, d)).toEqual({ status: 200, body: '' });
    expect((await post(test, d)).status).toBe(200);
    const rows = await rowsAt(test, createTime);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: 'ignored', event: 'change_external_chat', changeType: 'update', duplicateDeliveries: 1, attempts: 0 });
    expect(rows[0]!.payload).toMatchObject({ ChatId: 'wrChat001', UpdateDetail: 'add_member' });
  });

  it('200 distinct events sent concurrently with 10% exact repeats: exactly the distinct ones stored, each processed once', async () => {
    const createTime = nextCreateTime();
    const customers = DEMO_CUSTOMERS.slice(20, 220);
    const distinct = customers.map((c) => delivery(contactEvent(test, 'edit_external_contact', c, createTime), credentials));
    const repeats = distinct.filter((_, i) => i % 10 === 0);
    const before = await fetchesOf(test);
    const answers = await Promise.all([...distinct, ...repeats].map((d) => post(test, d)));
    expect(answers.filter((a) => a.status !== 200)).toEqual([]);
    const rows = await waitFor(async () => {
      const current = await rowsAt(test, createTime);
      return current.length === distinct.length && current.every((r) => r.status !== 'pending') ? current : undefined;
    }, 'all 200 events to be processed', 40_000);
    expect(rows.every((r) => r.status === 'done' && r.attempts === 1)).toBe(true);
    expect(new Set(rows.map((r) => r.payload.ExternalUserID))).toEqual(new Set(customers.map((c) => c.externalUserId)));
    expect(rows.reduce((sum, r) => sum + r.duplicateDeliveries, 0)).toBe(repeats.length);
    const after = await fetchesOf(test);
    const repeated = new Set(customers.filter((_, i) => i % 10 === 0).map((c) => c.externalUserId));
    for (const c of customers) {
      const fetches = (after.get(c.externalUserId) ?? 0) - (before.get(c.externalUserId) ?? 0);
      // An edit repeated after the first was processed looks like a second edit in the same second
      // (WeCom's edit event carries nothing more), so the customer is re-read once; never more.
      if (repeated.has(c.externalUserId)) expect([1, 2]).toContain(fetches);
      else expect(fetches).toBe(1);
    }
  }, 60_000);

  it('every rejection is logged with its reason, and no log line carries a secret', () => {
    const rejected = logLines.map((l) => JSON.parse(l) as { msg: string; reason?: string; status?: number }).filter((l) => l.msg === 'callback rejected');
    expect(rejected.length).toBeGreaterThan(20);
    for (const line of rejected) expect(line.reason).toEqual(expect.any(String));
    expect(rejected.some((l) => l.status === 401 && l.reason?.startsWith('bad_signature'))).toBe(true);
    expect(rejected.some((l) => l.status === 401 && l.reason?.startsWith('undecryptable'))).toBe(true);
    expect(rejected.some((l) => l.status === 401 && l.reason?.startsWith('receiveid_mismatch'))).toBe(true);
    expect(rejected.some((l) => l.status === 413)).toBe(true);
    expect(rejected.some((l) => l.status === 400 && l.reason?.includes('DOCTYPE'))).toBe(true);
    for (const line of logLines) for (const secret of secrets) expect(line).not.toContain(secret);
  });
});

describe('the official vectors over HTTP (a product using set A\'s token, key and corp id; PostgreSQL)', () => {
  let test: TestProduct;
  beforeAll(() => {
    test = setA;
  });

  it('A1: GET with the URL-encoded echostr answers 1616140317555161061', async () => {
    const query = 'msg_signature=5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3&timestamp=1409659589&nonce=263014780&echostr=P9nAzCzyDtyTWESHep1vC5X9xho%2FqYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp%2B4RPcs8TgAE7OaBO%2BFZXvnaqQ%3D%3D';
    const response = await fetch(`${test.url}/wecom/callback?${query}`);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('1616140317555161061');
  });

  it('A2: POST (dated 2014) answers 200; the text message inside is stored as ignored', async () => {
    const body = '<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><Encrypt><![CDATA[RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q==]]></Encrypt><AgentID><![CDATA[218]]></AgentID></xml>';
    const d: Delivery = { query: { msg_signature: '477715d11cdb4164915debcba66cb864d751f3e6', timestamp: '1409659813', nonce: '1372623149' }, body };
    expect(await post(test, d)).toEqual({ status: 200, body: '' });
    expect(await post(test, d)).toEqual({ status: 200, body: '' });
    const rows = await rowsAt(test, 1409659813);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: 'ignored', duplicateDeliveries: 1, payload: { MsgType: 'text', FromUserName: 'mycreate', MsgId: '4561255354251345929' } });
  });

  it('set B\'s vectors are refused by a product using set A (401)', async () => {
    const b1 = await get(test, { msg_signature: '012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb', timestamp: '1476416373', nonce: '47744683', echostr: 'fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVzEtpbhnFyq6SVHyA==' });
    expect(b1.status).toBe(401);
  });
});

describe('the database is down (PostgreSQL)', () => {
  let test: TestProduct;
  let admin: pg.Client;
  let databaseName: string;
  beforeAll(async () => {
    test = postgresProduct;
    const result = await test.product.ctx.db.execute<{ name: string }>(sql`select current_database() as name`);
    databaseName = (result as unknown as { rows: { name: string }[] }).rows[0]!.name;
    admin = new pg.Client({ connectionString: inject('postgresUrl') });
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.query(`ALTER DATABASE ${databaseName} ALLOW_CONNECTIONS true`).catch(() => undefined);
    await admin?.end();
  });

  it('answers 503 while nothing can be committed; WeCom\'s retry after recovery is stored and processed once', async () => {
    const credentials = credentialsOf(test);
    const createTime = nextCreateTime();
    const customer = DEMO_CUSTOMERS[1]!;
    const d = delivery(contactEvent(test, 'add_external_contact', customer, createTime), credentials);

    await admin.query(`ALTER DATABASE ${databaseName} ALLOW_CONNECTIONS false`);
    await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [databaseName]);
    const down = await post(test, d);
    expect(down).toEqual({ status: 503, body: 'temporarily unavailable' });
    expect((await post(test, d)).status).toBe(503);

    await admin.query(`ALTER DATABASE ${databaseName} ALLOW_CONNECTIONS true`);
    expect(await post(test, d)).toEqual({ status: 200, body: '' });
    const [row] = await waitFor(async () => {
      const rows = await rowsAt(test, createTime);
      return rows.length === 1 && rows[0]!.status !== 'pending' ? rows : undefined;
    }, 'the retried event to be processed');
    expect(row).toMatchObject({ status: 'done', duplicateDeliveries: 0, attempts: 1 });
    expect((await post(test, d)).status).toBe(200);
    expect((await rowsAt(test, createTime))[0]).toMatchObject({ duplicateDeliveries: 1, attempts: 1 });
    expect((await fetchesOf(test)).get(customer.externalUserId)).toBe(1);
  });
});

describe('Redis is down (a private Redis for this test; PostgreSQL)', () => {
  let test: TestProduct;
  let redis: PrivateRedis;
  beforeAll(() => {
    test = redisProduct;
    redis = privateRedis;
  });

  it('still answers 200 and loses nothing: the sweeper queues the committed events once Redis is back', async () => {
    const credentials = credentialsOf(test);
    const createTime = nextCreateTime();
    const customers = DEMO_CUSTOMERS.slice(230, 250);
    await redis.kill();
    for (const customer of customers) {
      expect(await post(test, delivery(contactEvent(test, 'add_external_contact', customer, createTime), credentials))).toEqual({ status: 200, body: '' });
    }
    const pending = await rowsAt(test, createTime);
    expect(pending).toHaveLength(customers.length);
    expect(pending.every((r) => r.status === 'pending')).toBe(true);

    await redis.start();
    // The sweeper re-enqueues pending rows older than 10 s, every 200 ms in tests.
    const rows = await waitFor(async () => {
      const current = await rowsAt(test, createTime);
      return current.every((r) => r.status !== 'pending') ? current : undefined;
    }, 'the swept events to be processed', 45_000);
    expect(rows).toHaveLength(customers.length);
    expect(rows.every((r) => r.status === 'done' && r.attempts === 1)).toBe(true);
    const fetches = await fetchesOf(test);
    for (const c of customers) expect(fetches.get(c.externalUserId)).toBe(1);
    const [first] = await test.product.ctx.db.select().from(inboxEvents).where(eq(inboxEvents.id, rows[0]!.id));
    expect(first!.processedAt).not.toBeNull();
  }, 60_000);
});

describe('error answers', () => {
  it('carry no secret, key, stack trace or decrypted content', () => {
    expect(errorBodies.length).toBeGreaterThan(25);
    for (const body of errorBodies) {
      for (const secret of secrets) expect(body).not.toContain(secret);
      expect(body).not.toMatch(/\bat .+:\d+:\d+|Error:|node_modules|CDATA|change_external|<xml|polluted|DOCTYPE/);
      expect(body.length).toBeLessThan(200);
    }
  });
});
