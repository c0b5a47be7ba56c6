/**
 * Unmasking (secure aggregation, issue 14). After collection the coordinator announces, signed, which
 * members survived and which dropped out; each survivor answers, signed, with the shares it holds:
 * self-mask seed shares of survivors (so their self masks can be removed) and mask key shares of
 * dropouts (so the pairwise masks they left behind can be). Revealing both kinds for one member would
 * let the aggregator remove every mask of that member's update, so an honest member never does, not
 * even across two announcements of one round (`checkUnmaskRequest`).
 */
import { CompactSign, type JSONWebKeySet } from 'jose';
import { z } from 'zod';
import { ALG, type Clock, nowSeconds } from './constants.js';
import { verifyCoordinatorCompact } from './coordinator-jws.js';
import { digestOf } from './digest.js';
import { KptError } from './errors.js';
import { type IdentityKey, signingKeyOf } from './identity.js';
import { checkRoundRef, type RoundRef } from './mask-advertisement.js';
import { verifyMemberCompact } from './member-jws.js';
import {
  digestSchema,
  idSchema,
  isSortedUnique,
  parseJsonPayload,
  parseWith,
  roundSchema,
  unixSecondsSchema,
} from './schemas.js';
import { SECAGG_TYP, shareSchema } from './secagg-schemas.js';
import { unverifiedClaims } from './unverified.js';

/** More members than a round can sample (the neighbour graph is what keeps the work logarithmic). */
export const MAX_ROUND_MEMBERS = 100_000;

const memberListSchema = z
  .array(idSchema)
  .max(MAX_ROUND_MEMBERS)
  .refine(isSortedUnique, 'must be sorted (UTF-16 code-unit order) without duplicates');

export const unmaskAnnouncementClaimsSchema = z
  .object({
    federation: idSchema,
    planId: idSchema,
    round: roundSchema,
    /** The members whose masked updates are in the sum. */
    survivors: memberListSchema.refine((s) => s.length > 0, 'a round with no survivor has nothing to unmask'),
    /** The members that shared but whose updates are not in the sum. */
    dropouts: memberListSchema,
    iat: unixSecondsSchema,
  })
  .strict()
  .superRefine((c, ctx) => {
    const survivors = new Set(c.survivors);
    const both = c.dropouts.filter((d) => survivors.has(d));
    if (both.length)
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['dropouts'],
        message: `${both.slice(0, 5).join(', ')} listed both as survivor and as dropout`,
      });
  });

export type UnmaskAnnouncementClaims = z.infer<typeof unmaskAnnouncementClaimsSchema>;

/** What an unmask response names: digestOf(the compact announcement JWS). */
export function unmaskAnnouncementDigest(jws: string): string {
  return digestOf(jws);
}

/** The coordinator's signed survivor/dropout sets (compact JWS, typ kpfl-unmask-announcement+jwt). */
export async function signUnmaskAnnouncement(
  coordinatorKey: IdentityKey,
  claims: Omit<UnmaskAnnouncementClaims, 'iat'>,
  opts: { now?: Clock } = {},
): Promise<string> {
  const full = parseWith(
    unmaskAnnouncementClaimsSchema,
    { ...claims, iat: nowSeconds(opts.now) },
    'CLAIMS_INVALID',
    'unmask announcement to sign',
  );
  return new CompactSign(new TextEncoder().encode(JSON.stringify(full)))
    .setProtectedHeader({ alg: ALG, kid: coordinatorKey.kid, typ: SECAGG_TYP.unmaskAnnouncement })
    .sign(signingKeyOf(coordinatorKey));
}

/**
 * Verify an announcement against the coordinator keys of a JWKS (a member key never verifies one).
 * Refuses with SIGNATURE_INVALID (forged), TOKEN_INVALID (not an announcement), CLAIMS_INVALID
 * (unsorted, duplicated or overlapping sets), WRONG_ROUND (another federation, plan or round).
 */
export async function verifyUnmaskAnnouncement(
  jws: string,
  coordinatorJwks: JSONWebKeySet,
  expected: RoundRef,
): Promise<UnmaskAnnouncementClaims> {
  const { payload } = await verifyCoordinatorCompact(
    jws,
    coordinatorJwks,
    SECAGG_TYP.unmaskAnnouncement,
    'unmask announcement',
  );
  const claims = parseWith(
    unmaskAnnouncementClaimsSchema,
    parseJsonPayload(payload, 'CLAIMS_INVALID', 'unmask announcement'),
    'CLAIMS_INVALID',
    'unmask announcement',
  );
  checkRoundRef(claims, expected, 'unmask announcement');
  return claims;
}

