import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FlattenedSign, type GeneralJWS, GeneralSign, importJWK, type JWK } from 'jose';
import {
  countersignRoundCertificate,
  createRoundCertificate,
  digestOf,
  generateIdentity,
  verifyRoundCertificate,
} from '../src/index.js';
import { attest, expectCode, federation, memberOf } from './fixtures.js';

const TYP = 'kpfl-round-certificate+json';

async function round() {
  const f = await federation();
  const alice = memberOf(f, 'alice');
  const bob = memberOf(f, 'bob');
  const carol = memberOf(f, 'carol');
  const att = {
    alice: digestOf(await attest(alice.identity, 'alice')),
    bob: digestOf(await attest(bob.identity, 'bob')),
    carol: digestOf(await attest(carol.identity, 'carol')),
  };
  const cert = await createRoundCertificate(f.coordinator.signingKey, {
    federation: 'test',
    round: 1,
    aggregateDigest: digestOf('encrypted sum'),
    attestationDigests: [att.bob, att.alice],
    members: ['bob', 'alice'],
  });
  const signedA = await countersignRoundCertificate(
    cert,
    alice.identity,
    'alice',
    att.alice,
    alice.coordinatorJwks,
  );
  const signedAB = await countersignRoundCertificate(
    signedA,
    bob.identity,
    'bob',
    att.bob,
    bob.coordinatorJwks,
  );
  return { f, alice, bob, carol, att, cert, signedA, signedAB };
}

const privateKey = (jwk: JWK) => importJWK({ kty: jwk.kty, crv: jwk.crv, x: jwk.x, d: jwk.d }, 'EdDSA');

function flipChar(s: string): string {
  const i = Math.floor(s.length / 2);
  return s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
}

