// Hostile traffic for `/wecom/callback`, generated with fast-check: random and mutated envelopes,
// signatures, ciphertexts and queries, and correctly signed and encrypted XML that is hostile (entity
// bombs, external entities, deep nesting, huge fields, `__proto__` names, wrong encodings, binary).
// Every generated request is wrong by construction (a bad signature, a receive id that is not the
// corp's, a required field missing or malformed, a refused construct), so the only right answers are
// 4xx. The crypto is the simulator's (written independently of the server's).
import { Agent, request } from 'node:http';
import fc from 'fast-check';
import { computeSignature, encryptMessage } from '../../wecom-sim/crypto.ts';

export interface CallbackKeys {
  token: string;
  aesKey: string;
  corpId: string;
}

export interface FuzzRequest {
  /** Which generator made it (reported with failures). */
  family: string;
  method: 'GET' | 'POST' | 'PUT';
  /** Path and query as sent (query strings may be malformed on purpose). */
  path: string;
  headers: Record<string, string>;
  body: Buffer;
}

const cdata = (value: string): string => `<![CDATA[${value}]]>`;
const envelopeOf = (toUserName: string, encrypt: string): string =>
  `<xml><ToUserName>${cdata(toUserName)}</ToUserName><Encrypt>${cdata(encrypt)}</Encrypt><AgentID>${cdata('1000002')}</AgentID></xml>`;

function signedPath(keys: CallbackKeys, encrypt: string, timestamp: string, nonce: string, extra = ''): string {
  const signature = computeSignature(keys.token, timestamp, nonce, encrypt);
  return `/wecom/callback?msg_signature=${signature}&timestamp=${timestamp}&nonce=${encodeURIComponent(nonce)}${extra}`;
}

const post = (family: string, path: string, body: string | Buffer, contentType = 'text/xml'): FuzzRequest =>
  ({ family, method: 'POST', path, headers: { 'content-type': contentType }, body: typeof body === 'string' ? Buffer.from(body) : body });

/** A complete, well-formed `add_external_contact` event (only ever sent with a defect elsewhere). */
function eventXml(fields: { userId: string; externalUserId: string; createTime: string }): string {
  return `<xml><ToUserName>${cdata('wwsimcorp0000000001')}</ToUserName><FromUserName>${cdata('sys')}</FromUserName><CreateTime>${fields.createTime}</CreateTime>` +
    `<MsgType>${cdata('event')}</MsgType><Event>${cdata('change_external_contact')}</Event><ChangeType>${cdata('add_external_contact')}</ChangeType>` +
    `<UserID>${cdata(fields.userId)}</UserID><ExternalUserID>${cdata(fields.externalUserId)}</ExternalUserID></xml>`;
}

const idText = fc.stringMatching(/^[A-Za-z0-9_-]{1,40}$/);
const timestamp = fc.integer({ min: 1_600_000_000, max: 1_900_000_000 }).map(String);
const nonce = fc.stringMatching(/^[0-9A-Za-z]{1,16}$/);
const anyText = fc.string({ unit: 'binary', maxLength: 300 });

