import { KpflError } from '@kpfl/common';

/**
 * SecAggError: what @kpfl/secagg throws for anything a caller or a peer can cause (bad parameters, a
 * key that is not X25519, too few shares). Like KptError, `code` is stable (tests, logs and clients
 * match on it) and `grpcStatus` is what an RPC handler should answer with; the message says what to do.
 */
export type SecAggErrorCode =
  | 'MODULUS_INVALID'
  | 'LENGTH_INVALID'
  | 'VALUE_OUT_OF_RANGE'
  | 'SEED_INVALID'
  | 'KEY_INVALID'
  | 'LOW_ORDER_POINT'
  | 'CONTEXT_INVALID'
  | 'PEERS_INVALID'
  | 'MEMBERS_INVALID'
  | 'TOO_FEW_MEMBERS'
  | 'DEGREE_INVALID'
  | 'HOLDERS_INVALID'
  | 'THRESHOLD_INVALID'
  | 'SECRET_INVALID'
  | 'SHARE_INVALID'
  | 'TOO_FEW_SHARES'
  | 'SHARES_INCONSISTENT';

export type SecAggGrpcStatus = 'INVALID_ARGUMENT' | 'FAILED_PRECONDITION';

export const SECAGG_GRPC_STATUS_OF: Readonly<Record<SecAggErrorCode, SecAggGrpcStatus>> = Object.freeze({
  MODULUS_INVALID: 'INVALID_ARGUMENT',
  LENGTH_INVALID: 'INVALID_ARGUMENT',
  VALUE_OUT_OF_RANGE: 'INVALID_ARGUMENT',
  SEED_INVALID: 'INVALID_ARGUMENT',
  KEY_INVALID: 'INVALID_ARGUMENT',
  LOW_ORDER_POINT: 'INVALID_ARGUMENT',
  CONTEXT_INVALID: 'INVALID_ARGUMENT',
  PEERS_INVALID: 'INVALID_ARGUMENT',
  MEMBERS_INVALID: 'INVALID_ARGUMENT',
  TOO_FEW_MEMBERS: 'FAILED_PRECONDITION',
  DEGREE_INVALID: 'INVALID_ARGUMENT',
  HOLDERS_INVALID: 'INVALID_ARGUMENT',
  THRESHOLD_INVALID: 'INVALID_ARGUMENT',
  SECRET_INVALID: 'INVALID_ARGUMENT',
  SHARE_INVALID: 'INVALID_ARGUMENT',
  // too few survivors returned shares: the round cannot be unmasked and must fail cleanly
  TOO_FEW_SHARES: 'FAILED_PRECONDITION',
  SHARES_INCONSISTENT: 'INVALID_ARGUMENT',
});

export class SecAggError extends KpflError<SecAggErrorCode> {
  override readonly name = 'SecAggError';
  readonly grpcStatus: SecAggGrpcStatus;

  constructor(code: SecAggErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.grpcStatus = SECAGG_GRPC_STATUS_OF[code];
  }

  override toJSON(): { name: string; code: SecAggErrorCode; grpcStatus: SecAggGrpcStatus; message: string } {
    return { name: this.name, code: this.code, grpcStatus: this.grpcStatus, message: this.message };
  }
}

export function isSecAggError(err: unknown, code?: SecAggErrorCode): err is SecAggError {
  return err instanceof SecAggError && (code === undefined || err.code === code);
}
