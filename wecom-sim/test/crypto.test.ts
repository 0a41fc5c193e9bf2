// The simulator's own callback crypto against the official WXBizMsgCrypt vectors (wecom-api.md §2).
import { describe, expect, it } from 'vitest';
import { computeSignature, CryptoError, decodeAesKey, decryptMessage, encryptMessage, openEnvelope, verifySignature } from '../crypto.ts';

const A = { token: 'QDG6eK', corpId: 'wx5823bf96d3bd56c7', aesKey: 'jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C' };
const A1 = {
  msg_signature: '5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3',
  timestamp: '1409659589',
  nonce: '263014780',
  echostrEncoded: 'P9nAzCzyDtyTWESHep1vC5X9xho%2FqYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp%2B4RPcs8TgAE7OaBO%2BFZXvnaqQ%3D%3D',
  echostr: 'P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==',
  plain: '1616140317555161061',
  random: 'c41b64491c2468d0',
};
const A2 = {
  msg_signature: '477715d11cdb4164915debcba66cb864d751f3e6',
  timestamp: '1409659813',
  nonce: '1372623149',
  encrypt:
    'RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q==',
  plain:
    '<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>\n<FromUserName><![CDATA[mycreate]]></FromUserName>\n<CreateTime>1409659813</CreateTime>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[hello]]></Content>\n<MsgId>4561255354251345929</MsgId>\n<AgentID>218</AgentID>\n</xml>',
  random: '0960688932c47ef1',
};
const B = { token: 'hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo', corpId: 'ww1436e0e65a779aee', aesKey: '6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt' };
const B1 = {
  msg_signature: '012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb',
  timestamp: '1476416373',
  nonce: '47744683',
  echostr: 'fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVzEtpbhnFyq6SVHyA==',
  plain: '1288432023552776189',
};
const B2 = {
  msg_signature: '0c3914025cb4b4d68103f6bfc8db550f79dcf48e',
  timestamp: '1476422779',
  nonce: '1597212914',
  encrypt:
    'Kl7kjoSf6DMD1zh7rtrHjFaDapSCkaOnwu3bqLc5tAybhhMl9pFeK8NslNPVdMwmBQTNoW4mY7AIjeLvEl3NyeTkAgGzBhzTtRLNshw2AEew+kkYcD+Fq72Kt00fT0WnN87hGrW8SqGc+NcT3mu87Ha3dz1pSDi6GaUA6A0sqfde0VJPQbZ9U+3JWcoD4Z5jaU0y9GSh010wsHF8KZD24YhmZH4ch4Ka7ilEbjbfvhKkNL65HHL0J6EYJIZUC2pFrdkJ7MhmEbU2qARR4iQHE7wy24qy0cRX3Mfp6iELcDNfSsPGjUQVDGxQDCWjayJOpcwocugux082f49HKYg84EpHSGXAyh+/oxwaWbvL6aSDPOYuPDGOCI8jmnKiypE+',
  plain:
    '<xml><ToUserName>ww1436e0e65a779aee</ToUserName><FromUserName>ChenJiaShun</FromUserName><CreateTime>1476422779</CreateTime><MsgType>text</MsgType><Content>你好</Content><MsgId>1456453720</MsgId><AgentID>1000002</AgentID></xml>',
};

describe('callback crypto (official vectors)', () => {
  it('derives the AES key and IV of set A', () => {
    const key = decodeAesKey(A.aesKey);
    expect(key.toString('hex')).toBe('8d69989bbaabe67328014c194631ad0719b3dca035b64023df292447aab60760');
    expect(key.subarray(0, 16).toString('hex')).toBe('8d69989bbaabe67328014c194631ad07');
  });

  it('A1: verifies the URL-verification signature and decrypts the URL-decoded echostr', () => {
    const echostr = new URLSearchParams(`echostr=${A1.echostrEncoded}`).get('echostr')!;
    expect(echostr).toBe(A1.echostr);
    expect(computeSignature(A.token, A1.timestamp, A1.nonce, echostr)).toBe(A1.msg_signature);
    const out = decryptMessage(A.aesKey, echostr);
    expect(out).toMatchObject({ message: A1.plain, receiveId: A.corpId });
    expect(out.random.toString('utf8')).toBe(A1.random);
  });

  it('A2: verifies the POST signature and decrypts the exact 284-byte plaintext', () => {
    expect(computeSignature(A.token, A2.timestamp, A2.nonce, A2.encrypt)).toBe(A2.msg_signature);
    const message = openEnvelope({ token: A.token, aesKey: A.aesKey, receiveId: A.corpId }, A2, A2.encrypt);
    expect(message).toBe(A2.plain);
    expect(Buffer.byteLength(message)).toBe(284);
  });

  it('A3: encryption with the vectors\' random prefixes reproduces A2 and A1 byte for byte', () => {
    expect(encryptMessage(A.aesKey, A2.plain, A.corpId, Buffer.from(A2.random, 'utf8'))).toBe(A2.encrypt);
    expect(encryptMessage(A.aesKey, A1.plain, A.corpId, Buffer.from(A1.random, 'utf8'))).toBe(A1.echostr);
  });

  it('B1: verifies and decrypts set B\'s echostr', () => {
    expect(verifySignature(B.token, B1.timestamp, B1.nonce, B1.echostr, B1.msg_signature)).toBe(true);
    expect(decryptMessage(B.aesKey, B1.echostr)).toMatchObject({ message: B1.plain, receiveId: B.corpId });
  });

  it('B2: verifies and decrypts a message whose length counts UTF-8 bytes', () => {
    const message = openEnvelope({ token: B.token, aesKey: B.aesKey, receiveId: B.corpId }, B2, B2.encrypt);
    expect(message).toBe(B2.plain);
    expect(Buffer.byteLength(message)).toBe(228);
  });

  it('round-trips and rejects tampering, a wrong key and a wrong receiveid', () => {
    const encrypted = encryptMessage(B.aesKey, '<xml>你好</xml>', B.corpId);
    expect(decryptMessage(B.aesKey, encrypted).message).toBe('<xml>你好</xml>');
    expect(verifySignature(B.token, '1', '2', encrypted, computeSignature(B.token, '1', '2', encrypted))).toBe(true);
    expect(verifySignature(B.token, '1', '2', encrypted, '0'.repeat(40))).toBe(false);
    expect(() => openEnvelope({ token: B.token, aesKey: B.aesKey, receiveId: 'other' }, { msg_signature: computeSignature(B.token, '1', '2', encrypted), timestamp: '1', nonce: '2' }, encrypted)).toThrow(CryptoError);
    expect(() => decryptMessage(A.aesKey, encrypted)).toThrow(CryptoError);
    expect(() => decodeAesKey('short')).toThrow(CryptoError);
  });
});