/** XML bodies that are hostile or broken; each lacks something every accepted event has. */
function hostileXml(): fc.Arbitrary<{ kind: string; xml: string }> {
  const bomb = fc.integer({ min: 2, max: 12 }).map((levels) => {
    const entities = Array.from({ length: levels }, (_, i) => `<!ENTITY e${i} "${i === 0 ? 'lol' : `&e${i - 1};`.repeat(10)}">`).join('');
    return { kind: 'entity bomb', xml: `<?xml version="1.0"?><!DOCTYPE xml [${entities}]><xml><ToUserName>&e${levels - 1};</ToUserName></xml>` };
  });
  const external = fc.constantFrom('file:///etc/passwd', 'http://127.0.0.1:1/x', 'php://filter/resource=/etc/hostname').map((uri) => ({
    kind: 'external entity', xml: `<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "${uri}">]><xml><ToUserName>&xxe;</ToUserName><Encrypt>&xxe;</Encrypt></xml>`,
  }));
  const deep = fc.integer({ min: 9, max: 3_000 }).map((depth) => ({ kind: 'deep nesting', xml: `<xml>${'<a>'.repeat(depth)}x${'</a>'.repeat(depth)}</xml>` }));
  const huge = fc.tuple(fc.constantFrom('ToUserName', 'Encrypt', 'UserID', 'ExternalUserID', 'Event'), fc.integer({ min: 60_001, max: 63_000 }))
    .map(([field, size]) => ({ kind: 'huge field', xml: `<xml><${field}>${'A'.repeat(size)}</${field}></xml>` }));
  const proto = fc.tuple(fc.constantFrom('__proto__', 'constructor', 'prototype', '__defineGetter__'), anyText.filter((t) => !t.includes(']]>')))
    .map(([name, value]) => ({ kind: '__proto__ names', xml: `<xml><${name}>${cdata(value)}</${name}><${name}><polluted>1</polluted></${name}><MsgType>${cdata('event')}</MsgType></xml>` }));
  // Well-formed records that miss a required header field or break its format.
  const missing = fc.tuple(idText, idText, fc.constantFrom('no FromUserName', 'no CreateTime', 'CreateTime not digits', 'no root', 'two roots'))
    .map(([userId, externalUserId, defect]) => {
      const full = eventXml({ userId, externalUserId, createTime: '1700000000' });
      const xml = defect === 'no FromUserName' ? full.replace(/<FromUserName>.*?<\/FromUserName>/, '')
        : defect === 'no CreateTime' ? full.replace(/<CreateTime>.*?<\/CreateTime>/, '')
          : defect === 'CreateTime not digits' ? full.replace('<CreateTime>1700000000', '<CreateTime>17e8')
            : defect === 'no root' ? full.replace(/^<xml>|<\/xml>$/g, '')
              : `${full}${full}`;
      return { kind: `invalid event (${defect})`, xml };
    });
  const truncated = fc.tuple(idText, idText, fc.nat()).map(([userId, externalUserId, cut]) => {
    const full = eventXml({ userId, externalUserId, createTime: '1700000000' });
    return { kind: 'truncated XML', xml: full.slice(0, cut % (full.length - 1)) };
  });
  const garbage = anyText.map((xml) => ({ kind: 'random text', xml: `<xml>${xml}` }));
  return fc.oneof(bomb, external, deep, huge, proto, missing, truncated, garbage);
}