describe('round certificates', () => {
  it('coordinator signs, each member countersigns, everyone verifies (General JWS)', async () => {
    const { f, cert, signedAB, att } = await round();
    assert.equal(cert.signatures.length, 1);
    assert.equal(signedAB.signatures.length, 3);
    assert.equal(signedAB.payload, cert.payload);
    const r = await verifyRoundCertificate(signedAB, f.jwks, { requireAllMembers: true });
    assert.deepEqual(r.signers, ['alice', 'bob']);
    assert.equal(r.coordinatorKid, f.coordinator.signingKey.kid);
    assert.deepEqual(r.payload.members, ['alice', 'bob']);
    assert.deepEqual(r.payload.attestationDigests, [att.alice, att.bob].sort());
    const headers = signedAB.signatures.map((s) =>
      JSON.parse(Buffer.from(s.protected as string, 'base64url').toString()),
    );
    assert.deepEqual(
      headers.map((h) => [h.typ, h.kpfl_signer, h.kpfl_member]),
      [
        [TYP, 'coordinator', undefined],
        [TYP, 'member', 'alice'],
        [TYP, 'member', 'bob'],
      ],
    );
  });

  it('carries an optional planId', async () => {
    const { f, alice, att } = await round();
    const cert = await createRoundCertificate(f.coordinator.signingKey, {
      federation: 'test',
      planId: 'plan-2026-11',
      round: 1,
      aggregateDigest: digestOf('sum'),
      attestationDigests: [att.alice],
      members: ['alice'],
    });
    const signed = await countersignRoundCertificate(
      cert,
      alice.identity,
      'alice',
      att.alice,
      alice.coordinatorJwks,
    );
    assert.equal(
      (await verifyRoundCertificate(signed, f.jwks, { requireAllMembers: true })).payload.planId,
      'plan-2026-11',
    );
  });

  it('countersigning is idempotent and does not mutate its input', async () => {
    const { alice, att, signedA } = await round();
    const before = JSON.stringify(signedA);
    const again = await countersignRoundCertificate(
      signedA,
      alice.identity,
      'alice',
      att.alice,
      alice.coordinatorJwks,
    );
    assert.deepEqual(again, signedA);
    assert.equal(JSON.stringify(signedA), before);
  });

  it('a member whose attestation is not listed refuses to countersign: CERTIFICATE_INVALID', async () => {
    const { alice, carol, att, cert } = await round();
    await expectCode(
      () =>
        countersignRoundCertificate(
          cert,
          alice.identity,
          'alice',
          digestOf('my real attestation'),
          alice.coordinatorJwks,
        ),
      'CERTIFICATE_INVALID',
      /not listed/,
    );
    await expectCode(
      () => countersignRoundCertificate(cert, carol.identity, 'carol', att.carol, carol.coordinatorJwks),
      'CERTIFICATE_INVALID',
      /"carol" is not listed/,
    );
  });

  it('a member refuses a certificate with a forged coordinator signature: CERTIFICATE_INVALID', async () => {
    const { f, alice, att } = await round();
    const impostor = await generateIdentity();
    const forged = await createRoundCertificate(
      { ...impostor, kid: f.coordinator.signingKey.kid },
      {
        federation: 'test',
        round: 1,
        aggregateDigest: digestOf('x'),
        attestationDigests: [att.alice],
        members: ['alice'],
      },
    );
    await expectCode(
      () => countersignRoundCertificate(forged, alice.identity, 'alice', att.alice, alice.coordinatorJwks),
      'CERTIFICATE_INVALID',
      /coordinator/,
    );
    await expectCode(() => verifyRoundCertificate(forged, f.jwks), 'CERTIFICATE_INVALID', /coordinator/);
    // signed by a member key: the JWKS does not hold it as a coordinator key
    const byMember = await createRoundCertificate(alice.identity, {
      federation: 'test',
      round: 1,
      aggregateDigest: digestOf('x'),
      attestationDigests: [att.alice],
      members: ['alice'],
    });
    await expectCode(
      () => verifyRoundCertificate(byMember, f.jwks),
      'CERTIFICATE_INVALID',
      /not a coordinator key/,
    );
  });

  it('member signature removed: CERTIFICATE_INVALID when that member is required', async () => {
    const { f, signedAB } = await round();
    const removed: GeneralJWS = { ...signedAB, signatures: signedAB.signatures.filter((_, i) => i !== 2) };
    assert.deepEqual((await verifyRoundCertificate(removed, f.jwks)).signers, ['alice']);
    await expectCode(
      () => verifyRoundCertificate(removed, f.jwks, { requireMembers: ['bob'] }),
      'CERTIFICATE_INVALID',
      /bob/,
    );
    await expectCode(
      () => verifyRoundCertificate(removed, f.jwks, { requireAllMembers: true }),
      'CERTIFICATE_INVALID',
    );
  });

  it('coordinator signature removed: CERTIFICATE_INVALID', async () => {
    const { f, signedAB } = await round();
    const removed: GeneralJWS = { ...signedAB, signatures: signedAB.signatures.slice(1) };
    await expectCode(
      () => verifyRoundCertificate(removed, f.jwks),
      'CERTIFICATE_INVALID',
      /exactly one coordinator/,
    );
  });

  it('signature altered: CERTIFICATE_INVALID', async () => {
    const { f, signedAB } = await round();
    for (const i of [0, 1, 2]) {
      const altered: GeneralJWS = {
        ...signedAB,
        signatures: signedAB.signatures.map((s, j) =>
          j === i ? { ...s, signature: flipChar(s.signature) } : s,
        ),
      };
      await expectCode(
        () => verifyRoundCertificate(altered, f.jwks),
        'CERTIFICATE_INVALID',
        /does not verify/,
      );
    }
  });

  it('payload altered (a digest slipped in): CERTIFICATE_INVALID', async () => {
    const { f, signedAB } = await round();
    const payload = JSON.parse(Buffer.from(signedAB.payload, 'base64url').toString());
    payload.aggregateDigest = digestOf('another sum');
    const altered = { ...signedAB, payload: Buffer.from(JSON.stringify(payload)).toString('base64url') };
    await expectCode(() => verifyRoundCertificate(altered, f.jwks), 'CERTIFICATE_INVALID');
  });

  it('a signature from an unlisted member, a mislabelled member, or a duplicate: CERTIFICATE_INVALID', async () => {
    const { f, carol, alice, signedAB } = await round();
    const payloadBytes = Buffer.from(signedAB.payload, 'base64url');
    const sigAs = async (jwk: JWK, kid: string, member: string) => {
      const s = await new FlattenedSign(payloadBytes)
        .setProtectedHeader({ alg: 'EdDSA', kid, typ: TYP, kpfl_signer: 'member', kpfl_member: member })
        .sign(await privateKey(jwk));
      return { protected: s.protected as string, signature: s.signature };
    };
    const unlisted = {
      ...signedAB,
      signatures: [
        ...signedAB.signatures,
        await sigAs(carol.identity.privateJwk, carol.identity.kid, 'carol'),
      ],
    };
    await expectCode(() => verifyRoundCertificate(unlisted, f.jwks), 'CERTIFICATE_INVALID', /not listed/);
    // alice's key claiming to be bob
    const mislabelled = {
      ...signedAB,
      signatures: [signedAB.signatures[0], await sigAs(alice.identity.privateJwk, alice.identity.kid, 'bob')],
    };
    await expectCode(
      () => verifyRoundCertificate(mislabelled, f.jwks),
      'CERTIFICATE_INVALID',
      /not the JWKS key of member "bob"/,
    );
    const duplicate = { ...signedAB, signatures: [...signedAB.signatures, signedAB.signatures[1]] };
    await expectCode(
      () => verifyRoundCertificate(duplicate, f.jwks),
      'CERTIFICATE_INVALID',
      /two signatures/,
    );
  });

  it('non-canonical payloads and malformed structures: CERTIFICATE_INVALID', async () => {
    const { f, att, signedAB } = await round();
    const unsortedPayload = {
      federation: 'test',
      round: 1,
      aggregateDigest: digestOf('x'),
      attestationDigests: [att.alice, att.bob].sort().reverse(),
      members: ['alice', 'bob'],
      publishedAt: new Date().toISOString(),
    };
    const raw = await new GeneralSign(new TextEncoder().encode(JSON.stringify(unsortedPayload)))
      .addSignature(await privateKey(f.coordinator.signingKey.privateJwk))
      .setProtectedHeader({
        alg: 'EdDSA',
        kid: f.coordinator.signingKey.kid,
        typ: TYP,
        kpfl_signer: 'coordinator',
      })
      .sign();
    await expectCode(() => verifyRoundCertificate(raw, f.jwks), 'CERTIFICATE_INVALID', /sorted/);
    const withUnprotected = {
      ...signedAB,
      signatures: signedAB.signatures.map((s) => ({ ...s, header: { kid: 'x' } })),
    };
    await expectCode(() => verifyRoundCertificate(withUnprotected, f.jwks), 'CERTIFICATE_INVALID');
    await expectCode(
      () => verifyRoundCertificate({ payload: signedAB.payload, signatures: [] }, f.jwks),
      'CERTIFICATE_INVALID',
    );
    await expectCode(
      () =>
        verifyRoundCertificate({ ...signedAB, signatures: [{ protected: 'e30', signature: 'AA' }] }, f.jwks),
      'CERTIFICATE_INVALID',
    );
  });

  it('createRoundCertificate refuses inconsistent input: CLAIMS_INVALID', async () => {
    const { f, att } = await round();
    await expectCode(
      () =>
        createRoundCertificate(f.coordinator.signingKey, {
          federation: 'test',
          round: 1,
          aggregateDigest: digestOf('x'),
          attestationDigests: [att.alice],
          members: ['alice', 'bob'],
        }),
      'CLAIMS_INVALID',
      /one attestation digest per member/,
    );
  });
});
