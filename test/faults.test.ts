import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { createEncoder } from '../packages/he/src/index.js';
import { AggregatorError } from '../packages/participant/src/index.js';
import { getRound, listContributions, loadAggregate, queryAudit } from '../packages/store/src/index.js';
import {
  freePort,
  INITIAL_DIGEST,
  reportInitialModel,
  spawnKpfl,
  startTestFederation,
  syntheticUpdate,
  waitFor,
} from './harness.js';

const LENGTH = 10_000;

/** Decodes a published aggregate with a member's consortium key. */
async function decodeAggregate(chunks: Uint8Array[], key: Parameters<typeof createEncoder>[0]) {
  const enc = await createEncoder(key);
  try {
    return await enc.decode(chunks, LENGTH + 1);
  } finally {
    await enc.close();
  }
}

function assertClose(actual: Float64Array, expected: Float64Array, tol: number) {
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
  assert.ok(worst <= tol, `aggregate differs from the independent sum by ${worst}`);
}

test('SIGKILL of the aggregator mid-round and mid-close loses nothing and counts nothing twice', {
  timeout: 180_000,
}, async (t) => {
  const f = await startTestFederation({ startAggregator: false, members: ['alice', 'bob', 'carol'] });
  t.after(() => f.stop());
  const port = await freePort();
  const args = [
    'aggregator',
    '--kit',
    join(f.work, 'coordinator'),
    '--listen',
    `127.0.0.1:${port}`,
    '--schema',
    f.schema,
    '--redis-prefix',
    f.redisPrefix,
  ];
  let agg = spawnKpfl(args);
  t.after(() => agg.child.kill('SIGKILL'));
  await agg.firstLine;
  const { db } = await f.handles();
  const plan = await f.schedule({
    rounds: 1,
    minParticipants: 3,
    deadlineSeconds: 120,
    parameterCount: LENGTH,
  });

  const address = `localhost:${port}`;
  const [alice, bob, carol] = await Promise.all(
    ['alice', 'bob', 'carol'].map((m) => f.participant(m, address)),
  );
  await reportInitialModel(alice!);
  const key = f.memberKit('alice').heKey!;
  const enc = await createEncoder({ mode: 'he', key });
  t.after(() => enc.close());
  const updates = [
    syntheticUpdate(LENGTH, 1, 100),
    syntheticUpdate(LENGTH, 2, 250),
    syntheticUpdate(LENGTH, 3, 50),
  ];

  const task = await alice!.waitForTrainTask();
  await alice!.submitValues(task, updates[0]!, enc, 100);
  await bob!.submitValues(await bob!.waitForTrainTask(), updates[1]!, enc, 250);

  // Kill 1: two contributions accepted, the round still collecting.
  agg.child.kill('SIGKILL');
  await new Promise((r) => agg.child.once('exit', r));
  const restartedAt = performance.now();
  agg = spawnKpfl(args);
  await agg.firstLine;
  const carolTask = await carol!.waitForTrainTask(60_000);
  const resumeSeconds = (performance.now() - restartedAt) / 1000;
  t.diagnostic(`restart to resumed round (carol got her task): ${resumeSeconds.toFixed(2)} s`);
  await carol!.submitValues(carolTask, updates[2]!, enc, 50);

  // Kill 2: right after quorum, while the close job aggregates or waits for the worker.
  agg.child.kill('SIGKILL');
  await new Promise((r) => agg.child.once('exit', r));
  agg = spawnKpfl(args);
  await agg.firstLine;
  const round = await waitFor('round 1 published', async () => {
    const r = await getRound(db, plan.id, 1);
    return r?.state === 'published' ? r : undefined;
  });

  assert.equal(round.contributions, 3);
  const contributions = await listContributions(db, plan.id, 1);
  assert.deepEqual(contributions.map((c) => c.member).sort(), ['alice', 'bob', 'carol']);
  const expected = new Float64Array(LENGTH + 1);
  for (const u of updates) for (let i = 0; i < u.length; i++) expected[i]! += u[i]!;
  const sum = await decodeAggregate(await loadAggregate(db, plan.id, 1), { mode: 'he', key });
  assert.equal(Math.round(sum[LENGTH]!), 400, 'example counts summed exactly once each');
  assertClose(sum, expected, 1e-4);
});

