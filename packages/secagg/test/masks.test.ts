import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  generateRoundKeys,
  generateSelfSeed,
  maskCorrection,
  maskUpdate,
  neighbourGraph,
  pairSign,
  pairwiseSeed,
  type RoundKeys,
  secaggParameters,
} from '../src/index.js';
import { exactSum, expectCode, T, valuesOf } from './helpers.js';

const LENGTH = 2000;
const ctxBase = { federation: 'fed', planId: 'plan', round: 7 };

interface Member {
  id: string;
  keys: RoundKeys;
  selfSeed: Uint8Array;
  values: Float64Array;
}

function federation(n: number, modulus = T): { members: Member[]; graph: Map<string, string[]> } {
  const members = Array.from({ length: n }, (_, i) => ({
    id: `m${String(i).padStart(2, '0')}`,
    keys: generateRoundKeys(),
    selfSeed: generateSelfSeed(),
    values: valuesOf(i + 1, LENGTH, modulus),
  }));
  const { degree } = secaggParameters(n);
  const graph = neighbourGraph(
    members.map((m) => m.id),
    degree,
    new Uint8Array(32).fill(n),
  );
  return { members, graph };
}

function seedBetween(from: Member, to: Member): Uint8Array {
  return pairwiseSeed(from.keys.mask.privateKey, to.keys.mask.publicKey, {
    ...ctxBase,
    a: from.id,
    b: to.id,
  });
}

function masked(me: Member, byId: Map<string, Member>, graph: Map<string, string[]>, modulus = T) {
  return maskUpdate(me.values, modulus, {
    me: me.id,
    selfSeed: me.selfSeed,
    peers: graph.get(me.id)!.map((id) => ({ id, seed: seedBetween(me, byId.get(id)!) })),
  });
}

test('pairSign: the smaller id in plain string order adds, the other subtracts', () => {
  assert.equal(pairSign('a', 'b'), 1);
  assert.equal(pairSign('b', 'a'), -1);
  // code-unit order, not locale order: 'Z' < 'a'
  assert.equal(pairSign('Z', 'a'), 1);
  assert.equal(pairSign('m10', 'm9'), 1);
});

test('a masked update hides its values and does not modify them', () => {
  const { members, graph } = federation(5);
  const byId = new Map(members.map((m) => [m.id, m]));
  const before = Float64Array.from(members[0]!.values);
  const out = masked(members[0]!, byId, graph);
  assert.deepEqual(members[0]!.values, before);
  let same = 0;
  for (let i = 0; i < LENGTH; i++) if (out[i] === before[i]) same++;
  assert.ok(same < 3, `${same} values unmasked`);
  for (const v of out) assert.ok(Number.isInteger(v) && v >= 0 && v < T);
});

test('pairwise masks cancel exactly in the sum of many members (self masks removed)', () => {
  for (const n of [3, 12, 40]) {
    const { members, graph } = federation(n);
    const byId = new Map(members.map((m) => [m.id, m]));
    const sum = exactSum(members.map((m) => masked(m, byId, graph)));
    const correction = maskCorrection(LENGTH, T, {
      selfSeeds: members.map((m) => m.selfSeed),
      droppedPairs: [],
    });
    const unmasked = exactSum([sum, correction.map((v) => (v === 0 ? 0 : T - v))]);
    assert.deepEqual(unmasked, exactSum(members.map((m) => m.values)), `n = ${n}`);
  }
});

test('with dropouts, maskCorrection yields exactly the survivors sum; a missing pair breaks it', () => {
  const n = 20;
  const { members, graph } = federation(n);
  const byId = new Map(members.map((m) => [m.id, m]));
  const dropouts = new Set(['m03', 'm07', 'm11', 'm12', 'm19']);
  const survivors = members.filter((m) => !dropouts.has(m.id));
  // Dropouts masked (they computed seeds with every neighbour) but never submitted.
  const sum = exactSum(survivors.map((m) => masked(m, byId, graph)));
  const droppedPairs = survivors.flatMap((s) =>
    graph
      .get(s.id)!
      .filter((p) => dropouts.has(p))
      // The aggregator's view: the dropout's mask key rebuilt from shares, with the survivor's public key.
      .map((d) => ({ survivor: s.id, dropout: d, seed: seedBetween(byId.get(d)!, s) })),
  );
  assert.ok(droppedPairs.length > 0);
  const correct = (pairs: typeof droppedPairs) => {
    const c = maskCorrection(LENGTH, T, { selfSeeds: survivors.map((m) => m.selfSeed), droppedPairs: pairs });
    return exactSum([sum, c.map((v) => (v === 0 ? 0 : T - v))]);
  };
  const expected = exactSum(survivors.map((m) => m.values));
  assert.deepEqual(correct(droppedPairs), expected);
  assert.notDeepEqual(correct(droppedPairs.slice(1)), expected);
});

test('modular sums stay exact for a modulus near 2^53', () => {
  const t = Number.MAX_SAFE_INTEGER;
  const { members, graph } = federation(4, t);
  const byId = new Map(members.map((m) => [m.id, m]));
  const sum = exactSum(
    members.map((m) => masked(m, byId, graph, t)),
    t,
  );
  const c = maskCorrection(LENGTH, t, { selfSeeds: members.map((m) => m.selfSeed), droppedPairs: [] });
  assert.deepEqual(
    exactSum([sum, c.map((v) => (v === 0 ? 0 : t - v))], t),
    exactSum(
      members.map((m) => m.values),
      t,
    ),
  );
});

test('bad inputs are refused with their codes', async () => {
  const seed = generateSelfSeed();
  const ok = { me: 'a', selfSeed: seed, peers: [{ id: 'b', seed }] };
  await expectCode(() => maskUpdate(new Float64Array([T]), T, ok), 'VALUE_OUT_OF_RANGE');
  await expectCode(() => maskUpdate(new Float64Array([1.5]), T, ok), 'VALUE_OUT_OF_RANGE');
  await expectCode(() => maskUpdate(new Float64Array([-1]), T, ok), 'VALUE_OUT_OF_RANGE');
  await expectCode(
    () => maskUpdate(new Float64Array([1]), T, { ...ok, peers: [{ id: 'a', seed }] }),
    'PEERS_INVALID',
  );
  await expectCode(
    () => maskUpdate(new Float64Array([1]), T, { ...ok, peers: [ok.peers[0]!, ok.peers[0]!] }),
    'PEERS_INVALID',
  );
  await expectCode(
    () => maskUpdate(new Float64Array([1]), T, { ...ok, selfSeed: new Uint8Array(8) }),
    'SEED_INVALID',
  );
  await expectCode(() => maskUpdate(new Float64Array([1]), 0, ok), 'MODULUS_INVALID');
  const pair = { survivor: 'a', dropout: 'b', seed };
  await expectCode(
    () => maskCorrection(3, T, { selfSeeds: [], droppedPairs: [pair, pair] }),
    'PEERS_INVALID',
  );
  await expectCode(
    () => maskCorrection(3, T, { selfSeeds: [], droppedPairs: [{ ...pair, dropout: 'a' }] }),
    'PEERS_INVALID',
  );
});
