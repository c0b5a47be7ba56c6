import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { gunzip as gunzipCb } from 'node:zlib';
import { DatasetError } from './errors.js';

const gunzip = promisify(gunzipCb);

/**
 * An image classification dataset held in memory. Images are row-major uint8 pixels,
 * `rows * cols` bytes per image, concatenated; labels are uint8 class ids.
 * Treat the arrays as read-only: loadIdxDataset caches and shares them.
 */
export interface ImageDataset {
  trainImages: Uint8Array;
  trainLabels: Uint8Array;
  testImages: Uint8Array;
  testLabels: Uint8Array;
  rows: number;
  cols: number;
  numClasses: number;
  /** 'sha256:' digest of the canonical manifest of `files` (see manifestDigest()). */
  manifestDigest: string;
  /** The files the dataset was read from, as stored (e.g. gzipped), in the order train images, train labels, test images, test labels. */
  files: { name: string; sha256: string }[];
}

type Role = 'trainImages' | 'trainLabels' | 'testImages' | 'testLabels';

const ROLES: { role: Role; bases: string[]; dims: 1 | 3 }[] = [
  { role: 'trainImages', bases: ['train-images-idx3-ubyte', 'train-images.idx3-ubyte'], dims: 3 },
  { role: 'trainLabels', bases: ['train-labels-idx1-ubyte', 'train-labels.idx1-ubyte'], dims: 1 },
  { role: 'testImages', bases: ['t10k-images-idx3-ubyte', 't10k-images.idx3-ubyte'], dims: 3 },
  { role: 'testLabels', bases: ['t10k-labels-idx1-ubyte', 't10k-labels.idx1-ubyte'], dims: 1 },
];

/** 'sha256:' + hex digest of the canonical JSON manifest of a dataset's files. */
export function manifestDigest(files: { name: string; sha256: string }[]): string {
  const manifest = JSON.stringify({
    format: 'kpfl-dataset-manifest/1',
    files: files.map((f) => ({ name: f.name, sha256: f.sha256 })),
  });
  return `sha256:${createHash('sha256').update(manifest).digest('hex')}`;
}

/**
 * Commitment to the exact examples a participant trains on: 'sha256:' digest of a manifest of
 * the dataset's file digests plus the sorted example indices.
 */
export function dataCommitment(
  ds: Pick<ImageDataset, 'manifestDigest' | 'files'>,
  indices: number[],
): string {
  const sorted = Int32Array.from(indices).sort();
  const h = createHash('sha256');
  h.update(
    JSON.stringify({
      format: 'kpfl-data-commitment/1',
      dataset: ds.manifestDigest,
      files: ds.files.map((f) => ({ name: f.name, sha256: f.sha256 })),
      count: sorted.length,
    }),
  );
  h.update('\n');
  h.update(Array.prototype.join.call(sorted, ','));
  return `sha256:${h.digest('hex')}`;
}

async function readChecksums(dir: string): Promise<Map<string, string> | undefined> {
  const file = path.join(dir, 'SHA256SUMS');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  const sums = new Map<string, string>();
  text.split(/\r?\n/).forEach((line, i) => {
    const t = line.trim();
    if (t === '' || t.startsWith('#')) return;
    const m = /^([0-9a-fA-F]{64})\s+\*?(.+)$/.exec(t);
    if (!m) {
      throw new DatasetError(
        'BAD_CHECKSUMS_FILE',
        `${file} line ${i + 1} is not '<64 hex digits>  <file name>': ${JSON.stringify(t.slice(0, 80))}`,
        'SHA256SUMS',
      );
    }
    sums.set(path.basename(m[2].trim()), m[1].toLowerCase());
  });
  return sums;
}

async function existingFile(p: string): Promise<{ size: number; mtimeMs: number } | undefined> {
  try {
    const s = await stat(p);
    return s.isFile() ? { size: s.size, mtimeMs: s.mtimeMs } : undefined;
  } catch {
    return undefined;
  }
}

interface Parsed {
  dims: number[];
  data: Uint8Array;
}

