import { chunkCountFor, getHeParams, slotCountFor } from '@kpfl/he';
import { createPlan, type Db, type PlanRow, type TrainingSettings } from '@kpfl/store';
import { RpcError } from './errors.js';
import type { RoundQueue } from './scheduler.js';

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
}

/**
 * Stores a plan and queues its first round. Idempotent: the plan id and the job ids are
 * deterministic, so running the same schedule twice opens nothing twice.
 */
export async function schedulePlan(db: Db, queue: RoundQueue, p: PlanRequest): Promise<PlanRow> {
  if (!(p.rounds >= 1)) throw new RpcError('INVALID_ARGUMENT', 'bad_plan', '--rounds must be at least 1');
  if (!(p.minParticipants >= 1))
    throw new RpcError('INVALID_ARGUMENT', 'bad_plan', '--min-participants must be at least 1');
  if (!(p.fraction > 0 && p.fraction <= 1))
    throw new RpcError('INVALID_ARGUMENT', 'bad_plan', '--fraction must be in (0, 1]');
  if (!(p.deadlineSeconds > 0))
    throw new RpcError('INVALID_ARGUMENT', 'bad_plan', '--deadline must be positive');
  if (p.mode === 'he') getHeParams(p.heParams);
  const slotCount = slotCountFor(p.mode, p.heParams);
  const plan = await createPlan(db, {
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
  });
  const delay = Math.max(0, plan.start_at.getTime() - Date.now());
  await queue.scheduleOpen(plan.id, 1, delay);
  return plan;
}
