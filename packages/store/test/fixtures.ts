import type { NewPlan } from '../src/index.js';

/** A small plain-mode plan of federation `federation`; `over` changes what a test is about. */
export function newPlan(id: string, federation: string, over: Partial<NewPlan> = {}): NewPlan {
  return {
    id,
    federation,
    total_rounds: 3,
    min_participants: 1,
    fraction: 1,
    deadline_seconds: 60,
    on_round_failure: 'continue',
    mode: 'plain',
    he_params: 'compact',
    model: 'mlp',
    parameter_count: 10,
    slot_count: 4096,
    chunk_count: 1,
    training: {
      model: 'mlp',
      localEpochs: 1,
      batchSize: 10,
      learningRate: 0.1,
      proxMu: 0,
      serverOptimizer: 'fedavg',
      maxExamples: 0,
    },
    seed: 1,
    initial_model_digest: `sha256:${'0'.repeat(64)}`,
    ...over,
  };
}
