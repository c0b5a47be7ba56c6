import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import {
  buildModel,
  evaluate,
  getModelDefinition,
  type ImageDataset,
  initialWeights,
  loadIdxDataset,
  registerModel,
  selectBackend,
  trainLocal,
  weightsDigest,
} from '../src/index.js';
import { conv2dSame, dense } from '../src/ops.js';
import { MNIST_DIR } from './helpers.js';

let ds: ImageDataset;
const first = (n: number, from = 0) => Array.from({ length: n }, (_, i) => from + i);

before(async () => {
  ds = await loadIdxDataset(MNIST_DIR);
  await selectBackend('auto', 'mlp');
});

function l2(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return Math.sqrt(s);
}

describe('trainLocal + evaluate (mlp, wasm)', () => {
  it('1 epoch on 1,000 MNIST examples lifts test accuracy far above chance', async () => {
    const w0 = initialWeights('mlp', 1);
    const before = await evaluate({
      model: 'mlp',
      weights: w0,
      images: ds.testImages,
      labels: ds.testLabels,
      pixels: 784,
      limit: 500,
    });
    assert.equal(before.examples, 500);
    assert.ok(before.accuracy < 0.3, `untrained accuracy ${before.accuracy}`);
    const progress: [number, number][] = [];
    const r = await trainLocal({
      config: { model: 'mlp', epochs: 1, batchSize: 10, lr: 0.1, seed: 1 },
      weights: w0,
      images: ds.trainImages,
      labels: ds.trainLabels,
      indices: first(1000),
      pixels: 784,
      onBatch: (done, total) => progress.push([done, total]),
    });
    assert.equal(r.examples, 1000);
    assert.equal(r.weights.length, w0.length);
    assert.ok(Number.isFinite(r.loss) && r.loss < 1.5, `training loss ${r.loss}`);
    assert.ok(r.seconds > 0);
    assert.equal(progress.length, 100);
    assert.deepEqual(progress.at(-1), [100, 100]);
    const after = await evaluate({
      model: 'mlp',
      weights: r.weights,
      images: ds.testImages,
      labels: ds.testLabels,
      pixels: 784,
      limit: 500,
    });
    assert.ok(after.accuracy > 0.6, `test accuracy after 1 epoch: ${after.accuracy}`);
    assert.ok(after.loss < before.loss);
  });

  it('is reproducible: same seed and inputs give the same weights; another seed differs', async () => {
    const args = {
      weights: initialWeights('mlp', 2),
      images: ds.trainImages,
      labels: ds.trainLabels,
      indices: first(200, 5000),
      pixels: 784,
    };
    const cfg = { model: 'mlp', epochs: 2, batchSize: 20, lr: 0.05, seed: 9 } as const;
    const a = await trainLocal({ ...args, config: cfg });
    const b = await trainLocal({ ...args, config: cfg });
    const c = await trainLocal({ ...args, config: { ...cfg, seed: 10 } });
    assert.equal(weightsDigest(a.weights), weightsDigest(b.weights));
    assert.notEqual(weightsDigest(a.weights), weightsDigest(c.weights));
    assert.equal(a.examples, 200);
  });

  it('maxExamples trains on a seeded subset', async () => {
    const r = await trainLocal({
      config: { model: 'mlp', epochs: 1, batchSize: 50, lr: 0.05, seed: 1, maxExamples: 120 },
      weights: initialWeights('mlp', 1),
      images: ds.trainImages,
      labels: ds.trainLabels,
      indices: first(1000),
      pixels: 784,
    });
    assert.equal(r.examples, 120);
  });

  it('FedProx: a proximal term keeps the weights closer to the global model', async () => {
    const w0 = initialWeights('mlp', 4);
    const run = (proxMu: number) =>
      trainLocal({
        config: { model: 'mlp', epochs: 2, batchSize: 10, lr: 0.1, seed: 3, proxMu },
        weights: w0,
        images: ds.trainImages,
        labels: ds.trainLabels,
        indices: first(300, 100),
        pixels: 784,
      });
    const plain = await run(0);
    const prox = await run(1);
    assert.ok(
      l2(prox.weights, w0) < 0.85 * l2(plain.weights, w0),
      `${l2(prox.weights, w0)} vs ${l2(plain.weights, w0)}`,
    );
  });

  it('keeps tf.memory().numTensors stable across repeated train + evaluate calls', async () => {
    const once = async (model: 'mlp' | 'cnn', proxMu: number) => {
      const r = await trainLocal({
        config: { model, epochs: 1, batchSize: 8, lr: 0.01, seed: 1, proxMu },
        weights: initialWeights(model, 1),
        images: ds.trainImages,
        labels: ds.trainLabels,
        indices: first(20),
        pixels: 784,
      });
      await evaluate({
        model,
        weights: r.weights,
        images: ds.testImages,
        labels: ds.testLabels,
        pixels: 784,
        limit: 30,
        batchSize: 16,
      });
    };
    for (const [model, mu] of [
      ['mlp', 0],
      ['mlp', 0.1],
      ['cnn', 0],
    ] as const) {
      await once(model, mu); // warm-up (backends may allocate once)
      const start = tf.memory().numTensors;
      for (let i = 0; i < 3; i++) {
        await once(model, mu);
        assert.equal(tf.memory().numTensors, start, `${model} mu=${mu}: iteration ${i}`);
      }
    }
  });

  it('rejects bad inputs with clear messages', async () => {
    const base = {
      config: { model: 'mlp', epochs: 1, batchSize: 10, lr: 0.1, seed: 1 } as const,
      weights: initialWeights('mlp', 1),
      images: ds.trainImages,
      labels: ds.trainLabels,
      indices: first(10),
      pixels: 784,
    };
    await assert.rejects(
      trainLocal({ ...base, weights: new Float32Array(10) }),
      /has 199210 parameters but the weight vector has 10/,
    );
    await assert.rejects(trainLocal({ ...base, pixels: 100 }), /takes 784 values per example/);
    await assert.rejects(trainLocal({ ...base, indices: [70000] }), /example index 70000 out of range/);
    await assert.rejects(trainLocal({ ...base, config: { ...base.config, batchSize: 0 } }), /batchSize/);
    await assert.rejects(trainLocal({ ...base, config: { ...base.config, lr: -1 } }), /lr must be > 0/);
  });
});

