import {
  type Db,
  getPlan,
  latestRound,
  nextJobs,
  phaseProgress,
  type RoundJob,
  type SecurePhaseState,
} from '@kpfl/store';

export type { RoundJob };

/** What a BullMQ round job carries: just enough to find the round in Postgres, the source of truth. */
export interface RoundJobData {
  kind: RoundJob['kind'];
  planId: string;
  round: number;
  /** Phase and advance jobs: the secure round's phase they are for. */
  phase?: SecurePhaseState;
}

/**
 * The one place job ids are made. They are deterministic (`open-P-r`, `deadline-P-r`, `close-P-r`, `phase-sharing-P-r`, ...):
 * adding a job that exists is a no-op, so a retried step or the reconciler never runs one twice.
 */
export function jobId(job: RoundJobData): string {
  return job.phase
    ? `${job.kind}-${job.phase}-${job.planId}-${job.round}`
    : `${job.kind}-${job.planId}-${job.round}`;
}

/** The jobs a plan needs now, read from Postgres: used after every engine step and by the reconciler. */
export async function requiredJobs(db: Db, planId: string): Promise<RoundJob[]> {
  const plan = await getPlan(db, planId);
  if (!plan) return [];
  const latest = await latestRound(db, planId);
  const progress = latest ? await phaseProgress(db, latest) : 0;
  return nextJobs(plan, latest, progress);
}
