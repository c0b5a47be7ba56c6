/**
 * Issue 19, item 8: one member could ruin or stop the federation with a large update, which the
 * aggregator cannot see under HE. Two honest members (alice, bob) run the real participant loop:
 * tfjs training on MNIST slices, CKKS-encrypted updates, mutual TLS. mallory sends, round by round:
 * an honest-sized (zero) update, an update of 1,000 per slot (within the CKKS range), one beyond
 * the parameter set's bound (encrypted with SEAL directly), and ciphertexts under another key (they decrypt to noise).
 * With the plan's bound the honest members reject each bad round: nothing is applied, the round
 * is failed with its reason and audited, the plan goes on from the model before it, and nobody
 * crashes. Without a bound the in-range attack is applied and accuracy collapses.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { schedulePlan } from '../packages/aggregator/src/index.js';
import { verifyAuditDb } from '../packages/audit/src/index.js';
import { DEFAULT_DATASET } from '../packages/cli/src/paths.js';
import { HeCodec } from '../packages/he/src/he-codec.js';
import {
  createEncoder,
  generateConsortiumKey,
  getHeParams,
  sumBoundFor,
  type UpdateEncoder,
} from '../packages/he/src/index.js';
import { getHeContext } from '../packages/he/src/seal.js';
import {
  initialWeights,
  parameterCount,
  parsePartitionSpec,
  weightsDigest,
} from '../packages/model/src/index.js';
import { loadLocalData, type RoundReport, tfjsApp } from '../packages/participant/src/index.js';
import { getModelDigest, getPlan, listRounds, queryAudit } from '../packages/store/src/index.js';
import { runMember, startTestFederation, type TestFederation } from './harness.js';

const P = parameterCount('mlp');
const SEED = 7;
const EXAMPLES = 600;
const TRAINING = {
  model: 'mlp',
  localEpochs: 1,
  batchSize: 20,
  learningRate: 0.1,
  proxMu: 0,
  serverOptimizer: 'fedavg',
  maxExamples: EXAMPLES,
};

type Attack = 'none' | 'large' | 'beyond-range' | 'foreign-key';

/** mallory's update for one round, as chunks: what a member with its own client can send. */
async function mallorysChunks(attack: Attack, f: TestFederation, enc: UpdateEncoder): Promise<Uint8Array[]> {
  const values = new Float64Array(P + 1);
  values[P] = EXAMPLES;
  if (attack === 'none') return enc.encode(values);
  if (attack === 'large') {
    values.fill(1000, 0, P);
    return enc.encode(values);
  }
  const key = f.memberKit('mallory').heKey!;
  if (attack === 'beyond-range') {
    // encode() refuses a value over the set's bound, but a member with its own client can encrypt
    // with SEAL directly: one slot at 1.5 times the bound (SEAL cannot encode every slot so large),
    // in a fresh, seeded ciphertext of the accepted size.
    values[0] = 1.5 * sumBoundFor('he', key.paramsName);
    const codec = HeCodec.create(await getHeContext(getHeParams(key.paramsName)), key);
    try {
      return codec.encrypt(values);
    } finally {
      codec.dispose();
    }
  }
  const foreign = await createEncoder({
    mode: 'he',
    key: await generateConsortiumKey(key.paramsName),
    workers: 0,
  });
  try {
    return await foreign.encode(values);
  } finally {
    await foreign.close();
  }
}

/** Runs a federation of `attacks.length` rounds; mallory sends attacks[r - 1] in round r. */
async function federation(attacks: Attack[], maxUpdateNorm: number) {
  const f = await startTestFederation({ members: ['alice', 'bob', 'mallory'] });
  const db = f.agg!.db;
  const plan = await schedulePlan(db, f.agg!.queue, {
    id: `${f.federation}-bound`,
    federation: f.federation,
    rounds: attacks.length,
    minParticipants: 3,
    fraction: 1,
    deadlineSeconds: 300,
    mode: 'he',
    heParams: 'compact',
    parameterCount: P,
    training: TRAINING,
    seed: SEED,
    initialModelDigest: weightsDigest(initialWeights('mlp', SEED)),
    maxUpdateNorm,
  });
  const honest = ['alice', 'bob'].map(async (m, i) =>
    runMember(f, m, {
      app: tfjsApp(
        await loadLocalData({
          dir: DEFAULT_DATASET,
          slice: { spec: parsePartitionSpec('iid'), clients: 2, clientIndex: i, seed: SEED },
          testLimit: 500,
        }),
      ),
      idleTimeoutMs: 240_000,
    }),
  );
  // Observed now, awaited below: an honest member failing early is then this test's failure, reported
  // with its message, not an unhandled rejection that kills the test process.
  const honestResults = Promise.all(honest);
  honestResults.catch(() => {});
  const mallory = await f.participant('mallory');
  const enc = await createEncoder({ mode: 'he', key: f.memberKit('mallory').heKey!, workers: 1 });
  try {
    for (const attack of attacks) {
      const task = await mallory.waitForTrainTask(240_000);
      await mallory.submitChunks(task, await mallorysChunks(attack, f, enc), EXAMPLES);
    }
    const results = await honestResults;
    return { f, db, plan, results };
  } finally {
    await enc.close();
  }
}

