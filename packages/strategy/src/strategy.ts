import type { Sample, SampleInput } from './sampling.js';
import type { StrategyState } from './state.js';

/** A strategy's numeric parameters, e.g. { lr: 0.01, beta1: 0.9 } (the spec string's key=value pairs). */
export type StrategyParams = Readonly<Record<string, number>>;

/** The part of a round's training settings a strategy may change (the rest passes through). */
export interface RoundTraining {
  proxMu: number;
}

/** What the aggregator does with the plan after a round failed. */
export type RoundFailureAction = 'continue' | 'stop';

export interface RoundFailure {
  round: number;
  /** Contributions the failed round had. */
  contributions: number;
  /** Failed rounds in a row ending with this one (1 = the previous round did not fail). */
  consecutiveFailures: number;
}

/**
 * A federated optimization strategy, split the way HE splits the work. The aggregator sees only
 * ciphertexts, so it decides who takes part and when a round counts (sampling, quorum, training
 * config, failure policy); every participant decrypts the same aggregate and applies the server
 * step itself, in float64 with IEEE-exact operations, so all of them reach the same bits.
 * Obtain one with strategyFromSpec; define one with registerStrategy.
 */
export interface ServerStrategy {
  readonly name: string;
  readonly params: StrategyParams;
  /** The canonical spec string ('fedadam:lr=0.01,beta1=0.9,...'): strategyFromSpec(format()) is this strategy. */
  format(): string;

  // --- aggregator side ---
  /** Who trains in `round`: deterministic, recomputable from the returned seed. */
  sample(input: SampleInput): Sample;
  /** Contributions at which the round closes before its deadline. */
  quorum(input: { sampled: readonly string[]; minParticipants: number }): number;
  /** The training settings the participants of `round` receive. */
  configureRound<T extends RoundTraining>(input: { round: number; training: T }): T;
  /** Whether the plan goes on after a failed round ('stop' ends it as failed). */
  onRoundFailure(failure: RoundFailure): RoundFailureAction;

  // --- participant side ---
  /** The state before the first step, for a model of `length` parameters. */
  initState(length: number): StrategyState;
  /**
   * One server step after decryption: the new global weights (float32); `state` is mutated.
   * `avgDelta` = sum(n_k * delta_k) / sum(n_k) with delta_k = trained_k - global.
   */
  step(state: StrategyState, global: Float32Array, avgDelta: Float64Array): Float32Array;
}
