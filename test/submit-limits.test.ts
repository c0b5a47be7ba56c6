/**
 * Issue 19, item 4: SubmitUpdate is checked chunk by chunk as it arrives and never buffered whole; a
 * member streams one update at a time; all streams share a budget of bytes in flight (with a
 * Prometheus metric); sessions are rate-limited per member in Redis, across front ends. Against a
 * live aggregator over mutual TLS with Postgres, Redis and real CKKS ciphertexts. Each refusal is
 * checked for its status and message, nothing stored, its audit row, and (where it matters) that the
 * refused request spent no token.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import {
  createLogger,
  kitOptions,
  maxUpdateBytes,
  RETRY_AFTER_TRAILER,
  redisConnection,
  startAggregator,
} from '../packages/aggregator/src/index.js';
import { identityOf } from '../packages/cli/src/kits.js';
import { createEncoder, type UpdateEncoder } from '../packages/he/src/index.js';
import { digestOf, signAttestation, unverifiedSessionClaims } from '../packages/kpt/src/index.js';
import { concat, type SimulatedParticipant } from '../packages/participant/src/index.js';
import {
  type AggregatorClient,
  loadKpflProto,
  type Receipt__Output,
  type SubmitUpdateMessage,
  type Task__Output,
} from '../packages/proto/src/index.js';
import { getRound, type PlanRow } from '../packages/store/src/index.js';
import {
  AGGREGATOR_DATABASE_URL,
  assertRefused,
  reportInitialModel,
  startTestFederation,
  TEST_OPERATOR,
  type TestFederation,
  waitFor,
} from './harness.js';

const MEMBERS = ['alice', 'bob', 'carol', 'dave'];
const LENGTH = 10_001; // the harness plan's 10,000 parameters and the count: 3 chunks

function update(k: number): Float64Array {
  const v = new Float64Array(LENGTH);
  for (let i = 0; i < LENGTH - 1; i++) v[i] = Math.sin(i * 0.003 + k) * 0.5;
  v[LENGTH - 1] = 10 * (k + 1);
  return v;
}

/** A SubmitUpdate stream written message by message; `done` settles with the aggregator's answer. */
interface OpenStream {
  write(m: SubmitUpdateMessage): void;
  end(): void;
  done: Promise<Receipt__Output>;
}

