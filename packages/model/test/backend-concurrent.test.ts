/**
 * Two participants in one process start their plans at once, each selecting a backend while the
 * other may already be running kernels (test/update-bound.test.ts does this). Unserialised, the
 * second tf.setBackend('wasm') superseded the first, which fell back to cpu; when the wasm
 * initialisation settled, tfjs ran cpu kernels against the wasm backend ("Cannot read properties
 * of undefined (reading 'get')" in CI). A fresh process: wasm is not yet initialised here.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { activeBackend, initialWeights, selectBackend } from '../src/index.js';

test('concurrent selections agree on one backend, and kernels run on it afterwards', async () => {
  initialWeights('mlp', 1); // tensors on tfjs's default (cpu) backend before any selection
  const selections = await Promise.all([1, 2, 3].map(() => selectBackend('auto', 'mlp')));
  assert.deepEqual(
    selections.map((s) => s.backend),
    ['wasm', 'wasm', 'wasm'],
  );
  assert.equal(activeBackend(), 'wasm');
  assert.equal(tf.getBackend(), 'wasm');
  const product = tf.matMul(tf.ones([2, 3]), tf.ones([3, 2]));
  assert.deepEqual(await product.array(), [
    [3, 3],
    [3, 3],
  ]);
});
