import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { digestOf, generateIdentity, type ReceiptClaims, signReceipt, verifyReceipt } from '../src/index.js';
import { aliceSessionToken, attest, expectCode, federation, memberOf, tamperCompact } from './fixtures.js';

async function receipt(): Promise<ReceiptClaims> {
  const f = await federation();
  return {
    federation: 'test',
    round: 1,
    member: 'alice',
    attestationDigest: digestOf(await attest(memberOf(f, 'alice').identity, 'alice')),
    receivedAt: new Date().toISOString(),
    status: 'accepted',
  };
}

describe('receipts', () => {
  it('signed by the coordinator, verified with the published JWKS or the member kit', async () => {
    const f = await federation();
    const r = await receipt();
    const jws = await signReceipt(f.coordinator.signingKey, r);
    assert.deepEqual(await verifyReceipt(jws, f.jwks), r);
    assert.deepEqual(await verifyReceipt(jws, memberOf(f, 'bob').coordinatorJwks), r);
    const refused = { ...r, status: 'refused' as const, reason: 'duplicate submission for round 1' };
    assert.deepEqual(
      await verifyReceipt(await signReceipt(f.coordinator.signingKey, refused), f.jwks),
      refused,
    );
  });

  it('forged receipt (member key, stranger key, stranger under the coordinator kid): SIGNATURE_INVALID', async () => {
    const f = await federation();
    const r = await receipt();
    const alice = memberOf(f, 'alice').identity;
    await expectCode(
      async () => verifyReceipt(await signReceipt(alice, r), f.jwks),
      'SIGNATURE_INVALID',
      /not a coordinator key/,
    );
    const stranger = await generateIdentity();
    await expectCode(async () => verifyReceipt(await signReceipt(stranger, r), f.jwks), 'SIGNATURE_INVALID');
    const impostor = { ...stranger, kid: f.coordinator.signingKey.kid };
    await expectCode(
      async () => verifyReceipt(await signReceipt(impostor, r), f.jwks),
      'SIGNATURE_INVALID',
      /forged/,
    );
  });

  it('tampered receipt: SIGNATURE_INVALID', async () => {
    const f = await federation();
    const jws = tamperCompact(await signReceipt(f.coordinator.signingKey, await receipt()), (p) => {
      p.status = 'refused';
      p.reason = 'nope';
    });
    await expectCode(() => verifyReceipt(jws, f.jwks), 'SIGNATURE_INVALID');
  });

  it('a session token is not a receipt: TOKEN_INVALID', async () => {
    const f = await federation();
    const token = await aliceSessionToken();
    await expectCode(() => verifyReceipt(token, f.jwks), 'TOKEN_INVALID', /typ/);
  });

  it('malformed receipt claims: CLAIMS_INVALID', async () => {
    const f = await federation();
    const r = await receipt();
    await expectCode(
      () => signReceipt(f.coordinator.signingKey, { ...r, status: 'refused' }),
      'CLAIMS_INVALID',
      /reason/,
    );
    await expectCode(
      () => signReceipt(f.coordinator.signingKey, { ...r, receivedAt: 'yesterday' }),
      'CLAIMS_INVALID',
    );
    await expectCode(
      () => signReceipt(f.coordinator.signingKey, { ...r, attestationDigest: 'abc' }),
      'CLAIMS_INVALID',
    );
  });
});
