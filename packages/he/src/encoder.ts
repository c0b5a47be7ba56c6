/**
 * Participant side: UpdateEncoder turns a flat Float64Array into chunks and a list of (summed) chunks back
 * into values. Mode 'he' (CKKS) takes the pre-weighted update + trailing example count as floats; mode
 * 'secure' (BFV) takes residues mod t, already quantized (fixed-point.ts) and masked by the caller, and
 * decodes the raw sum mod t. In both the work runs in worker threads (one per core by default, up to 4),
 * so the event loop stays free and both cores are used.
 */
import { availableParallelism } from 'node:os';
import { checkResidues, createCodec } from './bfv-codec.js';
import { HeError, HeInputError } from './errors.js';
import type { ConsortiumKey } from './key.js';
import {
  chunkCountFor,
  DEFAULT_HE_PARAMS,
  type HeParams,
  type Mode,
  paramsForMode,
  slotCountFor,
  sumBoundFor,
} from './params.js';
import { checkPlainChunk, plainEncode, readPlain } from './plain.js';
import { WorkerPool } from './pool.js';
import { getHeContext } from './seal.js';

export interface UpdateEncoder {
  readonly mode: Mode;
  readonly slotCount: number;
  /** Name of the parameter set (plain mode: the default set, whose slot count it shares). */
  readonly paramsName: string;
  encode(values: Float64Array): Promise<Uint8Array[]>;
  decode(chunks: Uint8Array[], length: number): Promise<Float64Array>;
  close(): Promise<void>;
}

export type EncoderOptions =
  | { mode: 'plain' }
  | {
      /** 'he': a CKKS key, float values; 'secure': a BFV key, residues mod t in and out. */
      mode: 'he' | 'secure';
      key: ConsortiumKey;
      /** Worker threads; default min(4, cores). 0 runs on the calling thread (blocks its event loop). */
      workers?: number;
    };

export function defaultWorkerCount(): number {
  return Math.max(1, Math.min(4, availableParallelism()));
}

/** Refuses what cannot be encoded faithfully: non-finite values and values beyond the set's sum bound. */
export function checkValues(values: Float64Array, bound: number): void {
  if (!(values instanceof Float64Array))
    throw new HeInputError('VALUE_RANGE', 'values must be a Float64Array');
  if (values.length < 1) throw new HeInputError('LENGTH_MISMATCH', 'values must not be empty');
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!(Math.abs(v) <= bound)) {
      throw new HeInputError(
        'VALUE_RANGE',
        Number.isFinite(v)
          ? `value ${v} at index ${i} exceeds the parameter set's bound ${bound} (the sum would wrap)`
          : `value at index ${i} is not finite (${v})`,
      );
    }
  }
}

function checkDecodeArgs(chunks: Uint8Array[], length: number, slotCount: number): void {
  if (!Array.isArray(chunks)) throw new HeInputError('CHUNK_COUNT', 'chunks must be an array');
  let expected: number;
  try {
    expected = chunkCountFor(length, slotCount);
  } catch (err) {
    throw new HeInputError('LENGTH_MISMATCH', (err as Error).message);
  }
  if (chunks.length !== expected) {
    throw new HeInputError(
      'LENGTH_MISMATCH',
      `length ${length} needs ${expected} chunk(s) of ${slotCount} slots, but ${chunks.length} were given`,
    );
  }
}

