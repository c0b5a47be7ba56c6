/**
 * The tfjs LayersModel file format: a model saved by tfjs itself loads as a kpfl model with the
 * same weights and predictions; saveLayersModel's output loads back in plain tfjs (over its http
 * loader, as tfjs-node is not installed) and predicts the same; bad files are refused by name.
 */
import assert from 'node:assert/strict';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import {
  buildModel,
  getFlatWeights,
  initialWeights,
  loadLayersModelFile,
  ModelConfigError,
  registerModel,
  saveLayersModel,
  selectBackend,
  weightsDigest,
} from '../src/index.js';
import { serveDir } from './serve-dir.js';

const work = mkdtempSync(join(tmpdir(), 'kpfl-layers-'));
after(() => rmSync(work, { recursive: true, force: true }));

before(async () => {
  await selectBackend('cpu', 'mlp');
});

/** A dense 784-16-10 softmax classifier with tfjs's own random weights. */
function userModel(): tf.LayersModel {
  return tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [784], units: 16, activation: 'relu' }),
      tf.layers.dense({ units: 10, activation: 'softmax' }),
    ],
  });
}

/** Saves `m` as tfjs's savers lay it out: dir/model.json + dir/weights.bin (a path relative to model.json). */
async function saveWithTfjs(m: tf.LayersModel, dir: string): Promise<string> {
  mkdirSync(dir, { recursive: true });
  await m.save(
    tf.io.withSaveHandler(async (a) => {
      writeFileSync(join(dir, 'weights.bin'), new Uint8Array(tf.io.CompositeArrayBuffer.join(a.weightData)));
      const json = {
        modelTopology: a.modelTopology,
        format: a.format,
        generatedBy: a.generatedBy,
        convertedBy: a.convertedBy,
        weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }],
      };
      writeFileSync(join(dir, 'model.json'), JSON.stringify(json));
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(a) };
    }),
  );
  return join(dir, 'model.json');
}

/** The parts of a model.json the bad-file tests edit. */
interface ModelJson {
  modelTopology?: unknown;
  format?: string;
  weightsManifest?: { paths: string[]; weights: { dtype: string; quantization?: unknown }[] }[];
}

/** Deterministic inputs in [0, 1). */
function inputs(n: number): tf.Tensor2D {
  return tf.tensor2d(
    Float32Array.from({ length: n * 784 }, (_, i) => ((i * 7919) % 1000) / 1000),
    [n, 784],
  );
}

function predict(m: tf.LayersModel, x: tf.Tensor): Float32Array {
  return tf.tidy(() => (m.predict(x) as tf.Tensor).dataSync() as Float32Array);
}

function assertClose(a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-6): void {
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++)
    assert.ok(Math.abs(a[i]! - b[i]!) <= tol, `output ${i}: ${a[i]} vs ${b[i]}`);
}

