/**
 * node-seal objects live in wasm memory: a missing delete() shows up as steady growth of the process's
 * memory (wasm memory never shrinks; node-seal's FinalizationRegistry frees some leaked objects after a
 * GC, but late and not all). Compare after 100 and after 1,000 folds of 3-chunk updates: leaking the
 * loaded ciphertexts measured +125 MB here, normal runs about +5 to +20 MB.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import v8 from 'node:v8';
import vm from 'node:vm';
import {
  createAccumulator,
  createEncoder,
  DEFAULT_HE_PARAMS,
  DEFAULT_SECURE_PARAMS,
  generateConsortiumKey,
  getHeParams,
  mulberry32,
  unmaskSum,
} from '../src/index.js';
import { weightedUpdate } from './helpers.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

function rssMB(): number {
  gc();
  gc();
  return process.memoryUsage().rss / 1e6;
}

describe('memory stays flat', () => {
  it('folding 1,000 small (3-chunk) updates into an accumulator', async (t) => {
    const key = await generateConsortiumKey(DEFAULT_HE_PARAMS);
    const enc = await createEncoder({ mode: 'he', key, workers: 0 });
    const updates = await Promise.all(
      [1, 2, 3, 4, 5].map((k) => enc.encode(weightedUpdate(3 * 4096, 10, k))),
    );
    const acc = await createAccumulator({ mode: 'he', paramsName: DEFAULT_HE_PARAMS, chunkCount: 3 });
    let at100 = 0;
    for (let i = 1; i <= 1000; i++) {
      await acc.add(updates[i % updates.length]!);
      if (i % 50 === 0) acc.result(); // serialization must not leak either
      if (i === 100) at100 = rssMB();
    }
    const at1000 = rssMB();
    assert.equal(acc.added, 1000);
    acc.dispose();
    await enc.close();
    t.diagnostic(`RSS after 100 folds ${at100.toFixed(1)} MB, after 1,000 ${at1000.toFixed(1)} MB`);
    assert.ok(at1000 - at100 < 50, `RSS grew ${(at1000 - at100).toFixed(1)} MB from 100 to 1,000 folds`);
  });

  it('encoding and decoding a 2-chunk update 450 times on one thread', async (t) => {
    const key = await generateConsortiumKey(DEFAULT_HE_PARAMS);
    const enc = await createEncoder({ mode: 'he', key, workers: 0 });
    const values = weightedUpdate(2 * 4096, 10, 1);
    let at150 = 0;
    for (let i = 1; i <= 450; i++) {
      await enc.decode(await enc.encode(values), values.length);
      if (i === 150) at150 = rssMB();
    }
    const at450 = rssMB();
    await enc.close();
    t.diagnostic(`RSS after 150 round trips ${at150.toFixed(1)} MB, after 450 ${at450.toFixed(1)} MB`);
    // Leaking the serializable ciphertexts of each encode measured +88 MB here.
    assert.ok(at450 - at150 < 20, `RSS grew ${(at450 - at150).toFixed(1)} MB from 150 to 450 round trips`);
  });

  it('folding 1,000 BFV updates and unmasking 300 sums (exact), then decoding the exact sum', async (t) => {
    const p = getHeParams(DEFAULT_SECURE_PARAMS);
    assert.ok(p.scheme === 'bfv');
    const T = p.plainModulus;
    const enc = await createEncoder({ mode: 'secure', key: await generateConsortiumKey(p.name), workers: 0 });
    const length = 3 * 8192;
    const next = mulberry32(3);
    const inputs = [1, 2, 3, 4, 5].map(() =>
      Float64Array.from(
        { length },
        () => Math.floor(next() * 2 ** 20) * 2 ** 19 + Math.floor(next() * 2 ** 19),
      ).map((x) => x % T),
    );
    const updates = await Promise.all(inputs.map((v) => enc.encode(v)));
    const acc = await createAccumulator({ mode: 'secure', paramsName: p.name, chunkCount: 3 });
    let at100 = 0;
    for (let i = 1; i <= 1000; i++) {
      await acc.add(updates[i % updates.length]!);
      if (i % 50 === 0) acc.result();
      if (i === 100) at100 = rssMB();
    }
    const at1000 = rssMB();
    // Each input was folded 200 times: the sum of 1,000 (a worst case for noise, repeated ciphertexts)
    // still decrypts exactly. 200 * t < 2^53, so the float64 products are exact.
    const exact = new Float64Array(length);
    for (const v of inputs) for (let j = 0; j < length; j++) exact[j] = (exact[j]! + 200 * v[j]!) % T;
    const sum = acc.result();
    assert.deepEqual(await enc.decode(sum, length), exact);
    acc.dispose();
    const correction = inputs[0]!;
    let at100u = 0;
    for (let i = 1; i <= 300; i++) {
      await unmaskSum(sum, correction, p.name);
      if (i === 100) at100u = rssMB();
    }
    const at300u = rssMB();
    await enc.close();
    t.diagnostic(
      `RSS after 100 folds ${at100.toFixed(1)} MB, after 1,000 ${at1000.toFixed(1)} MB; after 100 unmasks ${at100u.toFixed(1)} MB, after 300 ${at300u.toFixed(1)} MB`,
    );
    assert.ok(at1000 - at100 < 50, `RSS grew ${(at1000 - at100).toFixed(1)} MB from 100 to 1,000 folds`);
    assert.ok(at300u - at100u < 30, `RSS grew ${(at300u - at100u).toFixed(1)} MB from 100 to 300 unmasks`);
  });
});
