import assert from 'node:assert/strict';
import { createPrivateKey, type JsonWebKey, sign } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { generateIdentity, signReceipt } from '@kpfl/kpt';
import { appendAudit, computeAuditHash, type Db, GENESIS_HASH, listAuditCheckpoints } from '@kpfl/store';
import {
  type AuditExport,
  type AuditIssueKind,
  type AuditVerdict,
  exportAudit,
  formatVerdict,
  signCheckpoint,
  verifyAuditDb,
  verifyAuditExport,
  verifyCheckpoint,
} from '../src/index.js';
import {
  asTamperingSuperuser,
  FEDERATION,
  federationKits,
  freshDb,
  PLAN,
  simulateFederation,
} from './fixtures.js';

function assertFails(v: AuditVerdict, kind: AuditIssueKind, seq: number | undefined, reason: RegExp): void {
  assert.equal(v.ok, false, 'verification must fail');
  assert.ok(v.firstError, 'a first error is named');
  assert.equal(v.firstError.kind, kind, `first error: ${JSON.stringify(v.firstError)}`);
  if (seq !== undefined) assert.equal(v.firstError.seq, seq, `first error: ${JSON.stringify(v.firstError)}`);
  assert.match(v.firstError.reason, reason);
  assert.match(formatVerdict(v), /audit verify: FAILED/);
}

/** A fresh schema with a two-round federation; each tamper test gets its own (the log is append-only). */
async function federationDb(prefix: string) {
  const env = await freshDb(prefix);
  try {
    const kits = await simulateFederation(env.db);
    return { ...env, kits, jwks: kits.jwks };
  } catch (err) {
    await env.cleanup();
    throw err;
  }
}

async function seqOf(db: Db, where: string, values: unknown[] = []): Promise<number> {
  const { rows } = await db.query<{ seq: string }>(
    `SELECT seq FROM audit_log WHERE ${where} ORDER BY seq LIMIT 1`,
    values,
  );
  assert.ok(rows[0], `no audit row where ${where}`);
  return Number(rows[0].seq);
}

before(async () => {
  await federationKits();
});

