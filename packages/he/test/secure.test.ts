/**
 * Mode 'secure': BFV with batching over the 'exact' set, fixed-point quantization and keyless unmasking,
 * all with real node-seal ciphertexts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  type ConsortiumKey,
  checkConsortiumKey,
  createAccumulator,
  createEncoder,
  DEFAULT_HE_PARAMS,
  DEFAULT_SECURE_PARAMS,
  dequantizeSum,
  generateConsortiumKey,
  getHeParams,
  HeInputError,
  mulberry32,
  parseConsortiumKey,
  quantizeUpdate,
  serializeConsortiumKey,
  slotCountFor,
  sumBoundFor,
  type UpdateEncoder,
  unmaskSum,
  validateChunk,
  validateHeParams,
} from '../src/index.js';
import { maxAbsDiff, rejectsWith, sameChunks, sumOf, weightedUpdate } from './helpers.js';

const EXACT = DEFAULT_SECURE_PARAMS;
const P = getHeParams(EXACT);
assert.ok(P.scheme === 'bfv');
const T = P.plainModulus;
const S = P.fixedPointBits;
const N = slotCountFor('secure', EXACT);

/** Uniform residues mod t (what a masked update looks like). */
function residues(length: number, seed: number): Float64Array {
  const next = mulberry32(seed);
  const v = new Float64Array(length);
  // Two draws: one 32-bit draw cannot reach every residue of a 40-bit t.
  for (let i = 0; i < length; i++) v[i] = Math.floor((next() * 2 ** 21 + next()) * 2 ** 19) % T;
  return v;
}

function addMod(a: Float64Array, b: Float64Array): Float64Array {
  // a + b < 2t < 2^53: exact in float64.
  return a.map((x, i) => (x + b[i]!) % T);
}

function subMod(a: Float64Array, b: Float64Array): Float64Array {
  return a.map((x, i) => (x - b[i]! + T) % T);
}

describe("the 'exact' BFV parameter set", () => {
  it('is BFV, N=8192, one 60-bit prime, seeded, t prime = 1 mod 2N below 2^53, and passes SEAL', async () => {
    assert.equal(EXACT, 'exact');
    assert.deepEqual(
      [P.polyModulusDegree, P.coeffModulusBits, P.encryption, P.fixedPointBits],
      [8192, [60], 'symmetric-seeded', 16],
    );
    assert.equal((T - 1) % (2 * 8192), 0);
    assert.ok(T < 2 ** 53 && T > 2 ** 39);
    // Builds the SEAL context: 128-bit check, batching enabled, t prime.
    await validateHeParams(P);
  });

  it('has N slots in mode secure and the centered range over 2^s as its sum bound', () => {
    assert.equal(N, 8192);
    assert.equal(slotCountFor('he', DEFAULT_HE_PARAMS), 4096);
    assert.equal(sumBoundFor('secure', EXACT), (T - 1) / 2 / 2 ** 16);
    assert.ok(sumBoundFor('secure', EXACT) > 8e6);
  });

  it('refuses a mode/scheme mix-up', async () => {
    await rejectsWith(() => slotCountFor('he', EXACT), 'INVALID_PARAMS', /mode 'he' needs a CKKS.*compact/);
    await rejectsWith(() => slotCountFor('secure', DEFAULT_HE_PARAMS), 'INVALID_PARAMS', /BFV.*exact/);
    await rejectsWith(() => sumBoundFor('secure', 'reference'), 'INVALID_PARAMS');
    await rejectsWith(() => slotCountFor('nope' as never, EXACT), 'INVALID_PARAMS', /unknown mode/);
  });

  it('refuses malformed and insecure BFV sets', async () => {
    // 1 mod 2N but divisible by 3: SEAL's primality test must refuse it.
    await rejectsWith(
      () => validateHeParams({ ...P, name: 'notprime', plainModulus: 1 + 16384 * 3 * 5 * 7 * 11 * 13 * 17 }),
      'INVALID_PARAMS',
      /must be prime/,
    );
    await rejectsWith(
      () => validateHeParams({ ...P, name: 'nobatch', plainModulus: 1099511627791 }),
      'INVALID_PARAMS',
      /1 mod 2N/,
    );
    await rejectsWith(
      () => validateHeParams({ ...P, name: 'huge', plainModulus: 2 ** 53 + 16384 }),
      'INVALID_PARAMS',
      /2\^53/,
    );
    await rejectsWith(() => validateHeParams({ ...P, name: 'fp', fixedPointBits: 39 }), 'INVALID_PARAMS');
    await rejectsWith(() => validateHeParams({ ...P, name: 'fp2', fixedPointBits: 1.5 }), 'INVALID_PARAMS');
    // N=2048 allows 54 bits at 128-bit security; t = 1 mod 4096 prime (40961 = 10*4096 + 1).
    await rejectsWith(
      () =>
        validateHeParams({
          ...P,
          name: 'weak',
          polyModulusDegree: 2048,
          plainModulus: 40961,
          fixedPointBits: 4,
        }),
      'INSECURE_PARAMS',
      /at most 54 bits/,
    );
  });
});

