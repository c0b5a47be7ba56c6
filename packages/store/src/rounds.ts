import type { Db, Queryable } from './db.js';

export type RoundState = 'open' | 'collecting' | 'aggregating' | 'published' | 'failed';
export type PlanState = 'running' | 'done' | 'cancelled' | 'failed';

export interface TrainingSettings {
  model: string;
  localEpochs: number;
  batchSize: number;
  learningRate: number;
  proxMu: number;
  serverOptimizer: string;
  maxExamples: number;
}

export interface PlanRow {
  id: string;
  federation: string;
  state: PlanState;
  total_rounds: number;
  min_participants: number;
  fraction: number;
  deadline_seconds: number;
  seen_within_seconds: number;
  on_round_failure: 'continue' | 'stop';
  mode: 'he' | 'plain';
  he_params: string;
  model: string;
  parameter_count: number;
  slot_count: number;
  chunk_count: number;
  training: TrainingSettings;
  seed: number;
  start_at: Date;
  created_at: Date;
  finished_at: Date | null;
}

export type NewPlan = Omit<
  PlanRow,
  'state' | 'created_at' | 'finished_at' | 'start_at' | 'seen_within_seconds'
> & {
  start_at?: Date;
  seen_within_seconds?: number;
};

export interface RoundRow {
  plan_id: string;
  round: number;
  state: RoundState;
  sampled: string[];
  quorum: number;
  min_participants: number;
  sampling_seed: string;
  base_model_digest: string | null;
  opened_at: Date;
  deadline_at: Date;
  closed_at: Date | null;
  published_at: Date | null;
  aggregate_digest: string | null;
  contributions: number;
  failure_reason: string | null;
}

/** Creates the plan unless one with this id exists; returns the stored plan either way (idempotent). */
export async function createPlan(db: Db, p: NewPlan): Promise<PlanRow> {
  await db.query(
    `INSERT INTO plans (id, federation, total_rounds, min_participants, fraction, deadline_seconds, on_round_failure,
       mode, he_params, model, parameter_count, slot_count, chunk_count, training, seed, start_at, seen_within_seconds)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,COALESCE($16, now()),COALESCE($17, 600))
     ON CONFLICT (id) DO NOTHING`,
    [
      p.id,
      p.federation,
      p.total_rounds,
      p.min_participants,
      p.fraction,
      p.deadline_seconds,
      p.on_round_failure,
      p.mode,
      p.he_params,
      p.model,
      p.parameter_count,
      p.slot_count,
      p.chunk_count,
      JSON.stringify(p.training),
      p.seed,
      p.start_at ?? null,
      p.seen_within_seconds ?? null,
    ],
  );
  return (await getPlan(db, p.id))!;
}

export async function getPlan(db: Queryable, id: string): Promise<PlanRow | undefined> {
  const { rows } = await db.query<PlanRow>('SELECT * FROM plans WHERE id = $1', [id]);
  return rows[0] ? normalizePlan(rows[0]) : undefined;
}

export async function listPlans(db: Db, federation?: string): Promise<PlanRow[]> {
  const { rows } = await db.query<PlanRow>(
    'SELECT * FROM plans WHERE ($1::text IS NULL OR federation = $1) ORDER BY created_at',
    [federation ?? null],
  );
  return rows.map(normalizePlan);
}

/** The most recently created running plan of a federation: the one participants work on. */
export async function activePlan(db: Db, federation: string): Promise<PlanRow | undefined> {
  const { rows } = await db.query<PlanRow>(
    `SELECT * FROM plans WHERE federation = $1 ORDER BY (state = 'running') DESC, created_at DESC LIMIT 1`,
    [federation],
  );
  return rows[0] ? normalizePlan(rows[0]) : undefined;
}

export async function finishPlan(
  db: Queryable,
  id: string,
  state: Exclude<PlanState, 'running'>,
): Promise<boolean> {
  const r = await db.query(
    `UPDATE plans SET state = $2, finished_at = now() WHERE id = $1 AND state = 'running'`,
    [id, state],
  );
  return (r.rowCount ?? 0) > 0;
}

function normalizePlan(p: PlanRow): PlanRow {
  return { ...p, parameter_count: Number(p.parameter_count) };
}

