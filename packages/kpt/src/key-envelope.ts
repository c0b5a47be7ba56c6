/**
 * Key envelopes: how one member hands the consortium HE key of an epoch to another, through a relay
 * (the aggregator) that stores and forwards them and cannot open them.
 *
 * An envelope is a compact JWE (ECDH-ES key agreement to the recipient's enrolled X25519 encryption
 * key, A256GCM) whose plaintext is a compact JWS signed by the sender's Ed25519 identity over
 * { sender, recipient, federation, epoch, keyId, key, iat }. The signature matters: ECDH-ES alone is
 * anonymous, so without it the relay could wrap a key of its own to every member and then read every
 * update encrypted under it. The JWE's protected header (authenticated as the AEAD's additional data)
 * names recipient, sender and epoch in clear, so the relay can refuse a misaddressed envelope without
 * being able to read it.
 */
import { createPrivateKey } from 'node:crypto';
import {
  CompactEncrypt,
  CompactSign,
  compactDecrypt,
  compactVerify,
  decodeProtectedHeader,
  type JSONWebKeySet,
  type JWK,
} from 'jose';
import { z } from 'zod';
import { ALG, type Clock, nowSeconds, TYP } from './constants.js';
import {
  ENCRYPTION_ALG,
  ENCRYPTION_ENC,
  type EncryptionKey,
  encryptionPublicKeyOf,
} from './encryption-key.js';
import { KptError } from './errors.js';
import { type IdentityKey, publicKeyOf, signingKeyOf } from './identity.js';
import { findMemberKey } from './jwks.js';
import { idSchema, parseJsonPayload, parseWith, unixSecondsSchema } from './schemas.js';

/** A serialized consortium key is a few hundred KiB of base64 at most (N=8192 secret key: ~180 KiB). */
export const MAX_ENVELOPE_KEY_CHARS = 4 * 1024 * 1024;

/** What a consortium keyId looks like (@kpfl/he's consortiumKeyId: 32 hex digits). */
export const HE_KEY_ID_PATTERN = /^[0-9a-f]{32}$/;

export const keyEnvelopeClaimsSchema = z
  .object({
    sender: idSchema,
    recipient: idSchema,
    federation: idSchema,
    epoch: z.number().int().positive(),
    keyId: z.string().regex(HE_KEY_ID_PATTERN, 'must be 32 lowercase hex digits'),
    /** The serialized consortium key (opaque here: @kpfl/he parses it and checks its keyId). */
    key: z.string().min(1).max(MAX_ENVELOPE_KEY_CHARS),
    iat: unixSecondsSchema,
  })
  .strict();

export type KeyEnvelopeClaims = z.infer<typeof keyEnvelopeClaimsSchema>;

/** What the JWE's protected header says in clear (authenticated, not secret). */
export interface KeyEnvelopeHeader {
  /** The recipient's encryption key id (RFC 7638 thumbprint of its X25519 JWK). */
  kid: string;
  kpfl_recipient: string;
  kpfl_sender: string;
  kpfl_epoch: number;
}

export interface EnvelopeRecipient {
  memberId: string;
  /** The recipient's enrolled public X25519 JWK (from the members table, relayed by the aggregator). */
  encryptionJwk: JWK;
}

/**
 * Wraps the serialized consortium key of `epoch` for one recipient: signed by `sender`, encrypted
 * to the recipient's encryption key.
 */
