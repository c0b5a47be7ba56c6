import type { TrainingSettings } from '@kpfl/store';
import type { Command } from 'commander';
import { parseFloatOption, parseIntOption } from './user-error.js';

export interface TrainingOptions {
  model: string;
  localEpochs: number;
  batchSize: number;
  lr: number;
  maxExamples: number;
  serverOptimizer: string;
  proxMu: number;
}

/** The local-training and server-step options shared by `kpfl demo` and `kpfl rounds schedule`. */
export function addTrainingOptions(cmd: Command, defaults: { maxExamples: number }): Command {
  return cmd
    .option('--local-epochs <n>', 'local epochs per round (E)', parseIntOption('--local-epochs', 1), 1)
    .option('--batch-size <n>', 'local batch size (B)', parseIntOption('--batch-size', 1), 32)
    .option('--lr <x>', 'local SGD learning rate', parseFloatOption('--lr', 0), 0.1)
    .option(
      '--max-examples <n>',
      'local examples per round and participant (0 = all)',
      parseIntOption('--max-examples'),
      defaults.maxExamples,
    )
    .option('--server-optimizer <spec>', 'fedavg | fedavgm:lr=1,momentum=0.9 | fedadam:lr=0.01,...', 'fedavg')
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
