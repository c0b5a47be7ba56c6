import assert from 'node:assert/strict';
import { SecAggError, type SecAggErrorCode } from '../src/index.js';

/** A prime close to 2^40 (BFV's plaintext modulus is of this size). */
export const T = 1099511627689;

export async function expectCode(fn: () => unknown, code: SecAggErrorCode): Promise<SecAggError> {
  let caught: unknown;
  try {
    await fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof SecAggError, `expected a SecAggError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  return caught;
}

export const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** Deterministic "quantized update" values in [0, t) for tests. */
export function valuesOf(seed: number, length: number, modulus = T): Float64Array {
  const out = new Float64Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = (x * 65537 + i) % modulus;
  }
  return out;
}

/** Exact sum mod t of several vectors (BigInt, independent of the package's modular helpers). */
export function exactSum(vs: Float64Array[], modulus = T): Float64Array {
  const n = vs[0]!.length;
  const out = new Float64Array(n);
  const m = BigInt(modulus);
  for (let i = 0; i < n; i++) {
    let s = 0n;
    for (const v of vs) s += BigInt(v[i]!);
    out[i] = Number(s % m);
  }
  return out;
}
