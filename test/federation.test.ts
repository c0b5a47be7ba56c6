import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { verifyRoundCertificate } from '../packages/kpt/src/index.js';
import { openDb } from '../packages/store/src/index.js';
import { maxAbsDiff, runKeptDemo } from './helpers.js';

test('the same seeded federation in plain, he and secure modes ends with the same model', {
  timeout: 900_000,
}, async (t) => {
  // Three participants: the fewest secure aggregation runs with (with two, each reads the other).
  const plain = await runKeptDemo({ mode: 'plain', participants: 3 });
  t.after(plain.cleanup);
  const reportFile = join(tmpdir(), `kpfl-demo-report-${process.pid}.html`);
  const he = await runKeptDemo({ mode: 'he', participants: 3, report: reportFile });
  t.after(he.cleanup);
  t.after(() => rmSync(reportFile, { force: true }));
  const secure = await runKeptDemo({ mode: 'secure', participants: 3 });
  t.after(secure.cleanup);

  for (const run of [plain, he, secure]) {
    assert.equal(run.result.rounds.length, 2, 'both rounds reported');
    for (const r of run.result.rounds)
      assert.equal(r.participants, 3, `round ${r.round} folded every update`);
    // Every participant holds a bit-identical global model.
    assert.deepEqual(Buffer.from(run.weights[0]!.buffer), Buffer.from(run.weights[1]!.buffer));
    assert.ok(run.result.finalAccuracy > 0.6, `learned something: ${run.result.finalAccuracy}`);
  }
  const diff = maxAbsDiff(plain.weights[0]!, he.weights[0]!);
  t.diagnostic(
    `max |plain - he| = ${diff.toExponential(2)}; accuracy plain ${plain.result.finalAccuracy} he ${he.result.finalAccuracy}`,
  );
  assert.ok(diff <= 1e-6, `weights agree to 1e-6 (got ${diff})`);
  // Fixed point mod t (ADR 0009) rounds each pre-weighted value to 2^-s: far below float32 noise
  // on the mean update.
  const secureDiff = maxAbsDiff(plain.weights[0]!, secure.weights[0]!);
  t.diagnostic(
    `max |plain - secure| = ${secureDiff.toExponential(2)}; accuracy secure ${secure.result.finalAccuracy}; bytes per update secure ${secure.result.bytesPerUpdate}, he ${he.result.bytesPerUpdate}, plain ${plain.result.bytesPerUpdate}`,
  );
  assert.ok(secureDiff <= 1e-6, `secure weights agree with plain to 1e-6 (got ${secureDiff})`);
  assert.ok(
    Math.abs(plain.result.finalAccuracy - secure.result.finalAccuracy) <= 0.001,
    'secure and plain accuracies equal to 0.1 pp',
  );
  assert.ok(
    secure.result.bytesPerUpdate < he.result.bytesPerUpdate,
    'BFV packs N values per ciphertext, CKKS N/2: a secure update is smaller than an he one',
  );
  assert.ok(
    Math.abs(plain.result.finalAccuracy - he.result.finalAccuracy) <= 0.001,
    'accuracies equal to 0.1 pp',
  );
  assert.ok(he.result.bytesPerUpdate > plain.result.bytesPerUpdate, 'ciphertexts are larger than float32');
  // Every published round carries a certificate with K+1 signatures that verify against the federation JWKS.
  const schema = `demo_${he.result.federation.slice('demo-'.length)}`;
  const db = await openDb({ migrate: true, schema });
  try {
    const jwks = (await db.query('SELECT jwks FROM federations')).rows[0].jwks;
    const certs = await db.query('SELECT round, certificate FROM certificates ORDER BY round');
    assert.equal(certs.rows.length, 2, 'one certificate per published round');
    for (const { round, certificate } of certs.rows) {
      const v = await verifyRoundCertificate(certificate, jwks, { requireAllMembers: true });
      assert.deepEqual(
        v.signers.sort(),
        ['member-1', 'member-2', 'member-3'],
        `round ${round}: every member countersigned`,
      );
      assert.equal(certificate.signatures.length, 4, `round ${round}: K+1 signatures`);
    }
  } finally {
    await db.close();
  }
  // The demo enrolls its members: their keys, and the HE key a participant made, are in the members'
  // directories only, never in what the coordinator's process wrote (its kit, the exchange, its log).
  const work = he.result.workDir!;
  const coordinatorSide = ['coordinator/coordinator.json', 'aggregator.log', 'federation.json']
    .map((f) => readFileSync(join(work, f), 'utf8'))
    .concat(readdirSync(join(work, 'exchange')).map((f) => readFileSync(join(work, 'exchange', f), 'utf8')))
    .join('\n');
  for (const m of ['member-1', 'member-2', 'member-3']) {
    const kit = JSON.parse(readFileSync(join(work, 'members', m, 'member.json'), 'utf8'));
    const heKey = JSON.parse(readFileSync(join(work, 'members', m, 'he-keys', 'epoch-1.json'), 'utf8'));
    for (const secret of [kit.identity.privateJwk.d, kit.encryption.privateJwk.d, heKey.secretKey])
      assert.equal(coordinatorSide.includes(secret), false, `${m}: a private key on the coordinator's side`);
  }
  const db2 = await openDb({ schema });
  try {
    const made = await db2.query(`SELECT actor FROM audit_log WHERE event = 'key.created'`);
    assert.deepEqual(
      made.rows.map((r) => r.actor).filter((a) => a.startsWith('member-')).length,
      1,
      'one participant made the HE key',
    );
  } finally {
    await db2.close();
  }
  // The demo's HTML report carries the accuracy curve.
  assert.equal(he.result.report, reportFile);
  const html = readFileSync(reportFile, 'utf8');
  assert.match(html, /<svg/);
  assert.ok(
    html.includes(he.result.rounds[1]!.accuracy.toString().slice(0, 5)),
    'the report lists the round accuracies',
  );
});
