/**
 * Times one epoch of local training on real MNIST.
 *   node --conditions=kpfl-source --import tsx packages/model/bench/train-bench.ts [mlp-wasm|mlp-cpu|cnn-wasm|cnn-cpu|all]
 * Each timed run follows a short untimed warm-up run with the same batch size. CPU time is reported next to
 * wall time because the machine may be shared (training is single-threaded, so on an idle machine
 * the two agree).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type BackendPreference,
  initialWeights,
  loadIdxDataset,
  type ModelName,
  partition,
  selectBackend,
  trainLocal,
} from '../src/index.js';

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
  const run = (subset: number[]) =>
    trainLocal({
      config: { model, epochs: 1, batchSize, lr: 0.05, seed: 1 },
      weights,
      images: ds.trainImages,
      labels: ds.trainLabels,
      indices: subset,
      pixels,
    });
  await run(indices.slice(0, 3 * batchSize)); // warm-up
  const cpu0 = process.cpuUsage();
  const r = await run(indices);
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  console.log(
    `${model} on ${sel.backend}: 1 epoch, ${r.examples} examples, B=${batchSize}: ${r.seconds.toFixed(2)} s wall, ${cpuSeconds.toFixed(2)} s CPU (${((cpuSeconds / Math.ceil(r.examples / batchSize)) * 1000).toFixed(2)} ms CPU/batch, loss ${r.loss.toFixed(3)})`,
  );
  return r.seconds;
}

if (which === 'all' || which === 'mlp-wasm') {
  for (const n of [600, 6000]) for (const b of [10, 50]) await bench('mlp', 'wasm', n, b);
}
if (which === 'all' || which === 'mlp-cpu') {
  for (const n of [600, 6000]) for (const b of [10, 50]) await bench('mlp', 'cpu', n, b);
}
if (which === 'all' || which === 'cnn-wasm') {
  for (const b of [10, 50]) await bench('cnn', 'wasm', 600, b);
}
if (which === 'all' || which === 'cnn-cpu') {
  await bench('cnn', 'cpu', 600, 10);
}
