import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createFederationKits, importIdentity } from '../src/index.js';
import { expectCode, federation } from './fixtures.js';

describe('provisioning', () => {
  it('returns coordinator, member and auditor kits with a JWKS that holds no private key', async () => {
    const f = await federation();
    assert.deepEqual(
      f.members.map((m) => [m.memberId, m.role]),
      [
        ['alice', 'participant'],
        ['bob', 'participant'],
        ['carol', 'participant'],
      ],
    );
    assert.deepEqual(
      f.auditors.map((a) => [a.memberId, a.role]),
      [['audrey', 'auditor']],
    );
    assert.equal(f.jwks.keys.length, 5);
    assert.deepEqual(f.jwks, f.coordinator.jwks);
    assert.deepEqual(f.auditors[0].jwks, f.jwks);
    assert.equal(JSON.stringify(f.jwks).includes('"d"'), false);
    for (const m of f.members) {
      assert.deepEqual(
        m.coordinatorJwks.keys.map((k) => k.kid),
        [f.coordinator.signingKey.kid],
      );
      assert.equal(m.tls.caPem, f.coordinator.ca.certPem);
      assert.deepEqual(f.coordinator.registry[m.memberId].publicJwk, m.identity.publicJwk);
      assert.deepEqual(await importIdentity(m.identity.privateJwk), m.identity);
      // a member kit carries only its own private key
      const text = JSON.stringify(m);
      for (const other of f.members.filter((o) => o !== m))
        assert.equal(text.includes(other.identity.privateJwk.d as string), false);
      assert.equal(text.includes(f.coordinator.signingKey.privateJwk.d as string), false);
      assert.equal(text.includes(f.coordinator.ca.keyPem), false);
    }
    assert.equal(f.coordinator.registry.audrey.role, 'auditor');
    assert.deepEqual(f.coordinator.server.hosts, ['localhost', '127.0.0.1']);
  });

  it('kits are plain JSON (the CLI writes them to files)', async () => {
    const f = await federation();
    assert.deepEqual(JSON.parse(JSON.stringify(f)), f);
  });

  it('refuses bad or duplicate ids: CLAIMS_INVALID', async () => {
    await expectCode(
      () => createFederationKits({ federation: 'x', members: ['a', 'a'] }),
      'CLAIMS_INVALID',
      /twice/,
    );
    await expectCode(
      () => createFederationKits({ federation: 'x', members: ['a'], auditors: ['a'] }),
      'CLAIMS_INVALID',
    );
    await expectCode(() => createFederationKits({ federation: 'x', members: ['../etc'] }), 'CLAIMS_INVALID');
    await expectCode(() => createFederationKits({ federation: 'bad fed', members: ['a'] }), 'CLAIMS_INVALID');
    await expectCode(() => createFederationKits({ federation: 'x', members: [] }), 'CLAIMS_INVALID');
    await expectCode(
      () => createFederationKits({ federation: 'x', members: ['coordinator'] }),
      'CLAIMS_INVALID',
      /reserved/,
    );
    await expectCode(
      () => createFederationKits({ federation: 'x', members: ['a'], validityDays: 0 }),
      'CLAIMS_INVALID',
    );
  });
});
