/**
 * HE suite: @kpfl/he's benchHe (the participant's encoder and the aggregator's accumulator, worker threads
 * included) for the 2NN and CNN update sizes, the chosen parameter set next to the common reference set
 * (N=8192, coeff modulus [60,40,40,60], scale 2^40, public-key encryption) and the plain codec, measured
 * side by side in one run.
 */
import {
  benchHe,
  DEFAULT_HE_PARAMS,
  DEFAULT_SECURE_PARAMS,
  formatHeBench,
  type HeBenchResult,
} from '@kpfl/he';
import { describeMachine, finishMachineInfo, fmtSeconds, type MachineInfo, machineInfo } from './util.js';

export interface HeSuiteOptions {
  /** Update sizes in parameters; default [199210, 1663370] (2NN and CNN). */
  sizes?: number[];
  /** Parameter sets; default ['plain', the default set, the default secure (BFV) set, 'reference']. */
  sets?: string[];
  repeats?: number;
  workers?: number;
  onProgress?: (line: string) => void;
}

export interface HeSuiteResult {
  suite: 'he';
  chosen: string;
  repeats: number;
  results: HeBenchResult[];
  /** For each size: the chosen set against the reference and the targets. */
  summary: {
    size: number;
    expansion: number;
    referenceExpansion: number | null;
    encodeSpeedup: number | null;
    targets: { expansionAtMost4_1: boolean; encodeAtLeast4xFaster: boolean | null };
  }[];
  totalSeconds: number;
  machine: MachineInfo;
}

export async function runHeSuite(o: HeSuiteOptions = {}): Promise<HeSuiteResult> {
  const started = performance.now();
  const machine = machineInfo();
  const chosen = DEFAULT_HE_PARAMS;
  const repeats = Math.max(1, Math.floor(o.repeats ?? 1));
  const results = await benchHe({
    sizes: o.sizes ?? [199210, 1663370],
    sets: o.sets ?? ['plain', chosen, DEFAULT_SECURE_PARAMS, 'reference'],
    repeats,
    workers: o.workers,
    onProgress: o.onProgress,
  });
  const summary = results
    .filter((r) => r.set === chosen)
    .map((r) => {
      const ref = results.find((x) => x.set === 'reference' && x.size === r.size);
      const speedup = r.vsReference?.encodeSpeedup ?? null;
      return {
        size: r.size,
        expansion: r.expansion,
        referenceExpansion: ref?.expansion ?? null,
        encodeSpeedup: speedup,
        targets: {
          expansionAtMost4_1: r.expansion <= 4.1,
          encodeAtLeast4xFaster: speedup === null ? null : speedup >= 4,
        },
      };
    });
  return {
    suite: 'he',
    chosen,
    repeats,
    results,
    summary,
    totalSeconds: (performance.now() - started) / 1000,
    machine: finishMachineInfo(machine),
  };
}

export function formatHeSuite(r: HeSuiteResult): string {
  const lines = r.summary.map(
    (s) =>
      `${s.size} parameters, ${r.chosen}: ${s.expansion.toFixed(3)}x the float32 bytes (reference ${s.referenceExpansion?.toFixed(2) ?? '-'}x; target <= 4.1x: ${s.targets.expansionAtMost4_1 ? 'met' : 'NOT met'}), encryption ${s.encodeSpeedup?.toFixed(1) ?? '-'}x faster than the reference (target >= 4x: ${s.targets.encodeAtLeast4xFaster === null ? '-' : s.targets.encodeAtLeast4xFaster ? 'met' : 'NOT met'})`,
  );
  return [
    `he: CKKS codec, chosen set '${r.chosen}' vs 'reference' (N=8192, [60,40,40,60], 2^40, public key) vs plain, measured in one run (median of ${r.repeats} pass(es))`,
    formatHeBench(r.results),
    '',
    ...lines,
    `Machine: ${describeMachine(r.machine)}. Total ${fmtSeconds(r.totalSeconds)}.`,
  ].join('\n');
}
