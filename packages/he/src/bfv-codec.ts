/**
 * Synchronous BFV encrypt/decrypt of chunk ranges (mode 'secure') for one thread holding the consortium
 * secret key. Values are residues mod the plaintext modulus t, already quantized and masked by the caller
 * (see fixed-point.ts); BFV batching puts N of them in one ciphertext and sums them exactly mod t, which
 * is what lets SecAgg masks cancel.
 *
 * Residues travel as float64 in JS (t < 2^53 keeps them exact) and as u64 in SEAL; they are converted
 * through 32-bit halves rather than BigInt, which would cost a heap allocation per value.
 */
import type { BatchEncoder } from 'node-seal/implementation/batch-encoder.js';
import type { Decryptor } from 'node-seal/implementation/decryptor.js';
import type { Encryptor } from 'node-seal/implementation/encryptor.js';
import type { PlainText } from 'node-seal/implementation/plain-text.js';
import type { PublicKey } from 'node-seal/implementation/public-key.js';
import type { SecretKey } from 'node-seal/implementation/secret-key.js';
import { HeError, HeInputError } from './errors.js';
import {
  type Codec,
  encryptChunks,
  HeCodec,
  type KeyMaterial,
  loadCiphertext,
  loadKeyObjects,
} from './he-codec.js';
import type { HeContext } from './seal.js';

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const TWO32 = 4294967296;

/** The plaintext modulus and batch encoder of a BFV context (INVALID_PARAMS for a CKKS one). */
export function bfvOf(ctx: HeContext): { t: number; batchEncoder: BatchEncoder } {
  if (ctx.params.scheme !== 'bfv' || !ctx.batchEncoder) {
    throw new HeError('INVALID_PARAMS', `'${ctx.params.name}' is not a BFV parameter set`);
  }
  return { t: ctx.params.plainModulus, batchEncoder: ctx.batchEncoder };
}

/** Refuses anything but integers in [0, t): VALUE_RANGE naming the first bad index. */
export function checkResidues(values: Float64Array, t: number, what = 'value'): void {
  if (!(values instanceof Float64Array))
    throw new HeInputError('VALUE_RANGE', `${what}s must be a Float64Array`);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    // Negated so that NaN fails too.
    if (!(v >= 0 && v < t && Number.isInteger(v))) {
      throw new HeInputError(
        'VALUE_RANGE',
        `${what} ${v} at index ${i} is not an integer in [0, t) for t = ${t} (quantize and mask first)`,
      );
    }
  }
}

/** Writes `values` (residues, at most slots of them) zero-padded into a u64 array of `slots`. */
export function toU64(values: Float64Array, slots: number): BigUint64Array {
  const out = new BigUint64Array(slots);
  if (LITTLE_ENDIAN) {
    const halves = new Uint32Array(out.buffer);
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      halves[2 * i] = v % TWO32;
      halves[2 * i + 1] = Math.floor(v / TWO32);
    }
  } else {
    for (let i = 0; i < values.length; i++) out[i] = BigInt(values[i]!);
  }
  return out;
}

/** Reads u64 residues (< 2^53) into `out` at `offset`. */
export function fromU64(values: BigUint64Array, out: Float64Array, offset: number): void {
  if (LITTLE_ENDIAN) {
    const halves = new Uint32Array(values.buffer, values.byteOffset, values.length * 2);
    for (let i = 0; i < values.length; i++) out[offset + i] = halves[2 * i + 1]! * TWO32 + halves[2 * i]!;
  } else {
    for (let i = 0; i < values.length; i++) out[offset + i] = Number(values[i]!);
  }
}

/** Encodes residues into `pt` (zero-padded to the slot count). */
export function encodeResidues(ctx: HeContext, values: Float64Array, pt: PlainText): void {
  bfvOf(ctx).batchEncoder.encode(toU64(values, ctx.slotCount), pt);
}

export class BfvCodec implements Codec {
  readonly slotCount: number;
  private readonly batchEncoder: BatchEncoder;
  private readonly secretKey: SecretKey;
  private readonly publicKey: PublicKey;
  private readonly encryptor: Encryptor;
  private readonly decryptor: Decryptor;
  private disposed = false;

  private constructor(
    private readonly ctx: HeContext,
    key: KeyMaterial,
  ) {
    this.batchEncoder = bfvOf(ctx).batchEncoder;
    this.slotCount = ctx.slotCount;
    const keys = loadKeyObjects(ctx, key);
    this.secretKey = keys.secretKey;
    this.publicKey = keys.publicKey;
    this.encryptor = keys.encryptor;
    this.decryptor = keys.decryptor;
  }

  static create(ctx: HeContext, key: KeyMaterial): BfvCodec {
    return new BfvCodec(ctx, key);
  }

  /** Encrypts residues (checked by the caller) into ceil(len/slotCount) serialized chunks. */
  encrypt(values: Float64Array): Uint8Array[] {
    this.assertOpen();
    return encryptChunks(this.ctx, this.encryptor, values, this.slotCount, (slice, pt) =>
      encodeResidues(this.ctx, slice, pt),
    );
  }

  /**
   * Decrypts chunks into chunks.length * slotCount residues in [0, t). BFV decrypts garbage (uniform mod t)
   * under a wrong key rather than failing, and masked values are uniform mod t anyway, so values cannot
   * tell; the invariant noise budget can: it is 0 under a wrong key (or after too many sums), > 0 otherwise.
   */
  decrypt(chunks: Uint8Array[], firstChunk = 0): Float64Array {
    this.assertOpen();
    const { seal } = this.ctx;
    const slots = this.slotCount;
    const out = new Float64Array(chunks.length * slots);
    const pt: PlainText = seal.PlainText();
    try {
      for (let i = 0; i < chunks.length; i++) {
        const index = firstChunk + i;
        const ct = loadCiphertext(this.ctx, chunks[i]!, index);
        try {
          if (this.decryptor.invariantNoiseBudget(ct) <= 0) {
            throw new HeInputError(
              'VALUE_RANGE',
              `chunk ${index} has no noise budget left: it was encrypted under another consortium key, or more ciphertexts were summed than '${this.ctx.params.name}' allows`,
              { chunkIndex: index },
            );
          }
          this.decryptor.decrypt(ct, pt);
        } finally {
          ct.delete();
        }
        fromU64(this.batchEncoder.decodeBigInt(pt, false) as BigUint64Array, out, i * slots);
      }
    } finally {
      pt.delete();
    }
    return out;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.encryptor.delete();
    this.decryptor.delete();
    this.publicKey.delete();
    this.secretKey.delete();
  }

  private assertOpen(): void {
    if (this.disposed) throw new HeError('CLOSED', 'the HE codec has been closed');
  }
}

/** The codec of a context's scheme. */
export function createCodec(ctx: HeContext, key: KeyMaterial): Codec {
  return ctx.params.scheme === 'bfv' ? BfvCodec.create(ctx, key) : HeCodec.create(ctx, key);
}
