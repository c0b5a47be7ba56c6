import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SignJWT, UnsecuredJWT } from 'jose';
import {
  GRPC_STATUS_OF,
  generateIdentity,
  type IssueSessionArgs,
  issueSessionToken,
  type KpflClaims,
  KptError,
  MemoryReplayStore,
  TokenVerifier,
} from '../src/index.js';
import { AUDIENCE, attest, expectCode, federation, ISSUER, memberOf, tamperCompact } from './fixtures.js';

const kpfl: IssueSessionArgs['kpfl'] = {
  federation: 'test',
  roles: ['participant'],
  capabilities: ['submit:round', 'model:download'],
  round: 3,
  quotas: { maxSubmissionsPerRound: 1, maxBytesPerRound: 50_000_000 },
};

async function setup(opts: Partial<ConstructorParameters<typeof TokenVerifier>[0]> = {}) {
  const f = await federation();
  const coordinator = f.coordinator.signingKey;
  const verifier = new TokenVerifier({ jwks: f.jwks, issuer: ISSUER, audience: AUDIENCE, ...opts });
  const issue = (over: Partial<Parameters<typeof issueSessionToken>[1]> = {}) =>
    issueSessionToken(coordinator, {
      issuer: ISSUER,
      audience: AUDIENCE,
      subject: 'alice',
      ttlSeconds: 300,
      kpfl,
      ...over,
    });
  return { f, coordinator, verifier, issue };
}

