import { timingSafeEqual } from 'node:crypto';
import * as wecomCrypto from '@wecom/crypto';

/**
 * The only door to @wecom/crypto. The library computes signatures and runs AES, but does not verify
 * signatures, does not check the receiveid, and returns garbage instead of throwing on a wrong key or a
 * tampered ciphertext; every one of those checks is made here.
 */
export type CallbackCryptoFailure = 'bad_signature' | 'undecryptable' | 'receiveid_mismatch';

export class CallbackCryptoError extends Error {
  override name = 'CallbackCryptoError';
  constructor(readonly reason: CallbackCryptoFailure, message: string) {
    super(message);
  }
}

export interface CallbackCredentials {
  token: string;
  encodingAesKey: string;
  /** The corp id for a self-built app's callbacks. */
  receiveId: string;
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
/** Characters XML 1.0 forbids (tab, LF and CR are allowed): never in a message WeCom sends. */
const CONTROL_CHARACTERS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F]/;

export function signatureOf(token: string, timestamp: string, nonce: string, encrypted: string): string {
  return wecomCrypto.getSignature(token, timestamp, nonce, encrypted);
}

/** Constant-time comparison of the expected and received `msg_signature`. */
export function verifySignature(credentials: CallbackCredentials, timestamp: string, nonce: string, encrypted: string, signature: string): void {
  const expected = Buffer.from(signatureOf(credentials.token, timestamp, nonce, encrypted), 'utf8');
  const received = Buffer.from(signature.toLowerCase(), 'utf8');
  const same = expected.length === received.length && timingSafeEqual(expected, received);
  if (!same) throw new CallbackCryptoError('bad_signature', 'msg_signature does not match token, timestamp, nonce and ciphertext');
}

/** Decrypts and checks structure and receiveid; returns the plaintext message. */
export function decryptMessage(credentials: CallbackCredentials, encrypted: string): string {
  if (!BASE64.test(encrypted)) throw new CallbackCryptoError('undecryptable', 'ciphertext is not base64');
  const raw = Buffer.from(encrypted, 'base64');
  // WeCom pads to 32-byte blocks: anything else was not produced by WeCom.
  if (raw.length < 32 || raw.length % 32 !== 0) throw new CallbackCryptoError('undecryptable', 'ciphertext length is not a multiple of 32 bytes');
  let decrypted: { message: string; id: string };
  try {
    decrypted = decryptChecked(credentials.encodingAesKey, encrypted);
  } catch (error) {
    if (error instanceof CallbackCryptoError) throw error;
    throw new CallbackCryptoError('undecryptable', 'ciphertext does not decrypt with the configured EncodingAESKey');
  }
  // CBC has no MAC: a ciphertext changed in one block decrypts to 16 garbled bytes that can happen
  // to be valid UTF-8 and survive the round trip. WeCom only sends XML or a digit string, where C0
  // control characters other than tab, LF and CR cannot occur, so such garbage is refused here. (The
  // msg_signature check is what authenticates the ciphertext; this keeps garbage out of the parser.)
  if (CONTROL_CHARACTERS.test(decrypted.message)) throw new CallbackCryptoError('undecryptable', 'ciphertext does not decrypt to a well-formed message');
  const expected = Buffer.from(credentials.receiveId);
  const got = Buffer.from(decrypted.id);
  if (expected.length !== got.length || !timingSafeEqual(expected, got)) {
    throw new CallbackCryptoError('receiveid_mismatch', 'the message was encrypted for another receiver (receiveid is not this corp id)');
  }
  return decrypted.message;
}

function decryptChecked(encodingAesKey: string, encrypted: string): { message: string; id: string } {
  const result = wecomCrypto.decrypt(encodingAesKey, encrypted);
  // The library returns garbage rather than failing on a wrong key or tampering. Encrypting its answer
  // again with the same random prefix must give back the exact ciphertext; only a well-formed message
  // (length field, receiveid and 32-byte PKCS#7 padding all consistent) survives that round trip.
  const again = wecomCrypto.encrypt(encodingAesKey, result.message, result.id, result.random);
  if (again !== encrypted.replace(/\s+/g, '')) {
    throw new CallbackCryptoError('undecryptable', 'ciphertext does not decrypt with the configured EncodingAESKey');
  }
  return { message: result.message, id: result.id };
}

export function encryptMessage(credentials: CallbackCredentials, message: string, random?: Buffer): string {
  return wecomCrypto.encrypt(credentials.encodingAesKey, message, credentials.receiveId, random);
}

/** JS-SDK signature (config and agentConfig), made on the server so no ticket reaches the browser. */
export function jsapiSignature(ticket: string, nonceStr: string, timestamp: number, url: string): string {
  return wecomCrypto.getJsApiSignature({ ticket, nonceStr, timestamp, url }).signature;
}
