import { KpflError } from '@kpfl/common';

/** Error codes a StrategyError can carry (stable; match on `code`, not on the message). */
export type StrategyErrorCode =
  /** A spec string names no registered strategy, or a parameter is unknown, unparsable or out of range. */
  | 'BAD_SERVER_OPTIMIZER'
  /** `registerStrategy` was called twice for one name, or with a malformed definition. */
  | 'DUPLICATE_STRATEGY'
  | 'BAD_STRATEGY_DEFINITION'
  /** A server step was given inputs that do not fit its state (lengths, names, non-finite values). */
  | 'BAD_STEP_INPUT'
  /** Bytes that are not a server state this version can read. */
  | 'BAD_STATE_BYTES';

/**
 * The code BAD_SERVER_OPTIMIZER is the one @kpfl/model's parser used: callers that matched on it
 * (the CLI's option errors) keep working.
 */
export class StrategyError extends KpflError<StrategyErrorCode> {
  override readonly name = 'StrategyError';
}
