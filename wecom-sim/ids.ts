// Deterministic ids shaped like WeCom's. A given fixture applied to a fresh reset always yields the
// same ids, so tests, demos and screenshots are stable; the shapes (`et...`, `wm...`, hex config ids)
// match what real clients store and validate.
import { createHash } from 'node:crypto';

export type IdKind = 'tag' | 'group' | 'external' | 'config' | 'msg' | 'code';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-';

function encode(digest: Buffer, length: number): string {
  let out = '';
  for (let i = 0; out.length < length; i++) out += ALPHABET[(digest[i % digest.length] ?? 0) % 64];
  return out;
}

export class IdFactory {
  private counters = new Map<IdKind, number>();

  constructor(private readonly seed: string) {}

  next(kind: IdKind): string {
    const n = (this.counters.get(kind) ?? 0) + 1;
    this.counters.set(kind, n);
    const digest = createHash('sha256').update(`${this.seed}|${kind}|${n}`).digest();
    switch (kind) {
      case 'tag':
      case 'group':
        // Real ids look like "etXXXX...": 'et' + 28 url-safe chars; group and tag ids share the space.
        return `et${encode(digest, 28)}`;
      case 'external':
        return `wm${encode(digest, 30)}`;
      case 'config':
        return digest.subarray(0, 16).toString('hex');
      case 'msg':
        return `msg${encode(digest, 24)}`;
      case 'code':
        return encode(digest, 32);
    }
  }
}

/** Small deterministic PRNG (mulberry32) for fixtures such as the demo company. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
