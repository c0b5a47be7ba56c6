import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createEncoder } from '../packages/he/src/index.js';
import { unverifiedSessionClaims } from '../packages/kpt/src/index.js';
import { AggregatorError } from '../packages/participant/src/index.js';
import { getRound, listContributions } from '../packages/store/src/index.js';
import { agreeRound, reportInitialModel, startTestFederation, syntheticUpdate, waitFor } from './harness.js';

const LENGTH = 4_000;

test('a session token names its round and its parties; it cannot submit to another round', {
  timeout: 90_000,
}, async (t) => {
  const f = await startTestFederation({ members: ['alice', 'bob'] });
  t.after(() => f.stop());
  const plan = await f.schedule({ rounds: 2, minParticipants: 2, parameterCount: LENGTH, mode: 'plain' });
  const [alice, bob] = await Promise.all(['alice', 'bob'].map((m) => f.participant(m)));
  await reportInitialModel(alice!);
  const enc = await createEncoder({ mode: 'plain' });
  const task1 = await alice!.waitForTrainTask();
  const ra = await alice!.submitValues(task1, syntheticUpdate(LENGTH, 1, 10), enc, 10);
  const rb = await bob!.submitValues(await bob!.waitForTrainTask(), syntheticUpdate(LENGTH, 2, 10), enc, 10);

  // Alice's current token was issued for round 1 (submitValues authenticated for it).
  const token = (await alice!.conn.sessionMetadata()).get('authorization')[0] as string;
  const claims = unverifiedSessionClaims(token.slice('Bearer '.length));
  assert.ok(claims, 'the session token has session claims');
  assert.equal(claims.kpfl.round, 1);
  assert.deepEqual(claims.kpfl.parties, ['alice', 'bob']);
  assert.ok(claims.kpfl.capabilities.includes('submit:round'));

  await waitFor(
    'round 1 published',
    async () => (await getRound(f.agg!.db, plan.id, 1))?.state === 'published',
  );
  await agreeRound(
    1,
    [
      { p: alice!, attestationDigest: ra.attestationDigest },
      { p: bob!, attestationDigest: rb.attestationDigest },
    ],
    `sha256:${'1'.repeat(64)}`,
  );
  const task2 = await waitFor('round 2 train task', async () => {
    const t2 = await alice!.conn.getTask(1);
    return t2.kind === 'TASK_KIND_TRAIN' && t2.round === 2 && t2.baseModelDigest ? t2 : undefined;
  });
  await assert.rejects(
    alice!.submitChunks(
      task2,
      await enc.encode(syntheticUpdate(LENGTH, 1, 10)),
      10,
      {},
      { reauthenticate: false },
    ),
    (err: unknown) => {
      assert.ok(err instanceof AggregatorError);
      assert.equal(err.codeName, 'PERMISSION_DENIED');
      assert.match(err.message, /session token names round 1, the update is for round 2: authenticate again/);
      return true;
    },
  );
  assert.equal((await listContributions(f.agg!.db, plan.id, 2)).length, 0, 'nothing stored for round 2');
  // With a fresh token naming round 2 the same update is accepted.
  const receipt = await alice!.submitChunks(task2, await enc.encode(syntheticUpdate(LENGTH, 1, 10)), 10);
  assert.equal(receipt.accepted, true);

  // That token is now spent: replaying its jti on another submission is refused UNAUTHENTICATED
  // (audited as 'replayed'); the client then authenticates again, as it does for an expired token,
  // and its retry meets the one-update-per-round rule.
  await assert.rejects(
    alice!.submitChunks(
      task2,
      await enc.encode(syntheticUpdate(LENGTH, 3, 10)),
      10,
      {},
      { reauthenticate: false },
    ),
    (err: unknown) => {
      assert.ok(err instanceof AggregatorError);
      assert.equal(err.codeName, 'ALREADY_EXISTS');
      return true;
    },
  );
  // Refusals are audited right after the answer is sent: wait for the third.
  const refused = await waitFor('three refusals audited', async () => {
    const r = await f.agg!.db.query(
      `SELECT data FROM audit_log WHERE event = 'contribution.refused' AND member = 'alice' AND round = 2 ORDER BY seq`,
    );
    return r.rows.length >= 3 ? r : undefined;
  });
  assert.deepEqual(
    refused.rows.map((r) => r.data.reason),
    ['token_round', 'replayed', 'duplicate'],
    'stale round, replayed jti, then the duplicate',
  );
  assert.equal(refused.rows[1].data.code, 'UNAUTHENTICATED');
  assert.match(
    refused.rows[1].data.details,
    /was already used for a submission: authenticate again before each submission/,
  );
  assert.equal(
    (await listContributions(f.agg!.db, plan.id, 2)).length,
    1,
    'only the first round-2 update is stored',
  );
  await enc.close();
});
