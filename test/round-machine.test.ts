import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  createCore,
  createLogger,
  reconcile,
  startRoundWorkerProcess,
} from '../packages/aggregator/src/index.js';
import { SOURCE_NODE_ARGS } from '../packages/cli/src/paths.js';
import { createEncoder } from '../packages/he/src/index.js';
import { AggregatorError } from '../packages/participant/src/index.js';
import {
  type Db,
  getModelDigest,
  getPlan,
  getRound,
  loadAggregate,
  queryAudit,
} from '../packages/store/src/index.js';
import { registerStrategy } from '../packages/strategy/src/index.js';
import {
  importIdentity,
  reportInitialModel,
  runKpfl,
  startTestFederation,
  syntheticUpdate,
  type TestFederation,
  waitFor,
} from './harness.js';

const LENGTH = 2_000;
const CRASHING_WORKER = fileURLToPath(new URL('./fixtures/crashing-worker.ts', import.meta.url));

/** How many audit rows of each event a plan (or one of its rounds) has. */
async function eventCounts(db: Db, planId: string, round?: number): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const r of (await queryAudit(db, { planId, round, limit: 10_000 })).rows)
    counts[r.event] = (counts[r.event] ?? 0) + 1;
  return counts;
}

/** Three members submit distinct plain-mode updates to round 1; returns their independent sum. */
async function submitAll(f: TestFederation): Promise<Float64Array> {
  const ps = await Promise.all(['alice', 'bob', 'carol'].map((m) => f.participant(m)));
  await reportInitialModel(ps[0]!);
  const enc = await createEncoder({ mode: 'plain' });
  const expected = new Float64Array(LENGTH + 1);
  try {
    for (const [k, p] of ps.entries()) {
      const examples = [100, 250, 50][k]!;
      const update = syntheticUpdate(LENGTH, k + 1, examples);
      await p.submitValues(await p.waitForTrainTask(), update, enc, examples);
      for (let i = 0; i < update.length; i++) expected[i]! += update[i]!;
    }
  } finally {
    await enc.close();
  }
  return expected;
}

async function assertAggregate(db: Db, planId: string, expected: Float64Array) {
  const enc = await createEncoder({ mode: 'plain' });
  try {
    const sum = await enc.decode(await loadAggregate(db, planId, 1), LENGTH + 1);
    assert.equal(Math.round(sum[LENGTH]!), 400, 'every example count summed exactly once');
    for (let i = 0; i < LENGTH; i++) assert.ok(Math.abs(sum[i]! - expected[i]!) < 1e-6, `slot ${i}`);
  } finally {
    await enc.close();
  }
}

test('two closers racing on one round publish it exactly once', { timeout: 120_000 }, async (t) => {
  // A gRPC front end without a worker: the test's two engines are the only closers.
  const f = await startTestFederation({ worker: false });
  t.after(() => f.stop());
  const plan = await f.schedule({ rounds: 2, minParticipants: 3, parameterCount: LENGTH, mode: 'plain' });
  const core = async () => {
    const c = await createCore({
      federation: f.federation,
      coordinatorKey: await importIdentity(f.coordinator.signingKey.privateJwk),
      schema: f.schema,
      redisPrefix: f.redisPrefix,
      log: createLogger('closer', { level: 'silent' }),
    });
    t.after(async () => {
      await c.queue.close();
      c.sums.dropAll();
      await Promise.allSettled([c.redis.quit(), c.queueRedis.quit()]);
      await c.db.close();
    });
    return c;
  };
  const [a, b] = await Promise.all([core(), core()]);
  await a.engine.open(plan.id, 1);
  const expected = await submitAll(f);
  const db = f.agg!.db;
  assert.equal((await getRound(db, plan.id, 1))?.state, 'collecting');

  const outcomes = await Promise.all([
    a.engine.close(plan.id, 1, 'quorum'),
    b.engine.close(plan.id, 1, 'deadline'),
    a.engine.close(plan.id, 1, 'quorum'),
  ]);
  assert.deepEqual(outcomes, ['published', 'published', 'published']);
  assert.equal(await b.engine.close(plan.id, 1, 'quorum'), 'published', 'a late closer changes nothing');

  const events = await eventCounts(db, plan.id, 1);
  assert.equal(events['round.closed'], 1);
  assert.equal(events['round.published'], 1);
  assert.equal(events['certificate.signed'], 1);
  assert.equal(events['contribution.accepted'], 3);
  assert.equal((await getRound(db, plan.id, 1))?.contributions, 3);
  await assertAggregate(db, plan.id, expected);
  // Both engines queued what comes next: round 2 opens once, with the new model as its base.
  await a.engine.open(plan.id, 2);
  await b.engine.open(plan.id, 2);
  assert.equal((await eventCounts(db, plan.id, 2))['round.opened'], 1);
});

