import { type Cipher, createCipheriv } from 'node:crypto';
import { SecAggError } from './errors.js';
import { checkLength, checkModulus } from './modular.js';

/** Seeds are AES-256 keys. */
export const SEED_BYTES = 32;

/**
 * The IV is fixed at zero because every seed keys exactly one stream: a pairwise seed is HKDF output
 * bound to one federation, plan, round, pair and pair of fresh X25519 keys, a self-mask seed is fresh
 * random bytes for one round, and the graph key is derived from its seed under its own HKDF label. So
 * a (key, counter) pair never encrypts two different things, which is all CTR mode needs. The two
 * members of a pair do expand the same stream on purpose: that is what makes their masks cancel.
 */
const ZERO_IV = new Uint8Array(16);
const CHUNK_BYTES = 1 << 16;

export function checkSeed(seed: Uint8Array, what = 'seed'): void {
  if (!(seed instanceof Uint8Array) || seed.length !== SEED_BYTES)
    throw new SecAggError(
      'SEED_INVALID',
      `${what} must be ${SEED_BYTES} bytes (a Uint8Array), got ${describe(seed)}`,
    );
}

function describe(x: unknown): string {
  return x instanceof Uint8Array ? `${x.length} bytes` : typeof x;
}

/** Bits per candidate: ceil(log2 modulus), i.e. the bit length of modulus - 1. */
function candidateBits(modulus: number): number {
  return modulus === 1 ? 0 : (modulus - 1).toString(2).length;
}

/**
 * AES-256-CTR keystream, read as uniform integers below a bound by rejection sampling: each candidate
 * is the low ceil(log2 bound) bits of the next ceil(bits/8) keystream bytes (little-endian), and a
 * candidate >= bound is discarded, so every accepted value is exactly uniform (no modulo bias). At
 * least half of all candidates are accepted.
 */
export class Keystream {
  readonly #cipher: Cipher;
  #buf: Buffer = Buffer.alloc(0);
  #pos = 0;

  constructor(key: Uint8Array) {
    checkSeed(key, 'a PRG key');
    this.#cipher = createCipheriv('aes-256-ctr', key, ZERO_IV);
  }

  /** Makes at least `bytes` fresh keystream bytes readable (what is unread is kept). */
  #refill(bytes: number): void {
    const left = this.#buf.subarray(this.#pos);
    const fresh = this.#cipher.update(Buffer.alloc(Math.max(bytes, CHUNK_BYTES)));
    this.#buf = left.length ? Buffer.concat([left, fresh]) : fresh;
    this.#pos = 0;
  }

  /** Fills `out` with integers uniform in [0, bound), continuing the stream where the last call stopped. */
  fillUniform(out: Float64Array, bound: number): void {
    const bits = candidateBits(bound);
    if (bits === 0) {
      out.fill(0);
      return;
    }
    const width = Math.ceil(bits / 8);
    const topMask = (1 << (bits - 8 * (width - 1))) - 1;
    const expected = Math.ceil((out.length * width * 2 ** bits) / bound) + 64;
    if (this.#buf.length - this.#pos < expected) this.#refill(expected - (this.#buf.length - this.#pos));
    let i = 0;
    while (i < out.length) {
      if (this.#buf.length - this.#pos < width) this.#refill(CHUNK_BYTES);
      const buf = this.#buf;
      const end = buf.length - width;
      let p = this.#pos;
      while (i < out.length && p <= end) {
        let v = buf[p + width - 1]! & topMask;
        for (let b = width - 2; b >= 0; b--) v = v * 256 + buf[p + b]!;
        p += width;
        if (v < bound) out[i++] = v;
      }
      this.#pos = p;
    }
  }

  /** One integer uniform in [0, bound). */
  uniform(bound: number): number {
    const one = new Float64Array(1);
    this.fillUniform(one, bound);
    return one[0]!;
  }
}

/**
 * The mask a seed stands for: `length` integers uniform in [0, modulus), the same on every machine
 * for the same seed (AES-256-CTR keyed by the seed as a PRG, rejection-sampled).
 */
export function expandMask(seed: Uint8Array, length: number, modulus: number): Float64Array {
  checkSeed(seed);
  checkLength(length);
  checkModulus(modulus);
  const out = new Float64Array(length);
  new Keystream(seed).fillUniform(out, modulus);
  return out;
}
