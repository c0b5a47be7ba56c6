import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import type { ImageDataset } from './dataset.js';
import { DatasetError } from './errors.js';
import { Rng } from './rng.js';

/**
 * Images read from class folders, in the layout the trainer uses: row-major uint8, `channels`
 * values per pixel (HWC), `rows * cols * channels` bytes per image, concatenated.
 * With channels 1 this is the IDX layout, so the 'mlp' and 'cnn' models take 28x28 grayscale.
 * `manifestDigest` covers every file's digest and the loading options; `files` lists every image
 * read, as 'train/<class>/<file>' or '<class>/<file>', in load order.
 */
export interface ImageFolderDataset extends ImageDataset {
  channels: 1 | 3;
  /** Class id -> folder name. */
  classes: string[];
}

export interface ImageFolderOptions {
  /** Every image is resized to this many rows (height) and columns (width). */
  size: { rows: number; cols: number };
  /** 1 = grayscale (ITU-R BT.601 luma), 3 = RGB. Default 1. */
  channels?: number;
  /** Without train/ and test/ subfolders: this fraction of each class, chosen with `seed`, is the test split (default 0.2). */
  testFraction?: number;
  seed?: number;
}

const EXTENSIONS = new Set(['.png', '.jpg', '.jpeg']);
/** Images larger than this are refused rather than decoded (a decompression bomb, or the wrong folder). */
const MAX_MEGAPIXELS = 50;

async function isDir(p: string): Promise<boolean> {
  return (await stat(p).catch(() => undefined))?.isDirectory() ?? false;
}

