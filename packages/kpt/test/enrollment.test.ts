import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as x509 from '@peculiar/x509';
import { decodeProtectedHeader } from 'jose';
import {
  answerEnrollment,
  certificateSha256,
  completeEnrollment,
  createEnrollment,
  createFederationKits,
  createTlsKeyAndCsr,
  type EnrollmentRequestClaims,
  fingerprintOf,
  generateIdentity,
  signEnrollmentRequest,
  unverifiedEnrollmentRequest,
  verifyEnrollmentRequest,
} from '../src/index.js';
import { expectCode, federation, tamperCompact } from './fixtures.js';

function claimsOf(jws: string): EnrollmentRequestClaims {
  return JSON.parse(Buffer.from(jws.split('.')[1]!, 'base64url').toString('utf8'));
}

describe('enrollment (member-made keys, CSR style)', () => {
  it('request -> verify -> answer -> complete: a kit whose private keys never left the member', async () => {
    const f = await federation();
    const { secrets, request, fingerprint } = await createEnrollment({
      federation: 'test',
      memberId: 'dave',
    });
    assert.match(fingerprint, /^[A-Z2-7]{4}(-[A-Z2-7]{4}){4}$/);
    assert.deepEqual(decodeProtectedHeader(request), {
      alg: 'EdDSA',
      kid: secrets.identity.kid,
      typ: 'kpfl-enrollment-request+jwt',
    });
    for (const secret of [secrets.identity.privateJwk.d!, secrets.encryption.privateJwk.d!])
      assert.ok(!request.includes(secret) && !JSON.stringify(claimsOf(request)).includes(secret));
    assert.equal(unverifiedEnrollmentRequest(request).fingerprint, fingerprint);

    const verified = await verifyEnrollmentRequest(request, { federation: 'test' });
    assert.equal(verified.fingerprint, fingerprint);
    assert.equal(verified.claims.member, 'dave');
    const answer = await answerEnrollment(f.coordinator, verified, { aggregator: 'fl.example.org:50051' });
    assert.ok(answer.coordinator.registry.dave, 'registered');
    assert.equal(f.coordinator.registry.dave, undefined, 'the input kit is not changed');
    assert.ok(!answer.response.includes(secrets.tlsKeyPem.split('\n')[1]!), 'no TLS key in the response');
    const done = await completeEnrollment(answer.response, { secrets, requestFingerprint: fingerprint });
    assert.equal(done.kit.role, 'participant');
    assert.equal(done.aggregator, 'fl.example.org:50051');
    assert.equal(done.caSha256, certificateSha256(f.coordinator.ca.certPem));
    assert.equal(done.coordinatorKid, f.coordinator.signingKey.kid);
    assert.equal(done.kit.tls.keyPem, secrets.tlsKeyPem);
    const cert = new x509.X509Certificate(done.kit.tls.certPem);
    assert.deepEqual(cert.subjectName.getField('CN'), ['dave']);
    assert.ok(await cert.verify({ publicKey: new x509.X509Certificate(f.coordinator.ca.certPem).publicKey }));
    // The CA fingerprint, when pinned out of band, is checked.
    await completeEnrollment(
      answer.response,
      { secrets, requestFingerprint: fingerprint },
      {
        expectCaSha256: done.caSha256.slice('sha256:'.length).toUpperCase().match(/../g)!.join(':'),
      },
    );
    await expectCode(
      () =>
        completeEnrollment(
          answer.response,
          { secrets, requestFingerprint: fingerprint },
          {
            expectCaSha256: '00'.repeat(32),
          },
        ),
      'CERTIFICATE_INVALID',
      /CA certificate has SHA-256 sha256:[0-9a-f]{64}, not the 0000.* you were given/,
    );
  });

  it('what one enrollment costs in kpt itself (no process start, no Postgres)', async (t) => {
    const f = await federation();
    const runs: number[] = [];
    for (let i = 0; i < 5; i++) {
      const started = performance.now();
      const e = await createEnrollment({ federation: 'test', memberId: `m-${i}` });
      const a = await answerEnrollment(f.coordinator, await verifyEnrollmentRequest(e.request));
      const done = await completeEnrollment(a.response, {
        secrets: e.secrets,
        requestFingerprint: e.fingerprint,
      });
      runs.push(performance.now() - started);
      assert.equal(done.kit.memberId, `m-${i}`);
    }
    t.diagnostic(
      `createEnrollment + verify + answer + complete: ${runs.map((ms) => ms.toFixed(1)).join(', ')} ms`,
    );
  });

  it('an auditor gets the federation JWKS, holding its own key', async () => {
    const f = await federation();
    const e = await createEnrollment({ federation: 'test', memberId: 'aud-2', role: 'auditor' });
    const a = await answerEnrollment(f.coordinator, await verifyEnrollmentRequest(e.request));
    const done = await completeEnrollment(a.response, {
      secrets: e.secrets,
      requestFingerprint: e.fingerprint,
    });
    assert.equal(done.kit.role, 'auditor');
    assert.ok(
      'jwks' in done.kit &&
        done.kit.jwks.keys.some((k) => (k as { kpfl_member?: string }).kpfl_member === 'aud-2'),
    );
  });

  it('the fingerprint is 100 bits of SHA-256 in base32 (RFC 4648 test vector prefix)', () => {
    // SHA-256("") = e3b0c442 98fc1c14 ... ; base32 of e3 b0 c4 42 98 fc 1c 14 9a fb f4 c8 ... = 4OYMIQUY7QOBJGX3...
    assert.equal(fingerprintOf(''), '4OYM-IQUY-7QOB-JGX3-6TEJ');
    assert.notEqual(fingerprintOf('a'), fingerprintOf('b'));
  });

  it('refuses a request whose proof of possession fails: a tampered field, another key', async () => {
    const e = await createEnrollment({ federation: 'test', memberId: 'eve' });
    const control = await verifyEnrollmentRequest(e.request);
    assert.equal(control.claims.member, 'eve', 'control: the untampered request verifies');
    await expectCode(
      () => verifyEnrollmentRequest(tamperCompact(e.request, (p) => (p.role = 'auditor'))),
      'SIGNATURE_INVALID',
      /^enrollment request proof of possession failed: its signature does not verify with the identity key it carries/,
    );
    // Signed by another key, which the request does not carry (its header kid is honest).
    const other = await generateIdentity();
    const bySomeoneElse = await signEnrollmentRequest(other, claimsOf(e.request));
    await expectCode(
      () => verifyEnrollmentRequest(bySomeoneElse.request),
      'SIGNATURE_INVALID',
      /proof of possession failed/,
    );
    // An unknown claim, a duplicate member: refused before any signature is checked.
    await expectCode(
      () => verifyEnrollmentRequest(tamperCompact(e.request, (p) => (p.extra = 1))),
      'CLAIMS_INVALID',
      /enrollment request has invalid claims: \(root\): Unrecognized key\(s\) in object: 'extra'/,
    );
    await expectCode(
      () => verifyEnrollmentRequest(e.request, { federation: 'other' }),
      'CLAIMS_INVALID',
      /is for federation test, this coordinator runs other/,
    );
  });

  it("refuses a CSR whose key differs from the request's TLS key, or that names someone else", async () => {
    const e = await createEnrollment({ federation: 'test', memberId: 'eve' });
    const claims = claimsOf(e.request);
    const other = await createTlsKeyAndCsr('eve');
    const mixed = await signEnrollmentRequest(e.secrets.identity, { ...claims, csr: other.csrPem });
    await expectCode(
      () => verifyEnrollmentRequest(mixed.request),
      'CERTIFICATE_INVALID',
      /^the CSR's public key is not the request's tlsPublicKey: the request was assembled from two different TLS keys$/,
    );
    const mallory = await createTlsKeyAndCsr('mallory');
    const named = await signEnrollmentRequest(e.secrets.identity, {
      ...claims,
      csr: mallory.csrPem,
      tlsPublicKey: mallory.publicKeyPem,
    });
    await expectCode(
      () => verifyEnrollmentRequest(named.request),
      'CERTIFICATE_INVALID',
      /the CSR's subject must be exactly CN=eve, got CN=mallory/,
    );
  });

  it('the member refuses a response for another federation, another member or another request', async () => {
    const f = await federation();
    const other = await createFederationKits({ federation: 'other', members: ['x'] });
    const e = await createEnrollment({ federation: 'test', memberId: 'erin' });
    const mine = { secrets: e.secrets, requestFingerprint: e.fingerprint };
    // Another federation's coordinator answering a request for erin in its federation.
    const foreign = await createEnrollment({ federation: 'other', memberId: 'erin' });
    const foreignAnswer = await answerEnrollment(
      other.coordinator,
      await verifyEnrollmentRequest(foreign.request),
    );
    await expectCode(
      () => completeEnrollment(foreignAnswer.response, mine),
      'CLAIMS_INVALID',
      /^enrollment response is for federation other, but this kit is for test: not your response$/,
    );
    const frank = await createEnrollment({ federation: 'test', memberId: 'frank' });
    const frankAnswer = await answerEnrollment(f.coordinator, await verifyEnrollmentRequest(frank.request));
    await expectCode(
      () => completeEnrollment(frankAnswer.response, mine),
      'CLAIMS_INVALID',
      /^enrollment response is for member frank, but this kit is erin's: not your response$/,
    );
    // A second request by erin (other keys), answered: not the request this kit made.
    const again = await createEnrollment({ federation: 'test', memberId: 'erin' });
    const againAnswer = await answerEnrollment(f.coordinator, await verifyEnrollmentRequest(again.request));
    await expectCode(
      () => completeEnrollment(againAnswer.response, mine),
      'CLAIMS_INVALID',
      /answers the request with fingerprint .*, yours is .*: it is not for the request this kit made/,
    );
    // A tampered response (the certificate swapped) no longer verifies.
    const ok = await answerEnrollment(f.coordinator, await verifyEnrollmentRequest(e.request));
    await completeEnrollment(ok.response, mine); // control
    await expectCode(
      () =>
        completeEnrollment(
          tamperCompact(ok.response, (p) => (p.aggregator = 'evil:1')),
          mine,
        ),
      'SIGNATURE_INVALID',
      /enrollment response signature does not verify: forged or altered/,
    );
  });

  it('answerEnrollment refuses an id that is already registered', async () => {
    const f = await federation();
    const e = await createEnrollment({ federation: 'test', memberId: 'alice' });
    await expectCode(
      async () => answerEnrollment(f.coordinator, await verifyEnrollmentRequest(e.request)),
      'CLAIMS_INVALID',
      /member "alice" is already registered/,
    );
  });
});