const sharesOfSchema = z
  .array(z.object({ of: idSchema, share: shareSchema }).strict())
  .max(MAX_ROUND_MEMBERS)
  .refine(
    (xs) => isSortedUnique(xs.map((x) => x.of)),
    'must be sorted by `of` (UTF-16 code-unit order), one share per member',
  );

export const unmaskResponseClaimsSchema = z
  .object({
    iss: idSchema,
    federation: idSchema,
    planId: idSchema,
    round: roundSchema,
    /** unmaskAnnouncementDigest of the announcement this answers. */
    announcementDigest: digestSchema,
    /** Shares of survivors' self-mask seeds. */
    selfSeedShares: sharesOfSchema,
    /** Shares of dropouts' mask private keys. */
    maskKeyShares: sharesOfSchema,
    iat: unixSecondsSchema,
  })
  .strict();

export type UnmaskResponseClaims = z.infer<typeof unmaskResponseClaimsSchema>;

type SharesOf = { of: string; share: string }[];

function refuseBothKinds(c: { iss: string; selfSeedShares: SharesOf; maskKeyShares: SharesOf }): void {
  const seeds = new Set(c.selfSeedShares.map((s) => s.of));
  const both = c.maskKeyShares.filter((s) => seeds.has(s.of)).map((s) => s.of);
  if (both.length)
    throw new KptError(
      'UNMASK_REFUSED',
      `an unmask response of ${c.iss} would reveal both the self-mask seed share and the mask key share of ${both.slice(0, 5).join(', ')}: that unmasks their update`,
    );
}

const byOf = (a: { of: string }, b: { of: string }) => (a.of < b.of ? -1 : a.of > b.of ? 1 : 0);

/**
 * Sign a participant's unmask response (compact JWS, typ kpfl-unmask-response+jwt). Shares are sorted
 * by `of` here; a response with both kinds of share for one member is refused (UNMASK_REFUSED).
 */
export async function signUnmaskResponse(
  identity: IdentityKey,
  claims: Omit<UnmaskResponseClaims, 'iat'>,
  opts: { now?: Clock } = {},
): Promise<string> {
  const full = parseWith(
    unmaskResponseClaimsSchema,
    {
      ...claims,
      selfSeedShares: Array.isArray(claims?.selfSeedShares)
        ? [...claims.selfSeedShares].sort(byOf)
        : undefined,
      maskKeyShares: Array.isArray(claims?.maskKeyShares) ? [...claims.maskKeyShares].sort(byOf) : undefined,
      iat: nowSeconds(opts.now),
    },
    'CLAIMS_INVALID',
    'unmask response to sign',
  );
  refuseBothKinds(full);
  return new CompactSign(new TextEncoder().encode(JSON.stringify(full)))
    .setProtectedHeader({ alg: ALG, kid: identity.kid, typ: SECAGG_TYP.unmaskResponse })
    .sign(signingKeyOf(identity));
}

export interface UnmaskResponseExpectation extends RoundRef {
  /** The member the response must come from. */
  iss: string;
  /** unmaskAnnouncementDigest of the announcement the aggregator sent. */
  announcementDigest: string;
  /** If given, every self-seed share must be of a survivor and every mask key share of a dropout. */
  announcement?: UnmaskAnnouncementClaims;
}

/**
 * Verify an unmask response with the key the JWKS binds to `expected.iss`. Refuses with WRONG_ISSUER,
 * TOKEN_INVALID, SIGNATURE_INVALID, CLAIMS_INVALID, WRONG_ROUND, WRONG_ANNOUNCEMENT (answers another
 * announcement, or shares that do not fit its sets) and UNMASK_REFUSED (both kinds for one member).
 */
