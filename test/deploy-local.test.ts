/**
 * docker/compose.yaml's services as plain processes on this machine (scripts/compose-local.sh):
 * enrollment (coordinator-init; per member <m>-init, coordinator-add-<m>, <m>-join, with only the
 * request and response passing through the exchange directory), aggregator (no worker) + separate
 * worker, three participants on small data slices, two `he` rounds scheduled through the ops service
 * under the HE key the participants made, plan finished, everything cleaned up.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from '../packages/cli/src/paths.js';

test('the compose stack completes a federation as local processes', { timeout: 200_000 }, async (t) => {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('KPFL_')) env[k] = v;
  const r = await new Promise<{ code: number | null; out: string; err: string }>((res) => {
    const c = spawn(join(REPO_ROOT, 'scripts/compose-local.sh'), [], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    c.stdout!.on('data', (b) => (out += b));
    c.stderr!.on('data', (b) => (err += b));
    c.on('exit', (code) => res({ code, out, err }));
  });
  const summary = JSON.parse(r.out.trim().split('\n').at(-1) ?? '{}');
  t.diagnostic(`compose-local: ${JSON.stringify(summary)}`);
  assert.equal(r.code, 0, `compose-local.sh failed:\n${r.err.slice(-4000)}`);
  assert.equal(summary.ok, true);
  assert.equal(summary.planState, 'done');
  assert.deepEqual(
    summary.rounds.map((x: { state: string; accepted: number }) => [x.state, x.accepted]),
    [
      ['published', 3],
      ['published', 3],
    ],
  );
  // The enrollment steps ran in compose's order: the coordinator kit first, each member's request
  // before the coordinator adds it (after migrate: it registers in Postgres), its join after that,
  // and every kit complete before the aggregator starts.
  const at = (s: string) => {
    const i = summary.services.indexOf(s);
    assert.ok(i >= 0, `ran ${s}`);
    return i;
  };
  for (const m of ['alice', 'bob', 'carol']) {
    assert.ok(at('coordinator-init') < at(`${m}-init`), `coordinator-init before ${m}-init`);
    assert.ok(at(`${m}-init`) < at(`coordinator-add-${m}`), `${m}-init before coordinator-add-${m}`);
    assert.ok(at('migrate') < at(`coordinator-add-${m}`), `migrate before coordinator-add-${m}`);
    assert.ok(at(`coordinator-add-${m}`) < at(`${m}-join`), `coordinator-add-${m} before ${m}-join`);
    assert.ok(at(`${m}-join`) < at('aggregator'), `${m}-join before the aggregator starts`);
  }
  for (const s of ['migrate', 'aggregator', 'worker', 'alice', 'bob', 'carol', 'ops'])
    assert.ok(summary.services.includes(s), `ran ${s}`);
  assert.ok(!summary.services.includes('provision'), 'no kit was provisioned');
  // The coordinator printed each member's own fingerprint (compose-local compares them), and the
  // rounds ran under an HE key every member holds and none of the coordinator's files does.
  for (const m of ['alice', 'bob', 'carol'])
    assert.match(summary.fingerprints[m], /^[A-Z2-7]{4}(-[A-Z2-7]{4}){4}$/);
  assert.deepEqual(summary.heKey, { epoch: 1, holders: ['alice', 'bob', 'carol'] });
  assert.deepEqual(summary.fallbacks, [], 'every step ran through the kpfl CLI');
  // summary.seconds is in the diagnostic above; the test's timeout is what bounds it.
});
