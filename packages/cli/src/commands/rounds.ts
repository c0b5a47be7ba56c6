import {
  checkRedis,
  createLogger,
  RoundEngine,
  RoundQueue,
  RunningSums,
  redisConnection,
  schedulePlan,
} from '@kpfl/aggregator';
import { DEFAULT_HE_PARAMS, DEFAULT_SECURE_PARAMS, HE_PARAM_SETS } from '@kpfl/he';
import { isBuiltInModel, type ModelName, parameterCount } from '@kpfl/model';
import { MIN_SECAGG_MEMBERS } from '@kpfl/secagg';
import {
  activePlan,
  countContributionsByRound,
  type Db,
  getPlan,
  isAccepting,
  isFinished,
  listPlans,
  listRounds,
  openDb,
  type PlanRow,
  roundEvaluations,
  StoreError,
} from '@kpfl/store';
import { type Command, Option } from 'commander';
import { databaseUrlOption, operatorOption, redisUrlOption, schemaOption } from '../config.js';
import { operatorActor } from '../operator.js';
import {
  addTrainingOptions,
  initialModelDigest,
  registerModelFile,
  type TrainingOptions,
  trainingSettings,
} from '../training-options.js';
import {
  existingPath,
  parseDigestOption,
  parseDuration,
  parseFloatOption,
  parseIdOption,
  parseIntOption,
  parseIsoTime,
  parseModelName,
  parsePlanId,
  parseRedisPrefix,
  redactUrl,
  requireService,
  UnavailableError,
  UserError,
} from '../user-error.js';

/** The options every `kpfl rounds` command takes: where the federation's plans live. */
interface Conn {
  federation: string;
  schema: string;
  redisPrefix?: string;
  databaseUrl: string;
  redisUrl: string;
}

interface ScheduleOptions extends Conn, TrainingOptions {
  rounds: number;
  planId?: string;
  minParticipants?: number;
  fraction: number;
  /** Seconds. */
  deadline: number;
  startAt?: string;
  onFailure: 'continue' | 'stop';
  /** Seconds. */
  seenWithin: number;
  parameterCount?: number;
  initialModelDigest?: string;
  /** A tfjs model.json: sets model, parameterCount and initialModelDigest from the file. */
  modelFile?: string;
  mode: 'he' | 'plain' | 'secure';
  heParams?: string;
  /** Seconds. */
  phaseSeconds?: number;
  seed: number;
}

interface ListOptions extends Conn {
  json?: boolean;
}

interface StatusOptions extends Conn {
  plan?: string;
  json?: boolean;
}

interface CancelOptions extends Conn {
  plan?: string;
}

interface WatchOptions extends Conn {
  plan?: string;
  /** Milliseconds. */
  interval: number;
  once?: boolean;
}

function connOptions(cmd: Command): Command {
  return cmd
    .addOption(
      operatorOption(
        'federation',
        '--federation <name>',
        'federation name',
        parseIdOption('--federation'),
      ).makeOptionMandatory(),
    )
    .addOption(schemaOption())
    .addOption(
      operatorOption(
        'redisPrefix',
        '--redis-prefix <prefix>',
        'namespace in Redis (default kpfl:<federation>)',
        parseRedisPrefix('--redis-prefix'),
      ),
    )
    .addOption(databaseUrlOption())
    .addOption(redisUrlOption());
}

