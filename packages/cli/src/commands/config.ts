import { Argument, type Command } from 'commander';
import { CONFIG_KEYS, loadRoleConfig, ROLES, type Role, readConfigFile, redacted } from '../config.js';
import { existingPath } from '../user-error.js';

interface CheckOptions {
  env: boolean;
  json?: boolean;
}

/** `kpfl config check FILE`: validates one role's config file without starting anything. */
export function registerConfig(program: Command): void {
  const config = program
    .command('config')
    .description('configuration files: one per role (aggregator, worker, participant), YAML or JSON');

  config
    .command('check')
    .description(
      'validate a config file (with the KPFL_* environment overrides applied, as the role would see it) without starting anything; exit 0 when valid, 2 otherwise',
    )
    .argument(
      '<file>',
      'YAML or JSON file whose top-level key is aggregator, worker or participant',
      existingPath('config file'),
    )
    .option('--no-env', 'ignore environment variable overrides: check the file alone')
    .option('--json', 'print the effective settings as JSON (credentials redacted)')
    .action((file: string, o: CheckOptions) => {
      const { role } = readConfigFile(file);
      const loaded = loadRoleConfig(role, { file, env: o.env ? undefined : {} });
      const settings = redacted(role, loaded.config);
      if (o.json) {
        process.stdout.write(
          `${JSON.stringify({ file, role, valid: true, settings, sources: loaded.sources })}\n`,
        );
        return;
      }
      const fromEnv = Object.entries(loaded.sources)
        .filter(([, s]) => s.startsWith('env:'))
        .map(([k, s]) => `${k} (${s.slice(4)})`);
      process.stdout.write(
        `${file}: valid ${role} config${fromEnv.length ? `; overridden by the environment: ${fromEnv.join(', ')}` : ''}\n`,
      );
      for (const [k, v] of Object.entries(settings)) process.stdout.write(`  ${k}: ${JSON.stringify(v)}\n`);
    });

  config
    .command('keys')
    .description('list the settings of a role with their flags, environment variables and defaults')
    .addArgument(new Argument('<role>', 'the role whose settings to list').choices(ROLES))
    .action((role: Role) => {
      const specs = CONFIG_KEYS[role];
      for (const [k, s] of Object.entries(specs)) {
        const d = s.default === undefined ? '' : `  default ${JSON.stringify(s.default)}`;
        process.stdout.write(`${role}.${k}  ${s.flag}${s.env ? `  ${s.env}` : ''}${d}\n`);
      }
    });
}
