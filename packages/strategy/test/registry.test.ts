import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { registerStrategy, StrategyError, strategyFromSpec, strategyNames } from '../src/index.js';

const code = (c: string) => (e: unknown) => e instanceof StrategyError && e.code === c;

describe('registry', () => {
  it('lists the built-ins and parses each of them back from its canonical form', () => {
    const names = strategyNames();
    for (const n of ['fedavg', 'fedavgm', 'fedadam', 'fedprox', 'fedyogi', 'fedadagrad']) {
      assert.ok(names.includes(n), n);
      const s = strategyFromSpec(n);
      assert.equal(s.name, n);
      assert.equal(strategyFromSpec(s.format()).format(), s.format());
    }
    assert.equal(strategyFromSpec('fedyogi').format(), 'fedyogi:lr=0.01,beta1=0.9,beta2=0.99,tau=0.001');
    assert.equal(strategyFromSpec('FedProx:mu=0.1').format(), 'fedprox:mu=0.1,lr=1');
  });

  it('rejects unknown names and bad parameters, listing every registered form', () => {
    assert.throws(
      () => strategyFromSpec('sgd'),
      (e: unknown) =>
        code('BAD_SERVER_OPTIMIZER')(e) &&
        /'fedyogi\[:lr=0.01,beta1=0.9,beta2=0.99,tau=0.001\]'/.test((e as Error).message) &&
        /'fedadagrad\[:lr=0.01,beta1=0.9,tau=0.001\]'/.test((e as Error).message),
    );
    assert.throws(() => strategyFromSpec('fedyogi:beta2=1'), /fedyogi: beta2 must be in \[0, 1\)/);
    assert.throws(() => strategyFromSpec('fedadagrad:beta2=0.9'), /fedadagrad has no parameter 'beta2'/);
    assert.throws(() => strategyFromSpec('fedprox:mu=-1'), /mu must be >= 0, got -1/);
    assert.throws(() => strategyFromSpec('fedadagrad:tau=0'), code('BAD_SERVER_OPTIMIZER'));
  });

  it('refuses a second registration of a name, and malformed names', () => {
    const def = { defaults: {}, create: () => ({ apply: () => {} }) };
    assert.throws(() => registerStrategy('fedavg', def), code('DUPLICATE_STRATEGY'));
    assert.throws(() => registerStrategy('Bad Name', def), code('BAD_STRATEGY_DEFINITION'));
    assert.throws(
      () => registerStrategy('nan-default', { ...def, defaults: { lr: Number.NaN } }),
      code('BAD_STRATEGY_DEFINITION'),
    );
  });

  it('finds and uses a strategy registered by its user', () => {
    // Sign-SGD on the server: x <- x + lr * sign(D); quorum of half the sample; stops after 2 failures.
    registerStrategy('test-signsgd', {
      defaults: { lr: 0.5 },
      validate: (p) => (p.lr > 0 ? undefined : `lr must be > 0, got ${p.lr}`),
      create: ({ lr }) => ({
        apply(_state, global, d, out) {
          for (let i = 0; i < out.length; i++) out[i] = global[i] + lr * Math.sign(d[i]);
        },
        quorum: ({ sampled }) => Math.ceil(sampled.length / 2),
        onRoundFailure: ({ consecutiveFailures }) => (consecutiveFailures >= 2 ? 'stop' : 'continue'),
      }),
    });
    assert.ok(strategyNames().includes('test-signsgd'));
    const s = strategyFromSpec('test-signsgd:lr=0.25');
    assert.equal(s.format(), 'test-signsgd:lr=0.25');
    const state = s.initState(3);
    assert.equal(state.name, 'test-signsgd');
    const x = s.step(state, Float32Array.from([1, 1, 1]), Float64Array.from([3, -0.001, 0]));
    assert.deepEqual(x, Float32Array.from([1.25, 0.75, 1]));
    assert.equal(state.step, 1);
    assert.equal(s.quorum({ sampled: ['a', 'b', 'c', 'd', 'e'], minParticipants: 2 }), 3);
    assert.equal(s.onRoundFailure({ round: 4, contributions: 0, consecutiveFailures: 1 }), 'continue');
    assert.equal(s.onRoundFailure({ round: 5, contributions: 0, consecutiveFailures: 2 }), 'stop');
    assert.throws(() => strategyFromSpec('test-signsgd:lr=0'), /test-signsgd: lr must be > 0/);
    // Its state is its own: a built-in refuses it.
    assert.throws(
      () => strategyFromSpec('fedavg').step(state, new Float32Array(3), new Float64Array(3)),
      code('BAD_STEP_INPUT'),
    );
  });

  it('refuses a custom quorum or sample outside what the round can use', () => {
    registerStrategy('test-badquorum', {
      defaults: {},
      create: () => ({
        apply: () => {},
        quorum: () => 0,
        sample: ({ eligible }) => ({ sampled: [...eligible, 'intruder'], samplingSeed: 'x' }),
      }),
    });
    const s = strategyFromSpec('test-badquorum');
    assert.throws(
      () => s.quorum({ sampled: ['a', 'b'], minParticipants: 2 }),
      code('BAD_STRATEGY_DEFINITION'),
    );
    assert.throws(
      () => s.sample({ eligible: ['a'], fraction: 1, min: 1, planSeed: 1, round: 1 }),
      code('BAD_STRATEGY_DEFINITION'),
    );
  });
});

