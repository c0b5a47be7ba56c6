import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type ServerStrategy,
  StrategyError,
  type StrategyState,
  serverStateFromBytes,
  serverStateToBytes,
  strategyFromSpec,
} from '../src/index.js';

// The fedavg, fedavgm and fedadam assertions are the ones @kpfl/model's server-optimizer tests
// made before strategies existed: the steps are bit-identical to what they were.

/** The spec as @kpfl/model's parser returned it: name and parameters in one object. */
const parseServerOptimizer = (s: string) => {
  const st = strategyFromSpec(s);
  return { name: st.name, ...st.params };
};
const formatServerOptimizer = (spec: { name: string } & Record<string, unknown>) => toStrategy(spec).format();
const createServerState = (spec: { name: string } & Record<string, unknown>, n: number) =>
  toStrategy(spec).initState(n);
const serverStep = (
  spec: { name: string } & Record<string, unknown>,
  st: StrategyState,
  g: Float32Array,
  d: Float64Array,
) => toStrategy(spec).step(st, g, d);
function toStrategy(spec: { name: string } & Record<string, unknown>): ServerStrategy {
  const { name, ...params } = spec;
  const ps = Object.entries(params).map(([k, v]) => `${k}=${v}`);
  return strategyFromSpec(ps.length ? `${name}:${ps.join(',')}` : name);
}

function close(actual: Float32Array, expected: number[], tol = 1e-6) {
  assert.equal(actual.length, expected.length);
  expected.forEach((e, i) => {
    assert.ok(Math.abs(actual[i] - e) <= tol, `[${i}] ${actual[i]} != ${e}`);
  });
}

const g0 = Float32Array.from([1, 2, 3]);

