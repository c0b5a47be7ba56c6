import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkRedis, createLogger, schedulePlan, startLocalAggregator } from '@kpfl/aggregator';
import { writeAccuracyReport } from '@kpfl/bench';
import { DEFAULT_HE_PARAMS, DEFAULT_SECURE_PARAMS } from '@kpfl/he';
import {
  type BackendPreference,
  isBuiltInModel,
  type ModelId,
  parameterCount,
  parsePartitionSpec,
} from '@kpfl/model';
import { loadLocalData } from '@kpfl/participant';
import {
  checkPostgres,
  dropSchema,
  getPlan,
  listRounds,
  migrateSchema,
  planSummary,
  roundEvaluations,
} from '@kpfl/store';
import { strategyFromSpec } from '@kpfl/strategy';
import { deleteRedisPrefix } from '@kpfl/testing';
import { type Command, Option } from 'commander';
import {
  BACKENDS,
  childEnvironment,
  databaseUrlOption,
  OPERATOR_DEFAULTS,
  redisUrlOption,
} from '../config.js';
import {
  addDataOptions,
  checkDataSettings,
  checkModelFitsData,
  type DataSettings,
  dataFlags,
  localDataOptions,
} from '../data-options.js';
import { type CoordinatorKitFile, readCoordinatorKit } from '../kits.js';
import { operatorActor } from '../operator.js';
import { cliCommand, DEFAULT_DATASET } from '../paths.js';
import {
  addTrainingOptions,
  DEFAULT_MAX_UPDATE_NORM,
  initialModelDigest,
  registerModelFile,
  trainingSettings,
} from '../training-options.js';
import {
  existingPath,
  outputDir,
  outputFile,
  parseIntOption,
  parseModelName,
  parsePartitionOption,
  requireService,
  UserError,
} from '../user-error.js';
import { REQUEST_FILE, runCoordinatorInit, runMembersEnroll } from './member.js';

const MODES = ['secure', 'he', 'plain'] as const;

export interface DemoOptions extends DataSettings {
  participants: number;
  rounds: number;
  model: ModelId;
  partition: string;
  dataset: string;
  localEpochs: number;
  batchSize: number;
  lr: number;
  seed: number;
  mode: (typeof MODES)[number];
  maxExamples: number;
  testLimit?: number;
  serverOptimizer: string;
  proxMu: number;
  /** --max-update-norm (default DEFAULT_MAX_UPDATE_NORM; 0 = none). */
  maxUpdateNorm?: number;
  backend: BackendPreference;
  deadline: number;
  insecure?: boolean;
  keep?: boolean;
  json?: boolean;
  /** A tfjs model.json the federation starts from instead of --model. */
  modelFile?: string;
  /** Each participant saves the agreed model after every round into <saveModel>/<member>. */
  saveModel?: string;
  /** HTML accuracy report: a file path, or false for none (default reports/demo-<federation>.html). */
  report?: string | false;
  /** Postgres and Redis to use (the CLI passes --database-url/DATABASE_URL and --redis-url/REDIS_URL). */
  databaseUrl?: string;
  redisUrl?: string;
}

export interface DemoRound {
  round: number;
  participants: number;
  accuracy: number;
  loss: number;
  seconds: number;
}

export interface DemoResult {
  federation: string;
  mode: (typeof MODES)[number];
  /** mlp, cnn, or the layers:... name of --model-file. */
  model: ModelId;
  partition: string;
  participants: number;
  backend: string;
  rounds: DemoRound[];
  finalAccuracy: number;
  finalLoss: number;
  totalSeconds: number;
  bytesPerUpdate: number;
  globalModelDigest: string;
  report?: string;
  workDir?: string;
}

