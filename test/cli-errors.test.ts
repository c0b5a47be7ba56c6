import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
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
  for (const f of [
    'train-images-idx3-ubyte',
    'train-labels-idx1-ubyte',
    't10k-images-idx3-ubyte',
    't10k-labels-idx1-ubyte',
  ]) {
    writeFileSync(join(corrupt, f), Buffer.from('not an idx file'));
  }
  const cases: { args: string[]; env?: Record<string, string>; code: number; message: RegExp }[] = [
    { args: ['--model', 'resnet'], code: 2, message: /--model must be mlp or cnn, got "resnet"/ },
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
