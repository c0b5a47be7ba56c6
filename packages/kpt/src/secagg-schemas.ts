/**
 * What the secure-aggregation artifacts (issue 14) share: their typ values and the schemas of the
 * keys and Shamir shares they carry. kpt knows no SecAgg arithmetic (@kpfl/secagg does, and neither
 * imports the other): keys and shares travel here as opaque base64url strings.
 */
import { createPublicKey } from 'node:crypto';
import { z } from 'zod';
import { KptError } from './errors.js';

/** `typ` of each secure-aggregation artifact; verifiers require the exact value. */
export const SECAGG_TYP = Object.freeze({
  maskAdvertisement: 'kpfl-mask-advertisement+jwt',
  shareEnvelope: 'kpfl-share-envelope+jwt',
  unmaskAnnouncement: 'kpfl-unmask-announcement+jwt',
  unmaskResponse: 'kpfl-unmask-response+jwt',
});

const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** A raw 32-byte X25519 public key, base64url without padding (43 characters, a JWK's `x`). */
export const x25519KeySchema = z
  .string()
  .length(43, 'must be a raw 32-byte X25519 key in base64url (43 characters)')
  .regex(BASE64URL, 'must be base64url without padding');

/** A Shamir share from @kpfl/secagg (a 32-byte secret gives 52 bytes), base64url; bounded generously. */
export const MAX_SHARE_CHARS = 2048;
export const shareSchema = z
  .string()
  .min(1)
  .max(MAX_SHARE_CHARS)
  .regex(BASE64URL, 'must be base64url without padding');

/** The KeyObject of a raw X25519 public key given as base64url (refused as KEY_INVALID otherwise). */
export function x25519PublicKeyOf(raw: string, what: string) {
  if (!x25519KeySchema.safeParse(raw).success)
    throw new KptError(
      'KEY_INVALID',
      `${what} must be a raw 32-byte X25519 key in base64url (43 characters)`,
    );
  try {
    return createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: raw }, format: 'jwk' });
  } catch (cause) {
    throw new KptError('KEY_INVALID', `${what} is not an X25519 public key`, { cause });
  }
}
