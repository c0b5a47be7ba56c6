/**
 * Mask key advertisements (secure aggregation, issue 14): at the start of a round each sampled
 * participant publishes two fresh X25519 public keys, one for pairwise mask agreement and one that
 * its neighbours encrypt Shamir shares to, signed with its identity key. The signature is what stops
 * the aggregator from substituting keys of its own (and so agreeing every pairwise mask itself).
 */
import { CompactSign, type JSONWebKeySet } from 'jose';
import { z } from 'zod';
import { ALG, type Clock, nowSeconds } from './constants.js';
import { KptError } from './errors.js';
import { type IdentityKey, signingKeyOf } from './identity.js';
import { verifyMemberCompact } from './member-jws.js';
import { idSchema, parseJsonPayload, parseWith, roundSchema, unixSecondsSchema } from './schemas.js';
import { SECAGG_TYP, x25519KeySchema, x25519PublicKeyOf } from './secagg-schemas.js';
import { unverifiedClaims } from './unverified.js';

export const maskAdvertisementClaimsSchema = z
  .object({
    iss: idSchema,
    federation: idSchema,
    planId: idSchema,
    round: roundSchema,
    /** base64url raw X25519 public key for pairwise mask agreement. */
    maskPublicKey: x25519KeySchema,
    /** base64url raw X25519 public key that share envelopes to this member are encrypted to. */
    sharePublicKey: x25519KeySchema,
    iat: unixSecondsSchema,
  })
  .strict()
  .refine((c) => c.maskPublicKey !== c.sharePublicKey, {
    message: 'the mask key and the share key must be two different keys',
    path: ['sharePublicKey'],
  });

export type MaskAdvertisementClaims = z.infer<typeof maskAdvertisementClaimsSchema>;

/** What identifies the round an artifact belongs to: federation, plan and round number. */
export interface RoundRef {
  federation: string;
  planId: string;
  round: number;
}

/**
 * One refusal for "this artifact is for another round": a round is named by federation, plan and
 * round number together, so any of the three differing is WRONG_ROUND; the message says which.
 */
export function checkRoundRef(got: RoundRef, want: RoundRef, what: string): void {
  for (const f of ['federation', 'planId', 'round'] as const)
    if (got[f] !== want[f])
      throw new KptError(
        'WRONG_ROUND',
        `the ${what} is for ${f} ${JSON.stringify(got[f])}, this round is ${want.federation}/${want.planId}/${want.round}: refuse it (a stale or replayed artifact)`,
      );
}

/** Sign a mask key advertisement (compact JWS, typ kpfl-mask-advertisement+jwt) with the member's identity. */
export async function signMaskAdvertisement(
  identity: IdentityKey,
  claims: Omit<MaskAdvertisementClaims, 'iat'>,
  opts: { now?: Clock } = {},
): Promise<string> {
  const full = parseWith(
    maskAdvertisementClaimsSchema,
    { ...claims, iat: nowSeconds(opts.now) },
    'CLAIMS_INVALID',
    'mask advertisement to sign',
  );
  x25519PublicKeyOf(full.maskPublicKey, 'maskPublicKey');
  x25519PublicKeyOf(full.sharePublicKey, 'sharePublicKey');
  return new CompactSign(new TextEncoder().encode(JSON.stringify(full)))
    .setProtectedHeader({ alg: ALG, kid: identity.kid, typ: SECAGG_TYP.maskAdvertisement })
    .sign(signingKeyOf(identity));
}

export interface MaskAdvertisementExpectation extends RoundRef {
  /** The member the relay says advertised (omit to accept any participant of the JWKS). */
  iss?: string;
  /** Whether a member is an active participant now: a revoked member's advertisement is REVOKED. */
  isActiveParticipant?: (memberId: string) => boolean;
}

/**
 * Verify an advertisement against the participant keys of the federation's JWKS. Refuses with
 * WRONG_ISSUER (not the expected member), TOKEN_INVALID (not an advertisement), SIGNATURE_INVALID
 * (not signed by the key the JWKS binds to its issuer), CLAIMS_INVALID (bad claims or keys),
 * REVOKED, WRONG_ROUND (another federation, plan or round).
 */
export async function verifyMaskAdvertisement(
  jws: string,
  jwks: JSONWebKeySet,
  expected: MaskAdvertisementExpectation,
): Promise<MaskAdvertisementClaims> {
  const claimed = unverifiedClaims(jws)?.iss;
  if (typeof claimed !== 'string')
    throw new KptError(
      'TOKEN_INVALID',
      'a mask advertisement is a compact JWS whose payload names its issuer (iss)',
    );
  if (expected.iss !== undefined && claimed !== expected.iss)
    throw new KptError(
      'WRONG_ISSUER',
      `the mask advertisement is issued by ${claimed}, expected ${expected.iss}: the relay mixed up or substituted advertisements`,
    );
  const { payload } = await verifyMemberCompact(
    jws,
    jwks,
    SECAGG_TYP.maskAdvertisement,
    'mask advertisement',
    claimed,
  );
  const claims = parseWith(
    maskAdvertisementClaimsSchema,
    parseJsonPayload(payload, 'CLAIMS_INVALID', 'mask advertisement'),
    'CLAIMS_INVALID',
    'mask advertisement',
  );
  if (expected.isActiveParticipant && !expected.isActiveParticipant(claims.iss))
    throw new KptError(
      'REVOKED',
      `${claims.iss} is not an active participant: its mask advertisement is refused`,
    );
  checkRoundRef(claims, expected, 'mask advertisement');
  try {
    x25519PublicKeyOf(claims.maskPublicKey, 'maskPublicKey');
    x25519PublicKeyOf(claims.sharePublicKey, 'sharePublicKey');
  } catch (cause) {
    throw new KptError(
      'CLAIMS_INVALID',
      `the mask advertisement of ${claims.iss} carries a key that is not X25519`,
      {
        cause,
      },
    );
  }
  return claims;
}
