/**
 * Secure aggregation (ADR 0010) end to end on real gRPC, Postgres, Redis and BFV ciphertexts, with
 * simulated participants so that each test controls exactly who does which step: dropouts, a
 * coalition of the aggregator with a member, a malicious aggregator, and the bad inputs.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import {
  createEncoder,
  paramsForMode,
  quantizeUpdate,
  type UpdateEncoder,
} from '../packages/he/src/index.js';
import {
  digestOf,
  importIdentity,
  sealShareEnvelope,
  signMaskAdvertisement,
  signUnmaskAnnouncement,
  signUnmaskResponse,
} from '../packages/kpt/src/index.js';
import type { SimulatedParticipant } from '../packages/participant/src/index.js';
import type { Task__Output } from '../packages/proto/src/index.js';
import {
  chiSquareUniform,
  combineShares,
  expandMask,
  fromBase64url,
  generateRoundKeys,
  pairwiseSeed,
  pearson,
  type RoundKeys,
  roundGraph,
  toBase64url,
} from '../packages/secagg/src/index.js';
import {
  getRound,
  listContributions,
  loadAggregate,
  loadContributionChunks,
} from '../packages/store/src/index.js';
import {
  assertRefused,
  auditHead,
  freePort,
  reportInitialModel,
  spawnKpfl,
  startTestFederation,
  type TestFederation,
  waitFor,
} from './harness.js';

const members = (n: number) => Array.from({ length: n }, (_, i) => `m${String(i + 1).padStart(2, '0')}`);

/** A distinct small pre-weighted update per member (values, then the example count). */
function updateOf(k: number, length: number, examples: number): Float64Array {
  const v = new Float64Array(length + 1);
  for (let i = 0; i < length; i++) v[i] = examples * ((((i * 31 + k * 17) % 997) / 997 - 0.5) * 0.02);
  v[length] = examples;
  return v;
}

interface Federation {
  f: TestFederation;
  ps: Map<string, SimulatedParticipant>;
  enc: UpdateEncoder;
  t: number;
}

/** A secure federation of simulated members, each having reported round 0; stopped after test `t`. */
async function secureFederation(
  t: TestContext,
  ids: string[],
  o: { parameterCount: number; deadlineSeconds?: number; phaseSeconds?: number },
): Promise<Federation> {
  const f = await startTestFederation({
    members: ids,
    mode: 'secure',
    minParticipants: 3,
    deadlineSeconds: o.deadlineSeconds ?? 20,
    phaseSeconds: o.phaseSeconds ?? 20,
    parameterCount: o.parameterCount,
  });
  t.after(() => f.stop());
  await f.schedule();
  const ps = new Map<string, SimulatedParticipant>();
  for (const id of ids) {
    const p = await f.participant(id);
    await reportInitialModel(p);
    ps.set(id, p);
  }
  const key = f.memberKit(ids[0]!).heKey!;
  const enc = await createEncoder({ mode: 'secure', key, workers: 1 });
  t.after(() => enc.close());
  return { f, ps, enc, t: paramsForMode('secure', key.paramsName).plainModulus };
}

/** Every listed member takes the key-exchange step `phase` of round 1. */
async function stepAll(x: Federation, ids: string[], phase: 'advertise' | 'share' | 'unmask') {
  await Promise.all(
    ids.map(async (id) => {
      const p = x.ps.get(id)!;
      await p.secure.step(await p.waitForTask('TASK_KIND_SECURE_STEP', { securePhase: phase }));
    }),
  );
}

/** Survivors submit their masked quantized updates; returns each one's quantized update. */
async function submitAll(x: Federation, ids: string[], parties: number, length: number) {
  const quantized = new Map<string, Float64Array>();
  for (const id of ids) {
    const p = x.ps.get(id)!;
    const task = await p.waitForTask('TASK_KIND_TRAIN');
    const q = quantizeUpdate(updateOf(ids.indexOf(id) + 1, length, 100), task.heParams, parties);
    quantized.set(id, q);
    await p.submitMasked(task, q, x.enc, 100);
  }
  return quantized;
}

