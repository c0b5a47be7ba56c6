import { EXIT_CODES, KpflError } from '@kpfl/common';

/**
 * HeError: the one error class @kpfl/he throws (a KpflError). `code` is stable (tests, logs and callers match on it).
 * HeInputError is the subclass for bad input (a chunk, a chunk list, a length, a value, a key): an RPC
 * handler maps it to INVALID_ARGUMENT. Everything the aggregator can be sent raises an HeInputError and
 * leaves the running sum unchanged.
 */

export type HeErrorCode =
  | 'UNKNOWN_PARAMS'
  | 'INSECURE_PARAMS'
  | 'INVALID_PARAMS'
  | 'INVALID_CIPHERTEXT'
  | 'PARAMS_MISMATCH'
  | 'CHUNK_COUNT'
  | 'LENGTH_MISMATCH'
  | 'KEY_INVALID'
  | 'VALUE_RANGE'
  | 'EMPTY_SUM'
  | 'CLOSED'
  | 'WORKER_FAILED';

/** Codes that mean kpfl misused its own codec, not something a user or a peer sent: exit code 1. */
const INTERNAL_CODES: ReadonlySet<HeErrorCode> = new Set(['EMPTY_SUM', 'CLOSED', 'WORKER_FAILED']);

export class HeError extends KpflError<HeErrorCode> {
  override readonly name: string = 'HeError';

  constructor(code: HeErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, {
      cause: options?.cause,
      exitCode: INTERNAL_CODES.has(code) ? EXIT_CODES.internal : EXIT_CODES.usage,
    });
  }
}

/** Bad input: a malformed or foreign chunk, a wrong chunk count or length, an out-of-range value, a bad key. */
export class HeInputError extends HeError {
  override readonly name: string = 'HeInputError';
  /** Index of the offending chunk within the update, when one chunk is to blame. */
  readonly chunkIndex: number | undefined;

  constructor(code: HeErrorCode, message: string, options?: { cause?: unknown; chunkIndex?: number }) {
    super(code, message, options);
    this.chunkIndex = options?.chunkIndex;
  }
}

export function isHeError(err: unknown, code?: HeErrorCode): err is HeError {
  return err instanceof HeError && (code === undefined || err.code === code);
}

/** Plain-object form of an HeError, for crossing a worker_threads boundary. */
export interface HeErrorShape {
  input: boolean;
  code: HeErrorCode;
  message: string;
  chunkIndex?: number;
}

export function toErrorShape(err: unknown): HeErrorShape {
  if (err instanceof HeError) {
    return {
      input: err instanceof HeInputError,
      code: err.code,
      message: err.message,
      ...(err instanceof HeInputError && err.chunkIndex !== undefined ? { chunkIndex: err.chunkIndex } : {}),
    };
  }
  return { input: false, code: 'WORKER_FAILED', message: sealMessage(err) };
}

export function fromErrorShape(shape: HeErrorShape): HeError {
  return shape.input
    ? new HeInputError(shape.code, shape.message, { chunkIndex: shape.chunkIndex })
    : new HeError(shape.code, shape.message);
}

/** node-seal throws Error objects, strings or wasm RuntimeErrors; make a short readable message of any. */
export function sealMessage(err: unknown): string {
  const raw = err instanceof Error ? err.message : String(err);
  return raw.length > 300 ? `${raw.slice(0, 300)}…` : raw;
}
