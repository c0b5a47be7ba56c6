import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import {
  type CsvDatasetOptions,
  DatasetError,
  dataCommitment,
  loadCsvDataset,
  parseCsv,
  standardization,
  standardize,
} from '../src/index.js';

const dir = mkdtempSync(path.join(tmpdir(), 'kpfl-csv-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
function file(text: string, name = `f${n++}.csv`): string {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
}

async function rejects(o: CsvDatasetOptions, code: string, message: RegExp) {
  await assert.rejects(loadCsvDataset(o), (e: unknown) => {
    assert.ok(e instanceof DatasetError, `expected a DatasetError, got ${e}`);
    assert.equal(e.code, code);
    assert.match(e.message, message);
    return true;
  });
}

const IRIS = 'a,b,species\n1,10,setosa\n2,20,versicolor\n3,30,setosa\n4,40,virginica\n5,50,versicolor\n';

describe('parseCsv', () => {
  it('reads quoted fields, doubled quotes, commas and line breaks inside quotes, CRLF and blank lines', () => {
    const rows = parseCsv('x,"y, z"\r\n"say ""hi""","two\nlines"\r\n\r\n3,\n', 't.csv');
    assert.deepEqual(
      rows.map((r) => r.map((c) => c.text)),
      [
        ['x', 'y, z'],
        ['say "hi"', 'two\nlines'],
        ['3', ''],
      ],
    );
    assert.deepEqual([rows[2][0].line, rows[2][0].col, rows[2][1].col], [5, 1, 3]);
  });

  it('refuses an unclosed quote and text after a closing quote, with the position', () => {
    assert.throws(() => parseCsv('a,b\n1,"open\n', 't.csv'), /t\.csv:2:3: quoted field is never closed/);
    assert.throws(() => parseCsv('a,"b"c\n', 't.csv'), /t\.csv:1:6: unexpected "c" after a closing quote/);
  });
});

describe('loadCsvDataset', () => {
  it('maps labels to class ids in sorted order and splits train/test reproducibly from the seed', async () => {
    const f = file(IRIS);
    const ds = await loadCsvDataset({ train: f, labelColumn: 'species', testFraction: 0.4, seed: 3 });
    assert.deepEqual(ds.classes, ['setosa', 'versicolor', 'virginica']);
    assert.deepEqual(ds.featureColumns, ['a', 'b']);
    assert.equal(ds.features, 2);
    assert.equal(ds.trainLabels.length + ds.testLabels.length, 5);
    assert.equal(ds.testLabels.length, 2);
    // Every row lands in exactly one split, with its own label.
    const rows = new Map<number, number>();
    const collect = (x: Float32Array, y: Uint8Array) => {
      for (let i = 0; i < y.length; i++) rows.set(x[2 * i], y[i]);
    };
    collect(ds.trainFeatures, ds.trainLabels);
    collect(ds.testFeatures, ds.testLabels);
    assert.deepEqual(
      [...rows.entries()].sort((p, q) => p[0] - q[0]),
      [
        [1, 0],
        [2, 1],
        [3, 0],
        [4, 2],
        [5, 1],
      ],
    );
    const again = await loadCsvDataset({ train: f, labelColumn: 'species', testFraction: 0.4, seed: 3 });
    assert.deepEqual(again.testFeatures, ds.testFeatures);
    assert.equal(again.manifestDigest, ds.manifestDigest);
  });

  it('selects feature columns in the given order; sorts numeric labels numerically', async () => {
    const f = file('id,y,w,v\n1,10,0.5,-1\n2,2,1.5,-2\n3,10,2.5,-3\n4,9,3.5,-4\n');
    const ds = await loadCsvDataset({ train: f, labelColumn: 'y', featureColumns: ['v', 'w'], test: f });
    assert.deepEqual(ds.classes, ['2', '9', '10']);
    assert.deepEqual([...ds.trainFeatures.subarray(0, 4)], [-1, 0.5, -2, 1.5]);
    assert.deepEqual([...ds.trainLabels], [2, 0, 2, 1]);
  });

  it('reads a file without a header by 0-based column index; the label defaults to the last column', async () => {
    const f = file('1,2,a\n3,4,b\n5,6,a\n');
    const ds = await loadCsvDataset({ train: f, test: f, header: false });
    assert.equal(ds.labelColumn, '2');
    assert.deepEqual(ds.featureColumns, ['0', '1']);
    assert.deepEqual([...ds.trainLabels], [0, 1, 0]);
    const byIndex = await loadCsvDataset({
      train: f,
      test: f,
      header: false,
      labelColumn: '2',
      featureColumns: ['1'],
    });
    assert.deepEqual([...byIndex.trainFeatures], [2, 4, 6]);
  });

  it('uses the given classes so members whose files lack a class still agree on the ids', async () => {
    const f = file('x,c\n1,rain\n2,rain\n3,sun\n');
    const ds = await loadCsvDataset({ train: f, test: f, classes: ['fog', 'rain', 'sun'] });
    assert.deepEqual([...ds.trainLabels], [1, 1, 2]);
    assert.equal(ds.numClasses, 3);
    await rejects(
      { train: f, test: f, classes: ['fog', 'rain'] },
      'UNKNOWN_LABEL',
      /:4:3: label "sun" is not one of the classes fog, rain/,
    );
  });

  it('commits to the file bytes and the options', async () => {
    const f = file(IRIS);
    const g = file(IRIS.replace('40', '41'));
    const base = await loadCsvDataset({ train: f, test: f });
    const digests = new Set([
      base.manifestDigest,
      (await loadCsvDataset({ train: g, test: g })).manifestDigest,
      (await loadCsvDataset({ train: f, test: f, featureColumns: ['a'] })).manifestDigest,
      (await loadCsvDataset({ train: f, testFraction: 0.4 })).manifestDigest,
      (await loadCsvDataset({ train: f, testFraction: 0.4, seed: 2 })).manifestDigest,
    ]);
    assert.equal(digests.size, 5);
    assert.notEqual(dataCommitment(base, [0, 1]), dataCommitment(base, [0, 2]));
  });

  describe('refuses bad input with file:line:column and an actionable message', () => {
    it('a ragged row', () =>
      rejects(
        { train: file('a,b,c\n1,2,x\n3,4\n', 'ragged.csv') },
        'RAGGED_ROW',
        /ragged\.csv:3:1: row has 2 fields, expected 3/,
      ));
    it('a non-numeric cell, naming the column and the value', () =>
      rejects(
        { train: file('a,b,c\n1,2,x\n3,abc,y\n', 'nn.csv') },
        'NON_NUMERIC',
        /nn\.csv:3:3: column 'b' holds "abc", expected a number/,
      ));
    it('an empty feature cell', () =>
      rejects(
        { train: file('a,b,c\n1,,x\n', 'empty-cell.csv') },
        'NON_NUMERIC',
        /:2:3: column 'b' holds an empty cell/,
      ));
    it('hexadecimal or infinite values', async () => {
      await rejects({ train: file('a,c\n0x10,x\n2,y\n') }, 'NON_NUMERIC', /"0x10"/);
      await rejects({ train: file('a,c\nInfinity,x\n2,y\n') }, 'NON_NUMERIC', /"Infinity"/);
    });
    it('an unknown feature column, listing the known ones', () =>
      rejects(
        { train: file(IRIS), featureColumns: ['a', 'z'] },
        'UNKNOWN_COLUMN',
        /no feature column 'z'; its columns are: a, b, species/,
      ));
    it('a label column the file lacks', () =>
      rejects(
        { train: file(IRIS), labelColumn: 'kind' },
        'LABEL_COLUMN_MISSING',
        /no label column 'kind'; its columns are: a, b, species/,
      ));
    it('an empty file and a header without rows', async () => {
      await rejects({ train: file('') }, 'EMPTY_FILE', /no data rows/);
      await rejects({ train: file('a,b\n') }, 'EMPTY_FILE', /only a header/);
    });
    it('a single class', () =>
      rejects(
        { train: file('a,c\n1,x\n2,x\n3,x\n') },
        'FEW_CLASSES',
        /a single label \(x\); a classifier needs at least 2 classes/,
      ));
    it('an empty label', () =>
      rejects({ train: file('a,c\n1,x\n2,\n3,y\n') }, 'EMPTY_LABEL', /:3:3: empty label in column 'c'/));
    it('a missing file', () =>
      rejects({ train: path.join(dir, 'nope.csv') }, 'MISSING_FILE', /does not exist/));
    it('a test file without the feature column', () =>
      rejects(
        { train: file(IRIS), test: file('a,species\n1,setosa\n', 'test.csv') },
        'UNKNOWN_COLUMN',
        /test\.csv: no feature column 'b'/,
      ));
    it('a duplicate header name, the label as a feature, a bad split fraction', async () => {
      await rejects({ train: file('a,a,c\n1,2,x\n') }, 'BAD_CSV', /:1:3: header names column 'a' twice/);
      await rejects(
        { train: file(IRIS), featureColumns: ['a', 'species'], labelColumn: 'species' },
        'BAD_OPTIONS',
        /cannot also be a feature/,
      );
      await rejects(
        { train: file(IRIS), testFraction: 1 },
        'BAD_OPTIONS',
        /testFraction must be between 0 and 1/,
      );
    });
  });
});

describe('standardization', () => {
  it('z-scores from the given rows only; a constant feature becomes 0, not NaN', () => {
    // Rows 0 and 1 are the member's; row 2 (another member's or a test row) must not move the statistics.
    const x = Float32Array.from([1, 7, 3, 7, 1000, 9]);
    const s = standardization(x, 2, [0, 1]);
    assert.deepEqual(s.mean, [2, 7]);
    assert.deepEqual(s.std, [1, 0]);
    assert.deepEqual([...standardize(x, 2, s)], [-1, 0, 1, 0, 998, 2]);
  });
});