for (const crashAfter of ['closed', 'published'] as const) {
  test(`a worker SIGKILLed right after the round is ${crashAfter}: the next worker finishes it, once`, {
    timeout: 180_000,
  }, async (t) => {
    const f = await startTestFederation({ worker: false });
    t.after(() => f.stop());
    const crashing = spawn(
      process.execPath,
      [
        ...SOURCE_NODE_ARGS,
        CRASHING_WORKER,
        JSON.stringify({
          federation: f.federation,
          schema: f.schema,
          redisPrefix: f.redisPrefix,
          coordinatorJwk: f.coordinator.signingKey.privateJwk,
          crashAfter,
        }),
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    const exited = new Promise<NodeJS.Signals | null>((r) =>
      crashing.once('exit', (_code, signal) => r(signal)),
    );
    t.after(() => crashing.kill('SIGKILL'));
    const plan = await f.schedule({ rounds: 1, minParticipants: 3, parameterCount: LENGTH, mode: 'plain' });
    const expected = await submitAll(f);
    assert.equal(await exited, 'SIGKILL', 'the worker died at the hook');

    const db = f.agg!.db;
    const before = await eventCounts(db, plan.id, 1);
    assert.equal(before['round.closed'], 1);
    assert.equal(
      (await getRound(db, plan.id, 1))?.state,
      crashAfter === 'closed' ? 'aggregating' : 'published',
    );
    assert.equal(before['round.published'], crashAfter === 'closed' ? undefined : 1);
    assert.equal(before['certificate.signed'], undefined, 'the crash came before the certificate');

    // A healthy worker takes over the stalled close job (or the reconciler's) and finishes the round.
    const worker = await startRoundWorkerProcess({
      federation: f.federation,
      coordinatorKey: await importIdentity(f.coordinator.signingKey.privateJwk),
      schema: f.schema,
      redisPrefix: f.redisPrefix,
      log: createLogger('worker', { level: 'silent' }),
    });
    t.after(() => worker.close());
    await waitFor(
      'the round certified',
      async () => (await eventCounts(db, plan.id, 1))['certificate.signed'] === 1,
      90_000,
    );
    await waitFor('the plan done', async () => (await getPlan(db, plan.id))?.state === 'done', 30_000);
    const after = await eventCounts(db, plan.id, 1);
    assert.equal(after['round.closed'], 1);
    assert.equal(after['round.published'], 1, 'published exactly once');
    assert.equal(after['certificate.signed'], 1);
    await assertAggregate(db, plan.id, expected);
  });
}

test('kpfl rounds schedule and cancel go through the state machine and are audited', {
  timeout: 120_000,
}, async (t) => {
  const f = await startTestFederation({ members: ['alice', 'bob', 'carol'] });
  t.after(() => f.stop());
  const db = f.agg!.db;
  const conn = ['--federation', f.federation, '--schema', f.schema, '--redis-prefix', f.redisPrefix];
  const planId = `${f.federation}-cli`;
  const schedule = [
    'rounds',
    'schedule',
    ...conn,
    '--plan-id',
    planId,
    '--rounds',
    '3',
    '--min-participants',
    '3',
    '--parameter-count',
    String(LENGTH),
    '--mode',
    'plain',
    '--deadline',
    '120s',
  ];
  for (let i = 0; i < 2; i++) {
    const r = await runKpfl(schedule);
    assert.equal(r.code, 0, r.err);
    assert.equal(JSON.parse(r.out).plan, planId);
  }
  const scheduled = (await queryAudit(db, { planId, event: 'plan.scheduled', limit: 10 })).rows;
  assert.equal(scheduled.length, 1, 'scheduling the same plan id twice is audited once');
  assert.match(scheduled[0]!.actor ?? '', /^operator:/);
  assert.equal(scheduled[0]!.data.rounds, 3);

  const [alice, bob] = await Promise.all(['alice', 'bob'].map((m) => f.participant(m)));
  await reportInitialModel(alice!);
  const enc = await createEncoder({ mode: 'plain' });
  t.after(() => enc.close());
  const bobTask = await bob!.waitForTrainTask();
  await alice!.submitValues(await alice!.waitForTrainTask(), syntheticUpdate(LENGTH, 1, 10), enc, 10);
  assert.equal((await getRound(db, planId, 1))?.state, 'collecting');

  const cancel = await runKpfl(['rounds', 'cancel', ...conn, '--plan', planId]);
  assert.equal(cancel.code, 0, cancel.err);
  assert.deepEqual(JSON.parse(cancel.out), { plan: planId, state: 'cancelled', failedRounds: [1] });
  assert.equal((await getPlan(db, planId))?.state, 'cancelled');
  const round = await getRound(db, planId, 1);
  assert.equal(round?.state, 'failed');
  assert.equal(round?.failure_reason, 'plan cancelled by the operator');
  const plan = await getPlan(db, planId);
  assert.match(plan?.initial_model_digest ?? '', /^sha256:[0-9a-f]{64}$/, 'the CLI recorded round 0');
  assert.equal(
    await getModelDigest(db, planId, 1),
    plan?.initial_model_digest,
    'the cancelled round carries the model over',
  );
  const audited = (await queryAudit(db, { planId, event: ['plan.cancelled', 'round.failed'], limit: 10 }))
    .rows;
  assert.deepEqual(
    audited.map((r) => r.event),
    ['plan.cancelled', 'round.failed'],
  );
  for (const r of audited) assert.match(r.actor ?? '', /^operator:/);

  // Nothing opens after it: the plan needs no job, and the reconciler restores none.
  assert.equal(await reconcile(db, f.agg!.queue, createLogger('test', { level: 'silent' }), f.federation), 0);
  assert.equal(await f.agg!.queue.queue.getJob(`open-${planId}-2`), undefined);
  await assert.rejects(
    bob!.submitValues(bobTask, syntheticUpdate(LENGTH, 2, 20), enc, 20),
    (err: unknown) => err instanceof AggregatorError && err.codeName === 'FAILED_PRECONDITION',
  );

  // The refusal is audited just after it is answered.
  await waitFor('the late submission audited', async () => {
    const refused = await queryAudit(db, { planId, event: 'contribution.refused', limit: 10 });
    return refused.rows.some((r) => r.member === 'bob' && r.data.reason === 'round_closed');
  });
  const rows = (await queryAudit(db, { planId, limit: 1000 })).rows.length;
  const again = await runKpfl(['rounds', 'cancel', ...conn, '--plan', planId]);
  assert.equal(again.code, 2);
  assert.equal(again.err, `kpfl: plan ${planId} is already cancelled\n`);
  assert.equal(
    (await queryAudit(db, { planId, limit: 1000 })).rows.length,
    rows,
    'a refused cancel audits nothing',
  );

  const verify = await runKpfl(['audit', 'verify', '--federation', f.federation, '--schema', f.schema]);
  assert.equal(verify.code, 0, verify.out + verify.err);
});

test("a strategy's onRoundFailure stops the plan after its failures in a row", {
  timeout: 120_000,
}, async (t) => {
  // Registered in this process, which runs the engine: stop at the second failed round in a row,
  // and close at a quorum of 2 of the 3 sampled.
  registerStrategy('test-stop-twice', {
    defaults: {},
    create: () => ({
      apply: (_s, global, _d, out) => out.set(global),
      quorum: ({ minParticipants }) => minParticipants,
      onRoundFailure: ({ consecutiveFailures }) => (consecutiveFailures >= 2 ? 'stop' : 'continue'),
    }),
  });
  const f = await startTestFederation({ worker: false });
  t.after(() => f.stop());
  const plan = await f.schedule({
    rounds: 4,
    minParticipants: 2,
    parameterCount: LENGTH,
    mode: 'plain',
    serverOptimizer: 'test-stop-twice',
  });
  const c = await createCore({
    federation: f.federation,
    coordinatorKey: await importIdentity(f.coordinator.signingKey.privateJwk),
    schema: f.schema,
    redisPrefix: f.redisPrefix,
    log: createLogger('engine', { level: 'silent' }),
  });
  t.after(async () => {
    await c.queue.close();
    c.sums.dropAll();
    await Promise.allSettled([c.redis.quit(), c.queueRedis.quit()]);
    await c.db.close();
  });
  const db = f.agg!.db;
  const opened = await c.engine.open(plan.id, 1);
  assert.equal(opened?.sampled.length, 3);
  assert.equal(opened?.quorum, 2, "the strategy's quorum, not the sample size");
  assert.equal(await c.engine.close(plan.id, 1, 'deadline'), 'failed');
  assert.equal((await getPlan(db, plan.id))?.state, 'running', 'one failure: the strategy continues');
  await c.engine.open(plan.id, 2);
  assert.equal(await c.engine.close(plan.id, 2, 'deadline'), 'failed');
  assert.equal((await getPlan(db, plan.id))?.state, 'failed', 'two in a row: the strategy stops the plan');
  const stopped = (await queryAudit(db, { planId: plan.id, event: 'plan.failed', limit: 10 })).rows;
  assert.equal(stopped.length, 1);
  assert.deepEqual(stopped[0]!.data, { round: 2, stoppedBy: 'strategy', consecutiveFailures: 2 });
  assert.equal(await c.engine.open(plan.id, 3), undefined, 'nothing opens after the plan stopped');
  const verify = await runKpfl(['audit', 'verify', '--federation', f.federation, '--schema', f.schema]);
  assert.equal(verify.code, 0, verify.out + verify.err);
});
