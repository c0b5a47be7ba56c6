import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import {
  checkUnmaskRequest,
  coordinatorJwksOf,
  federationJwks,
  generateIdentity,
  type IdentityKey,
  openShareEnvelope,
  SECAGG_TYP,
  sealShareEnvelope,
  shareEnvelopeHeader,
  signMaskAdvertisement,
  signUnmaskAnnouncement,
  signUnmaskResponse,
  type UnmaskAnnouncementClaims,
  unmaskAnnouncementDigest,
  verifyMaskAdvertisement,
  verifyUnmaskAnnouncement,
  verifyUnmaskResponse,
} from '../src/index.js';
import { expectCode, tamperCompact } from './fixtures.js';

const ROUND = { federation: 'f1', planId: 'plan-a', round: 4 };

function x25519() {
  const { privateKey } = generateKeyPairSync('x25519');
  const jwk = privateKey.export({ format: 'jwk' }) as { x: string; d: string };
  return { publicKey: jwk.x, privateKey: jwk.d };
}

const share = () => randomBytes(52).toString('base64url');

let setupOnce: ReturnType<typeof makeSetup> | undefined;
const setup = () => {
  setupOnce ??= makeSetup();
  return setupOnce;
};

async function makeSetup() {
  const coordinator = await generateIdentity();
  const ids: Record<string, IdentityKey> = {};
  for (const m of ['alice', 'bob', 'carol', 'mallory']) ids[m] = await generateIdentity();
  const jwks = federationJwks(
    coordinator,
    Object.entries(ids).map(([memberId, identity]) => ({
      memberId,
      kid: identity.kid,
      publicJwk: identity.publicJwk,
      role: 'participant' as const,
    })),
  );
  const keys = { alice: x25519(), bob: x25519(), carol: x25519() };
  return { coordinator, ids, jwks, coordinatorJwks: coordinatorJwksOf(jwks), keys };
}

// Mask key advertisements

async function advertisement(member = 'alice', over: Record<string, unknown> = {}) {
  const s = await setup();
  return signMaskAdvertisement(s.ids[member]!, {
    iss: member,
    ...ROUND,
    maskPublicKey: x25519().publicKey,
    sharePublicKey: x25519().publicKey,
    ...over,
  });
}

test('a mask advertisement verifies with the round and issuer it was signed for', async () => {
  const s = await setup();
  const jws = await advertisement();
  const c = await verifyMaskAdvertisement(jws, s.jwks, { ...ROUND, iss: 'alice' });
  assert.equal(c.iss, 'alice');
  assert.equal(c.round, 4);
  assert.equal(Buffer.from(c.maskPublicKey, 'base64url').length, 32);
  // iss is optional: any participant's advertisement verifies under its own key
  assert.equal((await verifyMaskAdvertisement(jws, s.jwks, ROUND)).iss, 'alice');
});

test('a mask advertisement with a bad signature, another round, plan, federation or issuer is refused', async () => {
  const s = await setup();
  const jws = await advertisement();
  await expectCode(
    () =>
      verifyMaskAdvertisement(
        tamperCompact(jws, (p) => (p.round = 5)),
        s.jwks,
        { ...ROUND, round: 5 },
      ),
    'SIGNATURE_INVALID',
  );
  // mallory signs an advertisement naming alice: her key is not alice's
  const forged = await signMaskAdvertisement(s.ids.mallory!, {
    iss: 'alice',
    ...ROUND,
    maskPublicKey: x25519().publicKey,
    sharePublicKey: x25519().publicKey,
  });
  await expectCode(() => verifyMaskAdvertisement(forged, s.jwks, ROUND), 'SIGNATURE_INVALID');
  await expectCode(
    () => verifyMaskAdvertisement(jws, s.jwks, { ...ROUND, round: 5 }),
    'WRONG_ROUND',
    /round 4/,
  );
  await expectCode(
    () => verifyMaskAdvertisement(jws, s.jwks, { ...ROUND, planId: 'plan-b' }),
    'WRONG_ROUND',
    /planId/,
  );
  await expectCode(() => verifyMaskAdvertisement(jws, s.jwks, { ...ROUND, federation: 'f2' }), 'WRONG_ROUND');
  await expectCode(() => verifyMaskAdvertisement(jws, s.jwks, { ...ROUND, iss: 'bob' }), 'WRONG_ISSUER');
  await expectCode(
    () => verifyMaskAdvertisement(jws, s.jwks, { ...ROUND, isActiveParticipant: (m) => m !== 'alice' }),
    'REVOKED',
  );
  // a receipt-like JWS of the right signer but another typ is not an advertisement
  const other = await signUnmaskResponse(s.ids.alice!, {
    iss: 'alice',
    ...ROUND,
    announcementDigest: `sha256:${'0'.repeat(64)}`,
    selfSeedShares: [],
    maskKeyShares: [],
  });
  await expectCode(() => verifyMaskAdvertisement(other, s.jwks, ROUND), 'TOKEN_INVALID');
  await expectCode(() => verifyMaskAdvertisement('not.a.jws', s.jwks, ROUND), 'TOKEN_INVALID');
});

