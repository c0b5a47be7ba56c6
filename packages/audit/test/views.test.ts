import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  AuditError,
  CONTRIBUTION_COLUMNS,
  type ContributionAuditRow,
  formatRows,
  listContributions,
  listRoundsAudit,
  queryAuditLog,
  ROUND_COLUMNS,
} from '../src/index.js';
import { FEDERATION, freshDb, PLAN, simulateFederation } from './fixtures.js';

async function expectBadFilter(fn: () => Promise<unknown>, message: RegExp) {
  await assert.rejects(fn, (err: unknown) => {
    assert.ok(err instanceof AuditError, `expected AuditError, got ${String(err)}`);
    assert.equal(err.code, 'BAD_FILTER');
    assert.match(err.message, message);
    return true;
  });
}

describe('auditor views', () => {
  let env: Awaited<ReturnType<typeof freshDb>>;
  before(async () => {
    env = await freshDb('audit_views');
    await simulateFederation(env.db, { rounds: 3 }).catch(async (err) => {
      await env.cleanup();
      throw err;
    });
  });
  after(() => env.cleanup());

  it('lists every contribution, accepted and refused (with reason), in time order', async () => {
    const { rows, nextCursor } = await listContributions(env.db, { federation: FEDERATION });
    assert.equal(nextCursor, undefined);
    assert.equal(rows.length, 12, '3 accepted + 1 refused per round, 3 rounds');
    assert.deepEqual(
      rows.filter((r) => r.round === 2).map((r) => [r.member, r.status]),
      [
        ['alice', 'accepted'],
        ['bob', 'accepted'],
        ['carol', 'accepted'],
        ['dave', 'refused'],
      ],
    );
    const alice = rows.find((r) => r.member === 'alice' && r.round === 1)!;
    assert.equal(alice.exampleCount, 500);
    assert.match(alice.baseModelDigest!, /^sha256:/);
    assert.match(alice.updateDigest!, /^sha256:/);
    assert.match(alice.receipt!, /^[\w-]+\.[\w-]+\.[\w-]+$/);
    assert.equal(alice.reason, null);
    const dave = rows.find((r) => r.member === 'dave' && r.round === 3)!;
    assert.equal(dave.status, 'refused');
    assert.match(dave.reason!, /stale global model/);
    assert.equal(dave.exampleCount, 450);
    assert.equal(dave.receipt, null);
    assert.ok(dave.seq! > 0);
    const sorted = [...rows].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
    assert.deepEqual(rows, sorted);
  });

  it('filters by round, member, status and time, and pages with a cursor', async () => {
    const all = (await listContributions(env.db, {})).rows;
    assert.deepEqual(
      (await listContributions(env.db, { round: '2', member: 'bob' })).rows.map((r) => [r.member, r.round]),
      [['bob', 2]],
    );
    assert.equal((await listContributions(env.db, { status: 'refused' })).rows.length, 3);
    assert.equal(
      (await listContributions(env.db, { planId: PLAN, round: 3, status: 'accepted' })).rows.length,
      3,
    );
    const mid = all[6].at;
    const later = (await listContributions(env.db, { from: mid })).rows;
    assert.deepEqual(later, all.slice(6));
    const earlier = (await listContributions(env.db, { to: mid })).rows;
    assert.deepEqual(earlier, all.slice(0, 6));
    const paged: ContributionAuditRow[] = [];
    let cursor: string | undefined;
    do {
      const page = await listContributions(env.db, { limit: 5, cursor });
      assert.ok(page.rows.length <= 5);
      paged.push(...page.rows);
      cursor = page.nextCursor;
    } while (cursor);
    assert.deepEqual(paged, all);
  });

  it('summarizes rounds: sampled, contributed, accepted, aggregate, certificate signers', async () => {
    const rounds = await listRoundsAudit(env.db, { federation: FEDERATION });
    assert.equal(rounds.length, 3);
    for (const r of rounds) {
      assert.equal(r.state, 'published');
      assert.deepEqual(r.sampled, ['alice', 'bob', 'carol', 'dave']);
      assert.deepEqual(r.contributed, ['alice', 'bob', 'carol', 'dave']);
      assert.deepEqual(r.accepted, ['alice', 'bob', 'carol']);
      assert.equal(r.refused, 1);
      assert.match(r.aggregateDigest!, /^sha256:/);
      assert.deepEqual(r.certificateSigners, ['coordinator', 'alice', 'bob', 'carol']);
    }
    assert.deepEqual(
      (await listRoundsAudit(env.db, { round: '2' })).map((r) => r.round),
      [2],
    );
  });

  it('refuses malformed filters with a clear message (BAD_FILTER)', async () => {
    await expectBadFilter(
      () => listContributions(env.db, { round: 'two' }),
      /invalid contributions filter: round must be a whole number/,
    );
    await expectBadFilter(() => listContributions(env.db, { round: -1 }), /round must be at least 0/);
    await expectBadFilter(
      () => listContributions(env.db, { member: "alice' OR 1=1 --" }),
      /member must look like an id/,
    );
    await expectBadFilter(
      () => listContributions(env.db, { from: 'last tuesday' }),
      /from must be an ISO 8601 date or time/,
    );
    await expectBadFilter(
      () => listContributions(env.db, { from: '2025-02-30' }),
      /from is not a valid date or time|from must be/,
    );
    await expectBadFilter(
      () => listContributions(env.db, { from: '2025-02-01', to: '2025-01-01' }),
      /invalid contributions filter: from must be earlier than to/,
    );
    await expectBadFilter(
      () => listContributions(env.db, { status: 'maybe' as never }),
      /status must be 'accepted' or 'refused'/,
    );
    await expectBadFilter(() => listContributions(env.db, { limit: 0 }), /limit must be at least 1/);
    await expectBadFilter(
      () => listContributions(env.db, { cursor: 'not a cursor!' }),
      /cursor must be a value returned as nextCursor/,
    );
    await expectBadFilter(
      () => listContributions(env.db, { cursor: 'bm9wZQ' }),
      /cursor must be a value returned as nextCursor/,
    );
    await expectBadFilter(() => listContributions(env.db, { rnd: 3 } as never), /unknown filter "rnd"/);
    await expectBadFilter(
      () => listRoundsAudit(env.db, { state: 'done' as never }),
      /invalid rounds filter: state/,
    );
    await expectBadFilter(
      () => queryAuditLog(env.db, { event: 'round.exploded' as never }),
      /event must be one of member.added, member.revoked, federation.registered, .* \(or the legacy member.provisioned\)/,
    );
    await expectBadFilter(() => queryAuditLog(env.db, { limit: 100_000 }), /limit must be at most 10000/);
  });

  it('queries the raw log with validated filters and keyset pages', async () => {
    const page = await queryAuditLog(env.db, { event: 'contribution.refused', member: 'dave', limit: '2' });
    assert.deepEqual(
      page.rows.map((r) => r.round),
      [1, 2],
    );
    assert.ok(page.nextAfterSeq);
    const next = await queryAuditLog(env.db, {
      event: 'contribution.refused',
      afterSeq: page.nextAfterSeq,
      limit: 2,
    });
    assert.deepEqual(
      next.rows.map((r) => r.round),
      [3],
    );
    assert.equal(next.nextAfterSeq, undefined);
  });

  it('formats rows as a table, JSON or CSV', async () => {
    const rows = (await listContributions(env.db, { round: 1 })).rows;
    const table = formatRows(rows, 'table', { columns: CONTRIBUTION_COLUMNS });
    const lines = table.trimEnd().split('\n');
    assert.equal(lines.length, 2 + rows.length);
    assert.match(lines[0], /^at\s+planId\s+round\s+member\s+status\s+reason\s+exampleCount/);
    assert.match(lines[1], /^-+ {2}-+/);
    assert.match(table, /sha256:[0-9a-f]+…/);
    assert.match(table, /dave.*refused.*base_model_digest/);
    const json = JSON.parse(formatRows(rows, 'json'));
    assert.deepEqual(json, rows);
    const csv = formatRows(
      [
        { a: 'plain', b: 'with, comma', c: 'with "quote"', d: ['x', 'y'], e: null },
        { a: 'line\nbreak', b: 1, c: { k: 1 }, d: [], e: true },
      ],
      'csv',
    );
    assert.equal(
      csv,
      'a,b,c,d,e\r\nplain,"with, comma","with ""quote""","x,y",\r\n"line\nbreak",1,"{""k"":1}",,true\r\n',
    );
    const rounds = await listRoundsAudit(env.db, {});
    assert.match(formatRows(rounds, 'table', { columns: ROUND_COLUMNS }), /coordinator,alice,bob,carol/);
    assert.equal(formatRows([], 'table'), '(no rows)\n');
  });
});
