/**
 * The round state machine: the one place where plans and rounds change state.
 *
 * Every write to the `plans` and `rounds` rows is in this module (a test greps the sources for any
 * other). Each change locks the rows it touches, refuses an illegal move with a RoundStateError,
 * updates the row and appends its audit event, all in the caller's transaction, so a change and
 * its evidence commit or roll back together.
 *
 * Lock order, everywhere: the plan row, then the round row, then the audit chain (appendAudit,
 * always last). Two transactions that follow it never deadlock; ADR 0006 says why it matters.
 */
import { KpflError } from '@kpfl/common';
import type pg from 'pg';
import { type AuditEvent, appendAudit } from './audit.js';
import type { Db } from './db.js';
import type { NewPlan, PlanRow, PlanState, RoundRow, RoundState } from './rounds.js';
import { normalizePlan } from './rounds.js';

/** A client inside an open transaction (from `db.tx`). */
export type Tx = pg.PoolClient;

export type RoundStateErrorCode = 'ILLEGAL_TRANSITION' | 'NO_SUCH_PLAN' | 'NO_SUCH_ROUND';

/** A move the state machine does not allow, or a plan or round that does not exist. */
export class RoundStateError extends KpflError<RoundStateErrorCode> {}

/**
 * Every legal move of a round and the audit event that records it. `from: null` is the round's
 * creation. A round accepts updates while open or collecting; published and failed are final.
 */
export const ROUND_TRANSITIONS: readonly {
  from: RoundState | null;
  to: RoundState;
  event: AuditEvent;
}[] = [
  { from: null, to: 'open', event: 'round.opened' },
  { from: 'open', to: 'collecting', event: 'round.collecting' },
  { from: 'collecting', to: 'aggregating', event: 'round.closed' },
  { from: 'open', to: 'failed', event: 'round.failed' },
  { from: 'collecting', to: 'failed', event: 'round.failed' },
  { from: 'aggregating', to: 'published', event: 'round.published' },
];

/** Every legal move of a plan and its audit event. A plan finishes once: done, cancelled or failed. */
export const PLAN_TRANSITIONS: readonly {
  from: PlanState | null;
  to: PlanState;
  event: AuditEvent;
}[] = [
  { from: null, to: 'running', event: 'plan.scheduled' },
  { from: 'running', to: 'done', event: 'plan.done' },
  { from: 'running', to: 'cancelled', event: 'plan.cancelled' },
  { from: 'running', to: 'failed', event: 'plan.failed' },
];

/** Open and collecting rounds accept updates (before their deadline). */
export const isAccepting = (state: RoundState): boolean => state === 'open' || state === 'collecting';
/** Published and failed rounds are over: participants apply them (a failed one leaves the model as is). */
export const isFinished = (state: RoundState): boolean => state === 'published' || state === 'failed';

function roundEvent(from: RoundState | null, to: RoundState, where: string): AuditEvent {
  const t = ROUND_TRANSITIONS.find((x) => x.from === from && x.to === to);
  if (!t) {
    throw new RoundStateError(
      'ILLEGAL_TRANSITION',
      `${where} cannot go from ${from ?? 'nothing'} to ${to} (legal from ${from ?? 'nothing'}: ${
        ROUND_TRANSITIONS.filter((x) => x.from === from)
          .map((x) => x.to)
          .join(', ') || 'none, it is final'
      })`,
    );
  }
  return t.event;
}

function planEvent(from: PlanState | null, to: PlanState, planId: string): AuditEvent {
  const t = PLAN_TRANSITIONS.find((x) => x.from === from && x.to === to);
  if (!t) {
    throw new RoundStateError(
      'ILLEGAL_TRANSITION',
      from === null ? `plan ${planId} cannot start ${to}` : `plan ${planId} is already ${from}`,
    );
  }
  return t.event;
}

/**
 * Locks a plan and one of its rounds, in the lock order, and returns both rows as they are now.
 * Call it first in any transaction that decides from a round's state.
 */
export async function lockRound(
  tx: Tx,
  planId: string,
  round: number,
): Promise<{ plan: PlanRow; round: RoundRow | undefined }> {
  const plan = await lockPlan(tx, planId);
  const { rows } = await tx.query<RoundRow>(
    'SELECT * FROM rounds WHERE plan_id = $1 AND round = $2 FOR UPDATE',
    [planId, round],
  );
  return { plan, round: rows[0] };
}

/** Locks a plan row (first in the lock order) and returns it as it is now. */
export async function lockPlan(tx: Tx, planId: string): Promise<PlanRow> {
  const { rows } = await tx.query<PlanRow>('SELECT * FROM plans WHERE id = $1 FOR UPDATE', [planId]);
  if (!rows[0]) throw new RoundStateError('NO_SUCH_PLAN', `there is no plan "${planId}"`);
  return normalizePlan(rows[0]);
}

