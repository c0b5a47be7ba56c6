import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { KptError } from './errors.js';

/**
 * A member's X25519 key for receiving secrets (the consortium HE key) as JWEs with ECDH-ES. It is
 * made by the member and only its public half leaves the member; it is separate from the Ed25519
 * identity so that a signing key is never used for key agreement. `kid` is the RFC 7638 thumbprint.
 */
export interface EncryptionKey {
  kid: string;
  privateJwk: JWK;
  publicJwk: JWK;
}

/** JWE key management and content encryption used for everything sent to an EncryptionKey. */
export const ENCRYPTION_ALG = 'ECDH-ES';
export const ENCRYPTION_ENC = 'A256GCM';

export async function generateEncryptionKey(): Promise<EncryptionKey> {
  const { privateKey } = generateKeyPairSync('x25519');
  return fromKeyObject(privateKey);
}

/** Rebuilds an encryption key from its stored private JWK, deriving (and checking) the public half. */
export async function importEncryptionKey(privateJwk: JWK): Promise<EncryptionKey> {
  if (privateJwk?.kty !== 'OKP' || privateJwk.crv !== 'X25519' || typeof privateJwk.d !== 'string') {
    throw new KptError(
      'KEY_INVALID',
      'encryption key must be an X25519 private JWK (kty OKP, crv X25519, with d)',
    );
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({
      key: { kty: 'OKP', crv: 'X25519', d: privateJwk.d, x: privateJwk.x ?? '' },
      format: 'jwk',
    });
  } catch (cause) {
    throw new KptError(
      'KEY_INVALID',
      'encryption key JWK could not be imported: is the key file corrupted?',
      {
        cause,
      },
    );
  }
  const k = await fromKeyObject(key);
  if (privateJwk.x !== undefined && privateJwk.x !== k.publicJwk.x)
    throw new KptError(
      'KEY_INVALID',
      'encryption key JWK is inconsistent: its "x" does not belong to its "d"',
    );
  if (privateJwk.kid !== undefined && privateJwk.kid !== k.kid)
    throw new KptError(
      'KEY_INVALID',
      `encryption key kid "${privateJwk.kid}" is not the RFC 7638 thumbprint of its public key (${k.kid})`,
    );
  return k;
}

/**
 * A public X25519 JWK as a KeyObject, refusing anything else (an Ed25519 key, private material): the
 * one way a recipient's key is read before something is encrypted to it.
 */
export function encryptionPublicKeyOf(jwk: JWK): KeyObject {
  if (jwk?.kty !== 'OKP' || jwk.crv !== 'X25519' || typeof jwk.x !== 'string' || jwk.x.length !== 43)
    throw new KptError('KEY_INVALID', 'expected an X25519 public JWK (kty OKP, crv X25519, x)');
  if ('d' in jwk)
    throw new KptError(
      'KEY_INVALID',
      'refusing a JWK with private material ("d") where a public key is expected',
    );
  try {
    return createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: jwk.x }, format: 'jwk' });
  } catch (cause) {
    throw new KptError('KEY_INVALID', 'public X25519 JWK could not be imported (bad "x")', { cause });
  }
}

async function fromKeyObject(privateKey: KeyObject): Promise<EncryptionKey> {
  const priv = privateKey.export({ format: 'jwk' }) as { x: string; d: string };
  const bare = { kty: 'OKP', crv: 'X25519', x: priv.x };
  const kid = await calculateJwkThumbprint(bare, 'sha256');
  const meta = { kid, alg: ENCRYPTION_ALG, use: 'enc' };
  return { kid, privateJwk: { ...bare, d: priv.d, ...meta }, publicJwk: { ...bare, ...meta } };
}
