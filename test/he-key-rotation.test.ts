/**
 * Issue 13: the consortium HE key is made by members, delivered among them as JWEs the aggregator
 * relays blind, and rotated when a member is revoked. Real Postgres, Redis, gRPC over mutual TLS and
 * node-seal.
 */
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import {
  type ConsortiumKey,
  consortiumKeyId,
  createEncoder,
  HeInputError,
  type UpdateEncoder,
} from '../packages/he/src/index.js';
import { sealKeyEnvelope } from '../packages/kpt/src/index.js';
import { HeKeyStore, MemberKeys, type SimulatedParticipant } from '../packages/participant/src/index.js';
import type { Task__Output } from '../packages/proto/src/index.js';
import {
  DEFAULT_DATABASE_URL,
  getRound,
  openDb,
  type PlanRow,
  revokeMemberAudited,
} from '../packages/store/src/index.js';
import {
  agreeRound,
  assertRefused,
  INITIAL_DIGEST,
  reportInitialModel,
  startTestFederation,
  syntheticUpdate,
  TEST_OPERATOR,
  type TestFederation,
  waitFor,
} from './harness.js';

const MEMBERS = ['alice', 'bob', 'carol', 'dave'];
const REMAINING = ['alice', 'bob', 'dave'];
const LENGTH = 2_000;

