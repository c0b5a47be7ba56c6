import {
  dataCommitment,
  type ImageDataset,
  loadIdxDataset,
  ModelConfigError,
  type PartitionSpec,
  partition,
} from '@kpfl/model';

/** What a participant trains and evaluates on: its own examples, by index into the dataset arrays. */
export interface LocalData {
  trainImages: Uint8Array;
  trainLabels: Uint8Array;
  trainIndices: number[];
  testImages: Uint8Array;
  testLabels: Uint8Array;
  pixels: number;
  /** Digest of the manifest of the data used (file digests + indices): goes into every attestation. */
  commitment: string;
}

export interface LocalDataOptions {
  dir: string;
  /** Simulation only: carve client `clientIndex` of `clients` out of one shared dataset. */
  slice?: { spec: PartitionSpec; clients: number; clientIndex: number; seed: number };
  /** Evaluate on at most this many test examples (default: the whole local test split). */
  testLimit?: number;
}

export async function loadLocalData(o: LocalDataOptions): Promise<LocalData> {
  const ds: ImageDataset = await loadIdxDataset(o.dir);
  const pixels = ds.rows * ds.cols;
  let trainIndices = Array.from({ length: ds.trainLabels.length }, (_, i) => i);
  let testImages = ds.testImages;
  let testLabels = ds.testLabels;
  if (o.slice) {
    const { spec, clients, clientIndex, seed } = o.slice;
    if (!(clientIndex >= 0 && clientIndex < clients))
      throw new ModelConfigError('BAD_CLIENTS', `client index ${clientIndex} is outside 0..${clients - 1}`);
    trainIndices = partition(ds.trainLabels, clients, spec, seed)[clientIndex]!;
    // The local test split: an IID share of the test set, so the mean over clients is the global test accuracy.
    const testIdx = partition(ds.testLabels, clients, { kind: 'iid' }, seed + 1)[clientIndex]!;
    ({ images: testImages, labels: testLabels } = gather(ds.testImages, ds.testLabels, testIdx, pixels));
  }
  if (o.testLimit && testLabels.length > o.testLimit) {
    testImages = testImages.subarray(0, o.testLimit * pixels);
    testLabels = testLabels.subarray(0, o.testLimit);
  }
  return {
    trainImages: ds.trainImages,
    trainLabels: ds.trainLabels,
    trainIndices,
    testImages,
    testLabels,
    pixels,
    commitment: dataCommitment(ds, trainIndices),
  };
}

function gather(images: Uint8Array, labels: Uint8Array, idx: number[], pixels: number) {
  const outImages = new Uint8Array(idx.length * pixels);
  const outLabels = new Uint8Array(idx.length);
  idx.forEach((j, i) => {
    outImages.set(images.subarray(j * pixels, (j + 1) * pixels), i * pixels);
    outLabels[i] = labels[j]!;
  });
  return { images: outImages, labels: outLabels };
}