export async function sealKeyEnvelope(
  sender: { memberId: string; identity: IdentityKey },
  recipient: EnvelopeRecipient,
  c: { federation: string; epoch: number; keyId: string; key: string },
  opts: { now?: Clock } = {},
): Promise<string> {
  const claims = parseWith(
    keyEnvelopeClaimsSchema,
    {
      sender: sender.memberId,
      recipient: recipient.memberId,
      federation: c.federation,
      epoch: c.epoch,
      keyId: c.keyId,
      key: c.key,
      iat: nowSeconds(opts.now),
    },
    'CLAIMS_INVALID',
    'key envelope to seal',
  );
  const publicKey = encryptionPublicKeyOf(recipient.encryptionJwk);
  const kid = recipient.encryptionJwk.kid;
  if (typeof kid !== 'string' || kid.length === 0)
    throw new KptError('KEY_INVALID', `the encryption key of ${recipient.memberId} has no kid`);
  const jws = await new CompactSign(new TextEncoder().encode(JSON.stringify(claims)))
    .setProtectedHeader({ alg: ALG, kid: sender.identity.kid, typ: TYP.keyEnvelope })
    .sign(signingKeyOf(sender.identity));
  const header: KeyEnvelopeHeader & { alg: string; enc: string; cty: string; [k: string]: unknown } = {
    alg: ENCRYPTION_ALG,
    enc: ENCRYPTION_ENC,
    cty: TYP.keyEnvelope,
    kid,
    kpfl_recipient: recipient.memberId,
    kpfl_sender: sender.memberId,
    kpfl_epoch: c.epoch,
  };
  return new CompactEncrypt(new TextEncoder().encode(jws)).setProtectedHeader(header).encrypt(publicKey);
}

/**
 * Reads an envelope's protected header without opening it (what the relay checks): refuses anything
 * that is not a kpfl key envelope (ENVELOPE_INVALID).
 */
export function keyEnvelopeHeader(jwe: string): KeyEnvelopeHeader {
  if (typeof jwe !== 'string' || jwe.length === 0 || jwe.length > MAX_ENVELOPE_KEY_CHARS * 2)
    throw new KptError('ENVELOPE_INVALID', 'a key envelope is a non-empty compact JWE');
  if (jwe.split('.').length !== 5)
    throw new KptError('ENVELOPE_INVALID', 'a key envelope is a compact JWE (five dot-separated parts)');
  let h: Record<string, unknown>;
  try {
    h = decodeProtectedHeader(jwe) as Record<string, unknown>;
  } catch (cause) {
    throw new KptError('ENVELOPE_INVALID', 'the key envelope has no readable protected header', { cause });
  }
  if (h.alg !== ENCRYPTION_ALG || h.enc !== ENCRYPTION_ENC || h.cty !== TYP.keyEnvelope)
    throw new KptError(
      'ENVELOPE_INVALID',
      `a key envelope is a JWE with alg ${ENCRYPTION_ALG}, enc ${ENCRYPTION_ENC} and cty ${TYP.keyEnvelope}`,
    );
  const { kid, kpfl_recipient, kpfl_sender, kpfl_epoch } = h;
  if (
    typeof kid !== 'string' ||
    typeof kpfl_recipient !== 'string' ||
    typeof kpfl_sender !== 'string' ||
    typeof kpfl_epoch !== 'number' ||
    !Number.isSafeInteger(kpfl_epoch) ||
    kpfl_epoch < 1
  )
    throw new KptError(
      'ENVELOPE_INVALID',
      'the key envelope header must name kid, kpfl_recipient, kpfl_sender and a positive kpfl_epoch',
    );
  return { kid, kpfl_recipient, kpfl_sender, kpfl_epoch };
}

export interface KeyEnvelopeExpectation {
  federation: string;
  /** The epoch the recipient asked for. */
  epoch: number;
  /** The keyId the federation recorded for that epoch: every member must hold the same key. */
  keyId: string;
  /** The federation's JWKS: the sender's identity key is taken from it. */
  jwks: JSONWebKeySet;
  /** Whether a member is an active participant now (a revoked member's envelope is refused). */
  isActiveParticipant(memberId: string): boolean;
}

/**
 * Opens an envelope addressed to `recipient` and checks everything: addressed to it (recipient kid and
 * id), not tampered (AEAD, then the sender's signature), the right federation and epoch, a sender
 * that is an active participant in the JWKS, and the keyId the epoch recorded. Returns the claims;
 * the caller parses `key` with @kpfl/he and checks that its own keyId is `keyId`.
 */
