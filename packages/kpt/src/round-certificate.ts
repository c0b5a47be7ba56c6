import type { KeyObject } from 'node:crypto';
import {
  base64url,
  decodeProtectedHeader,
  FlattenedSign,
  type GeneralJWS,
  GeneralSign,
  generalVerify,
  type JSONWebKeySet,
} from 'jose';
import { z } from 'zod';
import { ALG, TYP } from './constants.js';
import { KptError } from './errors.js';
import { type IdentityKey, publicKeyOf, signingKeyOf } from './identity.js';
import { findCoordinatorKey, findMemberKey } from './jwks.js';
import {
  digestSchema,
  idSchema,
  isoTimeSchema,
  isSortedUnique,
  parseJsonPayload,
  parseWith,
  roundSchema,
  sortedUnique,
} from './schemas.js';
import { refuseDuplicateKeysInSegment } from './strict-json.js';

export const roundCertificatePayloadSchema = z
  .object({
    federation: idSchema,
    /** Optional: the training plan the round belongs to (round numbers restart per plan). */
    planId: z.string().min(1).max(128).optional(),
    round: roundSchema,
    /** Digest of the published aggregate (the encrypted sum) bytes. */
    aggregateDigest: digestSchema,
    /** digestOf(compact attestation JWS) of every accepted contribution, sorted, unique. */
    attestationDigests: z.array(digestSchema).min(1).refine(isSortedUnique, 'must be sorted and unique'),
    /** Every member whose contribution is included, sorted, unique: one attestation each. */
    members: z.array(idSchema).min(1).refine(isSortedUnique, 'must be sorted and unique'),
    /**
     * Secure rounds: digestOf the coordinator's unmask announcement (survivors and dropouts) and of
     * every unmask response the masks were removed with, sorted, unique.
     */
    unmaskAnnouncementDigest: digestSchema.optional(),
    unmaskResponseDigests: z
      .array(digestSchema)
      .refine(isSortedUnique, 'must be sorted and unique')
      .optional(),
    publishedAt: isoTimeSchema,
  })
  .strict()
  .refine((p) => p.members.length === p.attestationDigests.length, {
    message: 'one attestation digest per member',
    path: ['attestationDigests'],
  });

export type RoundCertificatePayload = z.infer<typeof roundCertificatePayloadSchema>;

/** Input to createRoundCertificate: arrays in any order (they are sorted), publishedAt defaults to now. */
export type RoundCertificateInput = Omit<RoundCertificatePayload, 'publishedAt'> & { publishedAt?: string };

const b64u = z.string().regex(/^[A-Za-z0-9_-]*$/, 'must be base64url');

const generalJwsSchema = z
  .object({
    payload: b64u.min(1),
    signatures: z
      .array(z.object({ protected: b64u.min(1), signature: b64u.min(1) }).strict())
      .min(1)
      .max(10_000),
  })
  .strict();

/** Longest rejection reason a countersignature may carry. */
export const MAX_REJECTION_LENGTH = 500;

const protectedHeaderSchema = z
  .object({
    alg: z.literal(ALG),
    kid: z.string().min(1),
    typ: z.literal(TYP.roundCertificate),
    kpfl_signer: z.enum(['coordinator', 'member']),
    kpfl_member: idSchema.optional(),
    /** A member's verdict (ADR 0007): the digest of the global model it computed after the round... */
    kpfl_model_digest: digestSchema.optional(),
    /** ...or why it rejects the round's aggregate (it did not decrypt in range, or its norm is over the bound). */
    kpfl_rejected: z.string().min(1).max(MAX_REJECTION_LENGTH).optional(),
  })
  .strict()
  .refine((h) => (h.kpfl_signer === 'member') === (h.kpfl_member !== undefined), {
    message: 'a member signature names its member (kpfl_member); the coordinator signature does not',
  })
  .refine(
    (h) =>
      h.kpfl_signer === 'member'
        ? !(h.kpfl_model_digest !== undefined && h.kpfl_rejected !== undefined)
        : h.kpfl_model_digest === undefined && h.kpfl_rejected === undefined,
    {
      message:
        'a member signs at most one verdict (kpfl_model_digest or kpfl_rejected); the coordinator none',
    },
  );

/** What a member signs about the round besides the payload: the model it computed, or a rejection. */
export type CountersignVerdict = { modelDigest: string } | { rejected: string };

type Sig = { protected: string; signature: string };
type SigHeader = z.infer<typeof protectedHeaderSchema>;

const fail = (msg: string, cause?: unknown) => new KptError('CERTIFICATE_INVALID', msg, { cause });