describe('an untouched federation', () => {
  let env: Awaited<ReturnType<typeof federationDb>>;
  before(async () => {
    env = await federationDb('audit_ok');
  });
  after(() => env.cleanup());

  it('verifies from the database and from its export, counting what it checked', async () => {
    const v = await verifyAuditDb(env.db, { federation: FEDERATION, jwks: env.jwks });
    assert.equal(v.ok, true, formatVerdict(v));
    assert.deepEqual(v.errors, []);
    const rows = Number((await env.db.query('SELECT count(*) AS n FROM audit_log')).rows[0].n);
    assert.deepEqual(v.checked, {
      rows,
      checkpoints: 2,
      attestations: 6,
      receipts: 6,
      certificates: 2,
      publishedRounds: 2,
      agreements: 2,
    });
    assert.match(formatVerdict(v), /^audit verify: OK — \d+ rows, 2 checkpoints, 6 attestations/);

    const doc = JSON.parse(
      JSON.stringify(await exportAudit(env.db, { federation: FEDERATION, jwks: env.jwks })),
    );
    assert.equal(doc.format, 'kpfl-audit-export');
    assert.equal(doc.log.length, rows);
    assert.equal(doc.contributions.length, 6);
    assert.equal(doc.certificates.length, 2);
    assert.ok(doc.jwks.keys.length >= 6, 'coordinator + 4 members + auditor');
    const offline = await verifyAuditExport(doc, { jwks: env.jwks });
    assert.equal(offline.ok, true, formatVerdict(offline));
    // Without a trusted JWKS the document's own is used.
    assert.equal((await verifyAuditExport(doc)).ok, true);
  });

  it('uses the JWKS stored for the federation when none is given', async () => {
    const v = await verifyAuditDb(env.db, { federation: FEDERATION });
    assert.equal(v.ok, true, formatVerdict(v));
  });

  it('signs checkpoints only when the head moved, unless forced; a checkpoint verifies only with a coordinator key', async () => {
    assert.equal(
      await signCheckpoint(env.db, env.kits.coordinator.signingKey, FEDERATION),
      undefined,
      'idle: nothing to sign',
    );
    const forced = await signCheckpoint(env.db, env.kits.coordinator.signingKey, FEDERATION, { force: true });
    assert.ok(forced);
    const payload = await verifyCheckpoint(forced.jws, env.jwks);
    assert.equal(payload.seq, forced.seq);
    assert.equal(payload.federation, FEDERATION);
    const alice = env.kits.members[0];
    const byMember = await signCheckpoint(env.db, { ...alice.identity }, FEDERATION, { force: true });
    assert.ok(byMember);
    await assert.rejects(verifyCheckpoint(byMember.jws, env.jwks), /not a coordinator key/);
    // ... and the verifier says so, naming the checkpoint.
    const v = await verifyAuditDb(env.db, { federation: FEDERATION, jwks: env.jwks });
    assertFails(v, 'bad-signature', byMember.seq, /not a coordinator key/);
    assert.equal((await listAuditCheckpoints(env.db)).length, 4);
  });

  it('a checkpoint whose payload names a member twice is refused, though its signature verifies', async () => {
    const key = env.kits.coordinator.signingKey;
    const header = JSON.stringify({ alg: 'EdDSA', kid: key.kid, typ: 'kpfl-audit-checkpoint+jwt' });
    const at = new Date().toISOString();
    const payload = `{"seq":999,"federation":"${FEDERATION}","seq":1,"headHash":"${GENESIS_HASH}","at":"${at}"}`;
    const input = `${Buffer.from(header).toString('base64url')}.${Buffer.from(payload).toString('base64url')}`;
    const signature = sign(
      null,
      Buffer.from(input),
      createPrivateKey({ key: key.privateJwk as JsonWebKey, format: 'jwk' }),
    );
    await assert.rejects(
      verifyCheckpoint(`${input}.${signature.toString('base64url')}`, env.jwks),
      /^AuditError: checkpoint payload has the member "seq" twice \(at \/\): duplicate JSON keys are refused$/,
    );
  });
});

