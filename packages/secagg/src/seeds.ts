import {
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  type KeyObject,
  randomBytes,
} from 'node:crypto';
import { SecAggError } from './errors.js';
import { SEED_BYTES } from './prg.js';

export const X25519_KEY_BYTES = 32;

export interface X25519KeyPair {
  /** Raw 32-byte X25519 public key (RFC 7748 u-coordinate), what a JWK's `x` holds. */
  publicKey: Uint8Array;
  /** Raw 32-byte X25519 private key (RFC 7748 scalar), what a JWK's `d` holds. */
  privateKey: Uint8Array;
}

/** One round's keys: never reused across rounds, so a revealed mask key exposes only that round. */
export interface RoundKeys {
  /** Agrees the pairwise mask seeds with each neighbour. */
  mask: X25519KeyPair;
  /** What neighbours encrypt their Shamir shares to. */
  share: X25519KeyPair;
}

export interface PairContext {
  federation: string;
  planId: string;
  round: number;
  /** The two members of the pair, in either order: both sides derive the same seed. */
  a: string;
  b: string;
}

function keyPair(): X25519KeyPair {
  const { privateKey } = generateKeyPairSync('x25519');
  const jwk = privateKey.export({ format: 'jwk' }) as { x: string; d: string };
  return {
    publicKey: new Uint8Array(Buffer.from(jwk.x, 'base64url')),
    privateKey: new Uint8Array(Buffer.from(jwk.d, 'base64url')),
  };
}

export function generateRoundKeys(): RoundKeys {
  return { mask: keyPair(), share: keyPair() };
}

/** A fresh self-mask seed (double masking): random, one round only. */
export function generateSelfSeed(): Uint8Array {
  return new Uint8Array(randomBytes(SEED_BYTES));
}

function rawKey(bytes: Uint8Array, what: string): Buffer {
  if (!(bytes instanceof Uint8Array) || bytes.length !== X25519_KEY_BYTES)
    throw new SecAggError('KEY_INVALID', `${what} must be a raw 32-byte X25519 key`);
  return Buffer.from(bytes);
}

// Raw keys are imported as JWK, not as RFC 8410 DER: on Node 20 / OpenSSL 3 a DER import goes through
// the decoder search and costs about 1 ms, a JWK import about 0.1 ms, and a member agrees one seed
// per neighbour. Node builds an OKP private key from `d` alone (the derived public half is what
// createPublicKey returns; `x` is not consulted), so none is passed.
export function x25519PrivateKey(raw: Uint8Array): KeyObject {
  const d = rawKey(raw, 'an X25519 private key').toString('base64url');
  try {
    return createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', d, x: '' }, format: 'jwk' });
  } catch (cause) {
    throw new SecAggError('KEY_INVALID', 'the X25519 private key could not be imported', { cause });
  }
}

export function x25519PublicKey(raw: Uint8Array): KeyObject {
  const x = rawKey(raw, 'an X25519 public key').toString('base64url');
  try {
    return createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x }, format: 'jwk' });
  } catch (cause) {
    throw new SecAggError('KEY_INVALID', 'the X25519 public key could not be imported', { cause });
  }
}

/** The raw public key of a raw private key. */
export function x25519PublicOf(privateKey: Uint8Array): Uint8Array {
  return publicOf(x25519PrivateKey(privateKey));
}

function publicOf(key: KeyObject): Uint8Array {
  const jwk = createPublicKey(key).export({ format: 'jwk' }) as { x: string };
  return new Uint8Array(Buffer.from(jwk.x, 'base64url'));
}

function checkContext(ctx: PairContext): void {
  const ok = (s: unknown) => typeof s === 'string' && s.length > 0 && s.length <= 128;
  if (!ctx || !ok(ctx.federation) || !ok(ctx.planId) || !ok(ctx.a) || !ok(ctx.b))
    throw new SecAggError(
      'CONTEXT_INVALID',
      'a pairwise seed needs non-empty federation, planId and member ids a and b (at most 128 characters)',
    );
  if (!Number.isSafeInteger(ctx.round) || ctx.round < 0)
    throw new SecAggError('CONTEXT_INVALID', `the round must be a non-negative integer, got ${ctx.round}`);
  if (ctx.a === ctx.b)
    throw new SecAggError('CONTEXT_INVALID', `a member has no pairwise seed with itself (${ctx.a})`);
}

const compareBytes = (x: Uint8Array, y: Uint8Array) => Buffer.compare(Buffer.from(x), Buffer.from(y));

/**
 * The seed of the pairwise mask between a and b: X25519(myMaskPrivate, theirMaskPublic), then
 * HKDF-SHA256 to 32 bytes. The HKDF info binds the seed to federation, plan, round and the unordered
 * pair (sorted ids), and its salt to both public keys (sorted), so a seed agreed for one round, plan or pair
 * never serves another, and both sides get the same bytes.
 */
export function pairwiseSeed(
  myMaskPrivate: Uint8Array,
  theirMaskPublic: Uint8Array,
  ctx: PairContext,
): Uint8Array {
  checkContext(ctx);
  const mine = x25519PrivateKey(myMaskPrivate);
  const theirs = x25519PublicKey(theirMaskPublic);
  let shared: Buffer;
  try {
    shared = diffieHellman({ privateKey: mine, publicKey: theirs });
  } catch (cause) {
    // OpenSSL itself refuses an all-zero result; say what it means either way.
    throw new SecAggError(
      'LOW_ORDER_POINT',
      `the mask key advertised by the peer of ${ctx.a}/${ctx.b} gives no shared secret (a low-order point?): refuse that advertisement`,
      { cause },
    );
  }
  // A low-order public key makes the shared secret all zero whatever our key is: the "seed" would be
  // known to anyone, so the mask would hide nothing (RFC 7748 section 6.1).
  if (shared.every((b) => b === 0))
    throw new SecAggError(
      'LOW_ORDER_POINT',
      'the peer mask key is a low-order point (all-zero shared secret): refuse that advertisement',
    );
  const myPublic = publicOf(mine);
  const keys = [myPublic, new Uint8Array(theirMaskPublic)].sort(compareBytes);
  const [lo, hi] = ctx.a < ctx.b ? [ctx.a, ctx.b] : [ctx.b, ctx.a];
  // The public keys go in the salt (no length limit there); the ids in the info, which node caps at 1024 bytes.
  const salt = Buffer.concat([Buffer.from(keys[0]!), Buffer.from(keys[1]!)]);
  const info = Buffer.from(
    JSON.stringify(['kpfl-secagg-pairwise-v1', ctx.federation, ctx.planId, ctx.round, lo, hi]),
  );
  return new Uint8Array(hkdfSync('sha256', shared, salt, info, SEED_BYTES));
}
