/**
 * Share envelopes (secure aggregation, issue 14): how a participant hands one neighbour its Shamir
 * shares of the sender's mask key and self-mask seed, through the aggregator, which relays them and
 * cannot open them.
 *
 * Like a key envelope: a compact JWE (ECDH-ES to the recipient's advertised share key, A256GCM) around
 * a compact JWS signed by the sender's identity. Without the signature the relay could wrap shares of
 * its own making. The JWE's protected header (authenticated as the AEAD's additional data) names
 * sender, recipient and the round in clear, so the relay can refuse a misaddressed or stale envelope
 * without opening it.
 */
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import {
  CompactEncrypt,
  CompactSign,
  calculateJwkThumbprint,
  compactDecrypt,
  decodeProtectedHeader,
  type JSONWebKeySet,
} from 'jose';
import { z } from 'zod';
import { ALG, type Clock, nowSeconds } from './constants.js';
import { ENCRYPTION_ALG, ENCRYPTION_ENC } from './encryption-key.js';
import { KptError } from './errors.js';
import { type IdentityKey, signingKeyOf } from './identity.js';
import { checkRoundRef, type RoundRef } from './mask-advertisement.js';
import { verifyMemberCompact } from './member-jws.js';
import {
  ID_PATTERN,
  idSchema,
  parseJsonPayload,
  parseWith,
  roundSchema,
  unixSecondsSchema,
} from './schemas.js';
import { SECAGG_TYP, shareSchema, x25519KeySchema, x25519PublicKeyOf } from './secagg-schemas.js';

/** Two shares and a JOSE wrapping are a few hundred bytes; refuse anything far larger unread. */
export const MAX_SHARE_ENVELOPE_CHARS = 64 * 1024;

export const shareEnvelopeClaimsSchema = z
  .object({
    sender: idSchema,
    recipient: idSchema,
    federation: idSchema,
    planId: idSchema,
    round: roundSchema,
    /** The recipient's share of the sender's mask private key (base64url, @kpfl/secagg share). */
    maskKeyShare: shareSchema,
    /** The recipient's share of the sender's self-mask seed. */
    selfSeedShare: shareSchema,
    iat: unixSecondsSchema,
  })
  .strict();

export type ShareEnvelopeClaims = z.infer<typeof shareEnvelopeClaimsSchema>;

/** What the JWE's protected header says in clear (authenticated, not secret). */
export interface ShareEnvelopeHeader {
  /** RFC 7638 thumbprint of the recipient's share key (as an X25519 JWK). */
  kid: string;
  kpfl_sender: string;
  kpfl_recipient: string;
  kpfl_federation: string;
  kpfl_plan: string;
  kpfl_round: number;
}

const thumbprintOf = (x: string) => calculateJwkThumbprint({ kty: 'OKP', crv: 'X25519', x }, 'sha256');

/**
 * The kid an envelope to this share key (base64url raw X25519) names in its header: the relay checks
 * it against the recipient's advertised key without opening anything.
 */
export const shareKeyId = (sharePublicKey: string): Promise<string> => thumbprintOf(sharePublicKey);

/**
 * Seals the sender's two shares for one neighbour: signed by `identity` (the sender's), encrypted to
 * the share key the recipient advertised for this round (base64url raw X25519).
 */
