import { status } from '@grpc/grpc-js';

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
  if (err instanceof RpcError) return { code: grpcStatus(err.code), details: err.message, reason: err.reason };
  const e = err as { grpcStatus?: RpcCode; code?: string; message?: string; name?: string };
  if (e?.name === 'KptError' && e.grpcStatus) {
    return { code: grpcStatus(e.grpcStatus), details: e.message ?? 'token refused', reason: String(e.code ?? 'token') };
  }
  if (e?.name === 'HeError') {
    return { code: status.INVALID_ARGUMENT, details: e.message ?? 'invalid ciphertext', reason: String(e.code ?? 'he') };
  }
  return { code: status.INTERNAL, details: 'internal error in the aggregator; see its log', reason: 'internal' };
}
