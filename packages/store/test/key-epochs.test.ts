import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  currentKeyEpoch,
  type Db,
  dropSchema,
  KeyEpochError,
  type KitMember,
  listKeyEpochs,
  openDb,
  putKeyEnvelopes,
  registerFederationAudited,
  registerProvisionedEpoch,
  requestKeyEpoch,
} from '../src/index.js';

const ACTOR = 'operator:test';
const jwk = (seed: string) => ({ kty: 'OKP', crv: 'Ed25519', x: Buffer.from(seed).toString('base64url') });
const member = (id: string, status: 'active' | 'revoked' = 'active'): KitMember => ({
  id,
  kid: `kid-${id}`,
  publicJwk: jwk(id),
  encryptionJwk: {
    kty: 'OKP',
    crv: 'X25519',
    x: Buffer.from(`enc-${id}`).toString('base64url'),
    kid: `enc-${id}`,
  },
  roles: ['participant'],
  status,
});
const JWKS = { keys: [{ kid: 'kid-coordinator', ...jwk('c'), kpfl_role: 'coordinator' }] };
const KEY_A = 'a'.repeat(32);
const KEY_B = 'b'.repeat(32);

describe('key epochs in Postgres', () => {
  const schema = `test_keys_${randomBytes(4).toString('hex')}`;
  let db: Db;
  before(async () => {
    db = await openDb({ schema, migrate: true });
  });
  after(async () => {
    await db?.close();
    await dropSchema(undefined, schema).catch(() => {});
  });

  it("two members racing to make a pending epoch's key: the database keeps the first, refuses the second", async () => {
    const members = ['alice', 'bob', 'carol'].map((m) => member(m));
    await registerFederationAudited(db, { federation: 'race', jwks: JWKS, members, actor: ACTOR });
    const { epoch, started } = await requestKeyEpoch(db, {
      federation: 'race',
      heParams: 'compact',
      actor: 'alice',
      rotate: false,
    });
    assert.equal(started, true);
    assert.equal(epoch.state, 'pending');
    const attempts = await Promise.allSettled(
      [
        ['alice', KEY_A],
        ['bob', KEY_B],
      ].map(([sender, keyId]) =>
        putKeyEnvelopes(db, {
          federation: 'race',
          epoch: epoch.epoch,
          sender: sender!,
          keyId: keyId!,
          create: true,
          envelopes: [{ recipient: 'carol', jwe: `jwe-from-${sender}` }],
        }),
      ),
    );
    const won = attempts.filter((a) => a.status === 'fulfilled');
    const lost = attempts.filter((a) => a.status === 'rejected') as PromiseRejectedResult[];
    assert.equal(won.length, 1, 'one wins');
    assert.ok(lost[0]!.reason instanceof KeyEpochError && lost[0]!.reason.code === 'already_made');
    const current = (await currentKeyEpoch(db, 'race'))!;
    assert.equal(current.state, 'ready');
    const winner = current.created_by!;
    assert.equal(current.key_id, winner === 'alice' ? KEY_A : KEY_B);
    const stored = await db.query('SELECT sender FROM key_envelopes WHERE federation = $1', ['race']);
    assert.deepEqual(stored.rows, [{ sender: winner }], "only the winner's envelope is stored");
  });

  it('provision registers epoch 1 once; a revocation recorded in the kit starts epoch 2 at start-up', async () => {
    const members = [member('alice'), member('bob')];
    await registerFederationAudited(db, { federation: 'kit', jwks: JWKS, members, actor: ACTOR });
    const a = { federation: 'kit', heParams: 'compact', keyId: KEY_A, actor: ACTOR };
    assert.equal(await registerProvisionedEpoch(db, a), true);
    assert.equal(await registerProvisionedEpoch(db, a), false, 'idempotent');
    // The kit now records bob revoked (kpfl members revoke --kit-only, Postgres unreachable then).
    await registerFederationAudited(db, {
      federation: 'kit',
      jwks: JWKS,
      members: [member('alice'), member('bob', 'revoked')],
      actor: ACTOR,
    });
    const epochs = (await listKeyEpochs(db, 'kit')).map((e) => [e.epoch, e.state, e.reason, e.key_id]);
    assert.deepEqual(epochs, [
      [1, 'retired', 'initial', KEY_A],
      [2, 'pending', 'revocation', null],
    ]);
    // A delivery for the retired epoch, or a plain delivery to a pending one, is refused.
    await assert.rejects(
      putKeyEnvelopes(db, {
        federation: 'kit',
        epoch: 1,
        sender: 'alice',
        keyId: KEY_A,
        create: false,
        envelopes: [],
      }),
      (e: unknown) => e instanceof KeyEpochError && e.code === 'not_current',
    );
    await assert.rejects(
      putKeyEnvelopes(db, {
        federation: 'kit',
        epoch: 2,
        sender: 'alice',
        keyId: KEY_A,
        create: false,
        envelopes: [],
      }),
      (e: unknown) => e instanceof KeyEpochError && e.code === 'not_made',
    );
  });
});
