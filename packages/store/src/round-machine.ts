/**
 * The round state machine: the one place where plans and rounds change state.
 *
 * Every write to the `plans` and `rounds` rows is in this module (a test greps the sources for any
 * other). Each change locks the rows it touches, refuses an illegal move with a RoundStateError,
 * updates the row and appends its audit event, all in the caller's transaction, so a change and
 * its evidence commit or roll back together.
 *
 * Lock order, everywhere: the plan row, then round rows (ascending), then the round's certificate
 * row, then the audit chain (appendAudit, always last to be locked). Two transactions that follow it
 * never deadlock; ADR 0006 says why it matters.
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
 * creation. A round accepts updates while open or collecting; failed is final, and so is published
 * unless a majority of its contributors reject the aggregate they decrypted (published -> failed,
 * `round.rejected`: nothing of it is applied; ADR 0007).
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
  { from: 'published', to: 'failed', event: 'round.rejected' },
  // Secure rounds (ADR 0010): advertise and share round keys before the submit phase (open,
  // collecting), and unmask after it.
  { from: null, to: 'advertising', event: 'round.opened' },
  { from: 'advertising', to: 'sharing', event: 'round.sharing' },
  { from: 'sharing', to: 'open', event: 'round.submitting' },
  { from: 'collecting', to: 'unmasking', event: 'round.unmasking' },
  { from: 'unmasking', to: 'aggregating', event: 'round.closed' },
  { from: 'advertising', to: 'failed', event: 'round.failed' },
  { from: 'sharing', to: 'failed', event: 'round.failed' },
  { from: 'unmasking', to: 'failed', event: 'round.failed' },
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
/** The secure rounds' key-exchange phases: each has its own deadline (phase_deadline_at). */
export type SecurePhaseState = 'advertising' | 'sharing' | 'unmasking';
export const isSecurePhase = (state: RoundState): state is SecurePhaseState =>
  state === 'advertising' || state === 'sharing' || state === 'unmasking';
/**
 * Rounds still under way before aggregation (accepting, or in a key-exchange phase): what a
 * cancellation, a key rotation or a stopping plan fails.
 */
