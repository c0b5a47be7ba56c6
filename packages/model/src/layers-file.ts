/**
 * The tfjs LayersModel file format (model.json + weight shards, as `model.save()` writes it and
 * `tf.loadLayersModel` reads it): load a user's model as a ModelDefinition that starts from the
 * file's weights, and save a global model in that format. Only @tensorflow/tfjs (no tfjs-node) is
 * installed, whose `file://` IO does not exist, so the files are read and written with node:fs.
 */
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { ModelConfigError } from './errors.js';
import { buildModel, type ModelDefinition, type ModelId } from './models.js';

/** Names of models loaded from a file: `layers:<12 hex of the topology's sha256>`. */
const LAYERS_PREFIX = 'layers:';
const MODEL_JSON = 'model.json';
/** The single shard saveLayersModel writes, named as tfjs's own savers name a one-shard model. */
const SHARD = 'group1-shard1of1.bin';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

export interface LayersModelFile {
  /** Starts from the file's weights (`definition.initialWeights`); register it to use its name. */
  definition: ModelDefinition;
  /** The file's weights, flat in tfjs `getWeights()` order. */
  weights: Float32Array;
}

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

function fail(path: string, problem: string): never {
  throw new ModelConfigError('BAD_MODEL_FILE', `model file ${path}: ${problem}`);
}

/** JSON with object keys sorted at every level: the same topology always hashes the same. */
function canonicalJson(v: Json): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (isObject(v)) {
    const keys = Object.keys(v).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k]!)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/** The layer configs of a Keras/tfjs topology (Sequential: `config.layers` or a bare list; functional: `config.layers`). */
function layerList(topology: JsonObject): JsonObject[] {
  const config = topology.config;
  const layers = Array.isArray(config) ? config : isObject(config) ? config.layers : undefined;
  return Array.isArray(layers) ? layers.filter(isObject) : [];
}

/** The config of the layer that produces the model's (single) output. */
function outputLayerConfig(topology: JsonObject): JsonObject | undefined {
  const layers = layerList(topology);
  const config = topology.config;
  // Functional models name their outputs: [[layerName, nodeIndex, tensorIndex], ...].
  const outputs = isObject(config) ? config.output_layers : undefined;
  const outName = Array.isArray(outputs) && Array.isArray(outputs[0]) ? outputs[0][0] : undefined;
  const layer =
    typeof outName === 'string'
      ? (layers.find((l) => isObject(l.config) && l.config.name === outName) ??
        layers.find((l) => l.name === outName))
      : layers.at(-1);
  return layer;
}

/**
 * kpfl trains on logits (softmax inside the loss), so a softmax output is built linear for
 * training and kept for prediction and saving. Returns the logits topology (a copy when changed).
 */
function logitsTopology(path: string, topology: JsonObject): JsonObject {
  const out = outputLayerConfig(topology);
  if (out?.class_name === 'Softmax')
    fail(path, "its output is a Softmax layer; give the last Dense layer activation 'softmax' instead");
  const activation = isObject(out?.config) ? out.config.activation : undefined;
  if (activation === undefined || activation === 'linear') return topology;
  if (activation !== 'softmax') {
    fail(
      path,
      `its output layer's activation is '${String(activation)}'; kpfl trains classifiers with softmax cross-entropy, so the output must be 'softmax' or 'linear' (logits)`,
    );
  }
  const copy = structuredClone(topology);
  const copyOut = outputLayerConfig(copy)!;
  (copyOut.config as JsonObject).activation = 'linear';
  return copy;
}

function readJson(path: string): JsonObject {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    fail(
      path,
      code === 'ENOENT'
        ? "it does not exist; give the model.json that tfjs's model.save() wrote"
        : `cannot be read (${(e as Error).message})`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    fail(path, `is not JSON (${(e as Error).message})`);
  }
  if (!isObject(parsed)) fail(path, 'is not a JSON object');
  return parsed;
}

interface WeightEntry {
  name: string;
  shape: number[];
  dtype: string;
}

