import { type Db, getPlan, latestRound, listPlans } from '@kpfl/store';
import type { Logger } from './logger.js';
import type { RoundQueue } from './scheduler.js';

/**
 * Re-derives the round jobs every running plan needs from Postgres, the source of truth, and
 * (re-)adds them to the queue. Job ids are deterministic, so this is a no-op when the jobs exist;
 * after Redis lost its data (a restart without persistence) or a job exhausted its retries, it puts
 * the federation back on track.
 */
export async function reconcile(db: Db, queue: RoundQueue, log: Logger, federation: string): Promise<number> {
  let repaired = 0;
  for (const p of await listPlans(db, federation)) {
    if (p.state !== 'running') continue;
    const plan = (await getPlan(db, p.id))!;
    const round = await latestRound(db, plan.id);
    const ensure = async (jobId: string, add: () => Promise<void>) => {
      const job = await queue.queue.getJob(jobId);
      if (!job) {
        await add();
        repaired++;
        log.info({ plan: plan.id, job: jobId, event: 'job.restored' }, 'round job restored');
        return;
      }
      if ((await job.getState()) === 'failed') {
        await job.retry();
        repaired++;
        log.warn({ plan: plan.id, job: jobId, event: 'job.retried' }, 'failed round job retried');
      }
    };
    if (!round) {
      await ensure(`open-${plan.id}-1`, () =>
        queue.scheduleOpen(plan.id, 1, Math.max(0, plan.start_at.getTime() - Date.now())),
      );
    } else if (round.state === 'open' || round.state === 'collecting') {
      await ensure(`deadline-${plan.id}-${round.round}`, () =>
        queue.scheduleDeadline(plan.id, round.round, round.deadline_at),
      );
      const { rows } = await db.query<{ n: string }>(
        'SELECT count(*) AS n FROM contributions WHERE plan_id = $1 AND round = $2',
        [plan.id, round.round],
      );
      if (Number(rows[0]!.n) >= round.quorum) {
        await ensure(`close-${plan.id}-${round.round}`, () => queue.requestClose(plan.id, round.round));
      }
    } else if (round.state === 'aggregating') {
      await ensure(`close-${plan.id}-${round.round}`, () => queue.requestClose(plan.id, round.round));
    } else if (
      round.state === 'published' ||
      (round.state === 'failed' && plan.on_round_failure === 'continue')
    ) {
      await ensure(`open-${plan.id}-${round.round + 1}`, () => queue.scheduleOpen(plan.id, round.round + 1));
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
