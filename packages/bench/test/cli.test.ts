import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { SOURCE_NODE_ARGS } from '../../cli/src/paths.js';

const BENCH_COMMAND = new URL('../../cli/src/commands/bench.ts', import.meta.url).href;
const COMMANDER = import.meta.resolve('commander');

/**
 * Runs `kpfl bench ...` with the real command definition in a child process (this test runner owns its
 * own stdout), with the same error handling as packages/cli/src/main.ts.
 */
function bench(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const code = `
    const { Command, CommanderError } = await import(${JSON.stringify(COMMANDER)});
    const { registerBench } = await import(${JSON.stringify(BENCH_COMMAND)});
    const program = new Command('kpfl').exitOverride();
    registerBench(program);
    try { await program.parseAsync(process.argv); process.exit(0); }
    catch (err) {
      if (err instanceof CommanderError) process.exit(err.exitCode);
      process.stderr.write('kpfl: ' + err.message + '\\n');
      process.exit(err.exitCode ?? 1);
    }`;
  const child = spawn(
    process.execPath,
    [...SOURCE_NODE_ARGS, '--input-type=module', '-e', code, 'kpfl', 'bench', ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stdout.on('data', (b) => (out += b));
  child.stderr.on('data', (b) => (err += b));
  return new Promise((resolve) => child.on('close', (c) => resolve({ code: c, out, err })));
}

test('kpfl bench he --json FILE writes the table to stdout and the results to the file', {
  timeout: 120_000,
}, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kpfl-bench-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'he.json');
  const { code, out, err } = await bench(['he', '--sizes', '4000', '--json', file]);
  assert.equal(code, 0, err);
  assert.match(out, /bytes\/f32/);
  const json = JSON.parse(readFileSync(file, 'utf8'));
  assert.equal(json.kpfl, 'bench');
  assert.equal(json.suites.he.suite, 'he');
  const he = json.suites.he;
  assert.deepEqual(
    he.results.map((x: { set: string }) => x.set),
    ['plain', he.chosen, 'exact', 'reference'],
    "the chosen set, the plain codec, secure mode's exact set and the reference set side by side",
  );
  assert.equal(he.summary.length, 1);
  assert.ok(
    he.summary[0].referenceExpansion > he.summary[0].expansion,
    'the chosen set is smaller than the reference',
  );
  assert.equal(typeof he.summary[0].targets.expansionAtMost4_1, 'boolean');
});

test('kpfl bench convergence --json prints JSON on stdout and writes the HTML report', {
  timeout: 120_000,
}, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kpfl-bench-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { code, out, err } = await bench([
    'convergence',
    '--json',
    '--report-dir',
    dir,
    '--partitions',
    'iid',
    '--epochs',
    '1',
    '--clients',
    '4',
    '--fraction',
    '0.5',
    '--train-limit',
    '400',
    '--test-limit',
    '100',
    '--max-rounds',
    '2',
    '--workers',
    '0',
  ]);
  assert.equal(code, 0, err);
  const json = JSON.parse(out);
  assert.equal(json.suites.convergence.runs[0].roundsRun, 2);
  const report = json.reports.convergence as string;
  assert.ok(report.startsWith(dir));
  assert.match(err, /accuracy report: /);
  assert.match(err, /IID, E=1, B=10/, 'the table goes to stderr when JSON goes to stdout');
  assert.match(readFileSync(report, 'utf8'), /IID, E=1, B=10/);
});

test('kpfl bench refuses an unknown suite and bad options before running anything', {
  timeout: 60_000,
}, async () => {
  const [a, b, c] = await Promise.all([
    bench(['nope']),
    bench(['convergence', '--partitions', 'weird']),
    bench(['convergence', '--optimizer', 'sgd']),
  ]);
  assert.notEqual(a.code, 0);
  assert.match(
    a.err,
    /'nope' is invalid for argument 'suite'\. Allowed choices are he, overhead, scale, convergence, streams, secure, all/,
  );
  assert.match(b.err, /invalid partition 'weird'/);
  assert.match(c.err, /unknown server optimizer 'sgd'/);
});
