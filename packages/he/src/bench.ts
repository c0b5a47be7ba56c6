/**
 * benchHe: the HE pipelines (CKKS 'compact', BFV 'exact') against the plain baseline and the reference
 * parameter set, side by side, through the same public API the participant and the aggregator use
 * (worker threads included). For a BFV set, encode includes quantizeUpdate and decode dequantizeSum
 * (what a participant does besides masking, which is @kpfl/secagg's).
 */
import { createAccumulator } from './accumulator.js';
import { createEncoder, defaultWorkerCount, type UpdateEncoder } from './encoder.js';
import { dequantizeSum, quantizeUpdate } from './fixed-point.js';
import { generateConsortiumKey } from './key.js';
import {
  chunkCountFor,
  DEFAULT_HE_PARAMS,
  DEFAULT_SECURE_PARAMS,
  getHeParams,
  type Mode,
  slotCountFor,
} from './params.js';
import { mulberry32 } from './random.js';

export interface HeBenchOptions {
  /** Update sizes in parameters (the trailing count slot is added); default [199210, 1663370]. */
  sizes?: number[];
  /**
   * Parameter set names, or 'plain' for the unencrypted baseline; default
   * ['plain', default HE set, default secure set, 'reference'].
   */
  sets?: string[];
  /** Timed passes per size and set (each encodes and folds 3 updates, decodes the sum); default 2. */
  repeats?: number;
  /** Encoder worker threads; default as createEncoder. */
  workers?: number;
  onProgress?: (msg: string) => void;
}

export interface HeBenchResult {
  size: number;
  set: string;
  mode: Mode;
  slotCount: number;
  chunkCount: number;
  workers: number;
  /** Bytes of one encoded update. */
  updateBytes: number;
  /** Bytes of the sum the aggregator publishes. */
  sumBytes: number;
  /** Update bytes / float32 bytes of its size+1 values. */
  expansion: number;
  /** encode (encrypt + serialize), parameters per second (best of 3 updates x repeats). */
  encodeParamsPerSec: number;
  /** add (validate + deserialize + add) per update, parameters per second (best of 2 folds x repeats). */
  aggregateParamsPerSec: number;
  /** decode (deserialize + decrypt + unpack) of the sum, parameters per second (best of repeats). */
  decodeParamsPerSec: number;
  /** The same three timings per chunk, in milliseconds (chunks of slotCount values, all workers busy). */
  msPerChunk: { encode: number; add: number; decode: number };
  /** Largest |decoded sum of 3 - exact float64 sum of the 3 inputs|. */
  maxAbsErrorSum3: number;
  /** This set against 'reference' (same size), when both ran: bytes ratio and speed-ups. */
  vsReference?: { expansion: number; encodeSpeedup: number; aggregateSpeedup: number; decodeSpeedup: number };
}

/** Three participants of an MNIST-like federation: deltas in ±0.5 weighted by 6,000 / 20,000 / 34,000 examples. */
function makeUpdates(size: number): Float64Array[] {
  return [6000, 20000, 34000].map((n, k) => {
    const next = mulberry32(1000 + k);
    const v = new Float64Array(size + 1);
    for (let i = 0; i < size; i++) v[i] = n * (next() - 0.5);
    v[size] = n;
    return v;
  });
}

/** Best of several timings: the least disturbed run, robust on a shared machine. */
const best = (xs: number[]) => Math.min(...xs);

interface Pass {
  encodeMs: number[];
  addMs: number[];
  decodeMs: number[];
  updateBytes: number;
  sumBytes: number;
  maxErr: number;
}

function modeOf(set: string): Mode {
  if (set === 'plain') return 'plain';
  return getHeParams(set).scheme === 'bfv' ? 'secure' : 'he';
}

/** Encodes and folds the 3 updates, decodes the sum; appends timings to `p`. */
async function runPass(
  encoder: UpdateEncoder,
  mode: Mode,
  paramsName: string,
  updates: Float64Array[],
  exact: Float64Array,
  p: Pass,
): Promise<void> {
  const length = exact.length;
  const acc = await createAccumulator({
    mode,
    paramsName,
    chunkCount: chunkCountFor(length, encoder.slotCount),
  });
  try {
    for (const [k, u] of updates.entries()) {
      let t = performance.now();
      const chunks = await encoder.encode(
        mode === 'secure' ? quantizeUpdate(u, paramsName, updates.length) : u,
      );
      p.encodeMs.push(performance.now() - t);
      p.updateBytes = chunks.reduce((a, c) => a + c.length, 0);
      t = performance.now();
      await acc.add(chunks);
      // The first update into an empty sum is only validated and loaded, not added.
      if (k > 0) p.addMs.push(performance.now() - t);
    }
    const sum = acc.result();
    p.sumBytes = sum.reduce((a, c) => a + c.length, 0);
    const t = performance.now();
    const raw = await encoder.decode(sum, length);
    const decoded = mode === 'secure' ? dequantizeSum(raw, paramsName) : raw;
    p.decodeMs.push(performance.now() - t);
    p.maxErr = 0;
    for (let i = 0; i < length; i++) p.maxErr = Math.max(p.maxErr, Math.abs(decoded[i] - exact[i]));
  } finally {
    acc.dispose();
  }
}