test('an advertisement must carry two distinct well-formed X25519 keys', async () => {
  const k = x25519().publicKey;
  await expectCode(() => advertisement('alice', { maskPublicKey: k, sharePublicKey: k }), 'CLAIMS_INVALID');
  await expectCode(() => advertisement('alice', { maskPublicKey: 'short' }), 'CLAIMS_INVALID');
  await expectCode(() => advertisement('alice', { extra: 1 }), 'CLAIMS_INVALID');
});

// Share envelopes

async function envelope(over: Record<string, unknown> = {}, to = 'bob', from = 'alice') {
  const s = await setup();
  const claims = {
    sender: from,
    recipient: to,
    ...ROUND,
    maskKeyShare: share(),
    selfSeedShare: share(),
    ...over,
  };
  const key = s.keys[to as 'bob']?.publicKey ?? x25519().publicKey;
  return { jwe: await sealShareEnvelope(s.ids[from]!, claims, key), claims };
}

const expectBob = { ...ROUND, sender: 'alice', recipient: 'bob' };

test('a share envelope opens for its recipient with the shares it was sealed with; its header is readable', async () => {
  const s = await setup();
  const { jwe, claims } = await envelope();
  const h = shareEnvelopeHeader(jwe);
  assert.deepEqual(
    { ...h, kid: undefined },
    {
      kid: undefined,
      kpfl_sender: 'alice',
      kpfl_recipient: 'bob',
      kpfl_federation: 'f1',
      kpfl_plan: 'plan-a',
      kpfl_round: 4,
    },
  );
  assert.match(h.kid, /^[A-Za-z0-9_-]{43}$/);
  const opened = await openShareEnvelope(jwe, s.keys.bob.privateKey, s.jwks, expectBob);
  assert.equal(opened.maskKeyShare, claims.maskKeyShare);
  assert.equal(opened.selfSeedShare, claims.selfSeedShare);
  // The relay sees no share in clear.
  assert.ok(
    !jwe.includes(claims.maskKeyShare) &&
      !Buffer.from(jwe.split('.')[0]!, 'base64url').toString().includes(claims.maskKeyShare),
  );
});

test('a share envelope for another member, key, round or sender is refused', async () => {
  const s = await setup();
  const { jwe } = await envelope();
  // the relay hands bob's envelope to carol
  await expectCode(
    () => openShareEnvelope(jwe, s.keys.carol.privateKey, s.jwks, { ...expectBob, recipient: 'carol' }),
    'WRONG_RECIPIENT',
  );
  // addressed to bob, but opened with another key (encrypted to another key than bob's)
  await expectCode(
    () => openShareEnvelope(jwe, s.keys.carol.privateKey, s.jwks, expectBob),
    'ENVELOPE_INVALID',
  );
  await expectCode(
    () => openShareEnvelope(jwe, s.keys.bob.privateKey, s.jwks, { ...expectBob, round: 5 }),
    'WRONG_ROUND',
  );
  await expectCode(
    () => openShareEnvelope(jwe, s.keys.bob.privateKey, s.jwks, { ...expectBob, planId: 'plan-b' }),
    'WRONG_ROUND',
  );
  await expectCode(
    () => openShareEnvelope(jwe, s.keys.bob.privateKey, s.jwks, { ...expectBob, sender: 'carol' }),
    'UNTRUSTED_SENDER',
  );
  await expectCode(
    () =>
      openShareEnvelope(jwe, s.keys.bob.privateKey, s.jwks, {
        ...expectBob,
        isActiveParticipant: () => false,
      }),
    'UNTRUSTED_SENDER',
  );
});

