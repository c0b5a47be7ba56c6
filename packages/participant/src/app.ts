import type { ModelId } from '@kpfl/model';

/** What one round asks of the member's training: the plan's settings for this round. */
export interface FitConfig {
  round: number;
  model: ModelId;
  epochs: number;
  batchSize: number;
  /** Client learning rate. */
  lr: number;
  /** FedProx proximal term (0: off). */
  proxMu: number;
  /** Train on at most this many local examples (undefined: all). */
  maxExamples?: number;
  /** Per plan and round, the same for every member: seed shuffles and subsets from it. */
  seed: number;
}

export interface FitResult {
  /** The trained weights, same length and layout as the global weights given. */
  weights: Float32Array;
  /** Examples trained on: the update is weighted by it in the aggregate. */
  examples: number;
  /** Signed into the attestation; `loss` is the mean training loss of the last epoch. */
  metrics: { loss: number };
}

export interface EvaluateResult {
  accuracy: number;
  loss: number;
  examples: number;
}

/**
 * What a member brings to a federation: its training and evaluation, on data that never leaves it.
 * `runParticipant` drives it: it hands `fit` the agreed global weights of the round, clips,
 * pre-weights, masks, encrypts and attests what `fit` returns, and reports what `evaluate` says of
 * each agreed model. `tfjsApp` is the default (the @kpfl/model trainer on IDX data).
 */
export interface ParticipantApp {
  /** Digest committing to the local data: signed into every attestation (see `dataCommitment`). */
  readonly dataCommitment: string;
  /** Once per plan, before the first evaluation (e.g. pick a tfjs backend); names what it chose. */
  prepare?(model: ModelId): Promise<{ backend: string; skipped?: { backend: string; reason: string }[] }>;
  fit(globalWeights: Float32Array, config: FitConfig): Promise<FitResult>;
  evaluate(globalWeights: Float32Array, model: ModelId): Promise<EvaluateResult>;
}

/** One timed stage of a round, as `ParticipantHooks.onStage` reports it. */
export interface StageTiming {
  round: number;
  stage: 'fit' | 'encode' | 'upload' | 'download' | 'decode' | 'evaluate';
  seconds: number;
  /** Payload bytes (encode, upload, download). */
  bytes?: number;
}

export interface RoundReport {
  round: number;
  accuracy: number;
  loss: number;
  digest: string;
  contributed: boolean;
}

/** The agreed global model after a round, as `ParticipantHooks.onRoundEnd` receives it. */
export interface GlobalModel {
  model: ModelId;
  /** Canonical flat weights; the loop's own array: read it, copy it to keep a changed version. */
  weights: Float32Array;
}

/**
 * Observers of the loop (benchmarks, progress bars, saving the model); a hook that throws (or
 * whose promise rejects) stops the participant.
 */
export interface ParticipantHooks {
  /** A round's work begins: `train` when sampled, `apply` when its published aggregate is applied. */
  onRoundStart?(e: { round: number; kind: 'train' | 'apply' }): void;
  onStage?(t: StageTiming): void;
  /**
   * After each round the participant applied (round 0: the initial model), with its evaluation
   * and the agreed model. The loop waits for a returned promise before it goes on.
   */
  onRoundEnd?(r: RoundReport, global: GlobalModel): void | Promise<void>;
}
