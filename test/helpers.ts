import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DemoOptions, type DemoResult, runDemo } from '../packages/cli/src/commands/demo.js';
import { DEFAULT_DATASET } from '../packages/cli/src/paths.js';
import { loadLayersModelFile } from '../packages/model/src/index.js';
import { dropSchema } from '../packages/store/src/index.js';

/** A small, fast, seeded federation: real gRPC, Postgres, Redis, tfjs on real MNIST slices. */
export const SMALL_DEMO: DemoOptions = {
  participants: 2,
  rounds: 2,
  model: 'mlp',
  partition: 'iid',
  dataset: DEFAULT_DATASET,
  localEpochs: 1,
  batchSize: 20,
  lr: 0.1,
  seed: 7,
  mode: 'he',
  maxExamples: 600,
  testLimit: 500,
  serverOptimizer: 'fedavg',
  proxMu: 0,
  backend: 'auto',
  deadline: 300,
  keep: true,
};

/** Runs a demo that keeps its work directory; returns the result and each participant's final weights. */
export async function runKeptDemo(
  o: Partial<DemoOptions>,
): Promise<{ result: DemoResult; weights: Float32Array[]; cleanup: () => Promise<void> }> {
  const saved = mkdtempSync(join(tmpdir(), 'kpfl-saved-'));
  const result = await runDemo({ ...SMALL_DEMO, report: false, saveModel: saved, ...o }, () => {});
  const work = result.workDir!;
  const weights = await Promise.all(
    Array.from(
      { length: result.participants },
      async (_, i) => (await loadLayersModelFile(join(saved, `member-${i + 1}`, 'model.json'))).weights,
    ),
  );
  return {
    result,
    weights,
    cleanup: async () => {
      rmSync(work, { recursive: true, force: true });
      rmSync(saved, { recursive: true, force: true });
      await dropSchema(undefined, `demo_${result.federation.slice('demo-'.length)}`);
    },
  };
}

export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
