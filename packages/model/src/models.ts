import * as tf from '@tensorflow/tfjs';
import { DENSE_PREFIX, denseModelDefinition } from './dense-models.js';
import { ModelConfigError } from './errors.js';
import { conv2dSame, dense, maxPool2 } from './ops.js';
import { Rng } from './rng.js';

/** The built-in reference models (McMahan et al. 2017, "Communication-Efficient Learning of Deep Networks from Decentralized Data"). */
export type ModelName = 'mlp' | 'cnn';

/** A built-in model name or the name of a model added with registerModel(). */
export type ModelId = ModelName | (string & {});

/** How one weight tensor is initialised by initialWeights(). */
export type WeightInit = 'glorot_uniform' | 'zeros' | 'ones';

export interface LayerSpec {
  /** Canonical name, e.g. 'dense1/kernel'. */
  name: string;
  shape: number[];
  init: WeightInit;
}

/**
 * Everything kpfl needs to know about a model. The built-ins are defined this way and
 * custom models plug in through registerModel().
 */
export interface ModelDefinition {
  name: string;
  /** Shape of one example as the model consumes it, e.g. [784] or [28, 28, 1]. */
  inputShape: number[];
  numClasses: number;
  /** Every weight tensor in tfjs `model.getWeights()` order: this is the canonical flat layout. */
  layers: LayerSpec[];
  /**
   * Build a fresh tfjs model. With `softmax: false` (used for training and evaluation) the last
   * layer must output logits; the softmax is then applied inside the cross-entropy loss, which is
   * numerically stable. The weight values it is built with do not matter (they are overwritten),
   * so use cheap initialisers ('zeros').
   */
  build(opts: { softmax: boolean }): tf.LayersModel;
  /**
   * Optional fast path used by trainLocal/evaluate instead of build(): logits for a batch
   * `x` of shape [B, ...inputShape] from the weight tensors in canonical order. Must compute the
   * same function as build({ softmax: false }) (a test checks this for the built-ins). The ops in
   * ops.ts (dense, conv2dSame, maxPool2) pick gradients that are fast on each backend.
   */
  forward?(weights: tf.Tensor[], x: tf.Tensor): tf.Tensor;
  /**
   * tfjs kernels the model needs for training (gradients). Backends that lack one are skipped by
   * selectBackend('auto'). Default: [] when `forward` is given (ops.ts needs no gradient kernel
   * that a backend lacks), else ['Conv2DBackpropFilter'] when any weight has rank 4, else [].
   */
  trainingKernels?: string[];
  /**
   * The model's starting weights in canonical order, when they are not drawn from a seed (a
   * model loaded from a tfjs file starts from that file's weights). initialWeights() returns a
   * copy of them, so every member holding the same file starts from the same digest.
   */
  initialWeights?: Float32Array;
}

function mlpDefinition(): ModelDefinition {
  return {
    name: 'mlp',
    inputShape: [784],
    numClasses: 10,
    layers: [
      { name: 'dense1/kernel', shape: [784, 200], init: 'glorot_uniform' },
      { name: 'dense1/bias', shape: [200], init: 'zeros' },
      { name: 'dense2/kernel', shape: [200, 200], init: 'glorot_uniform' },
      { name: 'dense2/bias', shape: [200], init: 'zeros' },
      { name: 'dense3/kernel', shape: [200, 10], init: 'glorot_uniform' },
      { name: 'dense3/bias', shape: [10], init: 'zeros' },
    ],
    forward([k1, b1, k2, b2, k3, b3], x) {
      const h1 = dense(x as tf.Tensor2D, k1, b1, 'relu', { inputGrad: false });
      const h2 = dense(h1, k2, b2, 'relu');
      return dense(h2, k3, b3, 'linear');
    },
    build({ softmax }) {
      const init = { kernelInitializer: 'zeros', biasInitializer: 'zeros' } as const;
      return tf.sequential({
        layers: [
          tf.layers.dense({ inputShape: [784], units: 200, activation: 'relu', ...init }),
          tf.layers.dense({ units: 200, activation: 'relu', ...init }),
          tf.layers.dense({ units: 10, activation: softmax ? 'softmax' : 'linear', ...init }),
        ],
      });
    },
  };
}

