/**
 * Synchronous CKKS encrypt/decrypt of chunk ranges for one thread holding the consortium secret key, and
 * the key and ciphertext loading both schemes share. Runs inside the encoder's worker threads (and on the
 * calling thread when workers: 0). The BFV counterpart is bfv-codec.ts.
 */

import type { CipherText } from 'node-seal/implementation/cipher-text.js';
import type { CKKSEncoder } from 'node-seal/implementation/ckks-encoder.js';
import type { Decryptor } from 'node-seal/implementation/decryptor.js';
import type { Encryptor } from 'node-seal/implementation/encryptor.js';
import type { PlainText } from 'node-seal/implementation/plain-text.js';
import type { PublicKey } from 'node-seal/implementation/public-key.js';
import type { SecretKey } from 'node-seal/implementation/secret-key.js';
import { HeError, HeInputError, sealMessage } from './errors.js';
import { sumBound } from './params.js';
import {
  checkCiphertextStructure,
  checkPublicKeyStructure,
  checkSecretKeyStructure,
  type HeContext,
} from './seal.js';

export interface KeyMaterial {
  secretKey: Uint8Array;
  publicKey?: Uint8Array;
}

/** What a worker thread holds: one scheme's encrypt/decrypt of chunk ranges. */
export interface Codec {
  readonly slotCount: number;
  encrypt(values: Float64Array): Uint8Array[];
  decrypt(chunks: Uint8Array[], firstChunk?: number): Float64Array;
  dispose(): void;
}

export interface KeyObjects {
  secretKey: SecretKey;
  publicKey: PublicKey;
  encryptor: Encryptor;
  decryptor: Decryptor;
}

/** Loads the key and builds encryptor and decryptor; on failure deletes what it made. */
export function loadKeyObjects(ctx: HeContext, key: KeyMaterial): KeyObjects {
  const { seal } = ctx;
  const sk = loadSecretKey(ctx, key.secretKey);
  let pk: PublicKey | undefined;
  try {
    if (ctx.params.encryption === 'public-key') {
      if (!key.publicKey) {
        throw new HeError(
          'KEY_INVALID',
          `parameter set '${ctx.params.name}' encrypts with the public key, which the key lacks`,
        );
      }
      pk = loadPublicKey(ctx, key.publicKey);
    } else {
      // node-seal's Encryptor wants a public key even for symmetric encryption; derive a throwaway one.
      const kg = seal.KeyGenerator(ctx.context, sk);
      try {
        pk = kg.createPublicKey();
      } finally {
        kg.delete();
      }
    }
    const encryptor = seal.Encryptor(ctx.context, pk, sk);
    const decryptor = seal.Decryptor(ctx.context, sk);
    return { secretKey: sk, publicKey: pk, encryptor, decryptor };
  } catch (err) {
    sk.delete();
    pk?.delete();
    throw err;
  }
}

/** Loads and validates a serialized secret key (KEY_INVALID on failure). The caller deletes it. */
export function loadSecretKey(ctx: HeContext, bytes: Uint8Array): SecretKey {
  if (!(bytes instanceof Uint8Array)) throw new HeError('KEY_INVALID', 'consortium secret key must be bytes');
  checkSecretKeyStructure(ctx, bytes);
  const sk = ctx.seal.SecretKey();
  try {
    sk.loadArray(ctx.context, bytes);
  } catch (err) {
    sk.delete();
    throw new HeError('KEY_INVALID', `consortium secret key is invalid: ${sealMessage(err)}`);
  }
  return sk;
}

export function loadPublicKey(ctx: HeContext, bytes: Uint8Array): PublicKey {
  if (!(bytes instanceof Uint8Array)) throw new HeError('KEY_INVALID', 'consortium public key must be bytes');
  checkPublicKeyStructure(ctx, bytes);
  const pk = ctx.seal.PublicKey();
  try {
    pk.loadArray(ctx.context, bytes);
  } catch (err) {
    pk.delete();
    throw new HeError('KEY_INVALID', `consortium public key is invalid: ${sealMessage(err)}`);
  }
  return pk;
}

/** Loads one chunk after the structural check; the caller deletes the returned ciphertext. */
export function loadCiphertext(ctx: HeContext, bytes: Uint8Array, chunkIndex: number): CipherText {
  checkCiphertextStructure(ctx, bytes, chunkIndex);
  const ct = ctx.seal.CipherText();
  try {
    ct.loadArray(ctx.context, bytes);
  } catch (err) {
    ct.delete();
    throw new HeInputError(
      'INVALID_CIPHERTEXT',
      `chunk ${chunkIndex} is not a valid ciphertext: ${sealMessage(err)}`,
      {
        chunkIndex,
      },
    );
  }
  return ct;
}

