import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type FederationParty, federationJwks, generateIdentity, type JSONWebKeySet } from '@kpfl/kpt';
import {
  appendAudit,
  auditHead,
  auditNow,
  computeAuditHash,
  enrollMemberAudited,
  listMembers,
  revokeMemberAudited,
} from '@kpfl/store';
import {
  type AuditExport,
  type AuditVerdict,
  exportAudit,
  federationJwksFromDb,
  formatVerdict,
  queryAuditLog,
  verifyAuditDb,
  verifyAuditExport,
} from '../src/index.js';
import { FEDERATION, federationKits, freshDb, simulateFederation } from './fixtures.js';

const OPERATOR = 'operator:test@audit';

function assertMembershipIssue(v: AuditVerdict, reason: RegExp, seq?: number): void {
  assert.equal(v.ok, false, 'verification must fail');
  const issue = v.errors.find((e) => reason.test(e.reason));
  assert.ok(issue, `an issue matching ${reason}; got:\n${formatVerdict(v, 100)}`);
  assert.equal(issue.kind, 'mismatch');
  if (seq !== undefined) assert.equal(issue.seq, seq);
}

/** The federation's JWKS with extra parties (what a key registered behind the log's back looks like). */
async function jwksWith(extra: FederationParty[]): Promise<JSONWebKeySet> {
  const f = await federationKits();
  return federationJwks(f.coordinator.signingKey, [...Object.values(f.coordinator.registry), ...extra]);
}

async function party(memberId: string): Promise<FederationParty> {
  const k = await generateIdentity();
  return { memberId, kid: k.kid, publicJwk: k.publicJwk, role: 'participant' };
}

