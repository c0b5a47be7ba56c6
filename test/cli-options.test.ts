/**
 * Every option of every `kpfl` command refuses a malformed value while the command line is parsed:
 * one line on stderr, exit code 2, no stack trace, and the command's action never runs.
 *
 * The commands and options come from the commander program itself (buildProgram()), so an option
 * added later is covered without touching this file; the malformed value is derived from the kind of
 * value the option takes (its choices, or the `kind` its parser is tagged with in user-error.ts). An
 * option that takes a value but has neither is a failure here: give it a parser, or list it in
 * FREE_TEXT with the reason it cannot be malformed.
 *
 * The bulk runs in this process (a fresh program per case, its actions replaced by a recorder); a
 * sample of commands runs as the real CLI, and some of those check that nothing was created.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { Argument, Command, Option } from 'commander';
import pg from 'pg';
import { buildProgram, run } from '../packages/cli/src/main.js';
import type { OptionKind, OptionParser } from '../packages/cli/src/user-error.js';
import { DEFAULT_DATABASE_URL } from '../packages/store/src/index.js';
import { runKpfl } from './harness.js';

const tmp = mkdtempSync(join(tmpdir(), 'kpfl-cli-options-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const existing = join(tmp, 'exists.json');
writeFileSync(existing, '{}\n');
const existingDir = join(tmp, 'dir');
mkdirSync(existingDir);
/** A regular file: nothing can be created below it. */
const aFile = join(tmp, 'a-file');
writeFileSync(aFile, 'x');
const missing = join(tmp, 'missing.json');

/** For each kind of value: one that must be refused and one that must be accepted. */
const VALUES: Record<OptionKind, { bad: string; good: (p: OptionParser<unknown>) => string }> = {
  digest: { bad: 'sha256:xyz', good: () => `sha256:${'0'.repeat(64)}` },
  int: { bad: 'abc', good: (p) => p.example! },
  number: { bad: 'abc', good: (p) => p.example! },
  duration: { bad: 'nope', good: () => '90s' },
  time: { bad: '2025-02-30', good: () => '2025-01-31T12:00:00Z' },
  id: { bad: 'has space', good: () => 'alice' },
  'id-list': { bad: 'alice,has space', good: () => 'alice,bob' },
  'role-list': { bad: 'kpfl_app,Bad-Role', good: () => 'kpfl_app' },
  'plan-id': { bad: 'has space', good: () => 'plan-1' },
  'model-name': { bad: 'has space', good: () => 'mlp' },
  schema: { bad: 'Bad-Schema', good: () => 'kpfl_test' },
  'redis-prefix': { bad: 'has space', good: () => 'kpfl:test' },
  host: { bad: 'has space', good: () => '127.0.0.1' },
  'host-list': { bad: 'localhost,has space', good: () => 'localhost,127.0.0.1' },
  'host-port': { bad: 'nohost', good: () => '127.0.0.1:50051' },
  'postgres-url': { bad: 'mysql://x', good: () => 'postgres://kpfl@127.0.0.1:5432/kpfl' },
  'redis-url': { bad: 'http://x', good: () => 'redis://127.0.0.1:6379' },
  'input-path': { bad: missing, good: () => existing },
  'output-file': { bad: join(aFile, 'out.json'), good: () => join(tmp, 'out.json') },
  'output-dir': { bad: join(aFile, 'out'), good: () => join(tmp, 'out-dir') },
  partition: { bad: 'bogus:3', good: () => 'shards:2' },
  'partition-list': { bad: 'iid,bogus', good: () => 'iid,dirichlet:0.5' },
  'server-optimizer': { bad: 'sgd', good: () => 'fedavgm:momentum=0.5' },
  'int-list': { bad: '1,x', good: (p) => `${p.example ?? 1},${Number(p.example ?? 1) + 1}` },
  'choice-list': { bad: 'bogus', good: (p) => p.choices!.join(',') },
  'column-name': { bad: '', good: () => 'label' },
  'name-list': { bad: 'a,,b', good: () => 'a,b' },
  'image-size': { bad: '28', good: () => '28x28' },
};

/**
 * Options that take free text that cannot be malformed, with the reason. Empty today: every option
 * that takes a value has a typed parser or choices.
 */
const FREE_TEXT: Record<string, string> = {};

/** What each command needs to parse at all: its arguments and required options, all valid. */
const BASE: Record<string, { args?: string[]; options?: string[] }> = {
  provision: { options: ['--federation', 'f', '--members', 'alice', '--out', join(tmp, 'kits')] },
  'members add': { args: ['dave'], options: ['--kit', existingDir] },
  'members revoke': { args: ['dave'], options: ['--kit', existingDir] },
  'members list': { options: ['--kit', existingDir] },
  'coordinator init': { options: ['--federation', 'f', '--out', join(tmp, 'coordinator-kits')] },
  'member init': { options: ['--federation', 'f', '--member', 'alice', '--out', join(tmp, 'alice')] },
  'member join': { options: ['--response', existing, '--kit', existingDir] },
  'rounds schedule': { options: ['--federation', 'f', '--rounds', '1'] },
  'rounds list': { options: ['--federation', 'f'] },
  'rounds status': { options: ['--federation', 'f'] },
  'rounds cancel': { options: ['--federation', 'f'] },
  'rounds watch': { options: ['--federation', 'f'] },
  'audit export': { options: ['--out', join(tmp, 'export.json')] },
  'config check': { args: [existing] },
  'config keys': { args: ['worker'] },
};