describe('issue 19: SubmitUpdate is checked as it arrives, one stream per member, within a budget', () => {
  let f: TestFederation;
  let plan: PlanRow;
  let encoder: UpdateEncoder;
  let budget: number;
  const p: Record<string, SimulatedParticipant> = {};
  const task: Record<string, Task__Output> = {};
  const chunks: Record<string, Uint8Array[]> = {};
  const clients: AggregatorClient[] = [];
  const redis = redisConnection();

  before(async () => {
    // The budget fits one update of this plan, not two.
    const probe = { mode: 'he' as const, he_params: 'compact', chunk_count: 3 };
    budget = Math.floor(1.5 * maxUpdateBytes(probe));
    f = await startTestFederation({ members: MEMBERS, limits: { maxInflightBytes: budget } });
    plan = await f.schedule({ deadlineSeconds: 600, minParticipants: 3 });
    assert.equal(plan.chunk_count, probe.chunk_count);
    for (const m of MEMBERS) p[m] = await f.participant(m);
    await reportInitialModel(p.alice!);
    for (const m of MEMBERS) task[m] = await p[m]!.waitForTrainTask();
    encoder = await createEncoder({ mode: 'he', key: f.memberKit('alice').heKey!, workers: 0 });
    for (const [k, m] of MEMBERS.entries()) chunks[m] = await encoder.encode(update(k));
  });

  after(async () => {
    for (const c of clients) c.close();
    await encoder?.close();
    await f?.stop();
    await redis.quit();
  });

  async function state() {
    const db = f.agg!.db;
    const n = async (sql: string) => (await db.query<{ n: number }>(sql)).rows[0]!.n;
    return {
      contributions: await n('SELECT count(*)::int AS n FROM contributions'),
      chunks: await n('SELECT count(*)::int AS n FROM contribution_chunks'),
      round: (await getRound(db, plan.id, 1))!.state,
    };
  }

  const attestation = async (member: string, exampleCount = 10) =>
    signAttestation(await identityOf(f.memberKit(member)), {
      iss: member,
      federation: f.federation,
      round: 1,
      baseModelDigest: task[member]!.baseModelDigest,
      updateDigest: digestOf(concat(chunks[member]!)),
      exampleCount,
      dataCommitment: digestOf(member),
      chunkCount: plan.chunk_count,
      mode: 'he',
      keyEpoch: task[member]!.keyEpoch,
      training: { model: 'mlp', epochs: 1, batchSize: 10, lr: 0.1 },
    });

  /** Opens a raw stream over `member`'s TLS identity with `token`. */
  function open(member: string, token: string): OpenStream {
    const kit = f.memberKit(member).tls;
    const client = new (loadKpflProto().kpfl.v1.Aggregator)(
      f.address(),
      grpc.credentials.createSsl(Buffer.from(kit.caPem), Buffer.from(kit.keyPem), Buffer.from(kit.certPem)),
    );
    clients.push(client);
    const md = new grpc.Metadata();
    md.set('authorization', `Bearer ${token}`);
    let call!: grpc.ClientWritableStream<SubmitUpdateMessage>;
    const done = new Promise<Receipt__Output>((resolve, reject) => {
      // A deadline far beyond any answer: a stream the aggregator keeps waiting on fails the test.
      call = client.SubmitUpdate(md, { deadline: Date.now() + 20_000 }, (err, res) =>
        err ? reject(err) : resolve(res!),
      );
    });
    done.catch(() => {});
    return { write: (m) => call.write(m), end: () => call.end(), done };
  }

  const header = async (member: string) => ({
    header: {
      round: 1,
      chunkCount: plan.chunk_count,
      totalBytes: 0,
      attestation: await attestation(member),
    },
  });
  const chunk = (member: string, index: number) => ({ chunk: { index, data: chunks[member]![index]! } });
  const spent = async (token: string) =>
    (await redis.exists(`${f.redisPrefix}:jti:${unverifiedSessionClaims(token)!.jti}`)) === 1;

  /** The aggregator's own figure, read from its Prometheus endpoint. */
  async function scrape(name: string): Promise<number> {
    const text = await (await fetch(`http://127.0.0.1:${f.agg!.metricsPort}/metrics`)).text();
    const m = new RegExp(`^${name} (\\d+)$`, 'm').exec(text);
    assert.ok(m, `${name} is exported`);
    return Number(m[1]);
  }

  it('a bad chunk is refused as soon as it arrives, while the stream is still open', async () => {
    const token = await p.dave!.conn.authenticate();
    const h = await header('dave');
    const garbage = { chunk: { index: 0, data: new Uint8Array(randomBytes(chunks.dave![0]!.byteLength)) } };
    await assertRefused(
      f.agg!.db,
      state,
      () => {
        const s = open('dave', token);
        s.write(h);
        s.write(garbage);
        // No more chunks and no half-close: the answer must not wait for the end of the stream.
        return s.done;
      },
      grpc.status.INVALID_ARGUMENT,
      /^chunk 0 is not a valid ciphertext: no SEAL 4\.1 header/,
    );
    assert.equal(await scrape('kpfl_submission_inflight_bytes'), 0, 'its reservation is given back');
  });

  it('one stream per member: a second one is RESOURCE_EXHAUSTED while the first is open, and spends no token', async () => {
    const first = await p.alice!.conn.authenticate();
    const second = await p.alice!.conn.authenticate();
    const s1 = open('alice', first);
    s1.write(await header('alice'));
    s1.write(chunk('alice', 0));
    await waitFor('the first stream is held', async () => (await spent(first)) || undefined, 10_000);
    const h = await header('alice');
    await assertRefused(
      f.agg!.db,
      state,
      () => {
        const s2 = open('alice', second);
        s2.write(h);
        return s2.done;
      },
      grpc.status.RESOURCE_EXHAUSTED,
      /^alice already has a SubmitUpdate stream open on this aggregator; send one update at a time$/,
    );
    assert.equal(await spent(second), false, 'the refused stream spent no token');
    assert.equal(await scrape('kpfl_submission_streams'), 1);
    for (let i = 1; i < plan.chunk_count; i++) s1.write(chunk('alice', i));
    s1.end();
    assert.equal((await s1.done).accepted, true, 'the first stream goes on undisturbed');
    assert.equal(await scrape('kpfl_submission_streams'), 0);
  });

  it('the in-flight budget: a stream that does not fit is RESOURCE_EXHAUSTED with a retry hint, its token intact', async () => {
    const reserved = maxUpdateBytes(plan);
    const bobToken = await p.bob!.conn.authenticate();
    const held = open('bob', bobToken);
    held.write(await header('bob'));
    held.write(chunk('bob', 0));
    await waitFor('bob holds the budget', async () => (await spent(bobToken)) || undefined, 10_000);

    const carolToken = await p.carol!.conn.authenticate();
    const h = await header('carol');
    let trailer: string | undefined;
    await assertRefused(
      f.agg!.db,
      state,
      async () => {
        const s = open('carol', carolToken);
        s.write(h);
        await s.done.catch((err: grpc.ServiceError) => {
          trailer = err.metadata.get(RETRY_AFTER_TRAILER)[0] as string | undefined;
          throw err;
        });
      },
      grpc.status.RESOURCE_EXHAUSTED,
      new RegExp(
        `^the aggregator is receiving ${reserved} bytes of updates already \\(budget ${budget}\\); retry in a few seconds$`,
      ),
    );
    assert.equal(trailer, '2000', 'the retry hint travels as a trailer');
    assert.equal(await scrape('kpfl_submission_inflight_budget_bytes'), budget);
    assert.equal(
      await scrape('kpfl_submission_inflight_bytes'),
      reserved,
      "bob's stream holds its reservation",
    );
    assert.equal(await spent(carolToken), false, 'the refused stream spent no token');

    for (let i = 1; i < plan.chunk_count; i++) held.write(chunk('bob', i));
    held.end();
    assert.equal((await held.done).accepted, true);
    assert.equal(await scrape('kpfl_submission_inflight_bytes'), 0, 'given back when the stream ends');
    // carol retries with the same token, and it fits now.
    const retry = open('carol', carolToken);
    retry.write(h);
    for (let i = 0; i < plan.chunk_count; i++) retry.write(chunk('carol', i));
    retry.end();
    assert.equal((await retry.done).accepted, true);
    assert.deepEqual(await state(), { contributions: 3, chunks: 9, round: 'collecting' });
  });
});

