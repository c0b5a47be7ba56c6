import type { KeyObject } from 'node:crypto';
import { randomUUID } from 'node:crypto';
import { type JSONWebKeySet, type JWTHeaderParameters, jwtVerify, SignJWT } from 'jose';
import { z } from 'zod';
import { type Capability, ROLES, type Role } from './capabilities.js';
import { ALG, type Clock, DEFAULT_CLOCK_TOLERANCE_S, nowSeconds, TYP } from './constants.js';
import { classifyJoseError, KptError } from './errors.js';
import { type IdentityKey, publicKeyOf, signingKeyOf } from './identity.js';
import { coordinatorKeys, findCoordinatorKey } from './jwks.js';
import { MemoryReplayStore, type ReplayStore } from './replay.js';
import { idSchema, parseWith, roundSchema, unixSecondsSchema } from './schemas.js';
import { refuseDuplicateKeysInCompact } from './strict-json.js';

/**
 * A verifier accepts any well-formed capability in a token (a newer coordinator may grant one this
 * version does not know; it is simply never required); an issuer grants only `Capability`s.
 */
const capabilitySchema = z
  .string()
  .regex(/^[a-z][a-z0-9-]*:[a-z][a-z0-9-]*$/, "must look like 'object:verb'");

export const kpflClaimsSchema = z
  .object({
    federation: idSchema,
    roles: z.array(z.enum(ROLES)).min(1),
    capabilities: z.array(capabilitySchema),
    round: roundSchema.optional(),
    parties: z.array(idSchema).optional(),
    modelVersion: z.string().min(1).max(200).optional(),
    quotas: z
      .object({
        maxSubmissionsPerRound: z.number().int().positive().optional(),
        maxBytesPerRound: z.number().int().positive().optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export const sessionClaimsSchema = z
  .object({
    iss: z.string().min(1),
    sub: idSchema,
    aud: z.string().min(1),
    exp: unixSecondsSchema,
    nbf: unixSecondsSchema,
    iat: unixSecondsSchema,
    jti: z.string().min(16).max(128),
    kpfl: kpflClaimsSchema,
  })
  .strict();

export type SessionClaims = z.infer<typeof sessionClaimsSchema>;
export type KpflClaims = SessionClaims['kpfl'];

export const MAX_SESSION_TTL_S = 24 * 3600;

export interface IssueSessionArgs {
  issuer: string;
  audience: string;
  subject: string;
  ttlSeconds: number;
  /** Capabilities from kpt's vocabulary only, usually `capabilitiesOf(roles)`. */
  kpfl: Omit<KpflClaims, 'capabilities'> & { capabilities: readonly Capability[] };
  /** Issue time; default now. */
  now?: Clock;
  /** Unix seconds; default the issue time. */
  notBefore?: number;
}

/** Sign a session token (JWT, EdDSA, typ kpfl-session+jwt) with the coordinator key. */
export async function issueSessionToken(coordinator: IdentityKey, args: IssueSessionArgs): Promise<string> {
  const ttl = args.ttlSeconds;
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_SESSION_TTL_S) {
    throw new KptError('CLAIMS_INVALID', `ttlSeconds must be an integer in 1..${MAX_SESSION_TTL_S}`);
  }
  const iat = nowSeconds(args.now);
  const claims = parseWith(
    sessionClaimsSchema,
    {
      iss: args.issuer,
      sub: args.subject,
      aud: args.audience,
      iat,
      nbf: args.notBefore ?? iat,
      exp: iat + ttl,
      jti: randomUUID(),
      kpfl: args.kpfl,
    },
    'CLAIMS_INVALID',
    'session token to issue',
  );
  return new SignJWT(claims)
    .setProtectedHeader({ alg: ALG, kid: coordinator.kid, typ: TYP.session })
    .sign(signingKeyOf(coordinator));
}

export interface TokenVerifierOptions {
  /** JWKS holding the coordinator key(s). Keys marked as member/auditor keys are ignored. */
  jwks: JSONWebKeySet;
  issuer: string;
  audience: string;
  clockToleranceSeconds?: number;
  /**
   * 'allow' (default): a token is a bearer credential for many RPCs during its lifetime.
   * 'reject-reuse': each jti is accepted once (one-shot tokens); needs replayStore to survive restarts.
   */
  replay?: 'reject-reuse' | 'allow';
  replayStore?: ReplayStore;
  /** Consulted on every verify, after the signature: true refuses the token (REVOKED). */
  isRevoked?: (sub: string, jti: string) => boolean | Promise<boolean>;
  /** When set, tokens for another federation are FORBIDDEN. */
  federation?: string;
  now?: Clock;
}

export interface TokenRequirement {
  /** One of ROLES; any other value is simply never held. */
  role?: Role | (string & {});
  capability?: Capability;
  /** The token must be bound to exactly this round (a token without a round claim is refused). */
  round?: number;
  /** The token's subject must be this (e.g. the CN of the mTLS peer certificate). */
  subject?: string;
}

export class TokenVerifier {
  readonly #opts: TokenVerifierOptions;
  readonly #tolerance: number;
  readonly #clock: Clock;
  readonly #replayStore: ReplayStore | undefined;
  readonly #keys = new Map<string, KeyObject>();
  readonly #revokedJti = new Map<string, number>();

  constructor(opts: TokenVerifierOptions) {
    if (coordinatorKeys(opts.jwks).length === 0) {
      throw new KptError('KEY_INVALID', 'TokenVerifier: the JWKS holds no coordinator key');
    }
    this.#opts = opts;
    this.#tolerance = opts.clockToleranceSeconds ?? DEFAULT_CLOCK_TOLERANCE_S;
    this.#clock = opts.now ?? Date.now;
    this.#replayStore =
      opts.replay === 'reject-reuse'
        ? (opts.replayStore ?? new MemoryReplayStore({ now: this.#clock }))
        : undefined;
  }

  /** Refuse this jti from now on (until it would have expired anyway). */
  revokeToken(jti: string, expiresAt: number): void {
    this.#revokedJti.set(jti, expiresAt + this.#tolerance);
  }

  async verify(token: string, need: TokenRequirement = {}): Promise<SessionClaims> {
    if (typeof token !== 'string' || token.length === 0 || token.length > 16_384) {
      throw new KptError('TOKEN_INVALID', 'session token missing or oversized');
    }
    const now = nowSeconds(this.#clock);
    refuseDuplicateKeysInCompact(token, 'TOKEN_INVALID', 'session token');
    let payload: unknown;
    try {
      ({ payload } = await jwtVerify(token, (h: JWTHeaderParameters) => this.#keyFor(h), {
        algorithms: [ALG],
        typ: TYP.session,
        issuer: this.#opts.issuer,
        audience: this.#opts.audience,
        clockTolerance: this.#tolerance,
        currentDate: new Date(now * 1000),
        requiredClaims: ['iss', 'sub', 'aud', 'exp', 'nbf', 'iat', 'jti'],
      }));
    } catch (err) {
      throw this.#mapJoseError(err);
    }
    const claims = parseWith(sessionClaimsSchema, payload, 'CLAIMS_INVALID', 'session token');
    if (claims.iat > now + this.#tolerance) {
      throw new KptError('TOKEN_INVALID', 'session token iat is in the future: check the coordinator clock');
    }
    // The issuer never mints a longer token; one that claims more was minted elsewhere (or by mistake).
    const lifetime = claims.exp - claims.iat;
    if (
      lifetime > MAX_SESSION_TTL_S + this.#tolerance ||
      claims.exp - now > MAX_SESSION_TTL_S + this.#tolerance
    ) {
      throw new KptError(
        'TOKEN_INVALID',
        `session token lives ${Math.max(lifetime, claims.exp - now)} s, more than the maximum ${MAX_SESSION_TTL_S} s: authenticate again`,
      );
    }
    if (this.#opts.federation !== undefined && claims.kpfl.federation !== this.#opts.federation) {
      throw new KptError(
        'FORBIDDEN',
        `session token is for federation "${claims.kpfl.federation}", this service serves "${this.#opts.federation}"`,
      );
    }
    this.#pruneRevoked(now);
    if (this.#revokedJti.has(claims.jti) || (await this.#opts.isRevoked?.(claims.sub, claims.jti))) {
      throw new KptError(
        'REVOKED',
        `"${claims.sub}" is revoked (or this session ${claims.jti} was): contact the operator`,
      );
    }
    if (need.subject !== undefined && claims.sub !== need.subject) {
      throw new KptError(
        'FORBIDDEN',
        `session token subject "${claims.sub}" does not match the authenticated peer "${need.subject}"`,
      );
    }
    if (need.role !== undefined && !(claims.kpfl.roles as string[]).includes(need.role)) {
      throw new KptError(
        'FORBIDDEN',
        `"${claims.sub}" lacks role "${need.role}" (has ${claims.kpfl.roles.join(', ')})`,
      );
    }
    if (need.capability !== undefined && !claims.kpfl.capabilities.includes(need.capability)) {
      throw new KptError('FORBIDDEN', `"${claims.sub}" lacks capability "${need.capability}"`);
    }
    if (need.round !== undefined && claims.kpfl.round !== need.round) {
      throw new KptError(
        'WRONG_ROUND',
        claims.kpfl.round === undefined
          ? `session token is not bound to a round; round ${need.round} requires a round-bound token`
          : `session token is for round ${claims.kpfl.round}, not round ${need.round}: authenticate for the current round`,
      );
    }
    if (this.#replayStore) {
      const fresh = await this.#replayStore.markUsed(`kpt:jti:${claims.jti}`, claims.exp + this.#tolerance);
      if (!fresh) throw new KptError('REPLAYED', `one-shot session token ${claims.jti} was already used`);
    }
    return claims;
  }

  #keyFor(header: JWTHeaderParameters): KeyObject {
    if (header.typ !== TYP.session) {
      throw new KptError(
        'TOKEN_INVALID',
        `not a session token: typ is ${header.typ ?? 'absent'}, expected ${TYP.session}`,
      );
    }
    if (typeof header.kid !== 'string')
      throw new KptError('TOKEN_INVALID', 'session token header has no kid');
    const cached = this.#keys.get(header.kid);
    if (cached) return cached;
    const jwk = findCoordinatorKey(this.#opts.jwks, header.kid);
    if (!jwk) {
      throw new KptError(
        'SIGNATURE_INVALID',
        `session token is signed by kid ${header.kid}, which is not a coordinator key of this federation (stale JWKS or foreign token)`,
      );
    }
    const key = publicKeyOf(jwk);
    this.#keys.set(header.kid, key);
    return key;
  }

  #mapJoseError(err: unknown): KptError {
    if (err instanceof KptError) return err;
    const f = classifyJoseError(err);
    switch (f.kind) {
      case 'expired':
        return new KptError('TOKEN_EXPIRED', 'session token expired: authenticate again', { cause: err });
      case 'signature':
      case 'no-key':
        return new KptError(
          'SIGNATURE_INVALID',
          'session token signature does not verify: forged or altered',
          {
            cause: err,
          },
        );
      case 'claim':
        if (f.claim === 'iss') {
          return new KptError('WRONG_ISSUER', `session token issuer is not "${this.#opts.issuer}"`, {
            cause: err,
          });
        }
        if (f.claim === 'aud') {
          return new KptError('WRONG_AUDIENCE', `session token audience is not "${this.#opts.audience}"`, {
            cause: err,
          });
        }
        if (f.claim === 'nbf') {
          return new KptError('TOKEN_INVALID', 'session token is not yet valid (nbf): check clocks', {
            cause: err,
          });
        }
        if (f.claim === 'typ') {
          return new KptError('TOKEN_INVALID', `not a session token (typ must be ${TYP.session})`, {
            cause: err,
          });
        }
        return new KptError('CLAIMS_INVALID', `session token claim "${f.claim}" is ${f.reason}`, {
          cause: err,
        });
      default:
        return new KptError('TOKEN_INVALID', `session token is malformed: ${f.detail}`, { cause: err });
    }
  }

  #pruneRevoked(now: number): void {
    for (const [jti, until] of this.#revokedJti) if (until < now) this.#revokedJti.delete(jti);
  }
}
