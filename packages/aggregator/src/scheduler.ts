import { type Job, Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from './logger.js';
import type { RoundEngine, RoundJobs } from './round-engine.js';

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

export type RoundJobData =
  | { kind: 'open'; planId: string; round: number }
  | { kind: 'deadline'; planId: string; round: number }
  | { kind: 'close'; planId: string; round: number };

export function redisConnection(url = process.env.REDIS_URL ?? DEFAULT_REDIS_URL): Redis {
  // BullMQ workers need maxRetriesPerRequest null: they block on Redis and must wait out a restart.
  const redis = new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true, lazyConnect: false });
  redis.on('error', () => {}); // reconnects on its own; errors surface through the calls that fail
  return redis;
}

/**
 * Fails fast with an actionable message when Redis does not answer (the long-lived connections
 * above wait out restarts instead, which is right for a service but not for a command).
 */
export async function checkRedis(
  url = process.env.REDIS_URL ?? DEFAULT_REDIS_URL,
  timeoutMs = 3000,
): Promise<void> {
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
    throw Object.assign(
      new Error(`cannot reach Redis at ${url} (${(err as Error).message}); start it or set REDIS_URL`),
      {
        name: 'UserError',
        exitCode: 3,
      },
    );
  } finally {
    probe.disconnect();
  }
}

/** Round jobs on BullMQ. Job ids are deterministic, so re-adding a job that exists is a no-op. */
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

  async scheduleOpen(planId: string, round: number, delayMs = 0): Promise<void> {
    await this.queue.add(
      'open',
      { kind: 'open', planId, round },
      { jobId: `open-${planId}-${round}`, delay: delayMs },
    );
  }

  async scheduleDeadline(planId: string, round: number, at: Date): Promise<void> {
    const delay = Math.max(0, at.getTime() - Date.now());
    await this.queue.add(
      'deadline',
      { kind: 'deadline', planId, round },
      { jobId: `deadline-${planId}-${round}`, delay },
    );
  }

  async requestClose(planId: string, round: number): Promise<void> {
    await this.queue.add('close', { kind: 'close', planId, round }, { jobId: `close-${planId}-${round}` });
  }

  async cancelDeadline(planId: string, round: number): Promise<void> {
    const job = await this.queue.getJob(`deadline-${planId}-${round}`);
    // Only a job still waiting for its delay: an active one is running and finishes on its own.
    if (job && (await job.isDelayed())) await job.remove().catch(() => {});
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
      const { kind, planId, round } = job.data;
      opts.log.debug({ job: job.id, kind, plan: planId, round }, 'round job');
      if (kind === 'open') return void (await opts.engine.open(planId, round));
      if (kind === 'close') return void (await opts.engine.close(planId, round, 'quorum'));
      return void (await opts.engine.close(planId, round, 'deadline'));
    },
    {
      connection: opts.connection,
      prefix: opts.prefix ?? 'kpfl',
      concurrency: opts.concurrency ?? 1,
      // A worker killed mid-job leaves it stalled; another worker picks it up after this long.
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
