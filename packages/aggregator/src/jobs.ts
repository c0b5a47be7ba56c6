import { countContributions, type Db, getPlan, latestRound, nextJobs, type RoundJob } from '@kpfl/store';

export type { RoundJob };

/** What a BullMQ round job carries: just enough to find the round in Postgres, the source of truth. */
export interface RoundJobData {
  kind: RoundJob['kind'];
  planId: string;
  round: number;
}

/**
 * The one place job ids are made. They are deterministic (`open-P-r`, `deadline-P-r`, `close-P-r`):
 * adding a job that exists is a no-op, so a retried step or the reconciler never runs one twice.
 */
export function jobId(job: Pick<RoundJob, 'kind' | 'planId' | 'round'>): string {
  return `${job.kind}-${job.planId}-${job.round}`;
}

/** The jobs a plan needs now, read from Postgres: used after every engine step and by the reconciler. */
export async function requiredJobs(db: Db, planId: string): Promise<RoundJob[]> {
  const plan = await getPlan(db, planId);
  if (!plan) return [];
  const latest = await latestRound(db, planId);
  const accepted = latest ? await countContributions(db, planId, latest.round) : 0;
  return nextJobs(plan, latest, accepted);
}
