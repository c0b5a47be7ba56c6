/**
 * The federated tabular example (examples/tabular): the wine data set that Debian's python3-sklearn
 * ships, read by the CSV loader with each member's own standardisation, federated by the real demo
 * (gRPC, Postgres, Redis, CKKS) across a label-skewed split, beats every participant trained alone.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { localOnlyAccuracies, WINE_EXAMPLE } from '../examples/tabular/baseline.js';
import { prepareWine } from '../examples/tabular/prepare.js';
import { runKeptDemo } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'kpfl-tabular-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test('the federated wine model beats each participant alone on the held-out rows', {
  timeout: 600_000,
}, async (t) => {
  const { file, rows } = prepareWine(tmp);
  assert.equal(rows, 178);
  const local = await localOnlyAccuracies({ csv: file, ...WINE_EXAMPLE });
  const { result, cleanup } = await runKeptDemo({
    dataset: file,
    dataFormat: 'csv',
    model: WINE_EXAMPLE.model,
    participants: WINE_EXAMPLE.participants,
    partition: WINE_EXAMPLE.partition,
    rounds: WINE_EXAMPLE.rounds,
    lr: WINE_EXAMPLE.lr,
    batchSize: WINE_EXAMPLE.batchSize,
    seed: WINE_EXAMPLE.seed,
    maxExamples: 0,
    testLimit: undefined,
    mode: 'he',
  });
  try {
    t.diagnostic(
      `federated ${(100 * result.finalAccuracy).toFixed(2)}%; alone ${local.map((a) => `${(100 * a).toFixed(2)}%`).join(', ')}`,
    );
    assert.equal(result.rounds.length, WINE_EXAMPLE.rounds);
    for (const [i, a] of local.entries())
      assert.ok(
        result.finalAccuracy > a,
        `participant ${i + 1} alone: ${a}, federated: ${result.finalAccuracy}`,
      );
  } finally {
    await cleanup();
  }
});
