/**
 * Issue 15: a federation that starts from a user's tfjs LayersModel file (`--model-file`) and
 * hands back the agreed model in the same format (`--save-model`). Two members run the real
 * participant loop (tfjs training on MNIST slices, CKKS-encrypted updates, mutual TLS, Postgres,
 * Redis) on a model loaded with loadLayersModelFile; each one's onRoundEnd hook saves the agreed
 * model with saveLayersModel into its own directory. After 2 rounds both directories must hold the
 * same bytes, load in plain tfjs and predict the same, and hold exactly round 2's agreed weights.
 * A model file whose input does not fit the member's data stops the member before it sends anything,
 * and `kpfl participant --model-file` refuses it with one line (exit 2) before it connects.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { schedulePlan } from '../packages/aggregator/src/index.js';
import { DEFAULT_DATASET } from '../packages/cli/src/paths.js';
import { DEFAULT_HE_PARAMS } from '../packages/he/src/index.js';
import {
  buildModel,
  getFlatWeights,
  initialWeights,
  loadIdxDataset,
  loadLayersModelFile,
  parameterCount,
  registerModel,
  saveLayersModel,
  selectBackend,
  weightsDigest,
} from '../packages/model/src/index.js';
import { serveDir } from '../packages/model/test/serve-dir.js';
import {
  type GlobalModel,
  type LocalData,
  type RoundReport,
  tfjsApp,
} from '../packages/participant/src/index.js';
import { getModelDigest, listContributions, listRounds } from '../packages/store/src/index.js';
import { runKpfl, runMember, startTestFederation, type TestFederation } from './harness.js';

const SEED = 11;
const ROUNDS = 2;
/** Examples per member, and test rows each member evaluates on. */
const TRAIN = 300;
const TEST = 100;
const PIXELS = 784;

/** Exact equality of two float32 vectors, bit for bit (-0, NaN payloads included). */
function assertSameBits(a: Float32Array, b: Float32Array, what: string): void {
  assert.equal(a.length, b.length, `${what}: length`);
  const ab = Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  const bb = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  if (!ab.equals(bb)) {
    const i = a.findIndex((v, j) => !Object.is(v, b[j]));
    assert.fail(`${what}: weight ${i} differs: ${a[i]} vs ${b[i]}`);
  }
}

/** Member i's slice of MNIST: TRAIN training examples of its own, and TEST test rows. */
function localData(mnist: Awaited<ReturnType<typeof loadIdxDataset>>, i: number): LocalData {
  const trainIndices = Array.from({ length: TRAIN }, (_, k) => i * TRAIN + k);
  return {
    trainFeatures: mnist.trainImages,
    trainLabels: mnist.trainLabels,
    trainIndices,
    testFeatures: mnist.testImages.subarray(i * TEST * PIXELS, (i + 1) * TEST * PIXELS),
    testLabels: mnist.testLabels.subarray(i * TEST, (i + 1) * TEST),
    perExample: PIXELS,
    commitment: `sha256:${String(i + 1).repeat(64)}`,
  };
}

async function plan(f: TestFederation, model: string, id: string) {
  const { db, queue } = await f.handles();
  return schedulePlan(db, queue, {
    id: `${f.federation}-${id}`,
    federation: f.federation,
    rounds: ROUNDS,
    minParticipants: 2,
    fraction: 1,
    deadlineSeconds: 120,
    mode: 'he',
    heParams: DEFAULT_HE_PARAMS,
    parameterCount: parameterCount(model),
    training: {
      model,
      localEpochs: 1,
      batchSize: 20,
      learningRate: 0.1,
      proxMu: 0,
      serverOptimizer: 'fedavg',
      maxExamples: 0,
    },
    seed: SEED,
    // What `kpfl rounds schedule --model-file` records: the digest of the file's weights.
    initialModelDigest: weightsDigest(initialWeights(model, SEED)),
  });
}