/** Opens a round unless it exists; returns [row, created]. Deterministic job ids retry this safely. */
export async function openRound(
  db: Db,
  r: Pick<
    RoundRow,
    'plan_id' | 'round' | 'sampled' | 'quorum' | 'min_participants' | 'sampling_seed' | 'deadline_at'
  >,
): Promise<[RoundRow, boolean]> {
  const ins = await db.query<RoundRow>(
    `INSERT INTO rounds (plan_id, round, state, sampled, quorum, min_participants, sampling_seed, deadline_at, base_model_digest)
     VALUES ($1, $2, 'open', $3, $4, $5, $6, $7,
             (SELECT digest FROM model_digests WHERE plan_id = $1 AND round = $2 - 1))
     ON CONFLICT (plan_id, round) DO NOTHING RETURNING *`,
    [r.plan_id, r.round, r.sampled, r.quorum, r.min_participants, r.sampling_seed, r.deadline_at],
  );
  if (ins.rows[0]) return [ins.rows[0], true];
  return [(await getRound(db, r.plan_id, r.round))!, false];
}

export async function getRound(
  db: Queryable,
  planId: string,
  round: number,
  forUpdate = false,
): Promise<RoundRow | undefined> {
  const { rows } = await db.query<RoundRow>(
    `SELECT * FROM rounds WHERE plan_id = $1 AND round = $2${forUpdate ? ' FOR UPDATE' : ''}`,
    [planId, round],
  );
  return rows[0];
}

export async function listRounds(db: Db, planId: string): Promise<RoundRow[]> {
  const { rows } = await db.query<RoundRow>('SELECT * FROM rounds WHERE plan_id = $1 ORDER BY round', [
    planId,
  ]);
  return rows;
}

export async function latestRound(db: Queryable, planId: string): Promise<RoundRow | undefined> {
  const { rows } = await db.query<RoundRow>(
    'SELECT * FROM rounds WHERE plan_id = $1 ORDER BY round DESC LIMIT 1',
    [planId],
  );
  return rows[0];
}

export async function latestPublishedRound(db: Queryable, planId: string): Promise<number> {
  const { rows } = await db.query<{ r: number | null }>(
    `SELECT max(round) AS r FROM rounds WHERE plan_id = $1 AND state = 'published'`,
    [planId],
  );
  return rows[0]?.r ?? 0;
}

/** Moves a round from one of `from` to `to`; false when it was not in `from` (someone else moved it). */
export async function transitionRound(
  db: Queryable,
  planId: string,
  round: number,
  from: RoundState[],
  to: RoundState,
  extra: { failureReason?: string; aggregateDigest?: string; contributions?: number } = {},
): Promise<boolean> {
  const r = await db.query(
    `UPDATE rounds SET state = $4,
       closed_at = CASE WHEN $4 IN ('aggregating', 'failed') THEN COALESCE(closed_at, now()) ELSE closed_at END,
       published_at = CASE WHEN $4 = 'published' THEN now() ELSE published_at END,
       failure_reason = COALESCE($5, failure_reason),
       aggregate_digest = COALESCE($6, aggregate_digest),
       contributions = COALESCE($7, contributions)
     WHERE plan_id = $1 AND round = $2 AND state = ANY($3)`,
    [
      planId,
      round,
      from,
      to,
      extra.failureReason ?? null,
      extra.aggregateDigest ?? null,
      extra.contributions ?? null,
    ],
  );
  return (r.rowCount ?? 0) > 0;
}

/** Records the consortium's digest of the global model after `round`; the first report wins. */
export async function recordModelDigest(
  db: Db,
  planId: string,
  round: number,
  digest: string,
  member: string,
): Promise<string> {
  await db.query(
    'INSERT INTO model_digests (plan_id, round, digest, reported_by) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING',
    [planId, round, digest, member],
  );
  // The next round may already be open without a base digest: fill it in.
  await db.query(
    `UPDATE rounds SET base_model_digest = (SELECT digest FROM model_digests WHERE plan_id = $1 AND round = $2)
     WHERE plan_id = $1 AND round = $2 + 1 AND base_model_digest IS NULL`,
    [planId, round],
  );
  const { rows } = await db.query<{ digest: string }>(
    'SELECT digest FROM model_digests WHERE plan_id = $1 AND round = $2',
    [planId, round],
  );
  return rows[0]!.digest;
}

export async function getModelDigest(db: Db, planId: string, round: number): Promise<string | undefined> {
  const { rows } = await db.query<{ digest: string }>(
    'SELECT digest FROM model_digests WHERE plan_id = $1 AND round = $2',
    [planId, round],
  );
  return rows[0]?.digest;
}
