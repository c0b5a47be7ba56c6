/**
 * Issue 19, item 7: the agreed global-model digest after a round is the one a majority of the
 * round's contributors sign into their countersignatures of its certificate (ADR 0007). A report
 * (ReportEvaluation) never decides it, a disagreeing minority is named in the audit log, a majority
 * rejection fails the round, and `kpfl audit verify` replays the agreement from the certificates.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { exportAudit, verifyAuditDb, verifyAuditExport } from '../packages/audit/src/index.js';
import { identityOf } from '../packages/cli/src/kits.js';
import { createEncoder } from '../packages/he/src/index.js';
import { countersignRoundCertificate, digestOf, type GeneralJWS } from '../packages/kpt/src/index.js';
import { getCertificate, getModelDigest, getRound, queryAudit } from '../packages/store/src/index.js';
import { assertRefused, INITIAL_DIGEST, startTestFederation, syntheticUpdate, waitFor } from './harness.js';

const LENGTH = 2_000;
const AGREED = digestOf('the model every honest contributor computes after round 1');
const BOGUS = digestOf('a digest mallory made up');

test('the contributors decide the global model; a report never does, and the minority is named', {
  timeout: 120_000,
}, async (t) => {
  // dave is sampled but does not contribute: he can only report.
  const f = await startTestFederation({ members: ['alice', 'bob', 'carol', 'dave'] });
  t.after(() => f.stop());
  const db = f.agg!.db;
  const plan = await f.schedule({ rounds: 2, minParticipants: 3, parameterCount: LENGTH, mode: 'plain' });
  const p = Object.fromEntries(
    await Promise.all(
      ['alice', 'bob', 'carol', 'dave'].map(async (m) => [m, await f.participant(m)] as const),
    ),
  );
  const enc = await createEncoder({ mode: 'plain' });
  t.after(() => enc.close());
  const receipts: Record<string, string> = {};
  for (const [k, m] of ['alice', 'bob', 'carol'].entries()) {
    const task = await p[m]!.waitForTrainTask();
    assert.equal(task.baseModelDigest, INITIAL_DIGEST, "round 1 starts from the plan's initial model");
    receipts[m] = (await p[m]!.submitValues(task, syntheticUpdate(LENGTH, k, 10), enc, 10)).attestationDigest;
  }
  assert.equal(await f.agg!.engine.close(plan.id, 1, 'deadline'), 'published');

  // A non-contributor reports a bogus digest the moment the round is published: nothing is decided.
  const early = await p.dave!.conn.reportEvaluation({
    round: 1,
    globalModelDigest: BOGUS,
    accuracy: 0.5,
    loss: 1,
    examples: 10,
  });
  assert.deepEqual(
    { agrees: early.digestAgrees, expected: early.expectedDigest, pending: early.pending },
    { agrees: false, expected: '', pending: true },
  );
  assert.equal(await getModelDigest(db, plan.id, 1), undefined, 'a report decides nothing');
  await waitFor('round 2 open', async () => (await getRound(db, plan.id, 2))?.state === 'open');
  // Applied round 0: the task names round 1's agreed model once there is one.
  const waiting = await p.alice!.conn.getTask(0);
  assert.equal(waiting.kind, 'TASK_KIND_TRAIN');
  assert.equal(waiting.baseModelDigest, '', 'round 2 has no base until the contributors agree');
  assert.equal(waiting.nextModelDigest, '');

  // A countersignature without a verdict is refused; nothing is stored or counted.
  const certificates = async () =>
    (await db.query('SELECT signers FROM certificates WHERE plan_id = $1', [plan.id])).rows;
  const aliceKit = f.memberKit('alice');
  const bare = await countersignRoundCertificate(
    JSON.parse((await p.alice!.conn.getRoundCertificate(1)).certificateJson) as GeneralJWS,
    await identityOf(aliceKit),
    'alice',
    receipts.alice!,
    aliceKit.coordinatorJwks,
  );
  await assertRefused(
    db,
    async () => ({ certificates: await certificates(), digest: await getModelDigest(db, plan.id, 1) }),
    () => p.alice!.conn.countersign(1, JSON.stringify(bare)),
    grpc.status.INVALID_ARGUMENT,
    /^the countersignature of alice signs no verdict: put the digest of the global model you computed after round 1 \(kpfl_model_digest\), or why you reject the round \(kpfl_rejected\), in its protected header$/,
  );

  // carol, a contributor, signs the bogus digest: one vote of three is no majority.
  await p.carol!.countersign(1, receipts.carol!, { modelDigest: BOGUS });
  assert.equal(await getModelDigest(db, plan.id, 1), undefined);
  await p.alice!.countersign(1, receipts.alice!, { modelDigest: AGREED });
  assert.equal(await getModelDigest(db, plan.id, 1), undefined, 'one each: still no majority');
  await p.bob!.countersign(1, receipts.bob!, { modelDigest: AGREED });
  assert.equal(await getModelDigest(db, plan.id, 1), AGREED, 'two of three contributors agree');
  assert.equal((await getRound(db, plan.id, 2))?.base_model_digest, AGREED, "the open round's base");
  const next = await p.alice!.conn.getTask(0);
  assert.equal(next.nextModelDigest, AGREED);
  assert.equal(next.baseModelDigest, AGREED);

  const events = (await queryAudit(db, { planId: plan.id, round: 1, limit: 100 })).rows;
  const agreed = events.filter((e) => e.event === 'model.agreed');
  assert.equal(agreed.length, 1);
  assert.deepEqual(agreed[0]!.data, {
    digest: AGREED,
    signers: ['alice', 'bob'],
    contributors: 3,
    majority: 2,
  });
  const disputed = events.filter((e) => e.event === 'model.disputed');
  assert.deepEqual(
    disputed.map((e) => [e.member, e.data.signedDigest, e.data.agreedDigest]),
    [['carol', BOGUS, AGREED]],
    'the disagreeing minority is named',
  );

  // The non-contributor's report is told the agreed digest; it still decides nothing.
  const late = await p.dave!.conn.reportEvaluation({
    round: 1,
    globalModelDigest: BOGUS,
    accuracy: 0.5,
    loss: 1,
    examples: 10,
  });
  assert.deepEqual(
    { agrees: late.digestAgrees, expected: late.expectedDigest, pending: late.pending },
    { agrees: false, expected: AGREED, pending: false },
  );

  // Offline: the agreement replays from the certificates, and an export whose certificate lost a
  // signature no longer backs it.
  const verdict = await verifyAuditDb(db, { federation: f.federation });
  assert.equal(verdict.ok, true, JSON.stringify(verdict.errors));
  assert.equal(verdict.checked.agreements, 1);
  const doc = JSON.parse(JSON.stringify(await exportAudit(db, { federation: f.federation })));
  const cert = doc.certificates[0].certificate as GeneralJWS;
  const bobSig = cert.signatures.findIndex(
    (s) => JSON.parse(Buffer.from(s.protected!, 'base64url').toString()).kpfl_member === 'bob',
  );
  cert.signatures.splice(bobSig, 1);
  const tampered = await verifyAuditExport(doc);
  assert.equal(tampered.ok, false);
  assert.match(
    tampered.firstError?.reason ?? '',
    new RegExp(
      `^row \\d+ records agreement on ${AGREED} for plan ${plan.id} round 1, but its certificate's countersignatures decide nothing yet`,
    ),
  );
});

test('a majority of contributors rejecting a round fails it; the next round starts from the model before', {
  timeout: 120_000,
}, async (t) => {
  const f = await startTestFederation({ members: ['alice', 'bob', 'carol'] });
  t.after(() => f.stop());
  const db = f.agg!.db;
  const plan = await f.schedule({ rounds: 2, minParticipants: 3, parameterCount: LENGTH, mode: 'plain' });
  const p = Object.fromEntries(
    await Promise.all(['alice', 'bob', 'carol'].map(async (m) => [m, await f.participant(m)] as const)),
  );
  const enc = await createEncoder({ mode: 'plain' });
  t.after(() => enc.close());
  const receipts: Record<string, string> = {};
  for (const [k, m] of ['alice', 'bob', 'carol'].entries()) {
    const task = await p[m]!.waitForTrainTask();
    receipts[m] = (await p[m]!.submitValues(task, syntheticUpdate(LENGTH, k, 10), enc, 10)).attestationDigest;
  }
  // The coordinator signs the certificate just after publishing: countersignatures wait for it.
  await waitFor('round 1 certified', async () => (await getCertificate(db, plan.id, 1)) !== undefined);
  const why = "the mean update's L2 norm 1234.57 exceeds the plan's bound 10";
  await p.carol!.countersign(1, receipts.carol!, { modelDigest: AGREED });
  await p.alice!.countersign(1, receipts.alice!, { rejected: why });
  await p.bob!.countersign(1, receipts.bob!, { rejected: why });
  const round = await getRound(db, plan.id, 1);
  assert.equal(round?.state, 'failed');
  assert.equal(round?.failure_reason, `rejected by 2 of 3 contributors: ${why}`);
  assert.equal(await getModelDigest(db, plan.id, 1), INITIAL_DIGEST, 'nothing of it is applied');
  const task = await waitFor('round 2 train task', async () => {
    const t2 = await p.alice!.conn.getTask(1);
    return t2.kind === 'TASK_KIND_TRAIN' && t2.round === 2 && t2.baseModelDigest ? t2 : undefined;
  });
  assert.equal(task.baseModelDigest, INITIAL_DIGEST, 'round 2 starts from the model before round 1');
  assert.ok(task.failedRounds.includes(1));
  const events = (await queryAudit(db, { planId: plan.id, round: 1, limit: 100 })).rows.map((e) => e.event);
  assert.ok(events.includes('round.rejected'));
  assert.deepEqual(
    (await queryAudit(db, { planId: plan.id, round: 1, event: 'model.disputed', limit: 10 })).rows.map(
      (e) => e.member,
    ),
    ['carol'],
  );
  const verdict = await verifyAuditDb(db, { federation: f.federation });
  assert.equal(verdict.ok, true, JSON.stringify(verdict.errors));
});
