import assert from 'node:assert/strict';
import { test } from 'node:test';
import { combineShares, generateSelfSeed, splitSecret } from '../src/index.js';
import { expectCode, hex } from './helpers.js';

const holders = ['b', 'c', 'd', 'e', 'f', 'g', 'h'];

test('any threshold of the shares rebuild the secret; one per holder', async () => {
  const secret = generateSelfSeed();
  const shares = await splitSecret(secret, holders, 4);
  assert.deepEqual([...shares.keys()], holders);
  const all = [...shares.values()];
  assert.equal(new Set(all.map(hex)).size, holders.length);
  for (const pick of [
    [0, 1, 2, 3],
    [6, 4, 2, 0],
    [1, 3, 5, 6],
    [0, 1, 2, 3, 4, 5, 6],
  ])
    assert.equal(hex(await combineShares(pick.map((i) => all[i]!))), hex(secret));
});

test('fewer than the threshold is refused, not answered with garbage', async () => {
  const shares = [...(await splitSecret(generateSelfSeed(), holders, 4)).values()];
  await expectCode(() => combineShares(shares.slice(0, 3)), 'TOO_FEW_SHARES');
  await expectCode(() => combineShares([]), 'TOO_FEW_SHARES');
});

test('a corrupted share, the same share twice, or shares of two secrets are refused', async () => {
  const a = [...(await splitSecret(generateSelfSeed(), holders, 3)).values()];
  const b = [...(await splitSecret(generateSelfSeed(), holders, 3)).values()];
  const bad = Uint8Array.from(a[0]!);
  bad[5]! ^= 1;
  await expectCode(() => combineShares([bad, a[1]!, a[2]!]), 'SHARES_INCONSISTENT');
  await expectCode(() => combineShares([a[0]!, a[0]!, a[1]!]), 'SHARE_INVALID');
  // Different random x-coordinates make a mix combinable, but the check catches it.
  const mixed = [a[0]!, a[1]!, ...b.filter((s) => s.at(-1) !== a[0]!.at(-1) && s.at(-1) !== a[1]!.at(-1))];
  await expectCode(() => combineShares(mixed.slice(0, 3)), 'SHARES_INCONSISTENT');
  await expectCode(() => combineShares([a[0]!, a[1]!.subarray(1)]), 'SHARE_INVALID');
  await expectCode(() => combineShares([new Uint8Array(40)]), 'SHARE_INVALID');
});

test('bad threshold, holders or secret are refused', async () => {
  const s = generateSelfSeed();
  await expectCode(() => splitSecret(s, holders, 1), 'THRESHOLD_INVALID');
  await expectCode(() => splitSecret(s, holders, 8), 'THRESHOLD_INVALID');
  await expectCode(() => splitSecret(s, holders, 2.5), 'THRESHOLD_INVALID');
  await expectCode(() => splitSecret(s, ['b'], 2), 'HOLDERS_INVALID');
  await expectCode(() => splitSecret(s, ['b', 'b', 'c'], 2), 'HOLDERS_INVALID');
  await expectCode(
    () =>
      splitSecret(
        s,
        Array.from({ length: 256 }, (_, i) => `h${i}`),
        2,
      ),
    'HOLDERS_INVALID',
  );
  await expectCode(() => splitSecret(new Uint8Array(0), holders, 2), 'SECRET_INVALID');
});