export function callbackRequests(keys: CallbackKeys): fc.Arbitrary<FuzzRequest> {
  const realEvent = fc.tuple(idText, idText, fc.integer({ min: 1_600_000_000, max: 1_900_000_000 }))
    .map(([userId, externalUserId, t]) => eventXml({ userId, externalUserId, createTime: String(t) }));

  // 1. Random bytes with random or well-formed-looking queries.
  const binary = fc.tuple(fc.uint8Array({ maxLength: 2_048 }), fc.constantFrom('application/octet-stream', 'text/xml', 'text/xml; charset=utf-8', ''), fc.option(fc.tuple(timestamp, nonce), { nil: undefined }))
    .map(([bytes, type, q]) => post('binary body', q ? signedPath(keys, Buffer.from(bytes).toString('base64'), q[0], q[1]) : '/wecom/callback', Buffer.from(bytes), type || 'application/octet-stream'));

  // 2. Query strings: missing, duplicated, overlong, non-hex signatures, random bytes.
  const queries = fc.tuple(fc.constantFrom(
    '', '?', '?msg_signature=&timestamp=&nonce=', '?msg_signature=zz&timestamp=1&nonce=1', '?timestamp=1&nonce=1',
    `?msg_signature=${'a'.repeat(40)}&msg_signature=${'b'.repeat(40)}&timestamp=1&nonce=1`, `?msg_signature=${'a'.repeat(40)}&timestamp=abc&nonce=1`,
    `?msg_signature=${'a'.repeat(40)}&timestamp=1&nonce=${'n'.repeat(65)}`, `?msg_signature[]=x&timestamp[a]=1&nonce=1`, '?%E0%A4%A=1',
  ), realEvent).map(([query, xml]) => post('malformed query', `/wecom/callback${query}`, envelopeOf(keys.corpId, encryptMessage(keys.aesKey, xml, keys.corpId))));

  // 3. A real ciphertext with a wrong signature (random, or signed with another token or over other bytes).
  const badSignature = fc.tuple(realEvent, timestamp, nonce, fc.constantFrom('random', 'other token', 'other timestamp', 'uppercase flipped'), fc.stringMatching(/^[0-9a-f]{40}$/))
    .map(([xml, t, n, how, random]) => {
      const encrypt = encryptMessage(keys.aesKey, xml, keys.corpId);
      const right = computeSignature(keys.token, t, n, encrypt);
      const signature = how === 'random' ? (random === right ? random.replace(/^./, (c) => (c === '0' ? '1' : '0')) : random)
        : how === 'other token' ? computeSignature(`${keys.token}x`, t, n, encrypt)
          : how === 'other timestamp' ? computeSignature(keys.token, `${Number(t) + 1}`, n, encrypt)
            : right.replace(/[0-9]/, (d) => String((Number(d) + 1) % 10));
      return post(`wrong signature (${how})`, `/wecom/callback?msg_signature=${signature}&timestamp=${t}&nonce=${n}`, envelopeOf(keys.corpId, encrypt));
    });

  // 4. Correctly signed ciphertexts that are wrong: bytes flipped (decrypted under a receive id that is not
  //    the corp's, so no flip can make them valid), random bytes, bad base64, wrong lengths, another key.
  const badCiphertext = fc.tuple(realEvent, timestamp, nonce, fc.constantFrom('flipped bytes', 'random bytes', 'not base64', 'truncated', 'other key', 'empty plaintext'), fc.array(fc.nat(), { minLength: 1, maxLength: 4 }), fc.uint8Array({ minLength: 1, maxLength: 512 }))
    .map(([xml, t, n, how, positions, random]) => {
      let encrypt: string;
      if (how === 'flipped bytes') {
        const bytes = Buffer.from(encryptMessage(keys.aesKey, xml, 'wxNOTTHECORP00000'), 'base64');
        for (const p of positions) bytes[p % bytes.length] = bytes[p % bytes.length]! ^ (1 + (p % 255));
        encrypt = bytes.toString('base64');
      } else if (how === 'random bytes') encrypt = Buffer.from(random).toString('base64');
      else if (how === 'not base64') encrypt = `${encryptMessage(keys.aesKey, xml, keys.corpId).slice(0, 40)}!*~%`;
      else if (how === 'truncated') encrypt = encryptMessage(keys.aesKey, xml, keys.corpId).slice(0, 4 * (1 + (positions[0]! % 20)));
      else if (how === 'other key') encrypt = encryptMessage('ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut', xml, keys.corpId);
      else encrypt = encryptMessage(keys.aesKey, '', keys.corpId);
      return post(`bad ciphertext (${how})`, signedPath(keys, encrypt, t, n), envelopeOf(keys.corpId, encrypt));
    });

  // 5. Correctly signed and encrypted for the corp, but the decrypted XML is hostile or invalid.
  const hostileInside = fc.tuple(hostileXml(), timestamp, nonce).map(([{ kind, xml }, t, n]) => {
    const encrypt = encryptMessage(keys.aesKey, xml, keys.corpId);
    return post(`hostile event XML (${kind})`, signedPath(keys, encrypt, t, n), envelopeOf(keys.corpId, encrypt));
  });

  // 6. The envelope itself hostile (its Encrypt never reaches decryption).
  const hostileEnvelope = fc.tuple(hostileXml(), timestamp, nonce).map(([{ kind, xml }, t, n]) => post(`hostile envelope (${kind})`, signedPath(keys, 'x', t, n), xml));

  // 7. Wrong encodings: a real envelope in UTF-16 or GBK bytes, an unknown charset, a BOM, latin-1 bytes.
  const encodings = fc.tuple(realEvent, timestamp, nonce, fc.constantFrom('utf-16le', 'utf-16be', 'gbk', 'x-unknown-charset', 'bom', 'latin1'))
    .map(([xml, t, n, how]) => {
      // Under a receive id that is not the corp's: whatever the server makes of the bytes, it is refused.
      const encrypt = encryptMessage(keys.aesKey, xml, 'wxNOTTHECORP00000');
      const envelope = envelopeOf(keys.corpId, encrypt);
      const path = signedPath(keys, encrypt, t, n);
      if (how === 'utf-16le') return post('wrong encoding (utf-16le)', path, Buffer.from(envelope, 'utf16le'), 'text/xml; charset=utf-16le');
      if (how === 'utf-16be') return post('wrong encoding (utf-16be)', path, Buffer.from(envelope, 'utf16le').swap16(), 'text/xml; charset=utf-16be');
      if (how === 'gbk') return post('wrong encoding (gbk declared)', path, Buffer.from(envelope.replace('<xml>', '<xml><Note>中文</Note>'), 'utf8'), 'text/xml; charset=gbk');
      if (how === 'x-unknown-charset') return post('wrong encoding (unknown charset)', path, Buffer.from(envelope), 'text/xml; charset=x-unknown-charset');
      if (how === 'bom') return post('wrong encoding (BOM)', path, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(envelope)]));
      return post('wrong encoding (latin1)', path, Buffer.from(`${envelope}\u00e9\u00ff`, 'latin1'), 'text/xml; charset=iso-8859-1');
    });

  // 8. Bodies over 64 KB, and the URL verification (GET) with wrong or random echostr.
  const oversized = fc.integer({ min: 65_537, max: 100_000 }).map((size) => post('oversized body', '/wecom/callback?msg_signature=' + 'a'.repeat(40) + '&timestamp=1&nonce=1', Buffer.alloc(size, 0x41)));
  const verification = fc.tuple(timestamp, nonce, fc.constantFrom('random echostr', 'wrong signature', 'wrong receive id', 'no echostr'), fc.uint8Array({ minLength: 1, maxLength: 256 }))
    .map(([t, n, how, bytes]): FuzzRequest => {
      const echostr = how === 'random echostr' ? Buffer.from(bytes).toString('base64')
        : encryptMessage(keys.aesKey, 'echo', how === 'wrong receive id' ? 'wxNOTTHECORP00000' : keys.corpId);
      const signature = how === 'wrong signature' ? 'f'.repeat(40) : computeSignature(keys.token, t, n, echostr);
      const query = `msg_signature=${signature}&timestamp=${t}&nonce=${n}${how === 'no echostr' ? '' : `&echostr=${encodeURIComponent(echostr)}`}`;
      return { family: `verification (${how})`, method: 'GET', path: `/wecom/callback?${query}`, headers: {}, body: Buffer.alloc(0) };
    });
  const otherMethod = realEvent.map((xml): FuzzRequest => ({ family: 'other method', method: 'PUT', path: '/wecom/callback', headers: { 'content-type': 'text/xml' }, body: Buffer.from(xml) }));

  return fc.oneof(
    { arbitrary: binary, weight: 2 }, { arbitrary: queries, weight: 1 }, { arbitrary: badSignature, weight: 2 },
    { arbitrary: badCiphertext, weight: 3 }, { arbitrary: hostileInside, weight: 4 }, { arbitrary: hostileEnvelope, weight: 2 },
    { arbitrary: encodings, weight: 1 }, { arbitrary: oversized, weight: 1 }, { arbitrary: verification, weight: 1 }, { arbitrary: otherMethod, weight: 1 },
  );
}