export const isUnderway = (state: RoundState): boolean => isAccepting(state) || isSecurePhase(state);
/** Plans whose rounds run under the consortium HE key (CKKS for he, BFV for secure). */
export const usesHeKey = (mode: PlanRow['mode']): boolean => mode !== 'plain';
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
         mode, he_params, model, parameter_count, slot_count, chunk_count, training, seed, start_at, seen_within_seconds,
         initial_model_digest, max_update_norm, phase_seconds)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,COALESCE($16, now()),COALESCE($17, 600),$18,COALESCE($19, 0),COALESCE($20, 60))
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
        p.initial_model_digest,
        p.max_update_norm ?? null,
        p.phase_seconds ?? null,
      ],
    );
    if (!rows[0]) {
      const existing = await tx.query<PlanRow>('SELECT * FROM plans WHERE id = $1', [p.id]);
      return { plan: normalizePlan(existing.rows[0]!), created: false };
    }
    const plan = normalizePlan(rows[0]);
    // Round 0 is the plan's: every participant starts from the seeded initial model it names.
    await tx.query(
      `INSERT INTO model_digests (plan_id, round, digest, reported_by) VALUES ($1, 0, $2, 'plan')`,
      [plan.id, p.initial_model_digest],
    );
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
        initialModelDigest: plan.initial_model_digest,
        maxUpdateNorm: plan.max_update_norm,
        ...(plan.mode === 'secure' ? { phaseSeconds: plan.phase_seconds } : {}),
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
  /** HE rounds: the federation's ready key epoch the round runs under (checked under its lock). */
  keyEpoch?: number;
  /** Secure rounds: when the advertise phase ends (they open in `advertising`). */
  phaseDeadlineAt?: Date;
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
  if (usesHeKey(plan.mode)) {
    // Lock order: plan, round, then the key epoch row (shared: a rotation waits for this open).
    const epoch = await tx.query<{ state: string }>(
      'SELECT state FROM key_epochs WHERE federation = $1 AND epoch = $2 FOR SHARE',
      [plan.federation, r.keyEpoch ?? 0],
    );
    if (epoch.rows[0]?.state !== 'ready') {
      throw new RoundStateError(
        'ILLEGAL_TRANSITION',
        `${where} cannot open: ${r.keyEpoch === undefined ? 'no HE key epoch is ready' : `HE key epoch ${r.keyEpoch} is ${epoch.rows[0]?.state ?? 'unknown'}`}`,
      );
    }
  }
  const secure = plan.mode === 'secure';
  if (secure && !r.phaseDeadlineAt)
    throw new RoundStateError(
      'ILLEGAL_TRANSITION',
      `${where} cannot open: a secure round needs a phase deadline`,
    );
  const state: RoundState = secure ? 'advertising' : 'open';
  const event = roundEvent(null, state, where);
  const { rows } = await tx.query<RoundRow>(
    `INSERT INTO rounds (plan_id, round, state, sampled, quorum, min_participants, sampling_seed, deadline_at, base_model_digest, key_epoch, phase_deadline_at)
     VALUES ($1, $2, $9, $3, $4, $5, $6, $7,
             (SELECT digest FROM model_digests WHERE plan_id = $1 AND round = $2 - 1), $8, $10)
     RETURNING *`,
    [
      r.planId,
      r.round,
      r.sampled,
      r.quorum,
      r.minParticipants,
      r.samplingSeed,
      r.deadlineAt,
      usesHeKey(plan.mode) ? r.keyEpoch : null,
      state,
      secure ? r.phaseDeadlineAt : null,
    ],
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
      ...(round.key_epoch !== null ? { keyEpoch: round.key_epoch } : {}),
      ...(round.phase_deadline_at
        ? { phase: 'advertise', phaseDeadlineAt: round.phase_deadline_at.toISOString() }
        : {}),
    },
  });
  return { round, created: true };
}

/** A round still accepting updates, locked by lockAcceptingHeRounds. */
export interface InflightRound {
  planId: string;
  round: number;
  keyEpoch: number | null;
}

/**
 * Locks every running HE plan of a federation and its latest round when that round still accepts
 * updates (plans in id order: the lock order), and returns those rounds. What a key rotation does
 * first, before it locks the key epoch row.
 */
export async function lockAcceptingHeRounds(tx: Tx, federation: string): Promise<InflightRound[]> {
  const plans = await tx.query<{ id: string }>(
    `SELECT id FROM plans WHERE federation = $1 AND state = 'running' AND mode <> 'plain' ORDER BY id`,
    [federation],
  );
  const out: InflightRound[] = [];
  for (const p of plans.rows) {
    await lockPlan(tx, p.id);
    const { rows } = await tx.query<RoundRow>(
      'SELECT * FROM rounds WHERE plan_id = $1 ORDER BY round DESC LIMIT 1 FOR UPDATE',
      [p.id],
    );
    const r = rows[0];
    if (r && isUnderway(r.state)) out.push({ planId: p.id, round: r.round, keyEpoch: r.key_epoch });
  }
  return out;
}

/** Fails rounds locked by lockAcceptingHeRounds, each with `reason` (audited as round.failed). */
export async function failRounds(
  tx: Tx,
  rounds: readonly InflightRound[],
  reason: string,
  actor: string,
): Promise<void> {
  for (const r of rounds) {
    const n = await tx.query<{ n: string }>(
      'SELECT count(*) AS n FROM contributions WHERE plan_id = $1 AND round = $2',
      [r.planId, r.round],
    );
    await transitionRound(
      tx,
      r.planId,
      r.round,
      { to: 'failed', reason, contributions: Number(n.rows[0]!.n) },
      actor,
    );
  }
}

