/**
 * node-seal loading, one CKKS or BFV context per parameter set and thread, and the structural checks that run in
 * JS before any bytes reach SEAL. The checks matter: node-seal 6 aborts its wasm instance (instead of
 * throwing) on some malformed streams, e.g. a truncated ciphertext, so SEAL only ever sees bytes whose
 * headers, sizes and metadata already match the consortium's parameters exactly; what is left for SEAL
 * to check (coefficients below their primes, the seed) it reports with ordinary exceptions.
 *
 * Every SEAL object lives in wasm memory and is not garbage-collected: whoever creates one deletes it.
 */
import * as sealModule from 'node-seal';
import type { BatchEncoder } from 'node-seal/implementation/batch-encoder.js';
import type { CKKSEncoder } from 'node-seal/implementation/ckks-encoder.js';
import type { Context } from 'node-seal/implementation/context.js';
import type { Evaluator } from 'node-seal/implementation/evaluator.js';
import type { ParmsIdType } from 'node-seal/implementation/parms-id-type.js';
import type { SEALLibrary } from 'node-seal/implementation/seal.js';
import { HeError, HeInputError, sealMessage } from './errors.js';
import { dataPrimeCount, HE_PARAM_SETS, type HeParams, slotsOf } from './params.js';

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
  /** Set for CKKS contexts only. */
  readonly encoder: CKKSEncoder | undefined;
  /** Set for BFV contexts only. */
  readonly batchEncoder: BatchEncoder | undefined;
  readonly evaluator: Evaluator;
  readonly slotCount: number;
  /** What SEAL writes as a ciphertext's scale: 2^scaleBits for CKKS, 1 for BFV. */
  readonly scale: number;
  /** is_ntt_form of a fresh or summed ciphertext: CKKS keeps them in NTT form, BFV does not. */
  readonly nttForm: number;
  /** parms_id of the top data level (where fresh ciphertexts live), as its 32 serialized bytes. */
  readonly dataParmsId: Uint8Array;
  /** parms_id of the key level (secret and public keys). */
  readonly keyParmsId: Uint8Array;
  readonly dataPrimes: number;
  readonly keyPrimes: number;
}

const contexts = new Map<string, Promise<HeContext>>();

