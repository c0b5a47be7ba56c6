import { randomBytes } from 'node:crypto';
import { decodeJwt, type JWK, jwtVerify, SignJWT } from 'jose';
import { z } from 'zod';
import { ALG, type Clock, DEFAULT_CLOCK_TOLERANCE_S, nowSeconds, TYP } from './constants.js';
import { classifyJoseError, KptError } from './errors.js';
import { type IdentityKey, publicKeyOf, signingKeyOf } from './identity.js';
import { idSchema, parseWith } from './schemas.js';
import { refuseDuplicateKeysInCompact } from './strict-json.js';

export interface Challenge {
  /** 256 random bits, base64url. */
  nonce: string;
  /** Milliseconds since the epoch (like Date.now) after which the nonce is refused. */
  expiresAt: number;
}

export const DEFAULT_CHALLENGE_TTL_S = 60;

/** A fresh single-use nonce. Single use is enforced by whoever stores it: see ChallengeRegistry. */
export function createChallenge(opts: { ttlSeconds?: number; now?: Clock } = {}): Challenge {
  const ttl = opts.ttlSeconds ?? DEFAULT_CHALLENGE_TTL_S;
  return { nonce: randomBytes(32).toString('base64url'), expiresAt: (opts.now ?? Date.now)() + ttl * 1000 };
}

/** The participant's answer: a compact JWS {nonce, aud, sub, iat} signed with its identity key. */
export async function signChallenge(
  identity: IdentityKey,
  args: { nonce: string; subject: string; audience: string; now?: Clock },
): Promise<string> {
  return new SignJWT({ nonce: args.nonce })
    .setProtectedHeader({ alg: ALG, kid: identity.kid, typ: TYP.challenge })
    .setSubject(args.subject)
    .setAudience(args.audience)
    .setIssuedAt(nowSeconds(args.now))
    .sign(signingKeyOf(identity));
}

const challengeClaims = z
  .object({
    nonce: z.string().min(16).max(128),
    aud: z.string().min(1),
    sub: idSchema,
    iat: z.number().int(),
  })
  .strict();

export interface ChallengeExpectation {
  nonce: string;
  subject: string;
  audience: string;
  /** Milliseconds since the epoch (Challenge.expiresAt); the response is refused after it (plus clock tolerance). */
  expiresAt?: number;
  now?: Clock;
  clockToleranceSeconds?: number;
  /** Oldest acceptable iat, in seconds before now. Default 300. */
  maxAgeSeconds?: number;
}

/**
 * Check a challenge response against the registered public JWK of `expect.subject`. Stateless: it
 * does not know whether the nonce was already used (ChallengeRegistry does). Every failure is
 * CHALLENGE_INVALID.
 */
export async function verifyChallengeResponse(
  jws: string,
  publicJwk: JWK,
  expect: ChallengeExpectation,
): Promise<void> {
  const key = publicKeyOf(publicJwk);
  const tolerance = expect.clockToleranceSeconds ?? DEFAULT_CLOCK_TOLERANCE_S;
  const now = nowSeconds(expect.now);
  refuseDuplicateKeysInCompact(jws, 'CHALLENGE_INVALID', 'challenge response');
  let payload: unknown;
  try {
    ({ payload } = await jwtVerify(jws, key, {
      algorithms: [ALG],
      typ: TYP.challenge,
      audience: expect.audience,
      subject: expect.subject,
      currentDate: new Date(now * 1000),
      clockTolerance: tolerance,
      maxTokenAge: expect.maxAgeSeconds ?? 300,
      requiredClaims: ['iat', 'sub', 'aud'],
    }));
  } catch (err) {
    const f = classifyJoseError(err);
    const msg =
      f.kind === 'signature'
        ? `challenge response does not verify with the registered key of "${expect.subject}" (kid ${publicJwk.kid ?? '?'}): signed by another key or altered`
        : f.kind === 'claim'
          ? `challenge response claim "${f.claim}" failed (${f.reason}); expected sub "${expect.subject}", aud "${expect.audience}", a recent iat`
          : f.kind === 'expired'
            ? 'challenge response is too old (iat beyond the maximum age): answer a fresh challenge, check clocks'
            : f.kind === 'malformed'
              ? `challenge response is not a valid compact JWS: ${f.detail}`
              : 'challenge response could not be verified';
    throw new KptError('CHALLENGE_INVALID', msg, { cause: err });
  }
  const claims = parseWith(challengeClaims, payload, 'CHALLENGE_INVALID', 'challenge response');
  if (claims.iat > now + tolerance) {
    throw new KptError(
      'CHALLENGE_INVALID',
      'challenge response iat is in the future: check the participant clock',
    );
  }
  if (claims.nonce !== expect.nonce) {
    throw new KptError(
      'CHALLENGE_INVALID',
      'challenge response answers a different nonce: request a new challenge',
    );
  }
  if (expect.expiresAt !== undefined && (expect.now ?? Date.now)() > expect.expiresAt + tolerance * 1000) {
    throw new KptError(
      'CHALLENGE_INVALID',
      'challenge expired before it was answered: request a new challenge',
    );
  }
}

