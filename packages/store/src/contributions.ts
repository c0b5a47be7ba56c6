import type pg from 'pg';
import type { Db, Queryable } from './db.js';

export interface ContributionRow {
  id: number;
  plan_id: string;
  round: number;
  member: string;
  attestation: string;
  attestation_digest: string;
  update_digest: string;
  base_model_digest: string;
  example_count: number;
  bytes: number;
  receipt: string;
  received_at: Date;
}

export type NewContribution = Omit<ContributionRow, 'id' | 'received_at'>;

/** Stores an accepted contribution and its payload in the caller's transaction. */
export async function insertContribution(
  client: pg.PoolClient,
  c: NewContribution,
  chunks: Uint8Array[],
): Promise<number> {
  const { rows } = await client.query<{ id: string }>(
    `INSERT INTO contributions (plan_id, round, member, attestation, attestation_digest, update_digest, base_model_digest,
       example_count, bytes, receipt)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10) RETURNING id`,
    [
      c.plan_id,
      c.round,
      c.member,
      c.attestation,
      c.attestation_digest,
      c.update_digest,
      c.base_model_digest,
      c.example_count,
      c.bytes,
      c.receipt,
    ],
  );
  const id = Number(rows[0]!.id);
  // One multi-row insert per batch keeps round trips low for large updates.
  const batch = 64;
  for (let start = 0; start < chunks.length; start += batch) {
    const part = chunks.slice(start, start + batch);
    const values: unknown[] = [];
    const tuples = part.map((chunk, i) => {
      values.push(id, start + i, Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      return `($${values.length - 2}, $${values.length - 1}, $${values.length})`;
    });
    await client.query(
      `INSERT INTO contribution_chunks (contribution_id, idx, data) VALUES ${tuples.join(',')}`,
      values,
    );
  }
  return id;
}

export async function countContributions(db: Queryable, planId: string, round: number): Promise<number> {
  const { rows } = await db.query<{ n: string }>(
    'SELECT count(*) AS n FROM contributions WHERE plan_id = $1 AND round = $2',
    [planId, round],
  );
  return Number(rows[0]!.n);
}

/** Accepted contributions per round of a plan. */
export async function countContributionsByRound(db: Queryable, planId: string): Promise<Map<number, number>> {
  const { rows } = await db.query<{ round: number; n: string }>(
    'SELECT round, count(*) AS n FROM contributions WHERE plan_id = $1 GROUP BY round',
    [planId],
  );
  return new Map(rows.map((r) => [r.round, Number(r.n)]));
}

export async function hasContribution(
  db: Queryable,
  planId: string,
  round: number,
  member: string,
): Promise<boolean> {
  const { rows } = await db.query(
    'SELECT 1 FROM contributions WHERE plan_id = $1 AND round = $2 AND member = $3',
    [planId, round, member],
  );
  return rows.length > 0;
}

export async function listContributions(
  db: Queryable,
  planId: string,
  round: number,
): Promise<ContributionRow[]> {
  const { rows } = await db.query<ContributionRow>(
    'SELECT * FROM contributions WHERE plan_id = $1 AND round = $2 ORDER BY id',
    [planId, round],
  );
  return rows.map((r) => ({ ...r, id: Number(r.id), bytes: Number(r.bytes) }));
}

export async function loadContributionChunks(db: Db, contributionId: number): Promise<Uint8Array[]> {
  const { rows } = await db.query<{ data: Buffer }>(
    'SELECT data FROM contribution_chunks WHERE contribution_id = $1 ORDER BY idx',
    [contributionId],
  );
  return rows.map((r) => new Uint8Array(r.data.buffer, r.data.byteOffset, r.data.byteLength));
}

/** Payloads are only needed until the aggregate is published; digests and attestations stay for audit. */
export async function deleteRoundPayloads(db: Queryable, planId: string, round: number): Promise<void> {
  await db.query(
    `DELETE FROM contribution_chunks WHERE contribution_id IN (SELECT id FROM contributions WHERE plan_id = $1 AND round = $2)`,
    [planId, round],
  );
}

export async function storeAggregate(
  client: pg.PoolClient,
  planId: string,
  round: number,
  chunks: Uint8Array[],
): Promise<void> {
  await client.query('DELETE FROM aggregates WHERE plan_id = $1 AND round = $2', [planId, round]);
  for (let i = 0; i < chunks.length; i++) {
    const c = chunks[i]!;
    await client.query('INSERT INTO aggregates (plan_id, round, idx, data) VALUES ($1, $2, $3, $4)', [
      planId,
      round,
      i,
      Buffer.from(c.buffer, c.byteOffset, c.byteLength),
    ]);
  }
}

export async function loadAggregate(db: Db, planId: string, round: number): Promise<Uint8Array[]> {
  const { rows } = await db.query<{ data: Buffer }>(
    'SELECT data FROM aggregates WHERE plan_id = $1 AND round = $2 ORDER BY idx',
    [planId, round],
  );
  return rows.map((r) => new Uint8Array(r.data.buffer, r.data.byteOffset, r.data.byteLength));
}
