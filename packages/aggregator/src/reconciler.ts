import { type Db, listPlans } from '@kpfl/store';
import { jobId, requiredJobs } from './jobs.js';
import type { Logger } from './logger.js';
import type { RoundQueue } from './scheduler.js';

/**
 * Re-derives the round jobs every running plan needs from Postgres, the source of truth, with the
 * same `requiredJobs` the engine schedules after each step, and (re-)adds them to the queue. Job
 * ids are deterministic, so this is a no-op when the jobs exist; after Redis lost its data (a
 * restart without persistence) or a job exhausted its retries, it puts the federation back on track.
 */
export async function reconcile(db: Db, queue: RoundQueue, log: Logger, federation: string): Promise<number> {
  let repaired = 0;
  for (const plan of await listPlans(db, federation)) {
    if (plan.state !== 'running') continue;
    for (const job of await requiredJobs(db, plan.id)) {
      const outcome = await queue.ensure(job);
      if (outcome === 'present') continue;
      repaired++;
      log.warn(
        { plan: plan.id, round: job.round, job: jobId(job), event: `job.${outcome}` },
        outcome === 'restored' ? 'round job restored' : 'failed round job retried',
      );
    }
  }
  return repaired;
}

/** Runs reconcile now and every `intervalMs`, never overlapping, never throwing. */
export function startReconciler(
  db: Db,
  queue: RoundQueue,
  log: Logger,
  federation: string,
  intervalMs = 5000,
): () => void {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const tick = async () => {
    try {
      await reconcile(db, queue, log, federation);
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'reconcile failed; will retry');
    }
    if (!stopped) timer = setTimeout(tick, intervalMs);
  };
  void tick();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
