/**
 * Issue 15: kpfl installs outside the repository. The library packages are built (`npm run build`,
 * tsc --build), packed (`npm pack`), installed into a scratch project in the temp directory with
 * the example's package.json, and examples/custom-app/main.ts is type-checked against the installed
 * .d.ts files and run there: a 2-member federation in HE mode, real gRPC with mutual TLS, Postgres,
 * Redis, tfjs training on an MNIST slice.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DEFAULT_DATASET, REPO_ROOT } from '../packages/cli/src/paths.js';

const EXAMPLE = join(REPO_ROOT, 'examples', 'custom-app');
/** What a program needs: every package but the command, the benchmarks and the web console. */
const LIBRARIES = [
  'common',
  'proto',
  'kpt',
  'he',
  'model',
  'store',
  'strategy',
  'secagg',
  'audit',
  'aggregator',
  'participant',
  'testing',
];
const TSC = createRequire(import.meta.url).resolve('typescript/bin/tsc');

function sh(
  cmd: string,
  args: string[],
  cwd: string,
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    // The scratch project must not inherit this repository's source condition or loader.
    const env = { ...process.env, NODE_OPTIONS: '' };
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b) => (out += b));
    child.stderr.on('data', (b) => (err += b));
    const timer = setTimeout(() => child.kill('SIGKILL'), 400_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

async function ok(cmd: string, args: string[], cwd: string): Promise<string> {
  const r = await sh(cmd, args, cwd);
  assert.equal(
    r.code,
    0,
    `${cmd} ${args.join(' ')} in ${cwd} failed:\n${r.err.slice(-3000)}\n${r.out.slice(-2000)}`,
  );
  return r.out;
}

test('examples/custom-app runs a 2-member HE federation from packed packages', {
  timeout: 900_000,
}, async (t) => {
  const tmp = mkdtempSync(join(tmpdir(), 'kpfl-pack-'));
  t.after(() => rmSync(tmp, { recursive: true, force: true }));
  const packs = join(tmp, 'packs');
  const app = join(tmp, 'custom-app');
  mkdirSync(packs);
  mkdirSync(app);

  await ok(process.execPath, [TSC, '--build', 'tsconfig.build.json'], REPO_ROOT);
  for (const p of LIBRARIES)
    await ok(
      'npm',
      ['pack', '--silent', '--workspace', `packages/${p}`, '--pack-destination', packs],
      REPO_ROOT,
    );
  const tarballs = readdirSync(packs);
  assert.equal(tarballs.length, LIBRARIES.length, `one tarball per package: ${tarballs.join(', ')}`);

  // The example's own package.json, with every @kpfl package taken from its tarball (none is on a registry).
  const pkg = JSON.parse(readFileSync(join(EXAMPLE, 'package.json'), 'utf8'));
  for (const p of LIBRARIES) pkg.dependencies[`@kpfl/${p}`] = `file:${join(packs, `kpfl-${p}-0.1.0.tgz`)}`;
  writeFileSync(join(app, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
  for (const f of ['main.ts', 'tsconfig.json']) copyFileSync(join(EXAMPLE, f), join(app, f));
  await ok('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'], app);

  // Nothing of the repository is reachable from there: the packages come from node_modules, built.
  const installed = JSON.parse(readFileSync(join(app, 'node_modules/@kpfl/testing/package.json'), 'utf8'));
  assert.equal(installed.exports['.'].default, './dist/index.js');
  await ok('npm', ['run', '--silent', 'typecheck'], app);

  const out = await ok('npm', ['start', '--silent', '--', DEFAULT_DATASET], app);
  const last = JSON.parse(out.trim().split('\n').at(-1)!) as {
    plan: string;
    digests: string[];
    accuracy: number[];
  };
  for (const line of out.trim().split('\n')) t.diagnostic(line);
  assert.equal(last.plan, 'done');
  assert.equal(last.digests.length, 2);
  assert.match(last.digests[0]!, /^sha256:[0-9a-f]{64}$/);
  assert.equal(last.digests[0], last.digests[1], 'both members hold the same global model');
  for (const a of last.accuracy) assert.ok(a > 0.5, `accuracy after 2 rounds ${a} (10% is chance)`);
  assert.match(out, /alice round 2: /);
});
