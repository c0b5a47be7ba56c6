import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  AuditError,
  type AuditRow,
  addMemberAudited,
  appendAudit,
  type Db,
  dropSchema,
  enrollMemberAudited,
  getFederationJwks,
  getMember,
  jwksDigest,
  type KitMember,
  listMembers,
  openDb,
  queryAudit,
  recordEnrollmentRefusal,
  registerFederationAudited,
  revokeMemberAudited,
} from '../src/index.js';

const ACTOR = 'operator:alice@host-1';

/** A stand-in public JWK: the store keeps it as given (kpt builds and checks real ones). */
const jwk = (seed: string) => ({ kty: 'OKP', crv: 'Ed25519', x: Buffer.from(seed).toString('base64url') });
const member = (id: string, role = 'participant', seed = id): KitMember => ({
  id,
  kid: `kid-${seed}`,
  publicJwk: jwk(seed),
  roles: [role],
});
const jwksOf = (...ms: KitMember[]) => ({
  keys: [{ kid: 'kid-coordinator', ...jwk('c'), kpfl_role: 'coordinator' }, ...ms.map((m) => m.publicJwk)],
});

async function log(db: Db): Promise<AuditRow[]> {
  return (await queryAudit(db, { limit: 10_000 })).rows;
}

/** The events after `seq`, as [event, member, data] with the actor checked. */
async function eventsAfter(db: Db, seq: number) {
  const rows = (await log(db)).filter((r) => r.seq > seq);
  for (const r of rows) assert.equal(r.actor, ACTOR, `row ${r.seq} (${r.event}) names the operator`);
  return rows.map((r) => [r.event, r.member, r.data]);
}

async function head(db: Db): Promise<number> {
  return (await log(db)).at(-1)?.seq ?? 0;
}

async function expectBadEntry(fn: () => Promise<unknown>, message: RegExp) {
  await assert.rejects(fn, (err: unknown) => {
    assert.ok(err instanceof AuditError, `expected AuditError, got ${String(err)}`);
    assert.equal(err.code, 'BAD_ENTRY');
    assert.match(err.message, message);
    return true;
  });
}

