// The server's callback crypto wrapper (server/wecom/callback-crypto.ts) against the official
// WXBizMsgCrypt test vectors of wecom-api.md §2 (sets A and B), the deterministic encrypt check (A3),
// and every way a ciphertext can be wrong: the wrapper must throw a typed CallbackCryptoError and never
// hand garbage to the XML parser.
import { createCipheriv } from 'node:crypto';
import * as nodeCrypto from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import {
  CallbackCryptoError, decryptMessage, encryptMessage, jsapiSignature, signatureOf, verifySignature,
  type CallbackCredentials, type CallbackCryptoFailure,
} from '../../server/wecom/callback-crypto.ts';

// Lets a test prove the signature comparison goes through crypto.timingSafeEqual (constant time).
vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:crypto')>();
  return { ...actual, timingSafeEqual: vi.fn(actual.timingSafeEqual) };
});

const SET_A: CallbackCredentials = { token: 'QDG6eK', encodingAesKey: 'jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C', receiveId: 'wx5823bf96d3bd56c7' };
const SET_B: CallbackCredentials = { token: 'hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo', encodingAesKey: '6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt', receiveId: 'ww1436e0e65a779aee' };

const A1 = {
  signature: '5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3',
  timestamp: '1409659589',
  nonce: '263014780',
  echostrAsSent: 'P9nAzCzyDtyTWESHep1vC5X9xho%2FqYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp%2B4RPcs8TgAE7OaBO%2BFZXvnaqQ%3D%3D',
  echostr: 'P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==',
  plaintext: '1616140317555161061',
  random: 'c41b64491c2468d0',
};

const A2 = {
  signature: '477715d11cdb4164915debcba66cb864d751f3e6',
  timestamp: '1409659813',
  nonce: '1372623149',
  encrypt: 'RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q==',
  plaintext: '<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>\n<FromUserName><![CDATA[mycreate]]></FromUserName>\n<CreateTime>1409659813</CreateTime>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[hello]]></Content>\n<MsgId>4561255354251345929</MsgId>\n<AgentID>218</AgentID>\n</xml>',
  random: '0960688932c47ef1',
};

const B1 = {
  signature: '012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb',
  timestamp: '1476416373',
  nonce: '47744683',
  echostr: 'fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVzEtpbhnFyq6SVHyA==',
  plaintext: '1288432023552776189',
};

const B2 = {
  signature: '0c3914025cb4b4d68103f6bfc8db550f79dcf48e',
  timestamp: '1476422779',
  nonce: '1597212914',
  encrypt: 'Kl7kjoSf6DMD1zh7rtrHjFaDapSCkaOnwu3bqLc5tAybhhMl9pFeK8NslNPVdMwmBQTNoW4mY7AIjeLvEl3NyeTkAgGzBhzTtRLNshw2AEew+kkYcD+Fq72Kt00fT0WnN87hGrW8SqGc+NcT3mu87Ha3dz1pSDi6GaUA6A0sqfde0VJPQbZ9U+3JWcoD4Z5jaU0y9GSh010wsHF8KZD24YhmZH4ch4Ka7ilEbjbfvhKkNL65HHL0J6EYJIZUC2pFrdkJ7MhmEbU2qARR4iQHE7wy24qy0cRX3Mfp6iELcDNfSsPGjUQVDGxQDCWjayJOpcwocugux082f49HKYg84EpHSGXAyh+/oxwaWbvL6aSDPOYuPDGOCI8jmnKiypE+',
  plaintext: '<xml><ToUserName>ww1436e0e65a779aee</ToUserName><FromUserName>ChenJiaShun</FromUserName><CreateTime>1476422779</CreateTime><MsgType>text</MsgType><Content>你好</Content><MsgId>1456453720</MsgId><AgentID>1000002</AgentID></xml>',
};

/** Runs `fn`, expects a CallbackCryptoError, and returns its reason. */
function failureOf(fn: () => unknown): CallbackCryptoFailure {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(CallbackCryptoError);
    return (error as CallbackCryptoError).reason;
  }
  throw new Error('expected a CallbackCryptoError, but the call succeeded');
}