test('a participant that stops mid-round: the round closes at its deadline with the others; late submissions are refused', {
  timeout: 90_000,
}, async (t) => {
  const f = await startTestFederation({ members: ['alice', 'bob', 'carol'], tls: true });
  t.after(() => f.stop());
  const plan = await f.schedule({
    rounds: 1,
    minParticipants: 2,
    deadlineSeconds: 4,
    parameterCount: LENGTH,
    mode: 'plain',
  });
  const [alice, bob, carol] = await Promise.all(['alice', 'bob', 'carol'].map((m) => f.participant(m)));
  await reportInitialModel(alice!);
  const enc = await createEncoder({ mode: 'plain' });
  const carolTask = await carol!.waitForTrainTask();
  await alice!.submitValues(await alice!.waitForTrainTask(), syntheticUpdate(LENGTH, 1, 10), enc, 10);
  await bob!.submitValues(await bob!.waitForTrainTask(), syntheticUpdate(LENGTH, 2, 20), enc, 20);
  const round = await waitFor('round 1 closed at its deadline', async () => {
    const r = await getRound(f.agg!.db, plan.id, 1);
    return r?.state === 'published' ? r : undefined;
  });
  assert.equal(round.contributions, 2);
  const closed = await queryAudit(f.agg!.db, { event: 'round.closed', planId: plan.id, round: 1, limit: 10 });
  assert.deepEqual(
    closed.rows.map((r) => r.data),
    [{ why: 'deadline', contributions: 2 }],
    'closed once, by the deadline, not by quorum',
  );
  await assert.rejects(
    carol!.submitValues(carolTask, syntheticUpdate(LENGTH, 3, 30), enc, 30),
    (err: unknown) => {
      assert.ok(err instanceof AggregatorError);
      assert.equal(err.codeName, 'FAILED_PRECONDITION');
      assert.match(err.message, /round 1 is published|deadline/);
      return true;
    },
  );
  assert.equal((await listContributions(f.agg!.db, plan.id, 1)).length, 2, 'the late update was not stored');
});

test('a round below the minimum at its deadline fails cleanly and the plan continues', {
  timeout: 90_000,
}, async (t) => {
  const f = await startTestFederation({ members: ['alice', 'bob', 'carol'] });
  t.after(() => f.stop());
  const plan = await f.schedule({
    rounds: 2,
    minParticipants: 3,
    deadlineSeconds: 3,
    parameterCount: LENGTH,
    mode: 'plain',
  });
  const alice = await f.participant('alice');
  await reportInitialModel(alice);
  const enc = await createEncoder({ mode: 'plain' });
  await alice.submitValues(await alice.waitForTrainTask(), syntheticUpdate(LENGTH, 1, 10), enc, 10);
  const failed = await waitFor('round 1 failed', async () => {
    const r = await getRound(f.agg!.db, plan.id, 1);
    return r?.state === 'failed' ? r : undefined;
  });
  assert.match(failed.failure_reason ?? '', /only 1 of the required 3/);
  const next = await waitFor('round 2 opened', () => getRound(f.agg!.db, plan.id, 2));
  assert.equal(next.state, 'open');
  assert.equal(next.base_model_digest, INITIAL_DIGEST, 'a failed round leaves the model unchanged');
  assert.equal((await loadAggregate(f.agg!.db, plan.id, 1)).length, 0, 'no aggregate for a failed round');
});

