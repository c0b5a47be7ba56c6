import { stat } from 'node:fs/promises';
import path from 'node:path';
import {
  DatasetError,
  dataCommitment,
  type Features,
  loadCsvDataset,
  loadIdxDataset,
  loadImageFolder,
  ModelConfigError,
  type PartitionSpec,
  partition,
  standardization,
  standardize,
} from '@kpfl/model';

/** What a participant trains and evaluates on: its own examples, by index into the dataset arrays. */
export interface LocalData {
  /** `perExample` values per example, concatenated: uint8 pixels (scaled by the trainer) or float32 columns. */
  trainFeatures: Features;
  trainLabels: Uint8Array;
  trainIndices: number[];
  testFeatures: Features;
  testLabels: Uint8Array;
  perExample: number;
  /** Digest of the manifest of the data used (file digests + indices): goes into every attestation. */
  commitment: string;
}

/** idx: the four MNIST-style IDX files; csv: numeric columns + a label; images: one folder per class. */
export const DATA_FORMATS = ['idx', 'csv', 'images'] as const;
export type DataFormat = (typeof DATA_FORMATS)[number];

export interface CsvDataOptions {
  /** Default: the last column. */
  labelColumn?: string;
  /** Default: every column but the label. */
  featureColumns?: string[];
  /** Class labels in class-id order; give them when a member's file may lack a class. */
  classes?: string[];
  /**
   * local (default): z-scores with the mean and deviation of this member's own training rows,
   * which never leave it. none: the values as written (when the columns share a scale already,
   * or when members' data differ so much that their own statistics would disagree).
   */
  standardize?: 'local' | 'none';
}

export interface LocalDataOptions {
  /**
   * idx: the directory of the four IDX files. csv: a CSV file, or a directory holding train.csv
   * and optionally test.csv. images: a directory of class folders (or of train/ and test/ ones).
   */
  dir: string;
  /** Default 'idx'. */
  format?: DataFormat;
  csv?: CsvDataOptions;
  /** images: every image is resized to this; channels 1 (grayscale, default) or 3. */
  images?: { rows: number; cols: number; channels?: number };
  /** Simulation only: carve client `clientIndex` of `clients` out of one shared dataset. */
  slice?: { spec: PartitionSpec; clients: number; clientIndex: number; seed: number };
  /** Evaluate on at most this many test examples (default: the whole local test split). */
  testLimit?: number;
}

/** One dataset in the layout every format loads into. */
interface Loaded {
  trainFeatures: Features;
  trainLabels: Uint8Array;
  testFeatures: Features;
  testLabels: Uint8Array;
  perExample: number;
  manifestDigest: string;
  files: { name: string; sha256: string }[];
}

export async function loadLocalData(o: LocalDataOptions): Promise<LocalData> {
  const ds = await loadFormat(o);
  const n = ds.perExample;
  let trainIndices = Array.from({ length: ds.trainLabels.length }, (_, i) => i);
  let testFeatures = ds.testFeatures;
  let testLabels = ds.testLabels;
  if (o.slice) {
    const { spec, clients, clientIndex, seed } = o.slice;
    if (!(clientIndex >= 0 && clientIndex < clients))
      throw new ModelConfigError('BAD_CLIENTS', `client index ${clientIndex} is outside 0..${clients - 1}`);
    trainIndices = partition(ds.trainLabels, clients, spec, seed)[clientIndex]!;
    // The local test split: an IID share of the test set, so the mean over clients is the global test accuracy.
    const testIdx = partition(ds.testLabels, clients, { kind: 'iid' }, seed + 1)[clientIndex]!;
    ({ features: testFeatures, labels: testLabels } = gather(ds.testFeatures, ds.testLabels, testIdx, n));
  }
  if (o.testLimit && testLabels.length > o.testLimit) {
    testFeatures = testFeatures.subarray(0, o.testLimit * n);
    testLabels = testLabels.subarray(0, o.testLimit);
  }
  let trainFeatures = ds.trainFeatures;
  if (o.format === 'csv' && (o.csv?.standardize ?? 'local') === 'local') {
    // Statistics of this member's own training rows: computed here, applied to its train and test rows.
    const s = standardization(trainFeatures as Float32Array, n, trainIndices);
    trainFeatures = standardize(trainFeatures as Float32Array, n, s);
    testFeatures = standardize(testFeatures as Float32Array, n, s);
  }
  return {
    trainFeatures,
    trainLabels: ds.trainLabels,
    trainIndices,
    testFeatures,
    testLabels,
    perExample: n,
    commitment: dataCommitment(ds, trainIndices),
  };
}

async function loadFormat(o: LocalDataOptions): Promise<Loaded> {
  const format = o.format ?? 'idx';
  switch (format) {
    case 'idx': {
      const ds = await loadIdxDataset(o.dir);
      return {
        trainFeatures: ds.trainImages,
        trainLabels: ds.trainLabels,
        testFeatures: ds.testImages,
        testLabels: ds.testLabels,
        perExample: ds.rows * ds.cols,
        manifestDigest: ds.manifestDigest,
        files: ds.files,
      };
    }
    case 'images': {
      if (!o.images)
        throw new DatasetError('BAD_OPTIONS', 'the images format needs an image size (rows x cols)');
      const { rows, cols, channels } = o.images;
      const ds = await loadImageFolder(o.dir, { size: { rows, cols }, channels, seed: o.slice?.seed });
      return {
        trainFeatures: ds.trainImages,
        trainLabels: ds.trainLabels,
        testFeatures: ds.testImages,
        testLabels: ds.testLabels,
        perExample: ds.rows * ds.cols * ds.channels,
        manifestDigest: ds.manifestDigest,
        files: ds.files,
      };
    }
    case 'csv': {
      const isDir = (await stat(o.dir).catch(() => undefined))?.isDirectory() ?? false;
      const train = isDir ? path.join(o.dir, 'train.csv') : o.dir;
      const testFile = isDir ? path.join(o.dir, 'test.csv') : undefined;
      const hasTest = testFile !== undefined && (await stat(testFile).catch(() => undefined))?.isFile();
      const ds = await loadCsvDataset({
        train,
        test: hasTest ? testFile : undefined,
        labelColumn: o.csv?.labelColumn,
        featureColumns: o.csv?.featureColumns,
        classes: o.csv?.classes,
        seed: o.slice?.seed,
      });
      return {
        trainFeatures: ds.trainFeatures,
        trainLabels: ds.trainLabels,
        testFeatures: ds.testFeatures,
        testLabels: ds.testLabels,
        perExample: ds.features,
        manifestDigest: ds.manifestDigest,
        files: ds.files,
      };
    }
    default:
      throw new DatasetError(
        'BAD_OPTIONS',
        `unknown data format '${format as string}'; expected ${DATA_FORMATS.join(', ')}`,
      );
  }
}

function gather(features: Features, labels: Uint8Array, idx: number[], n: number) {
  const out = new (features.constructor as Uint8ArrayConstructor | Float32ArrayConstructor)(idx.length * n);
  const outLabels = new Uint8Array(idx.length);
  idx.forEach((j, i) => {
    out.set(features.subarray(j * n, (j + 1) * n), i * n);
    outLabels[i] = labels[j]!;
  });
  return { features: out as Features, labels: outLabels };
}