describe('BFV consortium key', () => {
  it('generates, serializes, parses and loads for the exact set', async () => {
    const key = await generateConsortiumKey(EXACT);
    assert.equal(key.publicKey, undefined);
    const back = parseConsortiumKey(serializeConsortiumKey(key));
    assert.equal(back.paramsName, EXACT);
    assert.deepEqual(Buffer.from(back.secretKey), Buffer.from(key.secretKey));
    await checkConsortiumKey(back);
  });

  it('refuses a CKKS key relabelled as BFV and vice versa, and a key of the wrong scheme for the mode', async () => {
    const ckks = await generateConsortiumKey(DEFAULT_HE_PARAMS);
    const bfv = await generateConsortiumKey(EXACT);
    // Same N, same prime, same byte length: only the parms_id (which hashes the scheme and t) differs.
    assert.equal(ckks.secretKey.length, bfv.secretKey.length);
    await rejectsWith(
      () => checkConsortiumKey({ ...ckks, paramsName: EXACT }),
      'KEY_INVALID',
      /other parameters/,
    );
    await rejectsWith(
      () => checkConsortiumKey({ ...bfv, paramsName: DEFAULT_HE_PARAMS }),
      'KEY_INVALID',
      /other parameters/,
    );
    await rejectsWith(() => createEncoder({ mode: 'secure', key: ckks, workers: 0 }), 'KEY_INVALID', /BFV/);
    await rejectsWith(() => createEncoder({ mode: 'he', key: bfv, workers: 0 }), 'KEY_INVALID', /CKKS/);
  });
});

describe('BFV encoder: residues in, residues out', () => {
  let key: ConsortiumKey;
  let enc: UpdateEncoder;
  let sync: UpdateEncoder;

  before(async () => {
    key = await generateConsortiumKey(EXACT);
    enc = await createEncoder({ mode: 'secure', key, workers: 2 });
    sync = await createEncoder({ mode: 'secure', key, workers: 0 });
  });
  after(async () => {
    await enc.close();
    await sync.close();
  });

  it('round-trips residues exactly (edges included), N per chunk, zero-padded', async () => {
    assert.equal(enc.mode, 'secure');
    assert.equal(enc.slotCount, 8192);
    assert.equal(enc.paramsName, EXACT);
    for (const length of [1, N, N + 10, 3 * N - 1]) {
      const v = residues(length, length);
      v[0] = T - 1;
      if (length > 1) v[1] = 0;
      for (const e of [enc, sync]) {
        const chunks = await e.encode(v);
        assert.equal(chunks.length, Math.ceil(length / N));
        for (const c of chunks) assert.equal(c.length, 65730, 'one seeded ciphertext per chunk');
        assert.deepEqual(await e.decode(chunks, length), v);
      }
    }
  });

  it('pads the last chunk with zeros', async () => {
    const v = residues(10, 5);
    const chunks = await enc.encode(v);
    const all = await enc.decode(chunks, N);
    assert.deepEqual(all.subarray(0, 10), v);
    assert.ok(all.subarray(10).every((x) => x === 0));
  });

  it('refuses anything but integers in [0, t) with VALUE_RANGE naming the index', async () => {
    const bad = async (x: number, re: RegExp) => {
      const v = residues(20, 1);
      v[7] = x;
      const err = await rejectsWith(() => enc.encode(v), 'VALUE_RANGE', re);
      assert.ok(err instanceof HeInputError);
    };
    await bad(-1, /-1 at index 7/);
    await bad(T, /index 7 .*\[0, t\)/);
    await bad(1.5, /1\.5 at index 7/);
    await bad(Number.NaN, /NaN at index 7/);
    await bad(Number.POSITIVE_INFINITY, /index 7/);
    await rejectsWith(() => enc.encode([1, 2] as unknown as Float64Array), 'VALUE_RANGE');
    await rejectsWith(() => enc.encode(new Float64Array(0)), 'LENGTH_MISMATCH');
  });

  it('the sum of K = 20 encrypted updates decodes to the exact integer sum mod t (and resumes)', async () => {
    const length = 2 * N + 3;
    let acc = await createAccumulator({ mode: 'secure', paramsName: EXACT, chunkCount: 3 });
    let exact: Float64Array = new Float64Array(length);
    for (let k = 0; k < 20; k++) {
      const u = residues(length, 100 + k);
      exact = addMod(exact, u);
      await acc.add(await enc.encode(u));
      if (k === 9) {
        // Resume halfway from a saved sum, as the aggregator does after a restart.
        const saved = acc.result();
        acc.dispose();
        acc = await createAccumulator({
          mode: 'secure',
          paramsName: EXACT,
          chunkCount: 3,
          initial: { sum: saved, added: 10 },
        });
      }
    }
    assert.equal(acc.added, 20);
    assert.equal(acc.mode, 'secure');
    const sum = acc.result();
    acc.dispose();
    assert.equal(sum[0]!.length, 131185, 'a sum is a full (unseeded) ciphertext');
    assert.deepEqual(await enc.decode(sum, length), exact);
  });

  it('a wrong key is detected at decode (no noise budget), not handed back as garbage', async () => {
    const other = await createEncoder({
      mode: 'secure',
      key: await generateConsortiumKey(EXACT),
      workers: 0,
    });
    try {
      const v = residues(N + 1, 77);
      const chunks = await other.encode(v);
      assert.deepEqual(await other.decode(chunks, v.length), v); // positive control: its own key works
      const err = await rejectsWith(
        () => enc.decode(chunks, v.length),
        'VALUE_RANGE',
        /chunk \d .*noise budget.*another consortium key/,
      );
      assert.ok(err instanceof HeInputError);
      await rejectsWith(() => sync.decode(chunks, v.length), 'VALUE_RANGE', /another consortium key/);
    } finally {
      await other.close();
    }
  });

  it('a CKKS chunk is refused at decode with PARAMS_MISMATCH', async () => {
    const ckks = await createEncoder({
      mode: 'he',
      key: await generateConsortiumKey(DEFAULT_HE_PARAMS),
      workers: 0,
    });
    try {
      const chunks = await ckks.encode(weightedUpdate(10, 3, 1));
      await rejectsWith(() => sync.decode(chunks, 10), 'PARAMS_MISMATCH', /CKKS.*'exact'/);
    } finally {
      await ckks.close();
    }
  });
});