const flipBit = (ciphertext: string, byte: number, bit: number): string => {
  const raw = Buffer.from(ciphertext, 'base64');
  raw[byte]! ^= 1 << bit;
  return raw.toString('base64');
};

/** AES-256-CBC as WeCom does it, with an arbitrary plaintext block layout (for hand-made bad messages). */
function rawEncrypt(encodingAesKey: string, plaintext: Buffer): string {
  const key = Buffer.from(`${encodingAesKey}=`, 'base64');
  const cipher = createCipheriv('aes-256-cbc', key, key.subarray(0, 16));
  cipher.setAutoPadding(false);
  return Buffer.concat([cipher.update(plaintext), cipher.final()]).toString('base64');
}

function pad32(data: Buffer): Buffer {
  const padLength = 32 - (data.length % 32);
  return Buffer.concat([data, Buffer.alloc(padLength, padLength)]);
}

function layout(message: string, receiveId: string, msgLength = Buffer.byteLength(message)): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(msgLength);
  return Buffer.concat([Buffer.from('0123456789abcdef'), length, Buffer.from(message), Buffer.from(receiveId)]);
}

describe('official vectors, set A (token QDG6eK)', () => {
  it('A1: GET verification: the signature over the decoded echostr matches, and it decrypts to 1616140317555161061', () => {
    expect(decodeURIComponent(A1.echostrAsSent)).toBe(A1.echostr);
    expect(signatureOf(SET_A.token, A1.timestamp, A1.nonce, A1.echostr)).toBe(A1.signature);
    expect(() => verifySignature(SET_A, A1.timestamp, A1.nonce, A1.echostr, A1.signature)).not.toThrow();
    expect(decryptMessage(SET_A, A1.echostr)).toBe(A1.plaintext);
  });

  it('A2: POST: the signature over <Encrypt> matches, and it decrypts to the exact 284-byte plaintext', () => {
    // The documented sorted concatenation: nonce, timestamp, token, Encrypt.
    const sorted = [SET_A.token, A2.timestamp, A2.nonce, A2.encrypt].sort();
    expect(sorted.slice(0, 3)).toEqual([A2.nonce, A2.timestamp, SET_A.token]);
    expect(signatureOf(SET_A.token, A2.timestamp, A2.nonce, A2.encrypt)).toBe(A2.signature);
    expect(() => verifySignature(SET_A, A2.timestamp, A2.nonce, A2.encrypt, A2.signature)).not.toThrow();
    const plaintext = decryptMessage(SET_A, A2.encrypt);
    expect(plaintext).toBe(A2.plaintext);
    expect(Buffer.byteLength(plaintext)).toBe(284);
    expect(plaintext.split('\n')).toHaveLength(8);
  });

  it('A3: encrypting with the given random prefixes reproduces A1 echostr and A2 Encrypt byte for byte', () => {
    expect(encryptMessage(SET_A, A1.plaintext, Buffer.from(A1.random))).toBe(A1.echostr);
    expect(encryptMessage(SET_A, A2.plaintext, Buffer.from(A2.random))).toBe(A2.encrypt);
  });

  it('encrypt then decrypt round-trips with a fresh random prefix (a different ciphertext each time)', () => {
    const first = encryptMessage(SET_A, A2.plaintext);
    const second = encryptMessage(SET_A, A2.plaintext);
    expect(first).not.toBe(second);
    expect(decryptMessage(SET_A, first)).toBe(A2.plaintext);
    expect(decryptMessage(SET_A, second)).toBe(A2.plaintext);
  });
});