async function withDb<T>(o: Conn, fn: (db: Db) => Promise<T>): Promise<T> {
  let db: Db;
  try {
    db = await openDb({ databaseUrl: o.databaseUrl, schema: o.schema, connectRetries: 3 });
  } catch (err) {
    if (!(err instanceof StoreError && err.code === 'UNAVAILABLE')) throw err;
    const where = `cannot reach Postgres at ${redactUrl(o.databaseUrl)}`;
    throw new UnavailableError('Postgres', `${where}: ${err.message}`, { cause: err });
  }
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

async function withQueue<T>(o: Conn, fn: (q: RoundQueue) => Promise<T>): Promise<T> {
  // The queue's connection waits out a Redis restart; a command must say at once that Redis is down.
  await requireService('Redis', () => checkRedis(o.redisUrl));
  const redis = redisConnection(o.redisUrl);
  const q = new RoundQueue('rounds', redis, o.redisPrefix ?? `kpfl:${o.federation}`);
  try {
    return await fn(q);
  } finally {
    await q.close();
    await redis.quit();
  }
}

async function resolvePlan(db: Db, o: Conn & { plan?: string }): Promise<PlanRow> {
  const plan = o.plan ? await getPlan(db, o.plan) : await activePlan(db, o.federation);
  if (!plan)
    throw new UserError(
      o.plan
        ? `no plan "${o.plan}"`
        : `federation ${o.federation} has no plan; schedule one with \`kpfl rounds schedule\``,
    );
  return plan;
}

export function registerRounds(program: Command): void {
  const rounds = program.command('rounds').description('schedule and follow training rounds (operator)');

  const schedule = rounds.command('schedule');
  addTrainingOptions(schedule);
  connOptions(schedule)
    .description('store a plan of R rounds in Postgres and drive it through BullMQ')
    .requiredOption('--rounds <n>', 'number of rounds', parseIntOption('--rounds', 1))
    .option(
      '--plan-id <id>',
      'plan id; scheduling the same id again changes nothing (default: derived from the time)',
      parsePlanId('--plan-id'),
    )
    .option(
      '--min-participants <n>',
      'minimum accepted updates for a round to publish at its deadline (default 3 in secure mode, the fewest it runs with; 2 otherwise)',
      parseIntOption('--min-participants', 1),
    )
    .option(
      '--fraction <c>',
      'fraction of eligible members sampled per round',
      parseFloatOption('--fraction', 0.0001, 1),
      1,
    )
    .option('--deadline <duration>', 'round deadline, e.g. 120s, 5m', parseDuration('--deadline'), 120)
    .option('--start-at <time>', 'ISO time of the first round (default now)', parseIsoTime('--start-at'))
    .addOption(
      new Option('--on-failure <what>', 'after a failed round: continue | stop')
        .choices(['continue', 'stop'])
        .default('continue'),
    )
    .option(
      '--seen-within <duration>',
      'members seen this recently are eligible',
      parseDuration('--seen-within'),
      600,
    )
    .option(
      '--model <name>',
      'mlp | cnn | a plugin model registered by the participants',
      parseModelName('--model'),
      'mlp',
    )
    .option(
      '--parameter-count <n>',
      'length of the flat model (needed for plugin models)',
      parseIntOption('--parameter-count', 1),
    )
    .option(
      '--initial-model-digest <digest>',
      "digest of the initial model, round 0 (needed for plugin models; the participants' log names it)",
      parseDigestOption('--initial-model-digest'),
    )
    .option(
      '--model-file <path>',
      "a tfjs LayersModel's model.json (weights beside it): the plan starts from it; sets --model, --parameter-count and --initial-model-digest (participants run with the same --model-file)",
      existingPath('--model-file'),
    )
    .addOption(
      new Option(
        '--mode <mode>',
        'secure (masked BFV: nobody reads an update) | he (CKKS: members can) | plain',
      )
        .choices(['secure', 'he', 'plain'])
        .default('secure'),
    )
    .addOption(
      new Option(
        '--he-params <name>',
        `HE parameter set (default: ${DEFAULT_SECURE_PARAMS} in secure mode, ${DEFAULT_HE_PARAMS} in he mode)`,
      ).choices(Object.keys(HE_PARAM_SETS)),
    )
    .option(
      '--phase-seconds <duration>',
      'secure mode: how long each key-exchange phase (advertise, share, unmask) may take',
      parseDuration('--phase-seconds'),
    )
    .option('--seed <n>', 'seed for model init and sampling', parseIntOption('--seed'), 1)
    .action(async (o: ScheduleOptions, cmd: Command) => {
      const startAt = o.startAt ? new Date(o.startAt) : undefined;
      if (o.modelFile) {
        const given = ['model', 'parameterCount', 'initialModelDigest'].filter(
          (k) => o[k as keyof ScheduleOptions] !== undefined && cmd.getOptionValueSource(k) !== 'default',
        );
        if (given.length > 0) {
          throw new UserError(
            `--model-file sets --model, --parameter-count and --initial-model-digest from the file; drop ${given.map((k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(', ')}`,
          );
        }
        const def = await registerModelFile(o.modelFile);
        o.model = def.name;
        o.parameterCount = parameterCount(def.name);
        o.initialModelDigest = initialModelDigest(def.name, o.seed);
      }
      let params: number | undefined = o.parameterCount;
      const builtIn = isBuiltInModel(o.model);
      if (params === undefined) {
        if (!builtIn) {
          throw new UserError(
            `--model ${o.model} is not built in; give its --parameter-count (the length of its flat weights)`,
          );
        }
        params = parameterCount(o.model as ModelName);
      }
      let initial = o.initialModelDigest;
      if (builtIn) {
        const computed = initialModelDigest(o.model as ModelName, o.seed);
        if (initial !== undefined && initial !== computed) {
          throw new UserError(
            `--initial-model-digest ${initial} is not the initial ${o.model} for --seed ${o.seed}, which is ${computed}`,
          );
        }
        initial = computed;
      } else if (initial === undefined) {
        throw new UserError(
          `--model ${o.model} is not built in; give its --initial-model-digest (each participant logs the digest of its initial model)`,
        );
      }
      const plan = await withDb(o, (db) =>
        withQueue(o, (q) =>
          schedulePlan(db, q, {
            id:
              o.planId ??
              `${o.federation}-${new Date()
                .toISOString()
                .replace(/[-:.TZ]/g, '')
                .slice(0, 14)}`,
            federation: o.federation,
            rounds: o.rounds,
            minParticipants: o.minParticipants ?? (o.mode === 'secure' ? MIN_SECAGG_MEMBERS : 2),
            fraction: o.fraction,
            deadlineSeconds: Math.round(o.deadline),
            seenWithinSeconds: Math.round(o.seenWithin),
            onRoundFailure: o.onFailure,
            mode: o.mode,
            heParams: o.heParams ?? (o.mode === 'secure' ? DEFAULT_SECURE_PARAMS : DEFAULT_HE_PARAMS),
            ...(o.phaseSeconds !== undefined ? { phaseSeconds: Math.round(o.phaseSeconds) } : {}),
            parameterCount: params,
            training: trainingSettings(o),
            seed: o.seed,
            initialModelDigest: initial,
            maxUpdateNorm: o.maxUpdateNorm,
            startAt,
            actor: operatorActor(),
          }),
        ),
      );
      process.stdout.write(
        `${JSON.stringify({ plan: plan.id, state: plan.state, rounds: plan.total_rounds, startAt: plan.start_at })}\n`,
      );
    });

  connOptions(rounds.command('list'))
    .description('plans of a federation')
    .option('--json', 'JSON output')
    .action(async (o: ListOptions) => {
      const plans = await withDb(o, (db) => listPlans(db, o.federation));
      const rows = plans.map((p) => ({
        plan: p.id,
        state: p.state,
        rounds: p.total_rounds,
        mode: p.mode,
        model: p.model,
        created: p.created_at.toISOString(),
      }));
      process.stdout.write(o.json ? `${JSON.stringify(rows)}\n` : table(rows));
    });

  connOptions(rounds.command('status'))
    .description('per-round state of a plan (default: the active one)')
    .option('--plan <id>', 'plan id', parsePlanId('--plan'))
    .option('--json', 'JSON output')
    .action(async (o: StatusOptions) => {
      const rows = await withDb(o, async (db) => statusRows(db, await resolvePlan(db, o)));
      process.stdout.write(o.json ? `${JSON.stringify(rows)}\n` : table(rows));
    });

  connOptions(rounds.command('cancel'))
    .description('cancel a plan: its open round fails, no further round opens')
    .option('--plan <id>', 'plan id (default: the active one)', parsePlanId('--plan'))
    .action(async (o: CancelOptions) => {
      await withDb(o, (db) =>
        withQueue(o, async (queue) => {
          const plan = await resolvePlan(db, o);
          // Through the engine, like every other move: audited, with the failed round's model carried over.
          const engine = new RoundEngine({
            db,
            sums: new RunningSums(false),
            jobs: queue,
            log: createLogger('rounds', { level: 'warn' }),
          });
          const { failedRounds } = await engine.cancelPlan(plan.id, operatorActor());
          process.stdout.write(`${JSON.stringify({ plan: plan.id, state: 'cancelled', failedRounds })}\n`);
        }),
      );
    });

  connOptions(rounds.command('watch'))
    .description('live progress: rounds done, submissions vs quorum, time to deadline, last accuracy')
    .option('--plan <id>', 'plan id (default: the active one)', parsePlanId('--plan'))
    .option('--interval <ms>', 'refresh interval', parseIntOption('--interval', 100), 1000)
    .option('--once', 'print one snapshot and exit')
    .action(async (o: WatchOptions) => {
      await withDb(o, async (db) => {
        const tty = process.stdout.isTTY;
        let last = '';
        for (;;) {
          const plan = (await getPlan(db, (await resolvePlan(db, o)).id))!;
          const line = await watchLine(db, plan);
          if (line !== last) {
            process.stdout.write(tty ? `\r\x1b[2K${line}` : `${line}\n`);
            last = line;
          }
          if (o.once || plan.state !== 'running') break;
          await new Promise((r) => setTimeout(r, o.interval));
        }
        if (tty) process.stdout.write('\n');
      });
    });
}

async function statusRows(db: Db, plan: PlanRow) {
  const evals = await roundEvaluations(db, plan.id);
  const accepted = await countContributionsByRound(db, plan.id);
  return (await listRounds(db, plan.id)).map((r) => {
    const ev = evals.find((e) => e.round === r.round);
    return {
      round: r.round,
      state: r.state,
      sampled: r.sampled.length,
      accepted: accepted.get(r.round) ?? 0,
      quorum: r.quorum,
      min: r.min_participants,
      accuracy: ev ? Number(ev.accuracy.toFixed(4)) : null,
      loss: ev ? Number(ev.loss.toFixed(4)) : null,
      opened: r.opened_at.toISOString(),
      deadline: r.deadline_at.toISOString(),
      reason: r.failure_reason ?? '',
    };
  });
}

/** One line: plan state, rounds done, current round's submissions/quorum, time to deadline, last accuracy. */
export async function watchLine(db: Db, plan: PlanRow): Promise<string> {
  const rows = await statusRows(db, plan);
  const done = rows.filter((r) => isFinished(r.state)).length;
  const current = rows.at(-1);
  const lastAcc = [...rows].reverse().find((r) => r.accuracy !== null)?.accuracy;
  const parts = [`plan ${plan.id} [${plan.state}]`, `rounds ${done}/${plan.total_rounds}`];
  if (current && isAccepting(current.state)) {
    const left = Math.max(0, Math.round((Date.parse(current.deadline) - Date.now()) / 1000));
    parts.push(
      `round ${current.round}: ${current.accepted}/${current.quorum} updates (min ${current.min})`,
      `deadline in ${left}s`,
    );
  } else if (current) {
    parts.push(`round ${current.round} ${current.state}`);
  }
  parts.push(
    `last accuracy ${lastAcc === undefined || lastAcc === null ? '-' : `${(lastAcc * 100).toFixed(2)}%`}`,
  );
  return parts.join('  ');
}

export function table(rows: Record<string, unknown>[]): string {
  if (rows.length === 0) return '(none)\n';
  const cols = Object.keys(rows[0]!);
  const cell = (v: unknown) => (v === null || v === undefined ? '' : String(v));
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (vals: string[]) =>
    vals
      .map((v, i) => v.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return `${[line(cols), line(widths.map((w) => '-'.repeat(w))), ...rows.map((r) => line(cols.map((c) => cell(r[c]))))].join('\n')}\n`;
}