function sumMod(vectors: Iterable<Float64Array>, t: number): Float64Array {
  let out: Float64Array | undefined;
  for (const v of vectors) {
    out ??= new Float64Array(v.length);
    for (let i = 0; i < v.length; i++) out[i] = (out[i]! + v[i]!) % t;
  }
  return out!;
}

const stateOf = async (x: Federation) => (await getRound(x.f.agg!.db, x.f.plan!.id, 1))!;

test('10 sampled, 3 drop after sharing: the round publishes the exact sum of the 7 survivors', {
  timeout: 240_000,
}, async (t) => {
  const ids = members(10);
  const length = 3000;
  const x = await secureFederation(t, ids, { parameterCount: length, deadlineSeconds: 8 });
  await stepAll(x, ids, 'advertise');
  await stepAll(x, ids, 'share');
  const survivors = ids.slice(0, 7);
  const quantized = await submitAll(x, survivors, ids.length, length);
  // The three others shared and then vanished: the submit phase ends at its deadline.
  await waitFor('unmasking', async () => (await stateOf(x)).state === 'unmasking', 30_000);
  const round = await stateOf(x);
  assert.deepEqual(round.survivors, survivors);
  assert.deepEqual(round.dropouts, ids.slice(7));
  await stepAll(x, survivors, 'unmask');
  await waitFor('published', async () => (await stateOf(x)).state === 'published', 30_000);

  const { chunks } = await x.ps.get('m01')!.conn.downloadAggregate(1);
  const sum = await x.enc.decode(chunks, length + 1);
  assert.deepEqual(Array.from(sum), Array.from(sumMod(quantized.values(), x.t)), 'the exact sum mod t');
  const db = x.f.agg!.db;
  const events = await db.query<{ event: string; n: number }>(
    `SELECT event, count(*)::int AS n FROM audit_log WHERE event LIKE 'secagg.%' OR event LIKE 'round.%' GROUP BY event`,
  );
  const count = Object.fromEntries(events.rows.map((r) => [r.event, r.n]));
  assert.equal(count['secagg.advertised'], 10);
  assert.equal(count['secagg.shared'], 10);
  assert.equal(count['secagg.unmask_responded'], 7);
  for (const e of ['round.sharing', 'round.submitting', 'round.unmasking', 'round.published'])
    assert.equal(count[e], 1, e);
});

test('10 sampled, 7 drop after sharing: the round fails cleanly and nothing is published', {
  timeout: 240_000,
}, async (t) => {
  const ids = members(10);
  const length = 500;
  const x = await secureFederation(t, ids, { parameterCount: length, deadlineSeconds: 6 });
  await stepAll(x, ids, 'advertise');
  await stepAll(x, ids, 'share');
  await submitAll(x, ids.slice(0, 3), ids.length, length);
  await waitFor('failed', async () => (await stateOf(x)).state === 'failed', 30_000);
  const round = await stateOf(x);
  assert.match(round.failure_reason ?? '', /only 3 survivors, below the secure-aggregation threshold of \d+/);
  const db = x.f.agg!.db;
  const n = async (sql: string) => Number((await db.query<{ n: string }>(sql)).rows[0]!.n);
  assert.equal(await n('SELECT count(*) AS n FROM aggregates'), 0, 'no aggregate');
  assert.equal(await n('SELECT count(*) AS n FROM certificates'), 0, 'no certificate');
  assert.equal(round.unmask_announcement, null, 'no announcement: nobody is asked for a share');
});

