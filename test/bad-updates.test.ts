/**
 * Issue 4, bad input: every malformed update is refused with INVALID_ARGUMENT and a clear message,
 * nothing is stored or folded, the round stays open, and it then publishes with exactly the honest
 * participants: the decrypted aggregate equals the sum of the honest updates computed here.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { redisConnection } from '../packages/aggregator/src/index.js';
import { identityOf } from '../packages/cli/src/kits.js';
import {
  createEncoder,
  generateConsortiumKey,
  HE_PARAM_SETS,
  type UpdateEncoder,
} from '../packages/he/src/index.js';
import { digestOf, signAttestation, unverifiedSessionClaims } from '../packages/kpt/src/index.js';
import { concat, type SimulatedParticipant } from '../packages/participant/src/index.js';
import {
  loadKpflProto,
  type Receipt__Output,
  type SubmitUpdateMessage,
  type Task__Output,
} from '../packages/proto/src/index.js';
import { getRound, type PlanRow } from '../packages/store/src/index.js';
import { assertRefused, startTestFederation, type TestFederation, waitFor } from './harness.js';

const PARAMETERS = 10_000;
/** The update plus the example count in the trailing slot. */
const LENGTH = PARAMETERS + 1;
const HONEST = ['alice', 'bob', 'carol'];
const ZERO_DIGEST = `sha256:${'0'.repeat(64)}`;

/** A distinct, pre-weighted update per member; the trailing slot carries the example count. */
function honestUpdate(k: number): Float64Array {
  const v = new Float64Array(LENGTH);
  for (let i = 0; i < PARAMETERS; i++) v[i] = (((i * 7 + k * 13) % 101) / 101 - 0.5) * (k + 1);
  v[PARAMETERS] = 100 * (k + 1);
  return v;
}