function cnnDefinition(): ModelDefinition {
  return {
    name: 'cnn',
    inputShape: [28, 28, 1],
    numClasses: 10,
    layers: [
      { name: 'conv1/kernel', shape: [5, 5, 1, 32], init: 'glorot_uniform' },
      { name: 'conv1/bias', shape: [32], init: 'zeros' },
      { name: 'conv2/kernel', shape: [5, 5, 32, 64], init: 'glorot_uniform' },
      { name: 'conv2/bias', shape: [64], init: 'zeros' },
      { name: 'dense1/kernel', shape: [3136, 512], init: 'glorot_uniform' },
      { name: 'dense1/bias', shape: [512], init: 'zeros' },
      { name: 'dense2/kernel', shape: [512, 10], init: 'glorot_uniform' },
      { name: 'dense2/bias', shape: [10], init: 'zeros' },
    ],
    forward([k1, b1, k2, b2, k3, b3, k4, b4], x) {
      const c1 = maxPool2(conv2dSame(x as tf.Tensor4D, k1, b1, 'relu', { inputGrad: false }));
      const c2 = maxPool2(conv2dSame(c1, k2, b2, 'relu'));
      const flat = tf.reshape(c2, [c2.shape[0], 7 * 7 * 64]) as tf.Tensor2D;
      const h = dense(flat, k3, b3, 'relu');
      return dense(h, k4, b4, 'linear');
    },
    build({ softmax }) {
      const init = { kernelInitializer: 'zeros', biasInitializer: 'zeros' } as const;
      return tf.sequential({
        layers: [
          tf.layers.conv2d({
            inputShape: [28, 28, 1],
            filters: 32,
            kernelSize: 5,
            padding: 'same',
            activation: 'relu',
            ...init,
          }),
          tf.layers.maxPooling2d({ poolSize: 2, strides: 2 }),
          tf.layers.conv2d({ filters: 64, kernelSize: 5, padding: 'same', activation: 'relu', ...init }),
          tf.layers.maxPooling2d({ poolSize: 2, strides: 2 }),
          tf.layers.flatten(),
          tf.layers.dense({ units: 512, activation: 'relu', ...init }),
          tf.layers.dense({ units: 10, activation: softmax ? 'softmax' : 'linear', ...init }),
        ],
      });
    },
  };
}

const registry = new Map<string, ModelDefinition>([
  ['mlp', mlpDefinition()],
  ['cnn', cnnDefinition()],
]);

/** Add a custom model. Its name can then be used wherever a ModelName is accepted. */
export function registerModel(def: ModelDefinition): void {
  if (!def.name || typeof def.name !== 'string')
    throw new ModelConfigError('BAD_MODEL', 'registerModel: definition needs a name');
  if (def.name === 'mlp' || def.name === 'cnn' || def.name.startsWith(DENSE_PREFIX))
    throw new ModelConfigError('BAD_MODEL', `registerModel: '${def.name}' is built in`);
  if (def.layers.length === 0)
    throw new ModelConfigError('BAD_MODEL', `registerModel: model '${def.name}' has no weights`);
  for (const l of def.layers) {
    if (!l.shape.every((d) => Number.isInteger(d) && d > 0)) {
      throw new ModelConfigError(
        'BAD_MODEL',
        `registerModel: weight ${l.name} of '${def.name}' has invalid shape [${l.shape}]`,
      );
    }
  }
  const total = def.layers.reduce((n, l) => n + size(l.shape), 0);
  if (def.initialWeights && def.initialWeights.length !== total) {
    throw new ModelConfigError(
      'BAD_MODEL',
      `registerModel: model '${def.name}' has ${total} parameters but its initialWeights hold ${def.initialWeights.length}`,
    );
  }
  registry.set(def.name, def);
}

/** The definition of a built-in or registered model; throws listing the known names otherwise. */
export function getModelDefinition(model: ModelId): ModelDefinition {
  let def = registry.get(model);
  // 'dense:F-H-C' names define themselves (dense-models.ts): built on first use, then cached.
  if (!def && typeof model === 'string' && model.startsWith(DENSE_PREFIX)) {
    def = denseModelDefinition(model);
    registry.set(model, def);
  }
  if (!def)
    throw new ModelConfigError(
      'UNKNOWN_MODEL',
      `unknown model '${model}'; known models: ${[...registry.keys()].join(', ')}, dense:F-H-C`,
    );
  return def;
}

/**
 * Whether every party can derive `model`'s layout from its name alone ('mlp', 'cnn', 'dense:...'),
 * so that its parameter count and initial weights need not be given. A malformed 'dense:' name throws.
 */
export function isBuiltInModel(model: ModelId): boolean {
  if (model === 'mlp' || model === 'cnn') return true;
  if (typeof model === 'string' && model.startsWith(DENSE_PREFIX)) return !!getModelDefinition(model);
  return false;
}

export function modelNames(): string[] {
  return [...registry.keys()];
}

export function trainingKernels(def: ModelDefinition): string[] {
  if (def.trainingKernels) return def.trainingKernels;
  if (def.forward) return [];
  return def.layers.some((l) => l.shape.length === 4) ? ['Conv2DBackpropFilter'] : [];
}