export async function sealShareEnvelope(
  identity: IdentityKey,
  claims: Omit<ShareEnvelopeClaims, 'iat'>,
  recipientSharePublicKey: string,
  opts: { now?: Clock } = {},
): Promise<string> {
  const full = parseWith(
    shareEnvelopeClaimsSchema,
    { ...claims, iat: nowSeconds(opts.now) },
    'CLAIMS_INVALID',
    'share envelope to seal',
  );
  const publicKey = x25519PublicKeyOf(recipientSharePublicKey, `the share key of ${full.recipient}`);
  const jws = await new CompactSign(new TextEncoder().encode(JSON.stringify(full)))
    .setProtectedHeader({ alg: ALG, kid: identity.kid, typ: SECAGG_TYP.shareEnvelope })
    .sign(signingKeyOf(identity));
  const header: ShareEnvelopeHeader & { alg: string; enc: string; cty: string; [k: string]: unknown } = {
    alg: ENCRYPTION_ALG,
    enc: ENCRYPTION_ENC,
    cty: SECAGG_TYP.shareEnvelope,
    kid: await thumbprintOf(recipientSharePublicKey),
    kpfl_sender: full.sender,
    kpfl_recipient: full.recipient,
    kpfl_federation: full.federation,
    kpfl_plan: full.planId,
    kpfl_round: full.round,
  };
  return new CompactEncrypt(new TextEncoder().encode(jws)).setProtectedHeader(header).encrypt(publicKey);
}

/**
 * Reads an envelope's protected header without opening it (what the relay checks): refuses anything
 * that is not a kpfl share envelope (ENVELOPE_INVALID).
 */
export function shareEnvelopeHeader(jwe: string): ShareEnvelopeHeader {
  if (typeof jwe !== 'string' || jwe.length === 0 || jwe.length > MAX_SHARE_ENVELOPE_CHARS)
    throw new KptError(
      'ENVELOPE_INVALID',
      `a share envelope is a compact JWE of at most ${MAX_SHARE_ENVELOPE_CHARS} characters`,
    );
  if (jwe.split('.').length !== 5)
    throw new KptError('ENVELOPE_INVALID', 'a share envelope is a compact JWE (five dot-separated parts)');
  let h: Record<string, unknown>;
  try {
    h = decodeProtectedHeader(jwe) as Record<string, unknown>;
  } catch (cause) {
    throw new KptError('ENVELOPE_INVALID', 'the share envelope has no readable protected header', { cause });
  }
  if (h.alg !== ENCRYPTION_ALG || h.enc !== ENCRYPTION_ENC || h.cty !== SECAGG_TYP.shareEnvelope)
    throw new KptError(
      'ENVELOPE_INVALID',
      `a share envelope is a JWE with alg ${ENCRYPTION_ALG}, enc ${ENCRYPTION_ENC} and cty ${SECAGG_TYP.shareEnvelope}`,
    );
  const { kid, kpfl_sender, kpfl_recipient, kpfl_federation, kpfl_plan, kpfl_round } = h;
  const isId = (v: unknown): v is string => typeof v === 'string' && ID_PATTERN.test(v);
  if (
    typeof kid !== 'string' ||
    !isId(kpfl_sender) ||
    !isId(kpfl_recipient) ||
    !isId(kpfl_federation) ||
    !isId(kpfl_plan) ||
    typeof kpfl_round !== 'number' ||
    !Number.isSafeInteger(kpfl_round) ||
    kpfl_round < 0
  )
    throw new KptError(
      'ENVELOPE_INVALID',
      'the share envelope header must name kid, kpfl_sender, kpfl_recipient, kpfl_federation, kpfl_plan and kpfl_round',
    );
  return { kid, kpfl_sender, kpfl_recipient, kpfl_federation, kpfl_plan, kpfl_round };
}

export interface ShareEnvelopeExpectation extends RoundRef {
  /** Who the relay says sent it. */
  sender: string;
  /** The member opening it. */
  recipient: string;
  /** Whether a member is an active participant now: a revoked sender's envelope is UNTRUSTED_SENDER. */
  isActiveParticipant?: (memberId: string) => boolean;
}

function sharePrivateKeyOf(raw: string): { key: KeyObject; x: string } {
  if (!x25519KeySchema.safeParse(raw).success)
    throw new KptError('KEY_INVALID', 'the share private key must be a raw 32-byte X25519 key in base64url');
  try {
    // node builds an OKP private key from d alone; x is derived, not read
    const key = createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', d: raw, x: '' }, format: 'jwk' });
    const { x } = createPublicKey(key).export({ format: 'jwk' }) as { x: string };
    return { key, x };
  } catch (cause) {
    throw new KptError('KEY_INVALID', 'the share private key could not be imported', { cause });
  }
}

