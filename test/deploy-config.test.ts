/**
 * Configuration files per role (`kpfl config check`, `--config`), explicit backend errors and the
 * participant plugin interface.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { loadParticipantPlugin } from '../packages/cli/src/commands/participant.js';
import { ConfigError, loadRoleConfig } from '../packages/cli/src/config.js';
import { DEFAULT_DATASET, REPO_ROOT } from '../packages/cli/src/paths.js';
import { UserError } from '../packages/cli/src/user-error.js';
import {
  getModelDefinition,
  loadIdxDataset,
  parameterCount,
  trainLocal,
} from '../packages/model/src/index.js';
import { runKpfl } from './harness.js';

const CONFIG_DIR = join(REPO_ROOT, 'docker', 'config');
const tmp = mkdtempSync(join(tmpdir(), 'kpfl-deploy-config-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** The environment without any KPFL_* override from the developer's shell. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env))
    if (!k.startsWith('KPFL_') && k !== 'DATABASE_URL' && k !== 'REDIS_URL') env[k] = v;
  return { ...env, ...extra };
}

/** `kpfl ...` in the clean environment plus `env`. */
function kpfl(args: string[], env: Record<string, string> = {}) {
  return runKpfl(args, cleanEnv(env));
}

function file(name: string, text: string): string {
  const p = join(tmp, name);
  writeFileSync(p, text);
  return p;
}

function assertNoStack(err: string) {
  assert.doesNotMatch(err, /^\s+at /m, `no stack trace:\n${err}`);
  assert.doesNotMatch(err, /unexpected error/);
}

describe('kpfl config check', () => {
  test('the shipped config files are valid', async () => {
    const files = readdirSync(CONFIG_DIR).map((f) => join(CONFIG_DIR, f));
    assert.equal(files.length, 3);
    const results = await Promise.all(files.map((f) => kpfl(['config', 'check', f])));
    results.forEach((r, i) => {
      assert.equal(r.code, 0, `${files[i]}: ${r.err}`);
      assert.match(r.out, /valid (aggregator|worker|participant) config/);
    });
  });

  const bad: { name: string; text: string; env?: Record<string, string>; message: RegExp }[] = [
    {
      name: 'listen.yaml',
      text: 'aggregator:\n  kit: /kit\n  listen: "50051"\n',
      message: /aggregator\.listen: expected host:port \(e\.g\. 0\.0\.0\.0:50051\), got "50051"/,
    },
    {
      name: 'port.yaml',
      text: 'aggregator:\n  kit: /kit\n  metricsPort: 70000\n',
      message: /aggregator\.metricsPort: expected a port number 0-65535, got 70000/,
    },
    {
      name: 'unknown.yaml',
      text: 'aggregator:\n  kit: /kit\n  listn: 0.0.0.0:1\n',
      message: /aggregator\.listn: unknown key \(did you mean listen\?\)/,
    },
    {
      name: 'type.json',
      text: '{"worker": {"kit": "/kit", "schema": 7}}',
      message: /worker\.schema: expected string, got 7/,
    },
    {
      name: 'schema.yaml',
      text: 'worker:\n  kit: /kit\n  schema: Prod-1\n',
      message: /worker\.schema: expected a Postgres schema name/,
    },
    {
      name: 'backend.yaml',
      text: 'participant:\n  kit: /kit\n  backend: tpu\n',
      message: /participant\.backend: expected one of auto, tensorflow-gpu, tensorflow, wasm, cpu, got "tpu"/,
    },
    {
      name: 'missing.yaml',
      text: 'participant:\n  aggregator: agg:50051\n',
      message: /participant\.kit: required \(set --kit, KPFL_KIT or participant\.kit in the config file\)/,
    },
    {
      name: 'index.yaml',
      text: 'participant:\n  kit: /kit\n  clients: 3\n  clientIndex: 3\n',
      message: /participant\.clientIndex: expected an index below clients \(3\), got 3/,
    },
    {
      name: 'url.yaml',
      text: 'worker:\n  kit: /kit\n  databaseUrl: mysql://x\n',
      message: /worker\.databaseUrl: expected a postgres:\/\/ URL/,
    },
    {
      name: 'syntax.yaml',
      text: 'aggregator:\n  kit: [/kit\n',
      message: /is not valid YAML or JSON \(line \d+, column \d+\)/,
    },
    { name: 'role.yaml', text: 'aggregatr:\n  kit: /kit\n', message: /aggregatr: unknown top-level key/ },
    {
      name: 'two.yaml',
      text: 'aggregator:\n  kit: /k\nworker:\n  kit: /k\n',
      message: /exactly one top-level key/,
    },
    {
      name: 'env.yaml',
      text: 'aggregator:\n  kit: /kit\n',
      env: { KPFL_METRICS_PORT: 'abc' },
      message:
        /aggregator\.metricsPort: expected a port number 0-65535, got "abc" \(from environment variable KPFL_METRICS_PORT\)/,
    },
  ];

  test('each kind of mistake: exit code 2, one clear message naming the key, no stack trace', async () => {
    const results = await Promise.all(bad.map((b) => kpfl(['config', 'check', file(b.name, b.text)], b.env)));
    results.forEach((r, i) => {
      const b = bad[i]!;
      assert.equal(r.code, 2, `${b.name}: exit code (stderr: ${r.err})`);
      assert.match(r.err, b.message, b.name);
      assertNoStack(r.err);
    });
  });

  test('a missing file', async () => {
    const r = await kpfl(['config', 'check', join(tmp, 'nope.yaml')]);
    assert.equal(r.code, 2);
    assert.match(r.err, /config file .*nope\.yaml does not exist/);
    assertNoStack(r.err);
  });

  test('--no-env checks the file alone', async () => {
    const f = file('ok.yaml', 'aggregator:\n  kit: /kit\n');
    const r = await kpfl(['config', 'check', '--no-env', '--json', f], { KPFL_METRICS_PORT: 'abc' });
    assert.equal(r.code, 0, r.err);
    assert.equal(JSON.parse(r.out).role, 'aggregator');
  });
});

