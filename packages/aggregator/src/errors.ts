import { status } from '@grpc/grpc-js';
import { HeInputError, isHeError } from '@kpfl/he';
import { isKptError } from '@kpfl/kpt';

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
 * An error a participant's operator can act on: `reason` is a stable machine-readable code
 * (also used as the metrics label), `message` says what to do.
 */
export class RpcError extends Error {
  constructor(
    readonly code: RpcCode,
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'RpcError';
  }
}

export function grpcStatus(code: RpcCode): status {
  return status[code];
}

/** Maps any thrown value to a gRPC status; unknown errors become INTERNAL without leaking internals. */
export function toServiceError(err: unknown): { code: status; details: string; reason: string } {
  if (err instanceof RpcError)
    return { code: grpcStatus(err.code), details: err.message, reason: err.reason };
  if (isKptError(err)) return { code: grpcStatus(err.grpcStatus), details: err.message, reason: err.code };
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