/** A move of an existing round, with what the move records. */
export type RoundChange =
  | { to: 'collecting'; firstMember: string }
  | { to: 'aggregating'; why: 'quorum' | 'deadline' | 'complete'; contributions: number }
  | {
      to: 'sharing';
      why: 'complete' | 'deadline';
      advertised: string[];
      degree: number;
      threshold: number;
      phaseDeadlineAt: Date;
    }
  | { to: 'open'; why: 'complete' | 'deadline'; shared: string[]; deadlineAt: Date }
  | {
      to: 'unmasking';
      why: 'quorum' | 'deadline';
      survivors: string[];
      dropouts: string[];
      announcement: string;
      announcementDigest: string;
      phaseDeadlineAt: Date;
      contributions: number;
    }
  | { to: 'failed'; reason: string; contributions: number; rejectedBy?: string[] }
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
       closed_at = CASE WHEN $3 IN ('unmasking', 'aggregating', 'failed') THEN COALESCE(closed_at, now()) ELSE closed_at END,
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
  const secureRow = await recordSecurePhase(tx, planId, roundNo, change);
  if (secureRow) rows[0] = secureRow;
  // A rejected round may already have a successor open: lock it now, before the audit chain.
  const next = change.to === 'failed' ? await lockNextRound(tx, planId, roundNo) : undefined;
  if (change.to === 'failed') {
    // Nothing is applied: the global model after this round is the one before it (once that is agreed).
    const before = await getModelDigest(tx, planId, roundNo - 1);
    if (before !== undefined) await carryDigestForward(tx, planId, roundNo - 1, before);
  }
  const { to: _to, ...data } = change.to === 'unmasking' ? { ...change, announcement: undefined } : change;
  await appendAudit(tx, { federation: plan.federation, event, planId, round: roundNo, actor, data });
  const result: TransitionResult = { round: rows[0]! };
  if ((change.to === 'published' || change.to === 'failed') && plan.state === 'running') {
    const stop = change.to === 'failed' && plan.on_round_failure === 'stop';
    if (stop || roundNo >= plan.total_rounds) {
      const to = stop ? 'failed' : 'done';
      await finishPlan(tx, planId, to, actor, { round: roundNo });
      result.planFinished = to;
      // A rejected round stops the plan after its successor opened: that one fails with it.
      if (stop && next && isUnderway(next.state)) {
        const contributions = await tx.query<{ n: string }>(
          'SELECT count(*) AS n FROM contributions WHERE plan_id = $1 AND round = $2',
          [planId, next.round],
        );
        await transitionRound(
          tx,
          planId,
          next.round,
          {
            to: 'failed',
            reason: `the plan stopped: round ${roundNo} failed`,
            contributions: Number(contributions.rows[0]!.n),
          },
          actor,
        );
      }
    }
  }
  return result;
}

/** What a secure round's phase move fixes in the row (the sets, the graph's size, the deadlines). */
async function recordSecurePhase(
  tx: Tx,
  planId: string,
  roundNo: number,
  change: RoundChange,
): Promise<RoundRow | undefined> {
  const set = (sql: string, params: unknown[]) =>
    tx
      .query<RoundRow>(`UPDATE rounds SET ${sql} WHERE plan_id = $1 AND round = $2 RETURNING *`, [
        planId,
        roundNo,
        ...params,
      ])
      .then((r) => r.rows[0]);
  switch (change.to) {
    case 'sharing':
      return set('advertised = $3, secagg_degree = $4, secagg_threshold = $5, phase_deadline_at = $6', [
        change.advertised,
        change.degree,
        change.threshold,
        change.phaseDeadlineAt,
      ]);
    case 'open':
      // Only those who shared can submit: they are the round's quorum now.
      return set('shared = $3, quorum = $4, deadline_at = $5, phase_deadline_at = NULL', [
        change.shared,
        change.shared.length,
        change.deadlineAt,
      ]);
    case 'unmasking':
      return set('survivors = $3, dropouts = $4, unmask_announcement = $5, phase_deadline_at = $6', [
        change.survivors,
        change.dropouts,
        change.announcement,
        change.phaseDeadlineAt,
      ]);
    case 'aggregating':
    case 'failed':
      return set('phase_deadline_at = NULL', []);
    default:
      return undefined;
  }
}

