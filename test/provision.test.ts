/**
 * `kpfl provision` and `kpfl members add|revoke|list`, run as the CLI (child processes) against a real
 * aggregator on mutual TLS, Postgres and Redis.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import {
  createLogger,
  type RunningAggregator,
  startLocalAggregator,
} from '../packages/aggregator/src/index.js';
import { runProvision } from '../packages/cli/src/commands/provision.js';
import { identityOf, readCoordinatorKit, readMemberKit } from '../packages/cli/src/kits.js';
import { generateIdentity, issueMemberCertificate } from '../packages/kpt/src/index.js';
import { AggregatorConnection, type AggregatorError } from '../packages/participant/src/index.js';
import { DEFAULT_DATABASE_URL, dropSchema } from '../packages/store/src/index.js';
import { runKpfl } from './harness.js';

/** `kpfl ...` with its exit code and output. */
async function kpfl(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const r = await runKpfl(args);
  return { code: r.code, stdout: r.out, stderr: r.err };
}

/** A user error: exit 2, one line on stderr starting "kpfl:", no stack trace. */
function assertUserError(r: { code: number | null; stderr: string }, message: RegExp) {
  assert.equal(r.code, 2, `exit code (stderr: ${r.stderr})`);
  assert.match(r.stderr, /^kpfl: /);
  assert.match(r.stderr, message);
  assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
  assert.doesNotMatch(r.stderr, /\n\s+at |Error:/, 'no stack trace');
}

const mode = (p: string) => statSync(p).mode & 0o777;

