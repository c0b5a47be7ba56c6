import { CompactSign, compactVerify, type JWK } from 'jose';
import { z } from 'zod';
import { ALG, type Clock, nowSeconds, TYP } from './constants.js';
import { classifyJoseError, KptError } from './errors.js';
import { type IdentityKey, publicKeyOf, signingKeyOf } from './identity.js';
import {
  digestSchema,
  idSchema,
  parseJsonPayload,
  parseWith,
  roundSchema,
  unixSecondsSchema,
} from './schemas.js';
import { refuseDuplicateKeysInCompact } from './strict-json.js';

const finite = () => z.number().finite();

export const attestationClaimsSchema = z
  .object({
    iss: idSchema,
    federation: idSchema,
    round: roundSchema,
    baseModelDigest: digestSchema,
    updateDigest: digestSchema,
    exampleCount: z
      .number()
      .int()
      .positive()
      .max(2 ** 31 - 1), // contributions.example_count is an int
    dataCommitment: z.string().min(1).max(256),
    chunkCount: z.number().int().positive(),
    mode: z.enum(['he', 'plain', 'secure']),
    /** HE and secure modes: the consortium key epoch the update is encrypted under (the round's). */
    keyEpoch: z.number().int().positive().optional(),
    /**
     * Secure mode: the digest of the member's mask-key advertisement for the round, binding the masked
     * update to the round keys its masks come from.
     */
    advertisementDigest: digestSchema.optional(),
    training: z
      .object({
        model: z.string().min(1).max(128),
        epochs: z.number().int().positive(),
        batchSize: z.number().int().positive(),
        lr: finite().positive(),
        proxMu: finite().nonnegative().optional(),
      })
      .strict(),
    metrics: z
      .object({ loss: finite().optional(), accuracy: finite().min(0).max(1).optional() })
      .strict()
      .optional(),
    iat: unixSecondsSchema,
  })
  .strict();

/** What a participant asserts about one contribution. `updateDigest` covers the exact ciphertext bytes, in order. */
export type AttestationClaims = z.infer<typeof attestationClaimsSchema>;

/** Sign an attestation (compact JWS, EdDSA, typ kpfl-attestation+jwt) with the member's identity key. */
export async function signAttestation(
  identity: IdentityKey,
  claims: Omit<AttestationClaims, 'iat'>,
  opts: { now?: Clock } = {},
): Promise<string> {
  const full = parseWith(
    attestationClaimsSchema,
    { ...claims, iat: nowSeconds(opts.now) },
    'CLAIMS_INVALID',
    'attestation to sign',
  );
  return new CompactSign(new TextEncoder().encode(JSON.stringify(full)))
    .setProtectedHeader({ alg: ALG, kid: identity.kid, typ: TYP.attestation })
    .sign(signingKeyOf(identity));
}

export interface AttestationExpectation {
  iss?: string;
  federation?: string;
  round?: number;
  baseModelDigest?: string;
  updateDigest?: string;
}

/**
 * Verify an attestation with the registered public JWK of its member. Any failure is
 * ATTESTATION_INVALID, except a round other than `expect.round` (WRONG_ROUND).
 */
export async function verifyAttestation(
  jws: string,
  publicJwk: JWK,
  expect: AttestationExpectation = {},
): Promise<AttestationClaims> {
  const key = publicKeyOf(publicJwk);
  refuseDuplicateKeysInCompact(jws, 'ATTESTATION_INVALID', 'attestation');
  let payload: Uint8Array;
  try {
    const r = await compactVerify(jws, key, { algorithms: [ALG] });
    if (r.protectedHeader.typ !== TYP.attestation) {
      throw new KptError('ATTESTATION_INVALID', `not an attestation (typ must be ${TYP.attestation})`);
    }
    payload = r.payload;
  } catch (err) {
    if (err instanceof KptError) throw err;
    const f = classifyJoseError(err);
    throw new KptError(
      'ATTESTATION_INVALID',
      f.kind === 'signature'
        ? `attestation does not verify with the registered key ${publicJwk.kid ?? ''} of ${expect.iss ?? 'the member'}: signed by another key or altered`
        : `attestation is not a valid compact JWS: ${f.kind === 'malformed' ? f.detail : f.kind}`,
      { cause: err },
    );
  }
  const claims = parseWith(
    attestationClaimsSchema,
    parseJsonPayload(payload, 'ATTESTATION_INVALID', 'attestation'),
    'ATTESTATION_INVALID',
    'attestation',
  );
  if (expect.round !== undefined && claims.round !== expect.round) {
    throw new KptError(
      'WRONG_ROUND',
      `attestation is for round ${claims.round}, the open round is ${expect.round}`,
    );
  }
  for (const field of ['iss', 'federation', 'baseModelDigest', 'updateDigest'] as const) {
    const want = expect[field];
    if (want !== undefined && claims[field] !== want) {
      throw new KptError(
        'ATTESTATION_INVALID',
        `attestation ${field} is "${claims[field]}", expected "${want}"`,
      );
    }
  }
  return claims;
}
