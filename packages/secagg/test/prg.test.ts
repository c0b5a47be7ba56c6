import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { chiSquareUniform, expandMask, generateSelfSeed } from '../src/index.js';
import { expectCode, T } from './helpers.js';

/** A prime just above 2^40: 41-bit candidates, about half rejected, so the rejection path is exercised. */
const T41 = 1099511627791;
const seedOf = (label: string) => new Uint8Array(createHash('sha256').update(label).digest());

test('known answer: modulus 2^40 reads the AES-256 keystream as 5-byte little-endian integers', () => {
  // AES-256 of the zero block under the zero key is dc95c078a2408989ad48a21492842087 (a standard
  // test value); with a zero IV that is the first keystream block.
  const m = expandMask(new Uint8Array(32), 3, 2 ** 40);
  assert.equal(m[0], 0xa278c095dc);
  assert.equal(m[1], 0x48ad898940);
  assert.ok(m[2]! < 2 ** 40);
});

test('the mask is deterministic, a prefix of a longer one, and differs per seed', () => {
  const s = seedOf('a');
  const long = expandMask(s, 10_000, T41);
  assert.deepEqual(expandMask(s, 10_000, T41), long);
  assert.deepEqual(expandMask(s, 123, T41), long.subarray(0, 123));
  const other = expandMask(seedOf('b'), 10_000, T41);
  let same = 0;
  for (let i = 0; i < long.length; i++) if (long[i] === other[i]) same++;
  assert.equal(same, 0);
});

test('every value is an integer in [0, t), for small, 2^40-size and 2^53-size moduli', () => {
  for (const t of [2, 3, 97, 256, T, T41, Number.MAX_SAFE_INTEGER]) {
    const m = expandMask(generateSelfSeed(), 5000, t);
    for (const v of m) assert.ok(Number.isInteger(v) && v >= 0 && v < t, `${v} for t = ${t}`);
  }
  // Every residue of a small modulus appears: nothing is stuck.
  assert.equal(new Set(expandMask(seedOf('small'), 1000, 7)).size, 7);
});

test('the mask is uniform mod t: chi-square over 64 buckets on 200,000 values, p > 0.001', () => {
  for (const t of [T, T41]) {
    const r = chiSquareUniform(expandMask(seedOf(`uniform ${t}`), 200_000, t), t, 64);
    assert.equal(r.degreesOfFreedom, 63);
    assert.ok(r.pValue > 0.001, `chi-square ${r.statistic.toFixed(1)}, p = ${r.pValue} for t = ${t}`);
  }
});

test('positive control: the same test catches modulo bias (40-bit candidates reduced mod t)', () => {
  // What a PRG without rejection would do: for t = 0.75 * 2^40, reducing 40 bits mod t makes the
  // residues below 2^40 - t twice as likely as the others.
  const t = 824_633_720_833;
  const raw = expandMask(seedOf('bias'), 200_000, 2 ** 40);
  const r = chiSquareUniform(
    raw.map((v) => v % t),
    t,
    64,
  );
  assert.ok(r.pValue < 0.001, `p = ${r.pValue}`);
  assert.ok(chiSquareUniform(expandMask(seedOf('bias'), 200_000, t), t, 64).pValue > 0.001);
});

test('bad seed, length or modulus is refused', async () => {
  await expectCode(() => expandMask(new Uint8Array(16), 10, T), 'SEED_INVALID');
  await expectCode(() => expandMask(seedOf('x'), -1, T), 'LENGTH_INVALID');
  await expectCode(() => expandMask(seedOf('x'), 1.5, T), 'LENGTH_INVALID');
  await expectCode(() => expandMask(seedOf('x'), 10, 1), 'MODULUS_INVALID');
  await expectCode(() => expandMask(seedOf('x'), 10, 2 ** 53), 'MODULUS_INVALID');
  await expectCode(() => expandMask(seedOf('x'), 10, 1e3 + 0.5), 'MODULUS_INVALID');
});
