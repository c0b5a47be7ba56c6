/**
 * Parameter sets. Aggregation only adds ciphertexts, so a one-prime modulus chain is enough; members
 * hold the secret key, so the default sets use seeded symmetric encryption (the second ciphertext
 * polynomial is replaced by a 64-byte seed), which halves what goes over the wire.
 * CKKS sets serve mode 'he' (approximate, N/2 slots); BFV sets serve mode 'secure' (exact integers mod
 * the plaintext modulus t, N slots), where SecAgg masks must cancel exactly.
 * Measured figures and the reasoning are in the package README and ADRs 0004 and 0009.
 */
import { HeError } from './errors.js';

export type Mode = 'he' | 'plain' | 'secure';

interface CommonParams {
  /** Registry name; written into consortium keys and kits. */
  name: string;
  polyModulusDegree: number;
  /** Bit sizes of the coeff modulus primes. With more than one prime the last is SEAL's special prime. */
  coeffModulusBits: number[];
  /** 'symmetric-seeded': secret-key encryption serialized with its seed (members only). */
  encryption: 'symmetric-seeded' | 'public-key';
  /**
   * SEAL's compr_mode for serialized ciphertexts. Only 'none': measured on node-seal 6.0.3, zstd saves 0%
   * and zlib 0.9% on ciphertexts (their coefficients are uniform mod q) while zlib halves encryption speed;
   * and uncompressed chunks can be checked structurally in JS before SEAL parses them.
   */
  compression: 'none';
}

export interface CkksParams extends CommonParams {
  scheme: 'ckks';
  /** The CKKS scale is 2^scaleBits. */
  scaleBits: number;
}

export interface BfvParams extends CommonParams {
  scheme: 'bfv';
  /**
   * The plaintext modulus t: a prime = 1 mod 2N (so SEAL enables batching) below 2^53 (so a JS number
   * holds every value mod t exactly). A literal, not PlainModulus.Batching's pick, so that it can never
   * change under a key epoch.
   */
  plainModulus: number;
  /** Fixed-point scale: a weight v travels as round(v * 2^fixedPointBits) mod t. */
  fixedPointBits: number;
}

export type HeParams = CkksParams | BfvParams;
export type HeScheme = HeParams['scheme'];

export const HE_PARAM_SETS: Readonly<Record<string, Readonly<HeParams>>> = Object.freeze({
  compact: Object.freeze({
    name: 'compact',
    scheme: 'ckks',
    polyModulusDegree: 8192,
    coeffModulusBits: Object.freeze([60]) as number[],
    scaleBits: 36,
    encryption: 'symmetric-seeded',
    compression: 'none',
  }),
  reference: Object.freeze({
    name: 'reference',
    scheme: 'ckks',
    polyModulusDegree: 8192,
    coeffModulusBits: Object.freeze([60, 40, 40, 60]) as number[],
    scaleBits: 40,
    encryption: 'public-key',
    compression: 'none',
  }),
  // ADR 0009: t is the largest prime = 1 mod 16384 below 2^40 (PlainModulus.Batching(8192, 40) on SEAL 4.1).
  exact: Object.freeze({
    name: 'exact',
    scheme: 'bfv',
    polyModulusDegree: 8192,
    coeffModulusBits: Object.freeze([60]) as number[],
    plainModulus: 1099511480321,
    fixedPointBits: 16,
    encryption: 'symmetric-seeded',
    compression: 'none',
  }),
});

export const DEFAULT_HE_PARAMS = 'compact';
export const DEFAULT_SECURE_PARAMS = 'exact';

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

/** The scheme a mode encrypts with ('plain' encrypts nothing). */
export function schemeOf(mode: 'he' | 'secure'): HeScheme {
  return mode === 'secure' ? 'bfv' : 'ckks';
}

/** The named set, refused with INVALID_PARAMS when it is not of the scheme the mode needs. */
export function paramsForMode(mode: 'he', name: string): CkksParams;
export function paramsForMode(mode: 'secure', name: string): BfvParams;
export function paramsForMode(mode: 'he' | 'secure', name: string): HeParams;
export function paramsForMode(mode: 'he' | 'secure', name: string): HeParams {
  const p = getHeParams(name);
  const want = schemeOf(mode);
  if (p.scheme !== want) {
    const fits = Object.values(HE_PARAM_SETS)
      .filter((s) => s.scheme === want)
      .map((s) => s.name);
    throw new HeError(
      'INVALID_PARAMS',
      `mode '${mode}' needs a ${want.toUpperCase()} parameter set, but '${name}' is ${p.scheme.toUpperCase()}; valid names: ${fits.join(', ')}`,
    );
  }
  return p;
}

function checkMode(mode: Mode): void {
  if (mode !== 'he' && mode !== 'plain' && mode !== 'secure') {
    throw new HeError('INVALID_PARAMS', `unknown mode '${String(mode)}'`);
  }
}

/** Values per ciphertext of a set: N/2 for CKKS, N for BFV batching. */
export function slotsOf(p: HeParams): number {
  return p.scheme === 'bfv' ? p.polyModulusDegree : p.polyModulusDegree / 2;
}

/**
 * Values per chunk. Plain mode uses the default HE set's slot count whatever the name, so chunking is
 * identical to mode 'he'. Mode 'secure' packs N values per chunk (BFV batching).
 */
export function slotCountFor(mode: Mode, paramsName: string): number {
  checkMode(mode);
  return slotsOf(mode === 'plain' ? getHeParams(DEFAULT_HE_PARAMS) : paramsForMode(mode, paramsName));
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
 * Largest |value| a slot of a (summed) vector may hold and still decrypt correctly.
 * - CKKS: a coefficient of the encoded polynomial is at most scale * max|slot|, and it must stay below
 *   q/2 where q >= 2^(sum(bits) - k) for k data primes.
 * - BFV (mode 'secure'): in pre-weighted float units, what the centered integer sum mod t can hold after
 *   fixed-point scaling: ((t-1)/2) / 2^fixedPointBits.
 * Above it the sum wraps silently, so the encoders (CKKS) or quantizeUpdate (BFV) refuse single values
 * above it and the caller must keep the sum of all updates below it too.
 */
export function sumBoundFor(mode: Mode, paramsName: string): number {
  checkMode(mode);
  if (mode === 'plain') return 3.4e38; // float32 range
  return sumBound(paramsForMode(mode, paramsName));
}

export function sumBound(p: HeParams): number {
  if (p.scheme === 'bfv') return (p.plainModulus - 1) / 2 / 2 ** p.fixedPointBits;
  const k = dataPrimeCount(p);
  const bits = p.coeffModulusBits.slice(0, k).reduce((a, b) => a + b, 0);
  return 2 ** (bits - k - 1 - p.scaleBits);
}