/**
 * Under the wrong key (or after an overflow) CKKS decrypts to noise of magnitude ~q/scale, far beyond the
 * set's bound, instead of failing: refuse that rather than hand back garbage.
 */
function checkDecrypted(values: Float64Array, bound: number, chunkIndex: number): void {
  for (let j = 0; j < values.length; j++) {
    if (!(Math.abs(values[j]!) <= bound)) {
      throw new HeInputError(
        'VALUE_RANGE',
        `chunk ${chunkIndex} decrypts to ${values[j]} at slot ${j}, beyond the parameter set's bound ${bound}: it was encrypted under another consortium key, or the sum overflowed`,
        { chunkIndex },
      );
    }
  }
}

export class HeCodec implements Codec {
  readonly slotCount: number;
  private readonly bound: number;
  private readonly encoder: CKKSEncoder;
  private readonly secretKey: SecretKey;
  private readonly publicKey: PublicKey;
  private readonly encryptor: Encryptor;
  private readonly decryptor: Decryptor;
  private disposed = false;

  private constructor(
    private readonly ctx: HeContext,
    encoder: CKKSEncoder,
    keys: KeyObjects,
  ) {
    this.slotCount = ctx.slotCount;
    this.bound = sumBound(ctx.params);
    this.encoder = encoder;
    this.secretKey = keys.secretKey;
    this.publicKey = keys.publicKey;
    this.encryptor = keys.encryptor;
    this.decryptor = keys.decryptor;
  }

  static create(ctx: HeContext, key: KeyMaterial): HeCodec {
    if (ctx.params.scheme !== 'ckks' || !ctx.encoder) {
      throw new HeError(
        'INVALID_PARAMS',
        `HeCodec is CKKS only; '${ctx.params.name}' is ${ctx.params.scheme}`,
      );
    }
    return new HeCodec(ctx, ctx.encoder, loadKeyObjects(ctx, key));
  }

  /** Encrypts `values` (already the slice for these chunks) into ceil(len/slotCount) serialized chunks. */
  encrypt(values: Float64Array): Uint8Array[] {
    this.assertOpen();
    const { scale } = this.ctx;
    const { encoder } = this;
    return encryptChunks(this.ctx, this.encryptor, values, this.slotCount, (slice, pt) =>
      encoder.encode(slice, scale, pt),
    );
  }

  /** Decrypts chunks into chunks.length * slotCount values; `firstChunk` only numbers errors. */
  decrypt(chunks: Uint8Array[], firstChunk = 0): Float64Array {
    this.assertOpen();
    const { seal } = this.ctx;
    const { encoder } = this;
    const slots = this.slotCount;
    const out = new Float64Array(chunks.length * slots);
    const pt: PlainText = seal.PlainText();
    try {
      for (let i = 0; i < chunks.length; i++) {
        const ct = loadCiphertext(this.ctx, chunks[i]!, firstChunk + i);
        try {
          this.decryptor.decrypt(ct, pt);
        } finally {
          ct.delete();
        }
        const values = encoder.decode(pt);
        checkDecrypted(values, this.bound, firstChunk + i);
        out.set(values, i * slots);
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

/**
 * The encryption loop both schemes share: each slice of `slotCount` values is encoded into one
 * plaintext (`encode`, the scheme's part) and encrypted, with the public key or seeded symmetric,
 * as the set says; every SEAL object made here is deleted.
 */
export function encryptChunks(
  ctx: HeContext,
  encryptor: Encryptor,
  values: Float64Array,
  slotCount: number,
  encode: (slice: Float64Array, pt: PlainText) => void,
): Uint8Array[] {
  const { seal } = ctx;
  const out: Uint8Array[] = [];
  const pt: PlainText = seal.PlainText();
  const ct: CipherText | undefined = ctx.params.encryption === 'public-key' ? seal.CipherText() : undefined;
  try {
    for (let start = 0; start < values.length; start += slotCount) {
      encode(values.subarray(start, Math.min(values.length, start + slotCount)), pt);
      if (ct) {
        encryptor.encrypt(pt, ct);
        out.push(ct.saveArray(seal.ComprModeType.none));
      } else {
        const s = encryptor.encryptSymmetricSerializable(pt);
        try {
          out.push(s.saveArray(seal.ComprModeType.none));
        } finally {
          s.delete();
        }
      }
    }
  } finally {
    pt.delete();
    ct?.delete();
  }
  return out;
}