/**
 * Locks a plan, one of its rounds and the round after it, in the lock order: what a transaction that
 * records a verdict (recordVerdict) must hold before it locks anything else (the certificate row).
 */
export async function lockRoundAndNext(
  tx: Tx,
  planId: string,
  round: number,
): Promise<{ plan: PlanRow; round: RoundRow | undefined }> {
  const locked = await lockRound(tx, planId, round);
  await lockNextRound(tx, planId, round);
  return locked;
}

/** Locks the round after `round` (second in the lock order, after the plan and `round`), if it exists. */
async function lockNextRound(tx: Tx, planId: string, round: number): Promise<RoundRow | undefined> {
  const { rows } = await tx.query<RoundRow>(
    'SELECT * FROM rounds WHERE plan_id = $1 AND round = $2 FOR UPDATE',
    [planId, round + 1],
  );
  return rows[0];
}

async function getModelDigest(tx: Tx, planId: string, round: number): Promise<string | undefined> {
  const { rows } = await tx.query<{ digest: string }>(
    'SELECT digest FROM model_digests WHERE plan_id = $1 AND round = $2',
    [planId, round],
  );
  return rows[0]?.digest;
}

/**
 * The global model after `round` is `digest`: it is the base of the next round if that one is open
 * without a base yet, and the model after every failed round that follows (which applied nothing).
 * Rows of those rounds are locked already (they follow `round` in the lock order).
 */
async function carryDigestForward(tx: Tx, planId: string, round: number, digest: string): Promise<void> {
  for (let r = round + 1; ; r++) {
    const { rows } = await tx.query<{ state: RoundState; base_model_digest: string | null }>(
      'SELECT state, base_model_digest FROM rounds WHERE plan_id = $1 AND round = $2 FOR UPDATE',
      [planId, r],
    );
    const row = rows[0];
    if (!row) return;
    if (row.base_model_digest === null) {
      await tx.query('UPDATE rounds SET base_model_digest = $3 WHERE plan_id = $1 AND round = $2', [
        planId,
        r,
        digest,
      ]);
    }
    if (row.state !== 'failed') return;
    const inserted = await tx.query(
      `INSERT INTO model_digests (plan_id, round, digest, reported_by) VALUES ($1, $2, $3, 'carried-over')
       ON CONFLICT DO NOTHING`,
      [planId, r, digest],
    );
    if ((inserted.rowCount ?? 0) === 0) return;
  }
}

/** What a contributor signs into its countersignature of the round certificate (ADR 0007). */
export type Verdict = { modelDigest: string } | { rejected: string };

export interface Vote {
  member: string;
  verdict: Verdict;
}

/** Where a published round stands: its contributors have not decided yet, agreed on a digest, or rejected it. */
export type Agreement =
  | { kind: 'pending'; majority: number }
  | { kind: 'agreed'; digest: string; signers: string[]; majority: number }
  | { kind: 'rejected'; reason: string; signers: string[]; majority: number };

/** More than half of the round's contributors: one of one, two of two or three, three of four or five. */
export const majorityOf = (contributors: number): number => Math.floor(contributors / 2) + 1;

const sameVerdict = (a: Verdict, b: Verdict): boolean =>
  'modelDigest' in a ? 'modelDigest' in b && a.modelDigest === b.modelDigest : 'rejected' in b;

/**
 * The majority rule, on its own (the aggregator applies it as votes arrive, `kpfl audit verify`
 * replays it from the certificates): only the votes of the round's contributors count, one each;
 * a digest signed by a majority is agreed; rejections by a majority (whatever their reasons) reject
 * the round, with the reason most of them gave.
 */
