import type { Queryable } from './db.js';

/**
 * Read-only figures for reports (`kpfl demo`'s summary, `kpfl bench`'s storage table). Nothing here
 * is on a round's path.
 */

export interface PlanSummary {
  /** The agreed global-model digest of the plan's latest round (round 0 = the initial model); undefined when none. */
  globalModelDigest?: string;
  /** Mean size in bytes of the plan's accepted contributions; undefined when there are none. */
  meanContributionBytes?: number;
}

export async function planSummary(db: Queryable, planId: string): Promise<PlanSummary> {
  const { rows } = await db.query<{ digest: string | null; bytes: string | null }>(
    `SELECT (SELECT digest FROM model_digests WHERE plan_id = $1 ORDER BY round DESC LIMIT 1) AS digest,
            (SELECT avg(bytes) FROM contributions WHERE plan_id = $1) AS bytes`,
    [planId],
  );
  const r = rows[0]!;
  return {
    ...(r.digest !== null ? { globalModelDigest: r.digest } : {}),
    ...(r.bytes !== null ? { meanContributionBytes: Number(r.bytes) } : {}),
  };
}

export interface StorageFigures {
  contributions: number;
  chunkRows: number;
  /** Bytes of stored contribution payloads (chunks not yet deleted after publication). */
  chunkPayload: number;
  aggregateRows: number;
  aggregatePayload: number;
  /** pg_total_relation_size of each table (heap, TOAST and indexes). */
  relationBytes: { contributions: number; contribution_chunks: number; aggregates: number };
}

/** What the payload tables of this schema hold and occupy. */
export async function storageFigures(db: Queryable): Promise<StorageFigures> {
  const { rows } = await db.query<Record<string, string>>(
    `SELECT (SELECT count(*) FROM contributions) AS contributions,
            (SELECT count(*) FROM contribution_chunks) AS chunk_rows,
            (SELECT coalesce(sum(octet_length(data)), 0) FROM contribution_chunks) AS chunk_payload,
            (SELECT count(*) FROM aggregates) AS aggregate_rows,
            (SELECT coalesce(sum(octet_length(data)), 0) FROM aggregates) AS aggregate_payload,
            pg_total_relation_size('contributions') AS c,
            pg_total_relation_size('contribution_chunks') AS ch,
            pg_total_relation_size('aggregates') AS ag`,
  );
  const r = rows[0]!;
  return {
    contributions: Number(r.contributions),
    chunkRows: Number(r.chunk_rows),
    chunkPayload: Number(r.chunk_payload),
    aggregateRows: Number(r.aggregate_rows),
    aggregatePayload: Number(r.aggregate_payload),
    relationBytes: {
      contributions: Number(r.c),
      contribution_chunks: Number(r.ch),
      aggregates: Number(r.ag),
    },
  };
}