export function registerDemo(program: Command): void {
  const demo = program.command('demo');
  addTrainingOptions(demo);
  addDataOptions(demo);
  demo
    .description(
      'run a throwaway federation on this machine: aggregator + N participants over gRPC, real Postgres and Redis',
    )
    .option('--participants <n>', 'number of participants', parseIntOption('--participants', 1), 3)
    .option('--rounds <n>', 'number of rounds', parseIntOption('--rounds', 1), 5)
    .option(
      '--model <name>',
      'mlp (2NN, 199,210 params) | cnn (1,663,370 params) | dense:F-H-...-C (F inputs, hidden widths, C classes)',
      parseModelName('--model'),
      'mlp',
    )
    .option(
      '--partition <spec>',
      'iid | shards:N | dirichlet:ALPHA',
      parsePartitionOption('--partition'),
      'iid',
    )
    .option(
      '--dataset <path>',
      'the data every participant takes its share of: IDX directory, CSV file or image class folders (see --data-format)',
      existingPath('--dataset'),
      DEFAULT_DATASET,
    )
    .option('--seed <n>', 'seed for model init, partitions, sampling', parseIntOption('--seed'), 1)
    .addOption(
      new Option(
        '--mode <mode>',
        'secure (masked BFV: nobody reads an update) | he (CKKS: members can) | plain',
      )
        .choices(MODES)
        .default('secure'),
    )
    .option(
      '--test-limit <n>',
      'local test examples each participant evaluates on',
      parseIntOption('--test-limit', 1),
    )
    .addOption(
      new Option('--backend <name>', 'tfjs backend for participants').choices(BACKENDS).default('auto'),
    )
    .option('--deadline <seconds>', 'round deadline in seconds', parseIntOption('--deadline', 1), 600)
    .option('--insecure', 'plaintext gRPC instead of mutual TLS')
    .option(
      '--model-file <path>',
      "start from a tfjs LayersModel's model.json (weights beside it) instead of --model",
      existingPath('--model-file'),
    )
    .option(
      '--save-model <dir>',
      'each participant saves the agreed model after every round into <dir>/<member> (tfjs format)',
      outputDir('--save-model'),
    )
    .option('--keep', 'keep the work directory and database schema')
    .option(
      '--report <file>',
      'HTML accuracy-per-round report (default reports/demo-<federation>.html)',
      outputFile('--report', { mkdir: true }),
    )
    .option('--no-report', 'do not write the HTML report')
    .option('--json', 'print one JSON object at the end instead of the table')
    .addOption(databaseUrlOption())
    .addOption(redisUrlOption())
    .action(async (o: DemoOptions) => {
      const result = await runDemo(o, o.json ? () => {} : (line) => process.stdout.write(`${line}\n`));
      if (o.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    });
}

/** The dataset loads as the participants will read it, and fits the model: checked before anything is made. */
async function checkDemoData(o: DemoOptions, model: ModelId): Promise<void> {
  checkModelFitsData(model, await loadLocalData({ dir: o.dataset, ...localDataOptions(o) }), o.dataset);
}

/** Runs the demo federation; `print` receives the human-readable progress lines. */
export async function runDemo(o: DemoOptions, print: (line: string) => void): Promise<DemoResult> {
  // The CLI's parsers refuse these already; runDemo is also called directly (tests, harness).
  if (!(MODES as readonly string[]).includes(o.mode))
    throw new UserError(`--mode must be ${MODES.join(', ')}, got "${o.mode}"`);
  if (!isBuiltInModel(o.model))
    throw new UserError(`--model must be mlp, cnn or dense:F-H-...-C, got "${o.model}"`);
  checkDataSettings(o);
  parsePartitionSpec(o.partition);
  strategyFromSpec(o.serverOptimizer);
  // A bad --model-file is refused here, before anything is created.
  const model: ModelId = o.modelFile ? (await registerModelFile(o.modelFile)).name : o.model;
  const databaseUrl = o.databaseUrl ?? OPERATOR_DEFAULTS.databaseUrl;
  const redisUrl = o.redisUrl ?? OPERATOR_DEFAULTS.redisUrl;
  // Everything that can be wrong is checked before anything is created: no half-made federation.
  await checkDemoData(o, model);
  await checkPostgres(databaseUrl);
  await requireService('Redis', () => checkRedis(redisUrl));
  const started = performance.now();
  const id = randomBytes(4).toString('hex');
  const federation = `demo-${id}`;
  const schema = `demo_${id}`;
  const redisPrefix = `kpfl-demo:${id}`;
  const work = mkdtempSync(join(tmpdir(), 'kpfl-demo-'));
  const members = Array.from({ length: o.participants }, (_, i) => `member-${i + 1}`);
  const children: ChildProcess[] = [];
  let agg: Awaited<ReturnType<typeof startLocalAggregator>> | undefined;
  try {
    print(
      `kpfl demo: ${o.participants} participants, ${o.rounds} rounds, ${model}, ${o.partition}, mode ${o.mode}${o.insecure ? ' (insecure gRPC)' : ', mutual TLS'}`,
    );
    const coordinator = await enrollFederation({
      federation,
      heParams: heParamsOf(o.mode),
      members,
      auditors: ['auditor-1'],
      work,
      schema,
      databaseUrl,
      print,
    });
    agg = await startLocalAggregator(coordinator, {
      schema,
      ownerDatabaseUrl: databaseUrl,
      insecure: o.insecure,
      actor: operatorActor(),
      redisPrefix,
      redisUrl,
      metricsPort: 0,
      log: createLogger('aggregator', { file: join(work, 'aggregator.log') }),
    });
    const plan = await schedulePlan(agg.db, agg.queue, {
      id: `${federation}-plan`,
      federation,
      rounds: o.rounds,
      minParticipants: o.participants,
      fraction: 1,
      deadlineSeconds: o.deadline,
      mode: o.mode,
      heParams: heParamsOf(o.mode),
      parameterCount: parameterCount(model),
      training: trainingSettings({ ...o, model }),
      seed: o.seed,
      initialModelDigest: initialModelDigest(model, o.seed),
      maxUpdateNorm: o.maxUpdateNorm ?? DEFAULT_MAX_UPDATE_NORM,
    });
    print(
      `aggregator on 127.0.0.1:${agg.port}, metrics on http://127.0.0.1:${agg.metricsPort}/metrics, logs in ${work}`,
    );
    const summaries: { backend?: string }[] = [];
    const exits: Promise<void>[] = members.map((member, i) => {
      const args = [
        'participant',
        '--kit',
        join(work, 'members', member),
        '--aggregator',
        `localhost:${agg!.port}`,
        '--dataset',
        o.dataset,
        '--partition',
        o.partition,
        '--clients',
        String(o.participants),
        '--client-index',
        String(i),
        '--seed',
        String(o.seed),
        '--backend',
        o.backend,
        '--json',
        ...(o.modelFile ? ['--model-file', o.modelFile] : []),
        ...(o.saveModel ? ['--save-model', join(o.saveModel, member)] : []),
        ...(o.testLimit ? ['--test-limit', String(o.testLimit)] : []),
        ...(o.insecure ? ['--insecure'] : []),
        ...dataFlags(o),
      ];
      const { cmd, args: argv } = cliCommand(args);
      const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: childEnvironment() });
      children.push(child);
      const logFile = join(work, `${member}.log`);
      child.stderr!.pipe(createWriteStream(logFile));
      let out = '';
      child.stdout!.on('data', (b) => (out += b));
      return new Promise<void>((resolve, reject) =>
        child.on('exit', (code, signal) => {
          if (code === 0) {
            summaries[i] = JSON.parse(out.trim().split('\n').at(-1) ?? '{}');
            resolve();
          } else {
            reject(
              new Error(
                `participant ${member} exited with ${code ?? signal}; last log lines:\n${tail(logFile, 8)}`,
              ),
            );
          }
        }),
      );
    });
    const allExited = Promise.all(exits);
    let failed: unknown;
    allExited.catch((err) => (failed = err));

    const rounds: DemoRound[] = [];
    let done = false;
    allExited.then(
      () => (done = true),
      () => {},
    );
    while (!failed) {
      const evals = await roundEvaluations(agg.db, plan.id);
      for (const r of await listRounds(agg.db, plan.id)) {
        if (rounds.some((x) => x.round === r.round)) continue;
        const ev = evals.find((e) => e.round === r.round);
        const finished = r.state === 'published' || r.state === 'failed';
        if (!finished || !ev || (ev.reports < o.participants && !done)) break;
        const seconds =
          ((r.published_at ?? r.closed_at ?? new Date()).getTime() - r.opened_at.getTime()) / 1000;
        const line = {
          round: r.round,
          participants: r.contributions,
          accuracy: ev.accuracy,
          loss: ev.loss,
          seconds,
        };
        rounds.push(line);
        print(
          `round ${String(r.round).padStart(3)}/${o.rounds}  ${r.state === 'failed' ? 'FAILED     ' : `updates ${r.contributions}/${r.quorum}`}  accuracy ${(ev.accuracy * 100).toFixed(2)}%  loss ${ev.loss.toFixed(4)}  ${seconds.toFixed(1)} s`,
        );
      }
      const p = await getPlan(agg.db, plan.id);
      if (done && p?.state !== 'running') break;
      await new Promise((r) => setTimeout(r, 250));
    }
    if (failed) throw failed;
    const summary = await planSummary(agg.db, plan.id);
    const last = rounds.at(-1);
    const result: DemoResult = {
      federation,
      mode: o.mode,
      model,
      partition: o.partition,
      participants: o.participants,
      backend: summaries[0]?.backend ?? 'unknown',
      rounds,
      finalAccuracy: last?.accuracy ?? 0,
      finalLoss: last?.loss ?? 0,
      totalSeconds: (performance.now() - started) / 1000,
      bytesPerUpdate: summary.meanContributionBytes ?? 0,
      globalModelDigest: summary.globalModelDigest ?? '',
      workDir: o.keep ? work : undefined,
    };
    if (o.report !== false) {
      result.report = writeAccuracyReport(
        typeof o.report === 'string' ? o.report : join('reports', `${federation}.html`),
        [
          {
            name: `${o.mode} · ${model} · ${o.partition}`,
            points: rounds.map((r) => ({ round: r.round, accuracy: r.accuracy, loss: r.loss })),
          },
        ],
        {
          title: `kpfl demo ${federation}`,
          subtitle: `${o.participants} participants, E=${o.localEpochs}, B=${o.batchSize}, lr=${o.lr}, ${o.maxExamples || 'all'} examples per round, backend ${result.backend}`,
        },
      );
    }
    print(
      `${result.report ? `accuracy report: ${result.report}\n` : ''}done: final accuracy ${(result.finalAccuracy * 100).toFixed(2)}% after ${rounds.length} rounds in ${result.totalSeconds.toFixed(1)} s; backend ${result.backend}; ${(result.bytesPerUpdate / 1024).toFixed(0)} KiB per update; global model ${result.globalModelDigest}`,
    );
    return result;
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
    await agg?.close();
    if (!o.keep) {
      await dropSchema(databaseUrl, schema).catch(() => {});
      await deleteRedisPrefix(redisPrefix, redisUrl).catch(() => {});
      rmSync(work, { recursive: true, force: true });
    }
  }
}