describe('session tokens', () => {
  it('issue then verify with role, capability, round and subject', async () => {
    const { verifier, issue } = await setup();
    const claims = await verifier.verify(await issue(), {
      role: 'participant',
      capability: 'submit:round',
      round: 3,
      subject: 'alice',
    });
    assert.equal(claims.sub, 'alice');
    assert.equal(claims.iss, ISSUER);
    assert.equal(claims.exp - claims.iat, 300);
    assert.deepEqual(claims.kpfl, kpfl);
    assert.match(claims.jti, /^[0-9a-f-]{36}$/);
  });

  it('a token is reusable for many RPCs by default', async () => {
    const { verifier, issue } = await setup();
    const token = await issue();
    for (let i = 0; i < 3; i++) await verifier.verify(token);
  });

  it('expired token: TOKEN_EXPIRED (UNAUTHENTICATED)', async () => {
    const { verifier, issue } = await setup();
    const token = await issue({ ttlSeconds: 60, now: () => Date.now() - 3600_000 });
    const err = await expectCode(() => verifier.verify(token), 'TOKEN_EXPIRED', /authenticate again/);
    assert.equal(err.grpcStatus, 'UNAUTHENTICATED');
  });

  it('expiry honours the clock tolerance (30 s default)', async () => {
    const { verifier, issue } = await setup();
    await verifier.verify(await issue({ ttlSeconds: 60, now: () => Date.now() - 80_000 }));
    await expectCode(
      async () => verifier.verify(await issue({ ttlSeconds: 60, now: () => Date.now() - 95_000 })),
      'TOKEN_EXPIRED',
    );
  });

  it('not-yet-valid token: TOKEN_INVALID', async () => {
    const { verifier, issue } = await setup();
    const token = await issue({ notBefore: Math.floor(Date.now() / 1000) + 600, ttlSeconds: 3600 });
    await expectCode(() => verifier.verify(token), 'TOKEN_INVALID', /not yet valid/);
  });

  it('wrong audience: WRONG_AUDIENCE', async () => {
    const { verifier, issue } = await setup();
    await expectCode(
      async () => verifier.verify(await issue({ audience: 'kpfl:other:aggregator' })),
      'WRONG_AUDIENCE',
    );
  });

  it('wrong issuer: WRONG_ISSUER', async () => {
    const { verifier, issue } = await setup();
    await expectCode(async () => verifier.verify(await issue({ issuer: 'kpfl:evil' })), 'WRONG_ISSUER');
  });

  it('token signed by a key outside the JWKS: SIGNATURE_INVALID', async () => {
    const { verifier } = await setup();
    const stranger = await generateIdentity();
    const token = await issueSessionToken(stranger, {
      issuer: ISSUER,
      audience: AUDIENCE,
      subject: 'alice',
      ttlSeconds: 60,
      kpfl,
    });
    await expectCode(() => verifier.verify(token), 'SIGNATURE_INVALID', /not a coordinator key/);
  });

  it("token signed by another key under the coordinator's kid: SIGNATURE_INVALID", async () => {
    const { verifier, coordinator } = await setup();
    const stranger = await generateIdentity();
    const token = await issueSessionToken(
      { ...stranger, kid: coordinator.kid },
      { issuer: ISSUER, audience: AUDIENCE, subject: 'alice', ttlSeconds: 60, kpfl },
    );
    await expectCode(() => verifier.verify(token), 'SIGNATURE_INVALID', /forged or altered/);
  });

  it('a member key in the published JWKS cannot mint session tokens: SIGNATURE_INVALID', async () => {
    const { f, verifier } = await setup();
    const alice = memberOf(f, 'alice');
    const token = await issueSessionToken(alice.identity, {
      issuer: ISSUER,
      audience: AUDIENCE,
      subject: 'alice',
      ttlSeconds: 60,
      kpfl: { ...kpfl, roles: ['operator'] },
    });
    await expectCode(() => verifier.verify(token), 'SIGNATURE_INVALID');
  });

  it('tampered payload: SIGNATURE_INVALID', async () => {
    const { verifier, issue } = await setup();
    const token = tamperCompact(await issue(), (p) => {
      (p.kpfl as KpflClaims).roles = ['operator'];
    });
    await expectCode(() => verifier.verify(token), 'SIGNATURE_INVALID');
  });

  it('unsigned (alg none), garbage and other-typ tokens: TOKEN_INVALID', async () => {
    const { f, verifier } = await setup();
    const none = new UnsecuredJWT({ sub: 'alice', kpfl }).setIssuer(ISSUER).setAudience(AUDIENCE).encode();
    await expectCode(() => verifier.verify(none), 'TOKEN_INVALID');
    await expectCode(() => verifier.verify('not.a.token'), 'TOKEN_INVALID');
    await expectCode(() => verifier.verify(''), 'TOKEN_INVALID');
    // a JWT signed by the coordinator key but with another typ (e.g. a receipt) is not a session token
    const wrongTyp = await new SignJWT({ sub: 'alice', jti: 'x'.repeat(20), kpfl })
      .setProtectedHeader({ alg: 'EdDSA', kid: f.coordinator.signingKey.kid, typ: 'kpfl-receipt+jwt' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setNotBefore('0s')
      .setExpirationTime('5m')
      .sign(await importPrivate(f.coordinator.signingKey.privateJwk));
    await expectCode(() => verifier.verify(wrongTyp), 'TOKEN_INVALID', /typ/);
    // a member-signed attestation is refused before anything is read from it
    await expectCode(
      async () => verifier.verify(await attest(memberOf(f, 'alice').identity, 'alice')),
      'TOKEN_INVALID',
    );
  });

  it('malformed claims are caught by the zod schema: CLAIMS_INVALID', async () => {
    const { f, verifier } = await setup();
    const key = await importPrivate(f.coordinator.signingKey.privateJwk);
    const sign = (payload: Record<string, unknown>) =>
      new SignJWT(payload)
        .setProtectedHeader({ alg: 'EdDSA', kid: f.coordinator.signingKey.kid, typ: 'kpfl-session+jwt' })
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setSubject('alice')
        .setIssuedAt()
        .setNotBefore('0s')
        .setExpirationTime('5m')
        .sign(key);
    const jti = '0123456789abcdef0123';
    await expectCode(
      async () => verifier.verify(await sign({ jti, kpfl: { ...kpfl, roles: ['root'] } })),
      'CLAIMS_INVALID',
      /roles/,
    );
    await expectCode(
      async () => verifier.verify(await sign({ jti, kpfl: { ...kpfl, round: -1 } })),
      'CLAIMS_INVALID',
      /round/,
    );
    await expectCode(async () => verifier.verify(await sign({ jti })), 'CLAIMS_INVALID', /kpfl/);
    await expectCode(async () => verifier.verify(await sign({ jti, kpfl, admin: true })), 'CLAIMS_INVALID');
    await expectCode(async () => verifier.verify(await sign({ kpfl })), 'CLAIMS_INVALID', /jti/);
  });

  it('issueSessionToken refuses malformed claims and lifetimes: CLAIMS_INVALID', async () => {
    const { issue } = await setup();
    // @ts-expect-error: not a capability of the vocabulary; the claim schema refuses it at run time too
    await expectCode(() => issue({ kpfl: { ...kpfl, capabilities: ['everything'] } }), 'CLAIMS_INVALID');
    await expectCode(() => issue({ subject: 'alice bob' }), 'CLAIMS_INVALID', /sub/);
    await expectCode(() => issue({ ttlSeconds: 0 }), 'CLAIMS_INVALID');
    await expectCode(() => issue({ ttlSeconds: 7 * 86400 }), 'CLAIMS_INVALID');
  });

  it('revoked subject: REVOKED (PERMISSION_DENIED)', async () => {
    const revoked = new Set(['alice']);
    const { verifier, issue } = await setup({ isRevoked: async (sub) => revoked.has(sub) });
    const err = await expectCode(async () => verifier.verify(await issue()), 'REVOKED');
    assert.equal(err.grpcStatus, 'PERMISSION_DENIED');
    await verifier.verify(await issue({ subject: 'bob' }));
  });

  it('revoked session (jti): REVOKED, other sessions unaffected', async () => {
    const { verifier, issue } = await setup();
    const token = await issue();
    const claims = await verifier.verify(token);
    verifier.revokeToken(claims.jti, claims.exp);
    await expectCode(() => verifier.verify(token), 'REVOKED');
    await verifier.verify(await issue());
  });

  it('missing role or capability, or another subject than the TLS peer: FORBIDDEN', async () => {
    const { verifier, issue } = await setup();
    const token = await issue();
    await expectCode(() => verifier.verify(token, { role: 'operator' }), 'FORBIDDEN', /role "operator"/);
    await expectCode(() => verifier.verify(token, { capability: 'audit:read' }), 'FORBIDDEN', /audit:read/);
    const err = await expectCode(() => verifier.verify(token, { subject: 'bob' }), 'FORBIDDEN', /TLS|peer/);
    assert.equal(err.grpcStatus, 'PERMISSION_DENIED');
  });

  it('wrong round, or a round-less token where a round is required: WRONG_ROUND', async () => {
    const { verifier, issue } = await setup();
    const err = await expectCode(
      async () => verifier.verify(await issue(), { round: 4 }),
      'WRONG_ROUND',
      /round 3/,
    );
    assert.equal(err.grpcStatus, 'FAILED_PRECONDITION');
    const { round: _r, ...roundless } = kpfl;
    await expectCode(
      async () => verifier.verify(await issue({ kpfl: roundless }), { round: 3 }),
      'WRONG_ROUND',
    );
  });

  it('token for another federation: FORBIDDEN when the verifier names its federation', async () => {
    const { issue } = await setup();
    const f = await federation();
    const v = new TokenVerifier({ jwks: f.jwks, issuer: ISSUER, audience: AUDIENCE, federation: 'other' });
    await expectCode(async () => v.verify(await issue()), 'FORBIDDEN', /federation/);
  });

  it("replay 'reject-reuse': a jti is accepted once: REPLAYED", async () => {
    const store = new MemoryReplayStore();
    const { verifier, issue } = await setup({ replay: 'reject-reuse', replayStore: store });
    const token = await issue();
    await expectCode(() => verifier.verify(token, { role: 'operator' }), 'FORBIDDEN'); // refused uses do not consume
    await verifier.verify(token);
    await expectCode(() => verifier.verify(token), 'REPLAYED');
    assert.equal(store.size, 1);
    await verifier.verify(await issue());
  });

  it('refuses a JWKS without coordinator key', async () => {
    const f = await federation();
    const membersOnly = { keys: f.jwks.keys.filter((k) => (k as Record<string, unknown>).kpfl_member) };
    await expectCode(
      () => new TokenVerifier({ jwks: membersOnly, issuer: ISSUER, audience: AUDIENCE }),
      'KEY_INVALID',
    );
  });

  it('every code maps to a gRPC status', () => {
    for (const [code, status] of Object.entries(GRPC_STATUS_OF)) {
      const e = new KptError(code as keyof typeof GRPC_STATUS_OF, 'x');
      assert.equal(e.grpcStatus, status);
      assert.deepEqual(JSON.parse(JSON.stringify(e)).code, code);
    }
  });
});

async function importPrivate(jwk: Parameters<typeof import('jose').importJWK>[0]) {
  const { importJWK } = await import('jose');
  return importJWK({ ...jwk, kid: undefined, use: undefined }, 'EdDSA');
}
