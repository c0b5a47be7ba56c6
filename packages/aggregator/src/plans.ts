import { chunkCountFor, getHeParams, slotCountFor } from '@kpfl/he';
import { createPlan, type Db, getFederationJwks, type PlanRow, type TrainingSettings } from '@kpfl/store';
import { RoundError } from './errors.js';
import { requiredJobs } from './jobs.js';
import type { RoundJobs } from './round-engine.js';

export interface PlanRequest {
  id: string;
  federation: string;
  rounds: number;
  minParticipants: number;
  fraction: number;
  deadlineSeconds: number;
  /** Members seen this recently are eligible for sampling (default 600 s). */
  seenWithinSeconds?: number;
  onRoundFailure?: 'continue' | 'stop';
  mode: 'he' | 'plain';
  heParams: string;
  /** Length of the flat model update (the caller knows the model; the aggregator never loads it). */
  parameterCount: number;
  training: TrainingSettings;
  seed: number;
  startAt?: Date;
  /** Who schedules it, for the plan.scheduled audit row (default 'operator'). */
  actor?: string;
}

/**
 * Stores a plan (audited as plan.scheduled) and queues its first round. Idempotent: the plan id
 * and the job ids are deterministic, so running the same schedule twice opens nothing twice.
 */
export async function schedulePlan(db: Db, jobs: RoundJobs, p: PlanRequest): Promise<PlanRow> {
  if (!(p.rounds >= 1)) throw new RoundError('bad_plan', '--rounds must be at least 1');
  if (!(p.minParticipants >= 1)) throw new RoundError('bad_plan', '--min-participants must be at least 1');
  if (!(p.fraction > 0 && p.fraction <= 1)) throw new RoundError('bad_plan', '--fraction must be in (0, 1]');
  if (!(p.deadlineSeconds > 0)) throw new RoundError('bad_plan', '--deadline must be positive');
  if (p.mode === 'he') getHeParams(p.heParams);
  if ((await getFederationJwks(db, p.federation)) === undefined) {
    throw new RoundError(
      'bad_plan',
      `federation ${p.federation} is not registered in this database schema; start its aggregator with the coordinator kit first`,
    );
  }
  const slotCount = slotCountFor(p.mode, p.heParams);
  const { plan } = await createPlan(
    db,
    {
      id: p.id,
      federation: p.federation,
      total_rounds: p.rounds,
      min_participants: p.minParticipants,
      fraction: p.fraction,
      deadline_seconds: p.deadlineSeconds,
      seen_within_seconds: p.seenWithinSeconds,
      on_round_failure: p.onRoundFailure ?? 'continue',
      mode: p.mode,
      he_params: p.heParams,
      model: p.training.model,
      parameter_count: p.parameterCount,
      slot_count: slotCount,
      // +1: the example count travels in the trailing slot.
      chunk_count: chunkCountFor(p.parameterCount + 1, slotCount),
      training: p.training,
      seed: p.seed,
      start_at: p.startAt,
    },
    p.actor ?? 'operator',
  );
  for (const job of await requiredJobs(db, plan.id)) await jobs.add(job);
  return plan;
}
