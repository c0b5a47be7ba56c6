import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chiSquareUniform, pearson } from '../src/index.js';
import { upperRegularizedGamma } from '../src/stats.js';

test('the chi-square p-value matches closed forms and tables', () => {
  // df = 2: Q(1, x/2) = exp(-x/2) exactly
  for (const x of [0.5, 2, 13.8])
    assert.ok(Math.abs(upperRegularizedGamma(1, x / 2) - Math.exp(-x / 2)) < 1e-12);
  // df = 63: the 0.999 quantile is 103.44 and the median 62.33 (standard tables)
  assert.ok(Math.abs(upperRegularizedGamma(31.5, 103.44 / 2) - 0.001) < 2e-5);
  assert.ok(Math.abs(upperRegularizedGamma(31.5, 62.33 / 2) - 0.5) < 1e-3);
});

test('chiSquareUniform: a flat histogram passes, a lopsided one fails', () => {
  const t = 6400;
  const flat = Float64Array.from({ length: 64_000 }, (_, i) => i % t);
  const r = chiSquareUniform(flat, t, 64);
  assert.equal(r.statistic, 0);
  assert.equal(r.pValue, 1);
  const low = Float64Array.from({ length: 64_000 }, (_, i) => i % (t / 2));
  assert.ok(chiSquareUniform(low, t, 64).pValue < 1e-100);
  assert.throws(() => chiSquareUniform([t], t, 64), RangeError);
});

test('pearson: +1, -1 and about 0', () => {
  const a = Float64Array.from({ length: 1000 }, (_, i) => i);
  assert.ok(Math.abs(pearson(a, a) - 1) < 1e-12);
  assert.ok(
    Math.abs(
      pearson(
        a,
        a.map((v) => -3 * v + 5),
      ) + 1,
    ) < 1e-12,
  );
  const b = Float64Array.from({ length: 1000 }, (_, i) => (i % 2 ? 1 : -1));
  assert.ok(Math.abs(pearson(a, b)) < 0.01);
});
