import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CompactSign, decodeProtectedHeader } from 'jose';
import {
  DigestBuilder,
  digestOf,
  digestOfChunks,
  signAttestation,
  signChallenge,
  verifyAttestation,
} from '../src/index.js';
import {
  AUDIENCE,
  attest,
  attestationClaims,
  expectCode,
  federation,
  memberOf,
  tamperCompact,
} from './fixtures.js';

describe('digests', () => {
  it("digestOf is 'sha256:' + hex over the bytes (FIPS 180-2 vector)", () => {
    const abc = 'sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
    assert.equal(digestOf('abc'), abc);
    assert.equal(digestOf(new Uint8Array([0x61, 0x62, 0x63])), abc);
  });

  it('chunked digest equals the digest of the concatenated ciphertext bytes, in order', () => {
    const chunks = [new Uint8Array([1, 2, 3]), new Uint8Array(0), new Uint8Array([4, 5])];
    const b = new DigestBuilder();
    for (const c of chunks) b.update(c);
    assert.equal(b.byteLength, 5);
    assert.equal(b.digest(), digestOf(new Uint8Array([1, 2, 3, 4, 5])));
    assert.equal(digestOfChunks(chunks), digestOf(new Uint8Array([1, 2, 3, 4, 5])));
    assert.notEqual(digestOfChunks([chunks[2], chunks[0]]), digestOfChunks(chunks));
  });
});

describe('contribution attestations', () => {
  it('sign then verify with the registered key; typ is kpfl-attestation+jwt', async () => {
    const f = await federation();
    const alice = memberOf(f, 'alice');
    const before = Math.floor(Date.now() / 1000);
    const jws = await attest(alice.identity, 'alice');
    const after = Math.floor(Date.now() / 1000);
    const header = decodeProtectedHeader(jws);
    assert.deepEqual(header, { alg: 'EdDSA', kid: alice.identity.kid, typ: 'kpfl-attestation+jwt' });
    const claims = await verifyAttestation(jws, alice.identity.publicJwk, {
      iss: 'alice',
      federation: 'test',
      round: 1,
      updateDigest: attestationClaims('alice').updateDigest,
    });
    assert.equal(claims.exampleCount, 600);
    assert.equal(claims.training.lr, 0.1);
    assert.ok(claims.iat >= before && claims.iat <= after, `iat ${claims.iat} is the signing time`);
  });

  it('tampered attestation: ATTESTATION_INVALID', async () => {
    const f = await federation();
    const alice = memberOf(f, 'alice');
    const jws = tamperCompact(await attest(alice.identity, 'alice'), (p) => {
      p.exampleCount = 60_000;
    });
    await expectCode(
      () => verifyAttestation(jws, alice.identity.publicJwk),
      'ATTESTATION_INVALID',
      /altered/,
    );
  });

  it('attestation signed by another member: ATTESTATION_INVALID', async () => {
    const f = await federation();
    const jws = await attest(memberOf(f, 'bob').identity, 'alice'); // bob claims to be alice
    await expectCode(
      () => verifyAttestation(jws, memberOf(f, 'alice').identity.publicJwk),
      'ATTESTATION_INVALID',
    );
  });

  it('expectations: round -> WRONG_ROUND, others -> ATTESTATION_INVALID', async () => {
    const f = await federation();
    const alice = memberOf(f, 'alice');
    const jws = await attest(alice.identity, 'alice', 2);
    const key = alice.identity.publicJwk;
    await expectCode(() => verifyAttestation(jws, key, { round: 3 }), 'WRONG_ROUND');
    await expectCode(() => verifyAttestation(jws, key, { iss: 'bob' }), 'ATTESTATION_INVALID', /iss/);
    await expectCode(
      () => verifyAttestation(jws, key, { updateDigest: digestOf('other bytes') }),
      'ATTESTATION_INVALID',
      /updateDigest/,
    );
    await expectCode(
      () => verifyAttestation(jws, key, { baseModelDigest: digestOf('stale model') }),
      'ATTESTATION_INVALID',
      /baseModelDigest/,
    );
  });

  it('signAttestation refuses malformed claims: CLAIMS_INVALID', async () => {
    const f = await federation();
    const id = memberOf(f, 'alice').identity;
    const base = attestationClaims('alice');
    await expectCode(
      () => signAttestation(id, { ...base, updateDigest: 'md5:abc' }),
      'CLAIMS_INVALID',
      /updateDigest/,
    );
    await expectCode(() => signAttestation(id, { ...base, exampleCount: 0 }), 'CLAIMS_INVALID');
    await expectCode(
      () => signAttestation(id, { ...base, training: { ...base.training, lr: Number.NaN } }),
      'CLAIMS_INVALID',
    );
    await expectCode(() => signAttestation(id, { ...base, mode: 'clear' as 'plain' }), 'CLAIMS_INVALID');
  });

  it('validly signed but malformed claims, or another artifact type: ATTESTATION_INVALID', async () => {
    const f = await federation();
    const alice = memberOf(f, 'alice');
    const { signingKey } = await keyOf(alice.identity.privateJwk);
    const raw = await new CompactSign(
      new TextEncoder().encode(JSON.stringify({ ...attestationClaims('alice'), round: '1' })),
    )
      .setProtectedHeader({ alg: 'EdDSA', kid: alice.identity.kid, typ: 'kpfl-attestation+jwt' })
      .sign(signingKey);
    await expectCode(() => verifyAttestation(raw, alice.identity.publicJwk), 'ATTESTATION_INVALID', /round/);
    const challenge = await signChallenge(alice.identity, {
      nonce: 'n'.repeat(43),
      subject: 'alice',
      audience: AUDIENCE,
    });
    await expectCode(
      () => verifyAttestation(challenge, alice.identity.publicJwk),
      'ATTESTATION_INVALID',
      /typ/,
    );
    await expectCode(() => verifyAttestation('a.b', alice.identity.publicJwk), 'ATTESTATION_INVALID');
  });
});

async function keyOf(jwk: import('jose').JWK) {
  const { importJWK } = await import('jose');
  return { signingKey: await importJWK({ kty: jwk.kty, crv: jwk.crv, x: jwk.x, d: jwk.d }, 'EdDSA') };
}
