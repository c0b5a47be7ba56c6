import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createLogger } from '@kpfl/aggregator';
import { importEncryptionKey } from '@kpfl/kpt';
import {
  type BackendPreference,
  dataCommitment,
  loadIdxDataset,
  ModelConfigError,
  type ModelDefinition,
  parsePartitionSpec,
  registerModel,
  saveLayersModel,
  selectBackend,
} from '@kpfl/model';
import {
  HeKeyStore,
  loadLocalData,
  MemberKeys,
  type ParticipantHooks,
  type ParticipantPlugin,
  type ParticipantPluginContext,
  runParticipant,
  tfjsApp,
} from '@kpfl/participant';
import * as tf from '@tensorflow/tfjs';
import { type Command, Option } from 'commander';
import { z } from 'zod';
import {
  BACKENDS,
  CONFIG_OPTION_HELP,
  defaultOf,
  envNote,
  explicitOptions,
  LOG_LEVELS,
  loadRoleConfig,
  type RoleFlags,
  startHeartbeat,
} from '../config.js';
import { addDataOptions, checkModelFitsData, type DataSettings, localDataOptions } from '../data-options.js';
import { identityOf, readMemberKit } from '../kits.js';
import { registerModelFile } from '../training-options.js';
import {
  existingPath,
  firstZodIssue,
  outputDir,
  outputFile,
  parseHostPort,
  parseIntOption,
  parsePartitionOption,
  UserError,
} from '../user-error.js';
import { kitDirOf } from './he-key.js';

export interface ParticipantCliOptions extends DataSettings {
  kit: string;
  aggregator: string;
  insecure?: boolean;
  dataset: string;
  partition?: string;
  clients?: number;
  clientIndex?: number;
  seed: number;
  backend: BackendPreference;
  testLimit?: number;
  json?: boolean;
  /** A tfjs model.json to register (members of a plan scheduled with --model-file need the same file). */
  modelFile?: string;
  /** Directory the agreed global model is saved into after each round, in the tfjs format. */
  saveModel?: string;
  /** Module adding models and/or a dataset loader (see ParticipantPlugin). */
  plugin?: string;
  /** Touched every 10 s while the process is alive (container health check). */
  healthFile?: string;
  logLevel?: string;
}

const env = envNote;

