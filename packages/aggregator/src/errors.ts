import { status } from '@grpc/grpc-js';
import { clip, KpflError } from '@kpfl/common';
import { HeInputError, isHeError } from '@kpfl/he';
import { isKptError } from '@kpfl/kpt';
import { KeyEpochError, type KeyEpochErrorCode, RoundStateError } from '@kpfl/store';

export type RpcCode =
  | 'INVALID_ARGUMENT'
  | 'UNAUTHENTICATED'
  | 'PERMISSION_DENIED'
  | 'FAILED_PRECONDITION'
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'RESOURCE_EXHAUSTED'
  | 'UNAVAILABLE'
  | 'INTERNAL';

/**
 * Why the round engine, plan scheduling or certificates refuse something. These are domain
 * errors: they say nothing of gRPC; `toServiceError` below is the one place that gives them a status.
 */
export type RoundErrorCode =
  | 'bad_plan'
  | 'plan_finished'
  | 'no_such_round'
  | 'round_closed'
  | 'late'
  | 'duplicate'
  | 'no_certificate'
  | 'bad_certificate'
  | 'certificate_changed'
  | 'not_signed'
  | 'not_included'
  | 'no_verdict'
  | 'no_key'
  | 'wrong_phase'
  | 'not_in_phase'
  | 'already_done';

export class RoundError extends KpflError<RoundErrorCode> {}

const STATUS_OF: Readonly<Record<RoundErrorCode, RpcCode>> = {
  bad_plan: 'INVALID_ARGUMENT',
  plan_finished: 'FAILED_PRECONDITION',
  no_such_round: 'NOT_FOUND',
  round_closed: 'FAILED_PRECONDITION',
  late: 'FAILED_PRECONDITION',
  duplicate: 'ALREADY_EXISTS',
  no_certificate: 'NOT_FOUND',
  bad_certificate: 'INVALID_ARGUMENT',
  certificate_changed: 'INVALID_ARGUMENT',
  not_signed: 'INVALID_ARGUMENT',
  not_included: 'PERMISSION_DENIED',
  no_verdict: 'INVALID_ARGUMENT',
  no_key: 'FAILED_PRECONDITION',
  // Secure rounds: a key-exchange step out of its phase, by someone the phase does not include, twice.
  wrong_phase: 'FAILED_PRECONDITION',
  not_in_phase: 'PERMISSION_DENIED',
  already_done: 'ALREADY_EXISTS',
};

const KEY_STATUS_OF: Readonly<Record<KeyEpochErrorCode, RpcCode>> = {
  no_epoch: 'NOT_FOUND',
  // An envelope of a retired epoch: not relayed.
  not_current: 'FAILED_PRECONDITION',
  // Another member made this epoch's key first (the database settles the race).
  already_made: 'ALREADY_EXISTS',
  not_made: 'FAILED_PRECONDITION',
  key_mismatch: 'INVALID_ARGUMENT',
  not_holder: 'PERMISSION_DENIED',
  no_envelope: 'NOT_FOUND',
};

/**
 * A refusal decided by the gRPC layer itself (the handlers and the authorization interceptor),
 * where the status is part of the wire contract. `code` (the reason) is stable and is also the
 * metrics label; the message says what to do.
 */
export class RpcError extends KpflError<string> {
  constructor(
    readonly status: RpcCode,
    reason: string,
    message: string,
    /** When to try again (RESOURCE_EXHAUSTED): sent as the `retry-after-ms` trailer. */
    readonly retryAfterMs?: number,
  ) {
    super(reason, message);
  }
}

/**
 * Longest status message (and audited `details`) the aggregator sends. A message may echo what a
 * client sent (an id, a claim a parser complained about): it is cut here, whatever the source.
 */
export const MAX_DETAILS_CHARS = 512;

export interface ServiceError {
  code: status;
  /** At most MAX_DETAILS_CHARS characters, printable. */
  details: string;
  /** Stable: audit `reason`, metrics label. */
  reason: string;
  retryAfterMs?: number;
}

/**
 * Maps any thrown value to a gRPC status; unknown errors become INTERNAL without leaking internals.
 * The details are bounded (MAX_DETAILS_CHARS) and printable: they go to the client, the log and the
 * audit log alike.
 */
export function toServiceError(err: unknown): ServiceError {
  const e = classify(err);
  const details = clip(e.details, MAX_DETAILS_CHARS);
  return err instanceof RpcError && err.retryAfterMs !== undefined
    ? { ...e, details, retryAfterMs: err.retryAfterMs }
    : { ...e, details };
}

function classify(err: unknown): { code: status; details: string; reason: string } {
  if (err instanceof RpcError) return { code: status[err.status], details: err.message, reason: err.code };
  if (err instanceof RoundError)
    return { code: status[STATUS_OF[err.code]], details: err.message, reason: err.code };
  if (err instanceof KeyEpochError)
    return { code: status[KEY_STATUS_OF[err.code]], details: err.message, reason: err.code };
  // A move the state machine refused is a request that came too late or too early (a race).
  if (err instanceof RoundStateError)
    return { code: status.FAILED_PRECONDITION, details: err.message, reason: err.code };
  if (isKptError(err)) return { code: status[err.grpcStatus], details: err.message, reason: err.code };
  if (err instanceof HeInputError)
    return { code: status.INVALID_ARGUMENT, details: err.message, reason: err.code };
  if (isHeError(err) && (err.code === 'UNKNOWN_PARAMS' || err.code === 'PARAMS_MISMATCH')) {
    return { code: status.FAILED_PRECONDITION, details: err.message, reason: err.code };
  }
  return {
    code: status.INTERNAL,
    details: 'internal error in the aggregator; see its log',
    reason: 'internal',
  };
}
