import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';
import { buildJwks, generateIdentity, type IdentityKey, type JSONWebKeySet } from '@kpfl/kpt';
import {
  type AuditRow,
  appendAudit,
  auditHead,
  computeAuditHash,
  GENESIS_HASH,
  queryAudit,
} from '@kpfl/store';
import { listContributions, signCheckpoint, verifyAuditDb } from '../src/index.js';
import { freshDb } from './fixtures.js';

const ROWS = 100_000;
const MEMBERS = 100;
const ROUNDS = 500;
const FED = 'perf-fed';
const PLAN = 'plan-perf';
/** Events that need no matching contribution rows (contribution.accepted would: verify cross-checks it). */
const EVENTS = ['token.issued', 'contribution.received', 'rpc.refused'] as const;

/** Builds ROWS chained rows in memory (the same hash appendAudit computes), then inserts them in parallel batches. */
async function bulkInsert(db: Awaited<ReturnType<typeof freshDb>>['db']): Promise<void> {
  const h0 = performance.now();
  const start = Date.parse('2025-01-01T00:00:00Z');
  let prevHash = GENESIS_HASH;
  const rows: AuditRow[] = [];
  for (let seq = 1; seq <= ROWS; seq++) {
    const event = seq % 10 === 0 ? 'contribution.refused' : EVENTS[seq % 3];
    const member = `m${String(seq % MEMBERS).padStart(3, '0')}`;
    const row: Omit<AuditRow, 'hash'> = {
      seq,
      at: `${new Date(start + seq * 10).toISOString().slice(0, 23)}${String(seq % 1000).padStart(3, '0')}Z`,
      federation: FED,
      event,
      planId: PLAN,
      round: 1 + Math.floor(((seq - 1) / ROWS) * ROUNDS),
      member,
      actor: member,
      data:
        event === 'contribution.refused'
          ? { reason: 'base_model_digest: stale global model', exampleCount: 600 }
          : { bytes: 1_000_000 + seq, n: seq },
      prevHash,
    };
    const hash = computeAuditHash(row);
    rows.push({ ...row, hash });
    prevHash = hash;
  }
  const i0 = performance.now();
  const batch = 5_000;
  const batches = Array.from({ length: Math.ceil(ROWS / batch) }, (_, i) =>
    rows.slice(i * batch, (i + 1) * batch),
  );
  const insert = async (part: AuditRow[]) => {
    const col = <K extends keyof AuditRow>(k: K) => part.map((r) => r[k]);
    await db.query(
      `INSERT INTO audit_log (seq, at, federation, event, plan_id, round, member, actor, data, prev_hash, hash)
       SELECT s, a::timestamptz, f, e, p, r, m, ac, d::jsonb, ph, h
       FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[], $7::text[], $8::text[],
                   $9::text[], $10::text[], $11::text[]) AS t(s, a, f, e, p, r, m, ac, d, ph, h)`,
      [
        col('seq'),
        col('at'),
        col('federation'),
        col('event'),
        col('planId'),
        col('round'),
        col('member'),
        col('actor'),
        part.map((r) => JSON.stringify(r.data)),
        col('prevHash'),
        col('hash'),
      ],
    );
  };
  // Four connections at a time: the rows are already chained, so the order of the batches does not matter.
  const queue = [...batches];
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      for (let part = queue.shift(); part; part = queue.shift()) await insert(part);
    }),
  );
  await db.query('ANALYZE audit_log');
  console.log(
    `# perf   of which hashing in JS ${(i0 - h0).toFixed(0)} ms, INSERTs (${batches.length} batches, 4 connections) ${(performance.now() - i0).toFixed(0)} ms`,
  );
}