test('killing the round worker process loses no job and runs none twice', { timeout: 180_000 }, async (t) => {
  const f = await startTestFederation({ startAggregator: false, members: ['alice', 'bob', 'carol'] });
  t.after(() => f.stop());
  const port = await freePort();
  const common = [
    '--kit',
    join(f.work, 'coordinator'),
    '--schema',
    f.schema,
    '--redis-prefix',
    f.redisPrefix,
  ];
  const front = spawnKpfl(['aggregator', ...common, '--listen', `127.0.0.1:${port}`, '--no-worker']);
  t.after(() => front.child.kill('SIGKILL'));
  await front.firstLine;
  const worker1 = spawnKpfl(['worker', ...common]);
  await worker1.firstLine;
  const { db, queue } = await f.handles();
  const plan = await f.schedule({
    rounds: 2,
    minParticipants: 3,
    deadlineSeconds: 120,
    parameterCount: LENGTH,
  });
  const address = `localhost:${port}`;
  const ps = await Promise.all(['alice', 'bob', 'carol'].map((m) => f.participant(m, address)));
  await ps[0]!.conn.reportEvaluation({
    round: 0,
    globalModelDigest: INITIAL_DIGEST,
    accuracy: 0,
    loss: 0,
    examples: 0,
  });
  const enc = await createEncoder({ mode: 'he', key: f.memberKit('alice').heKey! });
  t.after(() => enc.close());
  await ps[0]!.submitValues(await ps[0]!.waitForTrainTask(), syntheticUpdate(LENGTH, 1, 10), enc, 10);

  // The worker dies while the round collects (it holds the round's deadline job); the rest arrive without a worker.
  worker1.child.kill('SIGKILL');
  await new Promise((r) => worker1.child.once('exit', r));
  await ps[1]!.submitValues(await ps[1]!.waitForTrainTask(), syntheticUpdate(LENGTH, 2, 20), enc, 20);
  await ps[2]!.submitValues(await ps[2]!.waitForTrainTask(), syntheticUpdate(LENGTH, 3, 30), enc, 30);
  assert.equal(
    (await getRound(db, plan.id, 1))?.state,
    'collecting',
    'nothing closes the round without a worker',
  );

  const worker2 = spawnKpfl(['worker', ...common]);
  t.after(() => worker2.child.kill('SIGKILL'));
  await worker2.firstLine;
  // The audit log, not the workers' logs, records what happened: each row is appended with its transition.
  const audited = async (event: string, round: number) =>
    (await queryAudit(db, { event, planId: plan.id, round, limit: 10 })).rows.length;
  await waitFor('round 2 opened and audited', async () => (await audited('round.opened', 2)) > 0);
  await waitFor('the close job of round 1 completed', async () =>
    (await queue.queue.getJob(`close-${plan.id}-1`))?.isCompleted(),
  );
  assert.equal(await audited('round.opened', 1), 1, 'round 1 opened once');
  assert.equal(await audited('round.published', 1), 1, 'round 1 published once');
  assert.equal(await audited('round.opened', 2), 1, 'round 2 opened once');
  assert.equal((await getRound(db, plan.id, 1))?.state, 'published');
  assert.equal((await getRound(db, plan.id, 1))?.contributions, 3);
  const jobs = await queue.queue.getJobs(['completed']);
  const closeJobs = jobs.filter((j) => j.id === `close-${plan.id}-1`);
  assert.equal(closeJobs.length, 1, 'one close job, completed once');
  assert.equal(closeJobs[0]!.attemptsMade <= 1, true);
});

test('Redis losing its data and Postgres dropping connections: the aggregator reconnects and the round completes', {
  timeout: 120_000,
}, async (t) => {
  const f = await startTestFederation({ members: ['alice', 'bob'] });
  t.after(() => f.stop());
  const plan = await f.schedule({
    rounds: 1,
    minParticipants: 2,
    deadlineSeconds: 120,
    parameterCount: LENGTH,
    mode: 'plain',
  });
  const [alice, bob] = await Promise.all(['alice', 'bob'].map((m) => f.participant(m)));
  await reportInitialModel(alice!);
  const enc = await createEncoder({ mode: 'plain' });
  await alice!.submitValues(await alice!.waitForTrainTask(), syntheticUpdate(LENGTH, 1, 10), enc, 10);

  // Redis restarts without persistence: every key of this federation is gone, round jobs included.
  const { redisConnection } = await import('../packages/aggregator/src/index.js');
  const redis = redisConnection();
  t.after(() => redis.quit());
  const keys = await redis.keys(`${f.redisPrefix}:*`);
  assert.ok(keys.length > 0, 'the federation had queue keys');
  await redis.del(...keys);
  // Postgres restarts: every session of this deployment is terminated.
  const { rows } = await f.agg!.db.query<{ n: string }>(
    `SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()`,
    [`kpfl:${f.schema}`],
  );
  t.diagnostic(`terminated ${rows[0]!.n} Postgres sessions, deleted ${keys.length} Redis keys`);

  // The reconciler restores the deadline job from Postgres; the pool reconnects on the next query.
  await waitFor(
    'deadline job restored',
    async () => Boolean(await f.agg!.queue.queue.getJob(`deadline-${plan.id}-1`)),
    20_000,
  );
  await bob!.submitValues(await bob!.waitForTrainTask(), syntheticUpdate(LENGTH, 2, 20), enc, 20);
  const round = await waitFor('round 1 published', async () => {
    const r = await getRound(f.agg!.db, plan.id, 1);
    return r?.state === 'published' ? r : undefined;
  });
  assert.equal(round.contributions, 2);
});
