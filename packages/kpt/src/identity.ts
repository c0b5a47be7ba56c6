import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { ALG } from './constants.js';
import { KptError } from './errors.js';

/** An Ed25519 identity. `kid` is the RFC 7638 SHA-256 thumbprint of the public key. */
export interface IdentityKey {
  kid: string;
  privateJwk: JWK;
  publicJwk: JWK;
}

/** Create a fresh Ed25519 identity (participant, auditor or coordinator signing key). */
export async function generateIdentity(): Promise<IdentityKey> {
  const { privateKey } = generateKeyPairSync('ed25519');
  return identityFromKeyObject(privateKey);
}

/**
 * Rebuild an identity from a stored private JWK. The public half is derived from `d` (a stored `x`
 * that does not match is refused), and a stored `kid` must be the thumbprint.
 */
export async function importIdentity(privateJwk: JWK): Promise<IdentityKey> {
  if (privateJwk?.kty !== 'OKP' || privateJwk.crv !== 'Ed25519' || typeof privateJwk.d !== 'string') {
    throw new KptError(
      'KEY_INVALID',
      'identity key must be an Ed25519 private JWK (kty OKP, crv Ed25519, with d)',
    );
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({
      key: { kty: 'OKP', crv: 'Ed25519', d: privateJwk.d, x: privateJwk.x ?? '' },
      format: 'jwk',
    });
  } catch (cause) {
    throw new KptError('KEY_INVALID', 'identity key JWK could not be imported: is the key file corrupted?', {
      cause,
    });
  }
  const identity = await identityFromKeyObject(key);
  if (privateJwk.x !== undefined && privateJwk.x !== identity.publicJwk.x) {
    throw new KptError('KEY_INVALID', 'identity key JWK is inconsistent: its "x" does not belong to its "d"');
  }
  if (privateJwk.kid !== undefined && privateJwk.kid !== identity.kid) {
    throw new KptError(
      'KEY_INVALID',
      `identity key kid "${privateJwk.kid}" is not the RFC 7638 thumbprint of its public key (${identity.kid})`,
    );
  }
  return identity;
}

async function identityFromKeyObject(privateKey: KeyObject): Promise<IdentityKey> {
  const priv = privateKey.export({ format: 'jwk' }) as { x: string; d: string };
  const bare = { kty: 'OKP', crv: 'Ed25519', x: priv.x };
  const kid = await calculateJwkThumbprint(bare, 'sha256');
  return {
    kid,
    privateJwk: { ...bare, d: priv.d, kid, alg: ALG, use: 'sig' },
    publicJwk: { ...bare, kid, alg: ALG, use: 'sig' },
  };
}

/** The signing key of an identity, as a node KeyObject (what jose signs with). */
export function signingKeyOf(identity: IdentityKey): KeyObject {
  const jwk = identity?.privateJwk;
  if (jwk?.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.d !== 'string' || typeof jwk.x !== 'string') {
    throw new KptError('KEY_INVALID', 'signing requires an Ed25519 identity with its private JWK');
  }
  try {
    return createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', d: jwk.d, x: jwk.x }, format: 'jwk' });
  } catch (cause) {
    throw new KptError('KEY_INVALID', 'identity private JWK could not be imported', { cause });
  }
}

/**
 * A public Ed25519 JWK reduced to its key material (kty, crv, x), refusing anything else: private
 * material is never accepted where a public key is expected.
 */
export function publicKeyOf(jwk: JWK): KeyObject {
  const material = publicJwkMaterial(jwk);
  try {
    return createPublicKey({ key: material, format: 'jwk' });
  } catch (cause) {
    throw new KptError('KEY_INVALID', 'public JWK could not be imported (bad "x")', { cause });
  }
}

export function publicJwkMaterial(jwk: JWK): { kty: 'OKP'; crv: 'Ed25519'; x: string } {
  if (jwk?.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string' || jwk.x.length !== 43) {
    throw new KptError('KEY_INVALID', 'expected an Ed25519 public JWK (kty OKP, crv Ed25519, x)');
  }
  if ('d' in jwk) {
    throw new KptError(
      'KEY_INVALID',
      'refusing a JWK with private material ("d") where a public key is expected',
    );
  }
  return { kty: 'OKP', crv: 'Ed25519', x: jwk.x };
}