describe('accumulators refuse the other scheme and keep the sum unchanged', () => {
  let bfvChunks: Uint8Array[];
  let ckksChunks: Uint8Array[];

  before(async () => {
    const b = await createEncoder({ mode: 'secure', key: await generateConsortiumKey(EXACT), workers: 0 });
    const c = await createEncoder({
      mode: 'he',
      key: await generateConsortiumKey(DEFAULT_HE_PARAMS),
      workers: 0,
    });
    bfvChunks = await b.encode(residues(N, 3));
    ckksChunks = await c.encode(weightedUpdate(4096, 3, 3));
    await b.close();
    await c.close();
    // The two are the same size: only metadata tells them apart.
    assert.equal(bfvChunks[0]!.length, ckksChunks[0]!.length);
  });

  it('a CKKS chunk into a BFV round', async () => {
    const acc = await createAccumulator({ mode: 'secure', paramsName: EXACT, chunkCount: 1 });
    await acc.add(bfvChunks);
    const before1 = acc.result();
    const err = await rejectsWith(
      () => acc.add(ckksChunks),
      'PARAMS_MISMATCH',
      /CKKS.*'exact'.*parameter set 'compact'/,
    );
    assert.ok(err instanceof HeInputError);
    assert.equal(acc.added, 1);
    assert.ok(sameChunks(acc.result(), before1));
    await rejectsWith(
      () => validateChunk(ckksChunks[0]!, { mode: 'secure', paramsName: EXACT }),
      'PARAMS_MISMATCH',
    );
    await validateChunk(bfvChunks[0]!, { mode: 'secure', paramsName: EXACT });
    acc.dispose();
  });

  it('a BFV chunk into a CKKS round', async () => {
    const acc = await createAccumulator({ mode: 'he', paramsName: DEFAULT_HE_PARAMS, chunkCount: 1 });
    await acc.add(ckksChunks);
    const before1 = acc.result();
    await rejectsWith(() => acc.add(bfvChunks), 'PARAMS_MISMATCH', /BFV.*'compact'.*parameter set 'exact'/);
    assert.equal(acc.added, 1);
    assert.ok(sameChunks(acc.result(), before1));
    acc.dispose();
  });

  it('a BFV chunk with edited metadata, and a mode/set mix-up at creation', async () => {
    const acc = await createAccumulator({ mode: 'secure', paramsName: EXACT, chunkCount: 1 });
    const ntt = Uint8Array.from(bfvChunks[0]!);
    ntt[48] = 1; // claims NTT form, which BFV ciphertexts are not in
    await rejectsWith(() => acc.add([ntt]), 'INVALID_CIPHERTEXT', /ntt 1/);
    assert.equal(acc.added, 0);
    acc.dispose();
    await rejectsWith(
      () => createAccumulator({ mode: 'secure', paramsName: DEFAULT_HE_PARAMS, chunkCount: 1 }),
      'INVALID_PARAMS',
    );
    await rejectsWith(
      () => createAccumulator({ mode: 'he', paramsName: EXACT, chunkCount: 1 }),
      'INVALID_PARAMS',
    );
  });
});

