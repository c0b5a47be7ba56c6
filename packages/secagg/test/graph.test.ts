import assert from 'node:assert/strict';
import { test } from 'node:test';
import { neighbourGraph, secaggParameters } from '../src/index.js';
import { expectCode } from './helpers.js';

const ids = (n: number) => Array.from({ length: n }, (_, i) => `member-${i}`);
const seed = (b: number) => new Uint8Array(32).fill(b);

function checkGraph(g: Map<string, string[]>, members: string[], degree: number): void {
  assert.deepEqual([...g.keys()], [...members].sort());
  for (const [m, ns] of g) {
    assert.equal(ns.length, degree, `${m} has ${ns.length} neighbours`);
    assert.equal(new Set(ns).size, degree);
    assert.ok(!ns.includes(m), `${m} is its own neighbour`);
    for (const x of ns) assert.ok(g.get(x)!.includes(m), `${m} -> ${x} but not back`);
  }
}

test('symmetric, exact degree, no self-loops, for many sizes', () => {
  for (const n of [3, 4, 5, 10, 11, 64, 100, 333]) {
    const { degree } = secaggParameters(n);
    checkGraph(neighbourGraph(ids(n), degree, seed(1)), ids(n), degree);
  }
  checkGraph(neighbourGraph(ids(9), 4, seed(2)), ids(9), 4);
  checkGraph(neighbourGraph(ids(10), 9, seed(2)), ids(10), 9);
});

test('the same graph whatever order the members come in; another for another seed', () => {
  const members = ids(50);
  const a = neighbourGraph(members, 12, seed(7));
  const shuffled = [...members].reverse();
  shuffled.push(shuffled.shift()!);
  assert.deepEqual(neighbourGraph(shuffled, 12, seed(7)), a);
  assert.deepEqual(neighbourGraph(members, 12, seed(7)), a);
  assert.notDeepEqual(neighbourGraph(members, 12, seed(8)), a);
});

test('the permutation is not the identity: neighbours are not just the nearest ids', () => {
  const members = ids(100);
  const g = neighbourGraph(members, 20, seed(3));
  const sortedOrder = [...members].sort();
  let adjacentInSortedOrder = 0;
  for (let i = 0; i < sortedOrder.length; i++)
    if (g.get(sortedOrder[i]!)!.includes(sortedOrder[(i + 1) % 100]!)) adjacentInSortedOrder++;
  // a Harary graph on the sorted order would have all 100; a random one about 100 * 20/99
  assert.ok(adjacentInSortedOrder < 50, String(adjacentInSortedOrder));
});

test('bad members, degree or seed are refused', async () => {
  await expectCode(() => neighbourGraph(['a', 'b', 'a'], 2, seed(1)), 'MEMBERS_INVALID');
  await expectCode(() => neighbourGraph(['a', ''], 1, seed(1)), 'MEMBERS_INVALID');
  await expectCode(() => neighbourGraph(['a'], 1, seed(1)), 'TOO_FEW_MEMBERS');
  await expectCode(() => neighbourGraph(ids(10), 3, seed(1)), 'DEGREE_INVALID');
  await expectCode(() => neighbourGraph(ids(10), 10, seed(1)), 'DEGREE_INVALID');
  await expectCode(() => neighbourGraph(ids(10), 0, seed(1)), 'DEGREE_INVALID');
  await expectCode(() => neighbourGraph(ids(10), 4, new Uint8Array(8)), 'SEED_INVALID');
});
