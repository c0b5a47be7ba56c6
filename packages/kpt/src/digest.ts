import { createHash, type Hash } from 'node:crypto';

/** Every kpt digest is written 'sha256:' followed by 64 lowercase hex digits. */
export const DIGEST_PATTERN = /^sha256:[0-9a-f]{64}$/;

/** 'sha256:' + hex over the bytes (a string is hashed as its UTF-8 bytes). */
export function digestOf(s: string | Uint8Array): string {
  return `sha256:${createHash('sha256').update(s).digest('hex')}`;
}

/**
 * Incremental digest over chunks in order: the same value as digestOf(concatenation of the chunks).
 * Used for an update streamed as ciphertext chunks.
 */
export class DigestBuilder {
  readonly #hash: Hash = createHash('sha256');
  #bytes = 0;
  #done = false;

  update(chunk: Uint8Array): this {
    if (this.#done) throw new Error('DigestBuilder: digest() was already called');
    this.#hash.update(chunk);
    this.#bytes += chunk.byteLength;
    return this;
  }

  get byteLength(): number {
    return this.#bytes;
  }

  digest(): string {
    this.#done = true;
    return `sha256:${this.#hash.digest('hex')}`;
  }
}

/** Digest of a sequence of chunks, in order. */
export function digestOfChunks(chunks: Iterable<Uint8Array>): string {
  const b = new DigestBuilder();
  for (const c of chunks) b.update(c);
  return b.digest();
}
