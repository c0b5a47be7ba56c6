import { createHash } from 'node:crypto';

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Canonical bytes of a weight vector: little-endian float32, in canonical layer order (a copy). */
export function weightsToBytes(w: Float32Array): Uint8Array {
  const out = new Uint8Array(w.length * 4);
  if (LITTLE_ENDIAN) {
    out.set(new Uint8Array(w.buffer, w.byteOffset, w.byteLength));
  } else {
    const dv = new DataView(out.buffer);
    for (let i = 0; i < w.length; i++) dv.setFloat32(i * 4, w[i], true);
  }
  return out;
}

/** Inverse of weightsToBytes (copies, so the input may be unaligned). */
export function weightsFromBytes(bytes: Uint8Array): Float32Array {
  if (bytes.byteLength % 4 !== 0) {
    throw new Error(`canonical weight bytes must be a multiple of 4 long, got ${bytes.byteLength}`);
  }
  const out = new Float32Array(bytes.byteLength / 4);
  if (LITTLE_ENDIAN) {
    new Uint8Array(out.buffer).set(bytes);
  } else {
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < out.length; i++) out[i] = dv.getFloat32(i * 4, true);
  }
  return out;
}

/** 'sha256:' + hex SHA-256 of the canonical little-endian float32 bytes. */
export function weightsDigest(w: Float32Array): string {
  const h = createHash('sha256');
  if (LITTLE_ENDIAN) h.update(new Uint8Array(w.buffer, w.byteOffset, w.byteLength));
  else h.update(weightsToBytes(w));
  return `sha256:${h.digest('hex')}`;
}

/** delta = trained - global, exact in float64 (the difference of two float32 values fits a double). */
export function computeDelta(trained: Float32Array, global: Float32Array): Float64Array {
  if (trained.length !== global.length) {
    throw new Error(`computeDelta: length mismatch (${trained.length} vs ${global.length})`);
  }
  const out = new Float64Array(trained.length);
  for (let i = 0; i < out.length; i++) out[i] = trained[i] - global[i];
  return out;
}

/**
 * Plaintext reference of what the encrypted pipeline computes:
 * avgDelta = sum(n_k * delta_k) / sum(n_k).
 */
export function averageDeltas(updates: { delta: ArrayLike<number>; examples: number }[]): Float64Array {
  if (updates.length === 0) throw new Error('averageDeltas: no updates');
  const len = updates[0].delta.length;
  const sum = new Float64Array(len);
  let total = 0;
  for (const u of updates) {
    if (u.delta.length !== len) throw new Error('averageDeltas: updates differ in length');
    if (!(u.examples >= 0)) throw new Error(`averageDeltas: bad example count ${u.examples}`);
    for (let i = 0; i < len; i++) sum[i] += u.examples * u.delta[i];
    total += u.examples;
  }
  if (total === 0) throw new Error('averageDeltas: total example count is 0');
  for (let i = 0; i < len; i++) sum[i] /= total;
  return sum;
}
