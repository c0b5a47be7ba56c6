/**
 * Aggregator side: folds updates into a running sum, chunk index by chunk index, with public parameters
 * only (no key of any kind). Every chunk of an update is validated before any is folded, so a refused
 * update leaves the sum exactly as it was. Calls to add() are serialized; result() only ever sees whole
 * updates (folding is synchronous, only validation yields to the event loop).
 */
import type { CipherText } from 'node-seal/implementation/cipher-text.js';
import { HeError, HeInputError } from './errors.js';
import { loadCiphertext } from './he-codec.js';
import { DEFAULT_HE_PARAMS, getHeParams, type Mode, paramsForMode, slotCountFor } from './params.js';
import { checkPlainChunk, f64Bytes, type PlainChunkKind, readPlain } from './plain.js';
import { explainMismatch, getHeContext, type HeContext } from './seal.js';

export interface SumAccumulator {
  readonly mode: Mode;
  readonly chunkCount: number;
  /** Number of complete updates folded. */
  readonly added: number;
  /** Folds all chunks of one update; on any invalid chunk throws HeInputError and the sum is unchanged. */
  add(update: Uint8Array[]): Promise<void>;
  /** Serialized sum chunks, decodable by UpdateEncoder.decode. Throws EMPTY_SUM before the first add. */
  result(): Uint8Array[];
  dispose(): void;
}

export interface AccumulatorOptions {
  mode: Mode;
  paramsName: string;
  chunkCount: number;
  /** Resume from a sum previously returned by result() (e.g. after a restart), counting `added` updates. */
  initial?: { sum: Uint8Array[]; added: number };
}

/** Validates a whole update without folding it (what add() checks first). */
export async function validateUpdate(
  update: Uint8Array[],
  opts: { mode: Mode; paramsName: string; chunkCount: number },
): Promise<void> {
  checkChunkCount(update, opts.chunkCount);
  if (opts.mode === 'plain') {
    const slots = slotCountFor('plain', opts.paramsName);
    update.forEach((c, i) => {
      checkPlainChunk(c, slots, i, ['f32']);
    });
    return;
  }
  const ctx = await getHeContext(paramsForMode(heMode(opts.mode), opts.paramsName));
  for (const ct of await loadAllChunks(ctx, update)) ct.delete();
}

/**
 * Validates one chunk against the consortium's parameters (structure in JS, then SEAL's own checks when
 * loading it). Throws HeInputError INVALID_CIPHERTEXT or PARAMS_MISMATCH.
 */
export async function validateChunk(
  chunk: Uint8Array,
  opts: { mode: Mode; paramsName: string; chunkIndex?: number },
): Promise<void> {
  const index = opts.chunkIndex ?? 0;
  if (opts.mode === 'plain') {
    checkPlainChunk(chunk, slotCountFor('plain', opts.paramsName), index, ['f32']);
    return;
  }
  const ctx = await getHeContext(paramsForMode(heMode(opts.mode), opts.paramsName));
  (await loadChecked(ctx, chunk, index)).delete();
}

/** The encrypted modes; anything else is refused (a typo must not fall through to one of them). */
function heMode(mode: Mode): 'he' | 'secure' {
  if (mode !== 'he' && mode !== 'secure')
    throw new HeError('INVALID_PARAMS', `unknown mode '${String(mode)}'`);
  return mode;
}

function checkChunkCount(update: Uint8Array[], chunkCount: number): void {
  if (!Array.isArray(update)) throw new HeInputError('CHUNK_COUNT', 'an update must be an array of chunks');
  if (update.length !== chunkCount) {
    throw new HeInputError('CHUNK_COUNT', `an update must have ${chunkCount} chunk(s), got ${update.length}`);
  }
}

/** Loads one chunk (structure in JS, then SEAL), naming the registered set of a foreign one. */
export async function loadChecked(ctx: HeContext, bytes: Uint8Array, index: number): Promise<CipherText> {
  try {
    return loadCiphertext(ctx, bytes, index);
  } catch (err) {
    throw await explainMismatch(err, bytes);
  }
}

export const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));
/** Longest stretch of validation work between two yields to the event loop. */
export const SLICE_MS = 8;

/**
 * Loads (and so validates) every chunk, yielding to the event loop now and then. On any failure deletes
 * what it loaded and throws; `stillOpen` is asked before returning. The caller deletes the result.
 */
async function loadAllChunks(
  ctx: HeContext,
  chunks: Uint8Array[],
  stillOpen = () => {},
): Promise<CipherText[]> {
  const loaded: CipherText[] = [];
  try {
    let since = performance.now();
    for (let i = 0; i < chunks.length; i++) {
      loaded.push(await loadChecked(ctx, chunks[i]!, i));
      if (performance.now() - since > SLICE_MS) {
        await yieldToLoop();
        since = performance.now();
      }
    }
    stillOpen();
  } catch (err) {
    for (const ct of loaded) ct.delete();
    throw err;
  }
  return loaded;
}