describe('--config on the role commands', () => {
  test('a file for another role is refused before anything starts', async () => {
    const r = await kpfl(['aggregator', '--config', join(CONFIG_DIR, 'participant.yaml')]);
    assert.equal(r.code, 2);
    assert.match(
      r.err,
      /is a participant config; `kpfl aggregator` needs one whose top-level key is aggregator/,
    );
    assertNoStack(r.err);
  });

  test('a bad value in the file names the key', async () => {
    const r = await kpfl([
      'worker',
      '--config',
      file('w.yaml', 'worker:\n  kit: /kit\n  schema: "no spaces"\n'),
    ]);
    assert.equal(r.code, 2);
    assert.match(r.err, /worker\.schema: expected a Postgres schema name/);
    assertNoStack(r.err);
  });

  test('precedence: flag > environment > file > default; file paths are relative to the file', () => {
    const f = file(
      'agg.yaml',
      'aggregator:\n  kit: kits/coordinator\n  listen: 0.0.0.0:1\n  schema: from_file\n',
    );
    const l = loadRoleConfig('aggregator', {
      file: f,
      env: { KPFL_SCHEMA: 'from_env', KPFL_LISTEN: '127.0.0.1:2' },
      cli: { listen: '127.0.0.1:3' },
    });
    assert.equal(l.config.listen, '127.0.0.1:3');
    assert.equal(l.config.schema, 'from_env');
    assert.equal(l.config.kit, join(tmp, 'kits/coordinator'));
    assert.equal(l.config.worker, true, 'default');
    assert.deepEqual(
      { listen: l.sources.listen, schema: l.sources.schema, kit: l.sources.kit, worker: l.sources.worker },
      { listen: 'flag:--listen', schema: 'env:KPFL_SCHEMA', kit: 'file', worker: 'default' },
    );
    const e = loadRoleConfig('participant', {
      env: { KPFL_KIT: '/k', KPFL_INSECURE: 'true', KPFL_CLIENTS: '3' },
    });
    assert.equal(e.config.insecure, true);
    assert.equal(e.config.clients, 3);
    assert.throws(
      () => loadRoleConfig('participant', { env: { KPFL_KIT: '/k' }, cli: { aggregator: 'nohost' } }),
      (err: unknown) =>
        err instanceof ConfigError &&
        /participant\.aggregator: expected host:port \(e\.g\. aggregator:50051\), got "nohost" \(from --aggregator\)/.test(
          err.message,
        ),
    );
  });

  test('the resource limits (issue 19): defaults, file, environment, and a bad value named', () => {
    const d = loadRoleConfig('aggregator', { env: {}, cli: { kit: '/k' } });
    assert.deepEqual([d.config.maxInflightMib, d.config.sessionsPerMinute], [256, 60]);
    const f = file('limits.yaml', 'aggregator:\n  kit: /k\n  maxInflightMib: 32\n  sessionsPerMinute: 5\n');
    const l = loadRoleConfig('aggregator', { file: f, env: { KPFL_SESSIONS_PER_MINUTE: '7' } });
    assert.deepEqual([l.config.maxInflightMib, l.config.sessionsPerMinute], [32, 7]);
    assert.throws(
      () => loadRoleConfig('aggregator', { env: { KPFL_MAX_INFLIGHT_MIB: '0' }, cli: { kit: '/k' } }),
      (err: unknown) =>
        err instanceof ConfigError &&
        /aggregator\.maxInflightMib: expected an integer >= 1, got 0 \(from environment variable KPFL_MAX_INFLIGHT_MIB\)/.test(
          err.message,
        ),
    );
  });

  test('existing flags keep working without a config file', () => {
    const l = loadRoleConfig('participant', {
      env: {},
      cli: { kit: '/k', partition: 'iid', clients: 2, clientIndex: 1, backend: 'cpu', json: true },
    });
    assert.equal(l.config.aggregator, '127.0.0.1:50051');
    assert.equal(l.config.dataset, DEFAULT_DATASET);
    assert.equal(l.config.clientIndex, 1);
  });
});