describe('official vectors, set B (token hJqcu3...)', () => {
  it('B1: GET verification decrypts to 1288432023552776189', () => {
    expect(signatureOf(SET_B.token, B1.timestamp, B1.nonce, B1.echostr)).toBe(B1.signature);
    expect(() => verifySignature(SET_B, B1.timestamp, B1.nonce, B1.echostr, B1.signature)).not.toThrow();
    expect(decryptMessage(SET_B, B1.echostr)).toBe(B1.plaintext);
  });

  it('B2: POST with non-ASCII content: msg_len counts bytes, not characters', () => {
    expect(() => verifySignature(SET_B, B2.timestamp, B2.nonce, B2.encrypt, B2.signature)).not.toThrow();
    const plaintext = decryptMessage(SET_B, B2.encrypt);
    expect(plaintext).toBe(B2.plaintext);
    expect(plaintext).toContain('<Content>你好</Content>');
    expect(Buffer.byteLength(plaintext)).toBe(228);
    expect(plaintext.length).toBe(224); // 你好: 2 characters, 6 bytes
    // The length field inside the ciphertext is the byte count.
    const again = encryptMessage(SET_B, plaintext, Buffer.from('0123456789abcdef'));
    expect(decryptMessage(SET_B, again)).toBe(plaintext);
  });

  it('a message encoded with msg_len in characters instead of bytes is refused, never truncated', () => {
    const wrong = rawEncrypt(SET_B.encodingAesKey, pad32(layout(B2.plaintext, SET_B.receiveId, B2.plaintext.length)));
    expect(['undecryptable', 'receiveid_mismatch']).toContain(failureOf(() => decryptMessage(SET_B, wrong)));
  });
});

describe('signature check', () => {
  it('a wrong signature of the right length is refused through the constant-time comparison', () => {
    const timingSafeEqual = vi.mocked(nodeCrypto.timingSafeEqual);
    timingSafeEqual.mockClear();
    const wrong = A1.signature.slice(0, -1) + (A1.signature.endsWith('3') ? '4' : '3');
    expect(failureOf(() => verifySignature(SET_A, A1.timestamp, A1.nonce, A1.echostr, wrong))).toBe('bad_signature');
    expect(timingSafeEqual).toHaveBeenCalledTimes(1);
    const [expected, received] = timingSafeEqual.mock.calls[0]!;
    expect(Buffer.from(expected as Uint8Array).toString()).toBe(A1.signature);
    expect(Buffer.from(received as Uint8Array).toString()).toBe(wrong);
  });

  it('refuses a signature of another length, an empty one, and one made with another token, timestamp, nonce or ciphertext', () => {
    const cases: [string, string, string, string][] = [
      [A1.timestamp, A1.nonce, A1.echostr, A1.signature.slice(0, 39)],
      [A1.timestamp, A1.nonce, A1.echostr, `${A1.signature}0`],
      [A1.timestamp, A1.nonce, A1.echostr, ''],
      [A1.timestamp, A1.nonce, A1.echostr, signatureOf('otherToken', A1.timestamp, A1.nonce, A1.echostr)],
      ['1409659590', A1.nonce, A1.echostr, A1.signature],
      [A1.timestamp, '263014781', A1.echostr, A1.signature],
      [A1.timestamp, A1.nonce, A2.encrypt, A1.signature],
    ];
    for (const [timestamp, nonce, encrypted, signature] of cases) {
      expect(failureOf(() => verifySignature(SET_A, timestamp, nonce, encrypted, signature))).toBe('bad_signature');
    }
  });

  it('accepts the signature in upper-case hex (it is compared case-insensitively)', () => {
    expect(() => verifySignature(SET_A, A1.timestamp, A1.nonce, A1.echostr, A1.signature.toUpperCase())).not.toThrow();
  });

  it('every single-bit change of the ciphertext is caught by the signature', () => {
    for (const [credentials, vector] of [[SET_A, A2], [SET_B, B2]] as const) {
      const bytes = Buffer.from(vector.encrypt, 'base64').length;
      for (let byte = 0; byte < bytes; byte++) {
        for (let bit = 0; bit < 8; bit++) {
          const tampered = flipBit(vector.encrypt, byte, bit);
          expect(failureOf(() => verifySignature(credentials, vector.timestamp, vector.nonce, tampered, vector.signature))).toBe('bad_signature');
        }
      }
    }
  });
});

