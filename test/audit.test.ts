import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { createEncoder } from '../packages/he/src/index.js';
import { AggregatorError } from '../packages/participant/src/index.js';
import { openDb } from '../packages/store/src/index.js';
import { reportInitialModel, runKpfl, startTestFederation, syntheticUpdate, waitFor } from './harness.js';
import { runKeptDemo } from './helpers.js';

test('after a demo federation the audit log verifies; each tampering is detected and named', {
  timeout: 300_000,
}, async (t) => {
  const demo = await runKeptDemo({ mode: 'he', participants: 2, rounds: 2 });
  t.after(demo.cleanup);
  const schema = `demo_${demo.result.federation.slice('demo-'.length)}`;
  const base = ['--federation', demo.result.federation, '--schema', schema];
  const db = await openDb({ migrate: true, schema });
  t.after(() => db.close());

  const ok = await runKpfl(['audit', 'verify', ...base, '--json']);
  assert.equal(ok.code, 0, ok.out + ok.err);
  const verdict = JSON.parse(ok.out);
  assert.equal(verdict.ok, true);
  assert.ok(
    verdict.checked.attestations >= 4 && verdict.checked.certificates >= 2,
    JSON.stringify(verdict.checked),
  );

  const contributions = await runKpfl(['audit', 'contributions', ...base, '--format', 'json']);
  assert.equal(contributions.code, 0, contributions.err);
  const rows = JSON.parse(contributions.out);
  assert.equal(rows.length, 4, '2 members x 2 rounds');
  assert.ok(rows.every((r: { status: string }) => r.status === 'accepted'));

  // Superuser edits, each undone before the next, with the trigger bypassed the way an attacker with the server would.
  const asSuperuser = async (sql: string, values: unknown[] = []) => {
    await db.tx(async (c) => {
      await c.query('SET LOCAL session_replication_role = replica');
      await c.query(sql, values);
    });
  };
  const { rows: log } = await db.query<{ seq: string; data: unknown; event: string }>(
    `SELECT seq, data, event FROM audit_log WHERE event = 'contribution.accepted' ORDER BY seq LIMIT 2`,
  );
  const [a, b] = log.map((r) => ({ ...r, seq: Number(r.seq) }));

  await t.test('an edited contribution row', async () => {
    const edited = { ...(a!.data as object), exampleCount: 1 };
    await asSuperuser('UPDATE audit_log SET data = $2 WHERE seq = $1', [a!.seq, JSON.stringify(edited)]);
    const r = await runKpfl(['audit', 'verify', ...base]);
    await asSuperuser('UPDATE audit_log SET data = $2 WHERE seq = $1', [a!.seq, JSON.stringify(a!.data)]);
    assert.equal(r.code, 1);
    assert.match(r.out, new RegExp(`seq ${a!.seq}|row ${a!.seq}|#${a!.seq}`));
    assert.match(r.out, /edited/);
  });

  await t.test('a deleted row', async () => {
    await asSuperuser(
      'CREATE TABLE audit_backup AS SELECT * FROM audit_log WHERE seq = $1'.replace('$1', String(b!.seq)),
    );
    await asSuperuser('DELETE FROM audit_log WHERE seq = $1', [b!.seq]);
    const r = await runKpfl(['audit', 'verify', ...base]);
    await asSuperuser('INSERT INTO audit_log SELECT * FROM audit_backup');
    await asSuperuser('DROP TABLE audit_backup');
    assert.equal(r.code, 1);
    assert.match(r.out, /missing/);
    assert.match(r.out, new RegExp(String(b!.seq)));
  });

  await t.test('two rows reordered', async () => {
    // Swap the positions of two rows by exchanging their sequence numbers.
    const swapSeq = async () => {
      await asSuperuser('UPDATE audit_log SET seq = 2000000000 WHERE seq = $1', [a!.seq]);
      await asSuperuser('UPDATE audit_log SET seq = $1 WHERE seq = $2', [a!.seq, b!.seq]);
      await asSuperuser('UPDATE audit_log SET seq = $1 WHERE seq = 2000000000', [b!.seq]);
    };
    await swapSeq();
    const r = await runKpfl(['audit', 'verify', ...base]);
    await swapSeq();
    assert.equal(r.code, 1);
    assert.match(r.out, /reordered/);
    assert.match(r.out, new RegExp(String(a!.seq)));
  });

  await t.test('an edited export file', async () => {
    const file = join(demo.result.workDir!, 'export.json');
    const exp = await runKpfl(['audit', 'export', ...base, '--out', file]);
    assert.equal(exp.code, 0, exp.err);
    const untouched = await runKpfl(['audit', 'verify', '--file', file]);
    assert.equal(
      untouched.code,
      0,
      `the untouched export verifies offline: ${untouched.out}${untouched.err}`,
    );
    const doc = JSON.parse(readFileSync(file, 'utf8'));
    const row = doc.log.find((r: { event: string }) => r.event === 'round.published');
    row.data.aggregateDigest = `sha256:${'f'.repeat(64)}`;
    writeFileSync(file, JSON.stringify(doc));
    const r = await runKpfl(['audit', 'verify', '--file', file]);
    assert.equal(r.code, 1);
    assert.match(r.out, new RegExp(String(row.seq)));
  });

  assert.equal((await runKpfl(['audit', 'verify', ...base])).code, 0, 'restored log verifies again');
});

