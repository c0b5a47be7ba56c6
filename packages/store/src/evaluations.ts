import type { Db, Queryable } from './db.js';

export interface EvaluationRow {
  plan_id: string;
  round: number;
  member: string;
  model_digest: string;
  accuracy: number;
  loss: number;
  examples: number;
  reported_at: Date;
}

export async function putEvaluation(db: Db, e: Omit<EvaluationRow, 'reported_at'>): Promise<void> {
  await db.query(
    `INSERT INTO evaluations (plan_id, round, member, model_digest, accuracy, loss, examples) VALUES ($1,$2,$3,$4,$5,$6,$7)
     ON CONFLICT (plan_id, round, member) DO UPDATE SET model_digest = EXCLUDED.model_digest, accuracy = EXCLUDED.accuracy,
       loss = EXCLUDED.loss, examples = EXCLUDED.examples, reported_at = now()`,
    [e.plan_id, e.round, e.member, e.model_digest, e.accuracy, e.loss, e.examples],
  );
}

/** Example-weighted mean accuracy and loss per round, over the members that reported. */
export async function roundEvaluations(
  db: Db,
  planId: string,
): Promise<{ round: number; accuracy: number; loss: number; reports: number }[]> {
  const { rows } = await db.query<{ round: number; accuracy: number; loss: number; reports: string }>(
    `SELECT round, sum(accuracy * examples) / NULLIF(sum(examples), 0) AS accuracy,
            sum(loss * examples) / NULLIF(sum(examples), 0) AS loss, count(*) AS reports
     FROM evaluations WHERE plan_id = $1 GROUP BY round ORDER BY round`,
    [planId],
  );
  return rows.map((r) => ({
    round: r.round,
    accuracy: Number(r.accuracy),
    loss: Number(r.loss),
    reports: Number(r.reports),
  }));
}

export interface CertificateRow {
  certificate: unknown;
  signers: string[];
}

/**
 * Stores a round's first certificate; false when the round has one already (another closer, or a
 * retry, signed it first). Run it in the transaction that audits certificate.signed.
 */
export async function insertCertificate(
  q: Queryable,
  planId: string,
  round: number,
  c: CertificateRow,
): Promise<boolean> {
  const r = await q.query(
    `INSERT INTO certificates (plan_id, round, certificate, signers) VALUES ($1, $2, $3, $4)
     ON CONFLICT (plan_id, round) DO NOTHING`,
    [planId, round, JSON.stringify(c.certificate), c.signers],
  );
  return (r.rowCount ?? 0) > 0;
}

/** Replaces a certificate (more signatures); lock it first with getCertificate(..., { lock: true }). */
export async function updateCertificate(q: Queryable, planId: string, round: number, c: CertificateRow) {
  await q.query('UPDATE certificates SET certificate = $3, signers = $4 WHERE plan_id = $1 AND round = $2', [
    planId,
    round,
    JSON.stringify(c.certificate),
    c.signers,
  ]);
}

/** A round's certificate; `lock` (inside a transaction) holds it until commit, for read-merge-write. */
export async function getCertificate(
  q: Queryable,
  planId: string,
  round: number,
  opts: { lock?: boolean } = {},
): Promise<CertificateRow | undefined> {
  const { rows } = await q.query<CertificateRow>(
    `SELECT certificate, signers FROM certificates WHERE plan_id = $1 AND round = $2${opts.lock ? ' FOR UPDATE' : ''}`,
    [planId, round],
  );
  return rows[0];
}
