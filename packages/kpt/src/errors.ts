import { KpflError } from '@kpfl/common';

/**
 * KptError: the one error class kpt throws for anything an attacker or a misconfiguration can cause
 * (a KpflError: a usage mistake, exit code 2, when it ends a command).
 * `code` is stable (tests, logs and clients match on it); `grpcStatus` is what an RPC handler should
 * answer with; the message says what to do about it.
 */

export type KptErrorCode =
  | 'TOKEN_EXPIRED'
  | 'TOKEN_INVALID'
  | 'SIGNATURE_INVALID'
  | 'WRONG_AUDIENCE'
  | 'WRONG_ISSUER'
  | 'REPLAYED'
  | 'REVOKED'
  | 'FORBIDDEN'
  | 'WRONG_ROUND'
  | 'CLAIMS_INVALID'
  | 'CHALLENGE_INVALID'
  | 'ATTESTATION_INVALID'
  | 'CERTIFICATE_INVALID'
  | 'KEY_INVALID'
  | 'ENVELOPE_INVALID'
  | 'WRONG_RECIPIENT'
  | 'WRONG_EPOCH'
  | 'UNTRUSTED_SENDER'
  | 'KEY_MISMATCH'
  | 'UNMASK_REFUSED'
  | 'WRONG_ANNOUNCEMENT';

export type KptGrpcStatus =
  | 'UNAUTHENTICATED'
  | 'PERMISSION_DENIED'
  | 'INVALID_ARGUMENT'
  | 'FAILED_PRECONDITION';

/** Fixed mapping from code to gRPC status (the status names of @grpc/grpc-js `status`). */
export const GRPC_STATUS_OF: Readonly<Record<KptErrorCode, KptGrpcStatus>> = Object.freeze({
  TOKEN_EXPIRED: 'UNAUTHENTICATED',
  TOKEN_INVALID: 'UNAUTHENTICATED',
  SIGNATURE_INVALID: 'UNAUTHENTICATED',
  WRONG_AUDIENCE: 'UNAUTHENTICATED',
  WRONG_ISSUER: 'UNAUTHENTICATED',
  REPLAYED: 'UNAUTHENTICATED',
  CHALLENGE_INVALID: 'UNAUTHENTICATED',
  REVOKED: 'PERMISSION_DENIED',
  FORBIDDEN: 'PERMISSION_DENIED',
  WRONG_ROUND: 'FAILED_PRECONDITION',
  CLAIMS_INVALID: 'INVALID_ARGUMENT',
  ATTESTATION_INVALID: 'INVALID_ARGUMENT',
  CERTIFICATE_INVALID: 'INVALID_ARGUMENT',
  KEY_INVALID: 'INVALID_ARGUMENT',
  ENVELOPE_INVALID: 'INVALID_ARGUMENT',
  WRONG_RECIPIENT: 'INVALID_ARGUMENT',
  WRONG_EPOCH: 'INVALID_ARGUMENT',
  UNTRUSTED_SENDER: 'PERMISSION_DENIED',
  KEY_MISMATCH: 'INVALID_ARGUMENT',
  // secure aggregation (issue 14): an unmask request or response that would reveal both kinds of share
  UNMASK_REFUSED: 'PERMISSION_DENIED',
  // an unmask response that answers another announcement than the round's
  WRONG_ANNOUNCEMENT: 'FAILED_PRECONDITION',
});

export class KptError extends KpflError<KptErrorCode> {
  override readonly name = 'KptError';
  readonly grpcStatus: KptGrpcStatus;

  constructor(code: KptErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.grpcStatus = GRPC_STATUS_OF[code];
  }

  override toJSON(): { name: string; code: KptErrorCode; grpcStatus: KptGrpcStatus; message: string } {
    return { name: this.name, code: this.code, grpcStatus: this.grpcStatus, message: this.message };
  }
}

export function isKptError(err: unknown, code?: KptErrorCode): err is KptError {
  return err instanceof KptError && (code === undefined || err.code === code);
}

/** What went wrong inside jose, reduced to the cases kpt distinguishes. */
export type JoseFailure =
  | { kind: 'expired' }
  | { kind: 'claim'; claim: string; reason: string }
  | { kind: 'signature' }
  | { kind: 'no-key' }
  | { kind: 'malformed'; detail: string };

/** Classify an error thrown by jose (by its stable `code`, not by class identity). */
export function classifyJoseError(err: unknown): JoseFailure {
  const e = err as { code?: unknown; claim?: unknown; reason?: unknown; message?: unknown };
  const detail = typeof e?.message === 'string' ? e.message : String(err);
  switch (e?.code) {
    case 'ERR_JWT_EXPIRED':
      return { kind: 'expired' };
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      return { kind: 'claim', claim: String(e.claim), reason: String(e.reason) };
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return { kind: 'signature' };
    case 'ERR_JWKS_NO_MATCHING_KEY':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return { kind: 'no-key' };
    default:
      return { kind: 'malformed', detail };
  }
}
