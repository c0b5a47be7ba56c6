import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { formatConvergence, runConvergence } from '../src/index.js';

const DATASET = fileURLToPath(new URL('../../../data/mnist', import.meta.url));

test('convergence: a tiny slice for 3 rounds gives a well-formed result and table', {
  timeout: 120_000,
}, async () => {
  const r = await runConvergence({
    dataset: DATASET,
    settings: [
      { partition: 'iid', epochs: 1 },
      { partition: 'shards:2', epochs: 1 },
    ],
    clients: 6,
    fraction: 0.5,
    trainLimit: 600,
    testLimit: 200,
    maxRounds: 3,
    lr: 0.05,
    target: 0.97,
    workers: 0,
  });
  const back = JSON.parse(JSON.stringify(r));
  assert.equal(back.suite, 'convergence');
  assert.equal(back.runs.length, 2);
  for (const run of r.runs) {
    assert.equal(run.roundsRun, 3);
    assert.equal(run.stoppedBy, 'max-rounds');
    assert.equal(run.reachedAtRound, null);
    assert.equal(run.clientsPerRound, 3);
    assert.deepEqual(
      run.curve.map((p) => p.round),
      [0, 1, 2, 3],
      'evaluated before training and after every round',
    );
    for (const p of run.curve) assert.ok(p.accuracy >= 0 && p.accuracy <= 1);
    assert.ok(run.curve[3]!.accuracy > run.curve[0]!.accuracy, 'it learns something');
    assert.match(run.outcome, /not reached within 3 rounds/);
  }
  assert.equal(r.runs[0]!.paper?.rounds, 87, "the paper's IID E=1 B=10 value is attached");
  assert.equal(r.testExamples, 200);
  const table = formatConvergence(r);
  assert.match(table, /IID, E=1, B=10/);
  assert.match(table, /non-IID \(shards:2\), E=1, B=10/);
  assert.match(table, /in-process simulation/);
  assert.ok(r.datasetLoadSeconds > 0, 'the dataset load is timed');
  assert.match(table, /Dataset: loaded, checked against SHA256SUMS and validated in \d+\.\d\d s/);
});

test('convergence: worker threads train the same way and stop at the target', {
  timeout: 120_000,
}, async () => {
  const r = await runConvergence({
    dataset: DATASET,
    settings: [{ partition: 'iid', epochs: 1 }],
    clients: 4,
    fraction: 0.5,
    trainLimit: 400,
    testLimit: 100,
    maxRounds: 2,
    target: 0.05,
    workers: 1,
  });
  assert.equal(r.workers, 1);
  const run = r.runs[0]!;
  assert.equal(run.stoppedBy, 'target');
  assert.equal(run.reachedAtRound, 0, 'even the initial model beats a 5% target');
  assert.match(run.outcome, /reached 5% at round 0/);
});