describe('issue 13: members make, deliver and rotate the HE key', () => {
  let f: TestFederation;
  let plan: PlanRow;
  const p: Record<string, SimulatedParticipant> = {};
  const keys: Record<string, MemberKeys> = {};
  const closers: UpdateEncoder[] = [];
  const encoderOf = async (key: ConsortiumKey) => {
    const e = await createEncoder({ mode: 'he', key, workers: 0 });
    closers.push(e);
    return e;
  };
  const kitDir = (m: string) => join(f.work, 'members', m);
  const count = async (sql: string, args: unknown[] = []) =>
    Number((await f.agg!.db.query<{ n: string }>(sql, args)).rows[0]!.n);

  before(async () => {
    f = await startTestFederation({ members: MEMBERS, minParticipants: 2, parameterCount: LENGTH });
    plan = await f.schedule({ rounds: 3, deadlineSeconds: 300 });
    for (const m of MEMBERS) {
      p[m] = await f.participant(m);
      const kit = f.memberKit(m);
      keys[m] = new MemberKeys({
        federation: f.federation,
        memberId: m,
        identity: kit.identity,
        encryption: kit.encryption,
        conn: p[m]!.conn,
        store: new HeKeyStore(kitDir(m)),
        trustedJwks: kit.federationJwks,
      });
    }
    await reportInitialModel(p.alice!);
  });

  after(async () => {
    for (const e of closers) await e.close();
    await f?.stop();
  });

  /** Every sampled member submits its synthetic update for `round` under `key`; returns the receipts. */
  async function runRound(round: number, members: string[], keyOf: (m: string) => Promise<UpdateEncoder>) {
    const receipts: { p: SimulatedParticipant; attestationDigest: string }[] = [];
    for (const [k, m] of members.entries()) {
      const task = await p[m]!.waitForTrainTask();
      assert.equal(task.round, round, `${m} trains round ${round}`);
      const enc = await keyOf(m);
      const r = await p[m]!.submitChunks(task, await enc.encode(syntheticUpdate(LENGTH, k, 10)), 10);
      receipts.push({ p: p[m]!, attestationDigest: r.attestationDigest });
    }
    await waitFor(
      `round ${round} published`,
      async () => (await getRound(f.agg!.db, plan.id, round))?.state === 'published',
    );
    await certified(round);
    await agreeRound(round, receipts, INITIAL_DIGEST);
    return receipts;
  }

  const certified = (round: number) =>
    waitFor(`round ${round}'s certificate`, async () =>
      count('SELECT count(*) AS n FROM certificates WHERE plan_id = $1 AND round = $2', [plan.id, round]),
    );

  function expectedSum(members: string[]): Float64Array {
    const sum = new Float64Array(LENGTH + 1);
    for (const k of members.keys()) {
      const u = syntheticUpdate(LENGTH, k, 10);
      for (let i = 0; i <= LENGTH; i++) sum[i]! += u[i]!;
    }
    return sum;
  }

  it('provision registers epoch 1 from its keyId, and a round of 4 runs under it', async () => {
    const e1 = await keys.alice!.status();
    assert.equal(e1.epoch, 1);
    assert.equal(e1.state, 'ready');
    assert.equal(e1.createdBy, 'provision');
    assert.equal(e1.keyId, consortiumKeyId(f.memberKit('alice').heKey!), "the keyId of the kits' key");
    assert.equal(f.coordinator.heEpoch?.keyId, e1.keyId, 'the coordinator kit records the keyId');
    const secret = Buffer.from(f.memberKit('alice').heKey!.secretKey.slice(0, 48)).toString('base64');
    assert.equal(
      JSON.stringify(f.coordinator).includes(secret),
      false,
      'the coordinator kit holds no HE key',
    );
    const enc1 = await encoderOf(await keys.alice!.keyFor(1));
    await runRound(1, MEMBERS, async () => enc1);
    assert.equal((await getRound(f.agg!.db, plan.id, 1))!.key_epoch, 1);
    const agg = await p.alice!.conn.downloadAggregate(1);
    assert.equal(agg.keyEpoch, 1, 'the aggregate names its epoch');
  });

  it('revoking carol starts epoch 2 in the same transaction and fails the round in flight', async () => {
    const task = await p.carol!.waitForTrainTask();
    assert.equal(task.round, 2);
    assert.equal(task.keyEpoch, 1, 'round 2 opened under epoch 1');
    assert.equal(
      await revokeMemberAudited(f.agg!.db, { federation: f.federation, id: 'carol', actor: TEST_OPERATOR }),
      'revoked',
    );
    const r2 = (await getRound(f.agg!.db, plan.id, 2))!;
    assert.equal(r2.state, 'failed');
    assert.match(r2.failure_reason!, /key epoch 2 started \(revocation: revoked carol\)/);
    const epochs = (
      await f.agg!.db.query(
        'SELECT epoch, state, reason FROM key_epochs WHERE federation = $1 ORDER BY epoch',
        [f.federation],
      )
    ).rows;
    assert.deepEqual(epochs, [
      { epoch: 1, state: 'retired', reason: 'initial' },
      { epoch: 2, state: 'pending', reason: 'revocation' },
    ]);
    // One transaction: its events are the last three of the chain, consecutive.
    const events = (
      await f.agg!.db.query<{ event: string; round: number | null }>(
        'SELECT event, round FROM audit_log ORDER BY seq DESC LIMIT 3',
      )
    ).rows.reverse();
    assert.deepEqual(events, [
      { event: 'round.failed', round: 2 },
      { event: 'key.epoch_started', round: null },
      { event: 'member.revoked', round: null },
    ]);
  });

  let createMs = 0;
  it('the remaining members make the new key: one wins the race, the others fetch it', async (t) => {
    // Until a member makes epoch 2's key, the next HE round does not open (its job fails and retries).
    await assert.rejects(
      f.agg!.engine.open(plan.id, 3),
      /round 3 of plan .* cannot open yet: HE key epoch 2 is pending: no member has made its key yet/,
    );
    assert.equal(await getRound(f.agg!.db, plan.id, 3), undefined);
    const started = performance.now();
    const results = await Promise.all(REMAINING.map((m) => keys[m]!.createIfPending()));
    createMs = performance.now() - started;
    assert.equal(results.filter((r) => r.made).length, 1, 'exactly one key was made');
    const e2 = await keys.alice!.status();
    assert.equal(e2.epoch, 2);
    assert.equal(e2.state, 'ready');
    for (const m of REMAINING) {
      const k = await keys[m]!.keyFor(2);
      assert.equal(consortiumKeyId(k), e2.keyId, `${m} holds epoch 2's key`);
      const file = join(kitDir(m), 'he-keys', 'epoch-2.json');
      assert.equal(statSync(file).mode & 0o777, 0o600, `${m}'s key file is 0600`);
    }
    assert.equal(existsSync(join(kitDir('carol'), 'he-keys', 'epoch-2.json')), false);
    assert.equal(
      await count(
        'SELECT count(*) AS n FROM key_envelopes WHERE federation = $1 AND epoch = 2 AND recipient = $2',
        [f.federation, 'carol'],
      ),
      0,
      'no envelope for carol',
    );
    assert.equal(
      await count('SELECT count(*) AS n FROM key_envelopes WHERE federation = $1 AND epoch = 2', [
        f.federation,
      ]),
      2,
    );
    assert.equal(
      await count(`SELECT count(*) AS n FROM audit_log WHERE event = 'key.created' AND data->>'epoch' = '2'`),
      1,
    );
    assert.equal(
      await count(
        `SELECT count(*) AS n FROM audit_log WHERE event = 'key.delivered' AND data->>'epoch' = '2'`,
      ),
      2,
    );
    t.diagnostic(
      `create + deliver epoch 2 to ${REMAINING.length - 1} members (3 racing, 1 wins): ${createMs.toFixed(0)} ms`,
    );
  });

  it('bad envelopes are refused with a clear message, audited, nothing stored', async (t) => {
    const db = f.agg!.db;
    const e2 = await keys.bob!.status();
    const bobKit = f.memberKit('bob');
    const key2 = JSON.stringify({}); // never opened by the aggregator: any content shows the header checks
    const envelopes = () =>
      count('SELECT count(*) AS n FROM key_envelopes WHERE federation = $1', [f.federation]);
    const alicePub = f.memberKit('alice').encryption!.publicJwk;
    const sealed = (to: string, jwk: typeof alicePub, epoch: number) =>
      sealKeyEnvelope(
        { memberId: 'bob', identity: bobKit.identity },
        { memberId: to, encryptionJwk: jwk },
        { federation: f.federation, epoch, keyId: e2.keyId, key: key2 },
      );
    // Addressed to another member: the envelope "for dave" is encrypted to alice's key.
    const wrong = await assertRefused(
      db,
      envelopes,
      async () =>
        p.bob!.conn.putKeyEnvelopes({
          epoch: 2,
          keyId: e2.keyId,
          create: false,
          envelopes: [{ recipient: 'dave', jwe: await sealed('alice', alicePub, 2) }],
        }),
      grpc.status.INVALID_ARGUMENT,
      /addressed to alice .*not to dave's enrolled encryption key/,
    );
    // Of an old epoch, in a request for the current one, and for the retired epoch itself.
    const daveJwk = f.memberKit('dave').encryption!.publicJwk;
    const old = await assertRefused(
      db,
      envelopes,
      async () =>
        p.bob!.conn.putKeyEnvelopes({
          epoch: 2,
          keyId: e2.keyId,
          create: false,
          envelopes: [{ recipient: 'dave', jwe: await sealed('dave', daveJwk, 1) }],
        }),
      grpc.status.INVALID_ARGUMENT,
      /is of key epoch 1, the request delivers epoch 2/,
    );
    const retired = await assertRefused(
      db,
      envelopes,
      async () =>
        p.bob!.conn.putKeyEnvelopes({
          epoch: 1,
          keyId: e2.keyId,
          create: false,
          envelopes: [{ recipient: 'dave', jwe: await sealed('dave', daveJwk, 1) }],
        }),
      grpc.status.FAILED_PRECONDITION,
      /key epoch 1 is retired/,
    );
    // A second creation of a ready epoch: the database settled it, first wins.
    const twice = await assertRefused(
      db,
      envelopes,
      async () =>
        p.bob!.conn.putKeyEnvelopes({ epoch: 2, keyId: 'c'.repeat(32), create: true, envelopes: [] }),
      grpc.status.ALREADY_EXISTS,
      /key epoch 2 already has a key/,
    );
    // Tampered by the relay: the owner rewrites dave's stored envelope; dave refuses and reports it.
    const owner = await openDb({ schema: f.schema, databaseUrl: DEFAULT_DATABASE_URL });
    try {
      const row = (
        await owner.query<{ jwe: string }>(
          'SELECT jwe FROM key_envelopes WHERE federation = $1 AND epoch = 2 AND recipient = $2',
          [f.federation, 'dave'],
        )
      ).rows[0];
      const daveStore = new HeKeyStore(kitDir('dave'));
      const fresh = new MemberKeys({ ...keys.dave!.o, store: new HeKeyStore(join(f.work, 'dave-fresh')) });
      if (row) {
        const parts = row.jwe.split('.');
        parts[3] = (parts[3]![0] === 'A' ? 'B' : 'A') + parts[3]!.slice(1);
        await owner.query(
          'UPDATE key_envelopes SET jwe = $3 WHERE federation = $1 AND epoch = 2 AND recipient = $2',
          [f.federation, 'dave', parts.join('.')],
        );
        await assert.rejects(
          fresh.keyFor(2),
          (e: Error & { code?: string }) => e.code === 'ENVELOPE_INVALID' && /tampered with/.test(e.message),
        );
        const refused = await waitFor(
          'key.refused audited',
          async () =>
            (await db.query(`SELECT data FROM audit_log WHERE event = 'key.refused' AND member = 'dave'`))
              .rows[0],
        );
        assert.equal(refused.data.code, 'ENVELOPE_INVALID');
        t.diagnostic(`tampered envelope: ${refused.data.code}: ${refused.data.reason}`);
        await owner.query(
          'UPDATE key_envelopes SET jwe = $3 WHERE federation = $1 AND epoch = 2 AND recipient = $2',
          [f.federation, 'dave', row.jwe],
        );
      } else {
        assert.ok(daveStore.get(2), 'dave made the key itself');
      }
    } finally {
      await owner.close();
    }
    t.diagnostic(`addressed to another member: INVALID_ARGUMENT: ${wrong.message}`);
    t.diagnostic(`old epoch: INVALID_ARGUMENT: ${old.message}; FAILED_PRECONDITION: ${retired.message}`);
    t.diagnostic(`second creation: ALREADY_EXISTS: ${twice.message}`);
  });

  it('an epoch of an unknown parameter set is refused, audited, and none is started', async (t) => {
    const epochs = () => count('SELECT count(*) AS n FROM key_epochs WHERE federation = $1', [f.federation]);
    const r = await assertRefused(
      f.agg!.db,
      epochs,
      () => p.alice!.conn.startKeyEpoch(true, 'made-up'),
      grpc.status.INVALID_ARGUMENT,
      /^HE parameter set "made-up" is not one of /,
    );
    t.diagnostic(`StartKeyEpoch with heParams "made-up": INVALID_ARGUMENT: ${r.message}`);
  });

  it('the revoked member cannot fetch the new envelope: refused and audited', async (t) => {
    // carol's session token was issued before her revocation: it is refused all the same.
    const r = await assertRefused(
      f.agg!.db,
      async () => count('SELECT count(*) AS n FROM key_envelopes WHERE recipient = $1', ['carol']),
      () => p.carol!.conn.getKeyEnvelope(2),
      grpc.status.PERMISSION_DENIED,
      /"carol" is revoked/,
    );
    const row = (
      await f.agg!.db.query(
        `SELECT data FROM audit_log WHERE event = 'rpc.refused' AND member = 'carol' AND data->>'rpc' = 'GetKeyEnvelope'`,
      )
    ).rows[0];
    assert.equal(row.data.code, 'PERMISSION_DENIED');
    t.diagnostic(`fetch after revocation (old session): PERMISSION_DENIED: ${r.message}`);
    // A new session is refused at its challenge.
    const fresh = await assertRefused(
      f.agg!.db,
      async () => 0,
      () => p.carol!.conn.authenticate(),
      grpc.status.PERMISSION_DENIED,
      /member carol is revoked/,
    );
    t.diagnostic(`new session after revocation: PERMISSION_DENIED: ${fresh.message}`);
  });

  it('round 3 runs under epoch 2: an update under the old epoch is refused, the token is not spent', async (t) => {
    const db = f.agg!.db;
    await waitFor(
      'round 3 open under epoch 2',
      async () => (await getRound(db, plan.id, 3))?.key_epoch === 2,
      60_000,
    );
    const enc1 = await encoderOf(f.memberKit('alice').heKey!);
    const task: Task__Output = await p.alice!.waitForTrainTask();
    assert.equal(task.keyEpoch, 2, "the task names the round's epoch");
    await p.alice!.conn.authenticate();
    const contributions = () =>
      count('SELECT count(*) AS n FROM contributions WHERE plan_id = $1', [plan.id]);
    const r = await assertRefused(
      db,
      contributions,
      async () =>
        p.alice!.submitChunks(
          task,
          await enc1.encode(syntheticUpdate(LENGTH, 0, 10)),
          10,
          { keyEpoch: 1 },
          { reauthenticate: false },
        ),
      grpc.status.INVALID_ARGUMENT,
      /encrypted under key epoch 1, round 3 runs under key epoch 2/,
    );
    t.diagnostic(`submission under an old epoch: INVALID_ARGUMENT: ${r.message}`);
    // The same session token still submits (it was not spent by the refusal).
    const encs: Record<string, UpdateEncoder> = {};
    for (const m of REMAINING) encs[m] = await encoderOf(await keys[m]!.keyFor(2));
    const receipt = await p.alice!.submitChunks(
      task,
      await encs.alice!.encode(syntheticUpdate(LENGTH, 0, 10)),
      10,
      {},
      { reauthenticate: false },
    );
    assert.equal(receipt.accepted, true);
    const rest: { p: SimulatedParticipant; attestationDigest: string }[] = [
      { p: p.alice!, attestationDigest: receipt.attestationDigest },
    ];
    for (const [k, m] of REMAINING.slice(1).entries()) {
      const t = await p[m]!.waitForTrainTask();
      const rr = await p[m]!.submitChunks(t, await encs[m]!.encode(syntheticUpdate(LENGTH, k + 1, 10)), 10);
      rest.push({ p: p[m]!, attestationDigest: rr.attestationDigest });
    }
    await waitFor('round 3 published', async () => (await getRound(db, plan.id, 3))?.state === 'published');
    const agg = await p.bob!.conn.downloadAggregate(3);
    assert.equal(agg.keyEpoch, 2);
    const want = expectedSum(REMAINING);
    for (const m of REMAINING) {
      const sum = await encs[m]!.decode(agg.chunks, LENGTH + 1);
      let maxErr = 0;
      for (let i = 0; i <= LENGTH; i++) maxErr = Math.max(maxErr, Math.abs(sum[i]! - want[i]!));
      assert.ok(maxErr < 1e-6, `${m} decrypts round 3 (max error ${maxErr})`);
    }
    // carol's kit holds only epoch 1's key: it decrypts nothing of round 3.
    let carolErr: string;
    try {
      const sum = await enc1.decode(agg.chunks, LENGTH + 1);
      let maxErr = 0;
      for (let i = 0; i <= LENGTH; i++) maxErr = Math.max(maxErr, Math.abs(sum[i]! - want[i]!));
      assert.ok(maxErr > 1, `the old key gives garbage (max error ${maxErr.toExponential(2)})`);
      carolErr = `out of range: max error ${maxErr.toExponential(2)}, count slot ${sum[LENGTH]}`;
    } catch (err) {
      assert.ok(err instanceof HeInputError, `an HeInputError, got ${(err as Error).message}`);
      carolErr = `${err.code}: ${err.message}`;
    }
    t.diagnostic(`carol's epoch-1 key on round 3: ${carolErr}`);
    assert.deepEqual(new HeKeyStore(kitDir('carol')).epochs(), [1], 'carol holds epoch 1 only');
    await certified(3);
    await agreeRound(3, rest, INITIAL_DIGEST);
  });

  it('a member holding the key delivers it to a member that has none', async () => {
    const owner = await openDb({ schema: f.schema, databaseUrl: DEFAULT_DATABASE_URL });
    try {
      // dave "joined later": he has no envelope of epoch 2 (and holds no key of it).
      const made = (
        await owner.query<{ created_by: string }>(
          'SELECT created_by FROM key_epochs WHERE federation = $1 AND epoch = 2',
          [f.federation],
        )
      ).rows[0]!.created_by;
      const late = REMAINING.find((m) => m !== made)!;
      const holder = REMAINING.find((m) => m !== made && m !== late) ?? made;
      await owner.query('DELETE FROM key_envelopes WHERE federation = $1 AND epoch = 2 AND recipient = $2', [
        f.federation,
        late,
      ]);
      const lateKeys = new MemberKeys({
        ...keys[late]!.o,
        store: new HeKeyStore(join(f.work, `${late}-late`)),
      });
      await assert.rejects(lateKeys.keyFor(2), /no envelope of key epoch 2/);
      assert.deepEqual(await keys[holder]!.deliverToMissing(), [late]);
      assert.equal(consortiumKeyId(await lateKeys.keyFor(2)), (await lateKeys.status()).keyId);
    } finally {
      await owner.close();
    }
  });
});