test('the aggregator with one member cannot unmask a victim; with every member it can (control)', {
  timeout: 300_000,
}, async (t) => {
  const ids = members(5);
  const length = 100_000;
  const x = await secureFederation(t, ids, { parameterCount: length });
  const [victim, colluder] = ['m01', 'm02'];
  const keys = new Map<string, RoundKeys>();
  for (const [id, p] of x.ps) p.secure.onRoundKeys = (_plan, _round, k) => void keys.set(id, k);
  await stepAll(x, ids, 'advertise');
  await stepAll(x, ids, 'share');
  const db = x.f.agg!.db;
  const plan = x.f.plan!;
  // What the aggregator holds of the victim: its ciphertext, stored until publication.
  const quantized = await submitAll(x, [victim], ids.length, length);
  const victimRow = (await listContributions(db, plan.id, 1)).find((c) => c.member === victim)!;
  const victimChunks = await loadContributionChunks(db, victimRow.id);
  await submitAll(
    x,
    ids.filter((m) => m !== victim),
    ids.length,
    length,
  );
  await stepAll(x, ids, 'unmask');
  await waitFor('published', async () => (await stateOf(x)).state === 'published', 60_000);

  // The coalition decrypts the victim's update with the colluder's HE key...
  const masked = await x.enc.decode(victimChunks, length + 1);
  const ads = await db.query<{ member: string; mask_public_key: string }>(
    'SELECT member, mask_public_key FROM mask_advertisements WHERE round = 1',
  );
  const pub = new Map(ads.rows.map((r) => [r.member, fromBase64url(r.mask_public_key)]));
  const graph = roundGraph({ federation: x.f.federation, planId: plan.id, round: 1, members: ids });
  // ...rebuilds the victim's self-mask seed from the unmask responses the aggregator stored...
  const responses = await db.query<{ response: string }>('SELECT response FROM unmask_responses');
  const seedShares = responses.rows.flatMap((r) => {
    const claims = JSON.parse(Buffer.from(r.response.split('.')[1]!, 'base64url').toString()) as {
      selfSeedShares: { of: string; share: string }[];
    };
    return claims.selfSeedShares.filter((s) => s.of === victim).map((s) => fromBase64url(s.share));
  });
  const selfSeed = await combineShares(seedShares);
  const ctx = (peer: string) => ({
    federation: x.f.federation,
    planId: plan.id,
    round: 1,
    a: victim,
    b: peer,
  });
  const remove = (v: Float64Array, seed: Uint8Array, sign: number) => {
    const m = expandMask(seed, v.length, x.t);
    for (let i = 0; i < v.length; i++) v[i] = (v[i]! - sign * m[i]! + 2 * x.t) % x.t;
  };
  const sign = (peer: string) => (victim < peer ? 1 : -1);
  const coalition = Float64Array.from(masked);
  remove(coalition, selfSeed, 1);
  // ...and the pairwise mask it shares with the colluder.
  remove(
    coalition,
    pairwiseSeed(keys.get(colluder)!.mask.privateKey, pub.get(victim)!, ctx(colluder)),
    sign(colluder),
  );
  const truth = quantized.get(victim)!;
  const chi = chiSquareUniform(coalition, x.t, 64);
  const r = pearson(coalition, truth);
  t.diagnostic(
    `coalition residue: chi-square ${chi.statistic.toFixed(1)} (p ${chi.pValue.toFixed(3)}), |r| ${Math.abs(r).toFixed(4)}`,
  );
  assert.ok(chi.pValue > 0.001, `what the coalition keeps looks uniform mod t (p ${chi.pValue})`);
  assert.ok(Math.abs(r) < 0.01, `and is uncorrelated with the victim's update (r ${r})`);

  // Positive control: with every other member's mask key, all the victim's masks come off.
  const everyone = Float64Array.from(coalition);
  for (const peer of graph.neighbours.get(victim)!) {
    if (peer === colluder) continue;
    remove(everyone, pairwiseSeed(keys.get(peer)!.mask.privateKey, pub.get(victim)!, ctx(peer)), sign(peer));
  }
  assert.deepEqual(Array.from(everyone), Array.from(truth), 'the victim update, exactly');
});