test('a tampered header or ciphertext does not open', async () => {
  const s = await setup();
  const { jwe } = await envelope();
  const parts = jwe.split('.');
  const h = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString());
  // the relay re-labels the round in the header: the AEAD's additional data no longer matches
  const relabelled = [
    Buffer.from(JSON.stringify({ ...h, kpfl_round: 5 })).toString('base64url'),
    ...parts.slice(1),
  ].join('.');
  assert.equal(shareEnvelopeHeader(relabelled).kpfl_round, 5);
  await expectCode(
    () => openShareEnvelope(relabelled, s.keys.bob.privateKey, s.jwks, { ...expectBob, round: 5 }),
    'ENVELOPE_INVALID',
  );
  const ct = Buffer.from(parts[3]!, 'base64url');
  ct[0]! ^= 1;
  const flipped = [...parts.slice(0, 3), ct.toString('base64url'), parts[4]].join('.');
  await expectCode(
    () => openShareEnvelope(flipped, s.keys.bob.privateKey, s.jwks, expectBob),
    'ENVELOPE_INVALID',
  );
  await expectCode(() => shareEnvelopeHeader('a.b.c'), 'ENVELOPE_INVALID');
});

test("signed shares must be the sender's and agree with their envelope", async () => {
  const s = await setup();
  // mallory seals shares "from alice" with her own identity: the inner signature is not alice's
  const claims = {
    sender: 'alice',
    recipient: 'bob',
    ...ROUND,
    maskKeyShare: share(),
    selfSeedShare: share(),
  };
  const forged = await sealShareEnvelope(s.ids.mallory!, claims, s.keys.bob.publicKey);
  await expectCode(
    () => openShareEnvelope(forged, s.keys.bob.privateKey, s.jwks, expectBob),
    'UNTRUSTED_SENDER',
  );
  // A sender (only a sender can: it needs its signature inside) wraps signed claims in a header that
  // says something else: round 3 claims under a round 4 label, or shares for carol labelled for bob.
  const { CompactEncrypt, CompactSign, calculateJwkThumbprint } = await import('jose');
  const { createPrivateKey, createPublicKey } = await import('node:crypto');
  const wrap = async (inner: Record<string, unknown>) => {
    const jws = await new CompactSign(new TextEncoder().encode(JSON.stringify({ ...inner, iat: 1 })))
      .setProtectedHeader({ alg: 'EdDSA', kid: s.ids.alice!.kid, typ: SECAGG_TYP.shareEnvelope })
      .sign(createPrivateKey({ key: s.ids.alice!.privateJwk as never, format: 'jwk' }));
    const x = s.keys.bob.publicKey;
    return new CompactEncrypt(new TextEncoder().encode(jws))
      .setProtectedHeader({
        alg: 'ECDH-ES',
        enc: 'A256GCM',
        cty: SECAGG_TYP.shareEnvelope,
        kid: await calculateJwkThumbprint({ kty: 'OKP', crv: 'X25519', x }),
        kpfl_sender: 'alice',
        kpfl_recipient: 'bob',
        kpfl_federation: ROUND.federation,
        kpfl_plan: ROUND.planId,
        kpfl_round: ROUND.round,
      })
      .encrypt(createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x }, format: 'jwk' }));
  };
  assert.equal(
    (await openShareEnvelope(await wrap(claims), s.keys.bob.privateKey, s.jwks, expectBob)).sender,
    'alice',
  );
  await expectCode(
    async () =>
      openShareEnvelope(await wrap({ ...claims, round: 3 }), s.keys.bob.privateKey, s.jwks, expectBob),
    'WRONG_ROUND',
  );
  await expectCode(
    async () =>
      openShareEnvelope(
        await wrap({ ...claims, recipient: 'carol' }),
        s.keys.bob.privateKey,
        s.jwks,
        expectBob,
      ),
    'WRONG_RECIPIENT',
  );
  await expectCode(
    async () =>
      openShareEnvelope(await wrap({ ...claims, extra: 1 }), s.keys.bob.privateKey, s.jwks, expectBob),
    'ENVELOPE_INVALID',
  );
});

// Unmask announcements

async function announcement(over: Record<string, unknown> = {}) {
  const s = await setup();
  return signUnmaskAnnouncement(s.coordinator, {
    ...ROUND,
    survivors: ['alice', 'bob'],
    dropouts: ['carol'],
    ...over,
  } as Omit<UnmaskAnnouncementClaims, 'iat'>);
}

