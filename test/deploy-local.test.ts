/**
 * docker/compose.yaml's services as plain processes on this machine (scripts/compose-local.sh):
 * provision, aggregator (no worker) + separate worker, three participants on small data slices,
 * two rounds scheduled through the ops service, plan finished, everything cleaned up.
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
  for (const s of ['provision', 'aggregator', 'worker', 'alice', 'bob', 'carol', 'ops'])
    assert.ok(summary.services.includes(s), `ran ${s}`);
  assert.deepEqual(summary.fallbacks, [], 'every step ran through the kpfl CLI');
  // summary.seconds is in the diagnostic above; the test's timeout is what bounds it.
});
