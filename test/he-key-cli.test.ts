/**
 * `kpfl he-key status | rotate | create`, run as the real CLI with a member's own kit against an
 * aggregator over mutual TLS: the key is made on the member's side and delivered to K members.
 */
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runKpfl, startTestFederation, type TestFederation } from './harness.js';

const MEMBERS = ['m1', 'm2', 'm3', 'm4', 'm5', 'm6'];

describe('kpfl he-key: the member side of the consortium key', () => {
  let f: TestFederation;
  const heKey = async (cmd: string, member: string) => {
    const r = await runKpfl([
      'he-key',
      cmd,
      '--kit',
      join(f.work, 'members', member),
      '--aggregator',
      f.address(),
      '--json',
    ]);
    assert.equal(r.code, 0, `kpfl he-key ${cmd} (${member}): ${r.err}`);
    return JSON.parse(r.out.trim().split('\n').at(-1)!);
  };

  before(async () => {
    f = await startTestFederation({ members: MEMBERS });
  });
  after(async () => {
    await f?.stop();
  });

  it('status, rotate, then another member fetches the new key', { timeout: 240_000 }, async (t) => {
    const s1 = await heKey('status', 'm1');
    assert.equal(s1.epoch, 1);
    assert.equal(s1.state, 'ready');
    assert.deepEqual(s1.heldEpochs, [1], "provision's he-key.json is epoch 1");

    const rotated = await heKey('rotate', 'm1');
    assert.equal(rotated.epoch, 2);
    assert.equal(rotated.state, 'ready');
    assert.equal(rotated.made, true);
    t.diagnostic(
      `kpfl he-key rotate: create + deliver to K=${MEMBERS.length - 1} members in ${rotated.ms} ms (in the command, without its start-up)`,
    );

    const s2 = await heKey('status', 'm2');
    assert.equal(s2.epoch, 2);
    assert.equal(s2.haveKey, true, 'm2 has an envelope of epoch 2');
    assert.deepEqual(s2.heldEpochs, [1], 'but has not fetched it yet');
    const created = await heKey('create', 'm2');
    assert.equal(created.made, false, 'epoch 2 already has a key');
    assert.equal(created.keyId, rotated.keyId);
    const file = join(f.work, 'members', 'm2', 'he-keys', 'epoch-2.json');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.deepEqual((await heKey('status', 'm2')).heldEpochs, [1, 2]);

    const { db } = await f.handles();
    const rows = (
      await db.query<{ event: string; member: string | null; actor: string }>(
        `SELECT event, member, actor FROM audit_log WHERE event LIKE 'key.%' AND (data->>'epoch')::int = 2 ORDER BY seq`,
      )
    ).rows;
    assert.deepEqual(
      rows.map((r) => r.event),
      ['key.epoch_started', 'key.created', ...MEMBERS.slice(1).map(() => 'key.delivered'), 'key.fetched'],
    );
    assert.equal(rows[0]!.actor, 'm1', 'the member started the rotation');
    assert.equal(rows.at(-1)!.member, 'm2');
  });
});
