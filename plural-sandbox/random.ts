/**
 * Deterministic randomness: every decision is a hash of (seed, kind, key), so it does not depend on
 * the order in which concurrent requests arrive.
 */

/** cyrb53: fast 53-bit string hash (public domain, bryc). */
export function hash53(text: string, seed: number): number {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

const TWO_53 = 2 ** 53;
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** A seeded source of decisions and identifiers. */
export class Dice {
  constructor(private readonly seed: number) {}

  /** A number in [0, 1) fixed by (seed, kind, key). */
  unit(kind: string, key: string): number {
    return hash53(`${kind}|${key}`, this.seed) / TWO_53;
  }

  /** True with probability `rate` for this (kind, key). */
  chance(kind: string, rate: number, key: string): boolean {
    return rate > 0 && this.unit(kind, key) < rate;
  }

  /** `digits` decimal digits fixed by (kind, key). */
  digits(kind: string, key: string, digits: number): string {
    let out = '';
    let h = hash53(`${kind}|${key}`, this.seed);
    for (let i = 0; i < digits; i++) {
      if (h < 10) h = hash53(`${kind}|${key}|${i}`, this.seed);
      out += String(h % 10);
      h = Math.floor(h / 10);
    }
    return out;
  }

  /** `length` alphanumerics fixed by (kind, key). */
  alnum(kind: string, key: string, length: number): string {
    let out = '';
    let h = hash53(`${kind}#${key}`, this.seed);
    for (let i = 0; i < length; i++) {
      if (h < ALNUM.length) h = hash53(`${kind}#${key}#${i}`, this.seed);
      out += ALNUM[h % ALNUM.length];
      h = Math.floor(h / ALNUM.length);
    }
    return out;
  }

  /** A UUID-shaped identifier fixed by (kind, key). */
  uuid(kind: string, key: string): string {
    const hex = (part: number, len: number): string =>
      hash53(`${kind}|${key}|${part}`, this.seed).toString(16).padStart(14, '0').slice(-len);
    return `${hex(1, 8)}-${hex(2, 4)}-4${hex(3, 3)}-a${hex(4, 3)}-${hex(5, 12)}`;
  }
}
