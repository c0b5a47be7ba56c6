/**
 * Issue 15: the ParticipantApp seam. Two members run the real participant loop (gRPC with mutual
 * TLS, Postgres, Redis, attestations, certificates) with an app of the test's own instead of the
 * tfjs trainer: the agreed model must be exactly what FedAvg makes of what the apps' fits returned,
 * the hooks must see every stage of every round, and an app whose fit returns a malformed result
 * must stop its participant with a clear message before anything is encrypted, signed or sent.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { initialWeights, registerModel, weightsDigest } from '../packages/model/src/index.js';
import type {
  FitConfig,
  GlobalModel,
  ParticipantApp,
  RoundReport,
  StageTiming,
} from '../packages/participant/src/index.js';
import { getModelDigest, listContributions } from '../packages/store/src/index.js';
import { type LocalFederation, startLocalFederation } from '../packages/testing/src/index.js';

const MODEL = 'app-test-linear';
const LENGTH = 12;
const SEED = 3;
const ROUNDS = 2;
registerModel({
  name: MODEL,
  inputShape: [LENGTH - 1],
  numClasses: 1,
  layers: [
    { name: 'w', shape: [LENGTH - 1], init: 'glorot_uniform' },
    { name: 'b', shape: [1], init: 'zeros' },
  ],
  build() {
    throw new Error('the test app never builds a tfjs model');
  },
});

/** Member i's fit moves every weight by step * (i + 1) and reports 10 * (i + 1) examples. */
function stepApp(i: number, step: number, seen: FitConfig[]): ParticipantApp {
  return {
    dataCommitment: `sha256:${String(i).repeat(64)}`,
    async fit(weights, config) {
      seen.push(config);
      return {
        weights: weights.map((w) => w + step * (i + 1)),
        examples: 10 * (i + 1),
        metrics: { loss: 1 / (config.round + 1) },
      };
    },
    async evaluate(weights) {
      return { accuracy: 0.5, loss: weights.reduce((a, w) => a + w, 0), examples: 7 };
    },
  };
}

/** A plain-mode plan of the test model: the arithmetic below is exact only without CKKS noise. */
const plan = (f: LocalFederation, rounds: number) =>
  f.schedule({
    model: MODEL,
    rounds,
    mode: 'plain',
    deadlineSeconds: 60,
    training: { localEpochs: 1, batchSize: 4, learningRate: 0.5, serverOptimizer: 'fedavg' },
    seed: SEED,
  });

const participate = (f: LocalFederation, member: string, app: ParticipantApp, hooks = {}) =>
  f.participate(member, { app, hooks, idleTimeoutMs: 60_000 });

describe('ParticipantApp', () => {
  let f: LocalFederation;
  before(async () => {
    f = await startLocalFederation({ participants: ['alice', 'bob'] });
  });
  after(() => f.close());

  it('runs a federation of custom apps: FedAvg of their fits, every stage reported to the hooks', async () => {
    const p = await plan(f, ROUNDS);
    const step = 0.25;
    const seen: FitConfig[][] = [[], []];
    const stages: StageTiming[] = [];
    const starts: string[] = [];
    const ends: RoundReport[] = [];
    const globals: GlobalModel[] = [];
    const hooks = {
      onStage: (t: StageTiming) => stages.push(t),
      onRoundStart: (e: { round: number; kind: string }) => starts.push(`${e.kind}:${e.round}`),
      // A promise the loop waits for (how `--save-model` writes each agreed model).
      onRoundEnd: async (r: RoundReport, g: GlobalModel) => {
        await new Promise((res) => setTimeout(res, 5));
        ends.push(r);
        globals.push({ model: g.model, weights: g.weights.slice() });
      },
    };
    const [a, b] = await Promise.all([
      participate(f, 'alice', stepApp(0, step, seen[0]!), hooks),
      participate(f, 'bob', stepApp(1, step, seen[1]!)),
    ]);
    // What the loop makes of the fits: float32 trained weights, deltas pre-weighted by the examples
    // and sent as float32 (the plain codec), summed in float64, divided by the count, added to the
    // global model, rounded to float32.
    let expected = initialWeights(MODEL, SEED);
    for (let r = 0; r < ROUNDS; r++) {
      const g = expected;
      const trained = [1, 2].map((k) => g.map((w) => w + step * k));
      expected = Float32Array.from(g, (w, j) => {
        const sum = Math.fround(10 * (trained[0]![j]! - w)) + Math.fround(20 * (trained[1]![j]! - w));
        return w + sum / 30;
      });
    }
    assert.equal(a.digest, b.digest);
    assert.deepEqual(Array.from(a.weights!), Array.from(expected));
    assert.equal(a.digest, await getModelDigest(f.aggregator.db, p.id, ROUNDS));
    // The plan's settings reached the apps, round by round, with a per-round seed.
    assert.deepEqual(
      seen[0]!.map((c) => [c.round, c.model, c.epochs, c.batchSize, c.lr, c.seed]),
      [1, 2].map((r) => [r, MODEL, 1, 4, 0.5, SEED * 1000 + r]),
    );
    // Each round: fit, encode, upload when contributing; download, decode, evaluate when applying.
    for (let r = 1; r <= ROUNDS; r++) {
      const names = stages.filter((s) => s.round === r).map((s) => s.stage);
      assert.deepEqual(names.sort(), ['decode', 'download', 'encode', 'evaluate', 'fit', 'upload']);
      for (const s of stages.filter((x) => x.round === r)) {
        assert.ok(s.seconds >= 0, `${s.stage} seconds`);
        if (['encode', 'upload', 'download'].includes(s.stage)) assert.ok(s.bytes! > 0, `${s.stage} bytes`);
      }
    }
    assert.deepEqual(starts, ['train:1', 'apply:1', 'train:2', 'apply:2']);
    assert.deepEqual(
      ends.map((e) => [e.round, e.contributed, e.accuracy]),
      [
        [0, false, 0.5],
        [1, true, 0.5],
        [2, true, 0.5],
      ],
    );
    // The hook saw each agreed model: the initial one, then each round's.
    assert.deepEqual(
      globals.map((g) => g.model),
      [MODEL, MODEL, MODEL],
    );
    assert.equal(weightsDigest(globals[0]!.weights), weightsDigest(initialWeights(MODEL, SEED)));
    assert.deepEqual(Array.from(globals.at(-1)!.weights), Array.from(expected));
    // The evaluation the app returned is what was reported.
    assert.equal(
      ends[2]!.loss,
      expected.reduce((s, w) => s + w, 0),
    );
  });

  it('stops a participant whose app returns a malformed fit, before anything is sent', async () => {
    const p = await plan(f, 1);
    const bad: ParticipantApp = {
      ...stepApp(0, 0.1, []),
      fit: async (weights) => ({ weights: weights.subarray(1), examples: 5, metrics: { loss: 0 } }),
    };
    await assert.rejects(
      participate(f, 'alice', bad),
      /the participant app's fit returned 11 weights, the model has 12/,
    );
    const zero: ParticipantApp = {
      ...stepApp(1, 0.1, []),
      fit: async (weights) => ({ weights, examples: 0, metrics: { loss: 0 } }),
    };
    await assert.rejects(
      participate(f, 'bob', zero),
      /returned examples = 0: it must be a whole number >= 1/,
    );
    assert.deepEqual(await listContributions(f.aggregator.db, p.id, 1), []);
  });
});
