import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { HeCodec } from '../src/he-codec.js';
import {
  type ConsortiumKey,
  createAccumulator,
  createEncoder,
  DEFAULT_HE_PARAMS,
  generateConsortiumKey,
  getHeParams,
  HeInputError,
  type HeParams,
  mulberry32,
  type SumAccumulator,
  slotCountFor,
  type UpdateEncoder,
  validateChunk,
  validateUpdate,
} from '../src/index.js';
import { getHeContext, seededCiphertextBytes } from '../src/seal.js';
import { maxAbsDiff, rejectsWith, sameChunks, sumOf, weightedUpdate } from './helpers.js';

const SLOTS = slotCountFor('he', DEFAULT_HE_PARAMS);
const LENGTH = 2 * SLOTS + 10; // 3 chunks
const CHUNKS = 3;

/** One chunk encrypted under arbitrary (non-registered) parameters, with a throwaway key. */
async function foreignChunk(params: HeParams, values: Float64Array): Promise<Uint8Array> {
  const ctx = await getHeContext(params);
  const kg = ctx.seal.KeyGenerator(ctx.context);
  const sk = kg.secretKey();
  const secretKey = sk.saveArray(ctx.seal.ComprModeType.none);
  sk.delete();
  kg.delete();
  const codec = HeCodec.create(ctx, { secretKey });
  try {
    return codec.encrypt(values.subarray(0, Math.min(values.length, ctx.slotCount)))[0]!;
  } finally {
    codec.dispose();
  }
}

