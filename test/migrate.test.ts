import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DEFAULT_DATABASE_URL, dropSchema, schemaExists } from '../packages/store/src/index.js';
import { runKpfl, TEST_AGGREGATOR_ROLE } from './harness.js';

/** One line on stderr, exit 2, no stack trace. */
function assertRefused(r: { code: number | null; err: string }, message: RegExp, label: string) {
  assert.equal(r.code, 2, `${label}: exit code (${r.err})`);
  assert.match(r.err, message, label);
  assert.equal(r.err.trim().split('\n').length, 1, `${label}: one line, got:\n${r.err}`);
  assert.doesNotMatch(r.err, /\n\s+at /, `${label}: no stack trace`);
}

test('kpfl migrate creates the schema once as the owner; nothing else creates one', {
  timeout: 120_000,
}, async (t) => {
  const id = randomBytes(4).toString('hex');
  const schema = `test_migrate_${id}`;
  const work = mkdtempSync(join(tmpdir(), 'kpfl-migrate-'));
  t.after(async () => {
    rmSync(work, { recursive: true, force: true });
    await dropSchema(undefined, schema);
  });
  const provisioned = await runKpfl([
    'provision',
    '--federation',
    `mig-${id}`,
    '--members',
    'alice',
    '--out',
    work,
  ]);
  assert.equal(provisioned.code, 0, provisioned.err);

  // Before `kpfl migrate`: the aggregator, the worker and a read-only audit query refuse, and create nothing.
  const notMigrated = new RegExp(
    `kpfl: schema ${schema} does not exist or holds no kpfl tables \\(check --schema; .*kpfl migrate --schema ${schema}`,
  );
  const kit = join(work, 'coordinator');
  for (const [label, args] of [
    ['aggregator', ['aggregator', '--kit', kit, '--schema', schema, '--insecure', '--listen', '127.0.0.1:0']],
    ['worker', ['worker', '--kit', kit, '--schema', schema]],
    ['audit', ['audit', 'contributions', '--federation', `mig-${id}`, '--schema', schema]],
    ['rounds', ['rounds', 'list', '--federation', `mig-${id}`, '--schema', schema]],
  ] as const) {
    assertRefused(await runKpfl([...args]), notMigrated, label);
  }
  const badRole = await runKpfl(['migrate', '--schema', schema, '--grant', 'kpfl_no_such_login']);
  assertRefused(badRole, /kpfl: role kpfl_no_such_login does not exist/, 'migrate --grant unknown role');
  assert.equal(await schemaExists(DEFAULT_DATABASE_URL, schema), false, 'no command created the schema');

  // The owner migrates, granting the aggregator's login role; a second run applies nothing.
  const first = await runKpfl(['migrate', '--schema', schema, '--grant', TEST_AGGREGATOR_ROLE]);
  assert.equal(first.code, 0, first.err);
  const r1 = JSON.parse(first.out);
  assert.equal(r1.schema, schema);
  assert.equal(r1.aggregatorRole, 'kpfl_aggregator');
  assert.equal(r1.role, 'granted');
  assert.deepEqual(r1.granted, [TEST_AGGREGATOR_ROLE]);
  assert.ok(r1.applied.length >= 3, `applied ${r1.applied}`);
  const second = await runKpfl(['migrate', '--schema', schema]);
  assert.equal(second.code, 0, second.err);
  assert.deepEqual(JSON.parse(second.out).applied, []);

  // Now the read-only query answers (an empty federation).
  const audit = await runKpfl([
    'audit',
    'contributions',
    '--federation',
    `mig-${id}`,
    '--schema',
    schema,
    '--format',
    'json',
  ]);
  assert.equal(audit.code, 0, audit.err);
  assert.deepEqual(JSON.parse(audit.out), []);
});