test('an unmask announcement verifies against the coordinator key only', async () => {
  const s = await setup();
  const jws = await announcement();
  const c = await verifyUnmaskAnnouncement(jws, s.coordinatorJwks, ROUND);
  assert.deepEqual([c.survivors, c.dropouts], [['alice', 'bob'], ['carol']]);
  // a member signs an announcement: not a coordinator key
  const byMember = await signUnmaskAnnouncement(s.ids.mallory!, {
    ...ROUND,
    survivors: ['alice'],
    dropouts: ['bob'],
  });
  await expectCode(() => verifyUnmaskAnnouncement(byMember, s.jwks, ROUND), 'SIGNATURE_INVALID');
  await expectCode(
    () =>
      verifyUnmaskAnnouncement(
        tamperCompact(jws, (p) => (p.dropouts = ['bob'])),
        s.coordinatorJwks,
        ROUND,
      ),
    'SIGNATURE_INVALID',
  );
  await expectCode(
    () => verifyUnmaskAnnouncement(jws, s.coordinatorJwks, { ...ROUND, round: 3 }),
    'WRONG_ROUND',
  );
  await expectCode(
    () => verifyUnmaskAnnouncement(jws, s.coordinatorJwks, { ...ROUND, planId: 'x' }),
    'WRONG_ROUND',
  );
  assert.match(unmaskAnnouncementDigest(jws), /^sha256:[0-9a-f]{64}$/);
});

test('overlapping, duplicated, unsorted or empty sets are refused', async () => {
  await expectCode(
    () => announcement({ survivors: ['alice', 'bob'], dropouts: ['bob'] }),
    'CLAIMS_INVALID',
    /both/,
  );
  await expectCode(() => announcement({ survivors: ['alice', 'alice'] }), 'CLAIMS_INVALID');
  await expectCode(() => announcement({ survivors: ['bob', 'alice'] }), 'CLAIMS_INVALID', /sorted/);
  await expectCode(() => announcement({ dropouts: ['dave', 'carol'] }), 'CLAIMS_INVALID');
  await expectCode(() => announcement({ survivors: [] }), 'CLAIMS_INVALID');
  // the same refusal on verify, for an announcement signed without kpt's checks
  const s = await setup();
  const { CompactSign } = await import('jose');
  const { createPrivateKey } = await import('node:crypto');
  const raw = await new CompactSign(
    new TextEncoder().encode(
      JSON.stringify({ ...ROUND, survivors: ['alice', 'bob'], dropouts: ['bob'], iat: 1 }),
    ),
  )
    .setProtectedHeader({ alg: 'EdDSA', kid: s.coordinator.kid, typ: SECAGG_TYP.unmaskAnnouncement })
    .sign(createPrivateKey({ key: s.coordinator.privateJwk as never, format: 'jwk' }));
  await expectCode(() => verifyUnmaskAnnouncement(raw, s.coordinatorJwks, ROUND), 'CLAIMS_INVALID');
});

// Unmask responses

async function response(over: Record<string, unknown> = {}, digest?: string) {
  const s = await setup();
  const a = await announcement();
  const announcementDigest = digest ?? unmaskAnnouncementDigest(a);
  const jws = await signUnmaskResponse(s.ids.bob!, {
    iss: 'bob',
    ...ROUND,
    announcementDigest,
    selfSeedShares: [
      { of: 'bob', share: share() },
      { of: 'alice', share: share() },
    ],
    maskKeyShares: [{ of: 'carol', share: share() }],
    ...over,
  });
  return {
    jws,
    announcementDigest,
    announcement: await verifyUnmaskAnnouncement(a, s.coordinatorJwks, ROUND),
  };
}

test('an unmask response verifies for its issuer, round and announcement; shares come sorted', async () => {
  const s = await setup();
  const r = await response();
  const c = await verifyUnmaskResponse(r.jws, s.jwks, {
    ...ROUND,
    iss: 'bob',
    announcementDigest: r.announcementDigest,
    announcement: r.announcement,
  });
  assert.deepEqual(
    c.selfSeedShares.map((x) => x.of),
    ['alice', 'bob'],
  );
  assert.deepEqual(
    c.maskKeyShares.map((x) => x.of),
    ['carol'],
  );
});