test('a malicious aggregator: a second announcement asking for both shares, a forged one', {
  timeout: 240_000,
}, async (t) => {
  const ids = members(4);
  const length = 500;
  const x = await secureFederation(t, ids, { parameterCount: length, deadlineSeconds: 8 });
  await stepAll(x, ids, 'advertise');
  await stepAll(x, ids, 'share');
  await submitAll(x, ids, ids.length, length);
  await waitFor('unmasking', async () => (await stateOf(x)).state === 'unmasking', 30_000);
  const db = x.f.agg!.db;
  const honest = x.ps.get('m02')!;
  const task = await honest.waitForTask('TASK_KIND_SECURE_STEP', { securePhase: 'unmask' });
  await honest.secure.step(task);
  const responses = async () =>
    (await db.query('SELECT member, digest FROM unmask_responses ORDER BY member')).rows;
  const before = await responses();
  assert.deepEqual(
    before.map((r) => r.member),
    ['m02'],
  );

  // The coordinator now signs m01 as a dropout: m02 answered m01 as a survivor, so it refuses.
  const setAnnouncement = (jws: string) =>
    db.query('UPDATE rounds SET unmask_announcement = $1 WHERE plan_id = $2 AND round = 1', [
      jws,
      x.f.plan!.id,
    ]);
  const twoFaced = await signUnmaskAnnouncement(await coordinatorKey(x.f), {
    federation: x.f.federation,
    planId: x.f.plan!.id,
    round: 1,
    survivors: ['m02', 'm03', 'm04'],
    dropouts: ['m01'],
  });
  await setAnnouncement(twoFaced);
  let head = await auditHead(db);
  await honest.secure.step(task);
  await waitForAudit(db, head, 'secagg.refused', /UNMASK_REFUSED/);
  assert.deepEqual(await responses(), before, "m02 revealed nothing of m01's mask key");

  // A forged announcement (not the coordinator's signature) is refused by every survivor.
  const [h, p] = twoFaced.split('.');
  await setAnnouncement(`${h}.${p}.${'A'.repeat(86)}`);
  const other = x.ps.get('m03')!;
  head = await auditHead(db);
  await other.secure.step(await other.waitForTask('TASK_KIND_SECURE_STEP', { securePhase: 'unmask' }));
  await waitForAudit(db, head, 'secagg.refused', /.+/);
  assert.deepEqual(await responses(), before, 'no response to a forged announcement');
});