export interface FuzzAnswer {
  status: number;
  /** Network-level failure (connection reset, refused): the server crashed or dropped the request. */
  error?: string;
}

/** Sends one request over a keep-alive agent (raw http: the path is sent byte for byte). */
export function sendFuzz(baseUrl: string, agent: Agent, r: FuzzRequest): Promise<FuzzAnswer> {
  const target = new URL(baseUrl);
  return new Promise((resolve) => {
    const req = request({ agent, host: target.hostname, port: target.port, method: r.method, path: r.path, headers: { ...r.headers, 'content-length': r.body.length } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0 }));
      res.on('error', (error) => resolve({ status: 0, error: error.message }));
    });
    req.on('error', (error) => resolve({ status: 0, error: error.message }));
    req.end(r.body);
  });
}

export interface FuzzRun {
  requests: number;
  statuses: Record<string, number>;
  families: Record<string, number>;
  /** Milliseconds spent waiting for answers, per family (where the server's time goes). */
  familyMs: Record<string, number>;
  /** Requests answered with anything but a 4xx (or not answered). */
  failures: { family: string; status: number; error?: string; path: string; bodyStart: string }[];
  /** Heap used after a full GC, MB, at each checkpoint (when `gc` is exposed). */
  heapMb: number[];
}

/**
 * Sends `total` generated requests (`concurrency` in flight), from a fixed seed so a failure can be
 * replayed. Between checkpoints the heap is measured after a full GC.
 */