describe('fast forward path', () => {
  it('computes the same logits as the tfjs layers model for mlp and cnn', async () => {
    await selectBackend('wasm', 'cnn');
    for (const name of ['mlp', 'cnn'] as const) {
      const def = getModelDefinition(name);
      const w = initialWeights(name, 5);
      const m = buildModel(name, { weights: w, softmax: false });
      const x = Float32Array.from(ds.testImages.subarray(0, 4 * 784), (v) => v / 255);
      const [diff, scale] = tf.tidy(() => {
        const xt = tf.tensor(x, [4, ...def.inputShape]);
        const ref = m.predict(xt) as tf.Tensor;
        let off = 0;
        const ws = def.layers.map((l) => {
          const n = l.shape.reduce((a, b) => a * b, 1);
          const t = tf.tensor(w.subarray(off, off + n), l.shape);
          off += n;
          return t;
        });
        const out = def.forward!(ws, xt);
        return [tf.max(tf.abs(tf.sub(out, ref))).dataSync()[0], tf.max(tf.abs(ref)).dataSync()[0]];
      });
      m.dispose();
      assert.ok(diff <= 1e-5 * Math.max(1, scale), `${name}: max diff ${diff}`);
    }
  });

  for (const backend of ['wasm', 'cpu'] as const) {
    it(`${backend}: custom dense and conv gradients equal tfjs's own gradients`, async () => {
      await selectBackend(backend, 'mlp');
      const rnd = (shape: number[], seed: number) => tf.randomUniform(shape, -1, 1, 'float32', seed);
      const check = (
        name: string,
        f: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor,
        ref: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor,
        shapes: number[][],
      ) => {
        tf.tidy(() => {
          const a = rnd(shapes[0], 1);
          const b = rnd(shapes[1], 2);
          const r = rnd(shapes[2], 3);
          const g = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(f(x, y), r)))([a, b]);
          const gr = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(ref(x, y), r)))([a, b]);
          for (let i = 0; i < 2; i++) {
            const d = tf.max(tf.abs(tf.sub(g[i], gr[i]))).dataSync()[0];
            assert.ok(d < 1e-4, `${backend} ${name} grad ${i}: ${d}`);
          }
        });
      };
      const zeroBias = (n: number) => tf.zeros([n]);
      check(
        'dense',
        (x, k) => dense(x as tf.Tensor2D, k, zeroBias(5), 'relu'),
        (x, k) => tf.relu(tf.matMul(x as tf.Tensor2D, k as tf.Tensor2D)),
        [
          [3, 4],
          [4, 5],
          [3, 5],
        ],
      );
      // tfjs's reference conv gradient needs Conv2DBackpropFilter, which wasm lacks: compare on cpu,
      // and on wasm compare against the result computed on cpu.
      const convShapes = [
        [2, 6, 6, 3],
        [3, 3, 3, 4],
        [2, 6, 6, 4],
      ];
      if (backend === 'cpu') {
        check(
          'conv',
          (x, k) => conv2dSame(x as tf.Tensor4D, k, zeroBias(4), 'linear'),
          (x, k) => tf.conv2d(x as tf.Tensor4D, k as tf.Tensor4D, 1, 'same'),
          convShapes,
        );
      } else {
        const grads = () =>
          tf.tidy(() => {
            const [a, b, r] = convShapes.map((s, i) => rnd(s, i + 1));
            return tf
              .grads((x: tf.Tensor, y: tf.Tensor) =>
                tf.sum(tf.mul(conv2dSame(x as tf.Tensor4D, y, zeroBias(4), 'linear'), r)),
              )([a, b])
              .map((t) => t.arraySync());
          });
        const onWasm = grads();
        await selectBackend('cpu', 'mlp');
        const ref = tf.tidy(() => {
          const [a, b, r] = convShapes.map((s, i) => rnd(s, i + 1));
          return tf
            .grads((x: tf.Tensor, y: tf.Tensor) =>
              tf.sum(tf.mul(tf.conv2d(x as tf.Tensor4D, y as tf.Tensor4D, 1, 'same'), r)),
            )([a, b])
            .map((t) => t.arraySync());
        });
        const flat = (v: unknown): number[] => (Array.isArray(v) ? v.flatMap(flat) : [v as number]);
        for (let i = 0; i < 2; i++) {
          const a = flat(onWasm[i]);
          const b = flat(ref[i]);
          assert.ok(Math.max(...a.map((v, j) => Math.abs(v - b[j]))) < 1e-4, `wasm conv grad ${i}`);
        }
      }
    });
  }
});