/** Runs `fn` a few times after a warm-up and reports the median and worst time in milliseconds. */
async function timed<T>(t: TestContext, label: string, fn: () => Promise<T>, times = 5): Promise<T> {
  let result = await fn();
  const ms: number[] = [];
  for (let i = 0; i < times; i++) {
    const t0 = performance.now();
    result = await fn();
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  const line = `${label}: median ${ms[Math.floor(ms.length / 2)].toFixed(2)} ms, max ${ms.at(-1)!.toFixed(2)} ms`;
  t.diagnostic(line);
  console.log(`# perf ${line}`);
  return result;
}

describe(`audit queries over ${ROWS.toLocaleString('en')} rows`, () => {
  let env: Awaited<ReturnType<typeof freshDb>>;
  let coordinator: IdentityKey;
  let jwks: JSONWebKeySet;

  before(async () => {
    env = await freshDb('audit_perf');
    coordinator = await generateIdentity();
    jwks = buildJwks([{ kid: coordinator.kid, publicJwk: coordinator.publicJwk }]);
    const t0 = performance.now();
    await bulkInsert(env.db);
    console.log(
      `# perf bulk insert of ${ROWS} chained rows (hash in JS, batched INSERTs, ANALYZE): ${(performance.now() - t0).toFixed(0)} ms`,
    );
  });
  after(() => env.cleanup());

  it('appendAudit continues the bulk-loaded chain', async (t) => {
    const r = await timed(t, 'appendAudit (own transaction) at 100k rows', () =>
      appendAudit(env.db, {
        federation: FED,
        event: 'token.issued',
        member: 'm001',
        actor: 'coordinator',
      }),
    );
    assert.equal(r.seq, ROWS + 6);
    assert.equal((await auditHead(env.db)).seq, ROWS + 6);
  });

  it('a page by member, by round, by event and by time comes back fast (times are reported, not asserted)', async (t) => {
    const byMember = await timed(t, 'queryAudit member=m042 first page of 100', () =>
      queryAudit(env.db, { member: 'm042', limit: 100 }),
    );
    assert.equal(byMember.rows.length, 100);
    assert.ok(byMember.rows.every((r) => r.member === 'm042'));
    assert.ok(byMember.nextAfterSeq);

    const deep = await timed(t, 'queryAudit member=m042 page of 100 after seq 90,000', () =>
      queryAudit(env.db, { member: 'm042', afterSeq: 90_000, limit: 100 }),
    );
    assert.equal(deep.rows.length, 100);
    assert.ok(deep.rows.every((r) => r.member === 'm042' && r.seq > 90_000));

    const byRound = await timed(t, 'queryAudit round=250 first page of 100', () =>
      queryAudit(env.db, { round: 250, limit: 100 }),
    );
    assert.equal(byRound.rows.length, 100);
    assert.ok(byRound.rows.every((r) => r.round === 250));

    const byPlanRound = await timed(t, 'queryAudit planId+round=400 all 200 rows', () =>
      queryAudit(env.db, { planId: PLAN, round: 400, limit: 1000 }),
    );
    assert.equal(byPlanRound.rows.length, ROWS / ROUNDS);

    const byMemberRound = await timed(t, 'queryAudit member=m007 round=123', () =>
      queryAudit(env.db, { member: 'm007', round: 123, limit: 100 }),
    );
    assert.ok(
      byMemberRound.rows.length > 0 &&
        byMemberRound.rows.every((r) => r.member === 'm007' && r.round === 123),
    );

    const byEvent = await timed(t, 'queryAudit event=contribution.refused first page of 100', () =>
      queryAudit(env.db, { event: 'contribution.refused', limit: 100 }),
    );
    assert.equal(byEvent.rows.length, 100);

    const byTime = await timed(t, 'queryAudit 10-minute window, page of 100', () =>
      queryAudit(env.db, { from: '2025-01-01T00:05:00Z', to: '2025-01-01T00:15:00Z', limit: 100 }),
    );
    assert.equal(byTime.rows.length, 100);
    assert.ok(byTime.rows.every((r) => r.at >= '2025-01-01T00:05:00' && r.at < '2025-01-01T00:15:00'));

    const contributions = await timed(t, 'listContributions member=m040 (refused, from the log)', () =>
      listContributions(env.db, { member: 'm040', limit: 100 }),
    );
    assert.equal(contributions.rows.length, 100);
    assert.ok(contributions.rows.every((r) => r.member === 'm040' && r.status === 'refused'));

    const roundContributions = await timed(t, 'listContributions round=321', () =>
      listContributions(env.db, { round: 321 }),
    );
    assert.equal(roundContributions.rows.length, 20);

    for (const [label, sql, values] of [
      ['member', 'SELECT seq FROM audit_log WHERE member = $1 ORDER BY seq LIMIT 101', ['m042']],
      ['round', 'SELECT seq FROM audit_log WHERE round = $1 ORDER BY seq LIMIT 101', [250]],
    ] as const) {
      const plan = await env.db.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${sql}`, [...values]);
      const text = plan.rows.map((r) => r['QUERY PLAN']).join(' | ');
      t.diagnostic(`plan by ${label}: ${text}`);
      assert.match(text, /Index/, `the ${label} query uses an index: ${text}`);
    }
  });

  it('the whole chain exports and verifies, with a checkpoint', async (t) => {
    await signCheckpoint(env.db, coordinator, FED);
    const v = await timed(
      t,
      `verifyAuditDb (export + offline verify) of ${ROWS.toLocaleString('en')}+ rows`,
      () => verifyAuditDb(env.db, { federation: FED, jwks }),
      1,
    );
    assert.equal(v.ok, true, JSON.stringify(v.firstError));
    assert.equal(v.checked.rows, ROWS + 7);
    assert.equal(v.checked.checkpoints, 1);
  });
});
