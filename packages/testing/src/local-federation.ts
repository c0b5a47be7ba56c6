/**
 * A whole federation on this machine in one call, for tests, benchmarks and a first program. The
 * kits are made in memory the way `kpfl provision` makes them (the coordinator makes every key;
 * the members share the epoch-1 consortium HE key), a fresh Postgres schema is migrated as its
 * owner, the federation gets its own Redis prefix, and the aggregator runs in this process on
 * 127.0.0.1 with mutual TLS. Members run the real participant loop (`runParticipant`) in this
 * process with the caller's apps. `close()` stops everything and removes the schema, the Redis
 * keys and the work directory (the logs). A deployment makes each of these with `kpfl`
 * (docs/deploy.md), with each member holding its own keys.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type AggregatorOptions,
  coordinatorKitOf,
  createLogger,
  type RunningAggregator,
  schedulePlan,
  startLocalAggregator,
} from '@kpfl/aggregator';
import {
  type ConsortiumKey,
  consortiumKeyId,
  DEFAULT_HE_PARAMS,
  DEFAULT_SECURE_PARAMS,
  generateConsortiumKey,
} from '@kpfl/he';
import { createFederationKits } from '@kpfl/kpt';
import { initialWeights, type ModelId, parameterCount, weightsDigest } from '@kpfl/model';
import { type ParticipantApp, type ParticipantHooks, runParticipant } from '@kpfl/participant';
import { DEFAULT_DATABASE_URL, dropSchema, getPlan, type PlanRow, type TrainingSettings } from '@kpfl/store';
import pino from 'pino';
import { deleteRedisPrefix } from './redis-prefix.js';

export type FederationMode = 'he' | 'plain' | 'secure';

export interface LocalFederationOptions {
  /** Member ids, or how many members (member-1 ... member-N). */
  participants: number | readonly string[];
  /**
   * Which consortium HE key is made, and the plans' default mode: CKKS for 'he' (plans may also
   * be 'plain'), BFV for 'secure'. Default 'he'.
   */
  mode?: FederationMode;
  /** The consortium key's parameter set (default: compact for he, exact for secure; @kpfl/he's HE_PARAM_SETS). */
  heParams?: string;
  /** Mutual TLS on loopback (default true); false: insecure gRPC. */
  tls?: boolean;
  /** A Postgres role that may create schemas (it migrates and the aggregator uses it). Default: DATABASE_URL, then kpfl's default. */
  databaseUrl?: string;
  /** Default: REDIS_URL, then redis://127.0.0.1:6379. */
  redisUrl?: string;
  /** Keep the schema, the Redis keys and the work directory after close(), to look at them. */
  keep?: boolean;
  /** More options of the in-process aggregator: its limits, or hooks after each committed round step. */
  aggregator?: Pick<AggregatorOptions, 'engineHooks' | 'maxInflightBytes' | 'sessionsPerMinute'>;
}

/** One plan, with the defaults a small federation needs. */
export interface LocalPlan {
  /** A built-in model (mlp, cnn, dense:F-H-C) or one registered first (registerModel, loadLayersModelFile). */
  model: ModelId;
  /** Default 1. */
  rounds?: number;
  /** Default: the federation's mode. */
  mode?: FederationMode;
  /** Default: 1 epoch, batch 32, lr 0.1, no proximal term, fedavg, every local example. */
  training?: Partial<Omit<TrainingSettings, 'model'>>;
  /** Seeds the initial weights, sampling and local shuffles. Default 1. */
  seed?: number;
  /** Default: every member. */
  minParticipants?: number;
  /** Default 1. */
  fraction?: number;
  /** Default 120. */
  deadlineSeconds?: number;
  /** L2 bound on each update (default: none). */
  maxUpdateNorm?: number;
  /** Secure mode: seconds per key-exchange phase (default 60). */
  phaseSeconds?: number;
}

export type ParticipantResult = Awaited<ReturnType<typeof runParticipant>> & { memberId: string };

export interface LocalRun {
  /** The plan as Postgres holds it once every member has finished. */
  plan: PlanRow;
  /** What each member's loop returned, in member order. */
  members: ParticipantResult[];
}

export interface LocalFederation {
  federation: string;
  schema: string;
  redisPrefix: string;
  /** The aggregator's logs and each member's (<member>.log) are here. */
  work: string;
  members: readonly string[];
  /** host:port the members dial. */
  address: string;
  aggregator: RunningAggregator;
  /** The members' consortium HE key (epoch 1), for a caller that encrypts updates of its own. */
  consortiumKey: ConsortiumKey;
  schedule(plan: LocalPlan): Promise<PlanRow>;
  /**
   * Runs `memberId`'s participant loop until the running plans are done (or `signal` aborts).
   * `address` dials something else than the aggregator (e.g. a relay that counts bytes).
   */
  participate(
    memberId: string,
    o: {
      app: ParticipantApp;
      hooks?: ParticipantHooks;
      signal?: AbortSignal;
      idleTimeoutMs?: number;
      address?: string;
    },
  ): Promise<ParticipantResult>;
  /** Schedules `plan` and runs every member with its app until it is done. */
  run(
    plan: LocalPlan,
    app: (memberId: string, index: number) => ParticipantApp,
    o?: { hooks?: (memberId: string) => ParticipantHooks | undefined; idleTimeoutMs?: number },
  ): Promise<LocalRun>;
  close(): Promise<void>;
}

