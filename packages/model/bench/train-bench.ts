/**
 * Times one epoch of local training on real MNIST.
 *   node --import tsx packages/model/bench/train-bench.ts [mlp-wasm|mlp-cpu|cnn-cpu|all]
 * Each timed run follows an untimed warm-up run of the same shape.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { initialWeights, loadIdxDataset, partition, selectBackend, trainLocal, type ModelName, type BackendPreference } from '../src/index.js';

const dataDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../data/mnist');
const which = process.argv[2] ?? 'all';

const t0 = performance.now();
const ds = await loadIdxDataset(dataDir);
console.log(`loadIdxDataset: ${((performance.now() - t0) / 1000).toFixed(2)} s`);
const pixels = ds.rows * ds.cols;

async function bench(model: ModelName, backend: BackendPreference, examples: number, batchSize: number) {
  const sel = await selectBackend(backend, model);
  const indices = partition(ds.trainLabels, Math.floor(60000 / examples), { kind: 'iid' }, 1)[0];
  const weights = initialWeights(model, 1);
  const run = () =>
    trainLocal({
      config: { model, epochs: 1, batchSize, lr: 0.05, seed: 1 },
      weights,
      images: ds.trainImages,
      labels: ds.trainLabels,
      indices,
      pixels,
    });
  await run(); // warm-up
  const r = await run();
  console.log(
    `${model} on ${sel.backend}: 1 epoch, ${r.examples} examples, B=${batchSize}: ${r.seconds.toFixed(2)} s (${((r.seconds / Math.ceil(r.examples / batchSize)) * 1000).toFixed(2)} ms/batch, loss ${r.loss.toFixed(3)})`,
  );
  return r.seconds;
}

if (which === 'all' || which === 'mlp-wasm') {
  for (const n of [600, 6000]) for (const b of [10, 50]) await bench('mlp', 'wasm', n, b);
}
if (which === 'all' || which === 'mlp-cpu') {
  for (const n of [600, 6000]) for (const b of [10, 50]) await bench('mlp', 'cpu', n, b);
}
if (which === 'all' || which === 'cnn-cpu') {
  for (const b of [10, 50]) await bench('cnn', 'cpu', 600, b);
}
