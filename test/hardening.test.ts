/**
 * Issue 19 (what an independent client found), against a live aggregator over mutual TLS with real
 * Postgres and Redis: every refusal, on every RPC kind, ends with its status at once and is audited
 * once with bounded data; client-supplied values are bounded; metadata limits are explicit; numeric
 * claims are bounded before a token is spent; challenges and sessions are bound to the TLS identity.
 * Each refusal is checked for its status, its exact message, nothing stored, and its audit row.
 * (SubmitUpdate's streaming limits: test/submit-limits.test.ts.)
 */
import assert from 'node:assert/strict';
import { createPrivateKey, randomBytes } from 'node:crypto';
import { connect } from 'node:http2';
import { createConnection, createServer, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { CompactSign } from 'jose';
import { redisConnection } from '../packages/aggregator/src/index.js';
import { identityOf } from '../packages/cli/src/kits.js';
import { createEncoder, type UpdateEncoder } from '../packages/he/src/index.js';
import { digestOf, signChallenge, TYP, unverifiedSessionClaims } from '../packages/kpt/src/index.js';
import {
  AggregatorConnection,
  AggregatorError,
  concat,
  type SimulatedParticipant,
} from '../packages/participant/src/index.js';
import {
  type AggregatorClient,
  type AuditClient,
  type GetChallengeResponse__Output,
  loadKpflProto,
  type Task__Output,
} from '../packages/proto/src/index.js';
import { type Db, getRound, type PlanRow } from '../packages/store/src/index.js';
import {
  assertRefused,
  auditHead,
  reportInitialModel,
  startTestFederation,
  type TestFederation,
} from './harness.js';

const MEMBERS = ['alice', 'bob', 'carol', 'dave'];
const LENGTH = 10_001;
/** Generous for one audit row of a refusal (its hash chain fields, its bounded data). */
const MAX_AUDIT_ROW_BYTES = 2048;

type Tls = { caPem: string; certPem: string; keyPem: string };

function update(k: number): Float64Array {
  const v = new Float64Array(LENGTH);
  for (let i = 0; i < LENGTH - 1; i++) v[i] = Math.cos(i * 0.01 + k) * 0.25;
  v[LENGTH - 1] = 10 * (k + 1);
  return v;
}

/** Bytes of the audit rows after `seq` (as Postgres renders each row), and how many there are. */
async function auditGrowth(db: Db, seq: number): Promise<{ rows: number; bytes: number }> {
  const { rows } = await db.query<{ rows: number; bytes: number }>(
    'SELECT count(*)::int AS rows, coalesce(sum(octet_length(a::text)), 0)::int AS bytes FROM audit_log a WHERE seq > $1',
    [seq],
  );
  return rows[0]!;
}

/** Rows after `seq` whose details are exactly `details` (a refusal must have exactly one). */
async function auditedTimes(db: Db, seq: number, details: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM audit_log WHERE seq > $1 AND data->>'details' = $2`,
    [seq, details],
  );
  return rows[0]!.n;
}

describe('issue 19: refusals answer at once, bounded and audited; identities bound to TLS', () => {
  let f: TestFederation;
  let plan: PlanRow;
  let encoder: UpdateEncoder;
  const p: Record<string, SimulatedParticipant> = {};
  const task: Record<string, Task__Output> = {};
  const closers: { close(): void }[] = [];
  const redis = redisConnection();

  before(async () => {
    f = await startTestFederation({ members: MEMBERS, auditors: ['auditor-1'] });
    // Four sampled, quorum four: the few submissions accepted below never close the round.
    plan = await f.schedule({ deadlineSeconds: 600, minParticipants: 3 });
    for (const m of [...MEMBERS, 'auditor-1']) p[m] = await f.participant(m);
    await reportInitialModel(p.alice!);
    for (const m of MEMBERS) task[m] = await p[m]!.waitForTrainTask();
    encoder = await createEncoder({ mode: 'he', key: f.memberKit('alice').heKey!, workers: 0 });
  });

  after(async () => {
    for (const c of closers) c.close();
    await encoder?.close();
    await f?.stop();
    await redis.quit();
  });

  const tlsOf = (member: string): Tls => f.memberKit(member).tls;
  const creds = (tls: Tls) =>
    grpc.credentials.createSsl(Buffer.from(tls.caPem), Buffer.from(tls.keyPem), Buffer.from(tls.certPem));

  function aggregator(member = 'alice'): AggregatorClient {
    const c = new (loadKpflProto().kpfl.v1.Aggregator)(f.address(), creds(tlsOf(member)));
    closers.push(c);
    return c;
  }
  function audit(member = 'alice'): AuditClient {
    const c = new (loadKpflProto().kpfl.v1.Audit)(f.address(), creds(tlsOf(member)));
    closers.push(c);
    return c;
  }
  function raw(member = 'alice'): grpc.Client {
    const c = new grpc.Client(f.address(), creds(tlsOf(member)));
    closers.push(c);
    return c;
  }

  const md = (token?: string) => {
    const m = new grpc.Metadata();
    if (token !== undefined) m.set('authorization', `Bearer ${token}`);
    return m;
  };
  /** A deadline far beyond any answer: a call that hangs ends DEADLINE_EXCEEDED, and the test fails. */
  const opts = () => ({ deadline: Date.now() + 15_000 });

  function unary<Res>(start: (o: grpc.CallOptions, cb: grpc.requestCallback<Res>) => unknown): Promise<Res> {
    return new Promise((resolve, reject) => {
      start(opts(), (err, res) => (err ? reject(err) : resolve(res!)));
    });
  }
  /** Reads a server stream to its end; rejects with its status. */
  function drain(stream: grpc.ClientReadableStream<unknown>): Promise<number> {
    return new Promise((resolve, reject) => {
      let n = 0;
      stream.on('data', () => n++);
      stream.on('error', reject);
      stream.on('end', () => resolve(n));
    });
  }

  async function state() {
    const db = f.agg!.db;
    const n = async (sql: string) => (await db.query<{ n: number }>(sql)).rows[0]!.n;
    const round = (await getRound(db, plan.id, 1))!;
    return {
      contributions: await n('SELECT count(*)::int AS n FROM contributions'),
      chunks: await n('SELECT count(*)::int AS n FROM contribution_chunks'),
      tokensIssued: await n(`SELECT count(*)::int AS n FROM audit_log WHERE event = 'token.issued'`),
      roundState: round.state,
      roundContributions: round.contributions,
    };
  }

  /** Refused with `code` and `message`, nothing stored or counted, audited exactly once. */
  async function refused(
    send: () => Promise<unknown>,
    code: grpc.status,
    message: RegExp,
  ): Promise<{ message: string; head: number }> {
    const head = await auditHead(f.agg!.db);
    const r = await assertRefused(f.agg!.db, state, send, code, message);
    assert.equal(await auditedTimes(f.agg!.db, head, r.message), 1, `audited once: ${r.message}`);
    return { message: r.message, head };
  }

  const token = (member: string) => p[member]!.conn.authenticate();

  it('a refused server-streaming call ends with its status at once (DownloadAggregate, Audit.Export)', async () => {
    const c = aggregator('alice');
    const alice = await token('alice');
    const download = (round: number, t: string, client = c) =>
      drain(client.DownloadAggregate({ round }, md(t), opts()));
    const auditor = await token('auditor-1');
    await refused(
      () => download(1, auditor, aggregator('auditor-1')),
      grpc.status.PERMISSION_DENIED,
      /^"auditor-1" lacks role "participant" \(has auditor\)$/,
    );
    await refused(
      () => download(1, alice),
      grpc.status.FAILED_PRECONDITION,
      /^round 1 has no published aggregate \(state: open\)$/,
    );
    await refused(
      () => download(999, alice),
      grpc.status.FAILED_PRECONDITION,
      /^round 999 has no published aggregate \(state: none\)$/,
    );
    await refused(
      () => download(-1, alice),
      grpc.status.INVALID_ARGUMENT,
      /^round -1 does not exist: rounds are numbered from 1$/,
    );
    const a = audit('alice');
    await refused(
      () => drain(a.Export({}, md(alice), opts())),
      grpc.status.PERMISSION_DENIED,
      /^"alice" lacks role "auditor" \(has participant\)$/,
    );
    await refused(
      () => drain(a.Export({}, md(), opts())),
      grpc.status.UNAUTHENTICATED,
      /^missing "authorization: Bearer <session token>"; call Authenticate first$/,
    );
    // Positive control: the auditor's export streams.
    assert.ok((await drain(audit('auditor-1').Export({}, md(await token('auditor-1')), opts()))) > 0);
  });

  it('the Audit service audits its refusals (participant token, no token, a bad filter)', async () => {
    const a = audit('alice');
    const alice = await token('alice');
    await refused(
      () => unary((o, cb) => a.QueryLog({}, md(alice), o, cb)),
      grpc.status.PERMISSION_DENIED,
      /^"alice" lacks role "auditor" \(has participant\)$/,
    );
    await refused(
      () => unary((o, cb) => a.ListRounds({}, md(), o, cb)),
      grpc.status.UNAUTHENTICATED,
      /^missing "authorization: Bearer <session token>"/,
    );
    const auditor = audit('auditor-1');
    const auditorToken = await token('auditor-1');
    await refused(
      () => unary((o, cb) => auditor.ListContributions({ status: 'bogus' }, md(auditorToken), o, cb)),
      grpc.status.INVALID_ARGUMENT,
      /status must be 'accepted' or 'refused'/,
    );
  });

  it('a 3 MiB member id: a clear status at once, and the audit log grows by one bounded row', async () => {
    const c = aggregator('alice');
    const huge = 'a'.repeat(3 * 2 ** 20);
    const big = await refused(
      () => unary<GetChallengeResponse__Output>((o, cb) => c.GetChallenge({ memberId: huge }, md(), o, cb)),
      grpc.status.RESOURCE_EXHAUSTED,
      /^a GetChallenge request message is 314573[0-9] bytes; at most 65536 are accepted$/,
    );
    const grew = await auditGrowth(f.agg!.db, big.head);
    assert.equal(grew.rows, 1);
    assert.ok(grew.bytes < MAX_AUDIT_ROW_BYTES, `the audit log grew by ${grew.bytes} bytes`);
  });

  it('a long member id, one with control characters, a long challenge response: INVALID_ARGUMENT, echoed bounded', async () => {
    const c = aggregator('alice');
    const challenge = (memberId: string) =>
      unary<GetChallengeResponse__Output>((o, cb) => c.GetChallenge({ memberId }, md(), o, cb));
    const long = await refused(
      () => challenge('b'.repeat(1000)),
      grpc.status.INVALID_ARGUMENT,
      /^member_id "b{64}…\(\+936 chars\)" is not a member id \(letters, digits, "\.", "_" and "-", starting with a letter or digit, at most 64 characters\)$/,
    );
    assert.ok((await auditGrowth(f.agg!.db, long.head)).bytes < MAX_AUDIT_ROW_BYTES);
    // A NUL cannot even be stored in Postgres text: echoed values are made printable first.
    await refused(
      () => challenge('al\u0000ice\n'),
      grpc.status.INVALID_ARGUMENT,
      /^member_id "al\ufffdice\ufffd" is not a member id/,
    );
    await refused(
      () =>
        unary((o, cb) =>
          c.Authenticate(
            { memberId: 'alice', nonce: 'n'.repeat(43), signedChallenge: 'x'.repeat(10_000) },
            md(),
            o,
            cb,
          ),
        ),
      grpc.status.INVALID_ARGUMENT,
      /^signed_challenge is 10000 characters; a challenge response is a compact JWS of at most 4096$/,
    );
  });

  it('metadata over the limit (a 70 KB token) gets RESOURCE_EXHAUSTED on every RPC kind', async () => {
    const big = randomBytes(52_500).toString('base64url'); // 70,000 characters
    const c = aggregator('alice');
    const limit =
      /^the request metadata of (GetTask|DownloadAggregate|SubmitUpdate) is 7\d{4} bytes; at most 65536 are accepted \(a session token is about 1 KiB\)$/;
    await refused(
      () => unary((o, cb) => c.GetTask({ appliedRound: 0 }, md(big), o, cb)),
      grpc.status.RESOURCE_EXHAUSTED,
      limit,
    );
    await refused(
      () => drain(c.DownloadAggregate({ round: 1 }, md(big), opts())),
      grpc.status.RESOURCE_EXHAUSTED,
      limit,
    );
    await refused(
      () =>
        new Promise((resolve, reject) => {
          const call = c.SubmitUpdate(md(big), opts(), (err, res) => (err ? reject(err) : resolve(res)));
          call.write({ header: { round: 1, chunkCount: 1, totalBytes: 0, attestation: 'x' } });
        }),
      grpc.status.RESOURCE_EXHAUSTED,
      limit,
    );
    // The limit is advertised, so that clients which honour SETTINGS_MAX_HEADER_LIST_SIZE send such
    // a token and get the status, instead of failing locally.
    const kit = f.memberKit('alice').tls;
    const session = connect(`https://${f.address()}`, {
      ca: kit.caPem,
      cert: kit.certPem,
      key: kit.keyPem,
      ALPNProtocols: ['h2'],
    });
    try {
      const settings = await new Promise<{ maxHeaderListSize?: number }>((resolve, reject) => {
        session.once('remoteSettings', resolve);
        session.once('error', reject);
      });
      assert.equal(settings.maxHeaderListSize, 131072);
    } finally {
      session.close();
    }
  });

  it('an example count of 3e9 or 1e308 is INVALID_ARGUMENT, audited, and the token is not spent', async () => {
    const kit = f.memberKit('carol');
    const key = createPrivateKey({ key: kit.identity.privateJwk as never, format: 'jwk' });
    const chunks = await encoder.encode(update(2));
    const claims = (exampleCount: number) => ({
      iss: 'carol',
      federation: f.federation,
      round: 1,
      baseModelDigest: task.carol!.baseModelDigest,
      updateDigest: digestOf(concat(chunks)),
      exampleCount,
      dataCommitment: digestOf('carol'),
      chunkCount: chunks.length,
      mode: 'he',
      training: { model: 'mlp', epochs: 1, batchSize: 10, lr: 0.1 },
      iat: Math.floor(Date.now() / 1000),
    });
    // signAttestation refuses to sign such a count: sign the JWS directly, as a hostile client would.
    const sign = (exampleCount: number) =>
      new CompactSign(new TextEncoder().encode(JSON.stringify(claims(exampleCount))))
        .setProtectedHeader({ alg: 'EdDSA', kid: kit.identity.kid, typ: TYP.attestation })
        .sign(key);
    const carol = p.carol!;
    const sessionToken = await carol.conn.authenticate();
    const jti = unverifiedSessionClaims(sessionToken)!.jti;
    for (const count of [3e9, 1e308]) {
      const attestation = await sign(count);
      const { head } = await refused(
        () => carol.conn.submitUpdate({ round: 1, attestation, totalBytes: 0 }, chunks),
        grpc.status.INVALID_ARGUMENT,
        /^attestation has invalid claims: exampleCount: Number must be less than or equal to 2147483647$/,
      );
      const row = await f.agg!.db.query(
        `SELECT event, round, member FROM audit_log WHERE seq > $1 AND data->>'reason' = 'ATTESTATION_INVALID'`,
        [head],
      );
      assert.deepEqual(row.rows, [{ event: 'contribution.refused', round: 1, member: 'carol' }]);
    }
    // The header was refused before the token was spent: it still submits, once.
    assert.equal(await redis.exists(`${f.redisPrefix}:jti:${jti}`), 0, 'the refused headers spent no token');
    const receipt = await carol.submitChunks(task.carol!, chunks, 20, {}, { reauthenticate: false });
    assert.equal(receipt.accepted, true);
  });

  it('a SubmitUpdate header for round -1 is refused at once and audited (its audit append used to fail)', async () => {
    // The stream stays open (no half-close): the refusal of its header ends it at once.
    const t = await token('bob');
    const c = aggregator('bob');
    await refused(
      () =>
        new Promise((resolve, reject) => {
          const call = c.SubmitUpdate(md(t), opts(), (err, res) => (err ? reject(err) : resolve(res)));
          call.write({
            header: { round: -1, chunkCount: plan.chunk_count, totalBytes: 0, attestation: 'x' },
          });
        }),
      grpc.status.INVALID_ARGUMENT,
      /^the header names round -1; rounds are numbered from 1$/,
    );
  });

  it('a message that is not protobuf is INVALID_ARGUMENT from the handler, audited (grpc-js said INTERNAL)', async () => {
    const bob = p.bob!;
    // Bytes that are no protobuf message: field 1, length-delimited, its length varint cut short.
    const garbage = Buffer.from([0x0a, 0x80]);
    const r = raw('bob');
    await refused(
      () =>
        new Promise((resolve, reject) => {
          r.makeUnaryRequest(
            '/kpfl.v1.Aggregator/GetChallenge',
            (b: Buffer) => b,
            (b: Buffer) => b,
            garbage,
            md(),
            opts(),
            (err, res) => (err ? reject(err) : resolve(res)),
          );
        }),
      grpc.status.INVALID_ARGUMENT,
      /^a GetChallenge request message is not a valid kpfl\.v1 protobuf message: /,
    );
    const t2 = await bob.conn.authenticate();
    await refused(
      () =>
        new Promise((resolve, reject) => {
          const call = r.makeClientStreamRequest(
            '/kpfl.v1.Aggregator/SubmitUpdate',
            (b: Buffer) => b,
            (b: Buffer) => b,
            md(t2),
            opts(),
            (err, res) => (err ? reject(err) : resolve(res)),
          );
          call.write(garbage);
        }),
      grpc.status.INVALID_ARGUMENT,
      /^a SubmitUpdate request message is not a valid kpfl\.v1 protobuf message: /,
    );
  });

  it('a challenge is issued only to the member of the TLS client certificate', async () => {
    /** The members pending nonces were issued to. */
    const nonceOwners = async () => {
      const keys = await redis.keys(`${f.redisPrefix}:nonce:*`);
      return keys.length ? (await redis.mget(keys)).sort() : [];
    };
    const before = await nonceOwners();
    const c = aggregator('alice');
    await refused(
      () => unary((o, cb) => c.GetChallenge({ memberId: 'bob' }, md(), o, cb)),
      grpc.status.PERMISSION_DENIED,
      /^a challenge for bob over the TLS client certificate of alice: a member asks only for itself, over its own certificate$/,
    );
    assert.deepEqual(await nonceOwners(), before, 'no nonce issued');
  });

  it('Authenticate refuses another member’s certificate, and neither that nor a wrong answer burns the nonce', async () => {
    const aliceKey = await identityOf(f.memberKit('alice'));
    const bobKey = await identityOf(f.memberKit('bob'));
    const asAlice = aggregator('alice');
    const asBob = aggregator('bob');
    const ch = await unary<GetChallengeResponse__Output>((o, cb) =>
      asAlice.GetChallenge({ memberId: 'alice' }, md(), o, cb),
    );
    const answer = await signChallenge(aliceKey, {
      nonce: ch.nonce,
      subject: 'alice',
      audience: ch.audience,
    });
    const authenticate = (client: AggregatorClient, signedChallenge: string) =>
      unary<{ sessionToken: string }>((o, cb) =>
        client.Authenticate({ memberId: 'alice', nonce: ch.nonce, signedChallenge }, md(), o, cb),
      );
    // alice's correct answer, over bob's certificate.
    await refused(
      () => authenticate(asBob, answer),
      grpc.status.PERMISSION_DENIED,
      /^a session for alice over the TLS client certificate of bob: a member asks only for itself, over its own certificate$/,
    );
    // A wrong answer (bob's key) over alice's own certificate.
    const wrong = await signChallenge(bobKey, { nonce: ch.nonce, subject: 'alice', audience: ch.audience });
    await refused(
      () => authenticate(asAlice, wrong),
      grpc.status.UNAUTHENTICATED,
      /^challenge response does not verify with the registered key of "alice"/,
    );
    // The nonce survived both: alice's correct answer over her certificate gets a session ...
    const ok = await authenticate(asAlice, answer);
    assert.equal(unverifiedSessionClaims(ok.sessionToken)?.sub, 'alice');
    // ... once (ADR 0005: challenges stay single-use).
    await refused(
      () => authenticate(asAlice, answer),
      grpc.status.UNAUTHENTICATED,
      /^challenge nonce unknown, expired or already used; ask for a new one$/,
    );
  });

  it('without mutual TLS, nobody can burn another member’s nonce with a wrong answer', async () => {
    const g = await startTestFederation({ members: ['alice', 'bob'], tls: false });
    try {
      const c = new (loadKpflProto().kpfl.v1.Aggregator)(g.address(), grpc.credentials.createInsecure());
      closers.push(c);
      const aliceKey = await identityOf(g.memberKit('alice'));
      const bobKey = await identityOf(g.memberKit('bob'));
      const ch = await unary<GetChallengeResponse__Output>((o, cb) =>
        c.GetChallenge({ memberId: 'alice' }, md(), o, cb),
      );
      const authenticate = (signedChallenge: string) =>
        unary<{ sessionToken: string }>((o, cb) =>
          c.Authenticate({ memberId: 'alice', nonce: ch.nonce, signedChallenge }, md(), o, cb),
        );
      // bob (anyone on the network) answers alice's challenge with his own key, twice.
      for (let i = 0; i < 2; i++) {
        await assert.rejects(
          authenticate(
            await signChallenge(bobKey, { nonce: ch.nonce, subject: 'alice', audience: ch.audience }),
          ),
          (err: grpc.ServiceError) => err.code === grpc.status.UNAUTHENTICATED,
        );
      }
      const ok = await authenticate(
        await signChallenge(aliceKey, { nonce: ch.nonce, subject: 'alice', audience: ch.audience }),
      );
      assert.equal(unverifiedSessionClaims(ok.sessionToken)?.sub, 'alice');
    } finally {
      await g.stop();
    }
  });

  it("the participant's download and submission end at their deadline when the aggregator stops answering", async () => {
    // A relay in front of the aggregator that, once stalled, forwards nothing more either way: the
    // aggregator's host froze with the connection open.
    let stalled = false;
    const sockets = new Set<Socket>();
    const relay = createServer((client) => {
      const upstream = createConnection({ port: f.agg!.port, host: '127.0.0.1' });
      sockets.add(client).add(upstream);
      client.on('data', (b) => stalled || upstream.write(b));
      upstream.on('data', (b) => stalled || client.write(b));
      for (const s of [client, upstream]) s.on('error', () => {}).on('close', () => sockets.delete(s));
    });
    await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
    const kit = f.memberKit('dave');
    const conn = new AggregatorConnection({
      address: `localhost:${(relay.address() as { port: number }).port}`,
      memberId: 'dave',
      identity: await identityOf(kit),
      tls: kit.tls,
      streamDeadlineMs: 1000,
    });
    try {
      await conn.authenticate();
      stalled = true;
      for (const call of [
        () => conn.downloadAggregate(1),
        () => conn.submitUpdate({ round: 1, attestation: 'x', totalBytes: 1 }, [new Uint8Array(1)]),
      ]) {
        await assert.rejects(call(), (err: unknown) => {
          assert.ok(err instanceof AggregatorError, String(err));
          assert.equal(err.codeName, 'DEADLINE_EXCEEDED');
          assert.equal(err.exitCode, 3, 'an unreachable aggregator, to retry');
          return true;
        });
      }
    } finally {
      conn.close();
      for (const s of sockets) s.destroy();
      relay.close();
    }
  });

  it('positive control: the round still takes honest updates', async () => {
    for (const [k, m] of ['alice', 'bob'].entries()) {
      const r = await p[m]!.submitChunks(task[m]!, await encoder.encode(update(k)), 10 * (k + 1));
      assert.equal(r.accepted, true);
    }
    assert.equal((await getRound(f.agg!.db, plan.id, 1))!.state, 'collecting');
  });
});
