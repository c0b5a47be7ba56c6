import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { type Db, dropSchema, openDb } from '../src/index.js';

const schema = `store_bounds_${randomBytes(4).toString('hex')}`;
let db: Db;
before(async () => {
  db = await openDb({ migrate: true, schema, max: 1 });
});
after(async () => {
  await db.close();
  await dropSchema(undefined, schema);
});

/** Inserts a contribution row with this count, foreign keys not checked (the count is what is tested). */
async function insertWithCount(count: number): Promise<void> {
  await db.tx(async (c) => {
    await c.query('SET LOCAL session_replication_role = replica');
    await c.query(
      `INSERT INTO contributions (plan_id, round, member, attestation, attestation_digest, update_digest,
         base_model_digest, example_count, bytes, receipt)
       VALUES ('p', 1, 'alice', 'a', 'd', 'u', 'b', $1, 1, 'r')`,
      [count],
    );
  });
}

test("contributions.example_count holds exactly the attestation schema's range, 1..2^31-1", async () => {
  await insertWithCount(2 ** 31 - 1);
  for (const bad of [0, -1]) {
    await assert.rejects(insertWithCount(bad), (err: { code?: string; constraint?: string }) => {
      assert.equal(err.code, '23514', 'check_violation');
      assert.equal(err.constraint, 'contributions_example_count_bound');
      return true;
    });
  }
  // Beyond the int column: Postgres refuses it as out of range (the aggregator never sends one).
  await assert.rejects(insertWithCount(3e9), (err: { code?: string }) => err.code === '22003');
});