/** The manifest's weight entries (all float32) and every shard's bytes concatenated, checked against each other. */
function readWeights(path: string, json: JsonObject): { entries: WeightEntry[]; data: Float32Array } {
  const manifest = json.weightsManifest;
  if (!Array.isArray(manifest) || manifest.length === 0)
    fail(path, 'has no weightsManifest: save the model with its weights (model.save(), not toJSON())');
  const entries: WeightEntry[] = [];
  const shards: string[] = [];
  for (const group of manifest) {
    if (!isObject(group) || !Array.isArray(group.paths) || !Array.isArray(group.weights))
      fail(path, 'its weightsManifest is malformed: each group needs "paths" and "weights"');
    for (const p of group.paths) {
      if (typeof p !== 'string') fail(path, 'its weightsManifest has a shard path that is not a string');
      shards.push(p);
    }
    for (const w of group.weights) {
      if (!isObject(w) || typeof w.name !== 'string' || !Array.isArray(w.shape))
        fail(path, 'its weightsManifest has a weight without a name and shape');
      if (w.dtype !== 'float32' || w.quantization !== undefined) {
        const what = w.quantization !== undefined ? 'quantized' : `of dtype ${String(w.dtype)}`;
        fail(path, `weight ${w.name} is ${what}; kpfl federates float32 weights (save without quantization)`);
      }
      const shape = w.shape.map(Number);
      if (!shape.every((d) => Number.isInteger(d) && d >= 0))
        fail(path, `weight ${w.name} has an invalid shape [${w.shape}]`);
      entries.push({ name: w.name, shape, dtype: w.dtype });
    }
  }
  // Shard paths are relative to model.json, as tfjs's http and file loaders resolve them.
  const dir = dirname(path);
  const buffers = shards.map((s) => {
    const file = join(dir, s);
    try {
      return readFileSync(file);
    } catch {
      return fail(path, `its weight shard ${s} is missing (looked for ${file})`);
    }
  });
  const bytes = Buffer.concat(buffers);
  const want = entries.reduce((n, e) => n + 4 * e.shape.reduce((a, b) => a * b, 1), 0);
  if (bytes.length !== want) {
    fail(
      path,
      `its weight shards hold ${bytes.length} bytes but the manifest's weights need ${want}${bytes.length < want ? ' (a shard is truncated or missing)' : ''}`,
    );
  }
  // Copy into a fresh, aligned buffer; float32 in the host's byte order, as tfjs writes it (little-endian).
  const data = new Float32Array(want / 4);
  new Uint8Array(data.buffer).set(bytes);
  return { entries, data };
}

/** A sync builder of fresh models from a topology (build() must be sync; tfjs's loader is async). */
async function builderOf(path: string, topology: JsonObject): Promise<() => tf.LayersModel> {
  let template: tf.LayersModel;
  // Building it writes its first tensors, and tfjs's cpu backend then prints a multi-line "install
  // the node backend" banner, which would break a command's one-line error. Production mode only
  // silences tfjs's warnings (selectBackend does the same for cpu).
  tf.enableProdMode();
  try {
    template = await tf.models.modelFromJSON({ modelTopology: topology });
  } catch (e) {
    return fail(path, `its modelTopology does not load in tfjs: ${(e as Error).message}`);
  }
  // getConfig() is what fromConfig takes (tfjs's own loader converts model.json to it): a fresh
  // model per build, with the same layer and weight names as the file.
  const config = template.getConfig();
  const cls = template instanceof tf.Sequential ? tf.Sequential : tf.LayersModel;
  template.dispose();
  return () => cls.fromConfig(cls, structuredClone(config), {}, true) as tf.LayersModel;
}

/**
 * Reads a tfjs LayersModel (the path of its model.json; weight shards beside it) as a kpfl model:
 * named from its topology, so every member with the same file gets the same name, starting from
 * the file's weights. Throws ModelConfigError (code BAD_MODEL_FILE) naming what is wrong.
 */