/** Visible entries of a directory, sorted by name (byte order, the same on every machine). */
async function entries(dir: string): Promise<{ name: string; dir: boolean }[]> {
  const list = await readdir(dir, { withFileTypes: true });
  return list
    .filter((e) => !e.name.startsWith('.'))
    .map((e) => ({ name: e.name, dir: e.isDirectory() }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Class folders of `dir` and their image files. */
async function classFolders(dir: string): Promise<{ name: string; files: string[] }[]> {
  const out: { name: string; files: string[] }[] = [];
  for (const e of await entries(dir)) {
    if (!e.dir) continue;
    const files: string[] = [];
    for (const f of await entries(path.join(dir, e.name))) {
      const rel = path.join(e.name, f.name);
      if (f.dir || !EXTENSIONS.has(path.extname(f.name).toLowerCase())) {
        throw new DatasetError(
          'NOT_AN_IMAGE',
          `${path.join(dir, rel)} is not a .png, .jpg or .jpeg file; a class folder holds only images`,
          rel,
        );
      }
      files.push(f.name);
    }
    out.push({ name: e.name, files });
  }
  return out;
}

/** Decode a PNG or JPEG (by its signature, not its name) to RGBA. */
function decode(bytes: Buffer, name: string): { width: number; height: number; rgba: Uint8Array } {
  const isPng = bytes.length >= 8 && bytes.readUInt32BE(0) === 0x89504e47;
  const isJpeg = bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
  if (!isPng && !isJpeg) {
    throw new DatasetError(
      'NOT_AN_IMAGE',
      `${name} is neither a PNG nor a JPEG (its first bytes say otherwise)`,
      name,
    );
  }
  try {
    if (isPng) {
      const png = PNG.sync.read(bytes);
      if (png.width * png.height > MAX_MEGAPIXELS * 1e6)
        throw new Error(`larger than ${MAX_MEGAPIXELS} megapixels`);
      return { width: png.width, height: png.height, rgba: png.data };
    }
    const img = jpeg.decode(bytes, {
      useTArray: true,
      formatAsRGBA: true,
      maxResolutionInMP: MAX_MEGAPIXELS,
    });
    return { width: img.width, height: img.height, rgba: img.data };
  } catch (e) {
    throw new DatasetError(
      'NOT_AN_IMAGE',
      `${name}: corrupt ${isPng ? 'PNG' : 'JPEG'}: ${(e as Error).message}`,
      name,
    );
  }
}

/**
 * Bilinear resize of RGBA to `rows x cols` with `channels` out (half-pixel centres, as
 * tf.image.resizeBilinear with halfPixelCenters), rounded to uint8. Plain JavaScript so every
 * machine gets the same bytes; grayscale is BT.601 luma 0.299 R + 0.587 G + 0.114 B (alpha ignored).
 */
export function resizeToUint8(
  src: { width: number; height: number; rgba: Uint8Array },
  rows: number,
  cols: number,
  channels: 1 | 3,
  out: Uint8Array,
  offset: number,
): void {
  const { width: w, height: h, rgba } = src;
  const px = (x: number, y: number, c: number) => rgba[(y * w + x) * 4 + c];
  for (let r = 0; r < rows; r++) {
    const sy = Math.min(h - 1, Math.max(0, ((r + 0.5) * h) / rows - 0.5));
    const y0 = Math.floor(sy);
    const y1 = Math.min(h - 1, y0 + 1);
    const fy = sy - y0;
    for (let c = 0; c < cols; c++) {
      const sx = Math.min(w - 1, Math.max(0, ((c + 0.5) * w) / cols - 0.5));
      const x0 = Math.floor(sx);
      const x1 = Math.min(w - 1, x0 + 1);
      const fx = sx - x0;
      const rgb = [0, 1, 2].map((k) => {
        const top = px(x0, y0, k) * (1 - fx) + px(x1, y0, k) * fx;
        const bottom = px(x0, y1, k) * (1 - fx) + px(x1, y1, k) * fx;
        return top * (1 - fy) + bottom * fy;
      });
      const at = offset + (r * cols + c) * channels;
      if (channels === 1) out[at] = Math.round(0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]);
      else for (let k = 0; k < 3; k++) out[at + k] = Math.round(rgb[k]);
    }
  }
}

function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

/**
 * Load `<dir>/<class>/*.png|jpg|jpeg`, or `<dir>/train/<class>/...` and `<dir>/test/<class>/...`.
 * Classes are the folder names in sorted order (the test split's must be among the train split's).
 * Problems throw DatasetError naming the file: NOT_A_DIRECTORY, NO_CLASS_FOLDERS, NOT_AN_IMAGE
 * (another kind of file, or a corrupt image), FEW_CLASSES, BAD_OPTIONS.
 */
export async function loadImageFolder(dir: string, o: ImageFolderOptions): Promise<ImageFolderDataset> {
  const { rows, cols } = o.size;
  const channels = o.channels ?? 1;
  const testFraction = o.testFraction ?? 0.2;
  const seed = o.seed ?? 1;
  for (const [k, v] of [
    ['rows', rows],
    ['cols', cols],
  ] as const) {
    if (!Number.isInteger(v) || v < 1 || v > 4096)
      throw new DatasetError('BAD_OPTIONS', `image size ${k} must be an integer 1..4096, got ${v}`);
  }
  if (channels !== 1 && channels !== 3) {
    throw new DatasetError('BAD_OPTIONS', `channels must be 1 (grayscale) or 3 (RGB), got ${channels}`);
  }
  const abs = path.resolve(dir);
  if (!(await isDir(abs))) {
    throw new DatasetError('NOT_A_DIRECTORY', `image folder ${abs} does not exist or is not a directory`);
  }
  const split = (await isDir(path.join(abs, 'train'))) && (await isDir(path.join(abs, 'test')));
  const trainRoot = split ? path.join(abs, 'train') : abs;
  const trainClasses = await classFolders(trainRoot);
  const classes = trainClasses.filter((c) => c.files.length > 0).map((c) => c.name);
  if (classes.length === 0) {
    throw new DatasetError(
      'NO_CLASS_FOLDERS',
      `${trainRoot} has no class folders with images; expected <class>/<image>.png|jpg (one folder per class)`,
    );
  }
  if (classes.length < 2) {
    throw new DatasetError(
      'FEW_CLASSES',
      `${trainRoot} has one class folder (${classes[0]}); a classifier needs at least 2`,
    );
  }
  if (classes.length > 256) {
    throw new DatasetError(
      'TOO_MANY_CLASSES',
      `${trainRoot} has ${classes.length} class folders; at most 256 are supported`,
    );
  }
  const classId = new Map(classes.map((c, i) => [c, i]));

  // [relative name, absolute path, class id] of every image, train then test.
  type Item = { name: string; file: string; label: number };
  let train: Item[] = [];
  let test: Item[] = [];
  const items = (root: string, prefix: string, folders: { name: string; files: string[] }[]) =>
    folders.flatMap((c) =>
      c.files.map((f) => {
        const label = classId.get(c.name);
        if (label === undefined) {
          throw new DatasetError(
            'UNKNOWN_LABEL',
            `${path.join(root, c.name)}: class folder '${c.name}' has no counterpart in ${trainRoot} (classes: ${classes.join(', ')})`,
          );
        }
        return { name: path.posix.join(prefix, c.name, f), file: path.join(root, c.name, f), label };
      }),
    );
  if (split) {
    train = items(trainRoot, 'train', trainClasses);
    const testRoot = path.join(abs, 'test');
    test = items(
      testRoot,
      'test',
      (await classFolders(testRoot)).filter((c) => c.files.length > 0),
    );
  } else {
    if (!(testFraction > 0 && testFraction < 1))
      throw new DatasetError(
        'BAD_OPTIONS',
        `testFraction must be between 0 and 1 (exclusive), got ${testFraction}`,
      );
    // Per class, so every class with 2+ images is in both splits.
    for (const c of trainClasses.filter((f) => f.files.length > 0)) {
      const all = items(abs, '', [c]);
      const order = new Rng(seed, 0x1f0, classId.get(c.name)!).shuffle(Int32Array.from(all, (_, i) => i));
      const nTest = all.length < 2 ? 0 : Math.max(1, Math.round(all.length * testFraction));
      const testSet = new Set(order.subarray(0, nTest));
      all.forEach((it, i) => {
        (testSet.has(i) ? test : train).push(it);
      });
    }
  }

  const per = rows * cols * channels;
  const files: { name: string; sha256: string }[] = [];
  const load = async (list: Item[]) => {
    const images = new Uint8Array(list.length * per);
    for (let i = 0; i < list.length; i++) {
      const bytes = await readFile(list[i].file);
      files.push({ name: list[i].name, sha256: sha256(bytes) });
      resizeToUint8(decode(bytes, list[i].file), rows, cols, channels, images, i * per);
    }
    return { images, labels: Uint8Array.from(list, (it) => it.label) };
  };
  const tr = await load(train);
  const te = await load(test);
  const manifest = JSON.stringify({
    format: 'kpfl-image-folder/1',
    files,
    options: { rows, cols, channels, classes, split: split ? 'folders' : { testFraction, seed } },
  });
  return {
    trainImages: tr.images,
    trainLabels: tr.labels,
    testImages: te.images,
    testLabels: te.labels,
    rows,
    cols,
    channels,
    classes,
    numClasses: classes.length,
    manifestDigest: `sha256:${createHash('sha256').update(manifest).digest('hex')}`,
    files,
  };
}
