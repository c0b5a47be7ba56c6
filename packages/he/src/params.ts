/**
 * CKKS parameter sets. Aggregation only adds ciphertexts, so a one-prime modulus chain is enough; members
 * hold the secret key, so the default set uses seeded symmetric encryption (the second ciphertext
 * polynomial is replaced by a 64-byte seed), which halves what goes over the wire.
 * Measured figures and the reasoning are in the package README.
 */
import { HeError } from './errors.js';

export type Mode = 'he' | 'plain';

export interface HeParams {
  /** Registry name; written into consortium keys and kits. */
  name: string;
  polyModulusDegree: number;
  /** Bit sizes of the coeff modulus primes. With more than one prime the last is SEAL's special prime. */
  coeffModulusBits: number[];
  /** The CKKS scale is 2^scaleBits. */
  scaleBits: number;
  /** 'symmetric-seeded': secret-key encryption serialized with its seed (members only). */
  encryption: 'symmetric-seeded' | 'public-key';
  /**
   * SEAL's compr_mode for serialized ciphertexts. Only 'none': measured on node-seal 6.0.3, zstd saves 0%
   * and zlib 0.9% on ciphertexts (their coefficients are uniform mod q) while zlib halves encryption speed;
   * and uncompressed chunks can be checked structurally in JS before SEAL parses them.
   */
  compression: 'none';
}

export const HE_PARAM_SETS: Readonly<Record<string, Readonly<HeParams>>> = Object.freeze({
  compact: Object.freeze({
    name: 'compact',
    polyModulusDegree: 8192,
    coeffModulusBits: Object.freeze([60]) as number[],
    scaleBits: 36,
    encryption: 'symmetric-seeded',
    compression: 'none',
  }),
  reference: Object.freeze({
    name: 'reference',
    polyModulusDegree: 8192,
    coeffModulusBits: Object.freeze([60, 40, 40, 60]) as number[],
    scaleBits: 40,
    encryption: 'public-key',
    compression: 'none',
  }),
});

export const DEFAULT_HE_PARAMS = 'compact';

export function getHeParams(name: string): HeParams {
  const p = Object.hasOwn(HE_PARAM_SETS, name) ? HE_PARAM_SETS[name] : undefined;
  if (!p) {
    throw new HeError(
      'UNKNOWN_PARAMS',
      `unknown HE parameter set '${name}'; valid names: ${Object.keys(HE_PARAM_SETS).join(', ')}`,
    );
  }
  return { ...p, coeffModulusBits: [...p.coeffModulusBits] };
}

/** Values per chunk. Plain mode uses the default HE set's slot count whatever the name, so chunking is identical. */
export function slotCountFor(mode: Mode, paramsName: string): number {
  const p = getHeParams(mode === 'plain' ? DEFAULT_HE_PARAMS : paramsName);
  return p.polyModulusDegree / 2;
}

export function chunkCountFor(length: number, slotCount: number): number {
  if (!Number.isSafeInteger(slotCount) || slotCount < 1) {
    throw new HeError('INVALID_PARAMS', `slotCount must be a positive integer, got ${slotCount}`);
  }
  if (!Number.isSafeInteger(length) || length < 1) {
    throw new HeError('LENGTH_MISMATCH', `length must be a positive integer, got ${length}`);
  }
  return Math.ceil(length / slotCount);
}

/** Number of primes a ciphertext carries at the top data level (the special prime is dropped). */
export function dataPrimeCount(p: HeParams): number {
  return p.coeffModulusBits.length > 1 ? p.coeffModulusBits.length - 1 : 1;
}

/**
 * Largest |value| a slot of a (summed) vector may hold and still decrypt correctly: a coefficient of the
 * encoded polynomial is at most scale * max|slot|, and it must stay below q/2 where q >= 2^(sum(bits) - k)
 * for k data primes. Above it the sum wraps silently, so encode() refuses single values above it and the
 * caller must keep the sum of all updates below it too.
 */
export function sumBoundFor(mode: Mode, paramsName: string): number {
  if (mode === 'plain') return 3.4e38; // float32 range
  return sumBound(getHeParams(paramsName));
}

export function sumBound(p: HeParams): number {
  const k = dataPrimeCount(p);
  const bits = p.coeffModulusBits.slice(0, k).reduce((a, b) => a + b, 0);
  return 2 ** (bits - k - 1 - p.scaleBits);
}
