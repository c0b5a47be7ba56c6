/**
 * What the participants of a secure round hand each other through the aggregator (ADR 0010): signed
 * advertisements of fresh round keys, Shamir-share envelopes encrypted to one neighbour, and the
 * signed unmask responses. Stored once, as received: the first of each stays, and none is changed.
 * The aggregator can open none of them but the unmask responses, which carry exactly the shares
 * that remove the masks of the round's sum and nothing more.
 */
import type { Queryable } from './db.js';
import type { Tx } from './round-machine.js';
import type { RoundRow } from './rounds.js';

export interface MaskAdvertisementRow {
  plan_id: string;
  round: number;
  member: string;
  advertisement: string;
  digest: string;
  mask_public_key: string;
  share_public_key: string;
}

/** Stores a member's advertisement for a round; false when it had one already (the first stays). */
export async function putAdvertisement(tx: Tx, a: MaskAdvertisementRow): Promise<boolean> {
  const { rowCount } = await tx.query(
    `INSERT INTO mask_advertisements (plan_id, round, member, advertisement, digest, mask_public_key, share_public_key)
     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
    [a.plan_id, a.round, a.member, a.advertisement, a.digest, a.mask_public_key, a.share_public_key],
  );
  return rowCount === 1;
}

/** A round's advertisements, by member id. */
export async function listAdvertisements(
  q: Queryable,
  planId: string,
  round: number,
): Promise<MaskAdvertisementRow[]> {
  const { rows } = await q.query<MaskAdvertisementRow>(
    'SELECT * FROM mask_advertisements WHERE plan_id = $1 AND round = $2 ORDER BY member',
    [planId, round],
  );
  return rows;
}

export async function getAdvertisement(
  q: Queryable,
  planId: string,
  round: number,
  member: string,
): Promise<MaskAdvertisementRow | undefined> {
  const { rows } = await q.query<MaskAdvertisementRow>(
    'SELECT * FROM mask_advertisements WHERE plan_id = $1 AND round = $2 AND member = $3',
    [planId, round, member],
  );
  return rows[0];
}

/** Stores a sender's envelopes (one per recipient); returns how many were new. */
export async function putShareEnvelopes(
  tx: Tx,
  planId: string,
  round: number,
  sender: string,
  envelopes: readonly { recipient: string; jwe: string }[],
): Promise<number> {
  let stored = 0;
  for (const e of envelopes) {
    const { rowCount } = await tx.query(
      `INSERT INTO share_envelopes (plan_id, round, sender, recipient, jwe) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT DO NOTHING`,
      [planId, round, sender, e.recipient, e.jwe],
    );
    stored += rowCount ?? 0;
  }
  return stored;
}

/** Whether `sender` has stored envelopes for the round already (a sender shares once). */
export async function hasShared(
  q: Queryable,
  planId: string,
  round: number,
  sender: string,
): Promise<boolean> {
  const { rows } = await q.query(
    'SELECT 1 FROM share_envelopes WHERE plan_id = $1 AND round = $2 AND sender = $3 LIMIT 1',
    [planId, round, sender],
  );
  return rows.length > 0;
}

/** Everyone who shared in a round, sorted. */
export async function listShareSenders(q: Queryable, planId: string, round: number): Promise<string[]> {
  const { rows } = await q.query<{ sender: string }>(
    'SELECT DISTINCT sender FROM share_envelopes WHERE plan_id = $1 AND round = $2 ORDER BY sender',
    [planId, round],
  );
  return rows.map((r) => r.sender);
}

/** The envelopes addressed to `recipient` in a round, by sender. */
export async function listShareEnvelopesFor(
  q: Queryable,
  planId: string,
  round: number,
  recipient: string,
): Promise<{ sender: string; jwe: string }[]> {
  const { rows } = await q.query<{ sender: string; jwe: string }>(
    'SELECT sender, jwe FROM share_envelopes WHERE plan_id = $1 AND round = $2 AND recipient = $3 ORDER BY sender',
    [planId, round, recipient],
  );
  return rows;
}

export interface UnmaskResponseRow {
  plan_id: string;
  round: number;
  member: string;
  response: string;
  digest: string;
}

/** Stores a member's unmask response; false when it had one already (the first stays). */
export async function putUnmaskResponse(tx: Tx, r: UnmaskResponseRow): Promise<boolean> {
  const { rowCount } = await tx.query(
    `INSERT INTO unmask_responses (plan_id, round, member, response, digest) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT DO NOTHING`,
    [r.plan_id, r.round, r.member, r.response, r.digest],
  );
  return rowCount === 1;
}

export async function listUnmaskResponses(
  q: Queryable,
  planId: string,
  round: number,
): Promise<UnmaskResponseRow[]> {
  const { rows } = await q.query<UnmaskResponseRow>(
    'SELECT * FROM unmask_responses WHERE plan_id = $1 AND round = $2 ORDER BY member',
    [planId, round],
  );
  return rows;
}

/**
 * How far a round's current phase got: advertisements while advertising, sharers while sharing,
 * responses while unmasking, accepted contributions otherwise (what nextJobs compares with
 * phaseExpected).
 */
export async function phaseProgress(q: Queryable, round: RoundRow): Promise<number> {
  const table =
    round.state === 'advertising'
      ? 'SELECT count(*) AS n FROM mask_advertisements WHERE plan_id = $1 AND round = $2'
      : round.state === 'sharing'
        ? 'SELECT count(DISTINCT sender) AS n FROM share_envelopes WHERE plan_id = $1 AND round = $2'
        : round.state === 'unmasking'
          ? 'SELECT count(*) AS n FROM unmask_responses WHERE plan_id = $1 AND round = $2'
          : 'SELECT count(*) AS n FROM contributions WHERE plan_id = $1 AND round = $2';
  const { rows } = await q.query<{ n: string }>(table, [round.plan_id, round.round]);
  return Number(rows[0]!.n);
}