export async function openKeyEnvelope(
  jwe: string,
  recipient: { memberId: string; encryption: EncryptionKey },
  expect: KeyEnvelopeExpectation,
): Promise<KeyEnvelopeClaims> {
  const header = keyEnvelopeHeader(jwe);
  if (header.kid !== recipient.encryption.kid || header.kpfl_recipient !== recipient.memberId)
    throw new KptError(
      'WRONG_RECIPIENT',
      `the key envelope is addressed to ${header.kpfl_recipient} (encryption key ${header.kid}), not to ${recipient.memberId} (${recipient.encryption.kid})`,
    );
  if (header.kpfl_epoch !== expect.epoch)
    throw new KptError(
      'WRONG_EPOCH',
      `the key envelope is for epoch ${header.kpfl_epoch}, the federation asked for epoch ${expect.epoch}`,
    );
  let inner: string;
  try {
    const priv = recipient.encryption.privateJwk;
    const key = createPrivateKey({
      key: { kty: 'OKP', crv: 'X25519', d: String(priv.d), x: String(priv.x) },
      format: 'jwk',
    });
    const r = await compactDecrypt(jwe, key, {
      keyManagementAlgorithms: [ENCRYPTION_ALG],
      contentEncryptionAlgorithms: [ENCRYPTION_ENC],
    });
    inner = new TextDecoder().decode(r.plaintext);
  } catch (cause) {
    throw new KptError(
      'ENVELOPE_INVALID',
      "the key envelope does not decrypt with this member's encryption key: it was tampered with or encrypted to another key",
      { cause },
    );
  }
  const senderKey = findMemberKey(expect.jwks, header.kpfl_sender);
  if (senderKey?.kpfl_role !== 'participant' || !expect.isActiveParticipant(header.kpfl_sender))
    throw new KptError(
      'UNTRUSTED_SENDER',
      `the key envelope names sender ${header.kpfl_sender}, who is not an active participant of ${expect.federation}`,
    );
  let payload: Uint8Array;
  try {
    const r = await compactVerify(inner, publicKeyOf(senderKey), { algorithms: [ALG] });
    if (r.protectedHeader.typ !== TYP.keyEnvelope || r.protectedHeader.kid !== senderKey.kid)
      throw new KptError(
        'ENVELOPE_INVALID',
        `the envelope's content is not a ${TYP.keyEnvelope} of its sender`,
      );
    payload = r.payload;
  } catch (cause) {
    if (cause instanceof KptError) throw cause;
    throw new KptError(
      'UNTRUSTED_SENDER',
      `the key inside the envelope is not signed by ${header.kpfl_sender}'s identity key: refusing a key of unknown origin`,
      { cause },
    );
  }
  const claims = parseWith(
    keyEnvelopeClaimsSchema,
    parseJsonPayload(payload, 'ENVELOPE_INVALID', 'key envelope'),
    'ENVELOPE_INVALID',
    'key envelope',
  );
  if (claims.sender !== header.kpfl_sender || claims.recipient !== recipient.memberId)
    throw new KptError(
      'WRONG_RECIPIENT',
      `the signed key names sender ${claims.sender} and recipient ${claims.recipient}; the envelope says ${header.kpfl_sender} to ${recipient.memberId}`,
    );
  if (claims.federation !== expect.federation)
    throw new KptError(
      'ENVELOPE_INVALID',
      `the signed key is for federation ${claims.federation}, not ${expect.federation}`,
    );
  if (claims.epoch !== expect.epoch)
    throw new KptError(
      'WRONG_EPOCH',
      `the signed key is for epoch ${claims.epoch}, the federation asked for epoch ${expect.epoch}`,
    );
  if (claims.keyId !== expect.keyId)
    throw new KptError(
      'KEY_MISMATCH',
      `the signed key has keyId ${claims.keyId}, epoch ${expect.epoch} recorded ${expect.keyId}: it is not the federation's key`,
    );
  return claims;
}