test('an unmask response with both shares for one member, or for other sets, round or issuer, is refused', async () => {
  const s = await setup();
  await expectCode(
    () => response({ maskKeyShares: [{ of: 'alice', share: share() }] }),
    'UNMASK_REFUSED',
    /alice/,
  );
  const r = await response();
  const want = { ...ROUND, iss: 'bob', announcementDigest: r.announcementDigest };
  await expectCode(
    () => verifyUnmaskResponse(r.jws, s.jwks, { ...want, announcementDigest: `sha256:${'1'.repeat(64)}` }),
    'WRONG_ANNOUNCEMENT',
  );
  await expectCode(() => verifyUnmaskResponse(r.jws, s.jwks, { ...want, round: 5 }), 'WRONG_ROUND');
  await expectCode(() => verifyUnmaskResponse(r.jws, s.jwks, { ...want, iss: 'alice' }), 'WRONG_ISSUER');
  await expectCode(
    () =>
      verifyUnmaskResponse(
        tamperCompact(r.jws, (p) => (p.maskKeyShares = [])),
        s.jwks,
        want,
      ),
    'SIGNATURE_INVALID',
  );
  // shares that do not fit the announcement's sets (a self-seed share of the dropout carol)
  const wrongSets = await response({ selfSeedShares: [{ of: 'carol', share: share() }], maskKeyShares: [] });
  await expectCode(
    () => verifyUnmaskResponse(wrongSets.jws, s.jwks, { ...want, announcement: wrongSets.announcement }),
    'WRONG_ANNOUNCEMENT',
  );
  // a response with both kinds for alice, signed by bob without kpt's checks, is refused on verify too
  const { CompactSign } = await import('jose');
  const { createPrivateKey } = await import('node:crypto');
  const both = await new CompactSign(
    new TextEncoder().encode(
      JSON.stringify({
        iss: 'bob',
        ...ROUND,
        announcementDigest: r.announcementDigest,
        selfSeedShares: [{ of: 'alice', share: share() }],
        maskKeyShares: [{ of: 'alice', share: share() }],
        iat: 1,
      }),
    ),
  )
    .setProtectedHeader({ alg: 'EdDSA', kid: s.ids.bob!.kid, typ: SECAGG_TYP.unmaskResponse })
    .sign(createPrivateKey({ key: s.ids.bob!.privateJwk as never, format: 'jwk' }));
  await expectCode(() => verifyUnmaskResponse(both, s.jwks, want), 'UNMASK_REFUSED');
});

test('checkUnmaskRequest: what an honest member reveals, and what it refuses', async () => {
  const s = await setup();
  const a = await verifyUnmaskAnnouncement(
    await announcement({ survivors: ['alice', 'bob', 'dave'], dropouts: ['carol', 'erin'] }),
    s.coordinatorJwks,
    ROUND,
  );
  assert.deepEqual(checkUnmaskRequest(a, 'bob', ['erin', 'alice', 'bob', 'carol', 'frank']), {
    selfSeedShares: ['alice', 'bob'],
    maskKeyShares: ['carol', 'erin'],
  });
  // the same announcement again is fine; one that moves a neighbour to the other set is refused
  assert.ok(checkUnmaskRequest(a, 'bob', ['alice', 'carol'], a));
  const moved = await verifyUnmaskAnnouncement(
    await announcement({ survivors: ['bob', 'carol', 'dave'], dropouts: ['alice'] }),
    s.coordinatorJwks,
    ROUND,
  );
  await expectCode(
    () => checkUnmaskRequest(moved, 'bob', ['alice', 'carol'], a),
    'UNMASK_REFUSED',
    /alice, carol/,
  );
  // a move of someone who is not my neighbour concerns me not
  assert.deepEqual(checkUnmaskRequest(moved, 'bob', ['dave'], a), {
    selfSeedShares: ['dave'],
    maskKeyShares: [],
  });
  // an announcement that calls me a dropout, or leaves me out, gets no answer
  await expectCode(() => checkUnmaskRequest(a, 'carol', ['alice']), 'UNMASK_REFUSED', /dropout/);
  await expectCode(() => checkUnmaskRequest(a, 'zoe', ['alice']), 'UNMASK_REFUSED');
  // a previous announcement of another round is a caller bug
  const other = { ...a, round: 3 };
  await expectCode(() => checkUnmaskRequest(a, 'bob', ['alice'], other), 'WRONG_ROUND');
  await expectCode(
    () => checkUnmaskRequest({ ...a, dropouts: ['alice'] }, 'bob', ['alice']),
    'CLAIMS_INVALID',
  );
});