const accuracyAfter = (reports: RoundReport[], round: number) =>
  reports.find((r) => r.round === round)!.accuracy;

test('with the bound, every bad round is rejected by the honest members and the plan goes on', {
  timeout: 600_000,
}, async (t) => {
  const BOUND = 10;
  const { f, db, plan, results } = await federation(
    ['none', 'large', 'beyond-range', 'foreign-key', 'none'],
    BOUND,
  );
  t.after(() => f.stop());
  const [alice, bob] = results;
  // Nobody crashed: both loops ended with the plan, having applied all five rounds.
  for (const r of results)
    assert.deepEqual(
      r.rounds.map((x) => x.round),
      [0, 1, 2, 3, 4, 5],
    );
  assert.deepEqual(alice!.weights, bob!.weights, 'both hold the same model');
  assert.equal((await getPlan(db, plan.id))?.state, 'done', 'the plan went on to its end');

  const rounds = await listRounds(db, plan.id);
  assert.deepEqual(
    rounds.map((r) => r.state),
    ['published', 'failed', 'failed', 'failed', 'published'],
  );
  const reason = (r: number) => rounds[r - 1]!.failure_reason ?? '';
  assert.match(
    reason(2),
    new RegExp(
      `^rejected by 2 of 3 contributors: the mean update's L2 norm [0-9.e+]+ exceeds the plan's bound ${BOUND}$`,
    ),
  );
  assert.match(
    reason(3),
    /^rejected by 2 of 3 contributors: the aggregate does not decrypt in range: chunk \d+ decrypts to .* beyond the parameter set's bound .*: it was encrypted under another consortium key, or the sum overflowed$/,
  );
  assert.match(
    reason(4),
    /^rejected by 2 of 3 contributors: the aggregate does not decrypt in range: chunk \d+ decrypts to /,
  );
  const afterRound1 = await getModelDigest(db, plan.id, 1);
  for (const r of [2, 3, 4])
    assert.equal(await getModelDigest(db, plan.id, r), afterRound1, `round ${r} applied nothing`);
  assert.equal(rounds[4]!.base_model_digest, afterRound1, 'round 5 trained from the model after round 1');
  const audited = (await queryAudit(db, { planId: plan.id, event: 'round.rejected', limit: 10 })).rows;
  assert.deepEqual(
    audited.map((e) => [e.round, e.data.reason]),
    [2, 3, 4].map((r) => [r, reason(r)]),
  );
  for (const r of [2, 3, 4]) assert.equal(accuracyAfter(alice!.rounds, r), accuracyAfter(alice!.rounds, 1));
  t.diagnostic(
    `bound ${BOUND}: accuracy after round 1 ${accuracyAfter(alice!.rounds, 1)}, after the rejected rounds 2-4 the same, after round 5 ${accuracyAfter(alice!.rounds, 5)}`,
  );
  const verdict = await verifyAuditDb(db, { federation: f.federation });
  assert.equal(verdict.ok, true, JSON.stringify(verdict.errors));
});

test('without a bound, an in-range update of 1,000 per slot is applied and ruins the model', {
  timeout: 600_000,
}, async (t) => {
  const { f, db, plan, results } = await federation(['none', 'large'], 0);
  t.after(() => f.stop());
  const rounds = await listRounds(db, plan.id);
  assert.deepEqual(
    rounds.map((r) => r.state),
    ['published', 'published'],
  );
  const before = accuracyAfter(results[0]!.rounds, 1);
  const after = accuracyAfter(results[0]!.rounds, 2);
  t.diagnostic(`no bound: accuracy ${before} after round 1, ${after} after the attack in round 2`);
  assert.ok(before > 0.5, `learned something in round 1: ${before}`);
  assert.ok(after < 0.3, `the attack is applied: ${after}`);
});