describe('unmaskSum', () => {
  let enc: UpdateEncoder;
  before(async () => {
    enc = await createEncoder({ mode: 'secure', key: await generateConsortiumKey(EXACT), workers: 0 });
  });
  after(() => enc.close());

  it('masked sum - masks = plain sum, exactly; and dequantizes to the float sum', async () => {
    const length = N + 100; // 2 chunks
    const plain = [6000, 20000, 34000].map((n, k) => weightedUpdate(length, n, 40 + k));
    const acc = await createAccumulator({ mode: 'secure', paramsName: EXACT, chunkCount: 2 });
    let maskSum: Float64Array = new Float64Array(length);
    let quantSum: Float64Array = new Float64Array(length);
    for (const [k, u] of plain.entries()) {
      const q = quantizeUpdate(u, EXACT, plain.length);
      const mask = residues(length, 900 + k);
      quantSum = addMod(quantSum, q);
      maskSum = addMod(maskSum, mask);
      await acc.add(await enc.encode(addMod(q, mask)));
    }
    const masked = acc.result();
    acc.dispose();
    // Positive control: the masks really are there.
    const still = await enc.decode(masked, length);
    assert.deepEqual(still, addMod(quantSum, maskSum));
    assert.notDeepEqual(still, quantSum);

    const unmasked = await unmaskSum(masked, maskSum, EXACT);
    assert.equal(unmasked.length, 2);
    const got = await enc.decode(unmasked, length);
    assert.deepEqual(got, quantSum);
    const floats = dequantizeSum(got, EXACT);
    const exact = sumOf(plain);
    assert.equal(floats[length - 1], 60000, 'the count is summed exactly');
    assert.ok(maxAbsDiff(floats, exact) <= 3 * 2 ** -(S + 1), `error ${maxAbsDiff(floats, exact)}`);
  });

  it('treats a shorter correction as zero-padded', async () => {
    const v = residues(2 * N, 8);
    const chunks = await enc.encode(v);
    const corr = residues(N + 5, 9);
    const got = await enc.decode(await unmaskSum(chunks, corr, EXACT), 2 * N);
    const want = Float64Array.from(v);
    want.set(subMod(v.subarray(0, N + 5), corr));
    assert.deepEqual(got, want);
    assert.deepEqual(got.subarray(N + 5), v.subarray(N + 5));
  });

  it('refuses bad input with HeInputError', async () => {
    const chunks = await enc.encode(residues(N, 10));
    await rejectsWith(
      () => unmaskSum(chunks, new Float64Array(N + 1), EXACT),
      'LENGTH_MISMATCH',
      /more than/,
    );
    const bad = new Float64Array(4);
    bad[2] = T;
    await rejectsWith(() => unmaskSum(chunks, bad, EXACT), 'VALUE_RANGE', /correction value .* index 2/);
    await rejectsWith(() => unmaskSum([], new Float64Array(0), EXACT), 'CHUNK_COUNT');
    await rejectsWith(() => unmaskSum(chunks, new Float64Array(1), DEFAULT_HE_PARAMS), 'INVALID_PARAMS');
    const ckks = await createEncoder({
      mode: 'he',
      key: await generateConsortiumKey(DEFAULT_HE_PARAMS),
      workers: 0,
    });
    const foreign = await ckks.encode(weightedUpdate(10, 1, 1));
    await ckks.close();
    await rejectsWith(() => unmaskSum(foreign, new Float64Array(1), EXACT), 'PARAMS_MISMATCH', /'compact'/);
    await rejectsWith(
      () => unmaskSum([chunks[0]!.subarray(0, 500)], new Float64Array(1), EXACT),
      'INVALID_CIPHERTEXT',
    );
  });
});