describe('decryption failures are typed, never garbage', () => {
  it('a wrong EncodingAESKey is undecryptable (the library itself would return garbage)', () => {
    const keys = ['kWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C', 'jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B3C', SET_B.encodingAesKey, 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG', 'A'.repeat(43)];
    for (const encodingAesKey of keys) {
      for (const ciphertext of [A1.echostr, A2.encrypt]) {
        expect(failureOf(() => decryptMessage({ ...SET_A, encodingAesKey }, ciphertext))).toBe('undecryptable');
      }
    }
  });

  it('a truncated ciphertext is undecryptable, cut inside a block or at a block boundary', () => {
    const raw = Buffer.from(A2.encrypt, 'base64');
    const cuts = [raw.length - 1, raw.length - 16, raw.length - 32, raw.length - 64, 32, 31, 16, 1];
    for (const length of cuts) {
      expect(failureOf(() => decryptMessage(SET_A, raw.subarray(0, length).toString('base64')))).toBe('undecryptable');
    }
    expect(failureOf(() => decryptMessage(SET_A, A2.encrypt.slice(0, -4)))).toBe('undecryptable');
    expect(failureOf(() => decryptMessage(SET_A, A2.encrypt.slice(0, 100)))).toBe('undecryptable');
  });

  it('every single-bit flip after the first AES block is undecryptable', () => {
    for (const [credentials, ciphertext] of [[SET_A, A1.echostr], [SET_A, A2.encrypt], [SET_B, B1.echostr], [SET_B, B2.encrypt]] as const) {
      const bytes = Buffer.from(ciphertext, 'base64').length;
      for (let byte = 16; byte < bytes; byte++) {
        for (let bit = 0; bit < 8; bit++) {
          expect(failureOf(() => decryptMessage(credentials, flipBit(ciphertext, byte, bit)))).toBe('undecryptable');
        }
      }
    }
  });

  it('a flip in the first block garbles only the unauthenticated random prefix and the next 16 bytes (why the signature is checked first)', () => {
    // AES-CBC without a MAC: the first ciphertext block decrypts to the random prefix (never checked)
    // and flips the same bit 16 bytes later (msg_len, then the message's first 12 bytes). The wrapper
    // refuses what it can detect; anything it returns differs from the original only there.
    for (let byte = 0; byte < 16; byte++) {
      for (let bit = 0; bit < 8; bit++) {
        let plaintext: string;
        try {
          plaintext = decryptMessage(SET_A, flipBit(A2.encrypt, byte, bit));
        } catch (error) {
          expect(error).toBeInstanceOf(CallbackCryptoError);
          expect(['undecryptable', 'receiveid_mismatch']).toContain((error as CallbackCryptoError).reason);
          continue;
        }
        expect(byte).toBeGreaterThanOrEqual(4);
        expect(plaintext.length).toBe(A2.plaintext.length);
        expect(plaintext.slice(12)).toBe(A2.plaintext.slice(12));
        expect(plaintext.charCodeAt(byte - 4) ^ A2.plaintext.charCodeAt(byte - 4)).toBe(1 << bit);
      }
    }
  });

  it('text that is not base64 is undecryptable', () => {
    const samples = [
      'not base64!',
      `${A2.encrypt.slice(0, 40)}*${A2.encrypt.slice(41)}`,
      A1.echostr.replaceAll('+', ' '), // a `+` decoded as a space by a careless query parser
      `${A1.echostr}\n`,
      '====',
      '',
      '你好你好',
      A1.echostr.replaceAll('/', '_').replaceAll('+', '-'), // base64url is not what WeCom sends
    ];
    for (const sample of samples) {
      expect(failureOf(() => decryptMessage(SET_A, sample))).toBe('undecryptable');
    }
  });

  it('a length that is not a multiple of 32 bytes is undecryptable (WeCom pads to 32)', () => {
    for (const length of [16, 48, 80, 33, 63]) {
      const raw = Buffer.concat([Buffer.from(A2.encrypt, 'base64'), Buffer.alloc(64, 7)]).subarray(0, length);
      expect(failureOf(() => decryptMessage(SET_A, raw.toString('base64')))).toBe('undecryptable');
    }
    // 16-byte PKCS#7 (what Node's default auto-padding produces) is not WeCom's format.
    const key = Buffer.from(`${SET_A.encodingAesKey}=`, 'base64');
    const cipher = createCipheriv('aes-256-cbc', key, key.subarray(0, 16));
    const sixteen = Buffer.concat([cipher.update(layout(A1.plaintext.repeat(2), SET_A.receiveId)), cipher.final()]);
    expect(sixteen.length % 32).not.toBe(0);
    expect(failureOf(() => decryptMessage(SET_A, sixteen.toString('base64')))).toBe('undecryptable');
  });

  it('hand-made plaintexts with a bad length field or bad padding are undecryptable', () => {
    const message = '1616140317555161061';
    const bad = [
      pad32(layout(message, SET_A.receiveId, 0xffffffff)), // length beyond the message
      Buffer.concat([layout(message, SET_A.receiveId), Buffer.alloc(32 - (layout(message, SET_A.receiveId).length % 32), 0)]), // pad byte 0
      Buffer.concat([layout(message, SET_A.receiveId), Buffer.alloc(32 - (layout(message, SET_A.receiveId).length % 32), 33)]), // pad byte 33
      Buffer.alloc(32, 32), // all padding, no content
      pad32(Buffer.concat([Buffer.from('0123456789abcdef'), Buffer.from([0, 0, 0, 3]), Buffer.from([0xff, 0xfe, 0xfd]), Buffer.from(SET_A.receiveId)])), // invalid UTF-8
      pad32(layout('<xml>\u0007</xml>', SET_A.receiveId)), // a control character XML forbids
    ];
    for (const plaintext of bad) {
      expect(failureOf(() => decryptMessage(SET_A, rawEncrypt(SET_A.encodingAesKey, plaintext)))).toBe('undecryptable');
    }
  });

  it('a message encrypted for another receiver is receiveid_mismatch', () => {
    for (const receiveId of ['wx5823bf96d3bd56c8', 'ww1436e0e65a779aee', '', 'wx5823bf96d3bd56c7x', 'wx5823bf96d3bd56c']) {
      const ciphertext = encryptMessage({ ...SET_A, receiveId }, A1.plaintext);
      expect(failureOf(() => decryptMessage(SET_A, ciphertext))).toBe('receiveid_mismatch');
    }
    // The official vectors are for their own corp only.
    expect(failureOf(() => decryptMessage({ ...SET_A, receiveId: SET_B.receiveId }, A2.encrypt))).toBe('receiveid_mismatch');
  });

  it('error messages carry no key, token, ciphertext or plaintext', () => {
    const errors: unknown[] = [];
    const attempts = [
      () => verifySignature(SET_A, A1.timestamp, A1.nonce, A1.echostr, '0'.repeat(40)),
      () => decryptMessage({ ...SET_A, encodingAesKey: SET_B.encodingAesKey }, A2.encrypt),
      () => decryptMessage({ ...SET_A, receiveId: 'wwother' }, A2.encrypt),
      () => decryptMessage(SET_A, 'not base64!'),
    ];
    for (const attempt of attempts) {
      try { attempt(); } catch (error) { errors.push(error); }
    }
    expect(errors).toHaveLength(attempts.length);
    for (const error of errors) {
      const text = `${String(error)} ${JSON.stringify(error)}`;
      for (const secret of [SET_A.token, SET_A.encodingAesKey, SET_B.encodingAesKey, A2.encrypt.slice(0, 20), 'hello', 'mycreate', A1.plaintext]) {
        expect(text).not.toContain(secret);
      }
    }
  });
});

describe('JS-SDK signature', () => {
  it('reproduces the official vector (wecom-api.md §9)', () => {
    const ticket = 'sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg';
    expect(jsapiSignature(ticket, 'Wm3WZYTPz0wzccnW', 1414587457, 'http://mp.weixin.qq.com?params=value')).toBe('0f9de62fce790f9a083d5c99e95740ceb90c27ed');
    expect(jsapiSignature(ticket, 'Wm3WZYTPz0wzccnW', 1414587457, 'http://mp.weixin.qq.com')).toBe('f4d90daf4b3bca3078ab155816175ba34c443a7b');
  });
});
