/**
 * The system suites against real Postgres, Redis and gRPC, at toy sizes: well-formed results and tables.
 * No timing thresholds.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { benchEnv } from '../../cli/src/commands/bench.js';
import {
  formatOverhead,
  formatScale,
  formatStreams,
  runOverhead,
  runScale,
  runStreams,
} from '../src/index.js';

const DATASET = fileURLToPath(new URL('../../../data/mnist', import.meta.url));

test('scale: 3 simulated participants and a small update against an aggregator process', {
  timeout: 120_000,
}, async () => {
  const r = await runScale({ counts: [3], parameters: 3000, distinctUpdates: 2, concurrency: 2 }, benchEnv);
  const back = JSON.parse(JSON.stringify(r));
  assert.equal(back.suite, 'scale');
  assert.equal(r.runs.length, 1);
  for (const run of r.runs) {
    assert.equal(run.completed, true, run.error);
    assert.equal(run.accepted, run.participants);
    assert.ok(run.aggregatorPeakRssBytes > 0, 'peak RSS read from /proc');
    assert.ok(run.aggregatorPeakRssBytes >= run.aggregatorStartRssBytes);
    assert.equal(run.db?.contributionsRows, run.participants);
    assert.equal(run.db?.chunkRowsBeforePublish, run.participants * run.chunkCount);
    assert.equal(run.db?.aggregateRows, run.chunkCount);
    assert.equal(run.db?.sampledAtContributions, run.participants - 1);
    assert.ok(
      run.maxAbsError !== null && run.maxAbsError < 1e-3,
      `aggregate decrypts to the exact sum (${run.maxAbsError})`,
    );
  }
  assert.equal(r.rssGrowthBytesPerParticipant, null, 'one count: no growth figure');
  assert.match(formatScale(r), /agg peak RSS/);
});

test('overhead: plain vs he vs local training for one small round', { timeout: 150_000 }, async () => {
  const r = await runOverhead(
    { dataset: DATASET, participants: 2, maxExamples: 64, repeats: 1, testLimit: 50, batchSize: 32 },
    benchEnv,
  );
  const back = JSON.parse(JSON.stringify(r));
  assert.equal(back.suite, 'overhead');
  assert.deepEqual(
    r.rounds.map((x) => x.mode),
    ['plain', 'he', 'local'],
  );
  for (const mode of ['plain', 'he'] as const) {
    const s = r.summary[mode]!;
    assert.ok(s.roundSeconds > 0);
    assert.ok(s.waitSeconds >= 0, 'the stages of a participant do not overlap');
    for (const stage of ['train', 'encrypt', 'upload', 'aggregate', 'download', 'decrypt'] as const) {
      assert.ok(s.stages[stage] > 0, `${mode} ${stage} timed`);
    }
    assert.ok(s.wireBytesUp > s.updateBytes, 'the wire carries the update plus framing');
    assert.ok(s.wireBytesDown > s.aggregateBytes);
  }
  assert.ok(r.summary.he!.updateBytes > r.summary.plain!.updateBytes, 'ciphertexts are larger than floats');
  for (const row of r.rounds.filter((x) => x.mode !== 'local')) {
    assert.ok(row.accuracy! > 0 && row.accuracy! <= 1, 'the participants evaluated the round');
  }
  assert.ok(r.summary.local!.stages.train > 0);
  assert.ok(Number.isFinite(r.ratios.heOverPlain));
  assert.match(formatOverhead(r), /round time he\/plain = /);
});

test('streams: 3 slow streams from one member, against an aggregator process', {
  timeout: 120_000,
}, async () => {
  const r = await runStreams(
    { streams: 3, members: [1], streamSeconds: 1, settleSeconds: 1, parameters: 3000 },
    benchEnv,
  );
  const back = JSON.parse(JSON.stringify(r));
  assert.equal(back.suite, 'streams');
  const [run] = r.runs;
  assert.equal(run?.completed, true, run?.error);
  // One stream per member: the first is accepted, the two others are refused at once.
  assert.deepEqual(run!.outcomes, { OK: 1, RESOURCE_EXHAUSTED: 2 });
  assert.ok(
    run!.baselineRssBytes > 0 && run!.peakRssBytes > 0 && run!.afterRssBytes > 0,
    'RSS read from /proc',
  );
  assert.equal(run!.chunkCount, 1);
  assert.match(formatStreams(r), /baseline RSS/);
});