function paramsKey(p: HeParams): string {
  const schemePart = p.scheme === 'bfv' ? ['bfv', p.plainModulus, p.fixedPointBits] : [p.scheme, p.scaleBits];
  return JSON.stringify([
    ...schemePart,
    p.polyModulusDegree,
    p.coeffModulusBits,
    p.encryption,
    p.compression,
  ]);
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
  const bits = Array.isArray(p.coeffModulusBits) ? p.coeffModulusBits.reduce((a, b) => a + b, 0) : Number.NaN;
  const extra =
    p.scheme === 'bfv' ? `t=${p.plainModulus}, fixed point 2^${p.fixedPointBits}` : `scale 2^${p.scaleBits}`;
  return `'${p.name}' (${String(p.scheme).toUpperCase()}, N=${p.polyModulusDegree}, coeff modulus [${p.coeffModulusBits}] = ${bits} bits, ${extra})`;
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
  if (p.scheme === 'ckks') {
    if (!Number.isInteger(p.scaleBits) || p.scaleBits < 10 || p.scaleBits > dataBits - k - 2) {
      throw bad(
        `scaleBits must be an integer from 10 to ${dataBits - k - 2} (data modulus ${dataBits} bits)`,
      );
    }
    return;
  }
  if (p.scheme !== 'bfv') throw bad("scheme must be 'ckks' or 'bfv'");
  const t = p.plainModulus;
  // Below 2^53 so that JS numbers hold every residue exactly; 2N | t-1 so that SEAL can batch.
  if (!Number.isSafeInteger(t) || t < 3 || t >= 2 ** 53)
    throw bad('plainModulus must be an integer from 3 to 2^53-1');
  if ((t - 1) % (2 * n) !== 0) throw bad(`plainModulus must be 1 mod 2N = ${2 * n} for batching`);
  if (Math.log2(t) > dataBits - 10)
    throw bad(`plainModulus leaves no noise budget under a ${dataBits}-bit modulus`);
  const tBits = Math.floor(Math.log2(t));
  if (!Number.isInteger(p.fixedPointBits) || p.fixedPointBits < 0 || p.fixedPointBits > tBits - 2) {
    throw bad(`fixedPointBits must be an integer from 0 to ${tBits - 2} (t has ${tBits + 1} bits)`);
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
  const parms = seal.EncryptionParameters(
    params.scheme === 'bfv' ? seal.SchemeType.bfv : seal.SchemeType.ckks,
  );
  try {
    if (params.scheme === 'bfv') setPlainModulus(seal, parms, params);
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
    const bfv = params.scheme === 'bfv';
    if (bfv && !usesBatching(context)) {
      context.delete();
      throw new HeError(
        'INVALID_PARAMS',
        `HE parameter set ${describe(params)}: SEAL does not enable batching for this plainModulus`,
      );
    }
    const encoder = bfv ? undefined : seal.CKKSEncoder(context);
    const batchEncoder = bfv ? seal.BatchEncoder(context) : undefined;
    const slotCount = (encoder ?? batchEncoder)!.slotCount;
    if (slotCount !== slotsOf(params)) {
      encoder?.delete();
      batchEncoder?.delete();
      context.delete();
      throw new HeError(
        'INVALID_PARAMS',
        `HE parameter set ${describe(params)}: SEAL gives ${slotCount} slots`,
      );
    }
    const evaluator = seal.Evaluator(context);
    return {
      seal,
      params: { ...params, coeffModulusBits: [...params.coeffModulusBits] },
      context,
      encoder,
      batchEncoder,
      evaluator,
      slotCount,
      scale: params.scheme === 'ckks' ? 2 ** params.scaleBits : 1,
      nttForm: bfv ? 0 : 1,
      dataParmsId: parmsIdBytes(context.firstParmsId),
      keyParmsId: parmsIdBytes(context.keyParmsId),
      dataPrimes: dataPrimeCount(params),
      keyPrimes: params.coeffModulusBits.length,
    };
  } finally {
    parms.delete();
  }
}

function setPlainModulus(
  seal: SEALLibrary,
  parms: ReturnType<SEALLibrary['EncryptionParameters']>,
  params: HeParams & { scheme: 'bfv' },
): void {
  const t = seal.Modulus(BigInt(params.plainModulus));
  try {
    if (!t.isPrime) {
      throw new HeError(
        'INVALID_PARAMS',
        `HE parameter set ${describe(params)} is invalid: plainModulus must be prime (batching needs a field)`,
      );
    }
    parms.setPlainModulus(t);
  } finally {
    t.delete();
  }
}

function usesBatching(context: Context): boolean {
  const data = context.firstContextData;
  const q = data.qualifiers;
  try {
    return q.usingBatching;
  } finally {
    q.delete();
    data.delete();
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
    const scale = Number.isInteger(scaleBits) ? `2^${scaleBits}` : scaleBits.toFixed(2);
    // A BFV ciphertext carries scale 1 and is not in NTT form: name the scheme, the likeliest mix-up.
    const theirs = meta.scale === 1 && meta.ntt === 0 ? 'BFV' : meta.ntt === 1 ? 'CKKS' : 'unknown scheme';
    const ours = p.scheme === 'bfv' ? `BFV, t=${p.plainModulus}` : `CKKS, scale 2^${p.scaleBits}`;
    throw new HeInputError(
      'PARAMS_MISMATCH',
      `${where} was made with other parameters (${theirs}, N=${meta.n}, ${meta.k} data prime(s), scale ${scale}) than the consortium's '${p.name}' (${ours}, N=${p.polyModulusDegree}, ${ctx.dataPrimes} data prime(s))`,
      { chunkIndex },
    );
  }
  if (meta.ntt !== ctx.nttForm || meta.size !== 2n || meta.correction !== 1n) {
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
