import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  type BenchEnv,
  type ConvergenceResult,
  type ConvergenceSetting,
  formatConvergence,
  formatHeSuite,
  formatOverhead,
  formatScale,
  formatSecure,
  formatStreams,
  type HeSuiteResult,
  type OverheadMode,
  type OverheadResult,
  runConvergence,
  runHeSuite,
  runOverhead,
  runScale,
  runSecureSuite,
  runStreams,
  type ScaleResult,
  SECURE_PARTS,
  type SecureDemoRunner,
  type SecurePart,
  type SecureSuiteResult,
  type StreamsResult,
  writeAccuracyReport,
} from '@kpfl/bench';
import { parsePartitionSpec } from '@kpfl/model';
import { strategyFromSpec } from '@kpfl/strategy';
import { Argument, Command, Option } from 'commander';
import { databaseUrlOption, OPERATOR_DEFAULTS, redisUrlOption } from '../config.js';
import { provisionKits, readMemberKit } from '../kits.js';
import { cliCommand, cliCommandAt, DEFAULT_DATASET, REPO_ROOT } from '../paths.js';
import {
  existingPath,
  outputDir,
  outputFile,
  parseChoiceList,
  parseDuration,
  parseFloatOption,
  parseIntList,
  parseIntOption,
  parsePartitionList,
  parseServerOptimizerOption,
  serverOptimizerHelp,
  UserError,
} from '../user-error.js';
import { type DemoOptions, registerDemo, runDemo } from './demo.js';

const SUITES = ['he', 'overhead', 'scale', 'convergence', 'streams', 'secure'] as const;
type Suite = (typeof SUITES)[number];
const OVERHEAD_MODES = ['plain', 'he', 'local'] as const satisfies readonly OverheadMode[];

interface BenchCliOptions {
  /** A file, or true / '-' for stdout. */
  json?: string | boolean;
  reportDir: string;
  report?: string | boolean;
  dataset: string;
  seed: number;
  timeBudget?: number;
  insecure?: boolean;
  keep?: boolean;
  // he
  sizes: number[];
  repeats?: number;
  // convergence
  maxRounds: number;
  evalEvery: number;
  lr: number;
  optimizer: string;
  proxMu: number;
  /** Partition specs separated by commas (each checked by the parser). */
  partitions: string;
  epochs: number[];
  batchSize: number;
  clients: number;
  fraction: number;
  target: number;
  workers?: number;
  trainLimit?: number;
  testLimit?: number;
  // overhead (the first entry) and secure (rounds)
  participants?: number[];
  /** overhead: default 2000; secure: rounds default 2000, accuracy default all. */
  maxExamples?: number;
  overheadBatchSize: number;
  localEpochs: number;
  model: 'mlp' | 'cnn';
  modes: OverheadMode[];
  // scale
  counts: number[];
  concurrency: number;
  updateSize: number;
  distinctUpdates: number;
  databaseUrl: string;
  redisUrl: string;
  // streams
  streams: number;
  streamMembers: number[];
  streamSeconds: number;
  settle: number;
  aggregatorRoot?: string;
  maxInflightMib?: number;
  // secure
  parts?: SecurePart[];
  simulated?: number[];
  modelParams?: number;
  demoRounds?: number;
}

export interface BenchOutput {
  kpfl: 'bench';
  suites: {
    he?: HeSuiteResult;
    overhead?: OverheadResult;
    scale?: ScaleResult;
    convergence?: ConvergenceResult;
    streams?: StreamsResult;
    secure?: SecureSuiteResult;
  };
  reports: { convergence?: string };
}

/** The kit and process helpers @kpfl/bench's system suites need, from this CLI (default URLs). */
export const benchEnv: BenchEnv = {
  provisionKits,
  readMemberKit,
  cliCommand,
  cliCommandAt,
  databaseUrl: OPERATOR_DEFAULTS.databaseUrl,
  redisUrl: OPERATOR_DEFAULTS.redisUrl,
};

