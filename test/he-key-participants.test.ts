/**
 * Issue 13 with the real participant loop (`kpfl participant` processes training on MNIST slices,
 * mutual TLS, CKKS): revoking a member mid-plan makes the remaining participants create and share
 * the new epoch's key by themselves, and the plan finishes under it.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { schedulePlan } from '../packages/aggregator/src/index.js';
import { cliCommand, DEFAULT_DATASET } from '../packages/cli/src/paths.js';
import {
  DEFAULT_MAX_UPDATE_NORM,
  initialModelDigest,
  trainingSettings,
} from '../packages/cli/src/training-options.js';
import { DEFAULT_HE_PARAMS } from '../packages/he/src/index.js';
import { parameterCount } from '../packages/model/src/index.js';
import { getPlan, listRounds, type PlanRow, revokeMemberAudited } from '../packages/store/src/index.js';
import { startTestFederation, TEST_OPERATOR, type TestFederation, waitFor } from './harness.js';

const MEMBERS = ['alice', 'bob', 'carol'];

describe('issue 13: real participants rotate the HE key by themselves after a revocation', () => {
  let f: TestFederation;
  let plan: PlanRow;
  const children: ChildProcess[] = [];
  const exits: Record<string, Promise<{ code: number | null; out: string }>> = {};

  before(async () => {
    f = await startTestFederation({ members: MEMBERS, minParticipants: 2 });
    const seed = 7;
    plan = await schedulePlan(f.agg!.db, f.agg!.queue, {
      id: `${f.federation}-real`,
      federation: f.federation,
      rounds: 4,
      minParticipants: 2,
      fraction: 1,
      deadlineSeconds: 300,
      mode: 'he',
      heParams: DEFAULT_HE_PARAMS,
      parameterCount: parameterCount('mlp'),
      training: trainingSettings({
        model: 'mlp',
        localEpochs: 1,
        batchSize: 20,
        lr: 0.1,
        proxMu: 0,
        serverOptimizer: 'fedavg',
        maxExamples: 300,
      }),
      seed,
      initialModelDigest: initialModelDigest('mlp', seed),
      maxUpdateNorm: DEFAULT_MAX_UPDATE_NORM,
    });
    for (const [i, m] of MEMBERS.entries()) {
      const { cmd, args } = cliCommand([
        'participant',
        '--kit',
        join(f.work, 'members', m),
        '--aggregator',
        f.address(),
        '--dataset',
        DEFAULT_DATASET,
        '--partition',
        'iid',
        '--clients',
        String(MEMBERS.length),
        '--client-index',
        String(i),
        '--seed',
        String(seed),
        '--test-limit',
        '200',
        '--json',
      ]);
      const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      children.push(child);
      child.stderr!.pipe(createWriteStream(join(f.work, `${m}.log`)));
      let out = '';
      child.stdout!.on('data', (b) => (out += b));
      exits[m] = new Promise((resolve) => child.on('exit', (code) => resolve({ code, out })));
    }
  });

  after(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await f?.stop();
  });

  it('carol is revoked after round 1; alice and bob make epoch 2 and finish the plan under it', {
    timeout: 480_000,
  }, async (t) => {
    const db = f.agg!.db;
    await waitFor(
      'round 1 agreed',
      async () =>
        (await db.query('SELECT 1 FROM model_digests WHERE plan_id = $1 AND round = 1', [plan.id])).rowCount,
      240_000,
    );
    assert.equal(
      await revokeMemberAudited(db, { federation: f.federation, id: 'carol', actor: TEST_OPERATOR }),
      'revoked',
    );
    const [alice, bob, carol] = await Promise.all(MEMBERS.map((m) => exits[m]!));
    const tail = (m: string) => readFileSync(join(f.work, `${m}.log`), 'utf8').slice(-1500);
    assert.equal(alice!.code, 0, `alice: ${tail('alice')}`);
    assert.equal(bob!.code, 0, `bob: ${tail('bob')}`);
    assert.notEqual(carol!.code, 0, 'carol stops: she is revoked');
    assert.match(tail('carol'), /revoked/);
    assert.equal((await getPlan(db, plan.id))!.state, 'done');

    const epoch2 = (
      await db.query('SELECT state, created_by FROM key_epochs WHERE federation = $1 AND epoch = 2', [
        f.federation,
      ])
    ).rows[0];
    assert.equal(epoch2.state, 'ready');
    assert.ok(
      ['alice', 'bob'].includes(epoch2.created_by),
      `made by a remaining member (${epoch2.created_by})`,
    );
    for (const m of ['alice', 'bob'])
      assert.ok(
        existsSync(join(f.work, 'members', m, 'he-keys', 'epoch-2.json')),
        `${m} holds epoch 2's key`,
      );
    assert.equal(existsSync(join(f.work, 'members', 'carol', 'he-keys', 'epoch-2.json')), false);

    const rounds = await listRounds(db, plan.id);
    const under2 = rounds.filter((r) => r.key_epoch === 2);
    assert.ok(under2.length >= 1, 'at least one round ran under epoch 2');
    for (const r of under2) {
      assert.equal(r.state, 'published', `round ${r.round} under epoch 2 published`);
      assert.equal(r.contributions, 2, `round ${r.round}: alice and bob`);
      assert.deepEqual([...r.sampled].sort(), ['alice', 'bob']);
    }
    const last = (s: string) => JSON.parse(s.trim().split('\n').at(-1)!);
    assert.equal(last(alice!.out).digest, last(bob!.out).digest, 'alice and bob end with the same model');
    t.diagnostic(
      `rounds: ${rounds.map((r) => `${r.round}:${r.state}@epoch${r.key_epoch}${r.failure_reason ? ` (${r.failure_reason})` : ''}`).join(', ')}`,
    );
  });
});