describe('aggregator-side defaults', () => {
  /** sampleParticipants as @kpfl/aggregator had it (sampling.ts), to pin the default sample. */
  function oldSampleParticipants(
    eligible: string[],
    fraction: number,
    min: number,
    planSeed: number,
    round: number,
  ) {
    const samplingSeed = createHash('sha256').update(`kpfl-sample:${planSeed}:${round}`).digest('hex');
    const count = Math.min(eligible.length, Math.max(min, Math.ceil(fraction * eligible.length)));
    const ranked = [...eligible]
      .sort()
      .map((id) => ({ id, rank: createHash('sha256').update(`${samplingSeed}:${id}`).digest('hex') }))
      .sort((a, b) => (a.rank < b.rank ? -1 : a.rank > b.rank ? 1 : 0));
    return {
      sampled: ranked
        .slice(0, count)
        .map((r) => r.id)
        .sort(),
      samplingSeed,
    };
  }

  it('samples exactly as sampleParticipants did, for every built-in', () => {
    const eligible = Array.from({ length: 20 }, (_, i) => `member-${String(i).padStart(2, '0')}`).reverse();
    for (const name of ['fedavg', 'fedadam', 'fedprox', 'fedyogi']) {
      for (const [fraction, min, seed, round] of [
        [0.3, 2, 42, 1],
        [0.3, 2, 42, 2],
        [0.05, 3, 7, 9],
        [1, 1, 1, 1],
      ]) {
        const got = strategyFromSpec(name).sample({ eligible, fraction, min, planSeed: seed, round });
        assert.deepEqual(got, oldSampleParticipants(eligible, fraction, min, seed, round));
      }
    }
    // Pinned values: the sample of a recorded round must not change with the code.
    const pinned = strategyFromSpec('fedavg').sample({
      eligible,
      fraction: 0.3,
      min: 2,
      planSeed: 42,
      round: 1,
    });
    assert.equal(pinned.samplingSeed, createHash('sha256').update('kpfl-sample:42:1').digest('hex'));
    assert.equal(pinned.sampled.length, 6);
  });

  it('quorum is the whole sample, failures continue, training passes through', () => {
    const s = strategyFromSpec('fedadam');
    assert.equal(s.quorum({ sampled: ['a', 'b', 'c'], minParticipants: 2 }), 3);
    assert.equal(s.onRoundFailure({ round: 3, contributions: 1, consecutiveFailures: 5 }), 'continue');
    const training = { proxMu: 0.2, batchSize: 32 };
    assert.equal(s.configureRound({ round: 1, training }), training);
  });

  it("fedprox's configureRound hands its mu to the participants", () => {
    const training = { proxMu: 0, batchSize: 32, model: 'mlp' };
    const got = strategyFromSpec('fedprox:mu=0.05').configureRound({ round: 2, training });
    assert.deepEqual(got, { proxMu: 0.05, batchSize: 32, model: 'mlp' });
    assert.equal(training.proxMu, 0, 'the plan settings are not mutated');
    // Its step is fedavg's.
    const g = Float32Array.from([1, 2]);
    const d = Float64Array.from([0.25, -0.5]);
    const prox = strategyFromSpec('fedprox:mu=0.05,lr=0.5');
    const avg = strategyFromSpec('fedavg:lr=0.5');
    assert.deepEqual(prox.step(prox.initState(2), g, d), avg.step(avg.initState(2), g, d));
  });
});
