import type { TrainingSettings } from '@kpfl/store';
import type { Command } from 'commander';
import { parseFloatOption, parseIntOption, parseServerOptimizerOption } from './user-error.js';

export interface TrainingOptions {
  model: string;
  localEpochs: number;
  batchSize: number;
  lr: number;
  maxExamples: number;
  serverOptimizer: string;
  proxMu: number;
}

/**
 * The local-training and server-step options shared by `kpfl demo` and `kpfl rounds schedule`.
 * Defaults: one epoch over all local examples, B=10, lr=0.05 (97.7% after 5 rounds of 3 IID members).
 */
export function addTrainingOptions(cmd: Command): Command {
  return cmd
    .option('--local-epochs <n>', 'local epochs per round (E)', parseIntOption('--local-epochs', 1), 1)
    .option('--batch-size <n>', 'local batch size (B)', parseIntOption('--batch-size', 1), 10)
    .option(
      '--lr <x>',
      'local SGD learning rate',
      parseFloatOption('--lr', 0, Number.POSITIVE_INFINITY, { exclusiveMin: true }),
      0.05,
    )
    .option(
      '--max-examples <n>',
      'local examples per round and participant (0 = all)',
      parseIntOption('--max-examples'),
      0,
    )
    .option(
      '--server-optimizer <spec>',
      'fedavg | fedavgm:lr=1,momentum=0.9 | fedadam:lr=0.01,...',
      parseServerOptimizerOption('--server-optimizer'),
      'fedavg',
    )
    .option('--prox-mu <x>', 'FedProx proximal term (0 = off)', parseFloatOption('--prox-mu', 0), 0);
}

export function trainingSettings(o: TrainingOptions): TrainingSettings {
  return {
    model: o.model,
    localEpochs: o.localEpochs,
    batchSize: o.batchSize,
    learningRate: o.lr,
    proxMu: o.proxMu,
    serverOptimizer: o.serverOptimizer,
    maxExamples: o.maxExamples,
  };
}