describe('kpfl provision and kpfl members', () => {
  const work = mkdtempSync(join(tmpdir(), 'kpfl-provision-'));
  const out = join(work, 'kits');
  const id = randomBytes(4).toString('hex');
  const federation = `prov-${id}`;
  const schema = `test_prov_${id}`;
  const kitDir = join(out, 'coordinator');
  let agg: RunningAggregator | undefined;
  const conns: AggregatorConnection[] = [];

  after(async () => {
    for (const c of conns) c.close();
    await agg?.close();
    await dropSchema(undefined, schema).catch(() => {});
    rmSync(work, { recursive: true, force: true });
  });

  async function connect(member: string, kitPath = join(out, 'members', member)) {
    const kit = readMemberKit(kitPath);
    const c = new AggregatorConnection({
      address: `localhost:${agg!.port}`,
      memberId: member,
      identity: await identityOf(kit),
      tls: kit.tls,
    });
    conns.push(c);
    return c;
  }

  it('writes the kits: HE key for members only, private files 0600', async (_t) => {
    const r = await kpfl([
      'provision',
      '--federation',
      federation,
      '--members',
      'alice,bob',
      '--auditors',
      'audit-1',
      '--out',
      out,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`provisioned federation ${federation}`));
    assert.deepEqual(readdirSync(kitDir), ['coordinator.json'], 'the coordinator kit holds no HE key');
    const coordinatorText = readFileSync(join(kitDir, 'coordinator.json'), 'utf8');
    const heKey = JSON.parse(readFileSync(join(out, 'members', 'alice', 'he-key.json'), 'utf8'));
    assert.ok(heKey.secretKey.length > 1000);
    assert.ok(
      !coordinatorText.includes(heKey.secretKey.slice(100, 164)),
      'no HE key material in coordinator.json',
    );
    assert.doesNotMatch(coordinatorText, /secretKey|kpfl-he-consortium-key/);
    for (const m of ['alice', 'bob']) {
      assert.deepEqual(readdirSync(join(out, 'members', m)).sort(), ['he-key.json', 'member.json']);
      assert.equal(
        readFileSync(join(out, 'members', m, 'he-key.json'), 'utf8'),
        readFileSync(join(out, 'members', 'alice', 'he-key.json'), 'utf8'),
        'one consortium key',
      );
    }
    assert.deepEqual(
      readdirSync(join(out, 'auditors', 'audit-1')),
      ['auditor.json'],
      'auditors get no HE key',
    );
    for (const f of [
      join(kitDir, 'coordinator.json'),
      join(out, 'members', 'alice', 'member.json'),
      join(out, 'members', 'alice', 'he-key.json'),
      join(out, 'members', 'bob', 'he-key.json'),
      join(out, 'auditors', 'audit-1', 'auditor.json'),
    ])
      assert.equal(mode(f).toString(8), '600', f);
    for (const d of [kitDir, join(out, 'members', 'alice'), join(out, 'auditors', 'audit-1')])
      assert.equal(mode(d).toString(8), '700', d);
    const kit = readCoordinatorKit(kitDir);
    assert.deepEqual(
      kit.members.map((m) => [m.id, m.roles]),
      [
        ['alice', ['participant']],
        ['bob', ['participant']],
        ['audit-1', ['auditor']],
      ],
    );
  });

  it('refuses to overwrite existing kits, and rejects bad names with a clear error', async () => {
    const before = readFileSync(join(kitDir, 'coordinator.json'), 'utf8');
    const [again, badName] = await Promise.all([
      kpfl(['provision', '--federation', federation, '--members', 'carol', '--out', out]),
      kpfl(['provision', '--federation', federation, '--members', 'alice,b c', '--out', join(work, 'bad')]),
    ]);
    assertUserError(
      again,
      /already holds kits \(coordinator, members, auditors, federation.json\); refusing to overwrite them: choose another --out, or pass --force/,
    );
    assert.equal(readFileSync(join(kitDir, 'coordinator.json'), 'utf8'), before, 'kits untouched');
    assertUserError(badName, /--members: "b c" is not a valid id \(use letters, digits/);
    assert.equal(existsSync(join(work, 'bad')), false, 'nothing written');
    // The same checks, in-process, for the other bad inputs.
    for (const [o, message] of [
      [{ members: 'alice,alice' }, /--members: "alice" is listed twice/],
      [{ members: '../evil' }, /--members: "..\/evil" is not a valid id/],
      [{ members: 'coordinator' }, /"coordinator" is reserved for the coordinator/],
      [{ members: ',' }, /name at least one member/],
      [{ members: 'a', auditors: 'a' }, /"a" is listed both as a member and as an auditor/],
      [{ members: 'a', federation: 'no spaces' }, /--federation: "no spaces" is not a valid name/],
      [{ members: 'a', heParams: 'toy' }, /--he-params: unknown HE parameter set 'toy'/],
    ] as const) {
      await assert.rejects(
        runProvision({ federation, out: join(work, 'bad'), heParams: 'compact', ...o }, () => {}),
        (e: Error) => e.name === 'UserError' && message.test(e.message),
      );
    }
    assert.equal(existsSync(join(work, 'bad')), false, 'nothing written');
  });

  it('members add: the new member authenticates against a running aggregator', async () => {
    const kit = readCoordinatorKit(kitDir);
    agg = await startLocalAggregator(kit, {
      schema,
      ownerDatabaseUrl: DEFAULT_DATABASE_URL,
      actor: 'operator:test',
      redisPrefix: `kpfl-test:${id}`,
      log: createLogger('aggregator', { file: join(work, 'aggregator.log') }),
    });
    assert.equal((await (await connect('alice')).getTask(0)).kind, 'TASK_KIND_WAIT', 'control: alice');

    // dave is unknown before he is added, even with a certificate of the federation CA for him (over
    // another member's certificate he is refused before that: a member asks only for itself).
    const stranger = new AggregatorConnection({
      address: `localhost:${agg.port}`,
      memberId: 'dave',
      identity: await generateIdentity(),
      tls: { caPem: kit.ca.certPem, ...(await issueMemberCertificate(kit.ca, 'dave')) },
    });
    conns.push(stranger);
    await assert.rejects(
      stranger.authenticate(),
      (e: AggregatorError) => e.status === status.UNAUTHENTICATED && /"dave" is not a member/.test(e.message),
    );
    const r = await kpfl(['members', 'add', 'dave', '--kit', kitDir, '--schema', schema]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /added participant dave/);
    assert.match(r.stdout, new RegExp(`registered in Postgres schema ${schema}`));
    const daveDir = join(out, 'members', 'dave');
    assert.deepEqual(readdirSync(daveDir).sort(), ['he-key.json', 'member.json']);
    assert.equal(mode(join(daveDir, 'member.json')).toString(8), '600');
    assert.equal(mode(join(daveDir, 'he-key.json')).toString(8), '600');
    assert.equal(
      readFileSync(join(daveDir, 'he-key.json'), 'utf8'),
      readFileSync(join(out, 'members', 'alice', 'he-key.json'), 'utf8'),
      'the consortium key',
    );
    const updated = readCoordinatorKit(kitDir);
    assert.ok(updated.members.some((m) => m.id === 'dave'));
    assert.ok(updated.jwks.keys.some((k) => (k as { kpfl_member?: string }).kpfl_member === 'dave'));
    const dave = await connect('dave');
    assert.equal((await dave.getTask(0)).kind, 'TASK_KIND_WAIT', 'dave authenticates over mutual TLS');

    const list = await kpfl(['members', 'list', '--kit', kitDir, '--schema', schema, '--json']);
    assert.equal(list.code, 0, list.stderr);
    const rows = JSON.parse(list.stdout).members as { id: string; dbStatus: string; kitStatus: string }[];
    assert.deepEqual(
      rows.map((m) => [m.id, m.kitStatus, m.dbStatus]),
      [
        ['alice', 'active', 'active'],
        ['bob', 'active', 'active'],
        ['audit-1', 'active', 'active'],
        ['dave', 'active', 'active'],
      ],
    );
  });

  it('members revoke: the member is refused, even with its still-valid session token', async () => {
    const dave = conns.at(-1)!;
    assert.equal(dave.o.memberId, 'dave');
    const [r, unknown, again] = await Promise.all([
      kpfl(['members', 'revoke', 'dave', '--kit', kitDir, '--schema', schema]),
      kpfl(['members', 'revoke', 'nobody', '--kit', kitDir, '--schema', schema]),
      kpfl(['members', 'add', 'alice', '--kit', kitDir, '--kit-only']),
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /dave revoked/);
    assert.match(r.stdout, new RegExp(`revoked in Postgres schema ${schema}`));
    assertUserError(
      unknown,
      new RegExp(`unknown member "nobody" in ${federation}; members: alice, bob, audit-1, dave`),
    );
    assertUserError(again, new RegExp(`"alice" is already a member of ${federation}; choose another id`));

    await assert.rejects(dave.getTask(0), (e: AggregatorError) => {
      assert.equal(e.status, status.PERMISSION_DENIED);
      assert.match(e.message, /"dave" is revoked/);
      return true;
    });
    const fresh = await connect('dave');
    await assert.rejects(fresh.authenticate(), (e: AggregatorError) => {
      assert.equal(e.status, status.PERMISSION_DENIED);
      assert.match(e.message, /member dave is revoked/);
      return true;
    });
    const entry = readCoordinatorKit(kitDir).members.find((m) => m.id === 'dave') as { status?: string };
    assert.equal(entry.status, 'revoked');
    assert.equal((await (await connect('alice')).getTask(0)).kind, 'TASK_KIND_WAIT', 'others are unaffected');
  });
});
