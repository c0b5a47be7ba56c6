import { chunkCountFor, getHeParams, HE_PARAM_SETS, slotCountFor } from '@kpfl/he';
import { DIGEST_PATTERN } from '@kpfl/kpt';
import { MIN_SECAGG_MEMBERS } from '@kpfl/secagg';
import {
  createPlan,
  currentKeyEpoch,
  type Db,
  getFederationJwks,
  type PlanRow,
  type TrainingSettings,
} from '@kpfl/store';
import { RoundError } from './errors.js';
import { requiredJobs } from './jobs.js';
import { planStrategy } from './plan-strategy.js';
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
  mode: 'he' | 'plain' | 'secure';
  heParams: string;
  /** Secure mode: how long each key-exchange phase (advertise, share, unmask) may take (default 60 s). */
  phaseSeconds?: number;
  /** Length of the flat model update (the caller knows the model; the aggregator never loads it). */
  parameterCount: number;
  training: TrainingSettings;
  seed: number;
  /**
   * Digest of the initial global model (round 0): participants start from it and round 1's updates
   * must name it. The caller computes it (the aggregator never loads the model): `weightsDigest(
   * initialWeights(model, seed))` for the built-in models.
   */
  initialModelDigest: string;
  /** L2 bound on each participant's update and on the decrypted mean update (0 or absent: none). */
  maxUpdateNorm?: number;
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
  try {
    // A plan whose strategy this aggregator cannot build would fail at its first open.
    planStrategy(p);
  } catch (err) {
    throw new RoundError('bad_plan', (err as Error).message, { cause: err });
  }
  if (p.mode !== 'plain') await checkHeParams(db, p);
  if (p.mode === 'secure' && p.minParticipants < MIN_SECAGG_MEMBERS)
    throw new RoundError(
      'bad_plan',
      `--min-participants must be at least ${MIN_SECAGG_MEMBERS} in secure mode: with two, the sum gives each the other's update`,
    );
  if (p.phaseSeconds !== undefined && !(Number.isSafeInteger(p.phaseSeconds) && p.phaseSeconds > 0))
    throw new RoundError('bad_plan', '--phase-seconds must be a positive whole number');
  if (!DIGEST_PATTERN.test(p.initialModelDigest ?? ''))
    throw new RoundError('bad_plan', "the initial model digest must look like 'sha256:' + 64 hex digits");
  if (p.maxUpdateNorm !== undefined && !(Number.isFinite(p.maxUpdateNorm) && p.maxUpdateNorm >= 0))
    throw new RoundError('bad_plan', '--max-update-norm must be a finite number >= 0 (0 = no bound)');
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
      initial_model_digest: p.initialModelDigest,
      max_update_norm: p.maxUpdateNorm ?? 0,
      phase_seconds: p.phaseSeconds,
      start_at: p.startAt,
    },
    p.actor ?? 'operator',
  );
  for (const job of await requiredJobs(db, plan.id)) await jobs.add(job);
  return plan;
}

/**
 * The plan's HE parameter set must be of its mode's scheme (CKKS for he, BFV for secure), and the
 * federation's key, if it has one, must be of that set: a member holds one consortium key per epoch.
 */
async function checkHeParams(db: Db, p: PlanRequest): Promise<void> {
  const params = getHeParams(p.heParams);
  const scheme = p.mode === 'secure' ? 'bfv' : 'ckks';
  if (params.scheme !== scheme)
    throw new RoundError(
      'bad_plan',
      `--he-params ${p.heParams} is a ${params.scheme.toUpperCase()} set; ${p.mode} mode needs a ${scheme.toUpperCase()} set (${Object.values(
        HE_PARAM_SETS,
      )
        .filter((x) => x.scheme === scheme)
        .map((x) => x.name)
        .join(', ')})`,
    );
  const epoch = await currentKeyEpoch(db, p.federation);
  if (epoch && epoch.he_params !== p.heParams)
    throw new RoundError(
      'bad_plan',
      `federation ${p.federation}'s HE key (epoch ${epoch.epoch}) is of parameter set ${epoch.he_params}; a ${p.mode} plan with ${p.heParams} would need another key. Schedule it with --he-params ${epoch.he_params}${getHeParams(epoch.he_params).scheme === scheme ? '' : ` (a ${getHeParams(epoch.he_params).scheme === 'bfv' ? 'secure' : 'he'} plan)`}, or use a federation of its own`,
    );
}