describe('tampering in Postgres (as a superuser) is detected and the row named', {
  concurrency: true,
}, () => {
  it('an edited audit row', async () => {
    const env = await federationDb('audit_edit');
    try {
      const seq = await seqOf(env.db, `event = 'contribution.accepted' AND member = 'bob' AND round = 2`);
      await asTamperingSuperuser(env.db, (q) =>
        q(`UPDATE audit_log SET data = jsonb_set(data, '{exampleCount}', '5000') WHERE seq = $1`, [seq]).then(
          () => {},
        ),
      );
      const v = await verifyAuditDb(env.db, { federation: FEDERATION, jwks: env.jwks });
      assertFails(v, 'edited', seq, new RegExp(`row ${seq} \\(contribution.accepted\\) was edited`));
      assert.equal(v.errors.length, 1, `exactly one problem: ${formatVerdict(v)}`);
    } finally {
      await env.cleanup();
    }
  });

  it('a deleted audit row', async () => {
    const env = await federationDb('audit_delete');
    try {
      const seq = await seqOf(env.db, `event = 'contribution.refused' AND round = 1`);
      await asTamperingSuperuser(env.db, (q) =>
        q('DELETE FROM audit_log WHERE seq = $1', [seq]).then(() => {}),
      );
      const v = await verifyAuditDb(env.db, { federation: FEDERATION, jwks: env.jwks });
      assertFails(
        v,
        'missing',
        seq,
        new RegExp(`row ${seq} is missing: the log jumps from row ${seq - 1} to row ${seq + 1}`),
      );
    } finally {
      await env.cleanup();
    }
  });

  it('two audit rows swapped (reordered)', async () => {
    const env = await federationDb('audit_swap');
    try {
      const a = await seqOf(env.db, `event = 'contribution.accepted' AND member = 'alice' AND round = 1`);
      const b = await seqOf(env.db, `event = 'contribution.accepted' AND member = 'carol' AND round = 1`);
      await asTamperingSuperuser(env.db, async (q) => {
        await q('UPDATE audit_log SET seq = seq + 1000000 WHERE seq IN ($1, $2)', [a, b]);
        await q('UPDATE audit_log SET seq = $2 WHERE seq = $1 + 1000000', [a, b]);
        await q('UPDATE audit_log SET seq = $1 WHERE seq = $2 + 1000000', [a, b]);
      });
      const v = await verifyAuditDb(env.db, { federation: FEDERATION, jwks: env.jwks });
      assertFails(
        v,
        'reordered',
        a,
        new RegExp(`row ${a} holds the content of the row that follows row ${b - 1}`),
      );
      assert.deepEqual(
        v.errors.map((e) => [e.kind, e.seq]),
        [
          ['reordered', a],
          ['reordered', b],
        ],
      );
    } finally {
      await env.cleanup();
    }
  });

  it('an edited contribution row', async () => {
    const env = await federationDb('audit_contrib');
    try {
      await asTamperingSuperuser(env.db, (q) =>
        q(`UPDATE contributions SET example_count = 6000 WHERE member = 'carol' AND round = 2`).then(
          () => {},
        ),
      );
      const v = await verifyAuditDb(env.db, { federation: FEDERATION, jwks: env.jwks });
      assertFails(
        v,
        'mismatch',
        undefined,
        /contribution of carol to plan plan-1 round 2: recorded exampleCount 6000, the attestation says 520/,
      );
      assert.equal(v.firstError?.where, `contribution of carol to plan ${PLAN} round 2`);
    } finally {
      await env.cleanup();
    }
  });

  it('a deleted contribution (and the rows at the end of the log) after a checkpoint', async () => {
    const env = await federationDb('audit_trunc');
    try {
      const head = Number((await env.db.query('SELECT max(seq) AS s FROM audit_log')).rows[0].s);
      const lastCheckpoint = (await listAuditCheckpoints(env.db)).at(-1)!;
      await asTamperingSuperuser(env.db, async (q) => {
        await q(`DELETE FROM contributions WHERE member = 'alice' AND round = 2`);
        await q('DELETE FROM audit_log WHERE seq >= $1', [lastCheckpoint.seq - 2]);
      });
      const v = await verifyAuditDb(env.db, { federation: FEDERATION, jwks: env.jwks });
      assertFails(
        v,
        'truncated',
        lastCheckpoint.seq - 2,
        new RegExp(
          `the log ends at row ${lastCheckpoint.seq - 3}, but a checkpoint .* covers row ${lastCheckpoint.seq}`,
        ),
      );
      assert.ok(head > lastCheckpoint.seq);
      const kinds = v.errors.map((e) => e.kind);
      assert.ok(kinds.includes('mismatch'), 'the certificate no longer matches the accepted contributions');
      assert.ok(v.errors.some((e) => /accepted but not listed|listed but not accepted/.test(e.reason)));
    } finally {
      await env.cleanup();
    }
  });

  it('a row rewritten together with a recomputed hash', async () => {
    const env = await federationDb('audit_rewrite');
    try {
      const doc = await exportAudit(env.db, { federation: FEDERATION, jwks: env.jwks });
      const target = doc.log.find((r) => r.event === 'round.published' && r.round === 1)!;
      const { computeAuditHash } = await import('@kpfl/store');
      const forged = { ...target, data: { ...target.data, contributions: 2 } };
      forged.hash = computeAuditHash(forged);
      await asTamperingSuperuser(env.db, (q) =>
        q('UPDATE audit_log SET data = $2, hash = $3 WHERE seq = $1', [
          target.seq,
          JSON.stringify(forged.data),
          forged.hash,
        ]).then(() => {}),
      );
      const v = await verifyAuditDb(env.db, { federation: FEDERATION, jwks: env.jwks });
      assertFails(
        v,
        'broken-link',
        target.seq,
        new RegExp(`row ${target.seq} was rewritten \\(content and hash\\)`),
      );
    } finally {
      await env.cleanup();
    }
  });
});

