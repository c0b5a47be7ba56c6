import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import {
  buildModel,
  getFlatWeights,
  initialWeights,
  layerShapes,
  parameterCount,
  weightsDigest,
  weightsFromBytes,
  weightsToBytes,
} from '../src/index.js';

describe('model shapes', () => {
  it('parameter counts match the FedAvg paper models', () => {
    assert.equal(parameterCount('mlp'), 199210);
    assert.equal(parameterCount('cnn'), 1663370);
  });

  it('layerShapes is the tfjs getWeights() order of the tfjs model', () => {
    for (const name of ['mlp', 'cnn'] as const) {
      const m = buildModel(name);
      try {
        const tfShapes = m.getWeights().map((w) => w.shape);
        assert.deepEqual(
          layerShapes(name).map((l) => l.shape),
          tfShapes,
        );
        assert.equal(m.countParams(), parameterCount(name));
      } finally {
        m.dispose();
      }
    }
    assert.deepEqual(layerShapes('mlp'), [
      { name: 'dense1/kernel', shape: [784, 200] },
      { name: 'dense1/bias', shape: [200] },
      { name: 'dense2/kernel', shape: [200, 200] },
      { name: 'dense2/bias', shape: [200] },
      { name: 'dense3/kernel', shape: [200, 10] },
      { name: 'dense3/bias', shape: [10] },
    ]);
  });

  it('unknown model names list the known ones', () => {
    assert.throws(() => parameterCount('resnet' as 'mlp'), /unknown model 'resnet'; known models: mlp, cnn/);
  });
});

describe('initialWeights', () => {
  it('is deterministic, seed-dependent and has the right length', () => {
    const a = initialWeights('mlp', 42);
    assert.equal(a.length, 199210);
    assert.deepEqual(initialWeights('mlp', 42), a);
    assert.notDeepEqual(initialWeights('mlp', 43), a);
    assert.equal(initialWeights('cnn', 1).length, 1663370);
  });

  it('pins the canonical bits (plain-JS PRNG, same on every backend and machine)', () => {
    assert.equal(
      weightsDigest(initialWeights('mlp', 42)),
      'sha256:1e7300e1d5cdfdd30179c962689dfce4e1a1ee392eae4530199754848b80ffd1',
    );
    assert.equal(
      weightsDigest(initialWeights('cnn', 42)),
      'sha256:cbc5e79abd4ca486806a8df51cb863a032ed48f98db6e5a2371682348e08bb97',
    );
  });

  it('uses glorot-uniform kernels and zero biases', () => {
    const w = initialWeights('mlp', 7);
    const limit = Math.sqrt(6 / (784 + 200));
    let maxAbs = 0;
    let sum = 0;
    let sumSq = 0;
    for (let i = 0; i < 784 * 200; i++) {
      maxAbs = Math.max(maxAbs, Math.abs(w[i]));
      sum += w[i];
      sumSq += w[i] * w[i];
    }
    const n = 784 * 200;
    assert.ok(maxAbs <= limit && maxAbs > 0.99 * limit);
    assert.ok(Math.abs(sum / n) < 0.001);
    assert.ok(Math.abs(sumSq / n - (limit * limit) / 3) < 0.0005); // variance of U(-l, l)
    assert.ok(
      w.subarray(n, n + 200).every((v) => v === 0),
      'dense1/bias is zero',
    );
    // cnn conv1 kernel: fanIn = 5*5*1, fanOut = 5*5*32
    const c = initialWeights('cnn', 7);
    const climit = Math.sqrt(6 / (25 + 800));
    assert.ok(c.subarray(0, 800).every((v) => Math.abs(v) <= climit));
  });
});

describe('canonical bytes and digest', () => {
  it('weightsToBytes is little-endian float32 and round-trips', () => {
    const w = Float32Array.from([1, -2.5, 0.1]);
    const b = weightsToBytes(w);
    assert.deepEqual([...b.subarray(0, 4)], [0x00, 0x00, 0x80, 0x3f]); // 1.0f LE
    assert.deepEqual([...b.subarray(4, 8)], [0x00, 0x00, 0x20, 0xc0]); // -2.5f LE
    assert.deepEqual(weightsFromBytes(b), w);
    const dv = new DataView(b.buffer);
    assert.equal(dv.getFloat32(8, true), Math.fround(0.1));
    // A view into a larger buffer serializes just its own elements.
    assert.deepEqual(weightsToBytes(new Float32Array(new Float32Array([9, 1, -2.5, 0.1]).buffer, 4, 3)), b);
    assert.throws(() => weightsFromBytes(new Uint8Array(5)), /multiple of 4/);
  });

  it('weightsDigest is sha256 over the canonical bytes', async () => {
    const w = Float32Array.from([1, -2.5, 0.1]);
    const { createHash } = await import('node:crypto');
    assert.equal(weightsDigest(w), `sha256:${createHash('sha256').update(weightsToBytes(w)).digest('hex')}`);
    assert.notEqual(weightsDigest(Float32Array.from([1, -2.5, 0.2])), weightsDigest(w));
  });

  it('buildModel(weights) carries the flat weights into tfjs and back unchanged', () => {
    const w = initialWeights('mlp', 3);
    const m = buildModel('mlp', { weights: w });
    try {
      assert.equal(weightsDigest(getFlatWeights(m)), weightsDigest(w));
      const p = tf.tidy(() => (m.predict(tf.zeros([2, 784])) as tf.Tensor).sum(1).dataSync());
      assert.ok(Math.abs(p[0] - 1) < 1e-5, 'softmax output by default');
    } finally {
      m.dispose();
    }
  });
});
