import * as tf from '@tensorflow/tfjs';
import { ensureBackend } from './backend.js';
import {
  checkModelMatchesDefinition,
  getFlatWeights,
  getModelDefinition,
  type ModelDefinition,
  type ModelId,
  parameterCount,
  setFlatWeights,
} from './models.js';
import { Rng } from './rng.js';

export interface TrainConfig {
  model: ModelId;
  epochs: number;
  batchSize: number;
  /** Client SGD learning rate. */
  lr: number;
  seed: number;
  /** FedProx proximal term mu/2 * ||w - w_global||^2 (Li et al. 2020); 0 or absent = off (plain FedAvg). */
  proxMu?: number;
  /** Train on at most this many of the given examples (a seeded random subset). */
  maxExamples?: number;
}

export interface TrainResult {
  weights: Float32Array;
  /** Examples used per epoch: the n_k to weight this client's update by. */
  examples: number;
  /** Mean cross-entropy over the last epoch's batches (the proximal term excluded). */
  loss: number;
  seconds: number;
}

/**
 * An example's features, `perExample` values each, concatenated. uint8 values are pixels and are
 * scaled v -> v / 255; float32 values (e.g. standardised CSV columns) are used as they are.
 */
export type Features = Uint8Array | Float32Array;

/** Pixel value v (0..255) -> v / 255 as float32: a table keeps it exact and identical everywhere. */
const SCALE = Float32Array.from({ length: 256 }, (_, v) => v / 255);

/** Yield to the event loop at least this often during training, so gRPC keepalives etc. still run. */
const YIELD_MS = 50;

