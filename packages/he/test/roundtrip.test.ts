import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  type ConsortiumKey,
  chunkCountFor,
  createAccumulator,
  createEncoder,
  DEFAULT_HE_PARAMS,
  generateConsortiumKey,
  slotCountFor,
  sumBoundFor,
  type UpdateEncoder,
} from '../src/index.js';
import { maxAbsDiff, rejectsWith, sumOf, weightedUpdate } from './helpers.js';

const SLOTS = slotCountFor('he', DEFAULT_HE_PARAMS);
const LENGTHS = [1, SLOTS + 5, 199211];

describe('HE round trip (default set, worker threads)', () => {
  let key: ConsortiumKey;
  let enc: UpdateEncoder;
  before(async () => {
    key = await generateConsortiumKey(DEFAULT_HE_PARAMS);
    enc = await createEncoder({ mode: 'he', key, workers: 2 });
  });
  after(() => enc.close());

  for (const length of LENGTHS) {
    it(`encrypts and decrypts ${length} value(s)`, async () => {
      const values = weightedUpdate(length, 600, length);
      const chunks = await enc.encode(values);
      assert.equal(chunks.length, chunkCountFor(length, SLOTS));
      for (const c of chunks) assert.ok(c.length < 4 * 1024 * 1024);
      const back = await enc.decode(chunks, length);
      assert.equal(back.length, length);
      assert.ok(maxAbsDiff(back, values) < 1e-6, `error ${maxAbsDiff(back, values)}`);
    });
  }

  it('sums 3 weighted updates to the plain sum within 1e-6, and ~4x float32 bytes', async () => {
    const length = 199211;
    const updates = [6000, 20000, 34000].map((n, k) => weightedUpdate(length, n, 10 + k));
    const acc = await createAccumulator({
      mode: 'he',
      paramsName: DEFAULT_HE_PARAMS,
      chunkCount: chunkCountFor(length, SLOTS),
    });
    try {
      let bytes = 0;
      for (const u of updates) {
        const chunks = await enc.encode(u);
        bytes = chunks.reduce((a, c) => a + c.length, 0);
        await acc.add(chunks);
      }
      assert.equal(acc.added, 3);
      assert.ok(bytes / (length * 4) <= 4.1, `expansion ${bytes / (length * 4)}`);
      const sum = await enc.decode(acc.result(), length);
      const err = maxAbsDiff(sum, sumOf(updates));
      assert.ok(err < 1e-6, `max abs error ${err}`);
      assert.ok(Math.abs(sum[length - 1]! - 60000) < 1e-6);
    } finally {
      acc.dispose();
    }
  });

  it('keeps 100 summed updates within 1e-6', async () => {
    const length = SLOTS * 2;
    const acc = await createAccumulator({ mode: 'he', paramsName: DEFAULT_HE_PARAMS, chunkCount: 2 });
    const updates: Float64Array[] = [];
    try {
      for (let k = 0; k < 100; k++) {
        const u = weightedUpdate(length, 1000, 100 + k);
        updates.push(u);
        await acc.add(await enc.encode(u));
      }
      const err = maxAbsDiff(await enc.decode(acc.result(), length), sumOf(updates));
      assert.ok(err < 1e-6, `max abs error ${err}`);
    } finally {
      acc.dispose();
    }
  });

  it('encodes and decodes off the event loop (worker threads)', async () => {
    // A chain of setImmediate callbacks only advances while the main thread is free.
    let ticks = 0;
    let running = true;
    const spin = () => {
      ticks++;
      if (running) setImmediate(spin);
    };
    setImmediate(spin);
    const values = weightedUpdate(199211, 100, 5);
    const chunks = await enc.encode(values);
    const duringEncode = ticks;
    await enc.decode(chunks, values.length);
    running = false;
    assert.ok(duringEncode > 1, 'event loop was blocked during encode');
    assert.ok(ticks > duringEncode + 1, 'event loop was blocked during decode');
  });

  it('refuses values it cannot encode faithfully', async () => {
    await rejectsWith(() => enc.encode(Float64Array.from([1, Number.NaN])), 'VALUE_RANGE', /index 1/);
    await rejectsWith(() => enc.encode(Float64Array.from([Number.POSITIVE_INFINITY])), 'VALUE_RANGE');
    await rejectsWith(
      () => enc.encode(Float64Array.from([sumBoundFor('he', DEFAULT_HE_PARAMS) * 2])),
      'VALUE_RANGE',
    );
    await rejectsWith(() => enc.encode(new Float64Array(0)), 'LENGTH_MISMATCH');
  });

  it('refuses to decrypt under another consortium key instead of returning noise', async () => {
    const other = await createEncoder({
      mode: 'he',
      key: await generateConsortiumKey(DEFAULT_HE_PARAMS),
      workers: 0,
    });
    try {
      const chunks = await other.encode(weightedUpdate(SLOTS + 3, 600, 3));
      await rejectsWith(() => enc.decode(chunks, SLOTS + 3), 'VALUE_RANGE', /another consortium key/);
    } finally {
      await other.close();
    }
  });

  it('refuses a length that does not fit the chunk count', async () => {
    const chunks = await enc.encode(weightedUpdate(SLOTS + 1, 10, 1));
    await rejectsWith(() => enc.decode(chunks, SLOTS), 'LENGTH_MISMATCH', /needs 1 chunk/);
    await rejectsWith(() => enc.decode(chunks, 2 * SLOTS + 1), 'LENGTH_MISMATCH');
    await rejectsWith(() => enc.decode(chunks, 0), 'LENGTH_MISMATCH');
    await rejectsWith(() => enc.decode([chunks[0]!, new Uint8Array(10)], SLOTS + 1), 'INVALID_CIPHERTEXT');
  });
});