export async function benchHe(opts: HeBenchOptions = {}): Promise<HeBenchResult[]> {
  const sizes = opts.sizes ?? [199210, 1663370];
  const sets = opts.sets ?? ['plain', DEFAULT_HE_PARAMS, DEFAULT_SECURE_PARAMS, 'reference'];
  const repeats = Math.max(1, Math.floor(opts.repeats ?? 2));
  const workers = opts.workers ?? defaultWorkerCount();
  const progress = opts.onProgress ?? (() => {});
  for (const set of sets) if (set !== 'plain') getHeParams(set);
  for (const size of sizes) {
    if (!Number.isSafeInteger(size) || size < 1) throw new RangeError(`benchHe: bad size ${size}`);
  }

  // All encoders up front, and the sets interleaved pass by pass, so that on a shared machine every set
  // sees the same background load and the ratios stay meaningful.
  const encoders = new Map<string, UpdateEncoder>();
  const results: HeBenchResult[] = [];
  try {
    for (const set of sets) {
      if (set === 'plain') encoders.set(set, await createEncoder({ mode: 'plain' }));
      else {
        progress(`${set}: generating key, starting ${workers} worker(s)`);
        const mode = modeOf(set) as 'he' | 'secure';
        encoders.set(set, await createEncoder({ mode, key: await generateConsortiumKey(set), workers }));
      }
    }
    for (const size of sizes) {
      const updates = makeUpdates(size);
      const exact = new Float64Array(size + 1);
      for (const u of updates) for (let i = 0; i <= size; i++) exact[i] += u[i];
      const passes = new Map<string, Pass>(
        sets.map((s) => [
          s,
          { encodeMs: [], addMs: [], decodeMs: [], updateBytes: 0, sumBytes: 0, maxErr: 0 },
        ]),
      );
      for (let r = 0; r < repeats; r++) {
        for (const set of sets) {
          progress(`${set}: ${size} parameters, pass ${r + 1}/${repeats}`);
          const mode = modeOf(set);
          await runPass(
            encoders.get(set)!,
            mode,
            mode === 'plain' ? DEFAULT_HE_PARAMS : set,
            updates,
            exact,
            passes.get(set)!,
          );
        }
      }
      const perSec = (ms: number) => ((size + 1) / ms) * 1000;
      for (const set of sets) {
        const p = passes.get(set)!;
        const mode = modeOf(set);
        const slotCount = slotCountFor(mode, mode === 'plain' ? DEFAULT_HE_PARAMS : set);
        const chunkCount = chunkCountFor(size + 1, slotCount);
        results.push({
          size,
          set,
          mode,
          slotCount,
          chunkCount,
          workers: mode === 'plain' ? 0 : workers,
          updateBytes: p.updateBytes,
          sumBytes: p.sumBytes,
          expansion: p.updateBytes / ((size + 1) * 4),
          encodeParamsPerSec: perSec(best(p.encodeMs)),
          aggregateParamsPerSec: perSec(best(p.addMs)),
          decodeParamsPerSec: perSec(best(p.decodeMs)),
          msPerChunk: {
            encode: best(p.encodeMs) / chunkCount,
            add: best(p.addMs) / chunkCount,
            decode: best(p.decodeMs) / chunkCount,
          },
          maxAbsErrorSum3: p.maxErr,
        });
      }
    }
  } finally {
    for (const e of encoders.values()) await e.close();
  }
  for (const r of results) {
    const ref = results.find((x) => x.set === 'reference' && x.size === r.size);
    if (!ref) continue;
    r.vsReference = {
      expansion: r.expansion / ref.expansion,
      encodeSpeedup: r.encodeParamsPerSec / ref.encodeParamsPerSec,
      aggregateSpeedup: r.aggregateParamsPerSec / ref.aggregateParamsPerSec,
      decodeSpeedup: r.decodeParamsPerSec / ref.decodeParamsPerSec,
    };
  }
  return results;
}

const mps = (x: number) => (x / 1e6).toFixed(2);
const mb = (x: number) => (x / 1e6).toFixed(2);

export function formatHeBench(results: HeBenchResult[]): string {
  const head = [
    'size',
    'set',
    'chunks',
    'update MB',
    'sum MB',
    'bytes/f32',
    'encode Mp/s',
    'add Mp/s',
    'decode Mp/s',
    'ms/chunk enc/add/dec',
    'max err (sum of 3)',
    'vs reference',
  ];
  const rows = results.map((r) => [
    String(r.size),
    r.mode === 'plain' ? 'plain' : `${r.set} (${r.workers}w)`,
    String(r.chunkCount),
    mb(r.updateBytes),
    mb(r.sumBytes),
    `${r.expansion.toFixed(3)}x`,
    mps(r.encodeParamsPerSec),
    mps(r.aggregateParamsPerSec),
    mps(r.decodeParamsPerSec),
    [r.msPerChunk.encode, r.msPerChunk.add, r.msPerChunk.decode].map((x) => x.toFixed(2)).join(' / '),
    r.maxAbsErrorSum3.toExponential(2),
    r.vsReference && r.set !== 'reference'
      ? `bytes ${r.vsReference.expansion.toFixed(3)}x, encode ${r.vsReference.encodeSpeedup.toFixed(1)}x, add ${r.vsReference.aggregateSpeedup.toFixed(1)}x, decode ${r.vsReference.decodeSpeedup.toFixed(1)}x`
      : '',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i < 2 || i === cells.length - 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [
    line(head),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...rows.map(line),
    '',
    'Mp/s = million parameters per second; add = validate + deserialize + add one update; bytes/f32 = update bytes / float32 bytes.',
    'BFV sets (mode secure): encode includes quantizeUpdate, decode dequantizeSum; a chunk holds N values (CKKS: N/2).',
  ].join('\n');
}