describe('audited membership actions', () => {
  const schema = `store_members_${randomBytes(4).toString('hex')}`;
  let db: Db;
  before(async () => {
    db = await openDb({ migrate: true, schema, max: 6 });
  });
  after(async () => {
    await db.close();
    await dropSchema(undefined, schema);
  });

  it('members add: the member, the JWKS and their events, in one transaction', async () => {
    const alice = member('alice');
    const jwks = jwksOf(alice);
    assert.deepEqual(await addMemberAudited(db, { federation: 'f1', member: alice, jwks, actor: ACTOR }), {
      jwks: 'created',
    });
    assert.deepEqual(await eventsAfter(db, 0), [
      ['federation.registered', null, { change: 'created', jwksDigest: jwksDigest(jwks), keys: 2 }],
      ['member.added', 'alice', { kid: 'kid-alice', roles: ['participant'] }],
    ]);
    assert.equal((await getMember(db, 'f1', 'alice'))?.status, 'active');
    assert.deepEqual(await getFederationJwks(db, 'f1'), jwks);

    // A second member changes the JWKS; the same JWKS again (a re-keyed member) does not log it again.
    const mark = await head(db);
    const audrey = member('audrey', 'auditor');
    const jwks2 = jwksOf(alice, audrey);
    await addMemberAudited(db, { federation: 'f1', member: audrey, jwks: jwks2, actor: ACTOR });
    const rekeyed = { ...audrey, kid: 'kid-audrey-2' };
    assert.deepEqual(
      await addMemberAudited(db, { federation: 'f1', member: rekeyed, jwks: jwks2, actor: ACTOR }),
      { jwks: 'unchanged' },
    );
    assert.deepEqual(await eventsAfter(db, mark), [
      ['federation.registered', null, { change: 'changed', jwksDigest: jwksDigest(jwks2), keys: 3 }],
      ['member.added', 'audrey', { kid: 'kid-audrey', roles: ['auditor'] }],
      ['member.added', 'audrey', { kid: 'kid-audrey-2', roles: ['auditor'] }],
    ]);
    assert.equal((await getMember(db, 'f1', 'audrey'))?.kid, 'kid-audrey-2');
  });

  it('members revoke: revoked with its event once; nothing for an unknown member or federation', async () => {
    const mark = await head(db);
    assert.equal(await revokeMemberAudited(db, { federation: 'f1', id: 'alice', actor: ACTOR }), 'revoked');
    assert.equal(
      await revokeMemberAudited(db, { federation: 'f1', id: 'alice', actor: ACTOR }),
      'already revoked',
    );
    assert.equal(
      await revokeMemberAudited(db, { federation: 'f1', id: 'nobody', actor: ACTOR }),
      'not registered',
    );
    assert.equal(
      await revokeMemberAudited(db, { federation: 'no-such-fed', id: 'alice', actor: ACTOR }),
      'not registered',
    );
    assert.deepEqual(await eventsAfter(db, mark), [
      ['member.revoked', 'alice', { kid: 'kid-alice', roles: ['participant'] }],
    ]);
    assert.equal((await getMember(db, 'f1', 'alice'))?.status, 'revoked');
    assert.equal(await getFederationJwks(db, 'no-such-fed'), undefined, 'no federation was created');
  });

  it('start-up registration: adds, re-keys and revokes as the kit says, once, never re-activating', async () => {
    const [a, b, c] = [member('a'), member('b'), { ...member('c'), status: 'revoked' as const }];
    const jwks = jwksOf(a, b, c);
    const reg = (members: KitMember[], j: unknown = jwks) =>
      registerFederationAudited(db, { federation: 'f2', jwks: j, members, actor: ACTOR });
    let mark = await head(db);
    assert.deepEqual(await reg([a, b, c]), { jwks: 'created', added: ['a', 'b', 'c'], revoked: ['c'] });
    assert.deepEqual(await eventsAfter(db, mark), [
      ['federation.registered', null, { change: 'created', jwksDigest: jwksDigest(jwks), keys: 4 }],
      ['member.added', 'a', { kid: 'kid-a', roles: ['participant'] }],
      ['member.added', 'b', { kid: 'kid-b', roles: ['participant'] }],
      ['member.added', 'c', { kid: 'kid-c', roles: ['participant'] }],
      ['member.revoked', 'c', { kid: 'kid-c', roles: ['participant'] }],
    ]);

    mark = await head(db);
    assert.deepEqual(await reg([a, b, c]), { jwks: 'unchanged', added: [], revoked: [] });
    assert.equal(await head(db), mark, 'the same kit again: nothing appended');

    // The kit re-keys b and revokes a; Postgres revoked c already: a kit saying "active" does not revive it.
    const b2 = { ...b, kid: 'kid-b2', publicJwk: jwk('b2') };
    const jwks2 = jwksOf(a, b2, c);
    assert.deepEqual(await reg([{ ...a, status: 'revoked' }, b2, { ...c, status: 'active' }], jwks2), {
      jwks: 'changed',
      added: ['b'],
      revoked: ['a'],
    });
    assert.deepEqual(await eventsAfter(db, mark), [
      ['federation.registered', null, { change: 'changed', jwksDigest: jwksDigest(jwks2), keys: 4 }],
      ['member.revoked', 'a', { kid: 'kid-a', roles: ['participant'] }],
      ['member.added', 'b', { kid: 'kid-b2', roles: ['participant'] }],
    ]);
    assert.deepEqual(
      (await listMembers(db, 'f2')).map((m) => [m.id, m.kid, m.status]),
      [
        ['a', 'kid-a', 'revoked'],
        ['b', 'kid-b2', 'active'],
        ['c', 'kid-c', 'revoked'],
      ],
    );
  });

  it('concurrent registrations of one kit add each member once', async () => {
    const ms = ['p', 'q', 'r'].map((id) => member(id));
    const jwks = jwksOf(...ms);
    // The federation row exists already: only its lock keeps two registrations from both adding p.
    await registerFederationAudited(db, { federation: 'f3', jwks, members: [], actor: ACTOR });
    const mark = await head(db);
    const results = await Promise.all(
      Array.from({ length: 4 }, () =>
        registerFederationAudited(db, { federation: 'f3', jwks, members: ms, actor: ACTOR }),
      ),
    );
    assert.deepEqual(results.flatMap((r) => r.added).sort(), ['p', 'q', 'r']);
    const events = (await eventsAfter(db, mark)).map(([e, m]) => `${e}:${m}`);
    assert.deepEqual(events.sort(), ['member.added:p', 'member.added:q', 'member.added:r']);
  });

  it('a failed append takes the row change with it, and a rolled-back caller transaction takes both', async () => {
    await db.query(
      `CREATE FUNCTION refuse_append() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'audit append refused by the test'; END $$`,
    );
    await db.query(
      'CREATE TRIGGER refuse_append BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION refuse_append()',
    );
    const mark = await head(db);
    try {
      await assert.rejects(
        addMemberAudited(db, {
          federation: 'f4',
          member: member('x'),
          jwks: jwksOf(member('x')),
          actor: ACTOR,
        }),
        /audit append refused by the test/,
      );
      await assert.rejects(
        revokeMemberAudited(db, { federation: 'f2', id: 'b', actor: ACTOR }),
        /audit append refused by the test/,
      );
      await assert.rejects(
        registerFederationAudited(db, {
          federation: 'f5',
          jwks: jwksOf(member('y')),
          members: [member('y')],
          actor: ACTOR,
        }),
        /audit append refused by the test/,
      );
    } finally {
      await db.query('DROP TRIGGER refuse_append ON audit_log');
      await db.query('DROP FUNCTION refuse_append()');
    }
    assert.equal(await getFederationJwks(db, 'f4'), undefined, 'no federation row without its event');
    assert.equal(await getMember(db, 'f4', 'x'), undefined, 'no member row without its event');
    assert.equal((await getMember(db, 'f2', 'b'))?.status, 'active', 'not revoked without its event');
    assert.equal(await getFederationJwks(db, 'f5'), undefined);
    assert.equal(await head(db), mark);

    // Inside the caller's transaction: the action commits or rolls back with it.
    await assert.rejects(
      db.tx(async (client) => {
        await addMemberAudited(client, {
          federation: 'f6',
          member: member('z'),
          jwks: jwksOf(member('z')),
          actor: ACTOR,
        });
        assert.ok(await getMember(client, 'f6', 'z'), 'visible inside the transaction');
        throw new Error('caller gives up');
      }),
      /caller gives up/,
    );
    assert.equal(await getMember(db, 'f6', 'z'), undefined);
    assert.equal(await head(db), mark, 'and its events went with it');
  });

  it('refuses bad input with a clear error and stores nothing', async () => {
    const mark = await head(db);
    const x = member('x');
    const add = (o: Partial<Parameters<typeof addMemberAudited>[1]>) =>
      addMemberAudited(db, { federation: 'f7', member: x, jwks: jwksOf(x), actor: ACTOR, ...o });
    await expectBadEntry(() => add({ actor: '' }), /audit actor must be a non-empty string/);
    await expectBadEntry(() => add({ actor: 'o'.repeat(257) }), /audit actor must be .* at most 256/);
    await expectBadEntry(() => add({ federation: '' }), /federation must be a non-empty string/);
    await expectBadEntry(
      () => add({ member: { ...x, kid: '' } }),
      /member x: kid must be a non-empty string/,
    );
    await expectBadEntry(() => add({ member: { ...x, id: undefined as never } }), /member id must be/);
    await expectBadEntry(
      () => add({ member: { ...x, publicJwk: 'k' } }),
      /member x: publicJwk must be a JWK/,
    );
    await expectBadEntry(
      () => add({ member: { ...x, roles: ['operator'] } }),
      /member x: roles must list 'participant' and\/or 'auditor', got \["operator"\]/,
    );
    await expectBadEntry(() => add({ member: { ...x, roles: [] } }), /roles must list/);
    await expectBadEntry(() => add({ jwks: { keys: [] } }), /JWKS must be an object with a non-empty "keys"/);
    await expectBadEntry(
      () => revokeMemberAudited(db, { federation: 'f2', id: 'b', actor: '' }),
      /audit actor must be/,
    );
    await expectBadEntry(
      () => revokeMemberAudited(db, { federation: 'f2', id: '', actor: ACTOR }),
      /member id must be/,
    );
    const reg = (members: KitMember[]) =>
      registerFederationAudited(db, { federation: 'f7', jwks: jwksOf(x), members, actor: ACTOR });
    await expectBadEntry(
      () => reg([{ ...x, status: 'gone' as never }]),
      /member x: status must be 'active' or 'revoked'/,
    );
    await expectBadEntry(() => reg([x, { ...x, id: 'y', roles: 'participant' as never }]), /member y: roles/);
    await expectBadEntry(() => reg('x' as never), /members must be an array/);
    assert.equal(await getFederationJwks(db, 'f7'), undefined, 'no federation row');
    assert.deepEqual(await listMembers(db, 'f7'), [], 'no member row');
    assert.equal((await getMember(db, 'f2', 'b'))?.status, 'active', 'not revoked');
    assert.equal(await head(db), mark, 'no audit row');
  });

  it('the old event name stays readable but is never appended', async () => {
    await expectBadEntry(
      () => appendAudit(db, { federation: 'f1', event: 'member.provisioned' as never, member: 'x' }),
      /unknown audit event "member.provisioned"/,
    );
  });

  it('an enrollment: member.enrolled with its fingerprint; an existing id and a failed kit write change nothing', async () => {
    const erin = {
      ...member('erin'),
      encryptionJwk: { kty: 'OKP', crv: 'X25519', x: 'eA', kid: 'enc-erin' },
    };
    const jwks = jwksOf(erin);
    const mark = await head(db);
    const r = await enrollMemberAudited(db, {
      federation: 'f9',
      member: erin,
      jwks,
      actor: ACTOR,
      fingerprint: 'AAAA-BBBB-CCCC-DDDD-EEEE',
    });
    assert.deepEqual(r, { enrolled: true, jwks: 'created' });
    assert.deepEqual(await eventsAfter(db, mark), [
      ['federation.registered', null, { change: 'created', jwksDigest: jwksDigest(jwks), keys: 2 }],
      [
        'member.enrolled',
        'erin',
        {
          fingerprint: 'AAAA-BBBB-CCCC-DDDD-EEEE',
          kid: 'kid-erin',
          encryptionKid: 'enc-erin',
          role: 'participant',
        },
      ],
    ]);
    // The same id again (other keys): refused, nothing changed or appended.
    const mark2 = await head(db);
    const again = await enrollMemberAudited(db, {
      federation: 'f9',
      member: { ...member('erin', 'participant', 'erin-2') },
      jwks: jwksOf(member('erin', 'participant', 'erin-2')),
      actor: ACTOR,
      fingerprint: 'FFFF-BBBB-CCCC-DDDD-EEEE',
    });
    assert.deepEqual(again, { enrolled: false, status: 'active' });
    assert.equal(await head(db), mark2);
    assert.equal((await getMember(db, 'f9', 'erin'))?.kid, 'kid-erin');
    assert.deepEqual(await getFederationJwks(db, 'f9'), jwks);
    // The kit write (beforeCommit) fails: the member, the JWKS and the events roll back.
    const fred = member('fred');
    await assert.rejects(
      enrollMemberAudited(db, {
        federation: 'f9',
        member: fred,
        jwks: jwksOf(erin, fred),
        actor: ACTOR,
        fingerprint: 'GGGG-BBBB-CCCC-DDDD-EEEE',
        beforeCommit: () => {
          throw new Error('disk full');
        },
      }),
      /disk full/,
    );
    assert.equal(await getMember(db, 'f9', 'fred'), undefined);
    assert.deepEqual(await getFederationJwks(db, 'f9'), jwks);
    assert.equal(await head(db), mark2);
    await recordEnrollmentRefusal(db, {
      federation: 'f9',
      actor: ACTOR,
      claimedMember: 'erin',
      fingerprint: 'FFFF-BBBB-CCCC-DDDD-EEEE',
      reason: 'already enrolled',
    });
    assert.deepEqual(await eventsAfter(db, mark2), [
      [
        'member.enrollment_refused',
        null,
        { claimedMember: 'erin', fingerprint: 'FFFF-BBBB-CCCC-DDDD-EEEE', reason: 'already enrolled' },
      ],
    ]);
  });
});