function leaves(cmd: Command, path: string[] = []): { path: string[]; cmd: Command }[] {
  if (cmd.commands.length === 0) return [{ path, cmd }];
  return cmd.commands.flatMap((c) => leaves(c, [...path, c.name()]));
}

type Case = { bad: string; good: string } | { skip: string } | { untyped: true };

function valuesFor(target: Option | Argument): Case {
  if (target.argChoices) return { bad: 'not-a-choice', good: target.argChoices[0]! };
  const parser = target.parseArg as OptionParser<unknown> | undefined;
  const v = parser?.kind ? VALUES[parser.kind] : undefined;
  if (v && parser) return { bad: v.bad, good: v.good(parser) };
  return { untyped: true };
}

/** Parses `kpfl ...args` in this process with every action replaced; what it printed and whether an action ran. */
async function parse(args: string[]): Promise<{ code: number; err: string; out: string; ran: boolean }> {
  const program = buildProgram();
  let err = '';
  let out = '';
  // Subcommands share the root's output configuration object: capture theirs too.
  Object.assign(program.configureOutput(), {
    writeErr: (s: string) => (err += s),
    writeOut: (s: string) => (out += s),
  });
  let ran = false;
  for (const l of leaves(program)) {
    l.cmd.action(() => {
      ran = true;
    });
  }
  // run() reads process.exitCode (a command sets it); the test runner sets it too, once a test fails.
  const runnerExitCode = process.exitCode;
  process.exitCode = undefined;
  try {
    const code = await run(program, ['node', 'kpfl', ...args], (s) => (err += s));
    return { code, err, out, ran };
  } finally {
    process.exitCode = runnerExitCode;
  }
}

function assertOneLineRefusal(r: { code: number | null; err: string }, label: string): void {
  assert.equal(r.code, 2, `${label}: exit code 2 (stderr: ${r.err})`);
  assert.match(r.err, /^kpfl: /, `${label}: starts with "kpfl: "`);
  assert.equal(r.err.trimEnd().split('\n').length, 1, `${label}: one line, got:\n${r.err}`);
  assert.doesNotMatch(r.err, /^ {4}at /m, `${label}: no stack trace`);
}

describe('every option of every command refuses a malformed value (in process)', () => {
  const commands = leaves(buildProgram());

  test('the program has the commands this test knows how to start', () => {
    const names = commands.map((c) => c.path.join(' '));
    for (const known of Object.keys(BASE)) assert.ok(names.includes(known), `${known} exists`);
    assert.ok(names.length >= 20, `found ${names.length} commands`);
  });

  for (const { path, cmd } of commands) {
    const name = path.join(' ');
    const base = BASE[name] ?? {};
    const argv = (args = base.args ?? [], extra: string[] = []) => [
      ...path,
      ...args,
      ...(base.options ?? []),
      ...extra,
    ];

    test(`kpfl ${name}`, async () => {
      // Positive control: the command line with only what the command needs parses and reaches the action.
      const control = await parse(argv());
      assert.equal(control.code, 0, `kpfl ${argv().join(' ')}: ${control.err}`);
      assert.ok(control.ran, `kpfl ${name}: the action runs with valid input`);

      const untyped: string[] = [];
      for (const opt of cmd.options) {
        const flag = opt.long ?? opt.short!;
        const label = `kpfl ${name} ${flag}`;
        if (!(opt.required || opt.optional)) {
          // A flag takes no value: giving it one is refused, and the flag alone is accepted.
          const r = await parse(argv(undefined, [`${flag}=bogus`]));
          assertOneLineRefusal(r, `${label}=bogus`);
          assert.equal(r.ran, false, `${label}=bogus: the action did not run`);
          const ok = await parse(argv(undefined, [flag]));
          assert.equal(ok.code, 0, `${label}: ${ok.err}`);
          continue;
        }
        const c = FREE_TEXT[`${name} ${flag}`] ? { skip: FREE_TEXT[`${name} ${flag}`]! } : valuesFor(opt);
        if ('untyped' in c) {
          untyped.push(flag);
          continue;
        }
        if ('skip' in c) continue;
        const given = (value: string) => (opt.optional ? [`${flag}=${value}`] : [flag, value]);
        const bad = await parse(argv(undefined, given(c.bad)));
        assertOneLineRefusal(bad, `${label} ${c.bad}`);
        assert.equal(bad.ran, false, `${label} ${c.bad}: the action did not run`);
        const good = await parse(argv(undefined, given(c.good)));
        assert.equal(good.code, 0, `${label} ${c.good} is accepted: ${good.err}`);
        assert.ok(good.ran, `${label} ${c.good}: the action runs`);
      }
      for (const [i, arg] of cmd.registeredArguments.entries()) {
        const c = valuesFor(arg);
        if (!('bad' in c)) {
          untyped.push(`<${arg.name()}>`);
          continue;
        }
        const args = [...(base.args ?? [])];
        args[i] = c.bad;
        const bad = await parse(argv(args));
        assertOneLineRefusal(bad, `kpfl ${name} <${arg.name()}> ${c.bad}`);
        assert.equal(bad.ran, false, `kpfl ${name} <${arg.name()}> ${c.bad}: the action did not run`);
      }
      assert.deepEqual(
        untyped,
        [],
        `kpfl ${name}: these take a value but have no typed parser or choices (add one, or list them in FREE_TEXT with a reason)`,
      );
    });
  }

  test('dates that JavaScript would roll over are refused', async () => {
    for (const t of [
      '2025-02-30',
      '2025-02-29',
      '2024-13-01',
      '2025-04-31',
      '2025-01-31T24:00:00Z',
      '2025-01-31T12:60Z',
    ]) {
      const r = await parse(['audit', 'contributions', '--from', t]);
      assertOneLineRefusal(r, `--from ${t}`);
      assert.match(r.err, /--from must be a real ISO 8601 date or time/);
    }
    for (const t of ['2024-02-29', '2025-01-31', '2025-01-31T23:59:59.5+02:00', '2025-12-31 08:00']) {
      const r = await parse(['audit', 'contributions', '--from', t]);
      assert.equal(r.code, 0, `--from ${t}: ${r.err}`);
    }
  });
});

