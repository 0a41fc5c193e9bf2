// WeCom callback crypto (WXBizMsgCrypt), written from wecom-api.md §2 with node:crypto only.
// Deliberately independent of @wecom/crypto and of server/: a bug shared by both sides of the
// callback channel would otherwise be invisible in the integration tests.
import { createCipheriv, createDecipheriv, createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** WeCom pads to a multiple of 32 bytes, not AES's 16, so Node's auto-padding cannot be used. */
const BLOCK = 32;

export class CryptoError extends Error {
  constructor(
    /** WXBizMsgCrypt library code, e.g. -40001 ValidateSignature_Error. */
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** EncodingAESKey is 43 chars of Base64 without the trailing '='; the AES key is its 32 decoded bytes. */
export function decodeAesKey(encodingAesKey: string): Buffer {
  if (!/^[a-zA-Z0-9]{43}$/.test(encodingAesKey)) {
    throw new CryptoError(-40004, 'EncodingAESKey must be 43 characters of [a-zA-Z0-9]');
  }
  const key = Buffer.from(`${encodingAesKey}=`, 'base64');
  if (key.length !== 32) throw new CryptoError(-40004, 'EncodingAESKey does not decode to 32 bytes');
  return key;
}

/** msg_signature = hex(sha1(concat(sort([token, timestamp, nonce, encrypt])))) in plain byte order. */
export function computeSignature(token: string, timestamp: string, nonce: string, encrypt: string): string {
  const parts = [token, timestamp, nonce, encrypt].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return createHash('sha1').update(parts.join('')).digest('hex');
}

/** Constant-time comparison, so a receiver written like this one leaks nothing through timing. */
export function verifySignature(
  token: string,
  timestamp: string,
  nonce: string,
  encrypt: string,
  signature: string,
): boolean {
  const expected = Buffer.from(computeSignature(token, timestamp, nonce, encrypt), 'utf8');
  const given = Buffer.from(signature.toLowerCase(), 'utf8');
  return expected.length === given.length && timingSafeEqual(expected, given);
}

function pad(data: Buffer): Buffer {
  const amount = BLOCK - (data.length % BLOCK);
  return Buffer.concat([data, Buffer.alloc(amount, amount)]);
}

function unpad(data: Buffer): Buffer {
  const amount = data[data.length - 1] ?? 0;
  // The official Python library treats a last byte outside 1..32 as "no padding".
  if (amount < 1 || amount > BLOCK) return data;
  return data.subarray(0, data.length - amount);
}

/**
 * Encrypts `message` for `receiveId` (the corp id for a self-built app's callback).
 * `random` (16 bytes) is injectable so tests can reproduce the official vectors byte for byte.
 */
export function encryptMessage(encodingAesKey: string, message: string, receiveId: string, random?: Buffer): string {
  const key = decodeAesKey(encodingAesKey);
  const prefix = random ?? randomBytes(16);
  if (prefix.length !== 16) throw new CryptoError(-40006, 'random prefix must be 16 bytes');
  const body = Buffer.from(message, 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32BE(body.length, 0);
  const plain = pad(Buffer.concat([prefix, length, body, Buffer.from(receiveId, 'utf8')]));
  const cipher = createCipheriv('aes-256-cbc', key, key.subarray(0, 16));
  cipher.setAutoPadding(false);
  return Buffer.concat([cipher.update(plain), cipher.final()]).toString('base64');
}

export interface Decrypted {
  message: string;
  receiveId: string;
  random: Buffer;
}

/** Decrypts a Base64 `Encrypt`/`echostr` value; throws CryptoError instead of returning garbage. */
export function decryptMessage(encodingAesKey: string, encrypted: string): Decrypted {
  const key = decodeAesKey(encodingAesKey);
  const data = Buffer.from(encrypted, 'base64');
  if (data.length === 0 || data.length % 16 !== 0) throw new CryptoError(-40010, 'ciphertext is not whole AES blocks');
  let plain: Buffer;
  try {
    const decipher = createDecipheriv('aes-256-cbc', key, key.subarray(0, 16));
    decipher.setAutoPadding(false);
    plain = unpad(Buffer.concat([decipher.update(data), decipher.final()]));
  } catch {
    throw new CryptoError(-40007, 'AES decryption failed');
  }
  if (plain.length < 20) throw new CryptoError(-40008, 'plaintext too short');
  const length = plain.readUInt32BE(16);
  if (20 + length > plain.length) throw new CryptoError(-40008, 'message length exceeds plaintext');
  return {
    random: plain.subarray(0, 16),
    message: plain.subarray(20, 20 + length).toString('utf8'),
    receiveId: plain.subarray(20 + length).toString('utf8'),
  };
}

/** Verifies the signature, decrypts, and checks receiveid, in the order a careful receiver must. */
export function openEnvelope(
  config: { token: string; aesKey: string; receiveId: string },
  query: { msg_signature: string; timestamp: string; nonce: string },
  encrypted: string,
): string {
  if (!verifySignature(config.token, query.timestamp, query.nonce, encrypted, query.msg_signature)) {
    throw new CryptoError(-40001, 'signature mismatch');
  }
  const decrypted = decryptMessage(config.aesKey, encrypted);
  if (decrypted.receiveId !== config.receiveId) throw new CryptoError(-40005, 'receiveid mismatch');
  return decrypted.message;
}

/** A random nonce like WeCom's (decimal digits). */
export function randomNonce(): string {
  return String(randomBytes(4).readUInt32BE(0));
}
