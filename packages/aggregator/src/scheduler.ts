import { KpflError } from '@kpfl/common';
import { type Job, Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { jobId, type RoundJob, type RoundJobData } from './jobs.js';
import type { Logger } from './logger.js';
import type { RoundEngine, RoundJobs } from './round-engine.js';

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

export function redisConnection(url = DEFAULT_REDIS_URL): Redis {
  // BullMQ workers need maxRetriesPerRequest null: they block on Redis and must wait out a restart.
  const redis = new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true, lazyConnect: false });
  redis.on('error', () => {}); // reconnects on its own; errors surface through the calls that fail
  return redis;
}

/** Redis did not answer a command's probe. */
export class RedisUnavailableError extends KpflError<'REDIS_UNAVAILABLE'> {}

/**
 * Fails fast with an actionable message when Redis does not answer (the long-lived connections
 * above wait out restarts instead, which is right for a service but not for a command).
 */
export async function checkRedis(url = DEFAULT_REDIS_URL, timeoutMs = 3000): Promise<void> {
  const probe = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    connectTimeout: timeoutMs,
    retryStrategy: () => null,
  });
  probe.on('error', () => {});
  try {
    await probe.connect();
    await probe.ping();
  } catch (err) {
    throw new RedisUnavailableError(
      'REDIS_UNAVAILABLE',
      `cannot reach Redis at ${url} (${(err as Error).message}); start it or set REDIS_URL`,
      { exitCode: 3 },
    );
  } finally {
    probe.disconnect();
  }
}

/** Round jobs on BullMQ, with the deterministic ids of jobs.ts: re-adding a job that exists is a no-op. */
export class RoundQueue implements RoundJobs {
  readonly queue: Queue<RoundJobData>;

  constructor(
    readonly name: string,
    connection: Redis,
    readonly prefix = 'kpfl',
  ) {
    this.queue = new Queue<RoundJobData>(name, {
      connection,
      prefix,
      defaultJobOptions: {
        attempts: 8,
        backoff: { type: 'exponential', delay: 500 },
        removeOnComplete: { age: 24 * 3600 },
        removeOnFail: { age: 7 * 24 * 3600 },
      },
    });
  }

  async add(job: RoundJob): Promise<void> {
    const at = job.kind === 'close' || job.kind === 'advance' ? undefined : job.notBefore;
    const phase = job.kind === 'phase' || job.kind === 'advance' ? { phase: job.phase } : {};
    await this.queue.add(
      job.kind,
      { kind: job.kind, planId: job.planId, round: job.round, ...phase },
      { jobId: jobId(job), delay: at ? Math.max(0, at.getTime() - Date.now()) : 0 },
    );
  }

  /** Removes a job still waiting for its delay (an active one is running and finishes on its own). */
  async remove(job: RoundJob): Promise<void> {
    const found = await this.queue.getJob(jobId(job));
    if (found && (await found.isDelayed())) await found.remove().catch(() => {});
  }

  /** The reconciler's repair: adds the job if Redis lost it, retries it if it exhausted its attempts. */
  async ensure(job: RoundJob): Promise<'present' | 'restored' | 'retried'> {
    const found = await this.queue.getJob(jobId(job));
    if (!found) {
      await this.add(job);
      return 'restored';
    }
    if ((await found.getState()) === 'failed') {
      await found.retry();
      return 'retried';
    }
    return 'present';
  }

  async counts(): Promise<Record<string, number>> {
    return this.queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed');
  }

  close(): Promise<void> {
    return this.queue.close();
  }
}

/** Runs round jobs against the engine; may run in the gRPC process or in a separate worker process. */
export function startRoundWorker(opts: {
  queueName: string;
  prefix?: string;
  connection: Redis;
  engine: RoundEngine;
  log: Logger;
  concurrency?: number;
}): Worker<RoundJobData> {
  const worker = new Worker<RoundJobData>(
    opts.queueName,
    async (job: Job<RoundJobData>) => {
      const { kind, planId, round, phase } = job.data;
      opts.log.debug({ job: job.id, kind, plan: planId, round, phase }, 'round job');
      if (kind === 'open') return void (await opts.engine.open(planId, round));
      if (kind === 'close') return void (await opts.engine.close(planId, round, 'quorum'));
      if (kind === 'phase' || kind === 'advance') {
        if (!phase) throw new Error(`round job ${job.id} names no phase`);
        return void (await opts.engine.advance(
          planId,
          round,
          phase,
          kind === 'phase' ? 'deadline' : 'complete',
        ));
      }
      return void (await opts.engine.close(planId, round, 'deadline'));
    },
    {
      connection: opts.connection,
      prefix: opts.prefix ?? 'kpfl',
      concurrency: opts.concurrency ?? 1,
      // A worker killed mid-job leaves it stalled: its lock lapses after lockDuration (renewed every
      // half of it while the job runs) and a check every stalledInterval hands the job to another worker.
      lockDuration: 10_000,
      stalledInterval: 5000,
      maxStalledCount: 5,
    },
  );
  worker.on('failed', (job, err) =>
    opts.log.error({ job: job?.id, err: err.message, attempts: job?.attemptsMade }, 'round job failed'),
  );
  worker.on('error', (err) => opts.log.error({ err: err.message }, 'round worker error'));
  return worker;
}