describe('an edited export document is detected and the entry named', () => {
  let env: Awaited<ReturnType<typeof federationDb>>;
  let pristine: AuditExport;
  const copy = (): AuditExport => structuredClone(pristine);
  const verify = (doc: unknown) => verifyAuditExport(doc, { jwks: env.jwks });

  before(async () => {
    env = await federationDb('audit_doc');
    pristine = JSON.parse(
      JSON.stringify(await exportAudit(env.db, { federation: FEDERATION, jwks: env.jwks })),
    );
    assert.equal((await verify(pristine)).ok, true);
  });
  after(() => env.cleanup());

  it('a changed field of a row', async () => {
    const doc = copy();
    const row = doc.log[5];
    row.member = 'mallory';
    assertFails(await verify(doc), 'edited', row.seq, new RegExp(`row ${row.seq} .* was edited`));
  });

  it('a changed time of a row', async () => {
    const doc = copy();
    doc.log[3].at = '2000-01-01T00:00:00.000001Z';
    assertFails(await verify(doc), 'edited', doc.log[3].seq, /was edited/);
  });

  it('a dropped row', async () => {
    const doc = copy();
    const [dropped] = doc.log.splice(7, 1);
    assertFails(await verify(doc), 'missing', dropped.seq, new RegExp(`row ${dropped.seq} is missing`));
  });

  it('the last rows dropped with the head adjusted and the newest checkpoint removed: only a kept checkpoint shows it', async () => {
    const doc = copy();
    const newest = doc.checkpoints.at(-1)!;
    doc.log = doc.log.filter((r) => r.seq < newest.seq);
    doc.head = { seq: doc.log.at(-1)!.seq, hash: doc.log.at(-1)!.hash };
    doc.checkpoints = doc.checkpoints.filter((c) => c.seq <= doc.head.seq);
    // A consistent prefix of the chain with its own checkpoints is indistinguishable from an older export...
    assert.equal((await verify(doc)).ok, true);
    // ... unless the auditor kept a newer checkpoint (or the log still records that one was signed).
    const v = await verifyAuditExport(doc, { jwks: env.jwks, knownCheckpoints: [newest.jws] });
    assertFails(
      v,
      'truncated',
      doc.head.seq + 1,
      new RegExp(`covers row ${newest.seq}: rows ${doc.head.seq + 1}\\.\\.${newest.seq} were deleted`),
    );
    const withRow = copy();
    withRow.log = withRow.log.filter((r) => r.seq <= newest.seq + 1);
    withRow.head = { seq: withRow.log.at(-1)!.seq, hash: withRow.log.at(-1)!.hash };
    withRow.checkpoints = withRow.checkpoints.filter((c) => c.seq !== newest.seq);
    assertFails(
      await verify(withRow),
      'checkpoint',
      newest.seq + 1,
      /missing from the checkpoints \(removed\)/,
    );
  });

  it('the last rows dropped, head kept', async () => {
    const doc = copy();
    doc.log.splice(-2, 2);
    assertFails(await verify(doc), 'truncated', doc.log.at(-1)!.seq + 1, /declares head row .* were removed/);
  });

  it('two rows reordered', async () => {
    const doc = copy();
    [doc.log[4], doc.log[9]] = [doc.log[9], doc.log[4]];
    assertFails(
      await verify(doc),
      'reordered',
      doc.log[4].seq,
      new RegExp(`row ${doc.log[4].seq} is at position 5`),
    );
  });

  it('a contribution dropped', async () => {
    const doc = copy();
    const [c] = doc.contributions.splice(1, 1);
    const v = await verify(doc);
    assertFails(
      v,
      'mismatch',
      undefined,
      new RegExp(`accepted contribution of ${c.member} to plan ${PLAN} round ${c.round} that is missing`),
    );
    assert.ok(
      v.errors.some(
        (e) =>
          e.where === `certificate of plan ${PLAN} round ${c.round}` &&
          /listed but not accepted/.test(e.reason),
      ),
    );
  });

  it("a contribution's attestation replaced by a forged one", async () => {
    const doc = copy();
    const c = doc.contributions[0];
    const [h, p, s] = c.attestation.split('.');
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
    claims.exampleCount = 99_999;
    c.attestation = [h, Buffer.from(JSON.stringify(claims)).toString('base64url'), s].join('.');
    const v = await verify(doc);
    assert.equal(v.firstError?.where, `contribution of ${c.member} to plan ${PLAN} round ${c.round}`);
    assert.ok(
      v.errors.some((e) => e.kind === 'bad-signature' && /attestation does not verify/.test(e.reason)),
      formatVerdict(v),
    );
  });

  it('a receipt signed by someone else', async () => {
    const doc = copy();
    const c = doc.contributions[2];
    const mallory = await generateIdentity();
    c.receipt = await signReceipt(
      { ...mallory, kid: env.kits.coordinator.signingKey.kid },
      {
        federation: FEDERATION,
        round: c.round,
        member: c.member,
        attestationDigest: c.attestationDigest,
        receivedAt: new Date().toISOString(),
        status: 'accepted',
      },
    );
    assertFails(await verify(doc), 'bad-signature', undefined, /receipt: receipt signature does not verify/);
  });

  it("a certificate's signature dropped or altered", async () => {
    const doc = copy();
    const cert = doc.certificates[1].certificate as { signatures: { signature: string }[] };
    cert.signatures[2].signature = cert.signatures[1].signature;
    assertFails(
      await verify(doc),
      'bad-signature',
      undefined,
      /round certificate signature of member .* does not verify/,
    );
  });

  it('a certificate moved to another plan', async () => {
    const doc = copy();
    doc.certificates[0].planId = 'plan-other';
    const v = await verify(doc);
    assertFails(v, 'mismatch', undefined, /is signed for federation audit-fed plan plan-1 round 1/);
    assert.ok(
      v.errors.some((e) => /plan plan-1 round 1 is published but has no round certificate/.test(e.reason)),
    );
  });

  it('a checkpoint record edited', async () => {
    const doc = copy();
    doc.checkpoints[0].headHash = doc.log[0].hash;
    assertFails(
      await verify(doc),
      'checkpoint',
      doc.checkpoints[0].seq,
      /stored record differs from its signed payload/,
    );
  });

  it('keys swapped in the JWKS (attestations no longer verify with the trusted key set)', async () => {
    const doc = copy();
    const other = await generateIdentity();
    const alice = doc.jwks.keys.find((k) => (k as { kpfl_member?: string }).kpfl_member === 'alice')!;
    alice.x = other.publicJwk.x;
    const v = await verifyAuditExport(doc); // the document's own (edited) JWKS
    assert.equal(v.ok, false);
    assert.ok(
      v.errors.every((e) => /alice/.test(e.reason) || /alice/.test(e.where ?? '')),
      formatVerdict(v),
    );
    assert.equal((await verify(doc)).ok, true, "the trusted JWKS is used instead of the document's");
  });

  it('not an export at all, or a malformed row', async () => {
    assertFails(
      await verify({ hello: 'world' }),
      'format',
      undefined,
      /not a valid kpfl-audit-export v1 document: format/,
    );
    const doc = copy() as unknown as { log: Record<string, unknown>[] };
    doc.log[2].seq = 'three';
    assertFails(await verify(doc), 'format', undefined, /log\.2\.seq/);
    const extra = copy() as unknown as { log: Record<string, unknown>[] };
    extra.log[6].injected = true;
    assertFails(await verify(extra), 'format', 7, /log\.6/);
  });
});

