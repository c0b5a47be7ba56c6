import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { test } from 'node:test';
import pg from 'pg';
import { initialWeights, saveLayersModel } from '../packages/model/src/index.js';
import { DEFAULT_DATABASE_URL } from '../packages/store/src/index.js';
import { runKpfl } from './harness.js';

test('kpfl demo refuses bad input with one clear line, a non-zero exit and nothing created', {
  timeout: 120_000,
}, async (t) => {
  const empty = mkdtempSync(join(tmpdir(), 'kpfl-empty-'));
  const corrupt = mkdtempSync(join(tmpdir(), 'kpfl-corrupt-'));
  t.after(() => {
    rmSync(empty, { recursive: true, force: true });
    rmSync(corrupt, { recursive: true, force: true });
  });
  const rows = Array.from({ length: 20 }, (_, i) => `${i},${i % 3},${i % 2 ? 'x' : 'y'}`);
  const csv = join(empty, '..', `${basename(empty)}-table.csv`);
  const ragged = join(empty, '..', `${basename(empty)}-ragged.csv`);
  writeFileSync(csv, `a,b,label\n${rows.join('\n')}\n`);
  writeFileSync(ragged, `a,b,label\n1,2,x\n3,y\n`);
  t.after(() => {
    rmSync(csv, { force: true });
    rmSync(ragged, { force: true });
  });
  for (const f of [
    'train-images-idx3-ubyte',
    'train-labels-idx1-ubyte',
    't10k-images-idx3-ubyte',
    't10k-labels-idx1-ubyte',
  ]) {
    writeFileSync(join(corrupt, f), Buffer.from('not an idx file'));
  }
  const cases: { args: string[]; env?: Record<string, string>; code: number; message: RegExp }[] = [
    {
      args: ['--model', 'resnet'],
      code: 2,
      message: /--model must be mlp, cnn or dense:F-H-\.\.\.-C, got "resnet"/,
    },
    { args: ['--model', 'dense:13-0-3'], code: 2, message: /--model: invalid dense model 'dense:13-0-3'/ },
    { args: ['--standardize', 'none'], code: 2, message: /--standardize: only applies to --data-format csv/ },
    {
      args: ['--data-format', 'images'],
      code: 2,
      message: /--image-size: --data-format images needs the size every image is resized to/,
    },
    {
      args: ['--data-format', 'csv', '--dataset', csv, '--feature-columns', 'a,nope', '--model', 'dense:2-2'],
      code: 2,
      message: /nope/,
    },
    {
      args: ['--data-format', 'csv', '--dataset', ragged, '--model', 'dense:2-2'],
      code: 2,
      message: /ragged\.csv:3/,
    },
    {
      args: ['--data-format', 'csv', '--dataset', csv, '--model', 'dense:3-2'],
      code: 2,
      message: /model dense:3-2 takes 3 values per example, but .*table\.csv has 2/,
    },
    {
      args: ['--partition', 'bogus:3'],
      code: 2,
      message: /invalid partition 'bogus:3'; valid forms: 'iid', 'shards:N'/,
    },
    { args: ['--partition', 'dirichlet:-1'], code: 2, message: /dirichlet/ },
    { args: ['--dataset', empty], code: 2, message: /missing train-images-idx3-ubyte/ },
    { args: ['--dataset', corrupt], code: 2, message: /train-images-idx3-ubyte/ },
    { args: ['--participants', '0'], code: 2, message: /--participants must be an integer >= 1/ },
    {
      args: [],
      env: { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/test' },
      code: 3,
      message: /cannot reach Postgres at .*127\.0\.0\.1:1.*set DATABASE_URL/,
    },
    {
      args: [],
      env: { REDIS_URL: 'redis://127.0.0.1:1' },
      code: 3,
      message: /cannot reach Redis at redis:\/\/127\.0\.0\.1:1.*set REDIS_URL/,
    },
  ];
  for (const c of cases) {
    const r = await runKpfl(['demo', '--rounds', '1', ...c.args], { ...process.env, ...c.env });
    const label = `kpfl demo ${c.args.join(' ')} ${JSON.stringify(c.env ?? {})}`;
    assert.equal(r.code, c.code, `${label}: exit code (${r.err})`);
    assert.match(r.err, c.message, label);
    assert.equal(r.err.trim().split('\n').length, 1, `${label}: one line, got:\n${r.err}`);
    assert.doesNotMatch(r.err, /\n\s+at /, `${label}: no stack trace`);
    // The demo announces itself only after every check passed, right before it creates anything.
    assert.doesNotMatch(
      r.out,
      /kpfl demo:/,
      `${label}: refused before provisioning or touching the database`,
    );
  }
});

test('reported: bad audit input ends with one line and exit 2, not "unexpected error" and a stack', {
  timeout: 120_000,
}, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kpfl-audit-input-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const schema = `test_clierr_${randomBytes(4).toString('hex')}`;
  const notJwks = join(dir, 'not-jwks.json');
  writeFileSync(notJwks, '{"federation": "F"}\n');
  const cases: { args: string[]; message: RegExp }[] = [
    {
      // 2025-02-30 is not a date (JavaScript's Date would take it as March 2).
      args: ['audit', 'contributions', '--federation', 'F', '--schema', schema, '--from', '2025-02-30'],
      message: /^kpfl: --from must be a real ISO 8601 date or time, .*got "2025-02-30"$/,
    },
    {
      args: ['audit', 'verify', '--jwks', 'missing.json'],
      message: /^kpfl: --jwks: missing\.json does not exist$/,
    },
    {
      args: ['audit', 'verify', '--file', notJwks, '--jwks', notJwks],
      message: /^kpfl: --jwks: .*not-jwks\.json is not a JWKS or federation\.json: keys: required$/,
    },
  ];
  const results = await Promise.all(cases.map((c) => runKpfl(c.args)));
  results.forEach((r, i) => {
    const label = `kpfl ${cases[i]!.args.join(' ')}`;
    assert.equal(r.code, 2, `${label}: exit code (${r.err})`);
    assert.equal(r.err.trim().split('\n').length, 1, `${label}: one line, got:\n${r.err}`);
    assert.match(r.err.trim(), cases[i]!.message, label);
    assert.doesNotMatch(r.err, /unexpected error|\n\s+at /, `${label}: no stack trace`);
  });
  // Refused while parsing: the operator-mode query never opened (or created) the schema.
  const db = new pg.Client({ connectionString: process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL });
  await db.connect();
  try {
    const r = await db.query('SELECT 1 FROM information_schema.schemata WHERE schema_name = $1', [schema]);
    assert.equal(r.rowCount, 0, `schema ${schema} was not created`);
  } finally {
    await db.end();
  }
});

