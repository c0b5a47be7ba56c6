/**
 * node-seal loading, one CKKS context per parameter set and thread, and the structural checks that run in
 * JS before any bytes reach SEAL. The checks matter: node-seal 6 aborts its wasm instance (instead of
 * throwing) on some malformed streams, e.g. a truncated ciphertext, so SEAL only ever sees bytes whose
 * headers, sizes and metadata already match the consortium's parameters exactly; what is left for SEAL
 * to check (coefficients below their primes, the seed) it reports with ordinary exceptions.
 *
 * Every SEAL object lives in wasm memory and is not garbage-collected: whoever creates one deletes it.
 */
import * as sealModule from 'node-seal';
import type { CKKSEncoder } from 'node-seal/implementation/ckks-encoder.js';
import type { Context } from 'node-seal/implementation/context.js';
import type { Evaluator } from 'node-seal/implementation/evaluator.js';
import type { ParmsIdType } from 'node-seal/implementation/parms-id-type.js';
import type { SEALLibrary } from 'node-seal/implementation/seal.js';
import { HeError, HeInputError, sealMessage } from './errors.js';
import { dataPrimeCount, HE_PARAM_SETS, type HeParams } from './params.js';

export type { SEALLibrary };

type SealFactory = () => Promise<SEALLibrary>;

let sealPromise: Promise<SEALLibrary> | undefined;

/** The node-seal library of this thread (loaded once; about 50 ms). */
export function loadSeal(): Promise<SEALLibrary> {
  if (!sealPromise) {
    const mod = sealModule as unknown as { default?: unknown };
    const candidate =
      typeof mod.default === 'function' ? mod.default : (mod.default as { default?: unknown })?.default;
    if (typeof candidate !== 'function') throw new Error('node-seal: cannot find the library factory');
    sealPromise = (candidate as SealFactory)();
  }
  return sealPromise;
}

export interface HeContext {
  readonly seal: SEALLibrary;
  readonly params: HeParams;
  readonly context: Context;
  readonly encoder: CKKSEncoder;
  readonly evaluator: Evaluator;
  readonly slotCount: number;
  readonly scale: number;
  /** parms_id of the top data level (where fresh ciphertexts live), as its 32 serialized bytes. */
  readonly dataParmsId: Uint8Array;
  /** parms_id of the key level (secret and public keys). */
  readonly keyParmsId: Uint8Array;
  readonly dataPrimes: number;
  readonly keyPrimes: number;
}

const contexts = new Map<string, Promise<HeContext>>();

function paramsKey(p: HeParams): string {
  return JSON.stringify([p.polyModulusDegree, p.coeffModulusBits, p.scaleBits, p.encryption, p.compression]);
}

/** The (cached) context of a parameter set; refuses invalid or insecure sets. */
export function getHeContext(params: HeParams): Promise<HeContext> {
  const key = paramsKey(params);
  let ctx = contexts.get(key);
  if (!ctx) {
    ctx = loadSeal().then((seal) => buildContext(seal, params));
    contexts.set(key, ctx);
    ctx.catch(() => contexts.delete(key));
  }
  return ctx;
}

function describe(p: HeParams): string {
  const bits = p.coeffModulusBits.reduce((a, b) => a + b, 0);
  return `'${p.name}' (N=${p.polyModulusDegree}, coeff modulus [${p.coeffModulusBits.join(',')}] = ${bits} bits, scale 2^${p.scaleBits})`;
}

function checkShape(p: HeParams): void {
  const bad = (why: string) =>
    new HeError('INVALID_PARAMS', `HE parameter set ${describe(p)} is invalid: ${why}`);
  const n = p.polyModulusDegree;
  if (!Number.isInteger(n) || n < 1024 || n > 32768 || (n & (n - 1)) !== 0) {
    throw bad('polyModulusDegree must be a power of two from 1024 to 32768');
  }
  const bits = p.coeffModulusBits;
  if (!Array.isArray(bits) || bits.length < 1 || bits.some((b) => !Number.isInteger(b) || b < 20 || b > 60)) {
    throw bad('coeffModulusBits must be a non-empty list of integers from 20 to 60');
  }
  if (p.encryption !== 'symmetric-seeded' && p.encryption !== 'public-key') {
    throw bad("encryption must be 'symmetric-seeded' or 'public-key'");
  }
  if (p.compression !== 'none') throw bad("compression must be 'none'");
  const k = dataPrimeCount(p);
  const dataBits = bits.slice(0, k).reduce((a, b) => a + b, 0);
  if (!Number.isInteger(p.scaleBits) || p.scaleBits < 10 || p.scaleBits > dataBits - k - 2) {
    throw bad(`scaleBits must be an integer from 10 to ${dataBits - k - 2} (data modulus ${dataBits} bits)`);
  }
}