describe('the real CLI refuses malformed values in one line, before it creates anything', () => {
  const id = Math.random().toString(16).slice(2, 10);
  const schemaExists = async (schema: string) => {
    const c = new pg.Client({ connectionString: process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL });
    await c.connect();
    try {
      return (
        (await c.query('SELECT 1 FROM information_schema.schemata WHERE schema_name = $1', [schema]))
          .rowCount === 1
      );
    } finally {
      await c.end();
    }
  };

  test('one command of each kind, spawned', { timeout: 120_000 }, async () => {
    const kits = join(tmp, 'spawned-kits');
    const exported = join(tmp, 'spawned-export.json');
    const exportSchema = `test_cliopt_${id}_export`;
    const scheduleSchema = `test_cliopt_${id}_schedule`;
    const cases: { args: string[]; env?: Record<string, string>; message: RegExp }[] = [
      {
        // --out comes first: the whole command line is parsed before provisioning writes anything.
        args: [
          'provision',
          '--out',
          kits,
          '--federation',
          'f',
          '--members',
          'a',
          '--server-hosts',
          'bad host',
        ],
        message: /--server-hosts: expected host names or IP addresses/,
      },
      {
        args: [
          'audit',
          'export',
          '--out',
          exported,
          '--federation',
          'f',
          '--schema',
          exportSchema,
          '--database-url',
          'mysql://x',
        ],
        message: /--database-url must be a postgres:\/\/ or postgresql:\/\/ URL/,
      },
      {
        args: [
          'rounds',
          'schedule',
          '--federation',
          'f',
          '--schema',
          scheduleSchema,
          '--rounds',
          '1',
          '--start-at',
          '2025-02-30',
        ],
        message: /--start-at must be a real ISO 8601 date or time/,
      },
      {
        args: ['members', 'add', 'has space', '--kit', existingDir],
        message: /member id: "has space" is not a valid id/,
      },
      {
        args: ['demo', '--backend', 'tpu'],
        message: /argument 'tpu' is invalid\. Allowed choices are auto, /,
      },
      { args: ['aggregator', '--listen', 'nohost'], message: /--listen must be host:port/ },
      { args: ['worker', '--log-level', 'loud'], message: /argument 'loud' is invalid/ },
      { args: ['participant', '--plugin', missing], message: /--plugin: .*missing\.json does not exist/ },
      { args: ['config', 'keys', 'nope'], message: /'nope' is invalid for argument 'role'/ },
      { args: ['bench', 'he', '--counts', '1,x'], message: /--counts must be an integer >= 1, got "x"/ },
      {
        args: ['audit', 'rounds', '--format', 'xml'],
        message: /argument 'xml' is invalid\. Allowed choices are table, json, csv/,
      },
      {
        args: ['rounds', 'list', '--federation', 'f'],
        env: { KPFL_SCHEMA: 'Bad Schema' },
        message: /--schema must be a Postgres schema name.*\(from environment variable KPFL_SCHEMA\)/,
      },
    ];
    const results = await Promise.all(cases.map((c) => runKpfl(c.args, { ...process.env, ...c.env })));
    results.forEach((r, i) => {
      const c = cases[i]!;
      const label = `kpfl ${c.args.join(' ')}`;
      assertOneLineRefusal(r, label);
      assert.match(r.err, c.message, label);
      assert.equal(r.out, '', `${label}: nothing on stdout`);
    });
    assert.equal(existsSync(kits), false, 'provision wrote no kits');
    assert.equal(existsSync(exported), false, 'audit export wrote no file');
    assert.equal(await schemaExists(exportSchema), false, 'audit export created no schema');
    assert.equal(await schemaExists(scheduleSchema), false, 'rounds schedule created no schema');
  });
});