describe('issue 4: malformed updates are refused and leave the round intact', () => {
  let f: TestFederation;
  let plan: PlanRow;
  let encoder: UpdateEncoder;
  const p: Record<string, SimulatedParticipant> = {};
  const task: Record<string, Task__Output> = {};
  let honestChunks: Uint8Array[];
  const redis = redisConnection();

  before(async () => {
    // mallory is sampled but never gets an update in; min 3 lets the round publish without her.
    f = await startTestFederation({ members: [...HONEST, 'mallory'], minParticipants: 3 });
    plan = await f.schedule({ deadlineSeconds: 300 });
    for (const m of [...HONEST, 'mallory']) p[m] = await f.participant(m);
    await p.alice!.conn.reportEvaluation({
      round: 0,
      globalModelDigest: ZERO_DIGEST,
      accuracy: 0,
      loss: 0,
      examples: 0,
    });
    for (const m of [...HONEST, 'mallory']) task[m] = await p[m]!.waitForTrainTask();
    encoder = await createEncoder({ mode: 'he', key: f.memberKit('alice').heKey!, workers: 0 });
    honestChunks = await encoder.encode(honestUpdate(3));
    assert.equal(honestChunks.length, plan.chunk_count, 'the plan needs exactly these chunks');
  });

  after(async () => {
    await encoder?.close();
    await f?.stop();
    await redis.quit();
  });

  /** What must not change when an update is refused. */
  async function state() {
    const db = f.agg!.db;
    const one = async (sql: string) => (await db.query<{ n: number }>(sql, [plan.id])).rows[0]!.n;
    const round = (await getRound(db, plan.id, 1))!;
    return {
      contributions: await one('SELECT count(*)::int AS n FROM contributions WHERE plan_id = $1'),
      chunks: await one(
        'SELECT count(*)::int AS n FROM contribution_chunks c JOIN contributions k ON k.id = c.contribution_id WHERE k.plan_id = $1',
      ),
      roundContributions: round.contributions,
      state: round.state,
    };
  }

  /** Refused, nothing stored or counted, audited (harness), and the round still takes updates. */
  async function refused(
    send: () => Promise<unknown>,
    code: grpc.status,
    message: RegExp,
    opts: { audited?: boolean } = {},
  ): Promise<{ message: string }> {
    const r = await assertRefused(f.agg!.db, state, send, code, message, opts);
    assert.ok(
      r.state.state === 'open' || r.state.state === 'collecting',
      `round still open (${r.state.state})`,
    );
    return r;
  }

  /** A raw SubmitUpdate stream: exactly these messages, with mallory's TLS identity and session token. */
  async function rawSubmit(
    messages: SubmitUpdateMessage[],
    opts: { cancelAfter?: number } = {},
  ): Promise<Receipt__Output> {
    const kit = f.memberKit('mallory');
    const token = await p.mallory!.conn.authenticate();
    const client = new (loadKpflProto().kpfl.v1.Aggregator)(
      f.address(),
      grpc.credentials.createSsl(
        Buffer.from(kit.tls.caPem),
        Buffer.from(kit.tls.keyPem),
        Buffer.from(kit.tls.certPem),
      ),
    );
    const md = new grpc.Metadata();
    md.set('authorization', `Bearer ${token}`);
    try {
      return await new Promise<Receipt__Output>((resolve, reject) => {
        const call = client.SubmitUpdate(md, (err, res) => (err ? reject(err) : resolve(res!)));
        messages.forEach((m, i) => {
          if (opts.cancelAfter === i) {
            // Drop the call mid-stream once the aggregator has read the header: accepting it spends
            // the token's jti in Redis (ADR 0005), so the key's presence says the stream got that far.
            const jti = unverifiedSessionClaims(token)?.jti;
            waitFor('the aggregator spent the token on the header', async () =>
              Boolean(await redis.exists(`${f.redisPrefix}:jti:${jti}`)),
            ).then(() => call.cancel(), reject);
            return;
          }
          if (opts.cancelAfter === undefined || i < opts.cancelAfter) call.write(m);
        });
        if (opts.cancelAfter === undefined) call.end();
      });
    } finally {
      client.close();
    }
  }

  async function attestationFor(chunks: Uint8Array[], chunkCount = chunks.length) {
    const kit = f.memberKit('mallory');
    const t = task.mallory!;
    return signAttestation(await identityOf(kit), {
      iss: 'mallory',
      federation: f.federation,
      round: t.round,
      baseModelDigest: t.baseModelDigest,
      updateDigest: digestOf(concat(chunks)),
      exampleCount: 100,
      dataCommitment: digestOf('mallory'),
      chunkCount,
      mode: 'he',
      keyEpoch: t.keyEpoch,
      training: { model: 'mlp', epochs: 1, batchSize: 10, lr: 0.1 },
    });
  }

  it('a ciphertext made with another parameter set (reference) is INVALID_ARGUMENT', async () => {
    const other = await generateConsortiumKey('reference');
    const enc = await createEncoder({ mode: 'he', key: other, workers: 0 });
    try {
      assert.notDeepEqual(HE_PARAM_SETS.reference, HE_PARAM_SETS[plan.he_params]);
      const chunks = await enc.encode(honestUpdate(9));
      assert.equal(chunks.length, plan.chunk_count, 'same chunk count, so only the parameters differ');
      const e = await refused(
        () => p.mallory!.submitChunks(task.mallory!, chunks, 100),
        grpc.status.INVALID_ARGUMENT,
        /^chunk 0 was made with other parameters .* than the consortium's 'compact'/,
      );
      assert.match(e.message, /it is a ciphertext of parameter set 'reference'$/);
    } finally {
      await enc.close();
    }
  });

  it('a truncated chunk is INVALID_ARGUMENT', async () => {
    const chunks = [...honestChunks];
    chunks[1] = chunks[1]!.subarray(0, Math.floor(chunks[1]!.byteLength / 2));
    await refused(
      () => p.mallory!.submitChunks(task.mallory!, chunks, 100),
      grpc.status.INVALID_ARGUMENT,
      /^chunk 1 is not a valid ciphertext: its header declares \d+ bytes but \d+ arrived \(truncated or padded\)$/,
    );
  });

  it('a garbage chunk of the right size is INVALID_ARGUMENT', async () => {
    const chunks = [...honestChunks];
    chunks[2] = new Uint8Array(randomBytes(chunks[2]!.byteLength));
    await refused(
      () => p.mallory!.submitChunks(task.mallory!, chunks, 100),
      grpc.status.INVALID_ARGUMENT,
      /^chunk 2 is not a valid ciphertext: no SEAL 4.1 header/,
    );
  });

  it('a ciphertext whose body is tampered (header intact) is INVALID_ARGUMENT', async () => {
    // The structure is valid; coefficients beyond the modulus must still be caught by the loader.
    const chunks = honestChunks.map((c) => new Uint8Array(c));
    chunks[0]!.fill(0xff, 200, 2000);
    await refused(
      () => p.mallory!.submitChunks(task.mallory!, chunks, 100),
      grpc.status.INVALID_ARGUMENT,
      /^chunk 0 is not a valid ciphertext/,
    );
  });

  it('fewer chunks than the task needs (header says so) is INVALID_ARGUMENT', async () => {
    await refused(
      () => p.mallory!.submitChunks(task.mallory!, honestChunks.slice(0, -1), 100),
      grpc.status.INVALID_ARGUMENT,
      new RegExp(`has ${plan.chunk_count - 1} chunks.*needs exactly ${plan.chunk_count}`),
    );
  });

  it('more chunks than the task needs (header says so) is INVALID_ARGUMENT', async () => {
    await refused(
      () => p.mallory!.submitChunks(task.mallory!, [...honestChunks, honestChunks[0]!], 100),
      grpc.status.INVALID_ARGUMENT,
      new RegExp(`has ${plan.chunk_count + 1} chunks.*needs exactly ${plan.chunk_count}`),
    );
  });

  it('more chunks on the stream than its header announces is INVALID_ARGUMENT', async () => {
    const att = await attestationFor(honestChunks);
    await refused(
      () =>
        rawSubmit([
          { header: { round: 1, chunkCount: plan.chunk_count, totalBytes: 0, attestation: att } },
          ...[...honestChunks, honestChunks[0]!].map((data, index) => ({ chunk: { index, data } })),
        ]),
      grpc.status.INVALID_ARGUMENT,
      new RegExp(`^more chunks than the ${plan.chunk_count} announced$`),
    );
  });

  it('a stream that ends before the announced chunks is INVALID_ARGUMENT', async () => {
    const att = await attestationFor(honestChunks);
    await refused(
      () =>
        rawSubmit([
          { header: { round: 1, chunkCount: plan.chunk_count, totalBytes: 0, attestation: att } },
          ...honestChunks.slice(0, -1).map((data, index) => ({ chunk: { index, data } })),
        ]),
      grpc.status.INVALID_ARGUMENT,
      new RegExp(`stream ended after ${plan.chunk_count - 1} of ${plan.chunk_count} chunks`),
    );
  });

  it('a stream the client drops midway stores nothing', async () => {
    const att = await attestationFor(honestChunks);
    await refused(
      () =>
        rawSubmit(
          [
            { header: { round: 1, chunkCount: plan.chunk_count, totalBytes: 0, attestation: att } },
            ...honestChunks.map((data, index) => ({ chunk: { index, data } })),
          ],
          { cancelAfter: 2 },
        ),
      grpc.status.CANCELLED,
      /cancel/i,
      { audited: false }, // the client gave up: its status is local, not the aggregator's
    );
  });

  it('chunks out of order, a stream without header and an empty chunk are INVALID_ARGUMENT', async () => {
    const att = await attestationFor(honestChunks);
    const header = { header: { round: 1, chunkCount: plan.chunk_count, totalBytes: 0, attestation: att } };
    await refused(
      () =>
        rawSubmit([
          header,
          { chunk: { index: 1, data: honestChunks[1] } },
          { chunk: { index: 0, data: honestChunks[0] } },
        ]),
      grpc.status.INVALID_ARGUMENT,
      /expected chunk 0, got 1/,
    );
    await refused(
      () => rawSubmit([{ chunk: { index: 0, data: honestChunks[0] } }]),
      grpc.status.INVALID_ARGUMENT,
      /first message must be the header/,
    );
    await refused(
      () => rawSubmit([header, { chunk: { index: 0, data: new Uint8Array(0) } }]),
      grpc.status.INVALID_ARGUMENT,
      /chunk 0 has 0 bytes/,
    );
  });

  it('bytes that do not match the attestation update digest are INVALID_ARGUMENT', async () => {
    await refused(
      () =>
        p.mallory!.submitChunks(task.mallory!, honestChunks, 100, {
          updateDigest: digestOf('some other update'),
        }),
      grpc.status.INVALID_ARGUMENT,
      /^the received bytes hash to sha256:[0-9a-f]{64}, the attestation names sha256:[0-9a-f]{64}$/,
    );
    // Same attestation as an honest one, one bit flipped in the bytes sent.
    const att = await attestationFor(honestChunks);
    const flipped = honestChunks.map((c) => new Uint8Array(c));
    flipped[2]![flipped[2]!.byteLength - 1]! ^= 1;
    await refused(
      () =>
        rawSubmit([
          { header: { round: 1, chunkCount: plan.chunk_count, totalBytes: 0, attestation: att } },
          ...flipped.map((data, index) => ({ chunk: { index, data } })),
        ]),
      grpc.status.INVALID_ARGUMENT,
      /received bytes hash to/,
    );
  });

  it('the honest members then submit and the round publishes with exactly them', async () => {
    const db = f.agg!.db;
    const updates = HONEST.map((_, k) => honestUpdate(k));
    // A refused attempt does not block a member's later honest submission.
    const bad = await encoder.encode(updates[0]!);
    bad[0] = bad[0]!.subarray(0, 100);
    await refused(
      () => p.alice!.submitChunks(task.alice!, bad, 100),
      grpc.status.INVALID_ARGUMENT,
      /^chunk 0 is not a valid ciphertext: its header declares \d+ bytes but 100 arrived/,
    );
    for (const [k, m] of HONEST.entries()) {
      const receipt = await p[m]!.submitChunks(task[m]!, await encoder.encode(updates[k]!), 100 * (k + 1));
      assert.equal(receipt.accepted, true);
      assert.equal(receipt.acceptedInRound, k + 1);
    }
    assert.equal((await getRound(db, plan.id, 1))!.state, 'collecting');
    // mallory never got an update in: the deadline closes the round with the minimum (3 of 4).
    // Run the deadline job's code path now rather than wait for it.
    assert.equal(await f.agg!.engine.close(plan.id, 1, 'deadline'), 'published');
    const round = await waitFor('round 1 published', async () => {
      const r = await getRound(db, plan.id, 1);
      return r?.state === 'published' && r;
    });
    assert.equal(round.contributions, 3);
    const members = (
      await db.query<{ member: string }>(
        'SELECT member FROM contributions WHERE plan_id = $1 ORDER BY member',
        [plan.id],
      )
    ).rows.map((r) => r.member);
    assert.deepEqual(members, HONEST);

    const agg = await p.bob!.conn.downloadAggregate(1);
    assert.equal(agg.contributions, 3);
    assert.equal(agg.digest, digestOf(concat(agg.chunks)));
    const sum = await encoder.decode(agg.chunks, LENGTH);
    let maxErr = 0;
    for (let i = 0; i < LENGTH; i++) {
      const expected = updates[0]![i]! + updates[1]![i]! + updates[2]![i]!;
      maxErr = Math.max(maxErr, Math.abs(sum[i]! - expected));
    }
    assert.ok(maxErr < 1e-6, `aggregate = sum of the honest updates (max error ${maxErr})`);
    assert.ok(Math.abs(sum[PARAMETERS]! - 600) < 1e-6, 'example counts of alice, bob, carol only');
  });
});
