import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { capabilitiesOf, generateIdentity, unverifiedClaims, unverifiedSessionClaims } from '../src/index.js';
import { aliceSessionToken, attest, federation, memberOf } from './fixtures.js';

describe('unverified claims: what a token says, read without trusting it', () => {
  it("an attestation's claims, even when signed by a key nobody registered", async () => {
    const stranger = await generateIdentity();
    const jws = await attest(stranger, 'alice');
    const claims = unverifiedClaims(jws);
    assert.equal(claims?.iss, 'alice');
    assert.equal(claims?.round, 1);
  });

  it('undefined for anything that is not a compact JWS with a JSON object payload', async () => {
    for (const bad of ['', 'garbage', 'a.b.c', 'a.b', `x.${Buffer.from('[1,2]').toString('base64url')}.y`]) {
      assert.equal(unverifiedClaims(bad), undefined, bad);
    }
  });

  it('a session token: its claims fit the session schema; an attestation does not', async () => {
    const f = await federation();
    const token = await aliceSessionToken(capabilitiesOf(['participant']));
    const claims = unverifiedSessionClaims(token);
    assert.equal(claims?.sub, 'alice');
    assert.deepEqual(claims?.kpfl.capabilities, capabilitiesOf(['participant']));
    assert.equal(unverifiedSessionClaims(await attest(memberOf(f, 'alice').identity, 'alice')), undefined);
    assert.equal(unverifiedSessionClaims('garbage'), undefined);
  });
});