describe('membership in the audit log', () => {
  let env: Awaited<ReturnType<typeof freshDb>>;
  let doc: AuditExport;
  before(async () => {
    env = await freshDb('audit_members');
    await simulateFederation(env.db, { rounds: 1 }).catch(async (err) => {
      await env.cleanup();
      throw err;
    });
    doc = JSON.parse(JSON.stringify(await exportAudit(env.db, { federation: FEDERATION })));
  });
  after(() => env.cleanup());
  const copy = (): AuditExport => JSON.parse(JSON.stringify(doc));

  it('the JWKS built from the members table is the one provisioning published', async () => {
    const f = await federationKits();
    assert.deepEqual(await federationJwksFromDb(env.db, FEDERATION, f.coordinator.jwks), f.jwks);
    assert.equal((await listMembers(env.db, FEDERATION)).length, 5);
  });

  it('an untouched log verifies: every member key has its member.added event', async () => {
    const v = await verifyAuditExport(copy());
    assert.equal(v.ok, true, formatVerdict(v));
    assert.equal(
      doc.log.filter((r) => r.event === 'member.added').length,
      doc.jwks.keys.length - 1,
      'one per member key (control: the check has something to match)',
    );
  });

  it('a member key the log never added is reported, and so is an added event that was altered', async () => {
    const mallory = await party('mallory');
    assertMembershipIssue(
      await verifyAuditExport(copy(), { jwks: await jwksWith([mallory]) }),
      new RegExp(
        `the JWKS holds key ${mallory.kid} of member mallory, but the log has no member.added event for it`,
      ),
    );
    const edited = copy();
    const row = edited.log.find((r) => r.event === 'member.added' && r.member === 'bob')!;
    row.data.kid = 'some-other-kid';
    const v = await verifyAuditExport(edited);
    assert.equal(v.firstError?.kind, 'edited', 'the chain names the edited row first');
    assertMembershipIssue(v, /key \S+ of member bob, but the log has no member.added event/);
  });

  it("a key whose material was replaced under its kid, and a key marked with another role than its event's", async () => {
    const swapped = copy();
    const bob = swapped.jwks.keys.find((k) => (k as { kpfl_member?: string }).kpfl_member === 'bob')!;
    bob.x = (await generateIdentity()).publicJwk.x;
    assertMembershipIssue(
      await verifyAuditExport(swapped),
      /the JWKS key \S+ of member bob is not that key's thumbprint .*: its key material was replaced/,
    );
    const audrey = (await federationKits()).coordinator.registry.audrey;
    const added = doc.log.find((r) => r.event === 'member.added' && r.member === 'audrey')!;
    const relabelled = await jwksWith([]).then((j) => ({
      keys: j.keys.map((k) => (k.kid === audrey.kid ? { ...k, kpfl_role: 'participant' } : k)),
    }));
    assertMembershipIssue(
      await verifyAuditExport(copy(), { jwks: relabelled }),
      new RegExp(
        `marks key ${audrey.kid} of member audrey as kpfl_role participant, but row ${added.seq} added it with roles auditor`,
      ),
      added.seq,
    );
  });

  it('a revocation of a member the log never added', async () => {
    const d = await freshDb('audit_members_rev');
    try {
      await simulateFederation(d.db, { rounds: 1 });
      const { seq } = await appendAudit(d.db, {
        federation: FEDERATION,
        event: 'member.revoked',
        member: 'zed',
        actor: OPERATOR,
        data: { kid: 'kid-zed', roles: ['participant'] },
      });
      assertMembershipIssue(
        await verifyAuditDb(d.db, { federation: FEDERATION }),
        /row \d+ revokes member zed, whom no earlier member.added event added/,
        seq,
      );
    } finally {
      await d.cleanup();
    }
  });

  it('a contribution accepted after its member was revoked; none when the revocation comes after', async () => {
    const d = await freshDb('audit_members_late');
    try {
      // alice is revoked (audited, as kpfl members revoke does) before round 2, yet round 2 accepts her update.
      await simulateFederation(d.db, {
        rounds: 2,
        beforeRound: async (round) => {
          if (round === 2)
            assert.equal(
              await revokeMemberAudited(d.db, { federation: FEDERATION, id: 'alice', actor: OPERATOR }),
              'revoked',
            );
        },
      });
      const page = await queryAuditLog(d.db, { event: 'member.revoked', member: 'alice' });
      assert.equal(page.rows.length, 1);
      const late = await queryAuditLog(d.db, { event: 'contribution.accepted', member: 'alice', round: 2 });
      assertMembershipIssue(
        await verifyAuditDb(d.db, { federation: FEDERATION }),
        new RegExp(
          `row ${late.rows[0]!.seq} accepts a contribution of member alice, revoked at row ${page.rows[0]!.seq}`,
        ),
        late.rows[0]!.seq,
      );
    } finally {
      await d.cleanup();
    }
    const ok = await freshDb('audit_members_ok');
    try {
      await simulateFederation(ok.db, { rounds: 1 });
      await revokeMemberAudited(ok.db, { federation: FEDERATION, id: 'alice', actor: OPERATOR });
      const v = await verifyAuditDb(ok.db, { federation: FEDERATION });
      assert.equal(v.ok, true, formatVerdict(v));
    } finally {
      await ok.cleanup();
    }
  });

  it('a member enrolled with its own keys (member.enrolled, one role) counts as added', async () => {
    const d = await freshDb('audit_members_enrolled');
    try {
      await simulateFederation(d.db, { rounds: 1 });
      const erin = await party('erin');
      const aud = { ...(await party('aud-9')), role: 'auditor' as const };
      const jwks = await jwksWith([erin, aud]);
      assertMembershipIssue(
        await verifyAuditDb(d.db, { federation: FEDERATION, jwks }),
        /key \S+ of member erin, but the log has no member.added event/,
      );
      for (const p of [erin, aud]) {
        const r = await enrollMemberAudited(d.db, {
          federation: FEDERATION,
          member: { id: p.memberId, kid: p.kid, publicJwk: p.publicJwk, roles: [p.role] },
          jwks,
          actor: OPERATOR,
          fingerprint: 'AAAA-BBBB-CCCC-DDDD-EEEE',
        });
        assert.equal(r.enrolled, true);
      }
      const v = await verifyAuditDb(d.db, { federation: FEDERATION, jwks });
      assert.equal(v.ok, true, formatVerdict(v));
      // Its role is checked from data.role: the auditor's key marked participant is named.
      const relabelled = {
        keys: jwks.keys.map((k) => (k.kid === aud.kid ? { ...k, kpfl_role: 'participant' } : k)),
      };
      assertMembershipIssue(
        await verifyAuditDb(d.db, { federation: FEDERATION, jwks: relabelled }),
        new RegExp(
          `marks key ${aud.kid} of member aud-9 as kpfl_role participant, but row \\d+ added it with roles auditor`,
        ),
      );
    } finally {
      await d.cleanup();
    }
  });

  it('members added under the old name member.provisioned still count, and can be queried', async () => {
    const d = await freshDb('audit_members_legacy');
    try {
      await simulateFederation(d.db, { rounds: 1 });
      const olga = await party('olga');
      const jwks = await jwksWith([olga]);
      assertMembershipIssue(
        await verifyAuditDb(d.db, { federation: FEDERATION, jwks }),
        /key \S+ of member olga, but the log has no member.added event/,
      );
      // A row as an earlier version wrote it (appendAudit no longer accepts the name).
      const head = await auditHead(d.db);
      const at = await auditNow(d.db);
      const row = {
        seq: head.seq + 1,
        at,
        federation: FEDERATION,
        event: 'member.provisioned',
        planId: null,
        round: null,
        member: 'olga',
        actor: 'operator',
        data: { kid: olga.kid, roles: ['participant'] },
        prevHash: head.hash,
      };
      await d.db.query(
        `INSERT INTO audit_log (seq, at, federation, event, member, actor, data, prev_hash, hash)
         VALUES ($1, $2::timestamptz, $3, $4, $5, $6, $7::jsonb, $8, $9)`,
        [
          row.seq,
          at,
          FEDERATION,
          row.event,
          'olga',
          'operator',
          JSON.stringify(row.data),
          row.prevHash,
          computeAuditHash(row),
        ],
      );
      const v = await verifyAuditDb(d.db, { federation: FEDERATION, jwks });
      assert.equal(v.ok, true, formatVerdict(v));
      const legacy = await queryAuditLog(d.db, { event: 'member.provisioned' });
      assert.deepEqual(
        legacy.rows.map((r) => r.member),
        ['olga'],
      );
    } finally {
      await d.cleanup();
    }
  });
});
