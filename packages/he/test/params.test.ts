import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  chunkCountFor,
  DEFAULT_HE_PARAMS,
  getHeParams,
  HE_PARAM_SETS,
  HeError,
  slotCountFor,
  sumBoundFor,
  validateHeParams,
} from '../src/index.js';
import { rejectsWith } from './helpers.js';

describe('parameter sets', () => {
  it('has the default and the reference set, every one passing SEAL 128-bit security', async () => {
    assert.ok(HE_PARAM_SETS[DEFAULT_HE_PARAMS]);
    const ref = getHeParams('reference');
    assert.ok(ref.scheme === 'ckks');
    assert.deepEqual(
      [ref.polyModulusDegree, ref.coeffModulusBits, ref.scaleBits, ref.encryption],
      [8192, [60, 40, 40, 60], 40, 'public-key'],
    );
    assert.equal(getHeParams(DEFAULT_HE_PARAMS).encryption, 'symmetric-seeded');
    for (const p of Object.values(HE_PARAM_SETS)) await validateHeParams(p);
  });

  it('refuses an unknown name, listing the valid ones', async () => {
    const err = await rejectsWith(() => getHeParams('nope'), 'UNKNOWN_PARAMS');
    for (const name of Object.keys(HE_PARAM_SETS)) assert.match(err.message, new RegExp(name));
    await rejectsWith(() => slotCountFor('he', 'toString'), 'UNKNOWN_PARAMS');
  });

  it('refuses a set that fails the 128-bit check with INSECURE_PARAMS', async () => {
    const insecure = {
      ...getHeParams(DEFAULT_HE_PARAMS),
      name: 'weak',
      polyModulusDegree: 2048,
      coeffModulusBits: [50, 50, 50, 50],
    };
    await rejectsWith(() => validateHeParams(insecure), 'INSECURE_PARAMS', /128-bit.*at most 54 bits/);
    const tooBig = { ...getHeParams('reference'), name: 'weak2', coeffModulusBits: [60, 60, 60, 60] };
    await rejectsWith(() => validateHeParams(tooBig), 'INSECURE_PARAMS');
  });

  it('refuses malformed sets with INVALID_PARAMS', async () => {
    const base = getHeParams(DEFAULT_HE_PARAMS);
    assert.ok(base.scheme === 'ckks');
    await rejectsWith(() => validateHeParams({ ...base, polyModulusDegree: 3000 }), 'INVALID_PARAMS');
    await rejectsWith(() => validateHeParams({ ...base, coeffModulusBits: [61] }), 'INVALID_PARAMS');
    await rejectsWith(() => validateHeParams({ ...base, scaleBits: 59 }), 'INVALID_PARAMS');
  });

  it('uses the same slot count in plain mode as the default set', () => {
    const slots = slotCountFor('he', DEFAULT_HE_PARAMS);
    assert.equal(slots, getHeParams(DEFAULT_HE_PARAMS).polyModulusDegree / 2);
    assert.equal(slotCountFor('plain', 'reference'), slots);
    assert.equal(chunkCountFor(1, slots), 1);
    assert.equal(chunkCountFor(slots, slots), 1);
    assert.equal(chunkCountFor(slots + 1, slots), 2);
    assert.equal(chunkCountFor(199211, 4096), 49);
    assert.throws(() => chunkCountFor(0, slots), HeError);
  });

  it('gives the sum bound that keeps values below q/2', () => {
    assert.equal(sumBoundFor('he', DEFAULT_HE_PARAMS), 2 ** 22);
    assert.ok(sumBoundFor('he', 'reference') > 1e20);
  });
});
