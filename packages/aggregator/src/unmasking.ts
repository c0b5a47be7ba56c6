/**
 * Removing a secure round's masks (ADR 0010). The survivors' unmask responses carry Shamir shares:
 * of each survivor's self-mask seed and of each dropout's mask key. With at least the round's
 * threshold of each, the aggregator rebuilds the seeds, expands the masks that are left in the sum
 * (every survivor's self-mask, and the pairwise masks survivors added with a dropout) and subtracts
 * them from the encrypted sum: a plaintext vector, so no key is needed and nothing is decrypted.
 */

import { paramsForMode } from '@kpfl/he';
import { unverifiedClaims } from '@kpfl/kpt';
import {
  combineShares,
  fromBase64url,
  maskCorrection,
  pairwiseSeed,
  type RoundGraph,
  roundGraph,
  x25519PublicOf,
} from '@kpfl/secagg';
import type { MaskAdvertisementRow, PlanRow, RoundRow, UnmaskResponseRow } from '@kpfl/store';

/** The round's SecAgg+ neighbour graph over the members that advertised keys (fixed when sharing starts). */
export function roundGraphOf(plan: PlanRow, round: RoundRow): RoundGraph {
  return roundGraph({
    federation: plan.federation,
    planId: plan.id,
    round: round.round,
    members: round.advertised ?? [],
    degree: round.secagg_degree ?? undefined,
  });
}

interface ShareClaim {
  of: string;
  share: string;
}

/**
 * Rebuilds the mask correction of a round in `unmasking` (or later): every survivor's self-mask
 * seed and every dropout's mask key from at least `threshold` shares held by its neighbours, each
 * rebuilt mask key checked against the public key its owner advertised. Throws, naming who cannot
 * be unmasked, when shares are missing. With `checkOnly`, stops after counting the shares.
 */
export async function unmaskCorrection(
  plan: PlanRow,
  round: RoundRow,
  advertisements: readonly MaskAdvertisementRow[],
  responses: readonly UnmaskResponseRow[],
  opts: { checkOnly?: boolean } = {},
): Promise<Float64Array | undefined> {
  const graph = roundGraphOf(plan, round);
  const threshold = round.secagg_threshold ?? graph.threshold;
  const survivors = round.survivors ?? [];
  const dropouts = round.dropouts ?? [];
  const selfShares = new Map<string, Uint8Array[]>(survivors.map((m) => [m, []]));
  const keyShares = new Map<string, Uint8Array[]>(dropouts.map((m) => [m, []]));
  for (const r of responses) {
    // Verified against its author's key when it was stored (PutUnmaskResponse).
    const claims = (unverifiedClaims(r.response) ?? {}) as {
      selfSeedShares?: ShareClaim[];
      maskKeyShares?: ShareClaim[];
    };
    // Only a neighbour, or the member itself, holds a share of a member's secrets; anything else in
    // a response is ignored.
    const neighbours = new Set([...(graph.neighbours.get(r.member) ?? []), r.member]);
    for (const s of claims.selfSeedShares ?? [])
      if (neighbours.has(s.of)) selfShares.get(s.of)?.push(fromBase64url(s.share));
    for (const s of claims.maskKeyShares ?? [])
      if (neighbours.has(s.of)) keyShares.get(s.of)?.push(fromBase64url(s.share));
  }
  const short = [
    ...[...selfShares]
      .filter(([, s]) => s.length < threshold)
      .map(([m, s]) => `${m}'s self-mask (${s.length} shares)`),
    ...[...keyShares]
      .filter(([, s]) => s.length < threshold)
      .map(([m, s]) => `${m}'s mask key (${s.length} shares)`),
  ];
  if (short.length)
    throw new Error(`fewer than the threshold of ${threshold} shares for ${short.slice(0, 5).join(', ')}`);
  if (opts.checkOnly) return undefined;

  const advertised = new Map(advertisements.map((a) => [a.member, a]));
  const selfSeeds: Uint8Array[] = [];
  for (const [, shares] of selfShares) selfSeeds.push(await combineShares(shares));
  const droppedPairs: { survivor: string; dropout: string; seed: Uint8Array }[] = [];
  for (const [dropout, shares] of keyShares) {
    const maskKey = await combineShares(shares);
    const ad = advertised.get(dropout);
    if (!ad || Buffer.from(x25519PublicOf(maskKey)).toString('base64url') !== ad.mask_public_key)
      throw new Error(`the shares of ${dropout}'s mask key do not rebuild the key it advertised`);
    for (const survivor of graph.neighbours.get(dropout) ?? []) {
      if (!survivors.includes(survivor)) continue;
      const peer = advertised.get(survivor);
      if (!peer) throw new Error(`${survivor} survived round ${round.round} without an advertisement`);
      droppedPairs.push({
        survivor,
        dropout,
        seed: pairwiseSeed(maskKey, fromBase64url(peer.mask_public_key), {
          federation: plan.federation,
          planId: plan.id,
          round: round.round,
          a: dropout,
          b: survivor,
        }),
      });
    }
  }
  const t = paramsForMode('secure', plan.he_params).plainModulus;
  return maskCorrection(plan.parameter_count + 1, t, { selfSeeds, droppedPairs });
}
