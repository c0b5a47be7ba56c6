/**
 * Fixed-point quantization for mode 'secure': BFV sums integers mod t exactly, so a participant's
 * pre-weighted float update becomes integers before masking, and the decrypted sum becomes floats again.
 *
 * Layout (the same as mode 'he'): weight slots, then the example count in the LAST slot. A weight v
 * travels as round(v * 2^s) mod t (negative values as t - |q|), the count as itself. Each participant
 * may use at most 1/parties of the centered range ((t-1)/2), so that the sum of `parties` updates cannot
 * wrap; the rounding error is at most 2^-(s+1) per slot and participant (ADR 0009).
 */
import { HeInputError } from './errors.js';
import { type BfvParams, paramsForMode } from './params.js';

function bfv(paramsName: string): BfvParams {
  return paramsForMode('secure', paramsName);
}

/** Round half away from zero: symmetric, so positive and negative values carry the same error. */
function roundSym(x: number): number {
  return x < 0 ? -Math.round(-x) : Math.round(x);
}

/** Largest |integer| one of `parties` participants may contribute to a slot. */
export function partyLimit(p: BfvParams, parties: number): number {
  return Math.floor((p.plainModulus - 1) / 2 / parties);
}

/**
 * Quantizes a pre-weighted update (count in the last slot) to residues mod t, ready for masking.
 * Throws HeInputError VALUE_RANGE for a weight beyond the per-party bound or a count that is not a
 * non-negative integer within it.
 */
export function quantizeUpdate(values: Float64Array, paramsName: string, parties: number): Float64Array {
  const p = bfv(paramsName);
  if (!(values instanceof Float64Array))
    throw new HeInputError('VALUE_RANGE', 'values must be a Float64Array');
  if (values.length < 1) throw new HeInputError('LENGTH_MISMATCH', 'values must not be empty');
  if (!Number.isSafeInteger(parties) || parties < 1) {
    throw new HeInputError('VALUE_RANGE', `parties must be a positive integer, got ${parties}`);
  }
  const t = p.plainModulus;
  const scale = 2 ** p.fixedPointBits;
  const limit = partyLimit(p, parties);
  const last = values.length - 1;
  const out = new Float64Array(values.length);
  for (let i = 0; i < last; i++) {
    const v = values[i]!;
    // Checked after rounding, so that even a value rounding up at the edge cannot let the sum wrap.
    const q = roundSym(v * scale);
    if (!(Math.abs(q) <= limit)) {
      throw new HeInputError(
        'VALUE_RANGE',
        Number.isFinite(v)
          ? `value ${v} at index ${i} is beyond the per-party bound ${limit / scale} (|v|·2^${p.fixedPointBits} must be ≤ ((t−1)/2)/parties = ${limit} with t = ${t}, ${parties} parties): the sum could wrap`
          : `value at index ${i} is not finite (${v})`,
      );
    }
    out[i] = q < 0 ? t + q : q;
  }
  const count = values[last]!;
  if (!(Number.isInteger(count) && count >= 0 && count <= limit)) {
    throw new HeInputError(
      'VALUE_RANGE',
      `the example count ${count} at index ${last} (the last slot) must be a non-negative integer ≤ ((t−1)/2)/parties = ${limit} (t = ${t}, ${parties} parties)`,
    );
  }
  out[last] = count;
  return out;
}

/**
 * Lifts a decrypted, unmasked sum of residues mod t to (−t/2, t/2] and back to float units: weights
 * divided by 2^s, the count (last slot) as is. The output has mode 'he''s decode layout.
 */
export function dequantizeSum(sum: Float64Array, paramsName: string): Float64Array {
  const p = bfv(paramsName);
  if (!(sum instanceof Float64Array)) throw new HeInputError('VALUE_RANGE', 'sum must be a Float64Array');
  if (sum.length < 1) throw new HeInputError('LENGTH_MISMATCH', 'sum must not be empty');
  const t = p.plainModulus;
  const half = (t - 1) / 2;
  // Division by a power of two is exact in float64.
  const inv = 2 ** -p.fixedPointBits;
  const last = sum.length - 1;
  const out = new Float64Array(sum.length);
  for (let i = 0; i <= last; i++) {
    const x = sum[i]!;
    if (!(x >= 0 && x < t && Number.isInteger(x))) {
      throw new HeInputError(
        'VALUE_RANGE',
        `sum value ${x} at index ${i} is not an integer in [0, t) for t = ${t}`,
      );
    }
    const c = x > half ? x - t : x;
    out[i] = i === last ? c : c * inv;
  }
  return out;
}