export function registerBench(program: Command): void {
  program
    .command('bench')
    .description(
      'benchmarks: he (CKKS codec vs reference parameters), overhead (one round: plain vs he vs local training), ' +
        'scale (10/100/1,000 simulated participants), convergence (FedAvg on MNIST vs the FedAvg paper), ' +
        'streams (aggregator memory under many slow SubmitUpdate streams), ' +
        'secure (mode secure vs he vs plain: bytes, round time, mask/share and unmask cost, accuracy); default: all six',
    )
    .addArgument(
      new Argument('[suite]', 'the suite to run, or all').choices([...SUITES, 'all']).default('all'),
    )
    .option(
      '--json [file]',
      'also write the results as JSON to this file (no file, or "-": to stdout, and the tables go to stderr)',
      outputFile('--json', { stdout: true }),
    )
    .option(
      '--report-dir <dir>',
      'where the HTML accuracy report goes',
      outputDir('--report-dir'),
      join(REPO_ROOT, 'reports'),
    )
    .option(
      '--report <file>',
      'path of the HTML accuracy report (convergence); --no-report to skip it',
      outputFile('--report', { mkdir: true }),
    )
    .option('--no-report', 'do not write the HTML accuracy report')
    .option(
      '--dataset <dir>',
      'directory with the four MNIST IDX files',
      existingPath('--dataset'),
      DEFAULT_DATASET,
    )
    .option('--seed <n>', 'seed for models, partitions and sampling', parseIntOption('--seed'), 1)
    .option(
      '--time-budget <duration>',
      'bound on each suite run (e.g. 900, 15m); defaults: convergence 15m shared by its settings, overhead 15m, scale 30m',
      parseDuration('--time-budget'),
    )
    .option('--insecure', 'overhead/scale/streams: plaintext gRPC instead of mutual TLS')
    .option('--keep', 'scale/streams: keep the work directories (aggregator logs) and Postgres schemas')
    .addOption(
      new Option('--sizes <list>', 'he: update sizes in parameters')
        .argParser(parseIntList('--sizes'))
        .default([199210, 1663370], '199210,1663370'),
    )
    .option(
      '--repeats <n>',
      'he: timed passes (default 1); overhead: rounds per mode (default 3); secure: passes of masks/unmask, median (default 3)',
      parseIntOption('--repeats', 1),
    )
    .option(
      '--max-rounds <n>',
      'convergence: rounds per setting at most',
      parseIntOption('--max-rounds', 1),
      1000,
    )
    .option(
      '--eval-every <n>',
      'convergence: evaluate on the test set every n rounds',
      parseIntOption('--eval-every', 1),
      1,
    )
    .option(
      '--lr <x>',
      'convergence: client learning rate (one for all settings)',
      parseFloatOption('--lr', 0),
      0.1,
    )
    .option(
      '--optimizer <spec>',
      serverOptimizerHelp('convergence: server optimizer, '),
      parseServerOptimizerOption('--optimizer'),
      'fedavg',
    )
    .option(
      '--prox-mu <x>',
      'convergence: FedProx proximal term (0 = off)',
      parseFloatOption('--prox-mu', 0),
      0,
    )
    .option(
      '--partitions <list>',
      'convergence: partitions to run',
      parsePartitionList('--partitions'),
      'iid,shards:2',
    )
    .addOption(
      new Option('--epochs <list>', 'convergence: local epochs E to run')
        .argParser(parseIntList('--epochs'))
        .default([1, 5], '1,5'),
    )
    .option('--batch-size <n>', 'convergence: local batch size B', parseIntOption('--batch-size', 1), 10)
    .option('--clients <n>', 'convergence: number of clients K', parseIntOption('--clients', 1), 100)
    .option(
      '--fraction <x>',
      'convergence: fraction C of clients per round',
      parseFloatOption('--fraction', 0, 1),
      0.1,
    )
    .option('--target <x>', 'convergence: target test accuracy', parseFloatOption('--target', 0, 1), 0.97)
    .option(
      '--workers <n>',
      'convergence: trainer worker threads (0 = this thread; default one per core)',
      parseIntOption('--workers'),
    )
    .option(
      '--train-limit <n>',
      'convergence: use only the first n training examples',
      parseIntOption('--train-limit', 1),
    )
    .option(
      '--test-limit <n>',
      'convergence: evaluate on the first n test examples only',
      parseIntOption('--test-limit', 1),
    )
    .option(
      '--participants <list>',
      'overhead: participants (one number, default 3); secure: real participants of the round-time runs (default 3,10)',
      parseIntList('--participants'),
    )
    .option(
      '--max-examples <n>',
      'examples per participant per round; overhead: default 2000; secure: both the round-time runs (default 2000) and the accuracy runs (default all)',
      parseIntOption('--max-examples', 1),
    )
    .option(
      '--overhead-batch-size <n>',
      'overhead: local batch size',
      parseIntOption('--overhead-batch-size', 1),
      32,
    )
    .option('--local-epochs <n>', 'overhead: local epochs', parseIntOption('--local-epochs', 1), 1)
    .addOption(
      new Option('--model <name>', 'overhead: mlp (2NN) | cnn').choices(['mlp', 'cnn']).default('mlp'),
    )
    .addOption(
      new Option('--modes <list>', 'overhead: modes to compare, in order')
        .argParser(parseChoiceList('--modes', OVERHEAD_MODES))
        .default([...OVERHEAD_MODES], OVERHEAD_MODES.join(',')),
    )
    .addOption(
      new Option('--counts <list>', 'scale: participant counts')
        .argParser(parseIntList('--counts'))
        .default([10, 100, 1000], '10,100,1000'),
    )
    .option('--concurrency <n>', 'scale: submissions in flight', parseIntOption('--concurrency', 1), 24)
    .option(
      '--update-size <n>',
      'scale: update length in parameters',
      parseIntOption('--update-size', 1),
      199210,
    )
    .option(
      '--distinct-updates <n>',
      'scale: distinct encrypted updates reused by the participants',
      parseIntOption('--distinct-updates', 1),
      4,
    )
    .option(
      '--streams <n>',
      'streams: slow SubmitUpdate streams opened at once',
      parseIntOption('--streams', 1, 1000),
      50,
    )
    .addOption(
      new Option('--stream-members <list>', 'streams: members the streams come from, one run per entry')
        .argParser(parseIntList('--stream-members'))
        .default([1], '1'),
    )
    .option(
      '--stream-seconds <duration>',
      'streams: how long each stream takes to send its chunks',
      parseDuration('--stream-seconds'),
      20,
    )
    .option(
      '--settle <duration>',
      'streams: wait after the load before the after-load reading',
      parseDuration('--settle'),
      15,
    )
    .option(
      '--aggregator-root <dir>',
      "streams: run this kpfl checkout's aggregator instead (to measure another version under the same load)",
      existingPath('--aggregator-root'),
    )
    .option(
      '--max-inflight-mib <n>',
      "streams: the aggregator's --max-inflight-mib (default: its own)",
      parseIntOption('--max-inflight-mib', 1),
    )
    .addOption(
      new Option('--parts <list>', 'secure: the parts to run, in order')
        .argParser(parseChoiceList('--parts', SECURE_PARTS))
        .default([...SECURE_PARTS], SECURE_PARTS.join(',')),
    )
    .addOption(
      new Option('--simulated <list>', 'secure: simulated members of the masks and unmask parts')
        .argParser(parseIntList('--simulated', 3))
        .default([10, 100, 1000], '10,100,1000'),
    )
    .option(
      '--model-params <n>',
      'secure: model length of the masks and unmask parts (default: masks 199210, the 2NN; unmask 7850, kept small so 1,000 members at 30% dropouts stay bounded)',
      parseIntOption('--model-params', 1),
    )
    .option(
      '--demo-rounds <n>',
      'secure: rounds of each round-time demo run, the first not counted',
      parseIntOption('--demo-rounds', 2),
      3,
    )
    .addOption(databaseUrlOption('overhead/scale/streams: Postgres connection URL'))
    .addOption(redisUrlOption('overhead/scale/streams: Redis connection URL'))
    .action(async (suite: Suite | 'all', o: BenchCliOptions) => {
      const out = await runBench(suite, o);
      if (o.json === true || o.json === '-') process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
      const failed = out.suites.scale?.runs.filter((r) => !r.completed) ?? [];
      if (failed.length > 0) {
        throw new UserError(
          `scale: ${failed.map((r) => `${r.participants} participants (${r.error})`).join('; ')} did not complete`,
          1,
        );
      }
    });
}

