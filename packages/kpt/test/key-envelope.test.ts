import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  federationJwks,
  generateEncryptionKey,
  generateIdentity,
  type KptErrorCode,
  keyEnvelopeHeader,
  openKeyEnvelope,
  sealKeyEnvelope,
} from '../src/index.js';

const KEY_ID = 'a'.repeat(32);
const KEY = '{"type":"kpfl-he-consortium-key","secret":"not really"}';

async function party(memberId: string) {
  return { memberId, identity: await generateIdentity(), encryption: await generateEncryptionKey() };
}

async function setup() {
  const coordinator = await generateIdentity();
  const alice = await party('alice');
  const bob = await party('bob');
  const carol = await party('carol');
  const jwks = federationJwks(
    coordinator,
    [alice, bob, carol].map((p) => ({
      memberId: p.memberId,
      kid: p.identity.kid,
      publicJwk: p.identity.publicJwk,
      role: 'participant' as const,
    })),
  );
  const active = new Set(['alice', 'bob', 'carol']);
  const expect = {
    federation: 'f1',
    epoch: 2,
    keyId: KEY_ID,
    jwks,
    isActiveParticipant: (m: string) => active.has(m),
  };
  const seal = (
    to = bob,
    over: Partial<{ federation: string; epoch: number; keyId: string }> = {},
    from = alice,
  ) =>
    sealKeyEnvelope(
      from,
      { memberId: to.memberId, encryptionJwk: to.encryption.publicJwk },
      { federation: 'f1', epoch: 2, keyId: KEY_ID, key: KEY, ...over },
    );
  return { coordinator, alice, bob, carol, jwks, active, expect, seal };
}

const code = (c: KptErrorCode) => (e: unknown) => (e as { code?: string }).code === c;

test('an envelope opens for its recipient only, with the sender, epoch and keyId it was sealed with', async () => {
  const s = await setup();
  const jwe = await s.seal();
  const h = keyEnvelopeHeader(jwe);
  assert.deepEqual(h, {
    kid: s.bob.encryption.kid,
    kpfl_recipient: 'bob',
    kpfl_sender: 'alice',
    kpfl_epoch: 2,
  });
  assert.ok(!jwe.includes(Buffer.from(KEY).toString('base64url').slice(0, 20)), 'the key is not in clear');
  const claims = await openKeyEnvelope(jwe, s.bob, s.expect);
  assert.equal(claims.key, KEY);
  assert.equal(claims.sender, 'alice');
  assert.equal(claims.epoch, 2);
});

test('bad envelopes are refused, each with its code and a message saying why', async () => {
  const s = await setup();
  const jwe = await s.seal();
  // Addressed to bob, opened by carol.
  await assert.rejects(openKeyEnvelope(jwe, s.carol, s.expect), code('WRONG_RECIPIENT'));
  // Tampered ciphertext (flip one character of the ciphertext part).
  const parts = jwe.split('.');
  const c = parts[3]!;
  parts[3] = (c[0] === 'A' ? 'B' : 'A') + c.slice(1);
  await assert.rejects(openKeyEnvelope(parts.join('.'), s.bob, s.expect), code('ENVELOPE_INVALID'));
  // Of an old epoch.
  await assert.rejects(
    openKeyEnvelope(await s.seal(s.bob, { epoch: 1 }), s.bob, s.expect),
    code('WRONG_EPOCH'),
  );
  // Another federation.
  await assert.rejects(
    openKeyEnvelope(await s.seal(s.bob, { federation: 'f2' }), s.bob, s.expect),
    /federation f2, not f1/,
  );
  // A key other than the epoch's.
  await assert.rejects(
    openKeyEnvelope(await s.seal(s.bob, { keyId: 'b'.repeat(32) }), s.bob, s.expect),
    code('KEY_MISMATCH'),
  );
  // A revoked sender.
  s.active.delete('alice');
  await assert.rejects(openKeyEnvelope(jwe, s.bob, s.expect), code('UNTRUSTED_SENDER'));
  s.active.add('alice');
  // The relay (coordinator) wraps a key of its own, claiming to be alice: the signature fails.
  const forged = await sealKeyEnvelope(
    { memberId: 'alice', identity: s.coordinator },
    { memberId: 'bob', encryptionJwk: s.bob.encryption.publicJwk },
    { federation: 'f1', epoch: 2, keyId: KEY_ID, key: KEY },
  );
  await assert.rejects(openKeyEnvelope(forged, s.bob, s.expect), code('UNTRUSTED_SENDER'));
  // Not a JWE at all.
  assert.throws(() => keyEnvelopeHeader('a.b.c'), code('ENVELOPE_INVALID'));
});