test('bad key-exchange inputs are refused, audited, and store nothing', { timeout: 240_000 }, async (t) => {
  const ids = members(5);
  const length = 500;
  const x = await secureFederation(t, ids, { parameterCount: length, deadlineSeconds: 30, phaseSeconds: 8 });
  const db = x.f.agg!.db;
  const plan = x.f.plan!;
  const rows = (sql: string) => async () => (await db.query(sql)).rows;
  const identityOf = (m: string) => importIdentity(x.f.memberKit(m).identity.privateJwk);
  const m01 = x.ps.get('m01')!;
  const keys = generateRoundKeys();
  const claims = (round: number) => ({
    iss: 'm01',
    federation: x.f.federation,
    planId: plan.id,
    round,
    maskPublicKey: toBase64url(keys.mask.publicKey),
    sharePublicKey: toBase64url(keys.share.publicKey),
  });
  await m01.waitForTask('TASK_KIND_SECURE_STEP', { securePhase: 'advertise' });
  const ads = rows('SELECT member, digest FROM mask_advertisements ORDER BY member');
  // A bad signature: m02's key signs an advertisement for m01.
  await assertRefused(
    db,
    ads,
    async () =>
      m01.conn.advertiseMaskKeys(1, await signMaskAdvertisement(await identityOf('m02'), claims(1))),
    grpc.status.UNAUTHENTICATED,
    /not the key of participant m01/,
  );
  // For another round.
  await assertRefused(
    db,
    ads,
    async () =>
      m01.conn.advertiseMaskKeys(1, await signMaskAdvertisement(await identityOf('m01'), claims(2))),
    grpc.status.FAILED_PRECONDITION,
    /is for round 2, this round is .*\/1/,
  );
  // A second advertisement: the first stays.
  await stepAll(x, ['m01'], 'advertise');
  await assertRefused(
    db,
    ads,
    async () =>
      m01.conn.advertiseMaskKeys(1, await signMaskAdvertisement(await identityOf('m01'), claims(1))),
    grpc.status.ALREADY_EXISTS,
    /advertised its keys for round 1 already/,
  );
  // m05 never advertises: the phase ends at its deadline with the other four.
  await stepAll(x, ['m02', 'm03', 'm04'], 'advertise');
  await waitFor('sharing', async () => (await stateOf(x)).state === 'sharing', 30_000);

  const shareKey = new Map(
    (
      await db.query<{ member: string; share_public_key: string }>(
        'SELECT member, share_public_key FROM mask_advertisements',
      )
    ).rows.map((r) => [r.member, r.share_public_key]),
  );
  const m02 = x.ps.get('m02')!;
  const envelope = async (recipient: string, encryptedTo = shareKey.get(recipient)) =>
    sealShareEnvelope(
      await identityOf('m02'),
      {
        sender: 'm02',
        recipient,
        federation: x.f.federation,
        planId: plan.id,
        round: 1,
        maskKeyShare: toBase64url(new Uint8Array(34)),
        selfSeedShare: toBase64url(new Uint8Array(34)),
      },
      encryptedTo ?? toBase64url(generateRoundKeys().share.publicKey),
    );
  const envelopes = rows('SELECT sender, recipient FROM share_envelopes ORDER BY sender, recipient');
  // Shares for a member that is not a neighbour (m05 advertised nothing).
  await assertRefused(
    db,
    envelopes,
    async () =>
      m02.conn.putShareEnvelopes(
        1,
        await Promise.all(
          ['m01', 'm03', 'm04', 'm05'].map(async (r) => ({ recipient: r, jwe: await envelope(r) })),
        ),
      ),
    grpc.status.PERMISSION_DENIED,
    /m05, who are not m02's neighbours/,
  );
  // An envelope filed under another recipient than its header names.
  await assertRefused(
    db,
    envelopes,
    async () => m02.conn.putShareEnvelopes(1, [{ recipient: 'm01', jwe: await envelope('m03') }]),
    grpc.status.INVALID_ARGUMENT,
    /says it is from m02 to m03/,
  );
  // A share encrypted to the wrong member: addressed to m01, sealed to m03's share key.
  await assertRefused(
    db,
    envelopes,
    async () =>
      m02.conn.putShareEnvelopes(1, [{ recipient: 'm01', jwe: await envelope('m01', shareKey.get('m03')) }]),
    grpc.status.INVALID_ARGUMENT,
    /not to the key m01 advertised/,
  );
  const four = ['m01', 'm02', 'm03', 'm04'];
  await stepAll(x, four, 'share');

  // A masked submission whose attestation names other bytes.
  const contributions = rows('SELECT member FROM contributions ORDER BY member');
  const task = await m01.waitForTask('TASK_KIND_TRAIN');
  const masks = await m01.secure.masksFor(task);
  const chunks = await x.enc.encode(quantizeUpdate(updateOf(1, length, 100), task.heParams, 5));
  await assertRefused(
    db,
    contributions,
    () =>
      m01.submitChunks(task, chunks, 100, {
        advertisementDigest: masks.advertisementDigest,
        updateDigest: digestOf('other bytes'),
      }),
    grpc.status.INVALID_ARGUMENT,
    /the received bytes hash to sha256:[0-9a-f]{64}, the attestation names/,
  );
  await submitAll(x, four, 5, length);
  await waitFor('unmasking', async () => (await stateOf(x)).state === 'unmasking', 30_000);

  // An unmask response for the wrong sets: a mask-key share of m02, who survived.
  const announcement = (await stateOf(x)).unmask_announcement!;
  const responses = rows('SELECT member FROM unmask_responses');
  await assertRefused(
    db,
    responses,
    async () =>
      m01.conn.putUnmaskResponse(
        1,
        await signUnmaskResponse(await identityOf('m01'), {
          iss: 'm01',
          federation: x.f.federation,
          planId: plan.id,
          round: 1,
          announcementDigest: digestOf(announcement),
          selfSeedShares: [],
          maskKeyShares: [{ of: 'm02', share: toBase64url(new Uint8Array(34)) }],
        }),
      ),
    grpc.status.FAILED_PRECONDITION,
    /mask key share of m02, who is not a dropout/,
  );
  // The honest round still publishes.
  await stepAll(x, four, 'unmask');
  await waitFor('published', async () => (await stateOf(x)).state === 'published', 30_000);
});

