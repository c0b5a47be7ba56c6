/**
 * Issue 13: members enroll with keys they make and make the consortium HE key among themselves, and
 * nothing the coordinator writes, stores or logs holds a member's private key or the HE key.
 *
 * Every step runs as the real CLI (child processes, each member's keys made by its own `kpfl member
 * init` in its own directory); the aggregator runs from the coordinator kit on real Postgres, Redis
 * and gRPC with mutual TLS.
 */
import assert from 'node:assert/strict';
import { createPrivateKey, randomBytes } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  createLogger,
  type RunningAggregator,
  redisConnection,
  schedulePlan,
  startLocalAggregator,
} from '../packages/aggregator/src/index.js';
import { identityOf, readCoordinatorKit, readMemberKit } from '../packages/cli/src/kits.js';
import {
  consortiumKeyId,
  createEncoder,
  DEFAULT_HE_PARAMS,
  serializeConsortiumKey,
} from '../packages/he/src/index.js';
import {
  createEnrollment,
  createTlsKeyAndCsr,
  type EnrollmentRequestClaims,
  fingerprintOf,
  generateIdentity,
  signEnrollmentRequest,
} from '../packages/kpt/src/index.js';
import { HeKeyStore, SIMULATED_TRAINING, SimulatedParticipant } from '../packages/participant/src/index.js';
import { type Db, DEFAULT_DATABASE_URL, dropSchema, getRound, openDb } from '../packages/store/src/index.js';
import {
  agreeRound,
  INITIAL_DIGEST,
  reportInitialModel,
  runKpfl,
  syntheticUpdate,
  waitFor,
} from './harness.js';

const LENGTH = 2_000;

/** `kpfl ...`; fails the test with its output unless it exits 0; returns its first JSON line. */
async function ok(args: string[]): Promise<Record<string, unknown>> {
  const r = await runKpfl(args);
  assert.equal(r.code, 0, `kpfl ${args.join(' ')}:\n${r.out}${r.err}`);
  return JSON.parse(r.out.split('\n')[0]!);
}

/** `kpfl member init` for `member` of `federation` into `out`, as the member runs it. */
const memberInit = (federation: string, member: string, out: string, extra: string[] = []) => [
  'member',
  'init',
  '--federation',
  federation,
  '--member',
  member,
  ...extra,
  '--out',
  out,
  '--json',
];

/** A user error: exit 2, one line on stderr starting "kpfl:", no stack trace; returns the message. */
async function refused(args: string[], message: RegExp): Promise<string> {
  const r = await runKpfl(args);
  assert.equal(r.code, 2, `exit code of kpfl ${args.join(' ')} (stderr: ${r.err})`);
  assert.equal(r.err.trim().split('\n').length, 1, `one line: ${r.err}`);
  assert.doesNotMatch(r.err, /\n\s+at /, 'no stack trace');
  assert.match(r.err.trim(), message);
  return r.err.trim().replace(/^kpfl: /, '');
}

function claimsOf(jws: string): EnrollmentRequestClaims {
  return JSON.parse(Buffer.from(jws.split('.')[1]!, 'base64url').toString('utf8'));
}

/** A request file as `kpfl member init` writes it, around the given signed request. */
function requestFile(request: string, fingerprint: string): string {
  const c = claimsOf(request);
  return `${JSON.stringify({ kind: 'kpfl-enrollment-request', version: 1, federation: c.federation, member: c.member, role: c.role, fingerprint, request }, null, 2)}\n`;
}

async function auditRows(db: Db, event: string, federation: string) {
  return (
    await db.query<{ seq: number; member: string | null; data: Record<string, unknown> }>(
      'SELECT seq::int, member, data FROM audit_log WHERE event = $1 AND federation = $2 ORDER BY seq',
      [event, federation],
    )
  ).rows;
}

