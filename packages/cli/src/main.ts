#!/usr/bin/env node
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EXIT_CODES } from '@kpfl/common';
import { Command, CommanderError } from 'commander';
import { registerAggregator } from './commands/aggregator.js';
import { registerAudit } from './commands/audit.js';
import { registerBench } from './commands/bench.js';
import { registerConfig } from './commands/config.js';
import { registerConsole } from './commands/console.js';
import { registerDemo } from './commands/demo.js';
import { registerHeKey } from './commands/he-key.js';
import { registerMember } from './commands/member.js';
import { registerMigrate } from './commands/migrate.js';
import { registerParticipant } from './commands/participant.js';
import { registerProvision } from './commands/provision.js';
import { registerRounds } from './commands/rounds.js';
import { reportError } from './user-error.js';

/**
 * The whole `kpfl` command tree, with nothing run: main() parses process.argv with it, and
 * test/cli-options.test.ts walks its commands and options.
 *
 * commander's own refusals (unknown option, missing or invalid value, bad choice) are written as one
 * line, `kpfl: <message>`, and thrown as a CommanderError (exitOverride): the caller decides the exit.
 */
export function buildProgram(): Command {
  const program = new Command('kpfl')
    .description(
      'kpfl: federated learning with encrypted updates, verifiable contributions and crash-safe rounds',
    )
    .configureOutput({
      // commander writes "error: ...", sometimes with a suggestion on a second line: one line instead.
      outputError: (str, write) =>
        write(
          `kpfl: ${str
            .replace(/^error: /, '')
            .trim()
            .replace(/\s*\n\s*/g, ' ')} (see --help)\n`,
        ),
    })
    .exitOverride();

  registerDemo(program);
  registerAggregator(program);
  registerParticipant(program);
  registerHeKey(program);
  registerProvision(program);
  registerMember(program);
  registerMigrate(program);
  registerRounds(program);
  registerAudit(program);
  registerConsole(program);
  registerConfig(program);
  registerBench(program);
  return program;
}

/** Exit code of a CommanderError: 0 for --help and --version, 2 (usage) for every refusal. */
export function commanderExitCode(err: CommanderError): number {
  return err.exitCode === 0 ? 0 : EXIT_CODES.usage;
}

/**
 * Parses `argv` (node, script, args...) with `program` and runs the command; returns the exit code.
 * What ended the command is reported on `stderr`: commander's refusals were already written by it.
 */
export async function run(
  program: Command,
  argv: readonly string[],
  stderr: (text: string) => void = (text) => process.stderr.write(text),
): Promise<number> {
  try {
    await program.parseAsync([...argv]);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) return commanderExitCode(err);
    const r = reportError(err);
    stderr(r.text);
    return r.exitCode;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exit(await run(buildProgram(), process.argv));
}
