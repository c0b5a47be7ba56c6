import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  buildJwks,
  coordinatorJwksOf,
  type FederationParty,
  federationJwks,
  findMemberKey,
  generateIdentity,
  partyRole,
} from '../src/index.js';
import { expectCode, federation } from './fixtures.js';

describe('federationJwks, the one JWKS builder', () => {
  it('rebuilds the provisioned JWKS from plain party rows, in any order, from the identity or a JWKS', async () => {
    const f = await federation();
    const parties = Object.values(f.coordinator.registry);
    const fromIdentity = federationJwks(f.coordinator.signingKey, [...parties].reverse());
    assert.deepEqual(fromIdentity, f.jwks, 'the same document provisioning published');
    assert.deepEqual(federationJwks(coordinatorJwksOf(f.jwks), parties), f.jwks);
    // What the members table gives: the role comes from the roles array.
    const rows: FederationParty[] = parties.map((p) => ({
      memberId: p.memberId,
      kid: p.kid,
      publicJwk: p.publicJwk,
      role: partyRole([p.role]),
    }));
    assert.deepEqual(federationJwks(f.coordinator.signingKey, rows), f.jwks);
    assert.equal(findMemberKey(f.jwks, 'audrey')?.kpfl_role, 'auditor');
    assert.deepEqual(
      f.jwks.keys.map((k) => (k as { kpfl_member?: string }).kpfl_member ?? 'coordinator'),
      ['coordinator', 'alice', 'audrey', 'bob', 'carol'],
      'coordinator first, then members by id',
    );
  });

  it('orders member ids by UTF-16 code units, not by locale', async () => {
    const c = await generateIdentity();
    const ids = ['b', 'B', 'a-1', 'a_1', 'a.1'];
    const parties = await Promise.all(
      ids.map(async (memberId) => {
        const k = await generateIdentity();
        return { memberId, kid: k.kid, publicJwk: k.publicJwk, role: 'participant' as const };
      }),
    );
    const order = federationJwks(c, parties).keys.map((k) => (k as { kpfl_member?: string }).kpfl_member);
    assert.deepEqual(order, [undefined, 'B', 'a-1', 'a.1', 'a_1', 'b']);
  });

  it('partyRole: auditor only for an auditor that is not also a participant', () => {
    assert.equal(partyRole(['participant']), 'participant');
    assert.equal(partyRole(['auditor']), 'auditor');
    assert.equal(partyRole(['auditor', 'participant']), 'participant');
    assert.equal(partyRole([]), 'participant');
  });

  it('refuses a coordinator JWKS without a coordinator key, a duplicate kid and private material', async () => {
    const c = await generateIdentity();
    const m = await generateIdentity();
    const unmarked = { keys: [{ ...c.publicJwk }] };
    await expectCode(() => federationJwks(unmarked, []), 'KEY_INVALID', /holds no key marked kpfl_role/);
    const alice: FederationParty = {
      memberId: 'alice',
      kid: m.kid,
      publicJwk: m.publicJwk,
      role: 'participant',
    };
    await expectCode(
      () => federationJwks(c, [alice, { ...alice, memberId: 'alice2' }]),
      'KEY_INVALID',
      /duplicate kid/,
    );
    await expectCode(
      () => federationJwks(c, [{ ...alice, publicJwk: m.privateJwk }]),
      'KEY_INVALID',
      /private/,
    );
    // A member key marked coordinator in a JWKS passed as the coordinator's is not taken for one.
    const mixed = buildJwks([
      { kid: c.kid, publicJwk: c.publicJwk },
      { kid: m.kid, publicJwk: m.publicJwk, memberId: 'alice' },
    ]);
    assert.deepEqual(
      federationJwks(mixed, []).keys.map((k) => k.kid),
      [c.kid],
    );
  });
});