export async function verifyUnmaskResponse(
  jws: string,
  jwks: JSONWebKeySet,
  expected: UnmaskResponseExpectation,
): Promise<UnmaskResponseClaims> {
  const claimed = unverifiedClaims(jws)?.iss;
  if (typeof claimed !== 'string')
    throw new KptError(
      'TOKEN_INVALID',
      'an unmask response is a compact JWS whose payload names its issuer (iss)',
    );
  if (claimed !== expected.iss)
    throw new KptError(
      'WRONG_ISSUER',
      `the unmask response is issued by ${claimed}, expected ${expected.iss}`,
    );
  const { payload } = await verifyMemberCompact(
    jws,
    jwks,
    SECAGG_TYP.unmaskResponse,
    'unmask response',
    expected.iss,
  );
  const claims = parseWith(
    unmaskResponseClaimsSchema,
    parseJsonPayload(payload, 'CLAIMS_INVALID', 'unmask response'),
    'CLAIMS_INVALID',
    'unmask response',
  );
  checkRoundRef(claims, expected, 'unmask response');
  if (claims.announcementDigest !== expected.announcementDigest)
    throw new KptError(
      'WRONG_ANNOUNCEMENT',
      `the unmask response of ${claims.iss} answers announcement ${claims.announcementDigest}, not ${expected.announcementDigest}`,
    );
  refuseBothKinds(claims);
  const a = expected.announcement;
  if (a) {
    const survivors = new Set(a.survivors);
    const dropouts = new Set(a.dropouts);
    const badSeed = claims.selfSeedShares.find((s) => !survivors.has(s.of));
    const badKey = claims.maskKeyShares.find((s) => !dropouts.has(s.of));
    if (badSeed || badKey)
      throw new KptError(
        'WRONG_ANNOUNCEMENT',
        badSeed
          ? `the unmask response of ${claims.iss} gives a self-mask seed share of ${badSeed.of}, who is not a survivor`
          : `the unmask response of ${claims.iss} gives a mask key share of ${badKey!.of}, who is not a dropout`,
      );
  }
  return claims;
}

export interface UnmaskPermission {
  /** Members (my neighbours, and me if I hold a share of my own) whose self-mask seed share I may reveal. */
  selfSeedShares: string[];
  /** Neighbours whose mask key share I may reveal. */
  maskKeyShares: string[];
}

/**
 * What an honest participant may reveal for a verified announcement: self-seed shares of the
 * members in `myNeighbours` that survived, mask key shares of those that dropped out; members in
 * neither set (they never shared) get nothing. `myNeighbours` may include `me` when the member holds
 * a share of its own. Refuses (UNMASK_REFUSED) an announcement that does not list `me` as a survivor,
 * and one that, with the `previous` announcement of the same round this member already answered,
 * would make it reveal both kinds of share for one member.
 */
export function checkUnmaskRequest(
  announcement: UnmaskAnnouncementClaims,
  me: string,
  myNeighbours: readonly string[],
  previous?: UnmaskAnnouncementClaims,
): UnmaskPermission {
  const a = parseWith(unmaskAnnouncementClaimsSchema, announcement, 'CLAIMS_INVALID', 'unmask announcement');
  const survivors = new Set(a.survivors);
  const dropouts = new Set(a.dropouts);
  if (!survivors.has(me))
    throw new KptError(
      'UNMASK_REFUSED',
      dropouts.has(me)
        ? `the announcement lists ${me} itself as a dropout: it does not answer (its update would be unmasked from its neighbours' shares)`
        : `the announcement does not list ${me} as a survivor: it does not answer`,
    );
  if (previous) {
    const p = parseWith(
      unmaskAnnouncementClaimsSchema,
      previous,
      'CLAIMS_INVALID',
      'previous unmask announcement',
    );
    checkRoundRef(p, a, 'previous unmask announcement');
    const flipped = myNeighbours.filter(
      (n) => (p.survivors.includes(n) && dropouts.has(n)) || (p.dropouts.includes(n) && survivors.has(n)),
    );
    if (flipped.length)
      throw new KptError(
        'UNMASK_REFUSED',
        `a second announcement of round ${a.planId}/${a.round} moves ${flipped.slice(0, 5).join(', ')} between survivors and dropouts: answering both would reveal both shares, which unmasks their update`,
      );
  }
  const sorted = [...new Set(myNeighbours)].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
  return {
    selfSeedShares: sorted.filter((n) => survivors.has(n)),
    maskKeyShares: sorted.filter((n) => dropouts.has(n)),
  };
}
