import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

/** The project's MNIST copy. */
export const MNIST_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../data/mnist');

export function idx(magic: number, dims: number[], data: Uint8Array): Uint8Array {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header.writeUInt32BE(magic, 0);
  dims.forEach((d, i) => {
    header.writeUInt32BE(d, 4 + 4 * i);
  });
  return Buffer.concat([header, data]);
}

export const STANDARD = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

/** Files of a tiny, valid IDX dataset (train 30 / test 10 images of 4 x 3 pixels, 3 classes). */
export function tinyDatasetFiles(): Record<keyof typeof STANDARD, Uint8Array> {
  const img = (n: number) => Uint8Array.from({ length: n * 12 }, (_, i) => (i * 37) % 256);
  const lab = (n: number) => Uint8Array.from({ length: n }, (_, i) => i % 3);
  return {
    trainImages: idx(2051, [30, 4, 3], img(30)),
    trainLabels: idx(2049, [30], lab(30)),
    testImages: idx(2051, [10, 4, 3], img(10)),
    testLabels: idx(2049, [10], lab(10)),
  };
}

export function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

/**
 * Write a dataset directory: `files` maps file names to contents; `sums: true` writes a SHA256SUMS
 * for them (before any corruption applied by the caller).
 */
export function writeDataset(files: Record<string, Uint8Array>, opts: { sums?: boolean } = {}): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'kpfl-model-ds-'));
  for (const [name, data] of Object.entries(files)) writeFileSync(path.join(dir, name), data);
  if (opts.sums) {
    const lines = Object.entries(files).map(([name, data]) => `${sha256(data)}  ${name}\n`);
    writeFileSync(path.join(dir, 'SHA256SUMS'), lines.join(''));
  }
  return dir;
}

/** The tiny dataset under standard names, gzipped when `gz`. */
export function tinyDatasetDir(opts: { gz?: boolean; sums?: boolean } = {}): string {
  const f = tinyDatasetFiles();
  const files: Record<string, Uint8Array> = {};
  for (const key of Object.keys(STANDARD) as (keyof typeof STANDARD)[]) {
    files[STANDARD[key] + (opts.gz ? '.gz' : '')] = opts.gz ? gzipSync(f[key]) : f[key];
  }
  return writeDataset(files, opts);
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
