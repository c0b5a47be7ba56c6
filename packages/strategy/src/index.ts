/**
 * @kpfl/strategy: the ServerStrategy seam. Aggregator side: sampling, quorum, per-round training
 * config, failure policy. Participant side: the bit-exact server step after decryption and its
 * serializable state. Spec strings ('fedadam:lr=0.01,...') name a registered strategy.
 * Knows nothing of gRPC, Postgres, HE, tfjs or the roles.
 */
import './builtins.js';

export { StrategyError, type StrategyErrorCode } from './errors.js';
export {
  registerStrategy,
  type StrategyDefinition,
  type StrategyImplementation,
  strategyFromSpec,
  strategyNames,
} from './registry.js';
export type { Sample, SampleInput } from './sampling.js';
export { cloneState, type StrategyState, serverStateFromBytes, serverStateToBytes } from './state.js';
export type {
  RoundFailure,
  RoundFailureAction,
  RoundTraining,
  ServerStrategy,
  StrategyParams,
} from './strategy.js';
