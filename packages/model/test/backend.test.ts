import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { BackendUnavailableError, registerModel, selectBackend } from '../src/index.js';

// Registered once: a tf.layers-only conv model (no fast forward path), which needs tfjs's own
// Conv2DBackpropFilter kernel to train, as any custom conv model would.
registerModel({
  name: 'layers-conv-test',
  inputShape: [8, 8, 1],
  numClasses: 2,
  layers: [
    { name: 'conv/kernel', shape: [3, 3, 1, 2], init: 'glorot_uniform' },
    { name: 'conv/bias', shape: [2], init: 'zeros' },
    { name: 'dense/kernel', shape: [128, 2], init: 'glorot_uniform' },
    { name: 'dense/bias', shape: [2], init: 'zeros' },
  ],
  build: ({ softmax }) =>
    tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [8, 8, 1], filters: 2, kernelSize: 3, padding: 'same' }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 2, activation: softmax ? 'softmax' : 'linear' }),
      ],
    }),
});

describe('selectBackend (this machine: no tfjs-node, no GPU)', () => {
  it("'auto' skips the tensorflow packages, naming them, and picks wasm for the mlp", async () => {
    const r = await selectBackend('auto', 'mlp');
    assert.equal(r.backend, 'wasm');
    assert.equal(tf.getBackend(), 'wasm');
    assert.deepEqual(
      r.skipped.map((s) => s.backend),
      ['tensorflow-gpu', 'tensorflow'],
    );
    assert.match(r.skipped[0].reason, /@tensorflow\/tfjs-node-gpu is not installed/);
    assert.match(r.skipped[1].reason, /@tensorflow\/tfjs-node is not installed/);
  });

  it("'auto' picks wasm for the cnn too (its conv gradients are built from forward convolutions)", async () => {
    const r = await selectBackend('auto', 'cnn');
    assert.equal(r.backend, 'wasm');
  });

  it("'auto' picks cpu for a conv model that relies on tfjs's Conv2DBackpropFilter, saying why wasm was skipped", async () => {
    const r = await selectBackend('auto', 'layers-conv-test');
    assert.equal(r.backend, 'cpu');
    assert.equal(tf.getBackend(), 'cpu');
    const wasm = r.skipped.find((s) => s.backend === 'wasm');
    assert.ok(wasm);
    assert.match(wasm.reason, /wasm has no Conv2DBackpropFilter kernel \(no Conv2D gradients\)/);
  });

  it("asking for 'tensorflow' throws BackendUnavailableError naming @tensorflow/tfjs-node", async () => {
    await assert.rejects(selectBackend('tensorflow', 'mlp'), (e: unknown) => {
      assert.ok(e instanceof BackendUnavailableError);
      assert.equal(e.npmPackage, '@tensorflow/tfjs-node');
      assert.match(
        e.message,
        /backend 'tensorflow' is not available: @tensorflow\/tfjs-node is not installed \(npm install @tensorflow\/tfjs-node\)/,
      );
      return true;
    });
    await assert.rejects(
      selectBackend('tensorflow-gpu', 'mlp'),
      /@tensorflow\/tfjs-node-gpu is not installed/,
    );
  });

  it("explicit 'wasm' for a model it cannot train throws; explicit 'cpu' and 'wasm' otherwise work", async () => {
    await assert.rejects(selectBackend('wasm', 'layers-conv-test'), (e: unknown) => {
      assert.ok(e instanceof BackendUnavailableError);
      assert.match(e.message, /Conv2DBackpropFilter/);
      return true;
    });
    assert.deepEqual(await selectBackend('cpu', 'cnn'), { backend: 'cpu', skipped: [] });
    assert.equal(tf.getBackend(), 'cpu');
    assert.deepEqual(await selectBackend('wasm', 'cnn'), { backend: 'wasm', skipped: [] });
    assert.equal(tf.getBackend(), 'wasm');
    await assert.rejects(selectBackend('webgl' as 'cpu', 'mlp'), /unknown backend 'webgl'/);
  });
});