export async function createEncoder(opts: EncoderOptions): Promise<UpdateEncoder> {
  if (opts.mode === 'plain') return createPlainEncoder();
  const { mode } = opts;
  if (mode !== 'he' && mode !== 'secure')
    throw new HeError('INVALID_PARAMS', `unknown mode '${String(mode)}'`);
  const { key } = opts;
  if (!key || typeof key !== 'object')
    throw new HeError('KEY_INVALID', `mode '${mode}' needs the consortium key`);
  let params: HeParams;
  try {
    params = paramsForMode(mode, key.paramsName);
  } catch (err) {
    throw new HeError('KEY_INVALID', `consortium key: ${(err as Error).message}`);
  }
  const workers = opts.workers ?? defaultWorkerCount();
  if (!Number.isInteger(workers) || workers < 0 || workers > 64) {
    throw new HeError('INVALID_PARAMS', `workers must be an integer from 0 to 64, got ${workers}`);
  }
  const slotCount = slotCountFor(mode, params.name);
  const t = params.scheme === 'bfv' ? params.plainModulus : undefined;
  const bound = t === undefined ? sumBoundFor(mode, params.name) : 0;
  const checkInput = (values: Float64Array) => {
    if (t === undefined) return checkValues(values, bound);
    if (values instanceof Float64Array && values.length < 1)
      throw new HeInputError('LENGTH_MISMATCH', 'values must not be empty');
    checkResidues(values, t);
  };
  if (!(key.secretKey instanceof Uint8Array))
    throw new HeError('KEY_INVALID', 'consortium secret key must be bytes');
  // Compact copies: they are cloned to every worker, and a view would drag its whole buffer along.
  const keyMaterial = {
    secretKey: new Uint8Array(key.secretKey),
    ...(key.publicKey instanceof Uint8Array ? { publicKey: new Uint8Array(key.publicKey) } : {}),
  };

  let run: {
    encrypt(values: Float64Array, chunkCount: number): Promise<Uint8Array[]>;
    decrypt(chunks: Uint8Array[]): Promise<Float64Array>;
    close(): Promise<void>;
  };

  if (workers === 0) {
    const codec = createCodec(await getHeContext(params), keyMaterial);
    run = {
      encrypt: async (values) => codec.encrypt(values),
      decrypt: async (chunks) => codec.decrypt(chunks),
      close: async () => codec.dispose(),
    };
  } else {
    const pool = await WorkerPool.start(workers, { type: 'init', params, ...keyMaterial });
    // Batches small enough that workers finish together, large enough to amortize messaging.
    const batchOf = (chunkCount: number) =>
      Math.max(1, Math.min(64, Math.ceil(chunkCount / (pool.size * 4))));
    run = {
      async encrypt(values, chunkCount) {
        const batch = batchOf(chunkCount);
        const jobs: Promise<Uint8Array[]>[] = [];
        for (let c = 0; c < chunkCount; c += batch) {
          const slice = values.slice(c * slotCount, Math.min(values.length, (c + batch) * slotCount));
          jobs.push(
            pool
              .run({ type: 'encode', values: slice }, [slice.buffer])
              .then((r) => (r as { chunks: Uint8Array[] }).chunks),
          );
        }
        return (await Promise.all(jobs)).flat();
      },
      async decrypt(chunks) {
        const batch = batchOf(chunks.length);
        const out = new Float64Array(chunks.length * slotCount);
        const jobs: Promise<void>[] = [];
        for (let c = 0; c < chunks.length; c += batch) {
          // Structured clone copies a view's whole ArrayBuffer: send compact copies of views into larger
          // buffers (e.g. chunks sliced out of one received message).
          const part = chunks
            .slice(c, c + batch)
            .map((x) => (x instanceof Uint8Array && x.byteLength !== x.buffer.byteLength ? x.slice() : x));
          jobs.push(
            pool
              .run({ type: 'decode', chunks: part, firstChunk: c })
              .then((r) => out.set((r as { values: Float64Array }).values, c * slotCount)),
          );
        }
        await Promise.all(jobs);
        return out;
      },
      close: () => pool.close(),
    };
  }

  let closed = false;
  const assertOpen = () => {
    if (closed) throw new HeError('CLOSED', 'the HE encoder has been closed');
  };
  return {
    mode,
    slotCount,
    paramsName: params.name,
    async encode(values) {
      assertOpen();
      checkInput(values);
      return run.encrypt(values, chunkCountFor(values.length, slotCount));
    },
    async decode(chunks, length) {
      assertOpen();
      checkDecodeArgs(chunks, length, slotCount);
      const all = await run.decrypt(chunks);
      return all.slice(0, length);
    },
    async close() {
      if (closed) return;
      closed = true;
      await run.close();
    },
  };
}

function createPlainEncoder(): UpdateEncoder {
  const slotCount = slotCountFor('plain', DEFAULT_HE_PARAMS);
  let closed = false;
  const assertOpen = () => {
    if (closed) throw new HeError('CLOSED', 'the encoder has been closed');
  };
  return {
    mode: 'plain',
    slotCount,
    paramsName: DEFAULT_HE_PARAMS,
    async encode(values) {
      assertOpen();
      checkValues(values, sumBoundFor('plain', DEFAULT_HE_PARAMS));
      return plainEncode(values, slotCount);
    },
    async decode(chunks, length) {
      assertOpen();
      checkDecodeArgs(chunks, length, slotCount);
      const out = new Float64Array(length);
      chunks.forEach((chunk, i) => {
        const kind = checkPlainChunk(chunk, slotCount, i, ['f32', 'f64']);
        const values = readPlain(chunk, kind);
        const start = i * slotCount;
        const n = Math.min(slotCount, length - start);
        for (let j = 0; j < n; j++) out[start + j] = values[j]!;
      });
      return out;
    },
    async close() {
      closed = true;
    },
  };
}
