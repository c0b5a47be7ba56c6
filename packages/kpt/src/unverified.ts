import { decodeJwt, type JWTPayload } from 'jose';
import { type SessionClaims, sessionClaimsSchema } from './session.js';

/**
 * The claims of a compact JWS/JWT read WITHOUT checking its signature (jose's decodeJwt): only to
 * name what a peer claims, or to log what was just issued. Never a substitute for verification.
 * Undefined when the token is not a compact JWS with a JSON object payload.
 */
export function unverifiedClaims(jws: string): JWTPayload | undefined {
  try {
    return decodeJwt(jws);
  } catch {
    return undefined;
  }
}

/** A session token's claims, unverified but checked against the session claim schema; undefined if they do not fit. */
export function unverifiedSessionClaims(token: string): SessionClaims | undefined {
  const parsed = sessionClaimsSchema.safeParse(unverifiedClaims(token));
  return parsed.success ? parsed.data : undefined;
}