describe('enrollment with member-made keys (issue 13)', () => {
  it('bad input: refused with a clear message, audited on the coordinator side, nothing registered', {
    timeout: 300_000,
  }, async (t) => {
    const id = randomBytes(4).toString('hex');
    const federation = `enr-bad-${id}`;
    const schema = `test_enr_bad_${id}`;
    const work = mkdtempSync(join(tmpdir(), 'kpfl-enroll-bad-'));
    t.after(async () => {
      await dropSchema(undefined, schema).catch(() => {});
      rmSync(work, { recursive: true, force: true });
    });
    await ok(['migrate', '--schema', schema]);
    const kits = join(work, 'kits');
    const kitDir = join(kits, 'coordinator');
    await ok(['coordinator', 'init', '--federation', federation, '--out', kits, '--json']);
    const db = await openDb({ schema, max: 2 });
    t.after(() => db.close());
    const add = (request: string, extra: string[] = []) => [
      'members',
      'add',
      '--request',
      request,
      '--kit',
      kitDir,
      '--schema',
      schema,
      ...extra,
    ];

    // Positive control: alice enrolls.
    const aliceDir = join(work, 'alice');
    await ok(memberInit(federation, 'alice', aliceDir));
    await ok(add(join(aliceDir, 'enrollment-request.json'), ['--json']));
    await ok([
      'member',
      'join',
      '--response',
      join(aliceDir, 'enrollment-response.json'),
      '--kit',
      aliceDir,
      '--json',
    ]);
    assert.equal(
      (await auditRows(db, 'member.enrolled', federation)).length,
      1,
      'control: alice is enrolled',
    );

    /** A refusal on the coordinator side: message, its audit entry, and nothing registered. */
    async function refusedByCoordinator(
      what: string,
      request: string,
      message: RegExp,
      claimed: { member: string; fingerprint: string },
    ) {
      const kitBefore = readFileSync(join(kitDir, 'coordinator.json'), 'utf8');
      const publishedBefore = readFileSync(join(kits, 'federation.json'), 'utf8');
      const enrolledBefore = (await auditRows(db, 'member.enrolled', federation)).length;
      const refusalsBefore = (await auditRows(db, 'member.enrollment_refused', federation)).length;
      const membersBefore = (await db.query('SELECT id, kid, status FROM members ORDER BY id')).rows;
      const responseOut = join(work, `${what.replaceAll(' ', '-')}.response.json`);
      const msg = await refused(add(request, ['--response-out', responseOut]), message);
      t.diagnostic(`${what}: exit 2, "${msg}"`);
      const refusals = await auditRows(db, 'member.enrollment_refused', federation);
      assert.equal(refusals.length, refusalsBefore + 1, `${what}: one member.enrollment_refused entry`);
      const entry = refusals.at(-1)!;
      assert.equal(entry.member, null, 'nobody was enrolled');
      assert.deepEqual(entry.data, {
        claimedMember: claimed.member,
        fingerprint: claimed.fingerprint,
        reason: msg.length > 256 ? entry.data.reason : msg,
      });
      assert.ok(String(entry.data.reason).length <= 256 + 20, 'the reason is bounded');
      assert.equal(
        readFileSync(join(kitDir, 'coordinator.json'), 'utf8'),
        kitBefore,
        `${what}: kit unchanged`,
      );
      assert.equal(
        readFileSync(join(kits, 'federation.json'), 'utf8'),
        publishedBefore,
        `${what}: JWKS unchanged`,
      );
      assert.equal(
        (await auditRows(db, 'member.enrolled', federation)).length,
        enrolledBefore,
        `${what}: no member.enrolled`,
      );
      assert.deepEqual(
        (await db.query('SELECT id, kid, status FROM members ORDER BY id')).rows,
        membersBefore,
      );
      assert.equal(existsSync(responseOut), false, `${what}: no response written`);
    }

    // 1. Proof of possession fails: a field changed after signing; a request signed by another key.
    const eve = await createEnrollment({ federation, memberId: 'eve' });
    const tampered = (() => {
      const [h, p, s] = eve.request.split('.');
      const payload = JSON.parse(Buffer.from(p!, 'base64url').toString());
      payload.role = 'auditor';
      return [h, Buffer.from(JSON.stringify(payload)).toString('base64url'), s].join('.');
    })();
    const tamperedFile = join(work, 'tampered.json');
    const tamperedFingerprint = fingerprintOf(Buffer.from(tampered.split('.')[1]!, 'base64url'));
    writeFileSync(tamperedFile, requestFile(tampered, tamperedFingerprint));
    await refusedByCoordinator(
      'tampered field',
      tamperedFile,
      /^kpfl: enrollment request proof of possession failed: its signature does not verify with the identity key it carries \(altered after signing, or signed by another key\)$/,
      { member: 'eve', fingerprint: tamperedFingerprint },
    );
    const mallory = await generateIdentity();
    const forged = await signEnrollmentRequest(mallory, claimsOf(eve.request));
    const forgedFile = join(work, 'forged.json');
    writeFileSync(forgedFile, requestFile(forged.request, forged.fingerprint));
    await refusedByCoordinator('signed by another key', forgedFile, /proof of possession failed/, {
      member: 'eve',
      fingerprint: forged.fingerprint,
    });

    // 2. An id already enrolled: a second `kpfl member init` for alice, with keys of its own.
    const alice2 = join(work, 'alice-again');
    const again = await ok(memberInit(federation, 'alice', alice2));
    await refusedByCoordinator(
      'id already enrolled',
      join(alice2, 'enrollment-request.json'),
      new RegExp(
        `^kpfl: "alice" is already a member of ${federation}: an enrollment request cannot replace a member's keys \\(request ${again.fingerprint}\\); choose another id$`,
      ),
      { member: 'alice', fingerprint: String(again.fingerprint) },
    );

    // 3. A CSR whose key is not the request's TLS key (validly signed by the identity key).
    const other = await createTlsKeyAndCsr('eve');
    const mixed = await signEnrollmentRequest(eve.secrets.identity, {
      ...claimsOf(eve.request),
      csr: other.csrPem,
    });
    const mixedFile = join(work, 'mixed.json');
    writeFileSync(mixedFile, requestFile(mixed.request, mixed.fingerprint));
    await refusedByCoordinator(
      'CSR key differs',
      mixedFile,
      /^kpfl: the CSR's public key is not the request's tlsPublicKey: the request was assembled from two different TLS keys$/,
      { member: 'eve', fingerprint: mixed.fingerprint },
    );

    // Control for the above: eve's own, untouched request enrolls.
    const eveFile = join(work, 'eve.json');
    writeFileSync(eveFile, requestFile(eve.request, eve.fingerprint));
    await ok(add(eveFile, ['--response-out', join(work, 'eve.response.json'), '--json']));

    // 4. Member side: a response for another federation, and one for another member. The member side
    // has no audit log: the refusal is the message, and no kit is written.
    const bobDir = join(work, 'bob');
    await ok(['member', 'init', '--federation', federation, '--member', 'bob', '--out', bobDir, '--json']);
    const otherKits = join(work, 'other-kits');
    await ok(['coordinator', 'init', '--federation', `other-${id}`, '--out', otherKits, '--json']);
    const bobOther = join(work, 'bob-other');
    await ok(memberInit(`other-${id}`, 'bob', bobOther));
    await ok([
      'members',
      'add',
      '--request',
      join(bobOther, 'enrollment-request.json'),
      '--kit',
      join(otherKits, 'coordinator'),
      '--schema',
      schema,
      '--json',
    ]);
    const bobBefore = readdirSync(bobDir).sort();
    const foreign = await refused(
      ['member', 'join', '--response', join(bobOther, 'enrollment-response.json'), '--kit', bobDir],
      new RegExp(
        `enrollment response is for federation other-${id}, but this kit is for ${federation}: not your response; nothing written$`,
      ),
    );
    t.diagnostic(`response for another federation: exit 2, "${foreign}"`);
    const notBobs = await refused(
      ['member', 'join', '--response', join(aliceDir, 'enrollment-response.json'), '--kit', bobDir],
      /enrollment response is for member alice, but this kit is bob's: not your response; nothing written$/,
    );
    t.diagnostic(`response for another member: exit 2, "${notBobs}"`);
    assert.deepEqual(readdirSync(bobDir).sort(), bobBefore, 'no kit written, the secrets kept');
    assert.ok(bobBefore.includes('enrollment-secrets.json') && !bobBefore.includes('member.json'));
    // Control: bob's own response completes his kit.
    await ok(add(join(bobDir, 'enrollment-request.json'), ['--json']));
    await ok([
      'member',
      'join',
      '--response',
      join(bobDir, 'enrollment-response.json'),
      '--kit',
      bobDir,
      '--json',
    ]);
    assert.deepEqual(readdirSync(bobDir).sort(), [
      'enrollment-request.json',
      'enrollment-response.json',
      'member.json',
    ]);

    // The log verifies with enrolled members only, and names every enrollment.
    const v = await runKpfl([
      'audit',
      'verify',
      '--federation',
      federation,
      '--schema',
      schema,
      '--jwks',
      join(kits, 'federation.json'),
    ]);
    assert.equal(v.code, 0, v.out + v.err);
    assert.deepEqual(
      (await auditRows(db, 'member.enrolled', federation)).map((r) => r.member),
      ['alice', 'eve', 'bob'],
    );
  });

  it('3 members and an auditor enroll, run 2 rounds; no private key on the coordinator side', {
    timeout: 600_000,
  }, async (t) => {
    const id = randomBytes(4).toString('hex');
    const federation = `enr-${id}`;
    const schema = `test_enr_${id}`;
    const redisPrefix = `kpfl-test:${id}`;
    const work = mkdtempSync(join(tmpdir(), 'kpfl-enroll-'));
    // The coordinator's side: its kit root, the requests it received, the responses it wrote, its log.
    const coordinatorSide = join(work, 'coordinator-host');
    const kits = join(coordinatorSide, 'kits');
    const kitDir = join(kits, 'coordinator');
    const inbox = join(coordinatorSide, 'requests');
    const outbox = join(coordinatorSide, 'responses');
    mkdirSync(inbox, { recursive: true });
    mkdirSync(outbox, { recursive: true });
    let agg: RunningAggregator | undefined;
    const participants: SimulatedParticipant[] = [];
    const redis = redisConnection();
    t.after(async () => {
      for (const p of participants) p.close();
      await agg?.close();
      await redis.quit().catch(() => {});
      await dropSchema(undefined, schema).catch(() => {});
      rmSync(work, { recursive: true, force: true });
    });

    await ok(['migrate', '--schema', schema]);
    await ok(['coordinator', 'init', '--federation', federation, '--out', kits, '--json']);
    const parties = [
      { id: 'alice', role: 'participant' },
      { id: 'bob', role: 'participant' },
      { id: 'carol', role: 'participant' },
      { id: 'auditor-1', role: 'auditor' },
    ] as const;
    const memberDir = (m: string) => join(work, 'member-hosts', m);
    const seconds: number[] = [];
    for (const p of parties) {
      const started = performance.now();
      const init = await ok(memberInit(federation, p.id, memberDir(p.id), ['--role', p.role]));
      // The request travels to the coordinator; the response travels back.
      copyFileSync(join(memberDir(p.id), 'enrollment-request.json'), join(inbox, `${p.id}.json`));
      const added = await ok([
        'members',
        'add',
        '--request',
        join(inbox, `${p.id}.json`),
        '--kit',
        kitDir,
        '--schema',
        schema,
        '--response-out',
        join(outbox, `${p.id}.json`),
        '--aggregator',
        'localhost:50051',
        '--json',
      ]);
      assert.equal(
        added.fingerprint,
        init.fingerprint,
        'the coordinator names the fingerprint the member read out',
      );
      copyFileSync(join(outbox, `${p.id}.json`), join(memberDir(p.id), 'enrollment-response.json'));
      const joined = await ok([
        'member',
        'join',
        '--response',
        join(memberDir(p.id), 'enrollment-response.json'),
        '--kit',
        memberDir(p.id),
        '--ca-digest',
        String(added.caDigest),
        '--json',
      ]);
      assert.equal(joined.role, p.role);
      seconds.push((performance.now() - started) / 1000);
    }
    t.diagnostic(
      `one enrollment (member init + members add + member join, three kpfl processes): ${seconds.map((s) => s.toFixed(2)).join(', ')} s; mean ${(seconds.reduce((a, b) => a + b, 0) / seconds.length).toFixed(2)} s`,
    );
    for (const p of parties) {
      const dir = memberDir(p.id);
      const kitFile = join(dir, p.role === 'auditor' ? 'auditor.json' : 'member.json');
      assert.equal((statSync(kitFile).mode & 0o777).toString(8), '600', kitFile);
      assert.equal((statSync(dir).mode & 0o777).toString(8), '700', dir);
      assert.equal(existsSync(join(dir, 'enrollment-secrets.json')), false, 'one copy of the keys: the kit');
    }

    // The aggregator, from the coordinator kit, on mutual TLS.
    const coordinator = readCoordinatorKit(kitDir);
    assert.deepEqual(
      coordinator.members.map((m) => [m.id, m.roles]),
      parties.map((p) => [p.id, [p.role]]),
    );
    const aggregatorLog = join(coordinatorSide, 'aggregator.log');
    agg = await startLocalAggregator(coordinator, {
      schema,
      ownerDatabaseUrl: DEFAULT_DATABASE_URL,
      actor: 'operator:test',
      redisPrefix,
      log: createLogger('aggregator', { file: aggregatorLog }),
    });
    const address = `localhost:${agg.port}`;

    // The consortium HE key is the members' own: alice makes epoch 1's key with `kpfl he-key create`
    // and delivers it to bob and carol, who fetch theirs the same way; the aggregator relays envelopes.
    const heKeyCreate = async (m: string) => {
      const r = await runKpfl(['he-key', 'create', '--kit', memberDir(m), '--aggregator', address, '--json']);
      assert.equal(r.code, 0, r.out + r.err);
      return JSON.parse(r.out.trim().split('\n').at(-1)!) as { epoch: number; keyId: string; made: boolean };
    };
    const made = await heKeyCreate('alice');
    assert.deepEqual([made.epoch, made.made], [1, true]);
    for (const m of ['bob', 'carol']) {
      const fetched = await heKeyCreate(m);
      assert.deepEqual([fetched.epoch, fetched.keyId, fetched.made], [1, made.keyId, false]);
    }
    const heKeys = Object.fromEntries(
      ['alice', 'bob', 'carol'].map((m) => [m, new HeKeyStore(memberDir(m)).get(1)!]),
    );
    for (const m of ['alice', 'bob', 'carol']) assert.equal(consortiumKeyId(heKeys[m]!), made.keyId, m);

    const plan = await schedulePlan(agg.db, agg.queue, {
      id: `${federation}-plan`,
      federation,
      rounds: 2,
      minParticipants: 3,
      fraction: 1,
      deadlineSeconds: 120,
      mode: 'he',
      heParams: DEFAULT_HE_PARAMS,
      parameterCount: LENGTH,
      training: SIMULATED_TRAINING,
      seed: 1,
      initialModelDigest: INITIAL_DIGEST,
    });
    const encoders = [];
    for (const m of ['alice', 'bob', 'carol']) {
      const kit = readMemberKit(memberDir(m));
      participants.push(
        new SimulatedParticipant({
          federation,
          memberId: m,
          identity: await identityOf(kit),
          coordinatorJwks: kit.coordinatorJwks,
          address,
          tls: kit.tls,
        }),
      );
      const enc = await createEncoder({ mode: 'he', key: heKeys[m]!, workers: 0 });
      t.after(() => enc.close());
      encoders.push(enc);
    }
    await reportInitialModel(participants[0]!);
    for (const round of [1, 2]) {
      const receipts = [];
      for (const [k, p] of participants.entries()) {
        const task = await p.waitForTrainTask();
        assert.equal(task.round, round);
        receipts.push({
          p,
          attestationDigest: (await p.submitValues(task, syntheticUpdate(LENGTH, k, 10), encoders[k]!, 10))
            .attestationDigest,
        });
      }
      await waitFor(
        `round ${round} published`,
        async () => (await getRound(agg!.db, plan.id, round))?.state === 'published',
      );
      await agreeRound(round, receipts, `sha256:${String(round).repeat(64)}`);
    }

    // The auditor reads the log over the Audit service with its enrolled kit, and verifies it offline.
    const auditorDir = memberDir('auditor-1');
    const exported = join(auditorDir, 'audit.json');
    const exportRun = await runKpfl([
      'audit',
      'export',
      '--kit',
      auditorDir,
      '--aggregator',
      address,
      '--out',
      exported,
    ]);
    assert.equal(exportRun.code, 0, exportRun.out + exportRun.err);
    const verified = await runKpfl([
      'audit',
      'verify',
      '--file',
      exported,
      '--jwks',
      join(auditorDir, 'federation.json'),
    ]);
    assert.equal(verified.code, 0, verified.out + verified.err);
    assert.match(verified.out, /^audit verify: OK/);
    const events = (
      JSON.parse(readFileSync(exported, 'utf8')).log as { event: string; member: string | null }[]
    )
      .filter((r) => r.event === 'member.enrolled')
      .map((r) => r.member);
    assert.deepEqual(
      events,
      parties.map((p) => p.id),
      'the auditor sees every enrollment',
    );

    // ---- The scan. Needles: every private key of every party, in every encoding it could take.
    const needles: { what: string; text: string }[] = [];
    for (const p of parties) {
      const kit = readMemberKit(memberDir(p.id));
      const forms = (what: string, bytes: Buffer) => [
        { what: `${p.id} ${what} (base64url)`, text: bytes.toString('base64url') },
        { what: `${p.id} ${what} (base64)`, text: bytes.toString('base64') },
        { what: `${p.id} ${what} (hex)`, text: bytes.toString('hex') },
        { what: `${p.id} ${what} (HEX)`, text: bytes.toString('hex').toUpperCase() },
      ];
      needles.push(...forms('identity key d', Buffer.from(kit.identity.privateJwk.d!, 'base64url')));
      needles.push(...forms('encryption key d', Buffer.from(kit.encryption!.privateJwk.d!, 'base64url')));
      const tls = createPrivateKey(kit.tls.keyPem);
      needles.push(...forms('TLS key d', Buffer.from(tls.export({ format: 'jwk' }).d!, 'base64url')));
      needles.push(...forms('TLS key PKCS#8 DER', tls.export({ format: 'der', type: 'pkcs8' })));
      const pemLines = kit.tls.keyPem.split('\n').filter((l) => l && !l.startsWith('-----'));
      needles.push({ what: `${p.id} TLS key PEM first line`, text: pemLines[0]! });
      needles.push({ what: `${p.id} TLS key PEM`, text: kit.tls.keyPem.trim() });
      needles.push({
        what: `${p.id} TLS key PEM (JSON-escaped)`,
        text: JSON.stringify(kit.tls.keyPem).slice(1, -1),
      });
    }
    assert.equal(needles.length, parties.length * 19);
    // The consortium HE secret key the members made: whole, and any 48 bytes of it.
    const heSecret = Buffer.from(heKeys.alice!.secretKey);
    for (const [what, bytes] of [
      ['HE secret key', heSecret],
      [
        'HE secret key, 48 bytes from its middle',
        heSecret.subarray(heSecret.length >> 1, (heSecret.length >> 1) + 48),
      ],
    ] as const) {
      needles.push({ what: `${what} (base64)`, text: bytes.toString('base64') });
      needles.push({ what: `${what} (base64url)`, text: bytes.toString('base64url') });
      needles.push({ what: `${what} (hex)`, text: bytes.toString('hex') });
    }
    needles.push({ what: 'HE key file', text: serializeConsortiumKey(heKeys.alice!) });
    const find = (haystack: Buffer) => needles.filter((n) => haystack.includes(n.text)).map((n) => n.what);

    function filesUnder(dir: string): string[] {
      return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)],
      );
    }
    const scanFiles = () => {
      const files = filesUnder(coordinatorSide);
      return { files, found: files.flatMap((f) => find(readFileSync(f)).map((w) => `${w} in ${f}`)) };
    };
    async function scanPostgres(): Promise<{ rows: number; tables: string[]; found: string[] }> {
      const tables = (
        await agg!.db.query<{ table_name: string }>(
          `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_type = 'BASE TABLE'`,
          [schema],
        )
      ).rows.map((r) => r.table_name);
      const parts: Buffer[] = [];
      let rows = 0;
      for (const table of tables) {
        const r = await agg!.db.query<{ r: string }>(
          `SELECT row_to_json(t)::text AS r FROM ${schema}."${table}" t`,
        );
        for (const row of r.rows) parts.push(Buffer.from(row.r), Buffer.from('\n'));
        const raw = await agg!.db.query(`SELECT * FROM ${schema}."${table}"`);
        for (const row of raw.rows)
          for (const v of Object.values(row))
            parts.push(
              Buffer.isBuffer(v)
                ? v
                : Buffer.from(typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)),
            );
        rows += r.rows.length;
      }
      return { rows, tables, found: find(Buffer.concat(parts)) };
    }
    async function scanRedis(): Promise<{ keys: number; found: string[] }> {
      const keys = await redis.keys(`${redisPrefix}:*`);
      const parts: Buffer[] = [];
      for (const k of keys) {
        const type = await redis.type(k);
        const vals: (string | Buffer)[] =
          type === 'string'
            ? [(await redis.getBuffer(k)) ?? '']
            : type === 'hash'
              ? Object.entries(await redis.hgetall(k)).flat()
              : type === 'list'
                ? await redis.lrange(k, 0, -1)
                : type === 'set'
                  ? await redis.smembers(k)
                  : type === 'zset'
                    ? await redis.zrange(k, 0, -1, 'WITHSCORES')
                    : type === 'stream'
                      ? [JSON.stringify(await redis.xrange(k, '-', '+'))]
                      : [`unknown type ${type}`];
        parts.push(Buffer.from(k));
        for (const v of vals) parts.push(Buffer.isBuffer(v) ? v : Buffer.from(v), Buffer.from('\0'));
      }
      return { keys: keys.length, found: find(Buffer.concat(parts)) };
    }

    const files = scanFiles();
    assert.ok(files.files.includes(join(kitDir, 'coordinator.json')) && files.files.includes(aggregatorLog));
    assert.ok(files.files.filter((f) => f.startsWith(outbox)).length === 4, 'the four responses are scanned');
    const log = readFileSync(aggregatorLog, 'utf8');
    assert.match(log, /round\.published|"round":2/, 'the log was really written');
    assert.deepEqual(files.found, [], 'no private key in any file of the coordinator side');
    const pgScan = await scanPostgres();
    assert.ok(pgScan.tables.includes('members') && pgScan.tables.includes('audit_log') && pgScan.rows > 20);
    assert.deepEqual(pgScan.found, [], 'no private key in any Postgres row');
    const redisScan = await scanRedis();
    assert.ok(redisScan.keys > 0, 'the aggregator uses this Redis prefix');
    assert.deepEqual(redisScan.found, [], 'no private key under the Redis prefix');
    t.diagnostic(
      `scanned ${files.files.length} files, ${pgScan.rows} rows of ${pgScan.tables.length} tables, ${redisScan.keys} Redis keys for ${needles.length} needles: nothing found`,
    );

    // Positive controls: each scan finds a key planted where it looks, in a different encoding each.
    const aliceKit = readMemberKit(memberDir('alice'));
    copyFileSync(join(memberDir('alice'), 'member.json'), join(outbox, 'planted.json'));
    const plantedFiles = scanFiles().found;
    assert.ok(
      plantedFiles.some((w) => w.startsWith('alice identity key d (base64url) in ')),
      plantedFiles.join('\n'),
    );
    assert.ok(plantedFiles.some((w) => w.startsWith('alice TLS key PEM (JSON-escaped) in ')));
    rmSync(join(outbox, 'planted.json'));
    await agg.db.query(`CREATE TABLE ${schema}.planted (b bytea)`);
    await agg.db.query(`INSERT INTO ${schema}.planted VALUES ($1)`, [
      Buffer.from(aliceKit.encryption!.privateJwk.d!, 'base64url'),
    ]);
    assert.deepEqual(
      (await scanPostgres()).found.filter((w) => w.startsWith('alice encryption key d')),
      ['alice encryption key d (hex)'],
      'Postgres: the raw bytes, as row_to_json prints bytea',
    );
    await agg.db.query(`DROP TABLE ${schema}.planted`);
    await redis.hset(
      `${redisPrefix}:planted`,
      'k',
      createPrivateKey(aliceKit.tls.keyPem).export({ format: 'der', type: 'pkcs8' }).toString('base64'),
    );
    assert.ok((await scanRedis()).found.includes('alice TLS key PKCS#8 DER (base64)'));
    await redis.del(`${redisPrefix}:planted`);
  });
});