test('a bad --model-file is refused with one line naming the problem, exit 2, before anything runs', {
  timeout: 120_000,
}, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kpfl-model-file-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const notModel = join(dir, 'model.json');
  writeFileSync(notModel, '{"format": "layers-model"}\n');
  // A valid model file for 10 inputs: the demo's MNIST has 784 per example.
  const narrow = join(dir, 'narrow');
  await saveLayersModel(narrow, 'dense:10-4-10', initialWeights('dense:10-4-10', 1));
  const schedule = ['rounds', 'schedule', '--federation', 'f', '--rounds', '1'];
  const cases: { args: string[]; message: RegExp }[] = [
    {
      args: [...schedule, '--model-file', notModel],
      message: /model file .*model\.json: is not a tfjs LayersModel: it has no modelTopology/,
    },
    {
      args: [...schedule, '--model-file', notModel, '--model', 'cnn'],
      message:
        /--model-file sets --model, --parameter-count and --initial-model-digest from the file; drop --model/,
    },
    {
      args: ['demo', '--rounds', '1', '--model-file', notModel],
      message: /model file .*: is not a tfjs LayersModel/,
    },
    {
      args: ['demo', '--rounds', '1', '--model-file', join(narrow, 'model.json')],
      message: /model layers:[0-9a-f]{12} takes 10 values per example, but .* has 784/,
    },
  ];
  for (const c of cases) {
    const r = await runKpfl(c.args, process.env);
    const label = `kpfl ${c.args.join(' ')}`;
    assert.equal(r.code, 2, `${label}: exit code (${r.err})`);
    assert.match(r.err, c.message, label);
    assert.equal(r.err.trim().split('\n').length, 1, `${label}: one line, got:\n${r.err}`);
    assert.doesNotMatch(r.err, /\n\s+at /, `${label}: no stack trace`);
    assert.doesNotMatch(r.out, /kpfl demo:|"plan"/, `${label}: nothing was started`);
  }
});