export async function runBench(suiteArg: string, o: BenchCliOptions): Promise<BenchOutput> {
  const suites: Suite[] =
    suiteArg === 'all'
      ? [...SUITES]
      : SUITES.includes(suiteArg as Suite)
        ? [suiteArg as Suite]
        : (() => {
            throw new UserError(`unknown bench suite "${suiteArg}"; valid: ${SUITES.join(', ')}, all`);
          })();
  // The command line's parsers checked these; checked again here for callers that pass options directly.
  const partitions = o.partitions.split(',').map((s) => s.trim());
  for (const p of partitions) parsePartitionSpec(p);
  strategyFromSpec(o.optimizer);
  if (o.model !== 'mlp' && o.model !== 'cnn')
    throw new UserError(`--model must be mlp or cnn, got "${o.model}"`);
  const { epochs, modes, sizes, counts } = o;
  if (suites.includes('overhead') && (o.participants?.length ?? 0) > 1)
    throw new UserError(
      `--participants takes one number for the overhead suite, got ${o.participants!.join(',')}`,
    );

  const jsonFile = typeof o.json === 'string' && o.json !== '-' ? resolve(o.json) : undefined;
  const toStdout = !(o.json === true || o.json === '-');
  const show = (text: string) => (toStdout ? process.stdout : process.stderr).write(`${text}\n\n`);
  const progress = (line: string) => process.stderr.write(`${line}\n`);
  const output: BenchOutput = { kpfl: 'bench', suites: {}, reports: {} };
  const writeJson = () => {
    if (jsonFile) writeFileSync(jsonFile, `${JSON.stringify(output, null, 2)}\n`);
  };

  for (const suite of suites) {
    const t = performance.now();
    if (suite === 'he') {
      const r = await runHeSuite({ sizes, repeats: o.repeats ?? 1, onProgress: progress });
      output.suites.he = r;
      show(formatHeSuite(r));
    } else if (suite === 'overhead') {
      const r = await runOverhead(
        {
          dataset: o.dataset,
          participants: o.participants?.[0] ?? 3,
          model: o.model,
          batchSize: o.overheadBatchSize,
          localEpochs: o.localEpochs,
          maxExamples: o.maxExamples ?? 2000,
          repeats: o.repeats ?? 3,
          modes,
          seed: o.seed,
          tls: !o.insecure,
          timeBudgetSeconds: o.timeBudget ?? 900,
          onProgress: progress,
        },
        { ...benchEnv, databaseUrl: o.databaseUrl, redisUrl: o.redisUrl },
      );
      output.suites.overhead = r;
      show(formatOverhead(r));
    } else if (suite === 'scale') {
      const r = await runScale(
        {
          counts,
          parameters: o.updateSize,
          distinctUpdates: o.distinctUpdates,
          concurrency: o.concurrency,
          tls: !o.insecure,
          keep: o.keep,
          timeBudgetSeconds: o.timeBudget ?? 1800,
          onProgress: progress,
        },
        { ...benchEnv, databaseUrl: o.databaseUrl, redisUrl: o.redisUrl },
      );
      output.suites.scale = r;
      show(formatScale(r));
    } else if (suite === 'secure') {
      const r = await runSecureSuite(
        {
          parts: o.parts,
          participants: o.participants ?? [3, 10],
          demoRounds: o.demoRounds ?? 3,
          roundMaxExamples: o.maxExamples ?? 2000,
          simulated: o.simulated,
          maskParameters: o.modelParams ?? 199_210,
          unmaskParameters: o.modelParams ?? 7_850,
          repeats: o.repeats ?? 3,
          accuracyMaxExamples: o.maxExamples ?? 0,
          seed: o.seed,
          onProgress: progress,
        },
        { runDemo: secureDemoRunner(o) },
      );
      output.suites.secure = r;
      show(formatSecure(r));
    } else if (suite === 'streams') {
      const r = await runStreams(
        {
          streams: o.streams,
          members: o.streamMembers,
          streamSeconds: o.streamSeconds,
          settleSeconds: o.settle,
          tls: !o.insecure,
          aggregatorRoot: o.aggregatorRoot,
          maxInflightMib: o.maxInflightMib,
          keep: o.keep,
          onProgress: progress,
        },
        { ...benchEnv, databaseUrl: o.databaseUrl, redisUrl: o.redisUrl },
      );
      output.suites.streams = r;
      show(formatStreams(r));
    } else {
      const settings: ConvergenceSetting[] = partitions.flatMap((partition) =>
        epochs.map((e) => ({ partition, epochs: e })),
      );
      const r = await runConvergence({
        dataset: o.dataset,
        settings,
        clients: o.clients,
        fraction: o.fraction,
        batchSize: o.batchSize,
        lr: o.lr,
        target: o.target,
        maxRounds: o.maxRounds,
        timeBudgetSeconds: o.timeBudget ?? 900,
        evalEvery: o.evalEvery,
        optimizer: o.optimizer,
        proxMu: o.proxMu,
        seed: o.seed,
        workers: o.workers,
        trainLimit: o.trainLimit,
        testLimit: o.testLimit,
        onProgress: progress,
      });
      output.suites.convergence = r;
      show(formatConvergence(r));
      if (o.report !== false) {
        const file =
          typeof o.report === 'string'
            ? o.report
            : join(o.reportDir, `convergence-${new Date().toISOString().replace(/[:.]/g, '-')}.html`);
        const path = writeAccuracyReport(
          file,
          r.runs.map((x) => ({
            name: `${x.name}, lr ${x.lr}${x.optimizer !== 'fedavg:lr=1' ? `, ${x.optimizer}` : ''}${x.proxMu ? `, mu ${x.proxMu}` : ''}`,
            points: x.curve.map((p) => ({ round: p.round, accuracy: p.accuracy, loss: p.loss })),
            referenceRounds: x.paper?.rounds ?? null,
          })),
          {
            title: `kpfl bench convergence: ${r.model} on MNIST, test accuracy per round`,
            target: o.target,
            subtitle: `${r.runs[0]?.clients} clients, ${r.runs[0]?.clientsPerRound} per round, B=${o.batchSize}; ${r.simulation}. Dotted verticals: the FedAvg paper's rounds to ${o.target * 100}% (Table 2).`,
            notes: r.runs.map((x) => `${x.name}: ${x.outcome}`),
          },
        );
        output.reports.convergence = path;
        progress(`accuracy report: ${path}`);
        show(`accuracy report written to ${path}`);
      }
    }
    progress(`bench ${suite}: ${((performance.now() - t) / 1000).toFixed(1)} s`);
    writeJson();
  }
  if (jsonFile) progress(`results written to ${jsonFile}`);
  return output;
}

/**
 * The secure suite's demo runs: `kpfl demo` with its own defaults (read from the demo command, so they
 * stay the defaults of `npm run demo`), only mode, participants, rounds, examples and seed set by the
 * suite, and no HTML report.
 */
export function secureDemoRunner(
  o: Pick<BenchCliOptions, 'dataset' | 'insecure' | 'databaseUrl' | 'redisUrl'>,
): SecureDemoRunner {
  return (r, print) =>
    runDemo(
      {
        ...demoDefaults(),
        dataset: o.dataset,
        insecure: o.insecure,
        databaseUrl: o.databaseUrl,
        redisUrl: o.redisUrl,
        mode: r.mode,
        participants: r.participants,
        rounds: r.rounds,
        maxExamples: r.maxExamples,
        seed: r.seed,
        report: false,
        json: false,
        keep: false,
      },
      print,
    );
}

/** The option defaults of `kpfl demo`, as its command line defines them. */
export function demoDefaults(): DemoOptions {
  const program = new Command('kpfl');
  registerDemo(program);
  const demo = program.commands.find((c) => c.name() === 'demo');
  if (!demo) throw new Error('kpfl demo is not registered');
  return demo.opts() as DemoOptions;
}