interface Pending {
  subject: string;
  expiresAt: number;
}

/**
 * Single-use challenges, in process. issue() hands out a nonce bound to a subject; redeem() burns
 * it on the first attempt (successful or not, so two concurrent redemptions can never both pass)
 * and then verifies the signature. A second redemption is REPLAYED until the nonce would have
 * expired anyway.
 */
export class ChallengeRegistry {
  readonly #pending = new Map<string, Pending>();
  readonly #spent = new Map<string, number>();
  readonly #audience: string;
  readonly #ttl: number;
  readonly #clock: Clock;
  readonly #maxPending: number;
  readonly #tolerance: number;

  constructor(opts: {
    audience: string;
    ttlSeconds?: number;
    now?: Clock;
    maxPending?: number;
    clockToleranceSeconds?: number;
  }) {
    this.#audience = opts.audience;
    this.#ttl = opts.ttlSeconds ?? DEFAULT_CHALLENGE_TTL_S;
    this.#clock = opts.now ?? Date.now;
    this.#maxPending = opts.maxPending ?? 10_000;
    this.#tolerance = opts.clockToleranceSeconds ?? DEFAULT_CLOCK_TOLERANCE_S;
  }

  get audience(): string {
    return this.#audience;
  }

  get pendingCount(): number {
    return this.#pending.size;
  }

  issue(subject: string): Challenge {
    this.#prune();
    const c = createChallenge({ ttlSeconds: this.#ttl, now: this.#clock });
    while (this.#pending.size >= this.#maxPending) {
      const oldest = this.#pending.keys().next().value as string;
      this.#pending.delete(oldest);
    }
    this.#pending.set(c.nonce, { subject, expiresAt: c.expiresAt });
    return c;
  }

  /** Verify a response from `subject` against its registered public JWK, consuming the nonce. */
  async redeem(jws: string, publicJwk: JWK, subject: string): Promise<void> {
    this.#prune();
    let nonce: unknown;
    try {
      nonce = decodeJwt(jws).nonce;
    } catch (cause) {
      throw new KptError('CHALLENGE_INVALID', 'challenge response is not a compact JWS', { cause });
    }
    if (typeof nonce !== 'string')
      throw new KptError('CHALLENGE_INVALID', 'challenge response carries no nonce');
    if (this.#spent.has(nonce)) {
      throw new KptError(
        'REPLAYED',
        `challenge nonce was already used by "${subject}": request a new challenge`,
      );
    }
    const entry = this.#pending.get(nonce);
    if (!entry) {
      throw new KptError('CHALLENGE_INVALID', 'unknown or expired challenge nonce: request a new challenge');
    }
    if (entry.subject !== subject) {
      throw new KptError('CHALLENGE_INVALID', `challenge was issued to another subject than "${subject}"`);
    }
    this.#pending.delete(nonce);
    this.#spent.set(nonce, entry.expiresAt + this.#tolerance * 1000);
    await verifyChallengeResponse(jws, publicJwk, {
      nonce,
      subject,
      audience: this.#audience,
      expiresAt: entry.expiresAt,
      now: this.#clock,
      clockToleranceSeconds: this.#tolerance,
    });
  }

  #prune(): void {
    const now = this.#clock();
    for (const [n, p] of this.#pending)
      if (p.expiresAt + this.#tolerance * 1000 < now) this.#pending.delete(n);
    for (const [n, until] of this.#spent) if (until < now) this.#spent.delete(n);
  }
}