/**
 * The federation as a consortium would make it (README, "Deploying"): the coordinator kit here, and
 * each member's keys made by its own `kpfl member init` process in its own directory, so that this
 * process, which runs the aggregator, never holds a member's private key. The requests and responses
 * pass through work/exchange; the consortium HE key is made by the participants once they run.
 */
async function enrollFederation(o: {
  federation: string;
  heParams: string;
  members: string[];
  auditors: string[];
  work: string;
  schema: string;
  databaseUrl: string;
  print: (line: string) => void;
}): Promise<CoordinatorKitFile> {
  const started = performance.now();
  const quiet = () => {};
  await runCoordinatorInit(
    { federation: o.federation, out: o.work, heParams: o.heParams, json: true },
    quiet,
  );
  await migrateSchema(o.databaseUrl, o.schema);
  const parties = [
    ...o.members.map((id) => ({ id, role: 'participant', dir: join(o.work, 'members', id) })),
    ...o.auditors.map((id) => ({ id, role: 'auditor', dir: join(o.work, 'auditors', id) })),
  ];
  const exchange = join(o.work, 'exchange');
  mkdirSync(exchange, { recursive: true });
  await Promise.all(
    parties.map((p) =>
      runKpflStep([
        'member',
        'init',
        '--federation',
        o.federation,
        '--member',
        p.id,
        '--role',
        p.role,
        '--out',
        p.dir,
      ]),
    ),
  );
  const kit = join(o.work, 'coordinator');
  for (const p of parties) {
    copyFileSync(join(p.dir, REQUEST_FILE), join(exchange, `${p.id}.request.json`));
    await runMembersEnroll(
      {
        request: join(exchange, `${p.id}.request.json`),
        kit,
        responseOut: join(exchange, `${p.id}.response.json`),
        schema: o.schema,
        databaseUrl: o.databaseUrl,
        json: true,
      },
      quiet,
    );
  }
  await Promise.all(
    parties.map((p) =>
      runKpflStep(['member', 'join', '--response', join(exchange, `${p.id}.response.json`), '--kit', p.dir]),
    ),
  );
  o.print(
    `enrolled ${o.members.length} members and ${o.auditors.length} auditor with keys they made themselves (${((performance.now() - started) / 1000).toFixed(1)} s); the participants will make the HE key`,
  );
  return readCoordinatorKit(kit);
}

/** Runs one `kpfl` command as a member would, in its own process; its output only when it fails. */
function runKpflStep(args: string[]): Promise<void> {
  const { cmd, args: argv } = cliCommand(args);
  const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: childEnvironment() });
  let out = '';
  child.stdout!.on('data', (b) => (out += b));
  child.stderr!.on('data', (b) => (out += b));
  return new Promise((resolve, reject) =>
    child.on('exit', (code, signal) =>
      code === 0
        ? resolve()
        : reject(
            new Error(`kpfl ${args.slice(0, 2).join(' ')} exited with ${code ?? signal}: ${out.trim()}`),
          ),
    ),
  );
}

function tail(file: string, n: number): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-n).join('\n');
  } catch {
    return '(no log)';
  }
}

/** The HE parameter set of a demo federation: its key must be of the plan's scheme. */
function heParamsOf(mode: (typeof MODES)[number]): string {
  return mode === 'secure' ? DEFAULT_SECURE_PARAMS : DEFAULT_HE_PARAMS;
}
