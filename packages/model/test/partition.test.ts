import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KpflError } from '@kpfl/common';
import {
  loadIdxDataset,
  ModelConfigError,
  type PartitionSpec,
  parsePartitionSpec,
  partition,
} from '../src/index.js';
import { MNIST_DIR } from './helpers.js';

const ds = await loadIdxDataset(MNIST_DIR);
const labels = ds.trainLabels;

function checkDisjointCovering(parts: number[][], n: number) {
  const seen = new Uint8Array(n);
  for (const p of parts) {
    for (let i = 0; i < p.length; i++) {
      assert.ok(p[i] >= 0 && p[i] < n);
      assert.equal(seen[p[i]], 0, `index ${p[i]} assigned twice`);
      seen[p[i]] = 1;
      if (i > 0) assert.ok(p[i] > p[i - 1], 'indices sorted');
    }
  }
  assert.equal(
    seen.reduce((a, b) => a + b, 0),
    n,
    'every example assigned',
  );
}

function labelSet(p: number[]): Set<number> {
  return new Set(p.map((i) => labels[i]));
}

describe('parsePartitionSpec', () => {
  it('parses the three forms', () => {
    assert.deepEqual(parsePartitionSpec('iid'), { kind: 'iid' });
    assert.deepEqual(parsePartitionSpec('shards:2'), { kind: 'shards', shardsPerClient: 2 });
    assert.deepEqual(parsePartitionSpec(' Dirichlet:0.5 '), { kind: 'dirichlet', alpha: 0.5 });
  });
  it('rejects bad input listing the valid forms', () => {
    for (const bad of [
      '',
      'iid:1',
      'shards',
      'shards:0',
      'shards:1.5',
      'shards:x',
      'dirichlet:',
      'dirichlet:-1',
      'dirichlet:0',
      'noniid',
    ]) {
      assert.throws(() => parsePartitionSpec(bad), /valid forms: 'iid', 'shards:N'.*'dirichlet:ALPHA'/, bad);
    }
    // Typed, so that the CLI reports it as a usage mistake by class, not by guessing from the message.
    assert.throws(
      () => parsePartitionSpec('noniid'),
      (e: unknown) => e instanceof ModelConfigError && e instanceof KpflError && e.code === 'BAD_PARTITION',
    );
  });
});

describe('partition', () => {
  const specs: PartitionSpec[] = [
    { kind: 'iid' },
    { kind: 'shards', shardsPerClient: 2 },
    { kind: 'dirichlet', alpha: 0.5 },
  ];
  for (const spec of specs) {
    it(`${spec.kind}: reproducible with a seed, disjoint and covering`, () => {
      const a = partition(labels, 100, spec, 7);
      const b = partition(labels, 100, spec, 7);
      const c = partition(labels, 100, spec, 8);
      assert.equal(a.length, 100);
      assert.deepEqual(a, b);
      assert.notDeepEqual(a, c);
      checkDisjointCovering(a, labels.length);
      assert.ok(a.every((p) => p.length > 0));
    });
  }

  it('iid: equal sizes and every client sees (nearly) all labels', () => {
    const parts = partition(labels, 100, { kind: 'iid' }, 1);
    assert.ok(parts.every((p) => p.length === 600));
    assert.ok(parts.every((p) => labelSet(p).size >= 9));
  });

  it('shards:2 is the FedAvg pathological split: 600 examples, <= 2 labels for most clients', () => {
    const parts = partition(labels, 100, { kind: 'shards', shardsPerClient: 2 }, 1);
    assert.ok(parts.every((p) => p.length === 600));
    const counts = parts.map((p) => labelSet(p).size);
    const atMostTwo = counts.filter((c) => c <= 2).length;
    assert.ok(atMostTwo >= 85, `${atMostTwo}/100 clients have <= 2 labels`);
    assert.ok(Math.max(...counts) <= 4); // a shard straddling a label boundary adds at most one label
  });

  it('shards:N generalises: more shards per client, more labels', () => {
    const two = partition(labels, 50, { kind: 'shards', shardsPerClient: 2 }, 3);
    const five = partition(labels, 50, { kind: 'shards', shardsPerClient: 5 }, 3);
    checkDisjointCovering(five, labels.length);
    const mean = (ps: number[][]) => ps.reduce((s, p) => s + labelSet(p).size, 0) / ps.length;
    assert.ok(mean(five) > mean(two) + 1.5, `${mean(five)} vs ${mean(two)}`);
  });

  it('dirichlet: small alpha skews labels, large alpha approaches iid', () => {
    // Share of each client's most common label: ~0.1 for iid, near 1 for strong skew.
    const dominance = (ps: number[][]) =>
      ps.reduce((s, p) => {
        const c = new Array(10).fill(0);
        for (const i of p) c[labels[i]]++;
        return s + Math.max(...c) / p.length;
      }, 0) / ps.length;
    const skewed = partition(labels, 20, { kind: 'dirichlet', alpha: 0.1 }, 5);
    const mild = partition(labels, 20, { kind: 'dirichlet', alpha: 100 }, 5);
    checkDisjointCovering(skewed, labels.length);
    assert.ok(dominance(skewed) > 0.5, `alpha 0.1 dominance ${dominance(skewed)}`);
    assert.ok(dominance(mild) < 0.2, `alpha 100 dominance ${dominance(mild)}`);
    assert.ok(skewed.every((p) => p.length >= 10));
  });

  it('dirichlet with tiny alpha and many clients still gives every client examples', () => {
    const parts = partition(labels.subarray(0, 2000), 100, { kind: 'dirichlet', alpha: 0.01 }, 2);
    checkDisjointCovering(parts, 2000);
    assert.ok(parts.every((p) => p.length >= 10));
  });

  it('rejects impossible requests', () => {
    assert.throws(
      () => partition(labels.subarray(0, 5), 6, { kind: 'iid' }, 1),
      /cannot partition 5 examples among 6 clients/,
    );
    assert.throws(
      () => partition(labels.subarray(0, 10), 3, { kind: 'shards', shardsPerClient: 4 }, 1),
      /needs 12 shards/,
    );
    assert.throws(() => partition(labels, 0, { kind: 'iid' }, 1), /positive integer/);
    assert.throws(
      () => partition(labels.subarray(0, 5), 6, { kind: 'iid' }, 1),
      (e: unknown) => e instanceof ModelConfigError && e.code === 'BAD_CLIENTS' && e.exitCode === 2,
    );
  });
});
