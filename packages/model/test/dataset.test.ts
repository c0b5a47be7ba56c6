import assert from 'node:assert/strict';
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { DatasetError, dataCommitment, loadIdxDataset } from '../src/index.js';
import {
  idx,
  MNIST_DIR,
  removeDir,
  STANDARD,
  sha256,
  tinyDatasetDir,
  tinyDatasetFiles,
  writeDataset,
} from './helpers.js';

async function expectDatasetError(dir: string, code: string, pattern: RegExp, opts?: { verify?: boolean }) {
  try {
    await assert.rejects(loadIdxDataset(dir, { cache: false, ...opts }), (e: unknown) => {
      assert.ok(e instanceof DatasetError, `expected DatasetError, got ${e}`);
      assert.equal(e.code, code);
      assert.match(e.message, pattern);
      return true;
    });
  } finally {
    removeDir(dir);
  }
}

describe('loadIdxDataset on the project MNIST copy', () => {
  // How long this takes is a figure for `kpfl bench convergence` (it prints the dataset load time), not a test.
  it('loads, verifies SHA256SUMS and validates the IDX structure', async () => {
    const ds = await loadIdxDataset(MNIST_DIR, { cache: false });
    assert.equal(ds.rows, 28);
    assert.equal(ds.cols, 28);
    assert.equal(ds.numClasses, 10);
    assert.equal(ds.trainLabels.length, 60000);
    assert.equal(ds.trainImages.length, 60000 * 784);
    assert.equal(ds.testLabels.length, 10000);
    assert.equal(ds.testImages.length, 10000 * 784);
    // Known first labels of MNIST: 5 0 4 1 9 2 1 3 1 4 (train) and 7 2 1 0 4 (test).
    assert.deepEqual([...ds.trainLabels.subarray(0, 10)], [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
    assert.deepEqual([...ds.testLabels.subarray(0, 5)], [7, 2, 1, 0, 4]);
    const sums = readFileSync(path.join(MNIST_DIR, 'SHA256SUMS'), 'utf8');
    for (const f of ds.files) assert.ok(sums.includes(`${f.sha256}  ${f.name}`), f.name);
    assert.deepEqual(
      ds.files.map((f) => f.name),
      [
        'train-images-idx3-ubyte.gz',
        'train-labels-idx1-ubyte.gz',
        't10k-images-idx3-ubyte.gz',
        't10k-labels-idx1-ubyte.gz',
      ],
    );
    assert.match(ds.manifestDigest, /^sha256:[0-9a-f]{64}$/);
  });

  it('caches per directory: a second load returns the same object, and cache: false does not', async () => {
    const a = await loadIdxDataset(MNIST_DIR);
    const b = await loadIdxDataset(MNIST_DIR);
    assert.equal(a, b, 'the cached dataset itself: nothing was read or verified again');
    const c = await loadIdxDataset(MNIST_DIR, { cache: false });
    assert.notEqual(c, a, 'cache: false loads afresh');
    assert.deepEqual(c.files, a.files);
  });

  it('dataCommitment depends on the index set, not its order', async () => {
    const ds = await loadIdxDataset(MNIST_DIR);
    const c1 = dataCommitment(ds, [5, 1, 3]);
    assert.match(c1, /^sha256:[0-9a-f]{64}$/);
    assert.equal(dataCommitment(ds, [1, 3, 5]), c1);
    assert.notEqual(dataCommitment(ds, [1, 3, 6]), c1);
    assert.notEqual(dataCommitment(ds, [1, 3]), c1);
    assert.notEqual(dataCommitment({ ...ds, manifestDigest: 'sha256:00' }, [1, 3, 5]), c1);
  });
});

describe('loadIdxDataset on other directories', () => {
  it('reads raw (uncompressed) files and gzipped files alike', async () => {
    const raw = tinyDatasetDir();
    const gz = tinyDatasetDir({ gz: true, sums: true });
    try {
      const a = await loadIdxDataset(raw);
      const b = await loadIdxDataset(gz);
      assert.equal(a.rows, 4);
      assert.equal(a.cols, 3);
      assert.equal(a.numClasses, 3);
      assert.equal(a.trainLabels.length, 30);
      assert.deepEqual(a.trainImages, b.trainImages);
      assert.deepEqual(a.testLabels, b.testLabels);
      assert.equal(a.files[0].name, 'train-images-idx3-ubyte');
      assert.equal(b.files[0].name, 'train-images-idx3-ubyte.gz');
    } finally {
      removeDir(raw);
      removeDir(gz);
    }
  });

  it('missing file -> DatasetError MISSING_FILE naming it', async () => {
    const dir = tinyDatasetDir();
    unlinkSync(path.join(dir, STANDARD.testLabels));
    await expectDatasetError(
      dir,
      'MISSING_FILE',
      /missing t10k-labels-idx1-ubyte \(or t10k-labels-idx1-ubyte\.gz\)/,
    );
  });

  it('directory that does not exist -> NOT_A_DIRECTORY', async () => {
    await expectDatasetError('/nonexistent/kpfl-mnist', 'NOT_A_DIRECTORY', /does not exist/);
  });

  it('wrong checksum -> CHECKSUM_MISMATCH naming the file', async () => {
    const dir = tinyDatasetDir({ gz: true, sums: true });
    const file = path.join(dir, `${STANDARD.trainLabels}.gz`);
    const bytes = readFileSync(file);
    bytes[bytes.length - 10] ^= 0xff;
    writeFileSync(file, bytes);
    await expectDatasetError(
      dir,
      'CHECKSUM_MISMATCH',
      /train-labels-idx1-ubyte\.gz: SHA-256 [0-9a-f]{64} does not match/,
    );
  });

  it('verify: false skips SHA256SUMS (structure is still checked)', async () => {
    const dir = tinyDatasetDir({ sums: true });
    writeFileSync(path.join(dir, STANDARD.trainLabels), idx(2049, [30], new Uint8Array(30).fill(1)));
    try {
      const ds = await loadIdxDataset(dir, { verify: false, cache: false });
      assert.equal(ds.trainLabels[0], 1);
    } finally {
      removeDir(dir);
    }
  });

  it('file absent from SHA256SUMS -> NOT_IN_CHECKSUMS', async () => {
    const dir = tinyDatasetDir({ sums: true });
    const sums = readFileSync(path.join(dir, 'SHA256SUMS'), 'utf8')
      .split('\n')
      .filter((l) => !l.includes(STANDARD.testImages))
      .join('\n');
    writeFileSync(path.join(dir, 'SHA256SUMS'), sums);
    await expectDatasetError(dir, 'NOT_IN_CHECKSUMS', /t10k-images-idx3-ubyte is not listed in .*SHA256SUMS/);
  });

  it('truncated image file -> TRUNCATED with expected and actual sizes', async () => {
    const f = tinyDatasetFiles();
    const dir = writeDataset({
      [STANDARD.trainImages]: f.trainImages.subarray(0, f.trainImages.length - 7),
      [STANDARD.trainLabels]: f.trainLabels,
      [STANDARD.testImages]: f.testImages,
      [STANDARD.testLabels]: f.testLabels,
    });
    await expectDatasetError(
      dir,
      'TRUNCATED',
      /train-images-idx3-ubyte: truncated: header says 30 x 4 x 3 = 360 data bytes but only 353/,
    );
  });

  it('truncated gzip stream -> BAD_GZIP', async () => {
    const f = tinyDatasetFiles();
    const gz = gzipSync(f.testImages);
    const dir = writeDataset({
      [STANDARD.trainImages]: f.trainImages,
      [STANDARD.trainLabels]: f.trainLabels,
      [`${STANDARD.testImages}.gz`]: gz.subarray(0, gz.length - 12),
      [STANDARD.testLabels]: f.testLabels,
    });
    await expectDatasetError(dir, 'BAD_GZIP', /t10k-images-idx3-ubyte\.gz: cannot decompress/);
  });

  it('wrong magic number -> BAD_MAGIC', async () => {
    const f = tinyDatasetFiles();
    const dir = writeDataset({
      [STANDARD.trainImages]: f.trainImages,
      [STANDARD.trainLabels]: f.trainImages, // an images file where labels belong
      [STANDARD.testImages]: f.testImages,
      [STANDARD.testLabels]: f.testLabels,
    });
    await expectDatasetError(
      dir,
      'BAD_MAGIC',
      /train-labels-idx1-ubyte: wrong magic number 2051 .*expected 2049/,
    );
  });

  it('an HTML page saved under the IDX name -> BAD_MAGIC', async () => {
    const f = tinyDatasetFiles();
    const dir = writeDataset({
      [STANDARD.trainImages]: new TextEncoder().encode('<!DOCTYPE html><html>Not Found</html>'),
      [STANDARD.trainLabels]: f.trainLabels,
      [STANDARD.testImages]: f.testImages,
      [STANDARD.testLabels]: f.testLabels,
    });
    await expectDatasetError(dir, 'BAD_MAGIC', /Is this an IDX file\?/);
  });

  it('label count != image count -> COUNT_MISMATCH', async () => {
    const f = tinyDatasetFiles();
    const dir = writeDataset({
      [STANDARD.trainImages]: f.trainImages,
      [STANDARD.trainLabels]: idx(2049, [29], new Uint8Array(29)),
      [STANDARD.testImages]: f.testImages,
      [STANDARD.testLabels]: f.testLabels,
    });
    await expectDatasetError(
      dir,
      'COUNT_MISMATCH',
      /train-labels-idx1-ubyte has 29 labels but train-images-idx3-ubyte has 30 images/,
    );
  });

  it('bytes after the declared data -> TRAILING_BYTES', async () => {
    const f = tinyDatasetFiles();
    const dir = writeDataset({
      [STANDARD.trainImages]: f.trainImages,
      [STANDARD.trainLabels]: f.trainLabels,
      [STANDARD.testImages]: f.testImages,
      [STANDARD.testLabels]: Buffer.concat([f.testLabels, Buffer.from([1, 2])]),
    });
    await expectDatasetError(dir, 'TRAILING_BYTES', /t10k-labels-idx1-ubyte: 2 unexpected bytes/);
  });

  it('train and test image sizes differ -> DIM_MISMATCH', async () => {
    const f = tinyDatasetFiles();
    const dir = writeDataset({
      [STANDARD.trainImages]: f.trainImages,
      [STANDARD.trainLabels]: f.trainLabels,
      [STANDARD.testImages]: idx(2051, [10, 3, 4], new Uint8Array(120)),
      [STANDARD.testLabels]: f.testLabels,
    });
    await expectDatasetError(dir, 'DIM_MISMATCH', /3 x 4 but .* are 4 x 3/);
  });

  it('malformed SHA256SUMS -> BAD_CHECKSUMS_FILE', async () => {
    const dir = tinyDatasetDir();
    writeFileSync(path.join(dir, 'SHA256SUMS'), `${sha256(new Uint8Array(1))}  a\nnot a checksum line\n`);
    await expectDatasetError(dir, 'BAD_CHECKSUMS_FILE', /line 2/);
  });
});
