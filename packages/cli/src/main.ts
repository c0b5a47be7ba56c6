#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { registerAggregator } from './commands/aggregator.js';
import { registerAudit } from './commands/audit.js';
import { registerBench } from './commands/bench.js';
import { registerConfig } from './commands/config.js';
import { registerDemo } from './commands/demo.js';
import { registerParticipant } from './commands/participant.js';
import { registerProvision } from './commands/provision.js';
import { registerRounds } from './commands/rounds.js';
import { describeError } from './user-error.js';

const program = new Command('kpfl')
  .description(
    'kpfl: federated learning with encrypted updates, verifiable contributions and crash-safe rounds',
  )
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

registerDemo(program);
registerAggregator(program);
registerParticipant(program);
registerProvision(program);
registerRounds(program);
registerAudit(program);
registerConfig(program);
registerBench(program);

try {
  await program.parseAsync(process.argv);
  process.exit(process.exitCode ?? 0);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode);
  const d = describeError(err);
  process.stderr.write(d.userFacing ? `kpfl: ${d.message}\n` : `kpfl: unexpected error\n${d.message}\n`);
  process.exit(d.exitCode);
}