describe('fixed-point quantization', () => {
  const scale = 2 ** S;
  const limit3 = Math.floor((T - 1) / 2 / 3);

  it('rounds each weight to within 2^-(s+1), maps negatives to t - |q|, keeps the count', () => {
    const u = weightedUpdate(50001, 34000, 5);
    const q = quantizeUpdate(u, EXACT, 10);
    assert.equal(q[50000], 34000);
    let worst = 0;
    for (let i = 0; i < 50000; i++) {
      assert.ok(Number.isInteger(q[i]!) && q[i]! >= 0 && q[i]! < T);
      const lifted = q[i]! > (T - 1) / 2 ? q[i]! - T : q[i]!;
      worst = Math.max(worst, Math.abs(lifted / scale - u[i]!));
    }
    assert.ok(worst <= 2 ** -(S + 1), `worst error ${worst}`);
    assert.ok(worst > 2 ** -(S + 2), 'the random values exercise the rounding');
    const d = dequantizeSum(q, EXACT);
    assert.ok(maxAbsDiff(d.subarray(0, 50000), u.subarray(0, 50000)) <= 2 ** -(S + 1));
    assert.deepEqual(
      quantizeUpdate(Float64Array.from([-1 / scale, 1 / scale, -2.5 / scale, 2.5 / scale, 0, 7]), EXACT, 1),
      Float64Array.from([T - 1, 1, T - 3, 3, 0, 7]),
    );
    assert.deepEqual(
      dequantizeSum(Float64Array.from([T - 1, 1, (T - 1) / 2, (T + 1) / 2, 5]), EXACT),
      Float64Array.from([-1 / scale, 1 / scale, (T - 1) / 2 / scale, -(T - 1) / 2 / scale, 5]),
    );
  });

  it('refuses a weight beyond ((t-1)/2)/parties, naming the index and bound, and accepts the bound itself', () => {
    const atBound = Float64Array.from([limit3 / scale, -limit3 / scale, 1]);
    const q = quantizeUpdate(atBound, EXACT, 3);
    // Three such updates sum to at most (t-1)/2: they do not wrap.
    const sum = addMod(addMod(q, q), q);
    assert.deepEqual(
      dequantizeSum(sum, EXACT),
      Float64Array.from([(3 * limit3) / scale, (-3 * limit3) / scale, 3]),
    );
    const over = Float64Array.from([0, (limit3 + 1) / scale, 1]);
    const err = (() => {
      try {
        quantizeUpdate(over, EXACT, 3);
      } catch (e) {
        return e;
      }
    })();
    assert.ok(err instanceof HeInputError && err.code === 'VALUE_RANGE');
    assert.match(err.message, /index 1 .*per-party bound .*3 parties/);
    assert.match(err.message, new RegExp(String(limit3)));
    // The same value is fine when fewer parties share the range.
    quantizeUpdate(over, EXACT, 2);
    for (const v of [Number.NaN, Number.POSITIVE_INFINITY, -sumBoundFor('secure', EXACT) * 2]) {
      assert.throws(() => quantizeUpdate(Float64Array.from([v, 1]), EXACT, 1), /VALUE_RANGE|index 0/);
    }
  });

  it('refuses a count that is not a non-negative integer within the per-party bound', () => {
    for (const count of [-1, 1.5, Number.NaN, limit3 + 1]) {
      assert.throws(
        () => quantizeUpdate(Float64Array.from([0.25, count]), EXACT, 3),
        (e: unknown) =>
          e instanceof HeInputError && e.code === 'VALUE_RANGE' && /example count .*index 1/.test(e.message),
      );
    }
    assert.equal(quantizeUpdate(Float64Array.from([0.25, limit3]), EXACT, 3)[1], limit3);
    assert.equal(quantizeUpdate(Float64Array.from([0]), EXACT, 3)[0], 0, 'a lone count slot');
  });

  it('refuses bad arguments', () => {
    assert.throws(() => quantizeUpdate(new Float64Array(2), EXACT, 0), /parties/);
    assert.throws(() => quantizeUpdate(new Float64Array(2), EXACT, 1.5), /parties/);
    assert.throws(() => quantizeUpdate(new Float64Array(0), EXACT, 1), /empty/);
    assert.throws(() => quantizeUpdate(new Float64Array(2), DEFAULT_HE_PARAMS, 1), /BFV/);
    assert.throws(() => dequantizeSum(Float64Array.from([T]), EXACT), /index 0/);
    assert.throws(() => dequantizeSum(Float64Array.from([0, -1]), EXACT), /index 1/);
    assert.throws(() => dequantizeSum(Float64Array.from([0.5]), EXACT), /not an integer/);
  });
});