test('SIGKILL of the aggregator while sharing and while unmasking: the round still publishes the exact sum', {
  timeout: 240_000,
}, async (t) => {
  const ids = members(3);
  const length = 2000;
  const f = await startTestFederation({ startAggregator: false, members: ids, mode: 'secure' });
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
  const restart = async () => {
    agg.child.kill('SIGKILL');
    await new Promise((r) => agg.child.once('exit', r));
    agg = spawnKpfl(args);
    await agg.firstLine;
  };
  const { db } = await f.handles();
  const plan = await f.schedule({
    rounds: 1,
    minParticipants: 3,
    deadlineSeconds: 60,
    phaseSeconds: 60,
    parameterCount: length,
  });
  const ps = new Map<string, SimulatedParticipant>();
  for (const id of ids) {
    const p = await f.participant(id, `localhost:${port}`);
    await reportInitialModel(p);
    ps.set(id, p);
  }
  const key = f.memberKit(ids[0]!).heKey!;
  const enc = await createEncoder({ mode: 'secure', key, workers: 1 });
  t.after(() => enc.close());
  const x: Federation = { f, ps, enc, t: paramsForMode('secure', key.paramsName).plainModulus };
  await stepAll(x, ids, 'advertise');
  await stepAll(x, ids.slice(0, 2), 'share');
  await restart(); // two of three shared
  await stepAll(x, ids.slice(2), 'share');
  const quantized = await submitAll(x, ids, ids.length, length);
  await waitFor('unmasking', async () => (await getRound(db, plan.id, 1))?.state === 'unmasking', 60_000);
  await stepAll(x, ids.slice(0, 1), 'unmask');
  await restart(); // one of three responded
  await stepAll(x, ids.slice(1), 'unmask');
  await waitFor('published', async () => (await getRound(db, plan.id, 1))?.state === 'published', 60_000);
  const sum = await enc.decode(await loadAggregate(db, plan.id, 1), length + 1);
  assert.deepEqual(Array.from(sum), Array.from(sumMod(quantized.values(), x.t)), 'the exact sum, once each');
  const shared = await db.query('SELECT count(*)::int AS n FROM audit_log WHERE event = $1', [
    'secagg.shared',
  ]);
  assert.equal(shared.rows[0].n, 3, 'each share stored and audited once');
});

function coordinatorKey(f: TestFederation) {
  return importIdentity(f.coordinator.signingKey.privateJwk);
}

async function waitForAudit(
  db: TestFederation['agg'] extends infer A ? (A extends { db: infer D } ? D : never) : never,
  after: number,
  event: string,
  data: RegExp,
) {
  return waitFor(
    `an audit entry ${event}`,
    async () => {
      const { rows } = await db.query<{ data: unknown }>(
        'SELECT data FROM audit_log WHERE seq > $1 AND event = $2',
        [after, event],
      );
      return rows.find((r) => data.test(JSON.stringify(r.data)));
    },
    10_000,
  );
}

export type { Task__Output };