function parmsIdBytes(id: ParmsIdType): Uint8Array {
  try {
    const values = id.values;
    const out = new Uint8Array(32);
    const dv = new DataView(out.buffer);
    for (let i = 0; i < 4; i++) dv.setBigUint64(i * 8, values[i] ?? 0n, true);
    return out;
  } finally {
    id.delete();
  }
}

function buildContext(seal: SEALLibrary, params: HeParams): HeContext {
  checkShape(params);
  const n = params.polyModulusDegree;
  const parms = seal.EncryptionParameters(seal.SchemeType.ckks);
  try {
    parms.setPolyModulusDegree(n);
    let coeff: ReturnType<SEALLibrary['CoeffModulus']['Create']>;
    try {
      coeff = seal.CoeffModulus.Create(n, Int32Array.from(params.coeffModulusBits));
    } catch (err) {
      throw new HeError('INVALID_PARAMS', `HE parameter set ${describe(params)}: ${sealMessage(err)}`);
    }
    try {
      parms.setCoeffModulus(coeff);
    } finally {
      coeff.delete();
    }
    const context = seal.Context(parms, true, seal.SecurityLevel.tc128);
    if (!context.parametersSet()) {
      context.delete();
      const loose = seal.Context(parms, true, seal.SecurityLevel.none);
      const setWithoutCheck = loose.parametersSet();
      loose.delete();
      if (setWithoutCheck) {
        const max = seal.CoeffModulus.MaxBitCount(n, seal.SecurityLevel.tc128);
        throw new HeError(
          'INSECURE_PARAMS',
          `HE parameter set ${describe(params)} fails SEAL's 128-bit security check: for N=${n} the coeff modulus may have at most ${max} bits`,
        );
      }
      throw new HeError('INVALID_PARAMS', `HE parameter set ${describe(params)} is rejected by SEAL`);
    }
    const encoder = seal.CKKSEncoder(context);
    const evaluator = seal.Evaluator(context);
    return {
      seal,
      params: { ...params, coeffModulusBits: [...params.coeffModulusBits] },
      context,
      encoder,
      evaluator,
      slotCount: encoder.slotCount,
      scale: 2 ** params.scaleBits,
      dataParmsId: parmsIdBytes(context.firstParmsId),
      keyParmsId: parmsIdBytes(context.keyParmsId),
      dataPrimes: dataPrimeCount(params),
      keyPrimes: params.coeffModulusBits.length,
    };
  } finally {
    parms.delete();
  }
}

/** Builds the SEAL context of a parameter set: throws INSECURE_PARAMS / INVALID_PARAMS if SEAL refuses it. */
export async function validateHeParams(params: HeParams): Promise<void> {
  await getHeContext(params);
}

// ---------------------------------------------------------------------------------------------------------
// Serialized layouts (SEAL 4.1, compr_mode none). All integers little-endian.
//   SEALHeader (16): u16 magic 0xA15E, u8 header size 16, u8 major 4, u8 minor 1, u8 compr mode,
//                    u16 reserved, u64 total size.
//   Ciphertext: header, parms_id (32), u8 is_ntt_form, u64 size, u64 N, u64 k, f64 scale,
//               u64 correction factor, then a DynArray (header, u64 count, count u64 coefficients);
//               seeded: count = N*k (first polynomial only) followed by the PRNG info
//               (header, u8 prng type, 64-byte seed).
//   Plaintext / SecretKey: header, parms_id (32), u64 coeff count, f64 scale, DynArray.
// ---------------------------------------------------------------------------------------------------------

const HEADER = 16;
const SEAL_MAGIC = 0xa15e;
const CT_META = HEADER + 32 + 1 + 8 + 8 + 8 + 8 + 8; // 89
const DYN = HEADER + 8; // DynArray header + count
const PRNG_INFO = HEADER + 1 + 64; // 81

export function seededCiphertextBytes(n: number, k: number): number {
  return CT_META + DYN + n * k * 8 + PRNG_INFO;
}

export function fullCiphertextBytes(n: number, k: number): number {
  return CT_META + DYN + 2 * n * k * 8;
}

export function secretKeyBytes(n: number, k: number): number {
  return HEADER + 32 + 8 + 8 + DYN + n * k * 8;
}

interface SealHeader {
  comprMode: number;
  size: bigint;
}

/** Parses a SEAL header at `off`; null when the bytes are not one. */
function readHeader(dv: DataView, off: number): SealHeader | null {
  if (dv.byteLength < off + HEADER) return null;
  if (dv.getUint16(off, true) !== SEAL_MAGIC || dv.getUint8(off + 2) !== HEADER) return null;
  if (dv.getUint8(off + 3) !== 4 || dv.getUint8(off + 4) !== 1 || dv.getUint16(off + 6, true) !== 0)
    return null;
  return { comprMode: dv.getUint8(off + 5), size: dv.getBigUint64(off + 8, true) };
}

