/**
 * Example participant plugin: a custom tfjs model and a custom dataset loader.
 *
 *   kpfl participant --config /etc/kpfl/participant.yaml --plugin /app/plugins/example-plugin.ts
 *   (or `plugin:` in the participant config, or KPFL_PLUGIN)
 *
 * The default export is a function of the context kpfl passes in (tfjs, registerModel, ...), so
 * the file needs no package of its own and can be mounted anywhere (e.g. -v ./plugins:/app/plugins:ro).
 * Only type imports from kpfl: they vanish at run time.
 *
 * Data format read here: <dataset>/train.csv and <dataset>/test.csv, one example per line,
 * `label,v1,v2,...,vN` with integer label 0..9 and N = 784 integer features 0..255
 * (the trainer scales features to [0, 1]).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ParticipantPlugin, ParticipantPluginContext, PluginDataOptions } from '@kpfl/participant';

const FEATURES = 784;
const CLASSES = 10;

function readCsv(file: string): { x: Uint8Array; y: Uint8Array; sha256: string } {
  const text = readFileSync(file, 'utf8');
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const x = new Uint8Array(lines.length * FEATURES);
  const y = new Uint8Array(lines.length);
  lines.forEach((line, i) => {
    const v = line.split(',').map(Number);
    if (v.length !== FEATURES + 1)
      throw new Error(`${file} line ${i + 1}: expected ${FEATURES + 1} values, got ${v.length}`);
    if (!(Number.isInteger(v[0]) && v[0]! >= 0 && v[0]! < CLASSES))
      throw new Error(`${file} line ${i + 1}: label must be 0..${CLASSES - 1}`);
    y[i] = v[0]!;
    x.set(v.slice(1), i * FEATURES);
  });
  return { x, y, sha256: createHash('sha256').update(text).digest('hex') };
}

export default function examplePlugin(kpfl: ParticipantPluginContext): ParticipantPlugin {
  const { tf } = kpfl;
  return {
    // Multinomial logistic regression: 784 * 10 + 10 = 7,850 parameters.
    models: [
      {
        name: 'logreg',
        inputShape: [FEATURES],
        numClasses: CLASSES,
        // Every weight tensor in tfjs model.getWeights() order: the canonical flat layout.
        layers: [
          { name: 'dense/kernel', shape: [FEATURES, CLASSES], init: 'glorot_uniform' },
          { name: 'dense/bias', shape: [CLASSES], init: 'zeros' },
        ],
        trainingKernels: [],
        build: ({ softmax }) =>
          tf.sequential({
            layers: [
              tf.layers.dense({
                inputShape: [FEATURES],
                units: CLASSES,
                activation: softmax ? 'softmax' : 'linear',
                kernelInitializer: 'zeros',
                biasInitializer: 'zeros',
              }),
            ],
          }),
      },
    ],

    loadData(o: PluginDataOptions) {
      const train = readCsv(join(o.dir, 'train.csv'));
      const test = readCsv(join(o.dir, 'test.csv'));
      const n = test.y.length;
      const keep = o.testLimit && o.testLimit < n ? o.testLimit : n;
      const trainIndices = Array.from({ length: train.y.length }, (_, i) => i);
      // The commitment goes into every attestation: it must pin exactly the examples trained on.
      const commitment = `sha256:${createHash('sha256')
        .update(JSON.stringify({ format: 'example-csv/1', train: train.sha256, test: test.sha256 }))
        .update(trainIndices.join(','))
        .digest('hex')}`;
      return {
        trainFeatures: train.x,
        trainLabels: train.y,
        trainIndices,
        testFeatures: test.x.subarray(0, keep * FEATURES),
        testLabels: test.y.subarray(0, keep),
        perExample: FEATURES,
        commitment,
      };
    },
  };
}
