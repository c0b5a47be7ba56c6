/**
 * Kit files are validated with zod when they are read: a missing or mangled field is one line naming
 * the file and the field, exit code 2, not a crash inside TLS or jose.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { provisionKits, readCoordinatorKit, readMemberKit } from '../packages/cli/src/kits.js';
import { UserError } from '../packages/cli/src/user-error.js';
import { runKpfl } from './harness.js';

/** Edits a kit file's parsed JSON in place (any field, any depth: the point is to break it). */
// biome-ignore lint/suspicious/noExplicitAny: the edits reach into untyped JSON on purpose
type Edit = (json: Record<string, any>) => void;

describe('kit files', () => {
  const work = mkdtempSync(join(tmpdir(), 'kpfl-kits-'));
  const pristine = join(work, 'pristine');
  let n = 0;
  before(async () => {
    await provisionKits({
      federation: 'kits-test',
      members: ['alice'],
      auditors: ['auditor-1'],
      out: pristine,
      heParams: 'compact',
    });
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  /** A fresh copy of the kits with one JSON file changed by `edit`. */
  function broken(file: string, edit: Edit): string {
    const root = join(work, `copy-${n++}`);
    cpSync(pristine, root, { recursive: true });
    const path = join(root, file);
    const json = JSON.parse(readFileSync(path, 'utf8'));
    edit(json);
    writeFileSync(path, JSON.stringify(json));
    return root;
  }

  function refused(read: () => unknown, message: RegExp) {
    assert.throws(read, (e: unknown) => {
      assert.ok(e instanceof UserError, `a UserError, got ${String(e)}`);
      assert.equal(e.exitCode, 2);
      assert.match(e.message, message);
      assert.equal(e.message.split('\n').length, 1, 'one line');
      return true;
    });
  }

  test('positive control: the kits provisioning wrote are read back', () => {
    assert.equal(readCoordinatorKit(join(pristine, 'coordinator')).federation, 'kits-test');
    const alice = readMemberKit(join(pristine, 'members', 'alice'));
    assert.equal(alice.memberId, 'alice');
    assert.ok(alice.heKey, 'with its HE key');
    assert.equal(readMemberKit(join(pristine, 'auditors', 'auditor-1')).kind, 'kpfl-auditor-kit');
  });

  test('a member kit names its first bad field', () => {
    const member = 'members/alice/member.json';
    const cases: [Edit, RegExp][] = [
      [(k) => delete k.identity.privateJwk, /members\/alice\/member\.json: identity\.privateJwk: required$/],
      [(k) => (k.tls.certPem = 'not a pem'), /member\.json: tls\.certPem: expected a PEM certificate$/],
      [(k) => (k.tls.keyPem = k.tls.certPem), /member\.json: tls\.keyPem: expected a PEM private key$/],
      [(k) => (k.memberId = 'a b'), /member\.json: memberId: expected an id/],
      [
        (k) => (k.identity.publicJwk.crv = 'P-256'),
        /member\.json: identity\.publicJwk\.crv: expected "Ed25519"$/,
      ],
      [
        (k) => (k.coordinatorJwks.keys = []),
        /member\.json: coordinatorJwks\.keys: expected at least one key$/,
      ],
      [(k) => (k.federation = 7), /member\.json: federation: expected string, got number$/],
      [
        (k) => (k.kind = 'kpfl-coordinator-kit'),
        /member\.json is not a member kit \(kind: kpfl-coordinator-kit\)$/,
      ],
    ];
    for (const [edit, message] of cases) {
      const root = broken(member, edit);
      refused(() => readMemberKit(join(root, 'members', 'alice')), message);
    }
  });

  test("a member's HE key file is checked too", () => {
    const root = broken('members/alice/he-key.json', (k) => delete k.secretKey);
    refused(() => readMemberKit(join(root, 'members', 'alice')), /he-key\.json: secretKey: required$/);
    const edited = broken(
      'members/alice/he-key.json',
      (k) => (k.secretKey = `${k.secretKey.slice(0, -8)}AAAAAAAA`),
    );
    refused(() => readMemberKit(join(edited, 'members', 'alice')), /he-key\.json: consortium key: /);
  });

  test('a coordinator kit names its first bad field', () => {
    const file = 'coordinator/coordinator.json';
    const cases: [Edit, RegExp][] = [
      [(k) => delete k.jwks, /coordinator\.json: jwks: required$/],
      [
        (k) => (k.members[0].roles = ['admin']),
        /coordinator\.json: members\.0\.roles\.0: expected one of participant, auditor$/,
      ],
      [
        (k) => (k.heParams = 'toy'),
        /coordinator\.json: heParams: expected one of compact, reference, exact$/,
      ],
      [(k) => delete k.signingKey.privateJwk.d, /coordinator\.json: signingKey\.privateJwk\.d: required$/],
    ];
    for (const [edit, message] of cases) {
      const root = broken(file, edit);
      refused(() => readCoordinatorKit(join(root, 'coordinator')), message);
    }
  });

  test('the CLI prints it as one line with exit code 2', { timeout: 60_000 }, async () => {
    const root = broken('auditors/auditor-1/auditor.json', (k) => delete k.identity.privateJwk);
    const r = await runKpfl([
      'audit',
      'rounds',
      '--kit',
      join(root, 'auditors', 'auditor-1'),
      '--aggregator',
      '127.0.0.1:1',
    ]);
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, /^kpfl: .*auditors\/auditor-1\/auditor\.json: identity\.privateJwk: required\n$/);
  });
});