/** True when a nested, uncompressed SEAL header declaring `size` bytes sits at `off`. */
function nestedHeaderOk(dv: DataView, off: number, size: number): boolean {
  const h = readHeader(dv, off);
  return h !== null && h.comprMode === 0 && h.size === BigInt(size);
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** True when the bytes start like a SEAL object (used to explain a plain/HE mode mix-up). */
export function looksLikeSeal(bytes: Uint8Array): boolean {
  return readHeader(view(bytes), 0) !== null;
}

interface CtMeta {
  parmsId: Uint8Array;
  ntt: number;
  size: bigint;
  n: bigint;
  k: bigint;
  scale: number;
  correction: bigint;
}

function readCtMeta(bytes: Uint8Array, dv: DataView): CtMeta {
  return {
    parmsId: bytes.subarray(16, 48),
    ntt: dv.getUint8(48),
    size: dv.getBigUint64(49, true),
    n: dv.getBigUint64(57, true),
    k: dv.getBigUint64(65, true),
    scale: dv.getFloat64(73, true),
    correction: dv.getBigUint64(81, true),
  };
}

const knownParmsIds = new Map<string, Promise<Uint8Array | null>>();

/** Name of the registered parameter set whose data-level parms_id this is, if any (error path only). */
async function knownSetOf(parmsId: Uint8Array): Promise<string | undefined> {
  for (const [name, p] of Object.entries(HE_PARAM_SETS)) {
    let id = knownParmsIds.get(name);
    if (!id) {
      id = getHeContext(p).then(
        (c) => c.dataParmsId,
        () => null,
      );
      knownParmsIds.set(name, id);
    }
    const bytes = await id;
    if (bytes && equalBytes(bytes, parmsId)) return name;
  }
  return undefined;
}

export type CiphertextLayout = 'seeded' | 'full';

/**
 * Checks, without SEAL, that `bytes` is an uncompressed SEAL ciphertext of exactly the shape this context
 * produces (fresh seeded, or full as after a sum). Throws HeInputError INVALID_CIPHERTEXT or
 * PARAMS_MISMATCH. Synchronous and cheap (no pass over the coefficients).
 */
export function checkCiphertextStructure(
  ctx: HeContext,
  bytes: Uint8Array,
  chunkIndex: number,
): CiphertextLayout {
  const where = `chunk ${chunkIndex}`;
  const invalid = (why: string) =>
    new HeInputError('INVALID_CIPHERTEXT', `${where} is not a valid ciphertext: ${why}`, { chunkIndex });
  if (!(bytes instanceof Uint8Array)) throw invalid('not a byte array');
  const dv = view(bytes);
  const header = readHeader(dv, 0);
  if (!header) throw invalid('no SEAL 4.1 header (garbage or not a SEAL object)');
  if (header.size !== BigInt(bytes.length)) {
    throw invalid(
      `its header declares ${header.size} bytes but ${bytes.length} arrived (truncated or padded)`,
    );
  }
  if (header.comprMode !== 0)
    throw invalid(`compressed (compr_mode ${header.comprMode}); only uncompressed chunks are accepted`);
  if (bytes.length < CT_META) throw invalid('too short for a ciphertext');
  const meta = readCtMeta(bytes, dv);
  const p = ctx.params;
  if (
    !equalBytes(meta.parmsId, ctx.dataParmsId) ||
    meta.n !== BigInt(p.polyModulusDegree) ||
    meta.k !== BigInt(ctx.dataPrimes) ||
    meta.scale !== ctx.scale
  ) {
    const scaleBits = meta.scale > 0 && Number.isFinite(meta.scale) ? Math.log2(meta.scale) : Number.NaN;
    throw new HeInputError(
      'PARAMS_MISMATCH',
      `${where} was made with other parameters (N=${meta.n}, ${meta.k} data prime(s), scale 2^${Number.isInteger(scaleBits) ? scaleBits : scaleBits.toFixed(2)}) than the consortium's '${p.name}' (N=${p.polyModulusDegree}, ${ctx.dataPrimes} data prime(s), scale 2^${p.scaleBits})`,
      { chunkIndex },
    );
  }
  if (meta.ntt !== 1 || meta.size !== 2n || meta.correction !== 1n) {
    throw invalid(`unexpected metadata (ntt ${meta.ntt}, size ${meta.size}, correction ${meta.correction})`);
  }
  const n = p.polyModulusDegree;
  const k = ctx.dataPrimes;
  let layout: CiphertextLayout;
  let polyCoeffs: number;
  if (bytes.length === seededCiphertextBytes(n, k)) {
    layout = 'seeded';
    polyCoeffs = n * k;
  } else if (bytes.length === fullCiphertextBytes(n, k)) {
    layout = 'full';
    polyCoeffs = 2 * n * k;
  } else {
    throw invalid(
      `${bytes.length} bytes, expected ${seededCiphertextBytes(n, k)} (seeded) or ${fullCiphertextBytes(n, k)} (full)`,
    );
  }
  if (!nestedHeaderOk(dv, CT_META, DYN + polyCoeffs * 8)) throw invalid('bad coefficient array header');
  if (dv.getBigUint64(CT_META + HEADER, true) !== BigInt(polyCoeffs)) throw invalid('bad coefficient count');
  if (layout === 'seeded') {
    const off = CT_META + DYN + polyCoeffs * 8;
    if (!nestedHeaderOk(dv, off, PRNG_INFO)) throw invalid('bad seed header');
    const prng = dv.getUint8(off + HEADER);
    if (prng !== 1 && prng !== 2) throw invalid(`unknown PRNG type ${prng}`);
  }
  return layout;
}

/** Like checkCiphertextStructure, and names the registered set a foreign chunk belongs to (async). */
export async function explainMismatch(err: unknown, bytes: Uint8Array): Promise<unknown> {
  if (!(err instanceof HeInputError) || err.code !== 'PARAMS_MISMATCH' || bytes.length < 48) return err;
  const name = await knownSetOf(bytes.subarray(16, 48));
  if (!name) return err;
  return new HeInputError(
    'PARAMS_MISMATCH',
    `${err.message}; it is a ciphertext of parameter set '${name}'`,
    {
      chunkIndex: err.chunkIndex,
    },
  );
}

/** Structural check of a serialized secret key for this context; throws HeError KEY_INVALID. */
export function checkSecretKeyStructure(ctx: HeContext, bytes: Uint8Array): void {
  const invalid = (why: string) => new HeError('KEY_INVALID', `consortium secret key is invalid: ${why}`);
  const dv = view(bytes);
  const header = readHeader(dv, 0);
  if (!header) throw invalid('no SEAL 4.1 header');
  if (header.size !== BigInt(bytes.length))
    throw invalid(`header declares ${header.size} bytes but it has ${bytes.length}`);
  if (header.comprMode !== 0) throw invalid('compressed keys are not accepted');
  const n = ctx.params.polyModulusDegree;
  const expected = secretKeyBytes(n, ctx.keyPrimes);
  if (bytes.length !== expected) {
    throw invalid(
      `${bytes.length} bytes where parameter set '${ctx.params.name}' needs ${expected} (made with other parameters?)`,
    );
  }
  if (!equalBytes(bytes.subarray(16, 48), ctx.keyParmsId)) {
    throw invalid(`it was made for other parameters than '${ctx.params.name}'`);
  }
  const coeffs = n * ctx.keyPrimes;
  if (dv.getBigUint64(48, true) !== BigInt(coeffs)) throw invalid('bad coefficient count');
  if (!nestedHeaderOk(dv, 64, DYN + coeffs * 8)) throw invalid('bad coefficient array header');
  if (dv.getBigUint64(64 + HEADER, true) !== BigInt(coeffs)) throw invalid('bad coefficient count');
}

/** Structural check of a serialized public key (a full ciphertext at the key level). */
export function checkPublicKeyStructure(ctx: HeContext, bytes: Uint8Array): void {
  const invalid = (why: string) => new HeError('KEY_INVALID', `consortium public key is invalid: ${why}`);
  const dv = view(bytes);
  const header = readHeader(dv, 0);
  if (!header) throw invalid('no SEAL 4.1 header');
  if (header.size !== BigInt(bytes.length))
    throw invalid(`header declares ${header.size} bytes but it has ${bytes.length}`);
  if (header.comprMode !== 0) throw invalid('compressed keys are not accepted');
  const n = ctx.params.polyModulusDegree;
  const k = ctx.keyPrimes;
  if (bytes.length !== fullCiphertextBytes(n, k)) {
    throw invalid(
      `${bytes.length} bytes where parameter set '${ctx.params.name}' needs ${fullCiphertextBytes(n, k)}`,
    );
  }
  const meta = readCtMeta(bytes, dv);
  if (!equalBytes(meta.parmsId, ctx.keyParmsId) || meta.n !== BigInt(n) || meta.k !== BigInt(k)) {
    throw invalid(`it was made for other parameters than '${ctx.params.name}'`);
  }
  if (meta.ntt !== 1 || meta.size !== 2n) throw invalid('unexpected metadata');
  if (!nestedHeaderOk(dv, CT_META, DYN + 2 * n * k * 8)) throw invalid('bad coefficient array header');
  if (dv.getBigUint64(CT_META + HEADER, true) !== BigInt(2 * n * k)) throw invalid('bad coefficient count');
}
