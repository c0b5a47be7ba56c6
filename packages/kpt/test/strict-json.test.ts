import assert from 'node:assert/strict';
import { sign } from 'node:crypto';
import { describe, it } from 'node:test';
import { signingKeyOf } from '../src/identity.js';
import {
  createChallenge,
  createRoundCertificate,
  digestOf,
  type IdentityKey,
  MAX_SESSION_TTL_S,
  parseStrictJson,
  refuseDuplicateKeys,
  signChallenge,
  signReceipt,
  TokenVerifier,
  verifyAttestation,
  verifyChallengeResponse,
  verifyReceipt,
  verifyRoundCertificate,
} from '../src/index.js';
import { AUDIENCE, attestationClaims, expectCode, federation, ISSUER, memberOf } from './fixtures.js';

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64url');

/**
 * A compact JWS over exactly these header and payload texts, signed with node:crypto's Ed25519 (the
 * JWS signing input of RFC 7515 §5.1): jose would re-serialize an object and drop the duplicate.
 */
function signRaw(identity: IdentityKey, header: string, payload: string): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${sign(null, Buffer.from(input), signingKeyOf(identity)).toString('base64url')}`;
}

/** A JSON object's text with `extra` inserted right after the opening brace (so the later member wins in JSON.parse). */
const withMember = (json: string, extra: string) => `{${extra},${json.slice(1)}`;

async function sessionParts(over: Record<string, unknown> = {}) {
  const f = await federation();
  const coordinator = f.coordinator.signingKey;
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    iss: ISSUER,
    sub: 'alice',
    aud: AUDIENCE,
    exp: now + 300,
    nbf: now,
    iat: now,
    jti: '0123456789abcdef0123',
    kpfl: { federation: 'test', roles: ['participant'], capabilities: ['task:read'] },
    ...over,
  };
  const header = JSON.stringify({ alg: 'EdDSA', kid: coordinator.kid, typ: 'kpfl-session+jwt' });
  const verifier = new TokenVerifier({ jwks: f.jwks, issuer: ISSUER, audience: AUDIENCE });
  return { f, coordinator, claims, header, payload: JSON.stringify(claims), verifier };
}

describe('duplicate JSON keys', () => {
  it('refuseDuplicateKeys finds them at any depth, through escapes, and names where', () => {
    refuseDuplicateKeys('{"a":1,"b":{"c":[{"d":1},{"d":2}]}}', 'CLAIMS_INVALID', 'x');
    for (const [text, where] of [
      ['{"a":1,"a":2}', '/'],
      ['{"a":1,"b":{"c":1,"c":2}}', '/b'],
      ['{"a":[0,{"k":1,"k":1}]}', '/a/1'],
      ['{"a":1,"\\u0061":2}', '/'],
    ] as const) {
      assert.throws(
        () => refuseDuplicateKeys(text, 'CLAIMS_INVALID', 'the document'),
        (e: Error) => e.message.includes('twice') && e.message.includes(`(at ${where})`),
        text,
      );
    }
    // Not JSON at all: left to the caller's parser, which says so.
    refuseDuplicateKeys('{"a":1,}', 'CLAIMS_INVALID', 'x');
    assert.throws(() => parseStrictJson('{"a":1,}', 'CLAIMS_INVALID', 'x'), /x is not JSON/);
    assert.deepEqual(parseStrictJson('{"a":[1,2]}', 'CLAIMS_INVALID', 'x'), { a: [1, 2] });
  });

  it('a session token with a duplicate claim or header member is refused though its signature verifies', async () => {
    const { coordinator, header, payload, verifier } = await sessionParts();
    // Positive control: the same raw signing path with no duplicate is accepted.
    await verifier.verify(signRaw(coordinator, header, payload));
    const dupSub = withMember(payload, '"sub":"mallory"');
    // JSON.parse keeps the last "sub" (alice); a first-wins parser would read mallory.
    assert.equal(JSON.parse(dupSub).sub, 'alice');
    await expectCode(
      () => verifier.verify(signRaw(coordinator, header, dupSub)),
      'TOKEN_INVALID',
      /^session token payload has the member "sub" twice \(at \/\): duplicate JSON keys are refused$/,
    );
    await expectCode(
      () => verifier.verify(signRaw(coordinator, withMember(header, '"alg":"none"'), payload)),
      'TOKEN_INVALID',
      /^session token header has the member "alg" twice/,
    );
    const nested = payload.replace('"roles":', '"roles":["auditor"],"roles":');
    await expectCode(
      () => verifier.verify(signRaw(coordinator, header, nested)),
      'TOKEN_INVALID',
      /member "roles" twice \(at \/kpfl\)/,
    );
  });

  it('an attestation with two exampleCounts is refused though its signature verifies', async () => {
    const f = await federation();
    const alice = memberOf(f, 'alice');
    const header = JSON.stringify({ alg: 'EdDSA', kid: alice.identity.kid, typ: 'kpfl-attestation+jwt' });
    const payload = JSON.stringify({ ...attestationClaims('alice'), iat: Math.floor(Date.now() / 1000) });
    await verifyAttestation(signRaw(alice.identity, header, payload), alice.identity.publicJwk);
    await expectCode(
      () =>
        verifyAttestation(
          signRaw(alice.identity, header, withMember(payload, '"exampleCount":3000000000')),
          alice.identity.publicJwk,
        ),
      'ATTESTATION_INVALID',
      /^attestation payload has the member "exampleCount" twice/,
    );
    await expectCode(
      () =>
        verifyAttestation(
          signRaw(alice.identity, withMember(header, '"typ":"kpfl-receipt+jwt"'), payload),
          alice.identity.publicJwk,
        ),
      'ATTESTATION_INVALID',
      /^attestation header has the member "typ" twice/,
    );
  });

  it('a challenge response and a receipt with a duplicate member are refused', async () => {
    const f = await federation();
    const alice = memberOf(f, 'alice');
    const { nonce } = createChallenge();
    const good = await signChallenge(alice.identity, { nonce, subject: 'alice', audience: AUDIENCE });
    const [h, p] = good.split('.').map((s) => Buffer.from(s, 'base64url').toString('utf8'));
    const expect = { nonce, subject: 'alice', audience: AUDIENCE };
    await verifyChallengeResponse(signRaw(alice.identity, h!, p!), alice.identity.publicJwk, expect);
    await expectCode(
      () =>
        verifyChallengeResponse(
          signRaw(alice.identity, h!, withMember(p!, '"sub":"bob"')),
          alice.identity.publicJwk,
          expect,
        ),
      'CHALLENGE_INVALID',
      /^challenge response payload has the member "sub" twice/,
    );

    const receipt = await signReceipt(f.coordinator.signingKey, {
      federation: 'test',
      round: 1,
      member: 'alice',
      attestationDigest: digestOf('a'),
      receivedAt: new Date().toISOString(),
      status: 'accepted',
    });
    const [rh, rp] = receipt.split('.').map((s) => Buffer.from(s, 'base64url').toString('utf8'));
    await verifyReceipt(signRaw(f.coordinator.signingKey, rh!, rp!), f.jwks);
    await expectCode(
      () => verifyReceipt(signRaw(f.coordinator.signingKey, rh!, withMember(rp!, '"member":"bob"')), f.jwks),
      'TOKEN_INVALID',
      /^receipt payload has the member "member" twice/,
    );
  });

  it('a round certificate with a duplicate member in its payload or a protected header is refused', async () => {
    const f = await federation();
    const key = f.coordinator.signingKey;
    const cert = await createRoundCertificate(key, {
      federation: 'test',
      round: 1,
      aggregateDigest: digestOf('sum'),
      attestationDigests: [digestOf('att')],
      members: ['alice'],
    });
    const header = Buffer.from(cert.signatures[0]!.protected!, 'base64url').toString('utf8');
    const payload = Buffer.from(cert.payload, 'base64url').toString('utf8');
    const general = (h: string, p: string) => {
      const [ph, pp, s] = signRaw(key, h, p).split('.');
      return { payload: pp!, signatures: [{ protected: ph!, signature: s! }] };
    };
    await verifyRoundCertificate(general(header, payload), f.jwks);
    await expectCode(
      () => verifyRoundCertificate(general(header, withMember(payload, '"round":7')), f.jwks),
      'CERTIFICATE_INVALID',
      /^round certificate payload has the member "round" twice/,
    );
    await expectCode(
      () => verifyRoundCertificate(general(withMember(header, '"kpfl_signer":"member"'), payload), f.jwks),
      'CERTIFICATE_INVALID',
      /^round certificate signature #0 protected header has the member "kpfl_signer" twice/,
    );
  });
});

describe('session token lifetime', () => {
  it('a coordinator-signed token with exp 10 years ahead is refused', async () => {
    const { coordinator, header, claims, verifier } = await sessionParts();
    const tenYears = 10 * 365 * 86400;
    await expectCode(
      () =>
        verifier.verify(
          signRaw(coordinator, header, JSON.stringify({ ...claims, exp: claims.iat + tenYears })),
        ),
      'TOKEN_INVALID',
      new RegExp(`^session token lives ${tenYears} s, more than the maximum ${MAX_SESSION_TTL_S} s`),
    );
  });

  it('a token an hour over the cap is refused; one at the cap is accepted', async () => {
    const { coordinator, header, claims, verifier } = await sessionParts();
    const over = MAX_SESSION_TTL_S + 3600;
    await expectCode(
      () =>
        verifier.verify(signRaw(coordinator, header, JSON.stringify({ ...claims, exp: claims.iat + over }))),
      'TOKEN_INVALID',
      /more than the maximum/,
    );
    // At the cap exactly (and within the clock tolerance) it is accepted: the issuer's own maximum.
    await verifier.verify(
      signRaw(coordinator, header, JSON.stringify({ ...claims, exp: claims.iat + MAX_SESSION_TTL_S })),
    );
  });
});
