import { SecAggError } from './errors.js';

/**
 * Arithmetic mod t on JS numbers. t may be as large as 2^53 - 1, so a + b (< 2^54) is not always
 * exact in a double: these compare against t - b first, which keeps every intermediate below t.
 */

/** The largest array we accept: a 1.7M-parameter CNN fits many times over; a typo's 1e12 does not. */
export const MAX_LENGTH = 2 ** 28;

export function checkModulus(modulus: number): void {
  if (!Number.isSafeInteger(modulus) || modulus < 2)
    throw new SecAggError(
      'MODULUS_INVALID',
      `the modulus must be an integer in [2, 2^53 - 1] (the plaintext modulus t), got ${modulus}`,
    );
}

export function checkLength(length: number): void {
  if (!Number.isSafeInteger(length) || length < 0 || length > MAX_LENGTH)
    throw new SecAggError(
      'LENGTH_INVALID',
      `the vector length must be an integer in [0, 2^28], got ${length}`,
    );
}

/** Every value an integer in [0, modulus): a quantization bug shows here, not as a wrong sum later. */
export function checkValues(values: Float64Array, modulus: number): void {
  if (!(values instanceof Float64Array))
    throw new SecAggError('VALUE_OUT_OF_RANGE', 'values must be a Float64Array of integers in [0, t)');
  checkLength(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!(v >= 0 && v < modulus && Number.isInteger(v)))
      throw new SecAggError(
        'VALUE_OUT_OF_RANGE',
        `values[${i}] = ${v} is not an integer in [0, ${modulus}): quantize before masking`,
      );
  }
}

/** acc[i] = acc[i] + m[i] mod t, for acc and m already in [0, t). */
export function addInto(acc: Float64Array, m: Float64Array, t: number): void {
  for (let i = 0; i < acc.length; i++) {
    const a = acc[i]!;
    const d = t - m[i]!;
    acc[i] = a >= d ? a - d : a + m[i]!;
  }
}

/** acc[i] = acc[i] - m[i] mod t, for acc and m already in [0, t). */
export function subInto(acc: Float64Array, m: Float64Array, t: number): void {
  for (let i = 0; i < acc.length; i++) {
    const a = acc[i]!;
    const b = m[i]!;
    acc[i] = a >= b ? a - b : a + (t - b);
  }
}

/** (a + b) mod t and (a - b) mod t for a, b in [0, t): for callers (the aggregator) working value by value. */
export function addMod(a: number, b: number, t: number): number {
  const d = t - b;
  return a >= d ? a - d : a + b;
}

export function subMod(a: number, b: number, t: number): number {
  return a >= b ? a - b : a + (t - b);
}