export async function runCallbackFuzz(options: { baseUrl: string; keys: CallbackKeys; total: number; seed: number; concurrency?: number; checkpoints?: number }): Promise<FuzzRun> {
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency ?? 8 });
  const arbitrary = callbackRequests(options.keys);
  const run: FuzzRun = { requests: 0, statuses: {}, families: {}, familyMs: {}, failures: [], heapMb: [] };
  const checkpoints = options.checkpoints ?? 10;
  const perCheckpoint = Math.ceil(options.total / checkpoints);
  const gc = (globalThis as { gc?: () => void }).gc;
  const measure = () => {
    if (!gc) return;
    gc();
    gc();
    run.heapMb.push(Math.round((process.memoryUsage().heapUsed / 1_048_576) * 10) / 10);
  };
  measure();
  for (let c = 0; c < checkpoints && run.requests < options.total; c++) {
    const batchSize = Math.min(perCheckpoint, options.total - run.requests);
    // Generated in slices so at most one slice of requests is held in memory at a time.
    for (let done = 0; done < batchSize;) {
      const slice = fc.sample(arbitrary, { numRuns: Math.min(500, batchSize - done), seed: options.seed + c * 1_000_003 + done });
      let next = 0;
      const lane = async () => {
        while (next < slice.length) {
          const r = slice[next++]!;
          const started = performance.now();
          const answer = await sendFuzz(options.baseUrl, agent, r);
          const elapsed = performance.now() - started;
          run.statuses[answer.status] = (run.statuses[answer.status] ?? 0) + 1;
          const family = r.family.replace(/ \(.*$/, '');
          run.families[family] = (run.families[family] ?? 0) + 1;
          run.familyMs[family] = Math.round((run.familyMs[family] ?? 0) + elapsed);
          if (answer.status < 400 || answer.status >= 500) {
            run.failures.push({ family: r.family, status: answer.status, ...(answer.error ? { error: answer.error } : {}), path: r.path.slice(0, 200), bodyStart: r.body.subarray(0, 200).toString('latin1') });
          }
        }
      };
      await Promise.all(Array.from({ length: options.concurrency ?? 8 }, lane));
      done += slice.length;
      run.requests += slice.length;
    }
    measure();
  }
  agent.destroy();
  return run;
}
