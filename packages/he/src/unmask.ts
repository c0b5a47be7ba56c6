/**
 * Aggregator side of mode 'secure': removes the SecAgg masks that did not cancel (self-masks of survivors,
 * pairwise masks of dropouts) from the encrypted sum, with public parameters only. Subtracting a plaintext
 * from a BFV ciphertext needs no key and adds no noise to speak of (one rounding of Δ·m, like a fresh
 * encoding), and it keeps the unmasked sum encrypted: the aggregator learns nothing, members decrypt it.
 */
import type { CipherText } from 'node-seal/implementation/cipher-text.js';
import type { PlainText } from 'node-seal/implementation/plain-text.js';
import { loadChecked, SLICE_MS, yieldToLoop } from './accumulator.js';
import { bfvOf, checkResidues, encodeResidues } from './bfv-codec.js';
import { HeInputError } from './errors.js';
import { paramsForMode } from './params.js';
import { getHeContext } from './seal.js';

/**
 * Returns sum - correction (mod t, slot by slot) as serialized chunks decodable by UpdateEncoder.decode.
 * `correction` holds integers in [0, t), at most chunks x N of them (the rest counts as zero). Every
 * chunk is validated like an update chunk; on any bad input throws HeInputError and returns nothing.
 */
export async function unmaskSum(
  sum: Uint8Array[],
  correction: Float64Array,
  paramsName: string,
): Promise<Uint8Array[]> {
  const ctx = await getHeContext(paramsForMode('secure', paramsName));
  const { t } = bfvOf(ctx);
  const slots = ctx.slotCount;
  if (!Array.isArray(sum) || sum.length < 1) {
    throw new HeInputError('CHUNK_COUNT', 'unmaskSum needs a sum of at least one chunk');
  }
  if (!(correction instanceof Float64Array)) {
    throw new HeInputError('VALUE_RANGE', 'the correction must be a Float64Array');
  }
  if (correction.length > sum.length * slots) {
    throw new HeInputError(
      'LENGTH_MISMATCH',
      `the correction has ${correction.length} values, more than the ${sum.length} chunk(s) of ${slots} slots hold`,
    );
  }
  checkResidues(correction, t, 'correction value');
  const { seal, evaluator } = ctx;
  const none = seal.ComprModeType.none;
  const out: Uint8Array[] = [];
  const pt: PlainText = seal.PlainText();
  try {
    let since = performance.now();
    for (let i = 0; i < sum.length; i++) {
      const ct: CipherText = await loadChecked(ctx, sum[i]!, i);
      try {
        const start = i * slots;
        if (start < correction.length) {
          encodeResidues(ctx, correction.subarray(start, Math.min(correction.length, start + slots)), pt);
          evaluator.subPlain(ct, pt, ct);
        }
        out.push(ct.saveArray(none));
      } finally {
        ct.delete();
      }
      // A CNN sum is ~200 chunks: keep the aggregator's event loop (gRPC, deadlines) responsive.
      if (performance.now() - since > SLICE_MS) {
        await yieldToLoop();
        since = performance.now();
      }
    }
  } finally {
    pt.delete();
  }
  return out;
}