describe('explicit tfjs backends', () => {
  const installed = (pkg: string) => {
    try {
      createRequire(import.meta.url).resolve(pkg);
      return true;
    } catch {
      return false;
    }
  };

  for (const [backend, pkg] of [
    ['tensorflow', '@tensorflow/tfjs-node'],
    ['tensorflow-gpu', '@tensorflow/tfjs-node-gpu'],
  ] as const) {
    test(`--backend ${backend} without ${pkg}: a clear error naming the package, exit 2`, {
      skip: installed(pkg) ? `${pkg} is installed here` : false,
    }, async () => {
      // Fails before reading the kit (tmp holds none) or connecting anywhere.
      const r = await kpfl(['participant', '--backend', backend, '--kit', tmp]);
      assert.equal(r.code, 2, r.err);
      assert.match(
        r.err,
        new RegExp(`backend '${backend}' is not available: ${pkg} is not installed \\(npm install ${pkg}\\)`),
      );
      assertNoStack(r.err);
    });
  }

  test('KPFL_BACKEND sets it too', { skip: installed('@tensorflow/tfjs-node') }, async () => {
    const r = await kpfl(['participant', '--kit', tmp], { KPFL_BACKEND: 'tensorflow' });
    assert.equal(r.code, 2);
    assert.match(r.err, /npm install @tensorflow\/tfjs-node/);
  });
});