describe('HE round trip on the calling thread and with the reference set', () => {
  for (const paramsName of [DEFAULT_HE_PARAMS, 'reference']) {
    it(`${paramsName}: encodes with workers: 0 and decodes in workers`, async () => {
      const key = await generateConsortiumKey(paramsName);
      const inline = await createEncoder({ mode: 'he', key, workers: 0 });
      const pooled = await createEncoder({ mode: 'he', key, workers: 1 });
      try {
        const values = weightedUpdate(SLOTS + 7, 300, 7);
        const back = await pooled.decode(await inline.encode(values), values.length);
        assert.ok(maxAbsDiff(back, values) < 1e-6);
        const back2 = await inline.decode(await pooled.encode(values), values.length);
        assert.ok(maxAbsDiff(back2, values) < 1e-6);
      } finally {
        await inline.close();
        await pooled.close();
      }
      await rejectsWith(() => inline.encode(Float64Array.from([1])), 'CLOSED');
    });
  }
});

describe('plain round trip', () => {
  let enc: UpdateEncoder;
  before(async () => {
    enc = await createEncoder({ mode: 'plain' });
  });

  it('uses the default set slot count and float32 chunks', () => {
    assert.equal(enc.slotCount, SLOTS);
  });

  for (const length of LENGTHS) {
    it(`encodes and decodes ${length} value(s) (float32 precision)`, async () => {
      const values = weightedUpdate(length, 600, length);
      const chunks = await enc.encode(values);
      assert.equal(chunks.length, chunkCountFor(length, SLOTS));
      for (const c of chunks) assert.equal(c.length, SLOTS * 4, 'every chunk, the last one zero-padded');
      const back = await enc.decode(chunks, length);
      assert.deepEqual(back, Float64Array.from(Float32Array.from(values)));
    });
  }

  it('sums 3 weighted updates exactly (in float64, of the float32 values)', async () => {
    const length = 199211;
    const updates = [6000, 20000, 34000].map((n, k) => weightedUpdate(length, n, 20 + k));
    const acc = await createAccumulator({
      mode: 'plain',
      paramsName: DEFAULT_HE_PARAMS,
      chunkCount: chunkCountFor(length, SLOTS),
    });
    for (const u of updates) await acc.add(await enc.encode(u));
    const result = acc.result();
    for (const c of result) assert.equal(c.length, SLOTS * 8);
    const sum = await enc.decode(result, length);
    assert.deepEqual(sum, sumOf(updates.map((u) => Float64Array.from(Float32Array.from(u)))));
    assert.ok(maxAbsDiff(sum, sumOf(updates)) < 1e-2);
  });

  it('refuses bad values and lengths', async () => {
    await rejectsWith(() => enc.encode(Float64Array.from([Number.NaN])), 'VALUE_RANGE');
    const chunks = await enc.encode(Float64Array.from([1, 2, 3]));
    await rejectsWith(() => enc.decode(chunks, SLOTS + 1), 'LENGTH_MISMATCH');
    await rejectsWith(() => enc.decode([new Uint8Array(12)], 3), 'INVALID_CIPHERTEXT');
  });
});

describe('closing an encoder whose worker has just replied', () => {
  it('settles: the late reply does not let the event loop drain before the worker exits', async () => {
    const key = await generateConsortiumKey(DEFAULT_HE_PARAMS);
    const enc = await createEncoder({ mode: 'he', key, workers: 1 });
    const pending = enc.encode(weightedUpdate(SLOTS, 10, 1));
    // Block this thread until the worker has certainly posted its reply, so that the reply is
    // delivered only after close() has begun: the order a loaded machine produces by chance.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1500);
    const closing = enc.close();
    await assert.rejects(pending, /closed/);
    await closing;
  });
});