function parseCertificate(cert: GeneralJWS): { payloadB64: string; sigs: { sig: Sig; header: SigHeader }[] } {
  const c = parseWith(generalJwsSchema, cert, 'CERTIFICATE_INVALID', 'round certificate (General JWS)');
  refuseDuplicateKeysInSegment(c.payload, 'CERTIFICATE_INVALID', 'round certificate payload');
  const sigs = c.signatures.map((sig, i) => {
    refuseDuplicateKeysInSegment(
      sig.protected,
      'CERTIFICATE_INVALID',
      `round certificate signature #${i} protected header`,
    );
    let raw: unknown;
    try {
      raw = decodeProtectedHeader({ payload: c.payload, ...sig });
    } catch (cause) {
      throw fail(`round certificate signature #${i} has an undecodable protected header`, cause);
    }
    return {
      sig,
      header: parseWith(
        protectedHeaderSchema,
        raw,
        'CERTIFICATE_INVALID',
        `certificate signature #${i} header`,
      ),
    };
  });
  return { payloadB64: c.payload, sigs };
}

function decodePayload(payloadB64: string): RoundCertificatePayload {
  let bytes: Uint8Array;
  try {
    bytes = base64url.decode(payloadB64);
  } catch (cause) {
    throw fail('round certificate payload is not base64url', cause);
  }
  return parseWith(
    roundCertificatePayloadSchema,
    parseJsonPayload(bytes, 'CERTIFICATE_INVALID', 'round certificate'),
    'CERTIFICATE_INVALID',
    'round certificate',
  );
}

/** Verify one signature of the certificate on its own, with jose's generalVerify. */
async function verifySignature(payloadB64: string, sig: Sig, key: KeyObject, who: string): Promise<void> {
  try {
    await generalVerify({ payload: payloadB64, signatures: [sig] }, key, { algorithms: [ALG] });
  } catch (cause) {
    throw fail(
      `round certificate signature of ${who} does not verify: forged, altered, or over another payload`,
      cause,
    );
  }
}

async function verifyCoordinator(
  payloadB64: string,
  sigs: { sig: Sig; header: SigHeader }[],
  jwks: JSONWebKeySet,
): Promise<string> {
  const coord = sigs.filter((s) => s.header.kpfl_signer === 'coordinator');
  if (coord.length !== 1) {
    throw fail(`round certificate must carry exactly one coordinator signature, found ${coord.length}`);
  }
  const { sig, header } = coord[0];
  const jwk = findCoordinatorKey(jwks, header.kid);
  if (!jwk)
    throw fail(`round certificate coordinator kid ${header.kid} is not a coordinator key in the JWKS`);
  await verifySignature(payloadB64, sig, publicKeyOf(jwk), `the coordinator (kid ${header.kid})`);
  return header.kid;
}

/** Sign a new round certificate (General JWS JSON Serialization) with the coordinator key. */
export async function createRoundCertificate(
  coordinator: IdentityKey,
  input: RoundCertificateInput,
): Promise<GeneralJWS> {
  const payload = parseWith(
    roundCertificatePayloadSchema,
    {
      federation: input.federation,
      ...(input.planId === undefined ? {} : { planId: input.planId }),
      round: input.round,
      aggregateDigest: input.aggregateDigest,
      attestationDigests: sortedUnique(input.attestationDigests ?? []),
      members: sortedUnique(input.members ?? []),
      ...(input.unmaskAnnouncementDigest === undefined
        ? {}
        : {
            unmaskAnnouncementDigest: input.unmaskAnnouncementDigest,
            unmaskResponseDigests: sortedUnique(input.unmaskResponseDigests ?? []),
          }),
      publishedAt: input.publishedAt ?? new Date().toISOString(),
    },
    'CLAIMS_INVALID',
    'round certificate to sign',
  );
  const jws = await new GeneralSign(new TextEncoder().encode(JSON.stringify(payload)))
    .addSignature(signingKeyOf(coordinator))
    .setProtectedHeader({
      alg: ALG,
      kid: coordinator.kid,
      typ: TYP.roundCertificate,
      kpfl_signer: 'coordinator',
    })
    .sign();
  return {
    payload: jws.payload,
    signatures: jws.signatures.map((s) => ({ protected: s.protected, signature: s.signature })),
  };
}

/**
 * Add this member's signature over the same payload. Refused (CERTIFICATE_INVALID) unless the
 * coordinator signature verifies with `coordinatorJwks`, the member is listed and its attestation
 * digest is listed. Idempotent: countersigning twice returns the same certificate. The input is not mutated.
 */
