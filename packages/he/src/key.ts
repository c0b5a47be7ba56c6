/**
 * The consortium key: a CKKS secret key shared by the members (never the aggregator), plus the public key
 * for parameter sets that encrypt with it. Serialized as JSON with base64 fields so it fits in a kit file.
 */
import { createHash } from 'node:crypto';
import { HeError } from './errors.js';
import { loadPublicKey, loadSecretKey } from './he-codec.js';
import { getHeParams } from './params.js';
import { getHeContext } from './seal.js';

export interface ConsortiumKey {
  paramsName: string;
  secretKey: Uint8Array;
  /** Present only for parameter sets with encryption 'public-key'. */
  publicKey?: Uint8Array;
}

export const CONSORTIUM_KEY_TYPE = 'kpfl-he-consortium-key';

export async function generateConsortiumKey(paramsName: string): Promise<ConsortiumKey> {
  const params = getHeParams(paramsName);
  const ctx = await getHeContext(params);
  const { seal } = ctx;
  const kg = seal.KeyGenerator(ctx.context);
  const sk = kg.secretKey();
  try {
    const key: ConsortiumKey = { paramsName, secretKey: sk.saveArray(seal.ComprModeType.none) };
    if (params.encryption === 'public-key') {
      const pk = kg.createPublicKey();
      try {
        key.publicKey = pk.saveArray(seal.ComprModeType.none);
      } finally {
        pk.delete();
      }
    }
    return key;
  } finally {
    sk.delete();
    kg.delete();
  }
}

/** Short public identifier of a key (SHA-256 of its secret key, domain-separated; reveals nothing of it). */
export function consortiumKeyId(key: ConsortiumKey): string {
  return createHash('sha256').update('kpfl-he-key-id/v1\0').update(key.secretKey).digest('hex').slice(0, 32);
}

export function serializeConsortiumKey(key: ConsortiumKey): string {
  getHeParams(key.paramsName);
  if (!(key.secretKey instanceof Uint8Array) || key.secretKey.length === 0) {
    throw new HeError('KEY_INVALID', 'consortium key has no secret key');
  }
  return JSON.stringify({
    type: CONSORTIUM_KEY_TYPE,
    version: 1,
    paramsName: key.paramsName,
    keyId: consortiumKeyId(key),
    secretKey: Buffer.from(key.secretKey.buffer, key.secretKey.byteOffset, key.secretKey.byteLength).toString(
      'base64',
    ),
    ...(key.publicKey
      ? {
          publicKey: Buffer.from(
            key.publicKey.buffer,
            key.publicKey.byteOffset,
            key.publicKey.byteLength,
          ).toString('base64'),
        }
      : {}),
  });
}

function decodeBase64(value: unknown, field: string): Uint8Array {
  if (
    typeof value !== 'string' ||
    value.length === 0 ||
    !/^[A-Za-z0-9+/]+={0,2}$/.test(value) ||
    value.length % 4 !== 0
  ) {
    throw new HeError('KEY_INVALID', `consortium key: '${field}' must be non-empty base64`);
  }
  const buf = Buffer.from(value, 'base64');
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/**
 * Parses serializeConsortiumKey's output. Checks the format, the parameter set name and the key id
 * (a corrupted or truncated key is caught here); checkConsortiumKey additionally loads it into SEAL.
 */
export function parseConsortiumKey(text: string): ConsortiumKey {
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (err) {
    throw new HeError('KEY_INVALID', `consortium key is not JSON: ${(err as Error).message}`);
  }
  if (typeof obj !== 'object' || obj === null || (obj as { type?: unknown }).type !== CONSORTIUM_KEY_TYPE) {
    throw new HeError('KEY_INVALID', `consortium key: expected an object with type '${CONSORTIUM_KEY_TYPE}'`);
  }
  const o = obj as Record<string, unknown>;
  if (o.version !== 1)
    throw new HeError('KEY_INVALID', `consortium key: unsupported version ${String(o.version)}`);
  if (typeof o.paramsName !== 'string')
    throw new HeError('KEY_INVALID', "consortium key: 'paramsName' is missing");
  let params: ReturnType<typeof getHeParams>;
  try {
    params = getHeParams(o.paramsName);
  } catch (err) {
    throw new HeError('KEY_INVALID', `consortium key: ${(err as Error).message}`);
  }
  const key: ConsortiumKey = { paramsName: o.paramsName, secretKey: decodeBase64(o.secretKey, 'secretKey') };
  if (o.publicKey !== undefined) key.publicKey = decodeBase64(o.publicKey, 'publicKey');
  if (params.encryption === 'public-key' && !key.publicKey) {
    throw new HeError('KEY_INVALID', `consortium key: parameter set '${params.name}' needs 'publicKey'`);
  }
  if (o.keyId !== consortiumKeyId(key)) {
    throw new HeError(
      'KEY_INVALID',
      'consortium key: keyId does not match the secret key (corrupted or edited)',
    );
  }
  return key;
}

/** Loads the key into SEAL under its parameter set: throws KEY_INVALID if it does not belong there. */
export async function checkConsortiumKey(key: ConsortiumKey): Promise<void> {
  let params: ReturnType<typeof getHeParams>;
  try {
    params = getHeParams(key.paramsName);
  } catch (err) {
    throw new HeError('KEY_INVALID', `consortium key: ${(err as Error).message}`);
  }
  const ctx = await getHeContext(params);
  loadSecretKey(ctx, key.secretKey).delete();
  if (params.encryption === 'public-key') {
    if (!key.publicKey)
      throw new HeError('KEY_INVALID', `consortium key: parameter set '${params.name}' needs 'publicKey'`);
    loadPublicKey(ctx, key.publicKey).delete();
  }
}
