import type { JSONWebKeySet, JWK } from 'jose';
import { ALG } from './constants.js';
import { KptError } from './errors.js';
import { publicJwkMaterial } from './identity.js';

/** Reserved id: `memberId: 'coordinator'` in buildJwks denotes the coordinator's key; no member may use it. */
export const COORDINATOR_ID = 'coordinator';

/** Who holds a key. Only `coordinator` keys may sign session tokens, receipts and the round certificate's first signature. */
export type KeyRole = 'coordinator' | 'participant' | 'auditor';

/** A JWK as published by kpt: public Ed25519 material plus kid, alg, use and two private-use members. */
export type KptJwk = JWK & { kpfl_role?: KeyRole; kpfl_member?: string };

export interface JwksEntry {
  kid: string;
  publicJwk: JWK;
  use?: string;
  /** Member (or auditor) id the key belongs to; absent, or the reserved id 'coordinator', for the coordinator's keys. */
  memberId?: string;
  /** Defaults to 'coordinator' when memberId is absent or 'coordinator', else 'participant'. */
  role?: KeyRole;
}

/**
 * Build the published JWKS. Each key carries `kpfl_role` and, for members and auditors,
 * `kpfl_member` (RFC 7517 4: members other implementations do not understand are ignored).
 * Private material is refused.
 */
export function buildJwks(keys: JwksEntry[]): JSONWebKeySet {
  const seen = new Set<string>();
  const out: KptJwk[] = [];
  for (const k of keys) {
    const material = publicJwkMaterial(k.publicJwk);
    if (typeof k.kid !== 'string' || k.kid.length === 0) {
      throw new KptError('KEY_INVALID', 'every JWKS entry needs a kid');
    }
    if (k.publicJwk.kid !== undefined && k.publicJwk.kid !== k.kid) {
      throw new KptError(
        'KEY_INVALID',
        `JWKS entry kid "${k.kid}" differs from its JWK's kid "${k.publicJwk.kid}"`,
      );
    }
    if (seen.has(k.kid)) throw new KptError('KEY_INVALID', `duplicate kid "${k.kid}" in JWKS`);
    seen.add(k.kid);
    const isCoordinatorId = k.memberId === undefined || k.memberId === COORDINATOR_ID;
    const role: KeyRole = k.role ?? (isCoordinatorId ? 'coordinator' : 'participant');
    if (role === 'coordinator' && !isCoordinatorId) {
      throw new KptError('KEY_INVALID', `coordinator key ${k.kid} cannot belong to member "${k.memberId}"`);
    }
    if (role !== 'coordinator' && isCoordinatorId) {
      throw new KptError(
        'KEY_INVALID',
        `a ${role} key (kid ${k.kid}) needs a member id other than "${COORDINATOR_ID}"`,
      );
    }
    const jwk: KptJwk = { ...material, kid: k.kid, alg: ALG, use: k.use ?? 'sig', kpfl_role: role };
    if (role !== 'coordinator') jwk.kpfl_member = k.memberId;
    out.push(jwk);
  }
  return { keys: out };
}

function keysOf(jwks: JSONWebKeySet): KptJwk[] {
  if (!jwks || !Array.isArray(jwks.keys)) {
    throw new KptError('KEY_INVALID', 'JWKS must be an object with a "keys" array');
  }
  return jwks.keys as KptJwk[];
}

/**
 * Keys acceptable for coordinator-signed artifacts: only those marked `kpfl_role: 'coordinator'`
 * (as buildJwks writes them). Fail closed: an unmarked key is never taken for the coordinator's.
 */
export function coordinatorKeys(jwks: JSONWebKeySet): KptJwk[] {
  return keysOf(jwks).filter((k) => k.kpfl_role === 'coordinator' && k.kpfl_member === undefined);
}

/** Find the coordinator key with this kid, or undefined. */
export function findCoordinatorKey(jwks: JSONWebKeySet, kid: string | undefined): KptJwk | undefined {
  if (kid === undefined) return undefined;
  return coordinatorKeys(jwks).find((k) => k.kid === kid);
}

/** Find a member key (optionally by kid) that the JWKS binds to `memberId`. */
export function findMemberKey(jwks: JSONWebKeySet, memberId: string, kid?: string): KptJwk | undefined {
  return keysOf(jwks).find(
    (k) =>
      k.kpfl_member === memberId &&
      (k.kpfl_role === 'participant' || k.kpfl_role === 'auditor') &&
      (kid === undefined || k.kid === kid),
  );
}

/** Only the coordinator keys, as their own JWKS (what member kits carry). */
export function coordinatorJwksOf(jwks: JSONWebKeySet): JSONWebKeySet {
  return { keys: coordinatorKeys(jwks) };
}

/** A member's or auditor's public identity key, as the federation registers it. */
export interface FederationParty {
  memberId: string;
  kid: string;
  publicJwk: JWK;
  role: 'participant' | 'auditor';
}

/**
 * The key role published for a member holding `roles` (the members table's and the coordinator
 * kit's vocabulary): 'auditor' for a member that is an auditor and not a participant, else
 * 'participant'.
 */
export function partyRole(roles: readonly string[]): 'participant' | 'auditor' {
  return roles.includes('auditor') && !roles.includes('participant') ? 'auditor' : 'participant';
}

/**
 * The federation's published JWKS, and the only place it is assembled: the coordinator's key(s)
 * first, then every party's key ordered by member id (UTF-16 code units, so every caller gets the
 * same document), each marked by buildJwks with `kpfl_role` and `kpfl_member`. Revoked members are
 * the caller's to include: kpfl keeps them, since their earlier attestations must still verify.
 *
 * `coordinator` is the coordinator's identity (provisioning) or a JWKS holding its key(s), of which
 * only those marked `kpfl_role: 'coordinator'` are taken.
 */
export function federationJwks(
  coordinator: { kid: string; publicJwk: JWK } | JSONWebKeySet,
  parties: Iterable<FederationParty>,
): JSONWebKeySet {
  const coordinatorEntries: JwksEntry[] =
    'keys' in coordinator
      ? coordinatorKeys(coordinator).map((k) => ({ kid: String(k.kid), publicJwk: k, role: 'coordinator' }))
      : [{ kid: coordinator.kid, publicJwk: coordinator.publicJwk, role: 'coordinator' }];
  if (coordinatorEntries.length === 0) {
    throw new KptError('KEY_INVALID', 'the coordinator JWKS holds no key marked kpfl_role "coordinator"');
  }
  return buildJwks([
    ...coordinatorEntries,
    ...[...parties]
      .sort((a, b) => (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0))
      .map((p) => ({ kid: p.kid, publicJwk: p.publicJwk, memberId: p.memberId, role: p.role })),
  ]);
}
