import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generateRoundKeys, generateSelfSeed, pairwiseSeed, x25519PublicOf } from '../src/index.js';
import { expectCode, hex } from './helpers.js';

const ctx = { federation: 'fed', planId: 'plan-1', round: 3, a: 'alice', b: 'bob' };

test('round keys are raw 32-byte X25519 pairs, fresh each time, mask and share keys distinct', () => {
  const k = generateRoundKeys();
  for (const pair of [k.mask, k.share]) {
    assert.equal(pair.publicKey.length, 32);
    assert.equal(pair.privateKey.length, 32);
    assert.equal(hex(x25519PublicOf(pair.privateKey)), hex(pair.publicKey));
  }
  assert.notEqual(hex(k.mask.privateKey), hex(k.share.privateKey));
  assert.notEqual(hex(generateRoundKeys().mask.privateKey), hex(k.mask.privateKey));
  assert.equal(generateSelfSeed().length, 32);
  assert.notEqual(hex(generateSelfSeed()), hex(generateSelfSeed()));
});

test('both sides of a pair derive the same seed, whatever order a and b are named in', () => {
  const alice = generateRoundKeys().mask;
  const bob = generateRoundKeys().mask;
  const s1 = pairwiseSeed(alice.privateKey, bob.publicKey, ctx);
  const s2 = pairwiseSeed(bob.privateKey, alice.publicKey, { ...ctx, a: 'bob', b: 'alice' });
  const s3 = pairwiseSeed(bob.privateKey, alice.publicKey, ctx);
  assert.equal(s1.length, 32);
  assert.equal(hex(s1), hex(s2));
  assert.equal(hex(s1), hex(s3));
});

test('the seed differs per federation, plan, round, pair and key', () => {
  const alice = generateRoundKeys().mask;
  const bob = generateRoundKeys().mask;
  const carol = generateRoundKeys().mask;
  const base = hex(pairwiseSeed(alice.privateKey, bob.publicKey, ctx));
  const variants = [
    pairwiseSeed(alice.privateKey, bob.publicKey, { ...ctx, federation: 'other' }),
    pairwiseSeed(alice.privateKey, bob.publicKey, { ...ctx, planId: 'plan-2' }),
    pairwiseSeed(alice.privateKey, bob.publicKey, { ...ctx, round: 4 }),
    pairwiseSeed(alice.privateKey, bob.publicKey, { ...ctx, b: 'bobby' }),
    pairwiseSeed(alice.privateKey, carol.publicKey, ctx),
  ].map(hex);
  for (const v of variants) assert.notEqual(v, base);
  assert.equal(new Set(variants).size, variants.length);
});

test('a low-order peer key (all-zero shared secret) is refused', async () => {
  const alice = generateRoundKeys().mask;
  // u = 0 and u = 1 are points of small order on Curve25519 (RFC 7748 section 6.1).
  const zero = new Uint8Array(32);
  const one = new Uint8Array(32);
  one[0] = 1;
  for (const bad of [zero, one])
    await expectCode(() => pairwiseSeed(alice.privateKey, bad, ctx), 'LOW_ORDER_POINT');
});

test('malformed keys and contexts are refused with their codes', async () => {
  const alice = generateRoundKeys().mask;
  const bob = generateRoundKeys().mask;
  await expectCode(() => pairwiseSeed(alice.privateKey.subarray(0, 31), bob.publicKey, ctx), 'KEY_INVALID');
  await expectCode(() => pairwiseSeed(alice.privateKey, new Uint8Array(33), ctx), 'KEY_INVALID');
  await expectCode(
    () => pairwiseSeed(alice.privateKey, bob.publicKey, { ...ctx, b: 'alice' }),
    'CONTEXT_INVALID',
  );
  await expectCode(
    () => pairwiseSeed(alice.privateKey, bob.publicKey, { ...ctx, round: -1 }),
    'CONTEXT_INVALID',
  );
  await expectCode(
    () => pairwiseSeed(alice.privateKey, bob.publicKey, { ...ctx, planId: '' }),
    'CONTEXT_INVALID',
  );
});