/**
 * Opens an envelope with this member's share private key for the round (base64url raw X25519) and
 * checks everything. Refuses with: ENVELOPE_INVALID (not a share envelope, or encrypted to another
 * key, or tampered with), WRONG_RECIPIENT (addressed to another member, in the header or the signed
 * claims), UNTRUSTED_SENDER (not from the expected sender, or not signed by that participant's
 * identity), WRONG_ROUND (another federation, plan or round, in the header or the signed claims).
 */
export async function openShareEnvelope(
  jwe: string,
  recipientSharePrivateKey: string,
  jwks: JSONWebKeySet,
  expected: ShareEnvelopeExpectation,
): Promise<ShareEnvelopeClaims> {
  const header = shareEnvelopeHeader(jwe);
  if (header.kpfl_recipient !== expected.recipient)
    throw new KptError(
      'WRONG_RECIPIENT',
      `the share envelope is addressed to ${header.kpfl_recipient}, not to ${expected.recipient}: the relay misdelivered it`,
    );
  if (header.kpfl_sender !== expected.sender)
    throw new KptError(
      'UNTRUSTED_SENDER',
      `the share envelope names sender ${header.kpfl_sender}, the relay says it is from ${expected.sender}`,
    );
  checkRoundRef(
    { federation: header.kpfl_federation, planId: header.kpfl_plan, round: header.kpfl_round },
    expected,
    'share envelope',
  );
  const mine = sharePrivateKeyOf(recipientSharePrivateKey);
  if (header.kid !== (await thumbprintOf(mine.x)))
    throw new KptError(
      'ENVELOPE_INVALID',
      `the share envelope is encrypted to share key ${header.kid}, not to this member's share key for the round: it cannot be opened here`,
    );
  let inner: string;
  try {
    const r = await compactDecrypt(jwe, mine.key, {
      keyManagementAlgorithms: [ENCRYPTION_ALG],
      contentEncryptionAlgorithms: [ENCRYPTION_ENC],
    });
    inner = new TextDecoder().decode(r.plaintext);
  } catch (cause) {
    throw new KptError(
      'ENVELOPE_INVALID',
      "the share envelope does not decrypt with this member's share key: it was tampered with or encrypted to another key",
      { cause },
    );
  }
  if (expected.isActiveParticipant && !expected.isActiveParticipant(header.kpfl_sender))
    throw new KptError(
      'UNTRUSTED_SENDER',
      `${header.kpfl_sender} is not an active participant: its shares are refused`,
    );
  let payload: Uint8Array;
  try {
    ({ payload } = await verifyMemberCompact(
      inner,
      jwks,
      SECAGG_TYP.shareEnvelope,
      'share envelope content',
      header.kpfl_sender,
    ));
  } catch (cause) {
    if (cause instanceof KptError && cause.code === 'SIGNATURE_INVALID')
      throw new KptError(
        'UNTRUSTED_SENDER',
        `the shares inside the envelope are not signed by ${header.kpfl_sender}'s identity key: refusing shares of unknown origin`,
        { cause },
      );
    throw new KptError('ENVELOPE_INVALID', "the envelope's content is not a signed share envelope", {
      cause,
    });
  }
  const claims = parseWith(
    shareEnvelopeClaimsSchema,
    parseJsonPayload(payload, 'ENVELOPE_INVALID', 'share envelope'),
    'ENVELOPE_INVALID',
    'share envelope',
  );
  if (claims.sender !== header.kpfl_sender || claims.recipient !== header.kpfl_recipient)
    throw new KptError(
      'WRONG_RECIPIENT',
      `the signed shares name sender ${claims.sender} and recipient ${claims.recipient}; the envelope says ${header.kpfl_sender} to ${header.kpfl_recipient}`,
    );
  checkRoundRef(claims, expected, 'signed shares');
  return claims;
}