describe('HE accumulator refuses bad input and keeps the sum unchanged', () => {
  let key: ConsortiumKey;
  let enc: UpdateEncoder;
  let acc: SumAccumulator;
  let good: Uint8Array[];
  const folded: Float64Array[] = [];
  let before1: Uint8Array[];

  before(async () => {
    key = await generateConsortiumKey(DEFAULT_HE_PARAMS);
    enc = await createEncoder({ mode: 'he', key, workers: 1 });
    acc = await createAccumulator({ mode: 'he', paramsName: DEFAULT_HE_PARAMS, chunkCount: CHUNKS });
    const first = weightedUpdate(LENGTH, 500, 1);
    folded.push(first);
    await acc.add(await enc.encode(first));
    const second = weightedUpdate(LENGTH, 700, 2);
    good = await enc.encode(second);
    before1 = acc.result();
  });
  after(async () => {
    acc.dispose();
    await enc.close();
  });

  /** Submits `update`, expects `code`, and checks nothing moved. */
  async function refused(update: Uint8Array[], code: string, message?: RegExp) {
    const err = await rejectsWith(() => acc.add(update), code as never, message);
    assert.ok(err instanceof HeInputError);
    assert.equal(acc.added, 1);
    assert.ok(sameChunks(acc.result(), before1), 'sum changed after a refused update');
    return err;
  }

  it('a ciphertext of another N', async () => {
    const other = { ...getHeParams(DEFAULT_HE_PARAMS), name: 'n4096', polyModulusDegree: 4096 };
    const chunk = await foreignChunk(other, weightedUpdate(10, 1, 3));
    const err = await refused([good[0]!, chunk, good[2]!], 'PARAMS_MISMATCH', /chunk 1 .*N=4096/);
    assert.equal((err as HeInputError).chunkIndex, 1);
  });

  it('a ciphertext of another modulus (a custom one and the reference set)', async () => {
    const other = { ...getHeParams(DEFAULT_HE_PARAMS), name: 'q50', coeffModulusBits: [50] };
    await refused(
      [good[0]!, good[1]!, await foreignChunk(other, weightedUpdate(10, 1, 4))],
      'PARAMS_MISMATCH',
    );
    const refKey = await generateConsortiumKey('reference');
    const refEnc = await createEncoder({ mode: 'he', key: refKey, workers: 0 });
    const refChunks = await refEnc.encode(weightedUpdate(LENGTH, 1, 5));
    await refEnc.close();
    await refused(refChunks, 'PARAMS_MISMATCH', /parameter set 'reference'/);
  });

  it('a ciphertext of the same parameters with another scale', async () => {
    const other = { ...getHeParams(DEFAULT_HE_PARAMS), name: 's30', scaleBits: 30 };
    await refused(
      [await foreignChunk(other, weightedUpdate(10, 1, 6)), good[1]!, good[2]!],
      'PARAMS_MISMATCH',
      /2\^30/,
    );
  });

  it('a truncated chunk, an extended one, garbage, an empty one, not bytes', async () => {
    await refused([good[0]!, good[1]!.subarray(0, good[1]!.length - 1)], 'CHUNK_COUNT');
    await refused(
      [good[0]!, good[1]!.subarray(0, good[1]!.length - 1), good[2]!],
      'INVALID_CIPHERTEXT',
      /truncated/,
    );
    await refused([good[0]!, good[1]!.subarray(0, 100), good[2]!], 'INVALID_CIPHERTEXT');
    await refused([good[0]!, good[1]!, Buffer.concat([good[2]!, Buffer.alloc(8)])], 'INVALID_CIPHERTEXT');
    const next = mulberry32(9);
    const garbage = new Uint8Array(good[0]!.length).map(() => Math.floor(next() * 256));
    await refused([garbage, good[1]!, good[2]!], 'INVALID_CIPHERTEXT', /chunk 0/);
    await refused([good[0]!, new Uint8Array(0), good[2]!], 'INVALID_CIPHERTEXT');
    await refused([good[0]!, good[1]!, 'abc' as unknown as Uint8Array], 'INVALID_CIPHERTEXT');
  });

  it('a header that lies about the length, a compressed flag, bad metadata', async () => {
    const patch = (at: number, bytes: number[]) => {
      const c = Uint8Array.from(good[1]!);
      c.set(bytes, at);
      return [good[0]!, c, good[2]!];
    };
    await refused(patch(8, [1, 0, 0, 0, 0, 0, 0, 0]), 'INVALID_CIPHERTEXT'); // declared size 1
    await refused(patch(5, [2]), 'INVALID_CIPHERTEXT', /compressed/);
    await refused(patch(49, [3]), 'INVALID_CIPHERTEXT'); // ciphertext size 3
    await refused(patch(48, [0]), 'INVALID_CIPHERTEXT'); // not NTT form
  });

  it('a wrong number of chunks', async () => {
    await refused([], 'CHUNK_COUNT');
    await refused([good[0]!, good[1]!], 'CHUNK_COUNT', /must have 3/);
    await refused([...good, good[0]!], 'CHUNK_COUNT');
    await refused('nope' as unknown as Uint8Array[], 'CHUNK_COUNT');
  });

  it('random corruption anywhere in a chunk (never folds, never breaks SEAL)', async () => {
    const next = mulberry32(42);
    const c = good[1]!;
    const positions = [
      ...Array.from({ length: 200 }, (_, i) => i),
      c.length - 81,
      c.length - 65,
      c.length - 1,
    ];
    for (let i = 0; i < 60; i++) positions.push(Math.floor(next() * c.length));
    let refusedCount = 0;
    for (const pos of positions) {
      const bad = Uint8Array.from(c);
      bad[pos] = (bad[pos]! + 1 + Math.floor(next() * 255)) % 256;
      try {
        await validateUpdate([good[0]!, bad, good[2]!], {
          mode: 'he',
          paramsName: DEFAULT_HE_PARAMS,
          chunkCount: CHUNKS,
        });
      } catch (err) {
        assert.ok(err instanceof HeInputError, String(err));
        refusedCount++;
      }
    }
    // Flipped coefficient or seed bytes may still make a valid (wrong) ciphertext; every header,
    // size and metadata byte must be caught.
    assert.ok(refusedCount >= 100, `only ${refusedCount} refused`);
    assert.ok(sameChunks(acc.result(), before1));
  });

  it('still folds a good update afterwards, to the right sum', async () => {
    await acc.add(good);
    assert.equal(acc.added, 2);
    folded.push(weightedUpdate(LENGTH, 700, 2));
    const sum = await enc.decode(acc.result(), LENGTH);
    assert.ok(maxAbsDiff(sum, sumOf(folded)) < 1e-6);
  });

  it('validateChunk checks one chunk on its own', async () => {
    await validateChunk(good[0]!, { mode: 'he', paramsName: DEFAULT_HE_PARAMS });
    await rejectsWith(
      () => validateChunk(good[0]!.subarray(1), { mode: 'he', paramsName: DEFAULT_HE_PARAMS, chunkIndex: 4 }),
      'INVALID_CIPHERTEXT',
      /chunk 4/,
    );
    assert.equal(good[0]!.length, seededCiphertextBytes(8192, 1));
  });
});