export function decideAgreement(contributors: readonly string[], votes: readonly Vote[]): Agreement {
  const majority = majorityOf(contributors.length);
  const counted = new Map<string, Verdict>();
  for (const v of votes)
    if (contributors.includes(v.member) && !counted.has(v.member)) counted.set(v.member, v.verdict);
  const byDigest = new Map<string, string[]>();
  const rejecting: { member: string; reason: string }[] = [];
  for (const [member, verdict] of counted) {
    if ('modelDigest' in verdict)
      byDigest.set(verdict.modelDigest, [...(byDigest.get(verdict.modelDigest) ?? []), member]);
    else rejecting.push({ member, reason: verdict.rejected });
  }
  for (const [digest, signers] of byDigest) {
    if (signers.length >= majority) return { kind: 'agreed', digest, signers: signers.sort(), majority };
  }
  if (rejecting.length >= majority) {
    const tally = new Map<string, number>();
    for (const r of rejecting) tally.set(r.reason, (tally.get(r.reason) ?? 0) + 1);
    const [reason] = [...tally].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]!;
    return { kind: 'rejected', reason, signers: rejecting.map((r) => r.member).sort(), majority };
  }
  return { kind: 'pending', majority };
}

/** A round's outcome so far, read under its lock. */
async function outcomeOf(tx: Tx, round: RoundRow, contributors: number): Promise<Agreement> {
  const majority = majorityOf(contributors);
  if (round.state === 'failed') {
    return { kind: 'rejected', reason: round.failure_reason ?? 'rejected', signers: [], majority };
  }
  const digest = await getModelDigest(tx, round.plan_id, round.round);
  return digest === undefined
    ? { kind: 'pending', majority }
    : { kind: 'agreed', digest, signers: [], majority };
}

const verdictData = (v: Verdict) =>
  'modelDigest' in v ? { signedDigest: v.modelDigest } : { signedRejection: v.rejected };

/**
 * Records a contributor's verdict on a published round, in the caller's transaction (the one that
 * stores its countersignature; `votes` are every verdict the certificate now carries, `voter` the
 * one just added). When the votes reach a majority of the round's contributors (ADR 0007):
 * - a digest: it becomes the global model after the round (model_digests, reported_by
 *   'contributors'), the base of the next round if that one is open already, audited as model.agreed;
 * - rejection: the round moves published -> failed (round.rejected, with the majority's reason):
 *   nothing of it is applied, the model before it is carried over.
 * Every contributor whose verdict differs from the outcome is named in a model.disputed event: those
 * who signed before the decision when it is made, a later one when it signs. Returns the outcome.
 */