const DEFAULT_TRAINING: Omit<TrainingSettings, 'model'> = {
  localEpochs: 1,
  batchSize: 32,
  learningRate: 0.1,
  proxMu: 0,
  serverOptimizer: 'fedavg',
  maxExamples: 0,
};

export async function startLocalFederation(o: LocalFederationOptions): Promise<LocalFederation> {
  const members =
    typeof o.participants === 'number'
      ? Array.from({ length: o.participants }, (_, i) => `member-${i + 1}`)
      : [...o.participants];
  const mode = o.mode ?? 'he';
  const tls = o.tls ?? true;
  const databaseUrl = o.databaseUrl ?? process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL;
  const redisUrl = o.redisUrl ?? process.env.REDIS_URL;
  const id = randomBytes(4).toString('hex');
  const federation = `local-${id}`;
  const schema = `local_${id}`;
  const redisPrefix = `kpfl-local:${id}`;
  const heParams = o.heParams ?? (mode === 'secure' ? DEFAULT_SECURE_PARAMS : DEFAULT_HE_PARAMS);
  // Bad member ids are refused here, before anything is made.
  const kits = await createFederationKits({ federation, members });
  const work = mkdtempSync(join(tmpdir(), 'kpfl-local-'));
  let aggregator: RunningAggregator | undefined;
  const close = async () => {
    await aggregator?.close();
    if (o.keep) return;
    await dropSchema(databaseUrl, schema).catch(() => {});
    await deleteRedisPrefix(redisPrefix, redisUrl).catch(() => {});
    rmSync(work, { recursive: true, force: true });
  };
  try {
    const heKey = await generateConsortiumKey(heParams);
    const coordinator = coordinatorKitOf(kits, { epoch: 1, keyId: consortiumKeyId(heKey), heParams });
    const agg = await startLocalAggregator(coordinator, {
      schema,
      ownerDatabaseUrl: databaseUrl,
      redisUrl,
      redisPrefix,
      insecure: !tls,
      actor: 'operator:local',
      log: createLogger('aggregator', { file: join(work, 'aggregator.log') }),
      ...o.aggregator,
    });
    aggregator = agg;
    const address = `localhost:${agg.port}`;
    const kitOf = (memberId: string) => {
      const kit = kits.members.find((m) => m.memberId === memberId);
      if (!kit)
        throw new Error(`${memberId} is not a member of ${federation} (members: ${members.join(', ')})`);
      return kit;
    };
    let plans = 0;
    const schedule: LocalFederation['schedule'] = (p) => {
      const seed = p.seed ?? 1;
      const planMode = p.mode ?? mode;
      return schedulePlan(agg.db, agg.queue, {
        id: `${federation}-plan-${++plans}`,
        federation,
        rounds: p.rounds ?? 1,
        minParticipants: p.minParticipants ?? members.length,
        fraction: p.fraction ?? 1,
        deadlineSeconds: p.deadlineSeconds ?? 120,
        mode: planMode,
        heParams: planMode === 'plain' ? '' : heParams,
        phaseSeconds: p.phaseSeconds,
        parameterCount: parameterCount(p.model),
        training: { ...DEFAULT_TRAINING, ...p.training, model: p.model },
        seed,
        initialModelDigest: weightsDigest(initialWeights(p.model, seed)),
        maxUpdateNorm: p.maxUpdateNorm,
      });
    };
    const participate: LocalFederation['participate'] = async (memberId, p) => {
      const kit = kitOf(memberId);
      const result = await runParticipant({
        federation,
        memberId,
        identity: kit.identity,
        coordinatorJwks: kit.coordinatorJwks,
        address: p.address ?? address,
        tls: tls ? kit.tls : undefined,
        consortiumKey: heKey,
        app: p.app,
        hooks: p.hooks,
        signal: p.signal,
        idleTimeoutMs: p.idleTimeoutMs,
        log: pino({ base: { member: memberId } }, pino.destination({ dest: join(work, `${memberId}.log`) })),
      });
      return { memberId, ...result };
    };
    return {
      federation,
      schema,
      redisPrefix,
      work,
      members,
      address,
      aggregator: agg,
      consortiumKey: heKey,
      schedule,
      participate,
      async run(plan, app, r = {}) {
        const row = await schedule(plan);
        const results = await Promise.all(
          members.map((m, i) =>
            participate(m, { app: app(m, i), hooks: r.hooks?.(m), idleTimeoutMs: r.idleTimeoutMs }),
          ),
        );
        return { plan: (await getPlan(agg.db, row.id)) ?? row, members: results };
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