export function registerParticipant(program: Command): void {
  const cmd = program.command('participant');
  addDataOptions(cmd, (key) => env('participant', key));
  cmd
    .description(
      'run a participant: authenticate, train on local data, submit encrypted updates until the plan ends',
    )
    .option('--config <file>', CONFIG_OPTION_HELP, existingPath('--config'))
    .option(
      '--kit <dir>',
      `this member's kit directory (from \`kpfl provision\`)${env('participant', 'kit')}`,
      existingPath('--kit'),
    )
    .option(
      '--aggregator <host:port>',
      `aggregator address${env('participant', 'aggregator')}`,
      parseHostPort('--aggregator', 'aggregator:50051'),
      defaultOf('participant', 'aggregator') as string,
    )
    .option(
      '--insecure',
      `plaintext gRPC without TLS (loopback testing only)${env('participant', 'insecure')}`,
    )
    .option(
      '--dataset <dir>',
      `the local data: a directory of the four IDX files, a CSV file (or a directory with train.csv and test.csv), a directory of class folders of images, or what --plugin's loadData reads${env('participant', 'dataset')}`,
      existingPath('--dataset'),
      defaultOf('participant', 'dataset') as string,
    )
    .option(
      '--partition <spec>',
      `simulation: take one client's share of the dataset: iid | shards:N | dirichlet:ALPHA${env('participant', 'partition')}`,
      parsePartitionOption('--partition'),
    )
    .option(
      '--clients <n>',
      `simulation: number of clients the dataset is split across${env('participant', 'clients')}`,
      parseIntOption('--clients', 1),
    )
    .option(
      '--client-index <i>',
      `simulation: which share (0-based)${env('participant', 'clientIndex')}`,
      parseIntOption('--client-index', 0),
    )
    .option(
      '--seed <n>',
      `partition seed${env('participant', 'seed')}`,
      parseIntOption('--seed'),
      defaultOf('participant', 'seed') as number,
    )
    .addOption(
      new Option('--backend <name>', `tfjs backend${env('participant', 'backend')}`)
        .choices(BACKENDS)
        .default(defaultOf('participant', 'backend') as string),
    )
    .option(
      '--test-limit <n>',
      `evaluate on at most n local test examples${env('participant', 'testLimit')}`,
      parseIntOption('--test-limit', 1),
    )
    .option(
      '--model-file <path>',
      `a tfjs LayersModel's model.json (weights beside it) that the plan starts from${env('participant', 'modelFile')}`,
      existingPath('--model-file'),
    )
    .option(
      '--save-model <dir>',
      `after each agreed round, save the global model into this directory as a tfjs LayersModel${env('participant', 'saveModel')}`,
      outputDir('--save-model'),
    )
    .option(
      '--plugin <module>',
      `module that registers custom models and/or loads the local data (see docs/deploy.md)${env('participant', 'plugin')}`,
      existingPath('--plugin'),
    )
    .option(
      '--health-file <file>',
      `touch this file every 10 s while alive (for container health checks)${env('participant', 'healthFile')}`,
      outputFile('--health-file', { mkdir: true }),
    )
    .addOption(
      new Option('--log-level <level>', `pino log level${env('participant', 'logLevel')}`).choices(
        LOG_LEVELS,
      ),
    )
    .option('--json', 'print a JSON summary on stdout when done')
    .action(async (o: RoleFlags<'participant'>, cmd: Command) => {
      const { config: c } = loadRoleConfig('participant', { file: o.config, cli: explicitOptions(cmd) });
      const summary = await participantMain(c);
      if (c.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
    });
}

const dims = z.array(z.number().int().positive('must be a positive integer'));

/** What a plugin's model definitions must look like (the functions are checked to be functions only). */
const modelDefinitionSchema = z
  .object({
    name: z
      .string()
      .min(1, 'required')
      .refine(
        (n) => n !== 'mlp' && n !== 'cnn',
        (n) => ({ message: `'${n}' is built in; choose another name` }),
      ),
    inputShape: dims.min(1, 'expected the shape of one example, e.g. [784]'),
    numClasses: z.number().int().min(2, 'expected an integer >= 2'),
    layers: z
      .array(
        z.object({
          name: z.string().min(1, 'required'),
          shape: dims,
          init: z.enum(['glorot_uniform', 'zeros', 'ones']),
        }),
      )
      .min(1, 'a model needs at least one weight tensor'),
    build: z.custom<ModelDefinition['build']>((v) => typeof v === 'function', 'expected a function'),
    forward: z
      .custom<ModelDefinition['forward']>((v) => typeof v === 'function', 'expected a function')
      .optional(),
    trainingKernels: z.array(z.string()).optional(),
  })
  .passthrough();

/** A plugin: `models` and/or `loadData`, nothing else (a misspelt key must not be ignored). */
const pluginSchema = z
  .object({
    models: z.array(modelDefinitionSchema).optional(),
    loadData: z
      .custom<ParticipantPlugin['loadData']>((v) => typeof v === 'function', 'expected a function')
      .optional(),
  })
  .strict();

export async function loadParticipantPlugin(file: string): Promise<ParticipantPlugin> {
  let mod: Record<string, unknown>;
  try {
    mod = await import(pathToFileURL(resolve(file)).href);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new UserError(
      err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes(resolve(file))
        ? `plugin ${file} does not exist`
        : `plugin ${file} failed to load: ${err.message}`,
      undefined,
      { cause: e },
    );
  }
  // The default export, or else the module's own `models` and `loadData` exports.
  let plugin: unknown =
    mod.default !== undefined
      ? mod.default
      : Object.fromEntries(
          Object.entries({ models: mod.models, loadData: mod.loadData }).filter(([, v]) => v !== undefined),
        );
  if (typeof plugin === 'function') {
    const ctx: ParticipantPluginContext = {
      tf,
      registerModel,
      loadIdxDataset,
      dataCommitment,
      loadLocalData,
    };
    try {
      plugin = await (plugin as (c: ParticipantPluginContext) => unknown)(ctx);
    } catch (e) {
      throw new UserError(
        `plugin ${file}: its default export threw: ${(e as Error)?.message ?? String(e)}`,
        undefined,
        {
          cause: e,
        },
      );
    }
  }
  if (plugin === null || typeof plugin !== 'object' || Array.isArray(plugin))
    throw new UserError(
      `plugin ${file} must export an object { models?, loadData? } or a function returning one`,
    );
  const parsed = pluginSchema.safeParse(plugin);
  if (!parsed.success)
    throw new UserError(`plugin ${file}: ${firstZodIssue(parsed.error)}`, undefined, { cause: parsed.error });
  // The plugin's own objects, not zod's copies: definitions keep their methods and `this`.
  const p = plugin as ParticipantPlugin;
  for (const def of p.models ?? []) {
    try {
      registerModel(def);
    } catch (e) {
      if (e instanceof ModelConfigError)
        throw new UserError(`plugin ${file}: ${e.message}`, undefined, { cause: e });
      throw e;
    }
  }
  return p;
}

/** The onRoundEnd hook of --save-model: the agreed model of every applied round replaces the last. */
function saveEachRound(
  dir: string,
  log: ReturnType<typeof createLogger>,
): NonNullable<ParticipantHooks['onRoundEnd']> {
  return async (r, g) => {
    await saveLayersModel(dir, g.model, g.weights);
    log.info(
      { round: r.round, path: dir, digest: r.digest, event: 'model.saved' },
      `saved the round ${r.round} model to ${dir}`,
    );
  };
}

export async function participantMain(o: ParticipantCliOptions) {
  // An explicitly requested backend must exist before anything else happens: fail fast, naming the package.
  if (o.backend !== 'auto') await selectBackend(o.backend, 'mlp');
  const kit = readMemberKit(o.kit);
  if (kit.kind !== 'kpfl-member-kit')
    throw new UserError(`${o.kit} is an auditor kit; participants need a member kit`);
  const log = createLogger('participant', { level: o.logLevel }).child({ member: kit.memberId });
  const stopHeartbeat = o.healthFile ? startHeartbeat(o.healthFile) : () => {};
  const plugin = o.plugin ? await loadParticipantPlugin(o.plugin) : undefined;
  const fileModel = o.modelFile ? await registerModelFile(o.modelFile) : undefined;
  if (fileModel) {
    log.info(
      { model: fileModel.name, file: o.modelFile, event: 'model.registered' },
      `model ${fileModel.name} from ${o.modelFile}`,
    );
  }
  const partitionSpec = o.partition;
  const slice =
    partitionSpec !== undefined
      ? {
          spec: parsePartitionSpec(partitionSpec),
          clients: o.clients ?? 1,
          clientIndex: o.clientIndex ?? 0,
          seed: o.seed,
        }
      : undefined;
  const data = plugin?.loadData
    ? await plugin.loadData({ dir: o.dataset, slice, testLimit: o.testLimit })
    : await loadLocalData({ dir: o.dataset, slice, testLimit: o.testLimit, ...localDataOptions(o) });
  log.info(
    { examples: data.trainIndices.length, test: data.testLabels.length, event: 'data.loaded' },
    'local data loaded',
  );
  // The member knows its model before any task: a file that does not fit the data stops here, before
  // it connects, rather than inside the first fit or evaluation.
  if (fileModel) checkModelFitsData(fileModel.name, data, o.dataset);
  const abort = new AbortController();
  const stop = () => abort.abort();
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  const identity = await identityOf(kit);
  const encryption = kit.encryption ? await importEncryptionKey(kit.encryption.privateJwk) : undefined;
  const result = await runParticipant({
    federation: kit.federation,
    memberId: kit.memberId,
    identity,
    coordinatorJwks: kit.coordinatorJwks,
    address: o.aggregator,
    tls: o.insecure ? undefined : kit.tls,
    consortiumKey: kit.heKey,
    // Keys per epoch in the kit directory: made, fetched and delivered among the members.
    heKeys: encryption
      ? (conn) =>
          new MemberKeys({
            federation: kit.federation,
            memberId: kit.memberId,
            identity,
            encryption,
            conn,
            store: new HeKeyStore(kitDirOf(o.kit)),
            trustedJwks: kit.federationJwks,
            log,
          })
      : undefined,
    app: tfjsApp(data, { backend: o.backend }),
    hooks: o.saveModel ? { onRoundEnd: saveEachRound(o.saveModel, log) } : undefined,
    log,
    signal: abort.signal,
  });
  stopHeartbeat();
  return {
    member: kit.memberId,
    backend: result.backend,
    digest: result.digest,
    examples: data.trainIndices.length,
    rounds: result.rounds,
  };
}