export async function recordVerdict(
  tx: Tx,
  r: {
    planId: string;
    round: number;
    contributors: readonly string[];
    votes: readonly Vote[];
    voter: string;
  },
  actor: string,
): Promise<Agreement> {
  const { plan, round } = await lockRound(tx, r.planId, r.round);
  const where = `round ${r.round} of plan ${r.planId}`;
  if (!round) throw new RoundStateError('NO_SUCH_ROUND', `${where} does not exist`);
  if (!(round.state === 'published' || (round.state === 'failed' && round.aggregate_digest !== null))) {
    throw new RoundStateError(
      'ILLEGAL_TRANSITION',
      `${where} is ${round.state}: only a published round's contributors agree on its model`,
    );
  }
  await lockNextRound(tx, r.planId, r.round);
  const mine = r.votes.find((v) => v.member === r.voter);
  const dispute = async (member: string, verdict: Verdict, outcome: Agreement) =>
    appendAudit(tx, {
      federation: plan.federation,
      event: 'model.disputed',
      planId: r.planId,
      round: r.round,
      member,
      actor,
      data: {
        ...verdictData(verdict),
        ...(outcome.kind === 'agreed'
          ? { agreedDigest: outcome.digest }
          : { rejectedFor: (outcome as { reason: string }).reason }),
      },
    });
  const decided = await outcomeOf(tx, round, r.contributors.length);
  if (decided.kind !== 'pending') {
    const agreedVerdict: Verdict =
      decided.kind === 'agreed' ? { modelDigest: decided.digest } : { rejected: decided.reason };
    if (mine && r.contributors.includes(mine.member) && !sameVerdict(mine.verdict, agreedVerdict))
      await dispute(mine.member, mine.verdict, decided);
    return decided;
  }
  const outcome = decideAgreement(r.contributors, r.votes);
  if (outcome.kind === 'pending') return outcome;
  const won: Verdict =
    outcome.kind === 'agreed' ? { modelDigest: outcome.digest } : { rejected: outcome.reason };
  if (outcome.kind === 'agreed') {
    await tx.query(
      `INSERT INTO model_digests (plan_id, round, digest, reported_by) VALUES ($1, $2, $3, 'contributors')`,
      [r.planId, r.round, outcome.digest],
    );
    await carryDigestForward(tx, r.planId, r.round, outcome.digest);
    await appendAudit(tx, {
      federation: plan.federation,
      event: 'model.agreed',
      planId: r.planId,
      round: r.round,
      actor,
      data: {
        digest: outcome.digest,
        signers: outcome.signers,
        contributors: r.contributors.length,
        majority: outcome.majority,
      },
    });
  } else {
    await transitionRound(
      tx,
      r.planId,
      r.round,
      {
        to: 'failed',
        reason: `rejected by ${outcome.signers.length} of ${r.contributors.length} contributors: ${outcome.reason}`,
        contributions: round.contributions,
        rejectedBy: outcome.signers,
      },
      actor,
    );
  }
  for (const v of r.votes) {
    if (r.contributors.includes(v.member) && !sameVerdict(v.verdict, won))
      await dispute(v.member, v.verdict, outcome);
  }
  return outcome;
}

/** Work a plan needs done next; the aggregator turns each into a queue job with a deterministic id. */
export type RoundJob =
  | { kind: 'open'; planId: string; round: number; notBefore?: Date }
  | { kind: 'deadline'; planId: string; round: number; notBefore: Date }
  | { kind: 'close'; planId: string; round: number }
  /** A secure round's key-exchange phase: its deadline, or (advance) everyone expected has done it. */
  | { kind: 'phase'; planId: string; round: number; phase: SecurePhaseState; notBefore: Date }
  | { kind: 'advance'; planId: string; round: number; phase: SecurePhaseState };

/** How many a secure round's phase waits for: every sampled, advertised or surviving member. */
export function phaseExpected(round: RoundRow): number {
  if (round.state === 'advertising') return round.sampled.length;
  if (round.state === 'sharing') return round.advertised?.length ?? 0;
  if (round.state === 'unmasking') return round.survivors?.length ?? 0;
  return round.quorum;
}

/**
 * What a plan needs next, from its latest round and that round's progress (accepted contributions;
 * in a key-exchange phase, how many did that phase: `phaseProgress`): the engine
 * schedules exactly this after every step, and the reconciler restores exactly this after a loss.
 */
export function nextJobs(plan: PlanRow, latest: RoundRow | undefined, accepted: number): RoundJob[] {
  if (plan.state !== 'running') return [];
  if (!latest) return [{ kind: 'open', planId: plan.id, round: 1, notBefore: plan.start_at }];
  const key = { planId: plan.id, round: latest.round };
  if (isSecurePhase(latest.state)) {
    const phase = latest.state;
    const deadline: RoundJob = {
      kind: 'phase',
      ...key,
      phase,
      notBefore: latest.phase_deadline_at ?? new Date(),
    };
    const expected = phaseExpected(latest);
    return expected > 0 && accepted >= expected ? [deadline, { kind: 'advance', ...key, phase }] : [deadline];
  }
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
