import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { calculateJwkThumbprint } from 'jose';
import {
  buildJwks,
  coordinatorJwksOf,
  coordinatorKeys,
  generateIdentity,
  importIdentity,
} from '../src/index.js';
import { expectCode } from './fixtures.js';

describe('identities', () => {
  it('kid is the RFC 7638 thumbprint and the public JWK carries no private material', async () => {
    const id = await generateIdentity();
    assert.equal(
      id.kid,
      await calculateJwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x: id.publicJwk.x as string }),
    );
    assert.equal(id.publicJwk.kid, id.kid);
    assert.equal('d' in id.publicJwk, false);
    assert.equal(id.privateJwk.alg, 'EdDSA');
  });

  it('importIdentity round-trips and derives the public half from d', async () => {
    const id = await generateIdentity();
    const back = await importIdentity(JSON.parse(JSON.stringify(id.privateJwk)));
    assert.deepEqual(back, id);
    const { x: _x, kid: _kid, ...onlyD } = id.privateJwk;
    assert.deepEqual((await importIdentity(onlyD)).publicJwk, id.publicJwk);
  });

  it('importIdentity refuses inconsistent or non-Ed25519 keys (KEY_INVALID)', async () => {
    const a = await generateIdentity();
    const b = await generateIdentity();
    await expectCode(
      () => importIdentity({ ...a.privateJwk, x: b.publicJwk.x }),
      'KEY_INVALID',
      /does not belong/,
    );
    await expectCode(() => importIdentity({ ...a.privateJwk, kid: b.kid }), 'KEY_INVALID', /thumbprint/);
    await expectCode(() => importIdentity(a.publicJwk), 'KEY_INVALID');
    await expectCode(() => importIdentity({ kty: 'EC', crv: 'P-256', d: 'x' }), 'KEY_INVALID');
    await expectCode(() => importIdentity({ kty: 'OKP', crv: 'Ed25519', d: 'not-a-key' }), 'KEY_INVALID');
  });
});

describe('buildJwks', () => {
  it('publishes roles and member ids, and separates coordinator keys', async () => {
    const c = await generateIdentity();
    const m = await generateIdentity();
    const jwks = buildJwks([
      { kid: c.kid, publicJwk: c.publicJwk },
      { kid: m.kid, publicJwk: m.publicJwk, memberId: 'alice' },
    ]);
    assert.deepEqual(
      jwks.keys.map((k) => [
        k.kid,
        (k as Record<string, unknown>).kpfl_role,
        (k as Record<string, unknown>).kpfl_member,
      ]),
      [
        [c.kid, 'coordinator', undefined],
        [m.kid, 'participant', 'alice'],
      ],
    );
    assert.deepEqual(
      coordinatorKeys(jwks).map((k) => k.kid),
      [c.kid],
    );
    assert.equal(coordinatorJwksOf(jwks).keys.length, 1);
  });

  it("memberId 'coordinator' denotes the coordinator key; unmarked keys are never coordinator keys", async () => {
    const c = await generateIdentity();
    const m = await generateIdentity();
    const jwks = buildJwks([{ kid: c.kid, publicJwk: c.publicJwk, memberId: 'coordinator' }]);
    assert.deepEqual(jwks.keys, [{ ...c.publicJwk, kpfl_role: 'coordinator' }]);
    // a hand-built JWKS without kpt's markers fails closed
    const unmarked = { keys: [c.publicJwk, { ...m.publicJwk, memberId: 'alice' }] };
    assert.deepEqual(coordinatorKeys(unmarked), []);
    await expectCode(
      () => buildJwks([{ kid: m.kid, publicJwk: m.publicJwk, memberId: 'coordinator', role: 'participant' }]),
      'KEY_INVALID',
    );
    await expectCode(
      () => buildJwks([{ kid: m.kid, publicJwk: m.publicJwk, memberId: 'alice', role: 'coordinator' }]),
      'KEY_INVALID',
    );
  });

  it('refuses private material, duplicate kids and inconsistent entries (KEY_INVALID)', async () => {
    const c = await generateIdentity();
    await expectCode(() => buildJwks([{ kid: c.kid, publicJwk: c.privateJwk }]), 'KEY_INVALID', /private/);
    await expectCode(
      () =>
        buildJwks([
          { kid: c.kid, publicJwk: c.publicJwk },
          { kid: c.kid, publicJwk: c.publicJwk, memberId: 'alice' },
        ]),
      'KEY_INVALID',
      /duplicate/,
    );
    await expectCode(() => buildJwks([{ kid: 'other', publicJwk: c.publicJwk }]), 'KEY_INVALID');
    await expectCode(
      () => buildJwks([{ kid: c.kid, publicJwk: c.publicJwk, role: 'auditor' }]),
      'KEY_INVALID',
    );
    await expectCode(
      () => buildJwks([{ kid: 'k', publicJwk: { kty: 'RSA', n: 'x', e: 'AQAB' } }]),
      'KEY_INVALID',
    );
  });
});