describe('participant plugins', () => {
  test('the example plugin registers its model and loads CSV data that the model trains on', async () => {
    const plugin = await loadParticipantPlugin(join(REPO_ROOT, 'docker/plugins/example-plugin.ts'));
    assert.equal(parameterCount('logreg'), 7850);
    assert.equal(getModelDefinition('logreg').numClasses, 10);
    // A small CSV dataset from the first MNIST examples.
    const mnist = await loadIdxDataset(DEFAULT_DATASET);
    const csv = (images: Uint8Array, labels: Uint8Array, n: number) =>
      Array.from({ length: n }, (_, i) =>
        [labels[i], ...images.subarray(i * 784, (i + 1) * 784)].join(','),
      ).join('\n');
    const dir = join(tmp, 'csv');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir);
    writeFileSync(join(dir, 'train.csv'), csv(mnist.trainImages, mnist.trainLabels, 200));
    writeFileSync(join(dir, 'test.csv'), csv(mnist.testImages, mnist.testLabels, 50));
    const data = await plugin.loadData!({ dir, testLimit: 20 });
    assert.equal(data.trainIndices.length, 200);
    assert.equal(data.testLabels.length, 20);
    assert.equal(data.perExample, 784);
    assert.match(data.commitment, /^sha256:[0-9a-f]{64}$/);
    const weights = new Float32Array(7850);
    const r = await trainLocal({
      config: { model: 'logreg', epochs: 1, batchSize: 20, lr: 0.1, seed: 1 },
      weights,
      images: data.trainFeatures,
      labels: data.trainLabels,
      indices: data.trainIndices,
      pixels: data.perExample,
    });
    assert.equal(r.weights.length, 7850);
    assert.equal(r.examples, 200);
    assert.ok(Number.isFinite(r.loss));
  });

  test('a broken plugin is a clear error', async () => {
    const p = file('bad-plugin.mjs', 'export default 42;\n');
    await assert.rejects(loadParticipantPlugin(p), /must export an object \{ models\?, loadData\? \}/);
    await assert.rejects(
      loadParticipantPlugin(join(tmp, 'absent.mjs')),
      /plugin .*absent\.mjs does not exist/,
    );
    const dup = file('dup-plugin.mjs', "export default { models: [{ name: 'mlp', layers: [] }] };\n");
    await assert.rejects(loadParticipantPlugin(dup), /'mlp' is built in/);
    // The exports are checked with a schema that names the first bad field.
    const model = "name: 'tiny', inputShape: [4], numClasses: 2, build: () => null";
    const layer = "{ name: 'w', shape: [4, 2], init: 'zeros' }";
    for (const [name, text, message] of [
      [
        'no-shape.mjs',
        `export default { models: [{ ${model}, layers: [{ name: 'w', init: 'zeros' }] }] };`,
        /: models\.0\.layers\.0\.shape: required$/,
      ],
      [
        'bad-dim.mjs',
        `export default { models: [{ ${model}, layers: [{ name: 'w', shape: [4, 0], init: 'zeros' }] }] };`,
        /: models\.0\.layers\.0\.shape\.1: must be a positive integer$/,
      ],
      [
        'no-build.mjs',
        `export default { models: [{ name: 'tiny', inputShape: [4], numClasses: 2, layers: [${layer}] }] };`,
        /: models\.0\.build: expected a function$/,
      ],
      ['typo.mjs', `export default { loaddata: () => null };`, /: unknown key "loaddata"$/],
      ['not-fn.mjs', `export default { loadData: 'data.csv' };`, /: loadData: expected a function$/],
      [
        'throws.mjs',
        `export default () => { throw new Error('boom'); };`,
        /: its default export threw: boom$/,
      ],
    ] as const) {
      await assert.rejects(loadParticipantPlugin(file(name, `${text}\n`)), (e: unknown) => {
        assert.ok(e instanceof UserError, `${name}: a UserError`);
        assert.match(e.message, new RegExp(`^plugin .*${name.replace('.', '\\.')}${message.source}`), name);
        return true;
      });
    }
    // Positive control: the same model, complete, loads (and registers).
    const good = file('good.mjs', `export default { models: [{ ${model}, layers: [${layer}] }] };\n`);
    assert.equal((await loadParticipantPlugin(good)).models?.[0]?.name, 'tiny');
    assert.equal(parameterCount('tiny'), 8);
  });
});
