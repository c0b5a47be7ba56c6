import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  ChallengeRegistry,
  countersignRoundCertificate,
  createRoundCertificate,
  digestOf,
  generateIdentity,
  issueSessionToken,
  signChallenge,
  signReceipt,
} from '../src/index.js';
import { AUDIENCE, attest, federation, ISSUER, memberOf, tamperCompact } from './fixtures.js';
import { INTEROP_SCRIPT, interopPython, isCi, JWCRYPTO_MISSING, pythonCandidates } from './interop/python.js';

/** Skipped without jwcrypto on a workstation; under CI (.ci/run installs it) the test fails instead. */
const found = interopPython();

describe('interop: every signed artifact verifies with jwcrypto (python) from the published JWKS alone', () => {
  it('session token, challenge response, attestation, receipt, countersigned round certificate', {
    skip: 'skip' in found ? found.skip : false,
  }, async () => {
    if ('fail' in found) assert.fail(found.fail);
    assert.ok('python' in found);
    const f = await federation();
    const alice = memberOf(f, 'alice');
    const bob = memberOf(f, 'bob');
    const coordinator = f.coordinator.signingKey;

    const sessionToken = await issueSessionToken(coordinator, {
      issuer: ISSUER,
      audience: AUDIENCE,
      subject: 'alice',
      ttlSeconds: 300,
      kpfl: { federation: 'test', roles: ['participant'], capabilities: ['submit:round'], round: 1 },
    });
    const challenge = new ChallengeRegistry({ audience: AUDIENCE }).issue('alice');
    const challengeJws = await signChallenge(alice.identity, {
      nonce: challenge.nonce,
      subject: 'alice',
      audience: AUDIENCE,
    });
    const attA = await attest(alice.identity, 'alice');
    const attB = await attest(bob.identity, 'bob');
    const receipt = await signReceipt(coordinator, {
      federation: 'test',
      round: 1,
      member: 'alice',
      attestationDigest: digestOf(attA),
      receivedAt: new Date().toISOString(),
      status: 'accepted',
    });
    let certificate = await createRoundCertificate(coordinator, {
      federation: 'test',
      round: 1,
      aggregateDigest: digestOf('sum'),
      attestationDigests: [digestOf(attA), digestOf(attB)],
      members: ['alice', 'bob'],
    });
    certificate = await countersignRoundCertificate(
      certificate,
      alice.identity,
      'alice',
      digestOf(attA),
      alice.coordinatorJwks,
    );
    certificate = await countersignRoundCertificate(
      certificate,
      bob.identity,
      'bob',
      digestOf(attB),
      bob.coordinatorJwks,
    );

    // negatives: the independent verifier must refuse them too
    const stranger = await generateIdentity();
    const badSig = certificate.signatures.map((s, i) =>
      i === 2
        ? { ...s, signature: `${s.signature.slice(0, -2)}${s.signature.endsWith('AA') ? 'BA' : 'AA'}` }
        : s,
    );
    const doc = {
      jwks: f.jwks,
      issuer: ISSUER,
      audience: AUDIENCE,
      sessionToken,
      challenge: { jws: challengeJws, member: 'alice', nonce: challenge.nonce, audience: AUDIENCE },
      attestation: { jws: attA, member: 'alice' },
      receipt,
      certificate,
      negative: {
        sessionToken: tamperCompact(sessionToken, (p) => {
          p.sub = 'bob';
        }),
        attestation: { jws: attB, member: 'alice' },
        receipt: await signReceipt(
          { ...stranger, kid: coordinator.kid },
          {
            federation: 'test',
            round: 1,
            member: 'alice',
            attestationDigest: digestOf(attA),
            receivedAt: new Date().toISOString(),
            status: 'accepted',
          },
        ),
        certificate: { ...certificate, signatures: badSig },
      },
    };

    const dir = mkdtempSync(join(tmpdir(), 'kpt-interop-'));
    try {
      const input = join(dir, 'input.json');
      writeFileSync(input, JSON.stringify(doc));
      const r = spawnSync(found.python, [INTEROP_SCRIPT, input], { encoding: 'utf8', timeout: 30_000 });
      assert.equal(r.error, undefined);
      const out = JSON.parse(r.stdout);
      if (process.env.KPT_DEBUG) console.log(r.stdout);
      const failures = Object.entries(out.results as Record<string, { ok: boolean; error?: string }>).filter(
        ([, v]) => !v.ok,
      );
      assert.deepEqual(failures, [], r.stdout + r.stderr);
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(Object.keys(out.results).sort(), [
        'attestation',
        'certificate',
        'challenge',
        'negative.attestation',
        'negative.certificate',
        'negative.receipt',
        'negative.sessionToken',
        'receipt',
        'sessionToken',
      ]);
      assert.equal(out.results.sessionToken.value.sub, 'alice');
      assert.equal(out.results.attestation.value.exampleCount, 600);
      assert.deepEqual(out.results.certificate.value.signers, ['alice', 'bob']);
      assert.equal(out.results.certificate.value.attestationListed, true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('interop: finding the independent verifier', () => {
  it('tries $KPFL_PYTHON first, then python3 on PATH, then /usr/bin/python3', () => {
    assert.deepEqual(pythonCandidates({ KPFL_PYTHON: '/opt/py/bin/python3' }), [
      '/opt/py/bin/python3',
      'python3',
      '/usr/bin/python3',
    ]);
    assert.deepEqual(pythonCandidates({}), ['python3', '/usr/bin/python3']);
  });

  it('without jwcrypto: a skip on a workstation, a failure under CI', () => {
    const none = ['/nonexistent/python3'];
    assert.deepEqual(interopPython({}, none), { skip: JWCRYPTO_MISSING });
    assert.deepEqual(interopPython({ CI: 'false' }, none), { skip: JWCRYPTO_MISSING });
    const ci = interopPython({ CI: 'true' }, none);
    assert.ok('fail' in ci && /Under CI this is a failure, not a skip/.test(ci.fail), JSON.stringify(ci));
    assert.ok('fail' in interopPython({ CI: '1' }, none));
    assert.ok(isCi({ CI: 'true' }) && !isCi({ CI: '' }) && !isCi({}));
  });
});