describe('the log replays through the round state machine', () => {
  let env: Awaited<ReturnType<typeof federationDb>>;
  let pristine: AuditExport;
  const verify = (doc: unknown) => verifyAuditExport(doc, { jwks: env.jwks });
  /** Some issue (not necessarily the first) matches. */
  const assertIssue = (v: AuditVerdict, reason: RegExp) => {
    assert.equal(v.ok, false, 'verification must fail');
    assert.ok(
      v.errors.some((e) => e.kind === 'mismatch' && reason.test(e.reason)),
      `no issue matches ${reason}: ${JSON.stringify(v.errors)}`,
    );
  };
  /**
   * What a coordinator holding its key could write before anyone kept a checkpoint: the log with
   * some rows changed, renumbered and re-hashed, checkpoints dropped. Only the lifecycle can tell.
   */
  const rewritten = (edit: (log: AuditExport['log']) => AuditExport['log']): AuditExport => {
    const doc = structuredClone(pristine);
    let prevHash = GENESIS_HASH;
    doc.log = edit(doc.log.filter((r) => r.event !== 'checkpoint.signed')).map((r, i) => {
      const row = { ...r, seq: i + 1, prevHash };
      row.hash = computeAuditHash(row);
      prevHash = row.hash;
      return row;
    });
    doc.checkpoints = [];
    doc.head = { seq: doc.log.length, hash: prevHash };
    return doc;
  };

  before(async () => {
    env = await federationDb('audit_life');
    pristine = JSON.parse(
      JSON.stringify(await exportAudit(env.db, { federation: FEDERATION, jwks: env.jwks })),
    );
  });
  after(() => env.cleanup());

  it('a rewritten log with every move in order verifies (the control)', async () => {
    const v = await verify(rewritten((log) => log));
    assert.equal(v.ok, true, JSON.stringify(v.errors));
  });

  it('a round published without being closed', async () => {
    const v = await verify(
      rewritten((log) => log.filter((r) => !(r.event === 'round.closed' && r.round === 1))),
    );
    assertIssue(v, /\(round\.published\) is not a legal move of plan plan-1 round 1 from collecting/);
  });

  it('a round opened for a plan never scheduled', async () => {
    const v = await verify(rewritten((log) => log.filter((r) => r.event !== 'plan.scheduled')));
    assertIssue(v, /opens plan plan-1 round 1, but the log has no plan\.scheduled for plan plan-1 before it/);
  });

  it('a plan that ends twice', async () => {
    const v = await verify(
      rewritten((log) => [...log, { ...log.find((r) => r.event === 'plan.done')!, event: 'plan.cancelled' }]),
    );
    assertIssue(v, /\(plan\.cancelled\) is not a legal move of plan plan-1 from done/);
  });

  it('a round whose recorded state is not where its events leave it, or that has no events', async () => {
    const edited = structuredClone(pristine);
    edited.rounds[1]!.state = 'failed';
    assertIssue(
      await verify(edited),
      /plan plan-1 round 2 is failed, but the log's events leave it published/,
    );
    const extra = structuredClone(pristine);
    extra.rounds.push({ ...extra.rounds[1]!, round: 3, state: 'open', aggregateDigest: null });
    assertIssue(await verify(extra), /plan plan-1 round 3 exists, but the log has no round\.opened for it/);
    const dropped = structuredClone(pristine);
    dropped.rounds.pop();
    assertIssue(
      await verify(dropped),
      /the log records plan plan-1 round 2, but the export has no such round/,
    );
  });
});

describe('appendAudit inside a federation schema', () => {
  it('logs nothing when the transaction that carried it rolls back, so verification stays green', async () => {
    const env = await federationDb('audit_rollback');
    try {
      await assert.rejects(
        env.db.tx(async (client) => {
          await appendAudit(client, {
            federation: FEDERATION,
            event: 'round.failed',
            planId: PLAN,
            round: 3,
          });
          throw new Error('crash');
        }),
      );
      assert.equal((await verifyAuditDb(env.db, { federation: FEDERATION, jwks: env.jwks })).ok, true);
    } finally {
      await env.cleanup();
    }
  });
});
