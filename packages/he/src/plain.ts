/**
 * The plain codec: the same chunking without encryption, the baseline HE is measured against.
 * An update chunk is exactly slotCount little-endian float32 values (the last chunk zero-padded), i.e.
 * slotCount * 4 bytes. A sum chunk (what the accumulator returns) is slotCount little-endian float64
 * values, so that summing many updates loses nothing beyond the float32 rounding of each update.
 * decode() accepts both kinds, told apart by their length.
 */
import { HeInputError } from './errors.js';
import { looksLikeSeal } from './seal.js';

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function plainEncode(values: Float64Array, slotCount: number): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let start = 0; start < values.length; start += slotCount) {
    const end = Math.min(values.length, start + slotCount);
    const bytes = new Uint8Array(slotCount * 4);
    if (LITTLE_ENDIAN) {
      new Float32Array(bytes.buffer).set(values.subarray(start, end));
    } else {
      const dv = new DataView(bytes.buffer);
      for (let i = start; i < end; i++) dv.setFloat32((i - start) * 4, values[i]!, true);
    }
    chunks.push(bytes);
  }
  return chunks;
}

export type PlainChunkKind = 'f32' | 'f64';

/** Checks one plain chunk; throws HeInputError. Values must be finite (a NaN would poison the sum). */
export function checkPlainChunk(
  bytes: Uint8Array,
  slotCount: number,
  chunkIndex: number,
  allowed: readonly PlainChunkKind[],
): PlainChunkKind {
  const where = `chunk ${chunkIndex}`;
  if (!(bytes instanceof Uint8Array)) {
    throw new HeInputError('INVALID_CIPHERTEXT', `${where} is not a byte array`, { chunkIndex });
  }
  let kind: PlainChunkKind | undefined;
  if (bytes.length === slotCount * 4 && allowed.includes('f32')) kind = 'f32';
  else if (bytes.length === slotCount * 8 && allowed.includes('f64')) kind = 'f64';
  if (!kind) {
    if (looksLikeSeal(bytes)) {
      throw new HeInputError(
        'PARAMS_MISMATCH',
        `${where} is a SEAL (HE) object but the consortium runs in plain mode`,
        { chunkIndex },
      );
    }
    const sizes = allowed.map(
      (k) => `${slotCount * (k === 'f32' ? 4 : 8)} (${k === 'f32' ? 'float32' : 'float64'})`,
    );
    throw new HeInputError(
      'INVALID_CIPHERTEXT',
      `${where} has ${bytes.length} bytes, expected ${sizes.join(' or ')}`,
      {
        chunkIndex,
      },
    );
  }
  const values = readPlain(bytes, kind);
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i]!)) {
      throw new HeInputError('INVALID_CIPHERTEXT', `${where} holds a non-finite value at slot ${i}`, {
        chunkIndex,
      });
    }
  }
  return kind;
}

/** The values of a checked chunk (a copy when alignment or endianness require it). */
export function readPlain(bytes: Uint8Array, kind: PlainChunkKind): Float32Array | Float64Array {
  const width = kind === 'f32' ? 4 : 8;
  if (LITTLE_ENDIAN && bytes.byteOffset % width === 0) {
    return kind === 'f32'
      ? new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4)
      : new Float64Array(bytes.buffer, bytes.byteOffset, bytes.length / 8);
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = bytes.length / width;
  const out = kind === 'f32' ? new Float32Array(n) : new Float64Array(n);
  for (let i = 0; i < n; i++)
    out[i] = kind === 'f32' ? dv.getFloat32(i * 4, true) : dv.getFloat64(i * 8, true);
  return out;
}

export function f64Bytes(values: Float64Array): Uint8Array {
  const bytes = new Uint8Array(values.length * 8);
  if (LITTLE_ENDIAN) new Float64Array(bytes.buffer).set(values);
  else {
    const dv = new DataView(bytes.buffer);
    for (let i = 0; i < values.length; i++) dv.setFloat64(i * 8, values[i]!, true);
  }
  return bytes;
}
