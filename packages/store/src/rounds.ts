import type { Db, Queryable } from './db.js';

/** The states a round and a plan can be in; round-machine.ts says which moves between them are legal. */
export const ROUND_STATES = [
  'advertising',
  'sharing',
  'open',
  'collecting',
  'unmasking',
  'aggregating',
  'published',
  'failed',
] as const;
export type RoundState = (typeof ROUND_STATES)[number];
const PLAN_STATES = ['running', 'done', 'cancelled', 'failed'] as const;
export type PlanState = (typeof PLAN_STATES)[number];

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
  mode: 'he' | 'plain' | 'secure';
  he_params: string;
  model: string;
  parameter_count: number;
  slot_count: number;
  chunk_count: number;
  training: TrainingSettings;
  seed: number;
  /** Digest of the initial global model (round 0), recorded at scheduling; null only on plans from before it was. */
  initial_model_digest: string | null;
  /** L2 bound on each participant's update and on the decrypted mean update; 0 = none. */
  max_update_norm: number;
  /** Secure mode: how long each key-exchange phase (advertise, share, unmask) may take. */
  phase_seconds: number;
  start_at: Date;
  created_at: Date;
  finished_at: Date | null;
}

export type NewPlan = Omit<
  PlanRow,
  | 'state'
  | 'created_at'
  | 'finished_at'
  | 'start_at'
  | 'seen_within_seconds'
  | 'initial_model_digest'
  | 'max_update_norm'
  | 'phase_seconds'
> & {
  start_at?: Date;
  seen_within_seconds?: number;
  /** Round 0's digest: the model every participant starts from (required: nothing else decides it). */
  initial_model_digest: string;
  max_update_norm?: number;
  phase_seconds?: number;
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
  /** The HE key epoch the round runs under (null: plain mode, or opened before epochs existed). */
  key_epoch: number | null;
  /** Secure rounds: the deadline of the key-exchange phase the round is in (null otherwise). */
  phase_deadline_at: Date | null;
  /** Secure rounds: who advertised round keys (fixed when sharing starts). */
  advertised: string[] | null;
  /** Secure rounds: who shared (fixed when the submit phase starts): whose masks count. */
  shared: string[] | null;
  /** Secure rounds: who submitted and who dropped out after sharing (fixed when unmasking starts). */
  survivors: string[] | null;
  dropouts: string[] | null;
  /** The coordinator's signed announcement of survivors and dropouts (compact JWS). */
  unmask_announcement: string | null;
  secagg_degree: number | null;
  secagg_threshold: number | null;
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
export async function activePlan(db: Queryable, federation: string): Promise<PlanRow | undefined> {
  const { rows } = await db.query<PlanRow>(
    `SELECT * FROM plans WHERE federation = $1 ORDER BY (state = 'running') DESC, created_at DESC LIMIT 1`,
    [federation],
  );
  return rows[0] ? normalizePlan(rows[0]) : undefined;
}

/** pg returns bigint columns as strings. */
export function normalizePlan(p: PlanRow): PlanRow {
  return { ...p, parameter_count: Number(p.parameter_count) };
}

export async function getRound(db: Queryable, planId: string, round: number): Promise<RoundRow | undefined> {
  const { rows } = await db.query<RoundRow>('SELECT * FROM rounds WHERE plan_id = $1 AND round = $2', [
    planId,
    round,
  ]);
  return rows[0];
}

export async function listRounds(db: Queryable, planId: string): Promise<RoundRow[]> {
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

/** How many rounds are in each state, over every plan of this schema (the rounds gauge). */
export async function countRoundsByState(db: Queryable): Promise<Record<RoundState, number>> {
  const { rows } = await db.query<{ state: RoundState; n: string }>(
    'SELECT state, count(*) AS n FROM rounds GROUP BY state',
  );
  return Object.fromEntries(
    ROUND_STATES.map((state) => [state, Number(rows.find((r) => r.state === state)?.n ?? 0)]),
  ) as Record<RoundState, number>;
}

export async function getModelDigest(
  db: Queryable,
  planId: string,
  round: number,
): Promise<string | undefined> {
  const { rows } = await db.query<{ digest: string }>(
    'SELECT digest FROM model_digests WHERE plan_id = $1 AND round = $2',
    [planId, round],
  );
  return rows[0]?.digest;
}