describe('a federation on a --model-file model', { timeout: 300_000 }, () => {
  let f: TestFederation;
  let work: string;
  let mnist: Awaited<ReturnType<typeof loadIdxDataset>>;
  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'kpfl-model-file-'));
    f = await startTestFederation({ members: ['alice', 'bob'], mode: 'he' });
    mnist = await loadIdxDataset(DEFAULT_DATASET);
  });
  after(async () => {
    await f?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('trains the file, and every member saves the same agreed model, loadable in plain tfjs', async () => {
    await selectBackend('auto', 'mlp');
    // The user's model file: a small 784-8-10 classifier in tfjs's LayersModel format.
    const user = 'dense:784-8-10';
    const fileDir = join(work, 'user-model');
    await saveLayersModel(fileDir, user, initialWeights(user, 5));
    const file = await loadLayersModelFile(join(fileDir, 'model.json'));
    registerModel(file.definition);
    const model = file.definition.name;
    assert.match(model, /^layers:[0-9a-f]{12}$/);
    assertSameBits(file.weights, initialWeights(user, 5), "the file's weights");
    const p = await plan(f, model, 'model-file');

    const saved = ['alice', 'bob'].map((m) => join(work, `${m}-saved`));
    const ends: RoundReport[][] = [[], []];
    const globals: GlobalModel[][] = [[], []];
    const saveEachRound = (i: number) => ({
      // What `kpfl participant --save-model DIR` does: each agreed model replaces the last in DIR.
      onRoundEnd: async (r: RoundReport, g: GlobalModel) => {
        await saveLayersModel(saved[i]!, g.model, g.weights);
        ends[i]!.push(r);
        globals[i]!.push({ model: g.model, weights: g.weights.slice() });
      },
    });
    const [a, b] = await Promise.all(
      ['alice', 'bob'].map((m, i) =>
        runMember(f, m, {
          app: tfjsApp(localData(mnist, i)),
          hooks: saveEachRound(i),
          idleTimeoutMs: 120_000,
        }),
      ),
    );

    // Both members applied rounds 0..2 and agree on round 2's model, as Postgres records it.
    const agreed = await getModelDigest(f.agg!.db, p.id, ROUNDS);
    assert.deepEqual(
      (await listRounds(f.agg!.db, p.id)).map((r) => r.state),
      ['published', 'published'],
    );
    for (const [i, r] of [a, b].entries()) {
      assert.deepEqual(
        r!.rounds.map((x) => x.round),
        [0, 1, 2],
      );
      assert.deepEqual(
        ends[i]!.map((e) => [e.round, e.contributed]),
        [
          [0, false],
          [1, true],
          [2, true],
        ],
      );
      assert.equal(r!.digest, agreed);
      assert.ok(
        globals[i]!.every((g) => g.model === model),
        'the hook saw the file model',
      );
    }
    assertSameBits(a!.weights!, b!.weights!, 'alice and bob hold the same model');
    assert.equal(weightsDigest(a!.weights!), agreed);
    assertSameBits(globals[0]!.at(-1)!.weights, a!.weights!, "the hook's last model is round 2's");
    // Round 0 was the file itself; the rounds trained it.
    assert.equal(globals[0]![0]!.weights.length, file.weights.length);
    assertSameBits(globals[0]![0]!.weights, file.weights, 'round 0 is the file');
    assert.notEqual(agreed, weightsDigest(file.weights), 'training changed the model');

    // The saved directories: byte for byte the same files.
    for (const name of ['model.json', 'group1-shard1of1.bin']) {
      const [x, y] = saved.map((d) => readFileSync(join(d, name)));
      assert.ok(x!.length > 0, `${name} is not empty`);
      assert.ok(x!.equals(y!), `alice's and bob's ${name} are byte-identical`);
    }

    // Plain tfjs loads both (over loopback HTTP) and they predict the same on test rows.
    const rows = 32;
    const x = tf.tensor2d(
      Float32Array.from(mnist.testImages.subarray(5000 * PIXELS, (5000 + rows) * PIXELS), (v) => v / 255),
      [rows, PIXELS],
    );
    const served = await Promise.all(saved.map((d) => serveDir(d)));
    try {
      const loaded = await Promise.all(served.map((s) => tf.loadLayersModel(`${s.url}/model.json`)));
      const outputs = loaded.map((m) => tf.tidy(() => (m.predict(x) as tf.Tensor).arraySync() as number[][]));
      assert.equal(outputs[0]!.length, rows);
      assert.equal(outputs[0]![0]!.length, 10);
      assert.deepEqual(outputs[0], outputs[1], 'the same predictions');
      // A softmax output: each row is a distribution.
      for (const row of outputs[0]!)
        assert.ok(Math.abs(row.reduce((s, v) => s + v, 0) - 1) < 1e-5, `softmax row sums to 1: ${row}`);
      // The loaded weights are round 2's agreed model, bit for bit.
      for (const m of loaded) {
        const w = getFlatWeights(m);
        assertSameBits(w, a!.weights!, "the saved model's weights");
        assert.equal(weightsDigest(w), agreed);
      }
      // kpfl's own model with those weights predicts what plain tfjs predicts from the file.
      const own = buildModel(model, { weights: a!.weights!, softmax: true });
      const ownOut = tf.tidy(() => (own.predict(x) as tf.Tensor).arraySync() as number[][]);
      own.dispose();
      for (const [i, row] of ownOut.entries()) {
        for (const [j, v] of row.entries()) {
          const want = outputs[0]![i]![j]!;
          assert.ok(Math.abs(v - want) < 1e-6, `row ${i} class ${j}: ${v} vs ${want}`);
        }
      }
      for (const m of loaded) m.dispose();
    } finally {
      x.dispose();
      for (const s of served) await new Promise((r) => s.server.close(r));
    }
  });

  it('stops a member whose model file does not fit its data, before it sends anything', async () => {
    // A model file for 10 values per example; the member's data has 784.
    const narrow = join(work, 'narrow-model');
    await saveLayersModel(narrow, 'dense:10-4-10', initialWeights('dense:10-4-10', 5));
    const file = await loadLayersModelFile(join(narrow, 'model.json'));
    registerModel(file.definition);
    const p = await plan(f, file.definition.name, 'narrow');
    await assert.rejects(
      runMember(f, 'alice', { app: tfjsApp(localData(mnist, 0)), idleTimeoutMs: 60_000 }),
      new RegExp(`model ${file.definition.name} takes 10 values per example \\(\\[10\\]\\), pixels is 784`),
    );
    assert.deepEqual(await listContributions(f.agg!.db, p.id, 1), [], 'nothing was stored');
  });

  it('kpfl participant --model-file refuses a file that does not fit its data: exit 2, before it connects', async () => {
    const narrow = join(work, 'narrow-cli');
    await saveLayersModel(narrow, 'dense:10-4-10', initialWeights('dense:10-4-10', 5));
    const name = (await loadLayersModelFile(join(narrow, 'model.json'))).definition.name;
    const count = async () =>
      (await f.agg!.db.query<{ n: number }>('SELECT count(*)::int AS n FROM contributions')).rows[0]!.n;
    const before = await count();
    const r = await runKpfl([
      'participant',
      '--kit',
      join(f.work, 'members', 'alice'),
      '--aggregator',
      f.address(),
      '--dataset',
      DEFAULT_DATASET,
      '--model-file',
      join(narrow, 'model.json'),
      '--test-limit',
      '100',
      '--log-level',
      'error',
    ]);
    assert.equal(r.code, 2, `exit code (${r.err.slice(-2000)})`);
    const last = r.err.trim().split('\n').at(-1)!;
    assert.equal(
      last,
      `kpfl: model ${name} takes 10 values per example, but ${DEFAULT_DATASET} has 784`,
      'one line naming the model, the data and both sizes',
    );
    assert.doesNotMatch(r.err, /unexpected error|\n\s+at /, 'no stack trace');
    assert.equal(await count(), before, 'nothing was stored');
  });
});
