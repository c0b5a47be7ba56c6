import assert from 'node:assert/strict';
import { test } from 'node:test';
import { secaggParameters } from '../src/index.js';
import { expectCode } from './helpers.js';

test('k = 3·log2(n) made even, capped at n - 1; threshold floor(k/2) + 1', () => {
  assert.deepEqual(secaggParameters(3), { degree: 2, threshold: 2 });
  assert.deepEqual(secaggParameters(10), { degree: 9, threshold: 5 });
  assert.deepEqual(secaggParameters(100), { degree: 20, threshold: 11 });
  assert.deepEqual(secaggParameters(1000), { degree: 30, threshold: 16 });
  assert.deepEqual(secaggParameters(10000), { degree: 40, threshold: 21 });
});

test('for every n: 2 <= threshold <= degree, threshold > degree/2, degree even or n - 1', () => {
  for (let n = 3; n <= 3000; n++) {
    const { degree, threshold } = secaggParameters(n);
    assert.ok(degree <= n - 1 && (degree === n - 1 || degree % 2 === 0), `n=${n} k=${degree}`);
    assert.ok(threshold >= 2 && threshold <= degree && threshold > degree / 2, `n=${n} t=${threshold}`);
  }
});

test('fewer than 3 members is refused', async () => {
  await expectCode(() => secaggParameters(2), 'TOO_FEW_MEMBERS');
  await expectCode(() => secaggParameters(2.5), 'TOO_FEW_MEMBERS');
});
