import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  createPlan,
  type Db,
  deleteRoundPayloads,
  dropSchema,
  insertContribution,
  openDb,
  openRound,
  planSummary,
  recordVerdict,
  storageFigures,
  transitionRound,
  upsertFederation,
} from '../src/index.js';
import { newPlan } from './fixtures.js';

const FED = 'fed-r';
const digest = (c: string) => `sha256:${c.repeat(64)}`;

describe('report figures', () => {
  const schema = `store_reports_${randomBytes(4).toString('hex')}`;
  let db: Db;
  before(async () => {
    db = await openDb({ migrate: true, schema, max: 2 });
    await upsertFederation(db, FED, { keys: [] });
    for (const id of ['p1', 'p2'])
      await createPlan(
        db,
        newPlan(id, FED, { total_rounds: 1, initial_model_digest: digest('0') }),
        'operator:test',
      );
  });
  after(async () => {
    await db.close();
    await dropSchema(undefined, schema);
  });

  it('a plan with nothing yet has its initial digest and no mean size; storage is empty', async () => {
    assert.deepEqual(await planSummary(db, 'p1'), { globalModelDigest: digest('0') });
    assert.deepEqual(await planSummary(db, 'no-such-plan'), {});
    const s = await storageFigures(db);
    assert.deepEqual(
      [s.contributions, s.chunkRows, s.chunkPayload, s.aggregateRows, s.aggregatePayload],
      [0, 0, 0, 0, 0],
    );
    assert.ok(s.relationBytes.contributions > 0, 'an empty table still has its index pages');
  });

  it("the latest round's digest, the mean accepted size, and what the payload tables hold", async () => {
    await db.tx((tx) =>
      openRound(
        tx,
        {
          planId: 'p1',
          round: 1,
          sampled: ['a', 'b'],
          quorum: 2,
          minParticipants: 1,
          samplingSeed: 's',
          deadlineAt: new Date(Date.now() + 60_000),
        },
        'coordinator',
      ),
    );
    for (const [member, n] of [
      ['a', 100],
      ['b', 300],
    ] as const) {
      await db.tx((client) =>
        insertContribution(
          client,
          {
            plan_id: 'p1',
            round: 1,
            member,
            attestation: 'a.b.c',
            attestation_digest: digest('a'),
            update_digest: digest('b'),
            base_model_digest: digest('0'),
            example_count: 1,
            bytes: n,
            receipt: 'r.e.c',
          },
          [new Uint8Array(n), new Uint8Array(1)],
        ),
      );
    }
    await db.tx(async (tx) => {
      await transitionRound(tx, 'p1', 1, { to: 'collecting', firstMember: 'a' }, 'coordinator');
      await transitionRound(
        tx,
        'p1',
        1,
        { to: 'aggregating', why: 'quorum', contributions: 2 },
        'coordinator',
      );
      await transitionRound(
        tx,
        'p1',
        1,
        { to: 'published', aggregateDigest: digest('sum'), contributions: 2 },
        'coordinator',
      );
      const votes = ['a', 'b'].map((member) => ({ member, verdict: { modelDigest: digest('1') } }));
      await recordVerdict(tx, { planId: 'p1', round: 1, contributors: ['a', 'b'], votes, voter: 'b' }, 'b');
    });
    assert.deepEqual(await planSummary(db, 'p1'), {
      globalModelDigest: digest('1'),
      meanContributionBytes: 200,
    });
    assert.deepEqual(
      await planSummary(db, 'p2'),
      { globalModelDigest: digest('0') },
      'another plan is not mixed in: it is still at its initial model',
    );
    const s = await storageFigures(db);
    assert.deepEqual([s.contributions, s.chunkRows, s.chunkPayload], [2, 4, 402]);
    await deleteRoundPayloads(db, 'p1', 1);
    const after = await storageFigures(db);
    assert.deepEqual([after.contributions, after.chunkRows, after.chunkPayload], [2, 0, 0]);
  });
});
