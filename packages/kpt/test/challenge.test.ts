import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ChallengeRegistry, createChallenge, signChallenge, verifyChallengeResponse } from '../src/index.js';
import { AUDIENCE, aliceSessionToken, expectCode, federation, memberOf } from './fixtures.js';

async function setup(now: () => number = Date.now) {
  const f = await federation();
  const alice = memberOf(f, 'alice');
  const bob = memberOf(f, 'bob');
  const registry = new ChallengeRegistry({ audience: AUDIENCE, ttlSeconds: 60, now });
  return { f, alice, bob, registry };
}

describe('challenge-response', () => {
  it('createChallenge gives 256-bit unique nonces with an expiry', () => {
    const a = createChallenge();
    const b = createChallenge({ ttlSeconds: 10, now: () => 1_700_000_000_000 });
    assert.equal(Buffer.from(a.nonce, 'base64url').length, 32);
    assert.notEqual(a.nonce, b.nonce);
    assert.equal(b.expiresAt, 1_700_000_010_000, 'expires ttlSeconds after its creation');
  });

  it('a participant answers with its identity key and the registry accepts it once', async () => {
    const { alice, registry } = await setup();
    const c = registry.issue('alice');
    const jws = await signChallenge(alice.identity, { nonce: c.nonce, subject: 'alice', audience: AUDIENCE });
    await registry.redeem(jws, alice.identity.publicJwk, 'alice');
    assert.equal(registry.pendingCount, 0);
  });

  it('replayed challenge nonce: REPLAYED', async () => {
    const { alice, registry } = await setup();
    const c = registry.issue('alice');
    const jws = await signChallenge(alice.identity, { nonce: c.nonce, subject: 'alice', audience: AUDIENCE });
    await registry.redeem(jws, alice.identity.publicJwk, 'alice');
    const err = await expectCode(() => registry.redeem(jws, alice.identity.publicJwk, 'alice'), 'REPLAYED');
    assert.equal(err.grpcStatus, 'UNAUTHENTICATED');
  });

  it('two concurrent redemptions of one nonce: exactly one passes', async () => {
    const { alice, registry } = await setup();
    const c = registry.issue('alice');
    const jws = await signChallenge(alice.identity, { nonce: c.nonce, subject: 'alice', audience: AUDIENCE });
    const results = await Promise.allSettled([
      registry.redeem(jws, alice.identity.publicJwk, 'alice'),
      registry.redeem(jws, alice.identity.publicJwk, 'alice'),
    ]);
    assert.deepEqual(results.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
    const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    assert.equal(rejected.reason.code, 'REPLAYED');
  });

  it('challenge signed by the wrong key: CHALLENGE_INVALID, and the nonce is burnt', async () => {
    const { alice, bob, registry } = await setup();
    const c = registry.issue('alice');
    const forged = await signChallenge(bob.identity, {
      nonce: c.nonce,
      subject: 'alice',
      audience: AUDIENCE,
    });
    await expectCode(
      () => registry.redeem(forged, alice.identity.publicJwk, 'alice'),
      'CHALLENGE_INVALID',
      /registered key/,
    );
    const genuine = await signChallenge(alice.identity, {
      nonce: c.nonce,
      subject: 'alice',
      audience: AUDIENCE,
    });
    await expectCode(() => registry.redeem(genuine, alice.identity.publicJwk, 'alice'), 'REPLAYED');
  });

  it("another member presenting someone else's nonce: CHALLENGE_INVALID", async () => {
    const { bob, registry } = await setup();
    const c = registry.issue('alice');
    const jws = await signChallenge(bob.identity, { nonce: c.nonce, subject: 'bob', audience: AUDIENCE });
    await expectCode(
      () => registry.redeem(jws, bob.identity.publicJwk, 'bob'),
      'CHALLENGE_INVALID',
      /another subject/,
    );
  });

  it('response for another audience (redirected from another aggregator): CHALLENGE_INVALID', async () => {
    const { alice, registry } = await setup();
    const c = registry.issue('alice');
    const jws = await signChallenge(alice.identity, {
      nonce: c.nonce,
      subject: 'alice',
      audience: 'kpfl:other',
    });
    await expectCode(
      () => registry.redeem(jws, alice.identity.publicJwk, 'alice'),
      'CHALLENGE_INVALID',
      /aud/,
    );
  });

  it('unknown nonce and expired challenge: CHALLENGE_INVALID', async () => {
    let t = Date.now();
    const { alice, registry } = await setup(() => t);
    const stranger = await signChallenge(alice.identity, {
      nonce: createChallenge().nonce,
      subject: 'alice',
      audience: AUDIENCE,
    });
    await expectCode(
      () => registry.redeem(stranger, alice.identity.publicJwk, 'alice'),
      'CHALLENGE_INVALID',
      /unknown/,
    );
    const c = registry.issue('alice');
    const jws = await signChallenge(alice.identity, {
      nonce: c.nonce,
      subject: 'alice',
      audience: AUDIENCE,
      now: () => t,
    });
    t += 120_000;
    await expectCode(() => registry.redeem(jws, alice.identity.publicJwk, 'alice'), 'CHALLENGE_INVALID');
  });

  it('stateless verification checks nonce, subject, expiry and typ', async () => {
    const { f, alice } = await setup();
    const c = createChallenge();
    const jws = await signChallenge(alice.identity, { nonce: c.nonce, subject: 'alice', audience: AUDIENCE });
    const expect = { nonce: c.nonce, subject: 'alice', audience: AUDIENCE, expiresAt: c.expiresAt };
    await verifyChallengeResponse(jws, alice.identity.publicJwk, expect);
    await expectCode(
      () =>
        verifyChallengeResponse(jws, alice.identity.publicJwk, { ...expect, nonce: createChallenge().nonce }),
      'CHALLENGE_INVALID',
      /different nonce/,
    );
    await expectCode(
      () => verifyChallengeResponse(jws, alice.identity.publicJwk, { ...expect, subject: 'bob' }),
      'CHALLENGE_INVALID',
      /sub/,
    );
    await expectCode(
      () =>
        verifyChallengeResponse(jws, alice.identity.publicJwk, {
          ...expect,
          expiresAt: Date.now() - 3600_000,
        }),
      'CHALLENGE_INVALID',
      /expired/,
    );
    const stale = await signChallenge(alice.identity, {
      nonce: c.nonce,
      subject: 'alice',
      audience: AUDIENCE,
      now: () => Date.now() - 3600_000,
    });
    await expectCode(
      () => verifyChallengeResponse(stale, alice.identity.publicJwk, expect),
      'CHALLENGE_INVALID',
      /iat/,
    );
    // a session token signed by the coordinator is not a challenge response
    const token = await aliceSessionToken();
    await expectCode(
      () => verifyChallengeResponse(token, f.coordinator.signingKey.publicJwk, expect),
      'CHALLENGE_INVALID',
      /typ/,
    );
    await expectCode(
      () => verifyChallengeResponse('garbage', alice.identity.publicJwk, expect),
      'CHALLENGE_INVALID',
    );
  });

  it('bounded: the oldest pending challenge is evicted beyond maxPending', async () => {
    const r = new ChallengeRegistry({ audience: AUDIENCE, maxPending: 2 });
    r.issue('a');
    r.issue('b');
    r.issue('c');
    assert.equal(r.pendingCount, 2);
  });
});