describe('loadLayersModelFile', () => {
  let original: tf.LayersModel;
  let file: string;
  before(async () => {
    original = userModel();
    file = await saveWithTfjs(original, join(work, 'user'));
  });
  after(() => original.dispose());

  it("reads tfjs's own file: same weights, same predictions, logits for training", async () => {
    const { definition: def, weights } = await loadLayersModelFile(file);
    assert.match(def.name, /^layers:[0-9a-f]{12}$/);
    assert.deepEqual(def.inputShape, [784]);
    assert.equal(def.numClasses, 10);
    assert.deepEqual(
      def.layers.map((l) => l.shape),
      [[784, 16], [16], [16, 10], [10]],
    );
    assert.deepEqual(Array.from(weights), Array.from(getFlatWeights(original)));
    registerModel(def);
    const x = inputs(5);
    const ours = buildModel(def.name, { weights, softmax: true });
    assert.deepEqual(Array.from(predict(ours, x)), Array.from(predict(original, x)));
    // build({ softmax: false }) is the same network with a linear output: its softmax is the prediction.
    const logits = buildModel(def.name, { weights, softmax: false });
    const probs = tf.tidy(() => tf.softmax(logits.predict(x) as tf.Tensor).dataSync());
    const want = predict(original, x);
    assertClose(probs, want);
    x.dispose();
    ours.dispose();
    logits.dispose();
  });

  it('starts from the file weights whatever the seed, under a name only the topology decides', async () => {
    const { definition: def, weights } = await loadLayersModelFile(file);
    registerModel(def);
    assert.equal(weightsDigest(initialWeights(def.name, 1)), weightsDigest(weights));
    assert.equal(weightsDigest(initialWeights(def.name, 2)), weightsDigest(weights));
    const copy = initialWeights(def.name, 1);
    copy[0] = 42; // a copy: training cannot change the definition's starting point
    assert.notEqual(initialWeights(def.name, 1)[0], 42);
    // The same topology with other weights: the same name (members compare digests, not names).
    const dir = join(work, 'same-topology');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'model.json'), readFileSync(file));
    writeFileSync(join(dir, 'weights.bin'), new Uint8Array(weights.length * 4));
    const same = await loadLayersModelFile(join(dir, 'model.json'));
    assert.equal(same.definition.name, def.name);
    assert.notEqual(weightsDigest(same.weights), weightsDigest(weights));
    // Another topology (here, other layer names): another name.
    const other = userModel();
    const { definition: def2 } = await loadLayersModelFile(await saveWithTfjs(other, join(work, 'other')));
    other.dispose();
    assert.notEqual(def2.name, def.name);
  });

  it('refuses initialWeights of the wrong length at registration', async () => {
    const { definition: def } = await loadLayersModelFile(file);
    assert.throws(
      () => registerModel({ ...def, name: 'short-init', initialWeights: new Float32Array(3) }),
      (e: unknown) =>
        e instanceof ModelConfigError && e.code === 'BAD_MODEL' && /initialWeights hold 3/.test(e.message),
    );
  });

  /** A copy of the good file's directory with `edit` applied to its model.json (or files). */
  function badCopy(name: string, edit: (json: ModelJson, dir: string) => void): string {
    const dir = join(work, `bad-${name}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'weights.bin'), readFileSync(join(work, 'user', 'weights.bin')));
    const json = JSON.parse(readFileSync(file, 'utf8'));
    edit(json, dir);
    writeFileSync(join(dir, 'model.json'), JSON.stringify(json));
    return join(dir, 'model.json');
  }

  const refuses = async (path: string, message: RegExp) =>
    assert.rejects(loadLayersModelFile(path), (e: unknown) => {
      assert.ok(e instanceof ModelConfigError, `a ModelConfigError, got ${e}`);
      assert.equal(e.code, 'BAD_MODEL_FILE');
      assert.match(e.message, message);
      return true;
    });

  it('refuses a missing file', () => refuses(join(work, 'nope', 'model.json'), /does not exist/));

  it('refuses JSON that is not a LayersModel', async () => {
    const dir = join(work, 'not-json');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'model.json'), '{"modelTopology": ');
    await refuses(join(dir, 'model.json'), /is not JSON/);
    await refuses(
      badCopy('no-topology', (j) => delete j.modelTopology),
      /not a tfjs LayersModel: it has no modelTopology/,
    );
    await refuses(
      badCopy('graph', (j) => (j.format = 'graph-model')),
      /GraphModel/,
    );
  });

  it('refuses a missing or short weight shard', async () => {
    await refuses(
      badCopy('no-shard', (_, dir) => rmSync(join(dir, 'weights.bin'))),
      /weight shard weights\.bin is missing/,
    );
    await refuses(
      badCopy('short-shard', (_, dir) => truncateSync(join(dir, 'weights.bin'), 100)),
      /hold 100 bytes but the manifest's weights need 50920 \(a shard is truncated/,
    );
    await refuses(
      badCopy('no-manifest', (j) => delete j.weightsManifest),
      /has no weightsManifest/,
    );
  });

  it('refuses weights that are not float32', async () => {
    await refuses(
      badCopy('int32', (j) => (j.weightsManifest![0]!.weights[1]!.dtype = 'int32')),
      /weight \S+ is of dtype int32; kpfl federates float32/,
    );
    await refuses(
      badCopy('quantized', (j) => (j.weightsManifest![0]!.weights[0]!.quantization = { dtype: 'uint8' })),
      /is quantized/,
    );
  });

  it('refuses a model with two inputs or two outputs', async () => {
    const a = tf.input({ shape: [4] });
    const b = tf.input({ shape: [4] });
    const out = tf.layers
      .dense({ units: 3, activation: 'softmax' })
      .apply(tf.layers.concatenate().apply([a, b]));
    const two = tf.model({ inputs: [a, b], outputs: out as tf.SymbolicTensor });
    await refuses(
      await saveWithTfjs(two, join(work, 'two-in')),
      /2 inputs and 1 outputs; kpfl needs one of each/,
    );
    const c = tf.input({ shape: [4] });
    const o1 = tf.layers.dense({ units: 3 }).apply(c) as tf.SymbolicTensor;
    const o2 = tf.layers.dense({ units: 2 }).apply(c) as tf.SymbolicTensor;
    const twoOut = tf.model({ inputs: c, outputs: [o1, o2] });
    await refuses(await saveWithTfjs(twoOut, join(work, 'two-out')), /1 inputs and 2 outputs/);
    two.dispose();
    twoOut.dispose();
  });

  it('refuses an output that is not a classification', async () => {
    const reg = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 1 })] });
    await refuses(
      await saveWithTfjs(reg, join(work, 'regression')),
      /output shape \[,1\] is not a classification/,
    );
    const sig = tf.sequential({
      layers: [tf.layers.dense({ inputShape: [4], units: 3, activation: 'sigmoid' })],
    });
    await refuses(await saveWithTfjs(sig, join(work, 'sigmoid')), /activation is 'sigmoid'/);
    reg.dispose();
    sig.dispose();
  });
});

describe('saveLayersModel', () => {
  it('writes a model plain tfjs loads and that predicts what the kpfl model does', async () => {
    const user = userModel();
    const { definition: def, weights } = await loadLayersModelFile(
      await saveWithTfjs(user, join(work, 'src')),
    );
    user.dispose();
    registerModel(def);
    // A model after some training: not the file's weights.
    const trained = weights.map((w, i) => w + ((i % 7) - 3) * 1e-3);
    const dir = join(work, 'saved');
    await saveLayersModel(dir, def.name, trained);
    // Overwriting leaves exactly one model and no temporary directory.
    await saveLayersModel(dir, def.name, trained);
    assert.deepEqual(readdirSync(dir).sort(), ['group1-shard1of1.bin', 'model.json']);
    assert.deepEqual(
      readdirSync(work).filter((f) => f.includes('.tmp-')),
      [],
    );
    const manifest = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')).weightsManifest;
    assert.deepEqual(manifest[0].paths, ['group1-shard1of1.bin']);

    const { server, url } = await serveDir(dir);
    try {
      const plain = await tf.loadLayersModel(`${url}/model.json`);
      const ours = buildModel(def.name, { weights: trained, softmax: true });
      const x = inputs(8);
      const a = predict(plain, x);
      const b = predict(ours, x);
      assertClose(a, b);
      assert.deepEqual(Array.from(getFlatWeights(plain)), Array.from(trained));
      plain.dispose();
      ours.dispose();
      x.dispose();
    } finally {
      server.close();
    }
    // And it loads back as the same kpfl model.
    const again = await loadLayersModelFile(join(dir, 'model.json'));
    assert.deepEqual(Array.from(again.weights), Array.from(trained));
  });

  it('saves a built-in model too, and refuses a directory holding other files', async () => {
    const dir = join(work, 'mlp');
    await saveLayersModel(dir, 'mlp', initialWeights('mlp', 1));
    const back = await loadLayersModelFile(join(dir, 'model.json'));
    assert.equal(weightsDigest(back.weights), weightsDigest(initialWeights('mlp', 1)));
    const busy = join(work, 'busy');
    mkdirSync(busy);
    writeFileSync(join(busy, 'notes.txt'), 'mine');
    await assert.rejects(
      saveLayersModel(busy, 'mlp', initialWeights('mlp', 1)),
      (e: unknown) =>
        e instanceof ModelConfigError && e.code === 'BAD_SAVE_DIR' && /notes\.txt/.test(e.message),
    );
    assert.equal(readFileSync(join(busy, 'notes.txt'), 'utf8'), 'mine');
  });
});