/**
 * Stores a plan, audited as plan.scheduled with its parameters. Idempotent: a plan with this id
 * that exists is returned unchanged, with `created: false` and no second audit row.
 */
export async function createPlan(
  db: Db,
  p: NewPlan,
  actor: string,
): Promise<{ plan: PlanRow; created: boolean }> {
  return db.tx(async (tx) => {
    const { rows } = await tx.query<PlanRow>(
      `INSERT INTO plans (id, federation, total_rounds, min_participants, fraction, deadline_seconds, on_round_failure,
         mode, he_params, model, parameter_count, slot_count, chunk_count, training, seed, start_at, seen_within_seconds)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,COALESCE($16, now()),COALESCE($17, 600))
       ON CONFLICT (id) DO NOTHING RETURNING *`,
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
    if (!rows[0]) {
      const existing = await tx.query<PlanRow>('SELECT * FROM plans WHERE id = $1', [p.id]);
      return { plan: normalizePlan(existing.rows[0]!), created: false };
    }
    const plan = normalizePlan(rows[0]);
    await appendAudit(tx, {
      federation: plan.federation,
      event: planEvent(null, 'running', plan.id),
      planId: plan.id,
      actor,
      data: {
        rounds: plan.total_rounds,
        minParticipants: plan.min_participants,
        fraction: plan.fraction,
        deadlineSeconds: plan.deadline_seconds,
        seenWithinSeconds: plan.seen_within_seconds,
        onRoundFailure: plan.on_round_failure,
        mode: plan.mode,
        heParams: plan.he_params,
        model: plan.model,
        parameterCount: plan.parameter_count,
        training: plan.training,
        seed: plan.seed,
        startAt: plan.start_at.toISOString(),
      },
    });
    return { plan, created: true };
  });
}

/** Ends a running plan (done, cancelled or failed), audited; refuses a plan that already ended. */
export async function finishPlan(
  tx: Tx,
  planId: string,
  to: Exclude<PlanState, 'running'>,
  actor: string,
  data: Record<string, unknown> = {},
): Promise<PlanRow> {
  const plan = await lockPlan(tx, planId);
  const event = planEvent(plan.state, to, planId);
  const { rows } = await tx.query<PlanRow>(
    'UPDATE plans SET state = $2, finished_at = now() WHERE id = $1 RETURNING *',
    [planId, to],
  );
  await appendAudit(tx, { federation: plan.federation, event, planId, actor, data });
  return normalizePlan(rows[0]!);
}

export interface NewRound {
  planId: string;
  round: number;
  sampled: string[];
  quorum: number;
  minParticipants: number;
  samplingSeed: string;
  deadlineAt: Date;
}

/**
 * Opens a round, audited as round.opened. Idempotent (a retried job): an existing round is returned
 * with `created: false`. Refused unless the plan is running, the round is within the plan and the
 * previous round is over. The base model is the consortium's digest after the previous round.
 */
export async function openRound(
  tx: Tx,
  r: NewRound,
  actor: string,
): Promise<{ round: RoundRow; created: boolean }> {
  const { plan, round: existing } = await lockRound(tx, r.planId, r.round);
  if (existing) return { round: existing, created: false };
  const where = `round ${r.round} of plan ${r.planId}`;
  if (plan.state !== 'running')
    throw new RoundStateError('ILLEGAL_TRANSITION', `${where} cannot open: the plan is ${plan.state}`);
  if (r.round < 1 || r.round > plan.total_rounds) {
    throw new RoundStateError(
      'ILLEGAL_TRANSITION',
      `${where} cannot open: the plan has rounds 1..${plan.total_rounds}`,
    );
  }
  if (r.round > 1) {
    const prev = await tx.query<{ state: RoundState }>(
      'SELECT state FROM rounds WHERE plan_id = $1 AND round = $2',
      [r.planId, r.round - 1],
    );
    const state = prev.rows[0]?.state;
    if (!state || !isFinished(state)) {
      throw new RoundStateError(
        'ILLEGAL_TRANSITION',
        `${where} cannot open: round ${r.round - 1} is ${state ?? 'not opened yet'}`,
      );
    }
  }
  const event = roundEvent(null, 'open', where);
  const { rows } = await tx.query<RoundRow>(
    `INSERT INTO rounds (plan_id, round, state, sampled, quorum, min_participants, sampling_seed, deadline_at, base_model_digest)
     VALUES ($1, $2, 'open', $3, $4, $5, $6, $7,
             (SELECT digest FROM model_digests WHERE plan_id = $1 AND round = $2 - 1))
     RETURNING *`,
    [r.planId, r.round, r.sampled, r.quorum, r.minParticipants, r.samplingSeed, r.deadlineAt],
  );
  const round = rows[0]!;
  await appendAudit(tx, {
    federation: plan.federation,
    event,
    planId: r.planId,
    round: r.round,
    actor,
    data: {
      sampled: round.sampled,
      quorum: round.quorum,
      minParticipants: round.min_participants,
      samplingSeed: round.sampling_seed,
      deadlineAt: round.deadline_at.toISOString(),
      baseModelDigest: round.base_model_digest,
    },
  });
  return { round, created: true };
}

/** A move of an existing round, with what the move records. */
export type RoundChange =
  | { to: 'collecting'; firstMember: string }
  | { to: 'aggregating'; why: 'quorum' | 'deadline'; contributions: number }
  | { to: 'failed'; reason: string; contributions: number }
  | { to: 'published'; aggregateDigest: string; contributions: number };

export interface TransitionResult {
  round: RoundRow;
  /** Set when this move ended the plan too (its last round ended, or a failure stopped it). */
  planFinished?: Exclude<PlanState, 'running'>;
}

/**
 * Moves a round, in the caller's transaction: locks plan and round, refuses an illegal move
 * (RoundStateError ILLEGAL_TRANSITION, nothing changed), updates the row and appends the audit
 * event. A failed round carries the previous global model over (participants keep it), and a
 * round that ends a plan (its last round, or a failure under on_round_failure = stop) finishes
 * the plan in the same transaction.
 */
export async function transitionRound(
  tx: Tx,
  planId: string,
  roundNo: number,
  change: RoundChange,
  actor: string,
): Promise<TransitionResult> {
  const { plan, round: current } = await lockRound(tx, planId, roundNo);
  const where = `round ${roundNo} of plan ${planId}`;
  if (!current) throw new RoundStateError('NO_SUCH_ROUND', `${where} does not exist`);
  const event = roundEvent(current.state, change.to, where);
  const { rows } = await tx.query<RoundRow>(
    `UPDATE rounds SET state = $3,
       closed_at = CASE WHEN $3 IN ('aggregating', 'failed') THEN COALESCE(closed_at, now()) ELSE closed_at END,
       published_at = CASE WHEN $3 = 'published' THEN now() ELSE published_at END,
       failure_reason = COALESCE($4, failure_reason),
       aggregate_digest = COALESCE($5, aggregate_digest),
       contributions = COALESCE($6, contributions)
     WHERE plan_id = $1 AND round = $2 RETURNING *`,
    [
      planId,
      roundNo,
      change.to,
      change.to === 'failed' ? change.reason : null,
      change.to === 'published' ? change.aggregateDigest : null,
      change.to === 'published' ? change.contributions : null,
    ],
  );
  if (change.to === 'failed') {
    // Nothing was aggregated: the global model after this round is the one before it.
    await tx.query(
      `INSERT INTO model_digests (plan_id, round, digest, reported_by)
       SELECT plan_id, $2, digest, 'carried-over' FROM model_digests WHERE plan_id = $1 AND round = $2 - 1
       ON CONFLICT DO NOTHING`,
      [planId, roundNo],
    );
  }
  const { to: _to, ...data } = change;
  await appendAudit(tx, { federation: plan.federation, event, planId, round: roundNo, actor, data });
  const result: TransitionResult = { round: rows[0]! };
  if ((change.to === 'published' || change.to === 'failed') && plan.state === 'running') {
    const stop = change.to === 'failed' && plan.on_round_failure === 'stop';
    if (stop || roundNo >= plan.total_rounds) {
      const to = stop ? 'failed' : 'done';
      await finishPlan(tx, planId, to, actor, { round: roundNo });
      result.planFinished = to;
    }
  }
  return result;
}

/**
 * Records the consortium's digest of the global model after `round` (the first report wins) and
 * fills it in as the base of the next round if that round is already open. Returns the agreed digest.
 */
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

/** Work a plan needs done next; the aggregator turns each into a queue job with a deterministic id. */
export type RoundJob =
  | { kind: 'open'; planId: string; round: number; notBefore?: Date }
  | { kind: 'deadline'; planId: string; round: number; notBefore: Date }
  | { kind: 'close'; planId: string; round: number };

/**
 * What a plan needs next, from its latest round and that round's accepted count: the engine
 * schedules exactly this after every step, and the reconciler restores exactly this after a loss.
 */
export function nextJobs(plan: PlanRow, latest: RoundRow | undefined, accepted: number): RoundJob[] {
  if (plan.state !== 'running') return [];
  if (!latest) return [{ kind: 'open', planId: plan.id, round: 1, notBefore: plan.start_at }];
  const key = { planId: plan.id, round: latest.round };
  if (isAccepting(latest.state)) {
    const deadline: RoundJob = { kind: 'deadline', ...key, notBefore: latest.deadline_at };
    // A round nobody was sampled for (quorum 0) waits for its deadline rather than failing at once.
    return latest.quorum > 0 && accepted >= latest.quorum
      ? [deadline, { kind: 'close', ...key }]
      : [deadline];
  }
  if (latest.state === 'aggregating') return [{ kind: 'close', ...key }];
  // Published or failed, and the plan still runs (a final round would have finished it).
  return [{ kind: 'open', planId: plan.id, round: latest.round + 1 }];
}
