import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type ServerStrategy,
  serverStateFromBytes,
  serverStateToBytes,
  strategyFromSpec,
} from '../src/index.js';

/** A seeded xorshift generator: the same random inputs on every run. */
function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
}

const N = 257;
const STEPS = 6;

function inputs(seed: number) {
  const r = rng(seed);
  const global = Float32Array.from({ length: N }, () => r() * 4 - 2);
  // Deltas of mixed sizes, some zero, so sign(v - D^2) takes all of -1, 0 and +1 over the steps.
  const deltas = Array.from({ length: STEPS }, () =>
    Float64Array.from({ length: N }, (_, i) =>
      i % 17 === 0 ? 0 : (r() - 0.5) * 10 ** -(1 + Math.floor(r() * 3)),
    ),
  );
  return { global, deltas };
}

/**
 * Reddi et al. (2021) Algorithm 2, written out plainly over plain number arrays, independent of the
 * package's code: m_{-1} = 0, v_{-1} = tau^2, no bias correction.
 */
function reference(
  kind: 'yogi' | 'adagrad',
  p: { lr: number; beta1: number; beta2?: number; tau: number },
  global: Float32Array,
  deltas: Float64Array[],
): Float32Array[] {
  const m = new Array<number>(N).fill(0);
  const v = new Array<number>(N).fill(p.tau * p.tau);
  let x = Array.from(global);
  const outs: Float32Array[] = [];
  for (const D of deltas) {
    const next: number[] = [];
    for (let i = 0; i < N; i++) {
      m[i] = p.beta1 * m[i] + (1 - p.beta1) * D[i];
      const D2 = D[i] * D[i];
      if (kind === 'adagrad') v[i] = v[i] + D2;
      else v[i] = v[i] - (1 - p.beta2!) * D2 * Math.sign(v[i] - D2);
      next.push(x[i] + (p.lr * m[i]) / (Math.sqrt(v[i]) + p.tau));
    }
    const f32 = Float32Array.from(next);
    outs.push(f32);
    x = Array.from(f32); // the participants hold float32 weights between rounds
  }
  return outs;
}

function run(s: ServerStrategy, global: Float32Array, deltas: Float64Array[]): Float32Array[] {
  const state = s.initState(global.length);
  let x: Float32Array = global;
  return deltas.map((d) => {
    x = s.step(state, x, d);
    return x;
  });
}

describe('fedyogi and fedadagrad match a float64 reference exactly', () => {
  for (const seed of [1, 2, 3]) {
    it(`fedyogi, seed ${seed}`, () => {
      const { global, deltas } = inputs(seed);
      const s = strategyFromSpec('fedyogi:lr=0.05,beta1=0.9,beta2=0.99,tau=0.001');
      const got = run(s, global, deltas);
      const want = reference('yogi', { lr: 0.05, beta1: 0.9, beta2: 0.99, tau: 0.001 }, global, deltas);
      for (let t = 0; t < STEPS; t++) assert.deepEqual(got[t], want[t], `step ${t}`);
      // The model moved: an identity step would pass the equality above only if the reference were wrong too.
      assert.notDeepEqual(got[STEPS - 1], global);
    });
    it(`fedadagrad, seed ${seed}`, () => {
      const { global, deltas } = inputs(seed);
      const s = strategyFromSpec('fedadagrad:lr=0.05,beta1=0.5,tau=0.01');
      const got = run(s, global, deltas);
      const want = reference('adagrad', { lr: 0.05, beta1: 0.5, tau: 0.01 }, global, deltas);
      for (let t = 0; t < STEPS; t++) assert.deepEqual(got[t], want[t], `step ${t}`);
      assert.notDeepEqual(got[STEPS - 1], global);
    });
  }

  it('yogi and adam differ once v exceeds D^2 (the sign term matters)', () => {
    const { global, deltas } = inputs(9);
    const yogi = run(strategyFromSpec('fedyogi'), global, deltas);
    const adam = run(strategyFromSpec('fedadam'), global, deltas);
    assert.notDeepEqual(yogi[STEPS - 1], adam[STEPS - 1]);
  });
});

describe('strategy state', () => {
  for (const spec of ['fedavg', 'fedavgm', 'fedadam', 'fedprox', 'fedyogi', 'fedadagrad']) {
    it(`${spec}: round-trips through bytes and continues identically`, () => {
      const s = strategyFromSpec(spec);
      const { global, deltas } = inputs(5);
      const a = s.initState(N);
      const b = s.initState(N);
      let xa: Float32Array = global;
      let xb: Float32Array = global;
      for (let t = 0; t < 3; t++) {
        xa = s.step(a, xa, deltas[t]);
        xb = s.step(b, xb, deltas[t]);
      }
      const restored = serverStateFromBytes(serverStateToBytes(a));
      assert.deepEqual(restored, a);
      assert.equal(restored.step, 3);
      for (let t = 3; t < STEPS; t++) {
        xa = s.step(restored, xa, deltas[t]);
        xb = s.step(b, xb, deltas[t]);
        assert.deepEqual(xa, xb, `step ${t}`);
      }
    });
  }

  it('reads the KPSO version 1 bytes @kpfl/model wrote', () => {
    // fedavgm state {step: 2, length: 2, m: [0.5, -1]} as the old serverStateToBytes laid it out.
    const header = '{"name":"fedavgm","step":2,"length":2,"m":true,"v":false}';
    const start = Math.ceil((12 + header.length) / 8) * 8;
    const bytes = new Uint8Array(start + 16);
    const dv = new DataView(bytes.buffer);
    dv.setUint32(0, 0x4f53504b, true);
    dv.setUint32(4, 1, true);
    dv.setUint32(8, header.length, true);
    bytes.set(new TextEncoder().encode(header), 12);
    dv.setFloat64(start, 0.5, true);
    dv.setFloat64(start + 8, -1, true);
    const st = serverStateFromBytes(bytes);
    assert.deepEqual(st, { name: 'fedavgm', step: 2, length: 2, m: Float64Array.from([0.5, -1]) });
    assert.deepEqual(serverStateToBytes(st), bytes);
  });

  it('refuses truncated, foreign and malformed bytes with BAD_STATE_BYTES', () => {
    const good = serverStateToBytes(strategyFromSpec('fedadam').initState(4));
    for (const bytes of [new Uint8Array(16), good.subarray(0, good.length - 8)]) {
      assert.throws(
        () => serverStateFromBytes(bytes),
        (e: unknown) => (e as { code?: string }).code === 'BAD_STATE_BYTES',
      );
    }
  });
});