export async function loadLayersModelFile(path: string): Promise<LayersModelFile> {
  const json = readJson(path);
  if (json.format === 'graph-model')
    fail(path, 'is a tfjs GraphModel (inference only); kpfl trains LayersModels (tf.sequential / tf.model)');
  let topology = json.modelTopology;
  if (!isObject(topology))
    fail(path, 'is not a tfjs LayersModel: it has no modelTopology (save one with model.save())');
  // A Keras full-model JSON keeps the architecture under model_config, as tfjs's loader reads it.
  if (isObject(topology.model_config)) topology = topology.model_config;
  const { entries, data } = readWeights(path, json);
  const logits = logitsTopology(path, topology);
  const buildSoftmax = await builderOf(path, topology);
  const build = {
    softmax: buildSoftmax,
    logits: logits === topology ? buildSoftmax : await builderOf(path, logits),
  };
  const m = build.logits();
  try {
    if (m.inputs.length !== 1 || m.outputs.length !== 1)
      fail(
        path,
        `the model has ${m.inputs.length} inputs and ${m.outputs.length} outputs; kpfl needs one of each`,
      );
    const inputShape = m.inputs[0]!.shape.slice(1);
    if (!inputShape.every((d): d is number => typeof d === 'number' && d > 0))
      fail(
        path,
        `its input shape [${m.inputs[0]!.shape}] is not fully known; give every dimension but the batch`,
      );
    const outShape = m.outputs[0]!.shape;
    const numClasses = outShape[1];
    if (outShape.length !== 2 || typeof numClasses !== 'number' || numClasses < 2)
      fail(
        path,
        `its output shape [${outShape}] is not a classification: expected [null, C] with C >= 2 classes`,
      );
    // Canonical order is the model's own weight order; the manifest may list them in another.
    const offsets = new Map<string, { offset: number; entry: WeightEntry }>();
    let offset = 0;
    for (const e of entries) {
      offsets.set(e.name, { offset, entry: e });
      offset += e.shape.reduce((a, b) => a * b, 1);
    }
    const layers = m.weights.map((w) => {
      const found = offsets.get(w.originalName);
      if (!found) fail(path, `its weightsManifest has no weight ${w.originalName}, which the topology needs`);
      if (found.entry.shape.join() !== w.shape.join())
        fail(
          path,
          `weight ${w.originalName} has shape [${found.entry.shape}], the topology needs [${w.shape}]`,
        );
      return { name: w.originalName, shape: [...w.shape] as number[], init: 'zeros' as const };
    });
    const total = layers.reduce((n, l) => n + l.shape.reduce((a, b) => a * b, 1), 0);
    const weights = new Float32Array(total);
    let at = 0;
    for (const l of layers) {
      const { offset: from } = offsets.get(l.name)!;
      const n = l.shape.reduce((a, b) => a * b, 1);
      weights.set(data.subarray(from, from + n), at);
      at += n;
    }
    const hash = createHash('sha256').update(canonicalJson(topology)).digest('hex').slice(0, 12);
    const definition: ModelDefinition = {
      name: `${LAYERS_PREFIX}${hash}`,
      inputShape,
      numClasses,
      layers,
      initialWeights: weights,
      build: ({ softmax }) => (softmax ? build.softmax() : build.logits()),
    };
    return { definition, weights };
  } finally {
    m.dispose();
  }
}

/**
 * Writes `weights` of `model` as a tfjs LayersModel into `dir` (model.json + group1-shard1of1.bin,
 * softmax output), loadable with plain `tf.loadLayersModel`. Atomic: the files are written to a
 * sibling temporary directory that then replaces `dir`, so `dir` is never a half-written model.
 * An existing `dir` must be empty or hold only a saved model (nothing else is ever deleted).
 */
export async function saveLayersModel(dir: string, model: ModelId, weights: Float32Array): Promise<void> {
  const target = resolve(dir);
  if (existsSync(target)) {
    const other = readdirSync(target).filter((f) => f !== MODEL_JSON && f !== SHARD);
    if (other.length > 0) {
      throw new ModelConfigError(
        'BAD_SAVE_DIR',
        `${dir} holds ${other.slice(0, 3).join(', ')}${other.length > 3 ? ', ...' : ''}; save the model into an empty or new directory`,
      );
    }
  }
  const m = buildModel(model, { weights, softmax: true });
  let artifacts: tf.io.ModelArtifacts | undefined;
  try {
    await m.save(
      tf.io.withSaveHandler(async (a) => {
        artifacts = a;
        return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(a) };
      }),
    );
  } finally {
    m.dispose();
  }
  const a = artifacts!;
  // The layout of tfjs's browser and node savers (getModelJSONForModelArtifacts), one shard.
  const modelJson = {
    modelTopology: a.modelTopology,
    format: a.format,
    generatedBy: a.generatedBy,
    convertedBy: a.convertedBy,
    weightsManifest: [{ paths: [SHARD], weights: a.weightSpecs }],
  };
  const data = tf.io.CompositeArrayBuffer.join(a.weightData);
  const parent = dirname(target);
  const tmp = mkdtempSync(join(parent, `.${basename(target)}.tmp-`));
  try {
    writeFileSync(join(tmp, SHARD), new Uint8Array(data), { flush: true });
    writeFileSync(join(tmp, MODEL_JSON), JSON.stringify(modelJson), { flush: true });
    if (existsSync(target)) {
      // rename() cannot replace a non-empty directory: move the old model aside, then drop it.
      const old = `${tmp}.old`;
      renameSync(target, old);
      renameSync(tmp, target);
      rmSync(old, { recursive: true, force: true });
    } else {
      renameSync(tmp, target);
    }
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}
