import type * as grpc from '@grpc/grpc-js';
import {
  type Capability,
  certificateSubject,
  type Role,
  type SessionClaims,
  type TokenVerifier,
} from '@kpfl/kpt';
import { RpcError } from './errors.js';

export type AnyCall =
  | grpc.ServerUnaryCall<unknown, unknown>
  | grpc.ServerReadableStream<unknown, unknown>
  | grpc.ServerWritableStream<unknown, unknown>;

/**
 * The member id of the TLS client certificate (its CN), which the federation CA vouches for; undefined
 * without mutual TLS. This is who is calling, before any token says so.
 */
export function peerSubject(call: AnyCall): string | undefined {
  const cert = call.getAuthContext()?.sslPeerCertificate;
  return cert?.raw ? certificateSubject(cert.raw) : undefined;
}

/** Only a capability of kpt's vocabulary can be required: a typo does not compile. */
export type Authorize = (call: AnyCall, capability: Capability, role?: Role) => Promise<SessionClaims>;

/**
 * The server-side interceptor of every authenticated RPC: session token (signature, issuer,
 * audience, time claims, revocation — in kpt's TokenVerifier), role and capability for the RPC,
 * federation, and with mutual TLS the binding of the token's subject to the client certificate.
 */
export function createAuthorizer(o: {
  verifier: TokenVerifier;
  federation: string;
  bindToCertificate: boolean;
  onCaller?: (call: object, subject: string) => void;
}): Authorize {
  return async (call, capability, role = 'participant') => {
    const header = call.metadata.get('authorization')[0];
    const token = typeof header === 'string' && header.startsWith('Bearer ') ? header.slice(7) : undefined;
    if (!token) {
      throw new RpcError(
        'UNAUTHENTICATED',
        'no_token',
        'missing "authorization: Bearer <session token>"; call Authenticate first',
      );
    }
    const claims = await o.verifier.verify(token, { role, capability });
    o.onCaller?.(call, claims.sub);
    if (claims.kpfl.federation !== o.federation) {
      throw new RpcError(
        'PERMISSION_DENIED',
        'wrong_federation',
        `token is for federation ${claims.kpfl.federation}`,
      );
    }
    if (o.bindToCertificate) {
      const cn = peerSubject(call);
      if (cn !== claims.sub) {
        throw new RpcError(
          'PERMISSION_DENIED',
          'certificate_mismatch',
          `token subject ${claims.sub} does not match the TLS client certificate (${cn ?? 'none'})`,
        );
      }
    }
    return claims;
  };
}