export async function createAccumulator(opts: AccumulatorOptions): Promise<SumAccumulator> {
  const { mode, chunkCount } = opts;
  // Plain mode ignores paramsName: its chunking is always the default set's.
  const params =
    mode === 'plain' ? getHeParams(DEFAULT_HE_PARAMS) : paramsForMode(heMode(mode), opts.paramsName);
  if (!Number.isSafeInteger(chunkCount) || chunkCount < 1) {
    throw new HeError('CHUNK_COUNT', `chunkCount must be a positive integer, got ${chunkCount}`);
  }
  const acc =
    mode === 'plain'
      ? new PlainAccumulator(slotCountFor('plain', params.name), chunkCount)
      : new HeAccumulator(mode, await getHeContext(params), chunkCount);
  if (opts.initial) {
    const { sum, added } = opts.initial;
    if (!Number.isSafeInteger(added) || added < 1) {
      acc.dispose();
      throw new HeError('CHUNK_COUNT', `initial.added must be a positive integer, got ${added}`);
    }
    try {
      await acc.restore(sum, added);
    } catch (err) {
      acc.dispose();
      throw err;
    }
  }
  return acc;
}

abstract class Base implements SumAccumulator {
  abstract readonly mode: Mode;
  protected folded = 0;
  protected disposed = false;
  private tail: Promise<void> = Promise.resolve();

  constructor(readonly chunkCount: number) {}

  get added(): number {
    return this.folded;
  }

  add(update: Uint8Array[]): Promise<void> {
    const run = this.tail.then(() => this.addNow(update));
    this.tail = run.catch(() => {});
    return run;
  }

  restore(sum: Uint8Array[], added: number): Promise<void> {
    const run = this.tail.then(() => this.restoreNow(sum, added));
    this.tail = run.catch(() => {});
    return run;
  }

  protected assertOpen(): void {
    if (this.disposed) throw new HeError('CLOSED', 'the accumulator has been disposed');
  }

  protected assertNotEmpty(): void {
    this.assertOpen();
    if (this.folded === 0) throw new HeError('EMPTY_SUM', 'no update has been added yet');
  }

  protected abstract addNow(update: Uint8Array[]): Promise<void>;
  protected abstract restoreNow(sum: Uint8Array[], added: number): Promise<void>;
  abstract result(): Uint8Array[];
  abstract dispose(): void;
}

/** Both encrypted modes: CKKS and BFV ciphertexts add alike. */
class HeAccumulator extends Base {
  private sums: CipherText[] = [];

  constructor(
    readonly mode: 'he' | 'secure',
    private readonly ctx: HeContext,
    chunkCount: number,
  ) {
    super(chunkCount);
  }

  private async loadAll(chunks: Uint8Array[]): Promise<CipherText[]> {
    this.assertOpen();
    checkChunkCount(chunks, this.chunkCount);
    return loadAllChunks(this.ctx, chunks, () => this.assertOpen());
  }

  protected async addNow(update: Uint8Array[]): Promise<void> {
    const loaded = await this.loadAll(update);
    if (this.disposed) {
      for (const ct of loaded) ct.delete();
      this.assertOpen();
    }
    // Fold synchronously: nothing below can fail for chunks that loaded under this context.
    if (this.sums.length === 0) {
      this.sums = loaded;
    } else {
      const { evaluator } = this.ctx;
      for (let i = 0; i < loaded.length; i++) {
        evaluator.add(this.sums[i]!, loaded[i]!, this.sums[i]!);
        loaded[i]!.delete();
      }
    }
    this.folded++;
  }

  protected async restoreNow(sum: Uint8Array[], added: number): Promise<void> {
    if (this.folded !== 0) throw new HeError('CHUNK_COUNT', 'restore only into an empty accumulator');
    this.sums = await this.loadAll(sum);
    this.folded = added;
  }

  result(): Uint8Array[] {
    this.assertNotEmpty();
    const none = this.ctx.seal.ComprModeType.none;
    return this.sums.map((ct) => ct.saveArray(none));
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const ct of this.sums) ct.delete();
    this.sums = [];
  }
}

class PlainAccumulator extends Base {
  readonly mode = 'plain' as const;
  private sum: Float64Array;

  constructor(
    private readonly slotCount: number,
    chunkCount: number,
  ) {
    super(chunkCount);
    this.sum = new Float64Array(chunkCount * slotCount);
  }

  private checkAll(chunks: Uint8Array[], kinds: readonly PlainChunkKind[]): PlainChunkKind[] {
    this.assertOpen();
    checkChunkCount(chunks, this.chunkCount);
    return chunks.map((c, i) => checkPlainChunk(c, this.slotCount, i, kinds));
  }

  protected async addNow(update: Uint8Array[]): Promise<void> {
    const kinds = this.checkAll(update, ['f32']);
    update.forEach((chunk, i) => {
      const values = readPlain(chunk, kinds[i]!);
      const base = i * this.slotCount;
      for (let j = 0; j < values.length; j++) this.sum[base + j] += values[j];
    });
    this.folded++;
  }

  protected async restoreNow(sum: Uint8Array[], added: number): Promise<void> {
    if (this.folded !== 0) throw new HeError('CHUNK_COUNT', 'restore only into an empty accumulator');
    const kinds = this.checkAll(sum, ['f64']);
    sum.forEach((chunk, i) => {
      this.sum.set(readPlain(chunk, kinds[i]!), i * this.slotCount);
    });
    this.folded = added;
  }

  result(): Uint8Array[] {
    this.assertNotEmpty();
    const out: Uint8Array[] = [];
    for (let i = 0; i < this.chunkCount; i++) {
      out.push(f64Bytes(this.sum.subarray(i * this.slotCount, (i + 1) * this.slotCount)));
    }
    return out;
  }

  dispose(): void {
    this.disposed = true;
  }
}