function parseIdx(name: string, bytes: Uint8Array, dims: 1 | 3): Parsed {
  const expectedMagic = 0x800 + dims;
  const kind = dims === 3 ? 'images (idx3)' : 'labels (idx1)';
  if (bytes.length < 4) {
    throw new DatasetError(
      'TRUNCATED',
      `${name}: truncated: ${bytes.length} bytes, too short for an IDX header`,
      name,
    );
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = dv.getUint32(0, false);
  if (magic !== expectedMagic) {
    throw new DatasetError(
      'BAD_MAGIC',
      `${name}: wrong magic number ${magic} (0x${magic.toString(16).padStart(8, '0')}); expected ${expectedMagic} (0x${expectedMagic.toString(16).padStart(8, '0')}) for IDX unsigned-byte ${kind}. Is this an IDX file?`,
      name,
    );
  }
  const header = 4 + 4 * dims;
  if (bytes.length < header) {
    throw new DatasetError(
      'TRUNCATED',
      `${name}: truncated inside the IDX header (${bytes.length} bytes)`,
      name,
    );
  }
  const shape: number[] = [];
  for (let i = 0; i < dims; i++) shape.push(dv.getUint32(4 + 4 * i, false));
  const expected = shape.reduce((a, b) => a * b, 1);
  const actual = bytes.length - header;
  if (actual < expected) {
    throw new DatasetError(
      'TRUNCATED',
      `${name}: truncated: header says ${shape.join(' x ')} = ${expected} data bytes but only ${actual} are present`,
      name,
    );
  }
  if (actual > expected) {
    throw new DatasetError(
      'TRAILING_BYTES',
      `${name}: ${actual - expected} unexpected bytes after the ${shape.join(' x ')} data the header declares`,
      name,
    );
  }
  return { dims: shape, data: bytes.subarray(header) };
}

const cache = new Map<string, Promise<ImageDataset>>();

/**
 * Load an MNIST-style IDX dataset from `dir`: the four standard files
 * train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte,
 * each raw or gzipped (.gz). When `dir/SHA256SUMS` exists every file used must be listed there and
 * match (unless `verify: false`). Structure (magic numbers, dimensions, counts) is always checked.
 * Problems throw DatasetError with a stable `code`.
 *
 * Results are cached in memory per directory, keyed by the files' sizes and modification times,
 * so loading again in the same process is instant (`cache: false` to bypass).
 */
export async function loadIdxDataset(
  dir: string,
  opts: { verify?: boolean; cache?: boolean } = {},
): Promise<ImageDataset> {
  const verify = opts.verify ?? true;
  const abs = path.resolve(dir);
  const dirStat = await stat(abs).catch(() => undefined);
  if (!dirStat?.isDirectory()) {
    throw new DatasetError(
      'NOT_A_DIRECTORY',
      `dataset directory ${abs} does not exist or is not a directory`,
    );
  }
  const sums = verify ? await readChecksums(abs) : undefined;

  // Choose one file per role.
  const chosen: { role: Role; name: string; dims: 1 | 3; size: number; mtimeMs: number }[] = [];
  for (const r of ROLES) {
    const candidates: { name: string; size: number; mtimeMs: number }[] = [];
    for (const base of r.bases) {
      for (const name of [base, `${base}.gz`]) {
        const s = await existingFile(path.join(abs, name));
        if (s) candidates.push({ name, ...s });
      }
    }
    if (candidates.length === 0) {
      throw new DatasetError(
        'MISSING_FILE',
        `dataset directory ${abs} is missing ${r.bases[0]} (or ${r.bases[0]}.gz)`,
        r.bases[0],
      );
    }
    let pick = candidates[0];
    if (sums) {
      const listed = candidates.find((c) => sums.has(c.name));
      if (!listed) {
        throw new DatasetError(
          'NOT_IN_CHECKSUMS',
          `${candidates[0].name} is not listed in ${path.join(abs, 'SHA256SUMS')}; add it or load with verify: false`,
          candidates[0].name,
        );
      }
      pick = listed;
    }
    chosen.push({ role: r.role, name: pick.name, dims: r.dims, size: pick.size, mtimeMs: pick.mtimeMs });
  }

  const key = JSON.stringify([abs, verify, sums ? [...sums] : null, chosen]);
  if (opts.cache !== false) {
    const hit = cache.get(key);
    if (hit) return hit;
  }
  const promise = readDataset(abs, chosen, sums);
  if (opts.cache !== false) {
    cache.set(key, promise);
    promise.catch(() => cache.delete(key));
  }
  return promise;
}

async function readDataset(
  abs: string,
  chosen: { role: Role; name: string; dims: 1 | 3 }[],
  sums: Map<string, string> | undefined,
): Promise<ImageDataset> {
  // The files load concurrently, but a problem is reported for the first file in order, whichever
  // read finished first: the same broken directory always gets the same message.
  const settled = await Promise.allSettled(
    chosen.map(async (c) => {
      const raw = await readFile(path.join(abs, c.name));
      const sha256 = createHash('sha256').update(raw).digest('hex');
      const want = sums?.get(c.name);
      if (want !== undefined && want !== sha256) {
        throw new DatasetError(
          'CHECKSUM_MISMATCH',
          `${c.name}: SHA-256 ${sha256} does not match ${want} listed in SHA256SUMS (corrupt or replaced file)`,
          c.name,
        );
      }
      let bytes: Uint8Array = raw;
      if (raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b) {
        try {
          bytes = await gunzip(raw);
        } catch (e) {
          throw new DatasetError('BAD_GZIP', `${c.name}: cannot decompress: ${(e as Error).message}`, c.name);
        }
      }
      bytes = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      return { ...c, sha256, parsed: parseIdx(c.name, bytes, c.dims) };
    }),
  );
  const failed = settled.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  const loaded = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const by = (role: Role) => loaded.find((l) => l.role === role)!;
  const trI = by('trainImages');
  const trL = by('trainLabels');
  const teI = by('testImages');
  const teL = by('testLabels');
  for (const [img, lab] of [
    [trI, trL],
    [teI, teL],
  ] as const) {
    if (img.parsed.dims[0] !== lab.parsed.dims[0]) {
      throw new DatasetError(
        'COUNT_MISMATCH',
        `${lab.name} has ${lab.parsed.dims[0]} labels but ${img.name} has ${img.parsed.dims[0]} images`,
        lab.name,
      );
    }
  }
  const [, rows, cols] = trI.parsed.dims;
  if (teI.parsed.dims[1] !== rows || teI.parsed.dims[2] !== cols) {
    throw new DatasetError(
      'DIM_MISMATCH',
      `${teI.name} images are ${teI.parsed.dims[1]} x ${teI.parsed.dims[2]} but ${trI.name} images are ${rows} x ${cols}`,
      teI.name,
    );
  }
  let maxLabel = 0;
  for (const l of [trL, teL]) for (const v of l.parsed.data) if (v > maxLabel) maxLabel = v;
  const files = loaded.map((l) => ({ name: l.name, sha256: l.sha256 }));
  return {
    trainImages: trI.parsed.data,
    trainLabels: trL.parsed.data,
    testImages: teI.parsed.data,
    testLabels: teL.parsed.data,
    rows,
    cols,
    numClasses: maxLabel + 1,
    manifestDigest: manifestDigest(files),
    files,
  };
}
