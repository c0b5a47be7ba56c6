/**
 * Every operator action on the membership is audited with the operator as actor: start-up
 * registration by `kpfl aggregator`, `kpfl members add` and `kpfl members revoke`, each run as the
 * CLI (child processes) against real Postgres and Redis; `kpfl audit verify` passes afterwards and
 * fails for a JWKS holding a key no audited action added.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readCoordinatorKit } from '../packages/cli/src/kits.js';
import { federationJwks, generateIdentity, type JWK, partyRole } from '../packages/kpt/src/index.js';
import {
  type AuditRow,
  type Db,
  dropSchema,
  getMember,
  jwksDigest,
  openDb,
  queryAudit,
} from '../packages/store/src/index.js';
import { runKpfl, spawnKpfl } from './harness.js';

/** Who the CLI names as actor: the account running it, on this host. */
const OPERATOR = `operator:${userInfo().username}@${hostname()}`;

async function rowsAfter(db: Db, seq: number): Promise<AuditRow[]> {
  return (await queryAudit(db, { afterSeq: seq, limit: 1000 })).rows;
}

/** [event, member, data] of each row, after checking each names the operator. */
function described(rows: AuditRow[]) {
  for (const r of rows) assert.equal(r.actor, OPERATOR, `row ${r.seq} (${r.event}) names the operator`);
  return rows.map((r) => [r.event, r.member, r.data]);
}

test('members add, members revoke and start-up registration are each audited, and verify passes', {
  timeout: 240_000,
}, async (t) => {
  const id = randomBytes(4).toString('hex');
  const federation = `maud-${id}`;
  const schema = `test_maud_${id}`;
  const work = mkdtempSync(join(tmpdir(), 'kpfl-member-audit-'));
  const out = join(work, 'kits');
  const kitDir = join(out, 'coordinator');
  t.after(async () => {
    await dropSchema(undefined, schema).catch(() => {});
    rmSync(work, { recursive: true, force: true });
  });

  const provisioned = await runKpfl([
    'provision',
    '--federation',
    federation,
    '--members',
    'alice,bob',
    '--auditors',
    'aud-1',
    '--out',
    out,
  ]);
  assert.equal(provisioned.code, 0, provisioned.err);
  const kit = readCoordinatorKit(kitDir);

  // The owner migrates; then start-up registration, by the aggregator process itself.
  const migrated = await runKpfl(['migrate', '--schema', schema]);
  assert.equal(migrated.code, 0, migrated.err);
  assert.equal(JSON.parse(migrated.out).schema, schema);
  const agg = spawnKpfl([
    'aggregator',
    '--kit',
    kitDir,
    '--schema',
    schema,
    '--insecure',
    '--listen',
    '127.0.0.1:0',
    '--redis-prefix',
    `kpfl-test:${id}`,
  ]);
  t.after(() => agg.child.kill('SIGKILL'));
  assert.equal((await agg.firstLine).event, 'listening', agg.stderr());
  const db = await openDb({ schema, max: 2 });
  t.after(() => db.close());
  const kidOf = (m: string) => kit.members.find((x) => x.id === m)!.kid;
  const encKidOf = (m: string) => (kit.members.find((x) => x.id === m)!.encryptionJwk as { kid: string }).kid;
  assert.deepEqual(described(await rowsAfter(db, 0)), [
    ['federation.registered', null, { change: 'created', jwksDigest: jwksDigest(kit.jwks), keys: 4 }],
    [
      'member.added',
      'alice',
      { kid: kidOf('alice'), roles: ['participant'], encryptionKid: encKidOf('alice') },
    ],
    ['member.added', 'bob', { kid: kidOf('bob'), roles: ['participant'], encryptionKid: encKidOf('bob') }],
    ['member.added', 'aud-1', { kid: kidOf('aud-1'), roles: ['auditor'], encryptionKid: encKidOf('aud-1') }],
  ]);
  let head = (await rowsAfter(db, 0)).at(-1)!.seq;

  // kpfl members add: the member, the JWKS now published, and their events.
  const add = await runKpfl(['members', 'add', 'carol', '--kit', kitDir, '--schema', schema]);
  assert.equal(add.code, 0, add.err);
  assert.match(add.out, new RegExp(`registered in Postgres schema ${schema}`));
  const afterAdd = readCoordinatorKit(kitDir);
  const carol = afterAdd.members.find((m) => m.id === 'carol')!;
  assert.deepEqual(described(await rowsAfter(db, head)), [
    ['federation.registered', null, { change: 'changed', jwksDigest: jwksDigest(afterAdd.jwks), keys: 5 }],
    [
      'member.added',
      'carol',
      { kid: carol.kid, roles: ['participant'], encryptionKid: (carol.encryptionJwk as { kid: string }).kid },
    ],
  ]);
  assert.equal((await getMember(db, federation, 'carol'))?.kid, carol.kid);
  head = (await rowsAfter(db, 0)).at(-1)!.seq;

  // kpfl members revoke: the revocation and its event; revoking again logs nothing more.
  const revoke = await runKpfl(['members', 'revoke', 'bob', '--kit', kitDir, '--schema', schema]);
  assert.equal(revoke.code, 0, revoke.err);
  assert.match(revoke.out, new RegExp(`revoked in Postgres schema ${schema}`));
  const again = await runKpfl(['members', 'revoke', 'bob', '--kit', kitDir, '--schema', schema, '--json']);
  assert.equal(again.code, 0, again.err);
  assert.equal(JSON.parse(again.out).postgres, 'already revoked');
  assert.deepEqual(described(await rowsAfter(db, head)), [
    ['member.revoked', 'bob', { kid: kidOf('bob'), roles: ['participant'] }],
  ]);
  assert.equal((await getMember(db, federation, 'bob'))?.status, 'revoked');

  // The log verifies, against the stored JWKS and against the published federation.json.
  const base = ['audit', 'verify', '--federation', federation, '--schema', schema];
  const published = join(out, 'federation.json');
  for (const args of [base, [...base, '--jwks', published]]) {
    const v = await runKpfl(args);
    assert.equal(v.code, 0, `${args.join(' ')}: ${v.out}${v.err}`);
    assert.match(v.out, /^audit verify: OK/);
  }

  // A key slipped into the published JWKS without an audited action is named.
  const mallory = await generateIdentity();
  const forged = federationJwks(afterAdd.signingKey, [
    ...afterAdd.members.map((m) => ({
      memberId: m.id,
      kid: m.kid,
      publicJwk: m.publicJwk as JWK,
      role: partyRole(m.roles),
    })),
    { memberId: 'mallory', kid: mallory.kid, publicJwk: mallory.publicJwk, role: 'participant' },
  ]);
  const forgedFile = join(work, 'forged.json');
  writeFileSync(forgedFile, JSON.stringify({ federation, jwks: forged }));
  assert.deepEqual(
    JSON.parse(readFileSync(published, 'utf8')).jwks.keys.length + 1,
    forged.keys.length,
    'control: the forged JWKS differs by one key',
  );
  const bad = await runKpfl([...base, '--jwks', forgedFile]);
  assert.equal(bad.code, 1, bad.out + bad.err);
  assert.match(
    bad.out,
    new RegExp(`key ${mallory.kid} of member mallory, but the log has no member.added event for it`),
  );

  agg.child.kill('SIGTERM');
  await new Promise((r) => agg.child.once('exit', r));
});