describe('HE accumulator lifecycle', () => {
  it('refuses result() before any add, restores from a saved sum, serializes concurrent adds', async () => {
    const key = await generateConsortiumKey(DEFAULT_HE_PARAMS);
    const enc = await createEncoder({ mode: 'he', key, workers: 0 });
    const acc = await createAccumulator({ mode: 'he', paramsName: DEFAULT_HE_PARAMS, chunkCount: 1 });
    await rejectsWith(() => acc.result(), 'EMPTY_SUM');
    const updates = [1, 2, 3, 4].map((k) => weightedUpdate(100, 10 * k, k));
    const chunks = await Promise.all(updates.map((u) => enc.encode(u)));
    // One bad update among concurrent good ones changes nothing for the others.
    const results = await Promise.allSettled([
      acc.add(chunks[0]!),
      acc.add([new Uint8Array(5)]),
      acc.add(chunks[1]!),
      acc.add(chunks[2]!),
    ]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'rejected', 'fulfilled', 'fulfilled'],
    );
    assert.equal(acc.added, 3);
    const saved = acc.result();
    acc.dispose();
    await rejectsWith(() => acc.add(chunks[3]!), 'CLOSED');

    const resumed = await createAccumulator({
      mode: 'he',
      paramsName: DEFAULT_HE_PARAMS,
      chunkCount: 1,
      initial: { sum: saved, added: 3 },
    });
    await resumed.add(chunks[3]!);
    assert.equal(resumed.added, 4);
    assert.ok(maxAbsDiff(await enc.decode(resumed.result(), 100), sumOf(updates)) < 1e-6);
    resumed.dispose();
    await rejectsWith(
      () =>
        createAccumulator({
          mode: 'he',
          paramsName: DEFAULT_HE_PARAMS,
          chunkCount: 1,
          initial: { sum: [saved[0]!.subarray(3)], added: 3 },
        }),
      'INVALID_CIPHERTEXT',
    );
    await rejectsWith(
      () => createAccumulator({ mode: 'he', paramsName: 'nope', chunkCount: 1 }),
      'UNKNOWN_PARAMS',
    );
    await rejectsWith(
      () => createAccumulator({ mode: 'he', paramsName: DEFAULT_HE_PARAMS, chunkCount: 0 }),
      'CHUNK_COUNT',
    );
    await enc.close();
  });
});

describe('plain accumulator refuses bad input and keeps the sum unchanged', () => {
  it('refuses wrong sizes, non-finite values, HE chunks and wrong counts', async () => {
    const enc = await createEncoder({ mode: 'plain' });
    const acc = await createAccumulator({ mode: 'plain', paramsName: DEFAULT_HE_PARAMS, chunkCount: CHUNKS });
    const first = weightedUpdate(LENGTH, 100, 1);
    await acc.add(await enc.encode(first));
    const saved = acc.result();
    const good = await enc.encode(weightedUpdate(LENGTH, 200, 2));
    const nan = Uint8Array.from(good[2]!);
    new DataView(nan.buffer).setFloat32(40, Number.NaN, true);
    const key = await generateConsortiumKey(DEFAULT_HE_PARAMS);
    const he = await createEncoder({ mode: 'he', key, workers: 0 });
    const heChunks = await he.encode(weightedUpdate(LENGTH, 1, 3));
    await he.close();
    const cases: [Uint8Array[], string][] = [
      [[good[0]!, good[1]!.subarray(4), good[2]!], 'INVALID_CIPHERTEXT'],
      [[good[0]!, good[1]!, nan], 'INVALID_CIPHERTEXT'],
      [heChunks, 'PARAMS_MISMATCH'],
      [[good[0]!, good[1]!], 'CHUNK_COUNT'],
      [[...saved], 'INVALID_CIPHERTEXT'], // float64 sum chunks are not updates
    ];
    for (const [update, code] of cases) {
      const err = await rejectsWith(() => acc.add(update), code as never);
      assert.ok(err instanceof HeInputError);
      assert.equal(acc.added, 1);
      assert.ok(sameChunks(acc.result(), saved));
    }
    await acc.add(good);
    const sum = await enc.decode(acc.result(), LENGTH);
    assert.ok(maxAbsDiff(sum, sumOf([first, weightedUpdate(LENGTH, 200, 2)])) < 1e-2);
  });
});
