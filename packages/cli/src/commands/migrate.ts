import { AGGREGATOR_ROLE, migrateSchema } from '@kpfl/store';
import type { Command } from 'commander';
import { databaseUrlOption, schemaOption } from '../config.js';
import { parseRoleListOption, requireService } from '../user-error.js';

interface MigrateOptions {
  schema: string;
  databaseUrl: string;
  grant?: string[];
}

/**
 * `kpfl migrate`: the one command that connects as the schema's owner. It creates the schema,
 * applies the migrations and gives the aggregator role exactly its privileges; the aggregator, the
 * worker and the operator commands then run as a login role that is a member of it.
 */
export function registerMigrate(program: Command): void {
  program
    .command('migrate')
    .description(
      `create or upgrade a deployment's schema (run as the database owner) and grant the ${AGGREGATOR_ROLE} role its privileges`,
    )
    .addOption(schemaOption())
    .addOption(databaseUrlOption("the schema owner's Postgres connection URL"))
    .option(
      '--grant <roles>',
      `login roles the aggregator and worker connect as, made members of ${AGGREGATOR_ROLE} (comma-separated; they must exist)`,
      parseRoleListOption('--grant'),
    )
    .action(async (o: MigrateOptions) => {
      const result = await requireService('Postgres', () =>
        migrateSchema(o.databaseUrl, o.schema, { grantTo: o.grant ?? [] }),
      );
      process.stdout.write(
        `${JSON.stringify({ schema: o.schema, aggregatorRole: AGGREGATOR_ROLE, ...result })}\n`,
      );
      if (result.role === 'missing') {
        process.stderr.write(
          `kpfl: role ${AGGREGATOR_ROLE} does not exist and this database user may not create it: ask a DBA to run CREATE ROLE ${AGGREGATOR_ROLE} NOLOGIN, then run kpfl migrate again\n`,
        );
        process.exitCode = 2;
      }
    });
}