describe('issue 19: sessions are rate-limited per member, in Redis, across front ends', () => {
  let f: TestFederation;
  let second: Awaited<ReturnType<typeof startAggregator>>;
  const clients: AggregatorClient[] = [];

  before(async () => {
    f = await startTestFederation({ members: ['alice', 'bob'], limits: { sessionsPerMinute: 3 } });
    // A second front end of the same federation: same Postgres schema, same Redis prefix.
    second = await startAggregator({
      ...(await kitOptions(f.coordinator, { actor: TEST_OPERATOR })),
      listen: '127.0.0.1:0',
      databaseUrl: AGGREGATOR_DATABASE_URL,
      schema: f.schema,
      redisPrefix: f.redisPrefix,
      runWorker: false,
      sessionsPerMinute: 3,
      log: createLogger('aggregator-2', { file: join(f.work, 'aggregator-2.log') }),
    });
  });

  after(async () => {
    for (const c of clients) c.close();
    await second?.close();
    await f?.stop();
  });

  it('the fourth session of a minute is RESOURCE_EXHAUSTED on either front end, with a retry hint; others are unaffected', async () => {
    const alice = await f.participant('alice');
    const aliceThere = await f.participant('alice', `localhost:${second.port}`);
    await alice.conn.authenticate();
    await aliceThere.conn.authenticate();
    await alice.conn.authenticate();
    const tokens = async () =>
      (
        await f.agg!.db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM audit_log WHERE event = 'token.issued' AND member = 'alice'`,
        )
      ).rows[0]!.n;
    assert.equal(await tokens(), 3);
    let hint: number | undefined;
    const r = await assertRefused(
      f.agg!.db,
      tokens,
      async () => {
        try {
          await aliceThere.conn.authenticate();
        } catch (err) {
          const cause = (err as { cause?: grpc.ServiceError }).cause;
          hint = Number(cause?.metadata.get(RETRY_AFTER_TRAILER)[0]);
          throw err;
        }
      },
      grpc.status.RESOURCE_EXHAUSTED,
      /^alice asked for 3 sessions in the last minute, the most allowed; retry in \d+ s$/,
    );
    assert.ok(hint !== undefined && hint > 0 && hint <= 60_000, `retry hint ${hint} ms`);
    assert.match(r.message, /retry in/);
    // bob has his own budget.
    const bob = await f.participant('bob', `localhost:${second.port}`);
    assert.ok(await bob.conn.authenticate());
  });
});

describe("issue 19: a stream still arriving at its round's deadline is ended then", () => {
  let f: TestFederation;
  after(() => f?.stop());

  it('FAILED_PRECONDITION at the deadline, nothing stored, audited; the budget and the slot are given back', async () => {
    f = await startTestFederation({ members: ['alice', 'bob'], mode: 'plain' });
    // A short round: the stream below opens at once and then sends nothing more.
    const plan = await f.schedule({ deadlineSeconds: 8, minParticipants: 2, parameterCount: 5_000 });
    const alice = await f.participant('alice');
    await reportInitialModel(alice);
    const t = await alice.waitForTrainTask();
    const enc = await createEncoder({ mode: 'plain' });
    const data = await enc.encode(update(0).subarray(0, 5_001));
    await enc.close();
    const att = await signAttestation(await identityOf(f.memberKit('alice')), {
      iss: 'alice',
      federation: f.federation,
      round: 1,
      baseModelDigest: t.baseModelDigest,
      updateDigest: digestOf(concat(data)),
      exampleCount: 10,
      dataCommitment: digestOf('alice'),
      chunkCount: data.length,
      mode: 'plain',
      training: { model: 'mlp', epochs: 1, batchSize: 10, lr: 0.1 },
    });
    const token = await alice.conn.authenticate();
    const kit = f.memberKit('alice').tls;
    const client = new (loadKpflProto().kpfl.v1.Aggregator)(
      f.address(),
      grpc.credentials.createSsl(Buffer.from(kit.caPem), Buffer.from(kit.keyPem), Buffer.from(kit.certPem)),
    );
    try {
      const md = new grpc.Metadata();
      md.set('authorization', `Bearer ${token}`);
      const err = await new Promise<grpc.ServiceError>((resolve, reject) => {
        const call = client.SubmitUpdate(md, { deadline: Date.now() + 60_000 }, (e) =>
          e ? resolve(e) : reject(new Error('accepted')),
        );
        call.write({ header: { round: 1, chunkCount: data.length, totalBytes: 0, attestation: att } });
        call.write({ chunk: { index: 0, data: data[0]! } });
      });
      assert.equal(grpc.status[err.code], 'FAILED_PRECONDITION', err.details);
      assert.match(err.details, /^round 1 passed its deadline at \S+Z before the update had arrived$/);
      const db = f.agg!.db;
      assert.equal((await db.query('SELECT 1 FROM contributions')).rows.length, 0, 'nothing stored');
      const row = await waitFor('the refusal audited', async () => {
        const r = await db.query<{ event: string; round: number }>(
          `SELECT event, round FROM audit_log WHERE data->>'details' = $1`,
          [err.details],
        );
        return r.rows[0];
      });
      assert.deepEqual(row, { event: 'contribution.refused', round: 1 });
      const text = await (await fetch(`http://127.0.0.1:${f.agg!.metricsPort}/metrics`)).text();
      assert.match(text, /^kpfl_submission_inflight_bytes 0$/m);
      assert.match(text, /^kpfl_submission_streams 0$/m);
      await waitFor('the round ends at its deadline', async () => {
        const r = await getRound(db, plan.id, 1);
        return r?.state === 'failed';
      });
    } finally {
      client.close();
    }
  });
});
