import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createEncoder, DEFAULT_SECURE_PARAMS, generateConsortiumKey } from '@kpfl/he';
import {
  formatSecure,
  measureUnmask,
  runSecureSuite,
  type SecureDemoRequest,
  type UnmaskedSum,
} from '../src/index.js';

// The cheap parts at tiny sizes: structure of the result, and that unmasking really removes the
// masks. No timing is asserted.

test('secure suite: bytes of a tiny model, masks and unmask at 10 members, without demo runs', {
  timeout: 120_000,
}, async () => {
  const r = await runSecureSuite({
    parts: ['bytes', 'masks', 'unmask'],
    models: [{ name: 'tiny', parameters: 5000 }],
    simulated: [10],
    maskParameters: 2000,
    unmaskParameters: 1000,
    repeats: 1,
    workers: 0,
  });
  assert.equal(r.suite, 'secure');
  assert.deepEqual(r.parts, ['bytes', 'masks', 'unmask']);
  assert.equal(r.rounds, undefined);
  assert.equal(r.accuracy, undefined);

  const b = r.bytes?.[0];
  assert.ok(b);
  assert.equal(b.float32Bytes, 5001 * 4);
  assert.deepEqual(
    b.modes.map((m) => m.mode),
    ['secure', 'he', 'plain'],
  );
  const [secure, he, plain] = b.modes;
  assert.equal(secure!.paramsName, DEFAULT_SECURE_PARAMS);
  // BFV packs 8,192 values per ciphertext, CKKS 4,096: one chunk against two, of the same size.
  assert.equal(secure!.chunks, 1);
  assert.equal(he!.chunks, 2);
  assert.ok(secure!.updateBytes > plain!.updateBytes);
  assert.ok(Math.abs(b.secureOverHe - 0.5) < 0.01, `secure/he ${b.secureOverHe}`);
  for (const m of b.modes) {
    assert.equal(m.updateExpansion, m.updateBytes / b.float32Bytes);
    assert.ok(m.aggregateBytes >= m.updateBytes, `${m.mode}: the aggregate is not seeded`);
  }

  const m = r.masks?.rows[0];
  assert.ok(m);
  assert.equal(m.n, 10);
  assert.equal(m.degree, 9, 'complete graph below 3·log2 n');
  assert.equal(m.threshold, 5);
  assert.equal(m.holders, 10);
  assert.equal(m.bytes.envelopeCount, 9);
  assert.equal(m.bytes.keyExchange, m.bytes.advertisement + m.bytes.envelopes + m.bytes.unmaskResponse);
  assert.ok(m.bytes.update > 0 && m.bytes.expansion > secure!.updateExpansion / 4);
  for (const [k, v] of Object.entries(m.seconds)) assert.ok(Number.isFinite(v) && v >= 0, k);

  assert.deepEqual(
    r.unmask?.rows.map((x) => [x.n, x.dropouts, x.survivors]),
    [
      [10, 0, 10],
      [10, 3, 7],
    ],
  );
  for (const x of r.unmask!.rows) {
    assert.equal(x.verified, true);
    assert.equal(x.mismatches, 0);
  }
  assert.equal(r.unmask!.rows[0]!.droppedPairs, 0);
  // Each of 3 dropouts had 9 neighbours, 7 of them survivors (the graph is complete at n = 10).
  assert.equal(r.unmask!.rows[1]!.droppedPairs, 3 * 7);

  const text = formatSecure(r);
  for (const part of ['1. Bytes', '3. One participant', "4. The aggregator's unmasking"])
    assert.ok(text.includes(part), part);
  assert.match(text, /Bonawitz 2017: 1\.73x/);
});

test('secure suite: the decrypted unmasked sum equals the plain sum, the masked sum does not', {
  timeout: 120_000,
}, async () => {
  const key = await generateConsortiumKey(DEFAULT_SECURE_PARAMS);
  const encoder = await createEncoder({ mode: 'secure', key, workers: 0 });
  const sums: UnmaskedSum[] = [];
  try {
    const rows = await measureUnmask(10, 3000, [0, 0.3], 1, encoder, 5, undefined, (s) => sums.push(s));
    assert.equal(rows.length, 2);
    assert.equal(sums.length, 2);
    for (const s of sums) {
      const unmasked = await encoder.decode(s.unmaskedSum, s.length);
      assert.deepEqual(unmasked, s.plainSum, `n=${s.n}, ${s.dropoutRate * 100}% dropouts`);
      // Positive control: before unmasking, the survivors' self masks (and the dropouts' pairwise
      // masks) are still in the sum.
      const masked = await encoder.decode(s.maskedSum, s.length);
      let same = 0;
      for (let i = 0; i < s.length; i++) if (masked[i] === s.plainSum[i]) same++;
      assert.ok(same < s.length / 100, `${same} of ${s.length} values unmasked already`);
    }
  } finally {
    await encoder.close();
  }
});

test('secure suite: the rounds and accuracy parts run through the runDemo they are given', {
  timeout: 30_000,
}, async () => {
  const calls: SecureDemoRequest[] = [];
  const seconds = { secure: 1.2, he: 1, plain: 0.5 } as const;
  const r = await runSecureSuite(
    { parts: ['rounds', 'accuracy'], participants: [3], demoRounds: 3, roundMaxExamples: 50, seed: 9 },
    {
      runDemo: async (req) => {
        calls.push(req);
        const acc = req.mode === 'plain' ? 0.95 : 0.9505;
        return {
          rounds: Array.from({ length: req.rounds }, (_, i) => ({
            round: i + 1,
            participants: req.participants,
            accuracy: acc,
            loss: 0.1,
            seconds: i === 0 ? 30 : seconds[req.mode] * (i + 1),
          })),
          finalAccuracy: acc,
          totalSeconds: 40,
          bytesPerUpdate: 1000,
        };
      },
    },
  );
  assert.deepEqual(
    calls.map((c) => [c.mode, c.participants, c.rounds, c.maxExamples, c.seed]),
    [
      ['secure', 3, 3, 50, 9],
      ['he', 3, 3, 50, 9],
      ['plain', 3, 3, 50, 9],
      ['secure', 3, 5, 0, 9],
      ['plain', 3, 5, 0, 9],
    ],
  );
  const run = r.rounds?.runs.find((x) => x.mode === 'secure');
  assert.equal(run?.meanSeconds, (1.2 * 2 + 1.2 * 3) / 2, 'round 1 is not counted');
  assert.ok(Math.abs(r.rounds!.ratios[0]!.secureOverHe! - 1.2) < 1e-9);
  assert.equal(r.rounds!.ratios[0]!.goalMet, true);
  assert.ok(Math.abs(r.accuracy!.differencePp! - 0.05) < 1e-9);
  assert.equal(r.accuracy!.goalMet, true);
  await assert.rejects(runSecureSuite({ parts: ['rounds'] }), /runDemo/);
});