describe('parseServerOptimizer', () => {
  it('parses names with and without parameters, filling defaults', () => {
    assert.deepEqual(parseServerOptimizer('fedavg'), { name: 'fedavg', lr: 1 });
    assert.deepEqual(parseServerOptimizer('fedavg:lr=0.5'), { name: 'fedavg', lr: 0.5 });
    assert.deepEqual(parseServerOptimizer('fedavgm:lr=1,momentum=0.9'), {
      name: 'fedavgm',
      lr: 1,
      momentum: 0.9,
    });
    assert.deepEqual(parseServerOptimizer('fedavgm:momentum=0.5'), { name: 'fedavgm', lr: 1, momentum: 0.5 });
    assert.deepEqual(parseServerOptimizer('fedadam:lr=0.01,beta1=0.9,beta2=0.99,tau=0.001'), {
      name: 'fedadam',
      lr: 0.01,
      beta1: 0.9,
      beta2: 0.99,
      tau: 0.001,
    });
    assert.deepEqual(parseServerOptimizer('FedAdam: lr = 1e-2 , tau=1e-3'), {
      name: 'fedadam',
      lr: 0.01,
      beta1: 0.9,
      beta2: 0.99,
      tau: 0.001,
    });
  });
  it('round-trips through formatServerOptimizer', () => {
    for (const s of [
      'fedavg:lr=1',
      'fedavgm:lr=0.5,momentum=0.8',
      'fedadam:lr=0.01,beta1=0.9,beta2=0.99,tau=0.001',
    ]) {
      assert.equal(formatServerOptimizer(parseServerOptimizer(s)), s);
    }
  });
  it('rejects unknown names, keys and bad values with the valid forms', () => {
    assert.throws(() => parseServerOptimizer('sgd'), /unknown server optimizer 'sgd'; valid forms: 'fedavg/);
    assert.throws(
      () => parseServerOptimizer('fedavgm:beta1=0.9'),
      /fedavgm has no parameter 'beta1' \(it takes lr, momentum\)/,
    );
    assert.throws(() => parseServerOptimizer('fedavg:lr=abc'), /lr=abc is not a number/);
    assert.throws(() => parseServerOptimizer('fedavg:lr'), /expected key=value/);
    assert.throws(() => parseServerOptimizer('fedavgm:momentum=1'), /momentum must be in \[0, 1\)/);
    assert.throws(() => parseServerOptimizer('fedadam:tau=0'), /tau must be > 0/);
    assert.throws(() => parseServerOptimizer('fedavg:lr=-1'), /lr must be > 0/);
    for (const bad of ['sgd', 'fedavg:lr', 'fedadam:tau=0']) {
      assert.throws(
        () => parseServerOptimizer(bad),
        (e: unknown) => e instanceof StrategyError && e.code === 'BAD_SERVER_OPTIMIZER',
        bad,
      );
    }
  });
});

describe('serverStep', () => {
  it('fedavg: global + lr * avgDelta (lr defaults to 1)', () => {
    const d = Float64Array.from([0.5, -1, 0.25]);
    const spec = parseServerOptimizer('fedavg');
    const st = createServerState(spec, 3);
    close(serverStep(spec, st, g0, d), [1.5, 1, 3.25], 0);
    assert.equal(st.step, 1);
    const half = { name: 'fedavg', lr: 0.5 } as const;
    close(serverStep(half, createServerState(half, 3), g0, d), [1.25, 1.5, 3.125], 0);
    // Unweighted lr 1 FedAvg reproduces the weighted mean of the clients' models exactly.
    // Clients [2, 2, 2] (30 examples) and [0, 5, 3] (10): the weighted mean of their deltas from g0
    // is ([1, 0, -1] * 30 + [-1, 3, 0] * 10) / 40, what @kpfl/model's averageDeltas gives.
    const avg = Float64Array.from([0.5, 0.75, -0.75]);
    close(serverStep(spec, st, g0, avg), [1.5, 2.75, 2.25], 0);
  });

  it('fedavgm: m = momentum * m + delta; x = x + lr * m', () => {
    const spec = parseServerOptimizer('fedavgm:lr=1,momentum=0.9');
    const st = createServerState(spec, 3);
    const x1 = serverStep(spec, st, g0, Float64Array.from([0.5, -1, 0.25]));
    close(x1, [1.5, 1, 3.25], 0);
    const x2 = serverStep(spec, st, x1, Float64Array.from([0.5, 0, -0.25]));
    // m = 0.9 * [0.5, -1, 0.25] + [0.5, 0, -0.25] = [0.95, -0.9, -0.025]
    close(x2, [2.45, 0.1, 3.225]);
    assert.equal(st.step, 2);
    assert.deepEqual(
      [...st.m!].map((v) => Math.round(v * 1e9) / 1e9),
      [0.95, -0.9, -0.025],
    );
  });

  it('fedadam: Reddi et al. Algorithm 2 with v0 = tau^2, no bias correction', () => {
    const spec = parseServerOptimizer('fedadam:lr=0.1,beta1=0.9,beta2=0.99,tau=0.001');
    const st = createServerState(spec, 3);
    // m = 0.1 * d = [0.05, -0.1, 0]; v = 0.99e-6 + 0.01 d^2 = [0.00250099, 0.01000099, 9.9e-7]
    // x = g + 0.1 m / (sqrt(v) + 0.001): 0.005 / 0.0510099 = 0.0980202, -0.01 / 0.1010049 = -0.0990050
    const x1 = serverStep(spec, st, g0, Float64Array.from([0.5, -1, 0]));
    close(x1, [1.0980202, 1.900995, 3]);
    const x2 = serverStep(spec, st, x1, Float64Array.from([0.25, 0.5, -0.5]));
    close(x2, [1.2215065, 1.865395, 2.9019796]);
    assert.equal(st.step, 2);
  });

  it('gives bit-identical results on repeated runs and survives serialization', () => {
    const spec = parseServerOptimizer('fedadam');
    const n = 1000;
    const g = Float32Array.from({ length: n }, (_, i) => Math.sin(i));
    const d1 = Float64Array.from({ length: n }, (_, i) => Math.cos(i) / 100);
    const d2 = Float64Array.from({ length: n }, (_, i) => Math.sin(3 * i) / 100);
    const s1 = createServerState(spec, n);
    const s2 = createServerState(spec, n);
    const a1 = serverStep(spec, s1, g, d1);
    const b1 = serverStep(spec, s2, g, d1);
    assert.deepEqual(a1, b1);
    const restored = serverStateFromBytes(serverStateToBytes(s1));
    assert.deepEqual(restored, s1);
    assert.deepEqual(serverStep(spec, restored, a1, d2), serverStep(spec, s2, b1, d2));
  });

  it('rejects mismatched lengths, states and non-finite deltas', () => {
    const spec = parseServerOptimizer('fedavgm');
    assert.throws(
      () => serverStep(spec, createServerState(spec, 3), g0, new Float64Array(2)),
      /avgDelta has 2 values/,
    );
    assert.throws(
      () => serverStep(spec, createServerState(parseServerOptimizer('fedavg'), 3), g0, new Float64Array(3)),
      /state is for fedavg/,
    );
    assert.throws(
      () => serverStep(spec, createServerState(spec, 3), g0, Float64Array.from([0, Number.NaN, 0])),
      /avgDelta\[1\] is NaN/,
    );
    assert.throws(() => serverStateFromBytes(new Uint8Array(16)), /bad magic/);
  });
});
