/**
 * The whole SecAgg+ data path with this package alone (the signed and encrypted transport is kpt's
 * and the lead's): advertise keys, build the graph, share mask keys and self seeds to the neighbours
 * and oneself, mask, drop some members, rebuild secrets from the survivors' shares, and unmask.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  addMod,
  chiSquareUniform,
  combineShares,
  expandMask,
  generateRoundKeys,
  generateSelfSeed,
  maskCorrection,
  maskUpdate,
  neighbourGraph,
  pairSign,
  pairwiseSeed,
  pearson,
  type RoundKeys,
  secaggParameters,
  splitSecret,
  subMod,
} from '../src/index.js';
import { exactSum, expectCode, T, valuesOf } from './helpers.js';

const ctx = { federation: 'fed', planId: 'plan', round: 2 };

interface Member {
  id: string;
  keys: RoundKeys;
  selfSeed: Uint8Array;
  values: Float64Array;
  /** Shares this member holds: of whom -> { maskKey, selfSeed }. */
  held: Map<string, { maskKey: Uint8Array; selfSeed: Uint8Array }>;
}

async function round(n: number, length: number) {
  const { degree, threshold } = secaggParameters(n);
  const members: Member[] = Array.from({ length: n }, (_, i) => ({
    id: `m${i}`,
    keys: generateRoundKeys(),
    selfSeed: generateSelfSeed(),
    values: valuesOf(100 + i, length),
    held: new Map(),
  }));
  const byId = new Map(members.map((m) => [m.id, m]));
  const graph = neighbourGraph(
    members.map((m) => m.id),
    degree,
    new Uint8Array(32).fill(9),
  );
  for (const m of members) {
    const holders = [m.id, ...graph.get(m.id)!];
    const maskKey = await splitSecret(m.keys.mask.privateKey, holders, threshold);
    const selfSeed = await splitSecret(m.selfSeed, holders, threshold);
    for (const h of holders)
      byId.get(h)!.held.set(m.id, { maskKey: maskKey.get(h)!, selfSeed: selfSeed.get(h)! });
  }
  const seed = (me: Member, peer: string) =>
    pairwiseSeed(me.keys.mask.privateKey, byId.get(peer)!.keys.mask.publicKey, { ...ctx, a: me.id, b: peer });
  const masked = (m: Member) =>
    maskUpdate(m.values, T, {
      me: m.id,
      selfSeed: m.selfSeed,
      peers: graph.get(m.id)!.map((p) => ({ id: p, seed: seed(m, p) })),
    });
  return { members, byId, graph, threshold, masked };
}

/** The aggregator's unmasking from the survivors' shares: the exact survivors' sum, or a throw. */
async function unmask(r: Awaited<ReturnType<typeof round>>, dropouts: Set<string>, length: number) {
  const survivors = r.members.filter((m) => !dropouts.has(m.id));
  const sum = exactSum(survivors.map(r.masked));
  const sharesOf = (of: string, kind: 'maskKey' | 'selfSeed') =>
    survivors.flatMap((s) => (s.held.has(of) ? [s.held.get(of)![kind]] : []));
  const selfSeeds = await Promise.all(survivors.map((s) => combineShares(sharesOf(s.id, 'selfSeed'))));
  const droppedPairs = [];
  for (const d of dropouts) {
    const maskPrivate = await combineShares(sharesOf(d, 'maskKey'));
    for (const s of r.graph.get(d)!.filter((p) => !dropouts.has(p)))
      droppedPairs.push({
        survivor: s,
        dropout: d,
        seed: pairwiseSeed(maskPrivate, r.byId.get(s)!.keys.mask.publicKey, { ...ctx, a: d, b: s }),
      });
  }
  const c = maskCorrection(length, T, { selfSeeds, droppedPairs });
  return { got: sum.map((v, i) => subMod(v, c[i]!, T)), want: exactSum(survivors.map((m) => m.values)) };
}

test('10 members, 3 drop after sharing: the unmasked sum is exactly the 7 survivors sum', async () => {
  const length = 5000;
  const r = await round(10, length);
  const { got, want } = await unmask(r, new Set(['m1', 'm4', 'm8']), length);
  assert.deepEqual(got, want);
});

test('10 members, 7 drop: the survivors cannot reach the threshold, and unmasking fails cleanly', async () => {
  const r = await round(10, 100);
  assert.equal(r.threshold, 5);
  await expectCode(
    () => unmask(r, new Set(['m0', 'm1', 'm2', 'm3', 'm4', 'm5', 'm6']), 100),
    'TOO_FEW_SHARES',
  );
});

test('100 members on the sparse graph, 30 drop: still exact', async () => {
  const length = 200;
  const r = await round(100, length);
  const drop = new Set(r.members.filter((_, i) => i % 10 < 3).map((m) => m.id));
  const { got, want } = await unmask(r, drop, length);
  assert.deepEqual(got, want);
});

test('collusion: the aggregator with one member sees noise; with every mask key and the self seed, the update', async () => {
  const length = 100_000;
  const r = await round(10, length);
  const [victim, colluder] = [r.members[3]!, r.members[7]!];
  const y = r.masked(victim);
  const strip = (v: Float64Array, peer: string, s: Uint8Array) => {
    const m = expandMask(s, length, T);
    const sign = pairSign(victim.id, peer);
    return v.map((x, i) => (sign === 1 ? subMod(x, m[i]!, T) : addMod(x, m[i]!, T)));
  };
  // The coalition removes the one pairwise mask it can compute: the colluder's with the victim.
  const withColluder = pairwiseSeed(colluder.keys.mask.privateKey, victim.keys.mask.publicKey, {
    ...ctx,
    a: colluder.id,
    b: victim.id,
  });
  const residual = strip(y, colluder.id, withColluder);
  const chi = chiSquareUniform(residual, T, 64);
  assert.ok(chi.pValue > 0.001, `residual not uniform: p = ${chi.pValue}`);
  assert.ok(Math.abs(pearson(residual, victim.values)) < 0.01);
  // Every pairwise mask too (all other mask keys) but no self seed: double masking still hides it.
  let pairwiseGone = y;
  for (const p of r.graph.get(victim.id)!) {
    const other = r.byId.get(p)!;
    const s = pairwiseSeed(other.keys.mask.privateKey, victim.keys.mask.publicKey, {
      ...ctx,
      a: p,
      b: victim.id,
    });
    pairwiseGone = strip(pairwiseGone, p, s);
  }
  assert.ok(chiSquareUniform(pairwiseGone, T, 64).pValue > 0.001);
  // Positive control: with the self seed as well, the victim's update comes out exactly.
  const self = expandMask(victim.selfSeed, length, T);
  assert.deepEqual(
    pairwiseGone.map((v, i) => subMod(v, self[i]!, T)),
    victim.values,
  );
});
