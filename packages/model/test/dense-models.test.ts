import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import {
  buildModel,
  evaluate,
  getModelDefinition,
  initialWeights,
  isBuiltInModel,
  ModelConfigError,
  parameterCount,
  parseDenseModelName,
  registerModel,
  selectBackend,
  trainLocal,
} from '../src/index.js';

before(async () => {
  await selectBackend('auto', 'mlp');
});

describe('dense:F-H-C models', () => {
  it('resolve from their name alone, with the layout the name spells', () => {
    assert.deepEqual(parseDenseModelName('dense:8-16-3'), [8, 16, 3]);
    assert.equal(parseDenseModelName('mlp'), undefined);
    const def = getModelDefinition('dense:8-16-3');
    assert.deepEqual(def.inputShape, [8]);
    assert.equal(def.numClasses, 3);
    assert.deepEqual(
      def.layers.map((l) => [l.name, l.shape]),
      [
        ['dense1/kernel', [8, 16]],
        ['dense1/bias', [16]],
        ['dense2/kernel', [16, 3]],
        ['dense2/bias', [3]],
      ],
    );
    assert.equal(parameterCount('dense:8-16-3'), 8 * 16 + 16 + 16 * 3 + 3);
    assert.equal(parameterCount('dense:4-3'), 4 * 3 + 3);
    assert.equal(isBuiltInModel('dense:4-8-8-2'), true);
    assert.equal(isBuiltInModel('my-plugin-model'), false);
  });

  it('refuses malformed names with the valid form', () => {
    for (const bad of [
      'dense:',
      'dense:8',
      'dense:8-x-3',
      'dense:8--3',
      'dense:0-3',
      'dense:8-16-1',
      'dense:08-3',
    ]) {
      assert.throws(
        () => getModelDefinition(bad),
        (e: unknown) =>
          e instanceof ModelConfigError &&
          /expected 'dense:F-H1-\.\.\.-C'|at least 2 classes/.test(e.message),
        bad,
      );
    }
    assert.throws(() => isBuiltInModel('dense:8-q'), ModelConfigError);
  });

  it('cannot be shadowed by registerModel', () => {
    const def = getModelDefinition('dense:2-2');
    assert.throws(() => registerModel({ ...def, name: 'dense:2-2' }), /built in/);
  });

  it('forward() computes the same logits as build()', () => {
    const name = 'dense:5-7-6-3';
    const w = initialWeights(name, 3);
    const x = tf.randomUniform([4, 5], -2, 2, 'float32', 7);
    const model = buildModel(name, { weights: w, softmax: false });
    const def = getModelDefinition(name);
    let off = 0;
    const ts = def.layers.map((l) => {
      const n = l.shape.reduce((a, b) => a * b, 1);
      const t = tf.tensor(w.slice(off, off + n), l.shape);
      off += n;
      return t;
    });
    const a = (model.predict(x) as tf.Tensor).arraySync() as number[][];
    const b = def.forward!(ts, x).arraySync() as number[][];
    for (let i = 0; i < a.length; i++)
      for (let j = 0; j < 3; j++) assert.ok(Math.abs(a[i][j] - b[i][j]) < 1e-5);
    model.dispose();
    tf.dispose([x, ...ts]);
  });
});

describe('float32 features', () => {
  it('are used as they are: a dense model learns a rule over negative and fractional values', async () => {
    // Class = sign of x0 - x1: not learnable if the values were scaled as pixels or truncated.
    const n = 400;
    const feats = new Float32Array(n * 2);
    const labels = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const a = Math.sin(i * 1.7) * 1.5;
      const b = Math.cos(i * 0.9) * 1.5;
      feats[2 * i] = a;
      feats[2 * i + 1] = b;
      labels[i] = a > b ? 1 : 0;
    }
    const model = 'dense:2-8-2';
    const w0 = initialWeights(model, 1);
    const indices = Array.from({ length: 300 }, (_, i) => i);
    const held = Array.from({ length: 100 }, (_, i) => 300 + i);
    const before = await evaluate({ model, weights: w0, images: feats, labels, pixels: 2, indices: held });
    const r = await trainLocal({
      config: { model, epochs: 20, batchSize: 10, lr: 0.1, seed: 1 },
      weights: w0,
      images: feats,
      labels,
      indices,
      pixels: 2,
    });
    const after = await evaluate({
      model,
      weights: r.weights,
      images: feats,
      labels,
      pixels: 2,
      indices: held,
    });
    assert.ok(after.accuracy >= 0.9, `accuracy ${after.accuracy} (before ${before.accuracy})`);
    assert.ok(after.accuracy > before.accuracy);
  });
});