describe('cnn and other backends', () => {
  it('cnn trains on wasm: loss falls within one short epoch', async () => {
    await selectBackend('auto', 'cnn');
    assert.equal(tf.getBackend(), 'wasm');
    const w0 = initialWeights('cnn', 1);
    const ev = (weights: Float32Array) =>
      evaluate({
        model: 'cnn',
        weights,
        images: ds.testImages,
        labels: ds.testLabels,
        pixels: 784,
        limit: 200,
      });
    const before = await ev(w0);
    const r = await trainLocal({
      config: { model: 'cnn', epochs: 1, batchSize: 10, lr: 0.1, seed: 1 },
      weights: w0,
      images: ds.trainImages,
      labels: ds.trainLabels,
      indices: first(300),
      pixels: 784,
    });
    const after = await ev(r.weights);
    assert.ok(after.loss < before.loss, `${after.loss} vs ${before.loss}`);
    assert.ok(after.accuracy > 0.3, `cnn accuracy after 300 examples: ${after.accuracy}`); // chance: 0.1
  });

  it('mlp trains on cpu to a similar accuracy', async () => {
    await selectBackend('cpu', 'mlp');
    const r = await trainLocal({
      config: { model: 'mlp', epochs: 1, batchSize: 20, lr: 0.1, seed: 1 },
      weights: initialWeights('mlp', 1),
      images: ds.trainImages,
      labels: ds.trainLabels,
      indices: first(1000),
      pixels: 784,
    });
    const e = await evaluate({
      model: 'mlp',
      weights: r.weights,
      images: ds.testImages,
      labels: ds.testLabels,
      pixels: 784,
      limit: 500,
    });
    assert.ok(e.accuracy > 0.6, `cpu accuracy ${e.accuracy}`);
  });

  it('a registered tf.layers model without a fast path trains through tf.layers', async () => {
    registerModel({
      name: 'logreg-test',
      inputShape: [784],
      numClasses: 10,
      layers: [
        { name: 'dense/kernel', shape: [784, 10], init: 'zeros' },
        { name: 'dense/bias', shape: [10], init: 'zeros' },
      ],
      build: ({ softmax }) =>
        tf.sequential({
          layers: [
            tf.layers.dense({ inputShape: [784], units: 10, activation: softmax ? 'softmax' : 'linear' }),
          ],
        }),
    });
    await selectBackend('auto', 'logreg-test');
    const w0 = initialWeights('logreg-test', 1);
    assert.ok(w0.every((v) => v === 0));
    const start = tf.memory().numTensors;
    const r = await trainLocal({
      config: { model: 'logreg-test', epochs: 1, batchSize: 10, lr: 0.1, seed: 1 },
      weights: w0,
      images: ds.trainImages,
      labels: ds.trainLabels,
      indices: first(500),
      pixels: 784,
    });
    const e = await evaluate({
      model: 'logreg-test',
      weights: r.weights,
      images: ds.testImages,
      labels: ds.testLabels,
      pixels: 784,
      limit: 500,
    });
    assert.equal(tf.memory().numTensors, start);
    assert.ok(e.accuracy > 0.6, `logistic regression accuracy ${e.accuracy}`);
  });
});