function size(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function checkInputs(
  def: ModelDefinition,
  weights: Float32Array,
  images: Features,
  labels: Uint8Array,
  pixels: number,
): void {
  const want = parameterCount(def.name);
  if (weights.length !== want) {
    throw new Error(`model ${def.name} has ${want} parameters but the weight vector has ${weights.length}`);
  }
  const perExample = size(def.inputShape);
  if (pixels !== perExample) {
    throw new Error(
      `model ${def.name} takes ${perExample} values per example ([${def.inputShape}]), pixels is ${pixels}`,
    );
  }
  if (images.length < labels.length * pixels) {
    throw new Error(
      `images hold ${images.length / pixels} examples of ${pixels} pixels but there are ${labels.length} labels`,
    );
  }
}

/** Fill a batch: pixels scaled to [0, 1] (float features as-is) and one-hot labels, as fresh arrays (backends may keep them). */
function makeBatch(
  features: Features,
  labels: Uint8Array,
  order: ArrayLike<number>,
  from: number,
  to: number,
  pixels: number,
  numClasses: number,
): { x: Float32Array; y: Float32Array; yIdx: Int32Array } {
  const b = to - from;
  const x = new Float32Array(b * pixels);
  const y = new Float32Array(b * numClasses);
  const yIdx = new Int32Array(b);
  for (let j = 0; j < b; j++) {
    const e = order[from + j];
    const src = e * pixels;
    const dst = j * pixels;
    if (features instanceof Float32Array) x.set(features.subarray(src, src + pixels), dst);
    else for (let p = 0; p < pixels; p++) x[dst + p] = SCALE[features[src + p]];
    const l = labels[e];
    if (l >= numClasses)
      throw new Error(`label ${l} of example ${e} is out of range for ${numClasses} classes`);
    y[j * numClasses + l] = 1;
    yIdx[j] = l;
  }
  return { x, y, yIdx };
}

/** A model instance with live weights: either the definition's forward() over tf.Variables or a tf.layers model. */
interface Net {
  /** Trainable variables, in canonical order. */
  vars: tf.Variable[];
  logits(x: tf.Tensor, training: boolean): tf.Tensor;
  flatWeights(): Float32Array;
  dispose(): void;
}

function createNet(def: ModelDefinition, weights: Float32Array): Net {
  if (def.forward) {
    const forward = def.forward.bind(def);
    let off = 0;
    const vars = def.layers.map((l) => {
      const n = size(l.shape);
      const v = tf.tidy(() => tf.variable(tf.tensor(weights.slice(off, off + n), l.shape, 'float32'), true));
      off += n;
      return v;
    });
    return {
      vars,
      logits: (x) => forward(vars, x),
      flatWeights: () => {
        const out = new Float32Array(off);
        let o = 0;
        for (const v of vars) {
          const d = v.dataSync() as Float32Array;
          out.set(d, o);
          o += d.length;
        }
        return out;
      },
      dispose: () => tf.dispose(vars),
    };
  }
  const model = def.build({ softmax: false });
  try {
    checkModelMatchesDefinition(def, model);
    setFlatWeights(def, model, weights);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return {
    vars: model.trainableWeights.map((w) => w.read() as tf.Variable),
    logits: (x, training) => model.apply(x, { training }) as tf.Tensor,
    flatWeights: () => getFlatWeights(model),
    dispose: () => model.dispose(),
  };
}

/**
 * Local training: minibatch SGD on softmax cross-entropy over `indices` of the given images,
 * shuffled every epoch from the seed. One tensor pair per batch, built from the Uint8Array slice;
 * every tensor is disposed before returning (tf.memory().numTensors is unchanged afterwards).
 * Runs on the backend selectBackend() chose ('auto' on first use).
 */
export async function trainLocal(args: {
  config: TrainConfig;
  weights: Float32Array;
  /** Features of every example (uint8 pixels or float32 values), `pixels` per example. */
  images: Features;
  labels: Uint8Array;
  indices: number[];
  pixels: number;
  onBatch?: (done: number, total: number) => void;
}): Promise<TrainResult> {
  const { config, weights, images, labels, pixels, onBatch } = args;
  const def = getModelDefinition(config.model);
  checkInputs(def, weights, images, labels, pixels);
  const { epochs, batchSize, lr, seed } = config;
  const mu = config.proxMu ?? 0;
  if (!Number.isSafeInteger(epochs) || epochs < 0)
    throw new Error(`epochs must be an integer >= 0, got ${epochs}`);
  if (!Number.isSafeInteger(batchSize) || batchSize < 1)
    throw new Error(`batchSize must be an integer >= 1, got ${batchSize}`);
  if (!(Number.isFinite(lr) && lr > 0)) throw new Error(`lr must be > 0, got ${lr}`);
  if (!(Number.isFinite(mu) && mu >= 0)) throw new Error(`proxMu must be >= 0, got ${mu}`);
  for (const i of args.indices) {
    if (!Number.isInteger(i) || i < 0 || i >= labels.length)
      throw new Error(`example index ${i} out of range 0..${labels.length - 1}`);
  }

  await ensureBackend(def, true);
  const started = performance.now();

  let order = Int32Array.from(args.indices);
  const max = config.maxExamples;
  if (max !== undefined && max < order.length) {
    if (!Number.isSafeInteger(max) || max < 1)
      throw new Error(`maxExamples must be a positive integer, got ${max}`);
    new Rng(seed, 0x5b5e7).shuffle(order);
    order = order.slice(0, max);
  }
  const n = order.length;
  const batchesPerEpoch = Math.ceil(n / batchSize);
  const totalBatches = batchesPerEpoch * epochs;
  if (n === 0 || epochs === 0) {
    return {
      weights: weights.slice(),
      examples: n,
      loss: Number.NaN,
      seconds: (performance.now() - started) / 1000,
    };
  }

  const net = createNet(def, weights);
  const owned: tf.Tensor[] = [];
  try {
    const vars = net.vars;
    // FedProx anchor: the global weights this round started from.
    const anchor = mu > 0 ? vars.map((v) => v.clone()) : [];
    const lrT = tf.scalar(lr);
    const muT = tf.scalar(mu);
    owned.push(...anchor, lrT, muT);
    const inputShape = def.inputShape;
    const numClasses = def.numClasses;

    let done = 0;
    let lastYield = performance.now();
    let epochLoss = 0;
    for (let epoch = 0; epoch < epochs; epoch++) {
      new Rng(seed, 0xe70c, epoch).shuffle(order);
      let lossSum: tf.Tensor = tf.scalar(0);
      try {
        for (let from = 0; from < n; from += batchSize) {
          const to = Math.min(n, from + batchSize);
          const b = to - from;
          const batch = makeBatch(images, labels, order, from, to, pixels, numClasses);
          const next = tf.tidy(() => {
            const x = tf.tensor(batch.x, [b, ...inputShape], 'float32');
            const y = tf.tensor2d(batch.y, [b, numClasses], 'float32');
            const { value, grads } = tf.variableGrads(() => {
              const logits = net.logits(x, true);
              return tf.losses.softmaxCrossEntropy(y, logits) as tf.Scalar;
            }, vars);
            vars.forEach((v, i) => {
              let g = grads[v.name];
              if (mu > 0) g = g.add(v.sub(anchor[i]).mul(muT));
              v.assign(v.sub(g.mul(lrT)));
            });
            return lossSum.add(value.mul(b));
          });
          lossSum.dispose();
          lossSum = next;
          done++;
          onBatch?.(done, totalBatches);
          if (performance.now() - lastYield > YIELD_MS) {
            await new Promise((r) => setImmediate(r));
            lastYield = performance.now();
          }
        }
        epochLoss = (await lossSum.data())[0] / n;
      } finally {
        lossSum.dispose();
      }
    }
    const trained = net.flatWeights();
    return { weights: trained, examples: n, loss: epochLoss, seconds: (performance.now() - started) / 1000 };
  } finally {
    tf.dispose(owned);
    net.dispose();
  }
}

/**
 * Accuracy and mean cross-entropy of `weights` on the first `limit` examples (or on `indices`).
 * Forward passes only, in batches of `batchSize` (default 1000); all tensors disposed.
 */
export async function evaluate(args: {
  model: ModelId;
  weights: Float32Array;
  images: Features;
  labels: Uint8Array;
  pixels: number;
  limit?: number;
  indices?: number[];
  batchSize?: number;
}): Promise<{ accuracy: number; loss: number; examples: number }> {
  const { weights, images, labels, pixels } = args;
  const def = getModelDefinition(args.model);
  checkInputs(def, weights, images, labels, pixels);
  await ensureBackend(def, false);
  let order: ArrayLike<number>;
  if (args.indices) {
    for (const i of args.indices) {
      if (!Number.isInteger(i) || i < 0 || i >= labels.length)
        throw new Error(`example index ${i} out of range 0..${labels.length - 1}`);
    }
    order = args.indices.slice(0, args.limit ?? args.indices.length);
  } else {
    const count = Math.min(labels.length, args.limit ?? labels.length);
    order = Int32Array.from({ length: count }, (_, i) => i);
  }
  const n = order.length;
  if (n === 0) return { accuracy: Number.NaN, loss: Number.NaN, examples: 0 };
  const batchSize = args.batchSize ?? 1000;
  const net = createNet(def, weights);
  try {
    let correct = 0;
    let lossSum = 0;
    for (let from = 0; from < n; from += batchSize) {
      const to = Math.min(n, from + batchSize);
      const b = to - from;
      const batch = makeBatch(images, labels, order, from, to, pixels, def.numClasses);
      const [lossT, correctT] = tf.tidy(() => {
        const x = tf.tensor(batch.x, [b, ...def.inputShape], 'float32');
        const y = tf.tensor2d(batch.y, [b, def.numClasses], 'float32');
        const logits = net.logits(x, false);
        const loss = tf.losses.softmaxCrossEntropy(y, logits, undefined, undefined, tf.Reduction.SUM);
        const hits = tf.equal(tf.argMax(logits, 1), tf.tensor1d(batch.yIdx, 'int32')).sum();
        return [loss, hits];
      });
      try {
        lossSum += (await lossT.data())[0];
        correct += (await correctT.data())[0];
      } finally {
        tf.dispose([lossT, correctT]);
      }
      await new Promise((r) => setImmediate(r));
    }
    return { accuracy: correct / n, loss: lossSum / n, examples: n };
  } finally {
    net.dispose();
  }
}