function size(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Number of float32 parameters (mlp 199,210; cnn 1,663,370). */
export function parameterCount(model: ModelId): number {
  return getModelDefinition(model).layers.reduce((n, l) => n + size(l.shape), 0);
}

/** Weight tensors in canonical order (= tfjs model.getWeights() order). */
export function layerShapes(model: ModelId): { name: string; shape: number[] }[] {
  return getModelDefinition(model).layers.map((l) => ({ name: l.name, shape: [...l.shape] }));
}

/** Keras fan computation: dense [in, out]; conv [...receptive, in, out]. */
function fans(shape: number[]): [number, number] {
  if (shape.length === 1) return [shape[0], shape[0]];
  if (shape.length === 2) return [shape[0], shape[1]];
  const receptive = size(shape.slice(0, -2));
  return [shape[shape.length - 2] * receptive, shape[shape.length - 1] * receptive];
}

/**
 * Initial weights in plain JavaScript from a seeded PRNG: glorot-uniform kernels
 * (U(-l, l), l = sqrt(6 / (fanIn + fanOut))), zero biases. Only IEEE-exact operations
 * (+, *, sqrt) are used, so every participant on every backend gets identical bits.
 * A definition with its own `initialWeights` (a loaded tfjs file) gets a copy of those
 * instead, whatever the seed.
 */
export function initialWeights(model: ModelId, seed: number): Float32Array {
  const def = getModelDefinition(model);
  if (def.initialWeights) return def.initialWeights.slice();
  const out = new Float32Array(parameterCount(model));
  const rng = new Rng(seed, 0x1a17);
  let off = 0;
  for (const l of def.layers) {
    const n = size(l.shape);
    if (l.init === 'glorot_uniform') {
      const [fanIn, fanOut] = fans(l.shape);
      const limit = Math.sqrt(6 / (fanIn + fanOut));
      for (let i = 0; i < n; i++) out[off + i] = (2 * rng.next() - 1) * limit;
    } else if (l.init === 'ones') {
      out.fill(1, off, off + n);
    } // zeros: already zero
    off += n;
  }
  return out;
}

/**
 * A tfjs model with the given flat weights (or zeros). Output is softmax probabilities unless
 * `softmax: false`. The caller owns it and must call `model.dispose()`.
 */
export function buildModel(
  model: ModelId,
  opts: { weights?: Float32Array; softmax?: boolean } = {},
): tf.LayersModel {
  const def = getModelDefinition(model);
  const m = def.build({ softmax: opts.softmax ?? true });
  try {
    checkModelMatchesDefinition(def, m);
    if (opts.weights) setFlatWeights(def, m, opts.weights);
  } catch (e) {
    m.dispose();
    throw e;
  }
  return m;
}

export function checkModelMatchesDefinition(def: ModelDefinition, m: tf.LayersModel): void {
  const ws = m.weights;
  const bad =
    ws.length !== def.layers.length ||
    ws.some(
      (w, i) =>
        w.shape.length !== def.layers[i].shape.length || w.shape.some((d, j) => d !== def.layers[i].shape[j]),
    );
  if (bad) {
    throw new Error(
      `model '${def.name}': tfjs weights [${ws.map((w) => `[${w.shape}]`).join(', ')}] do not match the definition's layers [${def.layers.map((l) => `[${l.shape}]`).join(', ')}]`,
    );
  }
}

/** Write a canonical flat weight vector into a tfjs model's variables. */
export function setFlatWeights(def: ModelDefinition, m: tf.LayersModel, flat: Float32Array): void {
  const total = def.layers.reduce((n, l) => n + size(l.shape), 0);
  if (flat.length !== total) {
    throw new Error(`model '${def.name}' has ${total} parameters but the weight vector has ${flat.length}`);
  }
  let off = 0;
  const tensors = def.layers.map((l) => {
    const n = size(l.shape);
    // slice (copy): some backends keep a reference to the array they are given.
    const t = tf.tensor(flat.slice(off, off + n), l.shape, 'float32');
    off += n;
    return t;
  });
  try {
    m.setWeights(tensors);
  } finally {
    tf.dispose(tensors);
  }
}

/** Read a tfjs model's weights back into one canonical flat Float32Array. */
export function getFlatWeights(m: tf.LayersModel): Float32Array {
  const ws = m.weights;
  const total = ws.reduce((n, w) => n + size(w.shape as number[]), 0);
  const out = new Float32Array(total);
  let off = 0;
  for (const w of ws) {
    const data = w.read().dataSync() as Float32Array; // read() returns the variable itself: do not dispose
    out.set(data, off);
    off += data.length;
  }
  return out;
}
