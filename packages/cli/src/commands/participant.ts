import { writeFileSync } from 'node:fs';
import { createLogger } from '@kpfl/aggregator';
import type { BackendPreference } from '@kpfl/model';
import { parsePartitionSpec, weightsToBytes } from '@kpfl/model';
import { loadLocalData, runParticipant } from '@kpfl/participant';
import type { Command } from 'commander';
import { identityOf, readMemberKit } from '../kits.js';
import { DEFAULT_DATASET } from '../paths.js';
import { parseIntOption, UserError } from '../user-error.js';

export interface ParticipantCliOptions {
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
  saveModel?: string;
}

export function registerParticipant(program: Command): void {
  program
    .command('participant')
    .description(
      'run a participant: authenticate, train on local data, submit encrypted updates until the plan ends',
    )
    .requiredOption('--kit <dir>', "this member's kit directory (from `kpfl provision`)")
    .option(
      '--aggregator <host:port>',
      'aggregator address',
      process.env.KPFL_AGGREGATOR ?? '127.0.0.1:50051',
    )
    .option('--insecure', 'plaintext gRPC without TLS (loopback testing only)')
    .option(
      '--dataset <dir>',
      'directory with the four IDX files',
      process.env.KPFL_DATASET ?? DEFAULT_DATASET,
    )
    .option(
      '--partition <spec>',
      "simulation: take one client's share of the dataset: iid | shards:N | dirichlet:ALPHA",
    )
    .option(
      '--clients <n>',
      'simulation: number of clients the dataset is split across',
      parseIntOption('--clients', 1),
    )
    .option('--client-index <i>', 'simulation: which share (0-based)', parseIntOption('--client-index', 0))
    .option('--seed <n>', 'partition seed', parseIntOption('--seed'), 1)
    .option('--backend <name>', 'tfjs backend: auto | tensorflow-gpu | tensorflow | wasm | cpu', 'auto')
    .option(
      '--test-limit <n>',
      'evaluate on at most n local test examples',
      parseIntOption('--test-limit', 1),
    )
    .option('--save-model <file>', 'write the final global model (little-endian float32) to this file')
    .option('--json', 'print a JSON summary on stdout when done')
    .action(async (o: ParticipantCliOptions) => {
      const summary = await participantMain(o);
      if (o.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
    });
}

export async function participantMain(o: ParticipantCliOptions) {
  const kit = readMemberKit(o.kit);
  if (kit.kind !== 'kpfl-member-kit')
    throw new UserError(`${o.kit} is an auditor kit; participants need a member kit`);
  const log = createLogger('participant').child({ member: kit.memberId });
  const slice =
    o.partition !== undefined
      ? {
          spec: parsePartitionSpec(o.partition),
          clients: o.clients ?? 1,
          clientIndex: o.clientIndex ?? 0,
          seed: o.seed,
        }
      : undefined;
  const data = await loadLocalData({ dir: o.dataset, slice, testLimit: o.testLimit });
  log.info(
    { examples: data.trainIndices.length, test: data.testLabels.length, event: 'data.loaded' },
    'local data loaded',
  );
  const abort = new AbortController();
  const stop = () => abort.abort();
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  const result = await runParticipant({
    federation: kit.federation,
    memberId: kit.memberId,
    identity: await identityOf(kit),
    coordinatorJwks: kit.coordinatorJwks,
    address: o.aggregator,
    tls: o.insecure ? undefined : kit.tls,
    consortiumKey: kit.heKey,
    data,
    backend: o.backend,
    log,
    signal: abort.signal,
  });
  if (o.saveModel && result.weights) {
    writeFileSync(o.saveModel, weightsToBytes(result.weights));
  }
  return {
    member: kit.memberId,
    backend: result.backend,
    digest: result.digest,
    examples: data.trainIndices.length,
    rounds: result.rounds,
  };
}