export async function countersignRoundCertificate(
  cert: GeneralJWS,
  identity: IdentityKey,
  memberId: string,
  expectAttestationDigest: string,
  coordinatorJwks: JSONWebKeySet,
  verdict?: CountersignVerdict,
): Promise<GeneralJWS> {
  const { payloadB64, sigs } = parseCertificate(cert);
  await verifyCoordinator(payloadB64, sigs, coordinatorJwks);
  const payload = decodePayload(payloadB64);
  if (!payload.members.includes(memberId)) {
    throw fail(`refusing to countersign round ${payload.round}: member "${memberId}" is not listed`);
  }
  if (!payload.attestationDigests.includes(expectAttestationDigest)) {
    throw fail(
      `refusing to countersign round ${payload.round}: my attestation ${expectAttestationDigest} is not listed (contribution dropped or altered)`,
    );
  }
  const header = parseWith(
    protectedHeaderSchema,
    {
      alg: ALG,
      kid: identity.kid,
      typ: TYP.roundCertificate,
      kpfl_signer: 'member',
      kpfl_member: memberId,
      ...(verdict && 'modelDigest' in verdict ? { kpfl_model_digest: verdict.modelDigest } : {}),
      ...(verdict && 'rejected' in verdict ? { kpfl_rejected: verdict.rejected } : {}),
    },
    'CLAIMS_INVALID',
    'countersignature to sign',
  );
  const signed = await new FlattenedSign(base64url.decode(payloadB64))
    .setProtectedHeader(header)
    .sign(signingKeyOf(identity));
  if (signed.payload !== payloadB64 || signed.protected === undefined) {
    throw fail('internal: countersignature payload encoding differs');
  }
  const mine: Sig = { protected: signed.protected, signature: signed.signature };
  const existing = sigs.filter((s) => s.header.kpfl_member === memberId);
  const signatures = sigs.map((s) => s.sig);
  if (existing.length === 0) {
    signatures.push(mine);
  } else if (
    !existing.every((s) => s.sig.protected === mine.protected && s.sig.signature === mine.signature)
  ) {
    throw fail(`round certificate already carries a different signature claiming to be "${memberId}"`);
  }
  return { payload: payloadB64, signatures: signatures.map((s) => ({ ...s })) };
}

export interface RoundCertificateVerification {
  payload: RoundCertificatePayload;
  /** kid of the coordinator key that signed. */
  coordinatorKid: string;
  /** Members whose countersignature verified, sorted. */
  signers: string[];
  /** The verdict each of them signed (ADR 0007), in `signers` order; neither field when it signed none. */
  verdicts: { member: string; modelDigest?: string; rejected?: string }[];
}

/**
 * Verify every signature (each on its own with generalVerify): exactly one coordinator signature by
 * a coordinator key, and member signatures by the key the JWKS binds to that member, each member
 * listed in the payload and at most once. Any bad, unknown or duplicate signature invalidates the
 * certificate. `requireMembers` (or `requireAllMembers`) demands their countersignatures.
 */
export async function verifyRoundCertificate(
  cert: GeneralJWS,
  jwks: JSONWebKeySet,
  opts: { requireMembers?: string[]; requireAllMembers?: boolean } = {},
): Promise<RoundCertificateVerification> {
  const { payloadB64, sigs } = parseCertificate(cert);
  const coordinatorKid = await verifyCoordinator(payloadB64, sigs, jwks);
  const payload = decodePayload(payloadB64);
  const signers: string[] = [];
  const verdicts: RoundCertificateVerification['verdicts'] = [];
  for (const { sig, header } of sigs) {
    if (header.kpfl_signer !== 'member') continue;
    const member = header.kpfl_member as string;
    if (!payload.members.includes(member))
      throw fail(`round certificate is signed by "${member}", who is not listed`);
    if (signers.includes(member)) throw fail(`round certificate carries two signatures of "${member}"`);
    const jwk = findMemberKey(jwks, member, header.kid);
    if (!jwk) throw fail(`kid ${header.kid} is not the JWKS key of member "${member}"`);
    await verifySignature(payloadB64, sig, publicKeyOf(jwk), `member "${member}"`);
    signers.push(member);
    verdicts.push({
      member,
      ...(header.kpfl_model_digest !== undefined ? { modelDigest: header.kpfl_model_digest } : {}),
      ...(header.kpfl_rejected !== undefined ? { rejected: header.kpfl_rejected } : {}),
    });
  }
  const required = opts.requireAllMembers ? payload.members : (opts.requireMembers ?? []);
  const missing = required.filter((m) => !signers.includes(m));
  if (missing.length > 0) throw fail(`round certificate lacks the countersignature of ${missing.join(', ')}`);
  const sorted = sortedUnique(signers);
  return {
    payload,
    coordinatorKid,
    signers: sorted,
    verdicts: sorted.map((m) => verdicts.find((v) => v.member === m)!),
  };
}
