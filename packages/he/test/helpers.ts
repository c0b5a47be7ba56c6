import assert from 'node:assert/strict';
import { HeError, type HeErrorCode, mulberry32 } from '../src/index.js';

/** An update of `length` values: deltas in ±0.5 pre-weighted by `count`, then `count` in the trailing slot. */
export function weightedUpdate(length: number, count: number, seed: number): Float64Array {
  const next = mulberry32(seed);
  const v = new Float64Array(length);
  for (let i = 0; i < length - 1; i++) v[i] = count * (next() - 0.5);
  v[length - 1] = count;
  return v;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

export function sumOf(updates: Float64Array[]): Float64Array {
  const out = new Float64Array(updates[0]!.length);
  for (const u of updates) for (let i = 0; i < u.length; i++) out[i] += u[i]!;
  return out;
}

/** Asserts that `fn` rejects with an HeError of `code` (and `input` class when asked). */
export async function rejectsWith(fn: () => unknown, code: HeErrorCode, message?: RegExp): Promise<HeError> {
  let caught: unknown;
  try {
    await fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof HeError, `expected HeError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  if (message) assert.match(caught.message, message);
  return caught;
}

export function sameChunks(a: Uint8Array[], b: Uint8Array[]): boolean {
  return a.length === b.length && a.every((c, i) => Buffer.from(c).equals(Buffer.from(b[i]!)));
}