test('auditors read through the Audit service; roles are not interchangeable; bad filters are refused clearly', {
  timeout: 120_000,
}, async (t) => {
  const f = await startTestFederation({ members: ['alice', 'bob'], auditors: ['auditor-1'] });
  t.after(() => f.stop());
  await f.schedule({ rounds: 1, minParticipants: 2, parameterCount: 5_000, mode: 'plain' });
  const [alice, bob] = await Promise.all(['alice', 'bob'].map((m) => f.participant(m)));
  await reportInitialModel(alice!);
  const enc = await createEncoder({ mode: 'plain' });
  await alice!.submitValues(await alice!.waitForTrainTask(), syntheticUpdate(5_000, 1, 10), enc, 10);
  await bob!.submitValues(await bob!.waitForTrainTask(), syntheticUpdate(5_000, 2, 20), enc, 20);
  await waitFor(
    'round published',
    async () => (await f.agg!.db.query(`SELECT 1 FROM rounds WHERE state = 'published'`)).rows.length > 0,
  );

  const kit = join(f.work, 'auditors', 'auditor-1');
  const via = ['--kit', kit, '--aggregator', f.address()];
  const c = await runKpfl(['audit', 'contributions', ...via, '--format', 'csv']);
  assert.equal(c.code, 0, c.out + c.err);
  assert.match(c.out, /alice/);
  assert.equal(c.out.trim().split('\n').length, 3, 'header + 2 rows');
  const r = await runKpfl(['audit', 'rounds', ...via, '--format', 'json']);
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(JSON.parse(r.out)[0].accepted, ['alice', 'bob']);
  const v = await runKpfl(['audit', 'verify', ...via]);
  assert.equal(v.code, 0, v.out + v.err);

  const bad = await runKpfl(['audit', 'contributions', ...via, '--round', 'three']);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /--round must be an integer/);
  // A malformed time is refused by the CLI's parser, before it asks the aggregator anything.
  const badTime = await runKpfl(['audit', 'contributions', ...via, '--from', 'yesterday-ish']);
  assert.equal(badTime.code, 2, badTime.err);
  assert.match(badTime.err, /--from must be a real ISO 8601 date or time/);
  for (const r of [bad, badTime]) assert.doesNotMatch(r.err, /at .*\.ts:\d+/, 'no stack trace');

  // A participant's token on an audit RPC, an auditor's token on a participant RPC.
  const asParticipant = await runKpfl([
    'audit',
    'contributions',
    '--kit',
    join(f.work, 'members', 'alice'),
    '--aggregator',
    f.address(),
  ]);
  assert.equal(asParticipant.code, 2);
  assert.match(asParticipant.err, /refused.*(auditor|role|permission)/i);
  const auditor = await f.participant('auditor-1');
  await assert.rejects(auditor.conn.getTask(0), (err: unknown) => {
    assert.ok(err instanceof AggregatorError);
    assert.equal(err.codeName, 'PERMISSION_DENIED');
    return true;
  });
  const submitted = await f.agg!.db.query(
    `SELECT count(*)::int AS n FROM contributions WHERE member = 'auditor-1'`,
  );
  assert.equal(submitted.rows[0].n, 0);
});
