import { createLogger, kitOptions, startAggregator, startRoundWorkerProcess } from '@kpfl/aggregator';
import { metricsFromUrl } from '@kpfl/console';
import { importIdentity } from '@kpfl/kpt';
import { type Command, Option } from 'commander';
import {
  CONFIG_OPTION_HELP,
  defaultOf,
  envNote,
  explicitOptions,
  LOG_LEVELS,
  loadRoleConfig,
  OPERATOR_DEFAULTS,
  type RoleFlags,
  startHeartbeat,
} from '../config.js';
import { readCoordinatorKit } from '../kits.js';
import { operatorActor } from '../operator.js';
import {
  existingPath,
  outputFile,
  parseHostOption,
  parseHostPort,
  parseIntOption,
  parsePortOption,
  parsePostgresUrl,
  parseRedisPrefix,
  parseRedisUrl,
  parseSchemaName,
} from '../user-error.js';
import { serveConsole } from './console.js';

const env = envNote;

export function registerAggregator(program: Command): void {
  program
    .command('aggregator')
    .description('run the aggregator: gRPC front end (and by default the round worker)')
    .option('--config <file>', CONFIG_OPTION_HELP, existingPath('--config'))
    .option(
      '--kit <dir>',
      `coordinator kit directory (from \`kpfl provision\`)${env('aggregator', 'kit')}`,
      existingPath('--kit'),
    )
    .option(
      '--listen <host:port>',
      `gRPC listen address${env('aggregator', 'listen')}`,
      parseHostPort('--listen', '0.0.0.0:50051'),
      defaultOf('aggregator', 'listen') as string,
    )
    .option(
      '--insecure',
      `plaintext gRPC without mutual TLS (loopback testing only)${env('aggregator', 'insecure')}`,
    )
    .option(
      '--metrics-port <port>',
      `serve Prometheus /metrics and /healthz on this port${env('aggregator', 'metricsPort')}`,
      parsePortOption('--metrics-port'),
    )
    .option(
      '--metrics-host <host>',
      `address the metrics endpoint binds (default 127.0.0.1; 0.0.0.0 in a container)${env('aggregator', 'metricsHost')}`,
      parseHostOption('--metrics-host'),
    )
    .option(
      '--no-worker',
      `do not run the round worker here (run \`kpfl worker\` elsewhere)${env('aggregator', 'worker')}`,
    )
    .option(
      '--schema <name>',
      `Postgres schema${env('aggregator', 'schema')}`,
      parseSchemaName('--schema'),
      defaultOf('aggregator', 'schema') as string,
    )
    .option(
      '--redis-prefix <prefix>',
      `namespace of queues and keys in Redis (default kpfl:<federation>)${env('aggregator', 'redisPrefix')}`,
      parseRedisPrefix('--redis-prefix'),
    )
    .option(
      '--database-url <url>',
      `Postgres connection URL${env('aggregator', 'databaseUrl')}`,
      parsePostgresUrl('--database-url'),
    )
    .option(
      '--redis-url <url>',
      `Redis connection URL${env('aggregator', 'redisUrl')}`,
      parseRedisUrl('--redis-url'),
    )
    .addOption(
      new Option('--log-level <level>', `pino log level${env('aggregator', 'logLevel')}`).choices(LOG_LEVELS),
    )
    .option(
      '--max-inflight-mib <n>',
      `update MiB all SubmitUpdate streams may hold at once; beyond it RESOURCE_EXHAUSTED${env('aggregator', 'maxInflightMib')}`,
      parseIntOption('--max-inflight-mib', 1),
      defaultOf('aggregator', 'maxInflightMib') as number,
    )
    .option(
      '--sessions-per-minute <n>',
      `session tokens a member may ask for in any minute, across front ends (Redis)${env('aggregator', 'sessionsPerMinute')}`,
      parseIntOption('--sessions-per-minute', 1),
      defaultOf('aggregator', 'sessionsPerMinute') as number,
    )
    .option(
      '--console <host:port>',
      'also serve the read-only web console here (loopback by default; any other address only over TLS)',
      parseHostPort('--console', '127.0.0.1:8470'),
    )
    .action(async (o: RoleFlags<'aggregator'> & { console?: string }, cmd: Command) => {
      const { config: c } = loadRoleConfig('aggregator', { file: o.config, cli: explicitOptions(cmd) });
      const kit = readCoordinatorKit(c.kit);
      const agg = await startAggregator({
        // Start-up registration names the operator who started it.
        ...(await kitOptions(kit, { insecure: c.insecure, actor: operatorActor() })),
        listen: c.listen,
        schema: c.schema,
        redisPrefix: c.redisPrefix,
        databaseUrl: c.databaseUrl ?? OPERATOR_DEFAULTS.databaseUrl,
        redisUrl: c.redisUrl ?? OPERATOR_DEFAULTS.redisUrl,
        runWorker: c.worker,
        metricsPort: c.metricsPort,
        metricsHost: c.metricsHost,
        maxInflightBytes: c.maxInflightMib * 2 ** 20,
        sessionsPerMinute: c.sessionsPerMinute,
        log: createLogger('aggregator', { level: c.logLevel }),
      });
      const web = o.console
        ? await serveConsole({
            kit,
            db: agg.db,
            listen: o.console,
            // The endpoint Prometheus reads refreshes the queue and round gauges; without one, the registry as it is.
            metricsText: agg.metricsPort
              ? metricsFromUrl(
                  `http://${!c.metricsHost || c.metricsHost === '0.0.0.0' ? '127.0.0.1' : c.metricsHost}:${agg.metricsPort}/metrics`,
                )
              : () => agg.metrics.registry.metrics(),
            log: createLogger('console', { level: c.logLevel }),
          })
        : undefined;
      process.stdout.write(
        `${JSON.stringify({
          event: 'listening',
          port: agg.port,
          metricsPort: agg.metricsPort,
          ...(web ? { console: web.console.url, operatorLink: web.operatorLink } : {}),
        })}\n`,
      );
      await untilSignal();
      await web?.console.close();
      await agg.close();
    });

  program
    .command('worker')
    .description(
      'run only the round worker (opening rounds, deadlines, aggregation) against shared Postgres and Redis',
    )
    .option('--config <file>', CONFIG_OPTION_HELP, existingPath('--config'))
    .option('--kit <dir>', `coordinator kit directory${env('worker', 'kit')}`, existingPath('--kit'))
    .option(
      '--schema <name>',
      `Postgres schema${env('worker', 'schema')}`,
      parseSchemaName('--schema'),
      defaultOf('worker', 'schema') as string,
    )
    .option(
      '--redis-prefix <prefix>',
      `namespace of queues and keys in Redis (default kpfl:<federation>)${env('worker', 'redisPrefix')}`,
      parseRedisPrefix('--redis-prefix'),
    )
    .option(
      '--database-url <url>',
      `Postgres connection URL${env('worker', 'databaseUrl')}`,
      parsePostgresUrl('--database-url'),
    )
    .option(
      '--redis-url <url>',
      `Redis connection URL${env('worker', 'redisUrl')}`,
      parseRedisUrl('--redis-url'),
    )
    .addOption(
      new Option('--log-level <level>', `pino log level${env('worker', 'logLevel')}`).choices(LOG_LEVELS),
    )
    .option(
      '--health-file <file>',
      `touch this file every 10 s while alive (for container health checks)${env('worker', 'healthFile')}`,
      outputFile('--health-file', { mkdir: true }),
    )
    .action(async (o: RoleFlags<'worker'>, cmd: Command) => {
      const { config: c } = loadRoleConfig('worker', { file: o.config, cli: explicitOptions(cmd) });
      const kit = readCoordinatorKit(c.kit);
      const w = await startRoundWorkerProcess({
        federation: kit.federation,
        coordinatorKey: await importIdentity(kit.signingKey.privateJwk),
        schema: c.schema,
        redisPrefix: c.redisPrefix,
        databaseUrl: c.databaseUrl ?? OPERATOR_DEFAULTS.databaseUrl,
        redisUrl: c.redisUrl ?? OPERATOR_DEFAULTS.redisUrl,
        log: createLogger('worker', { level: c.logLevel }),
      });
      const stopHeartbeat = c.healthFile ? startHeartbeat(c.healthFile) : () => {};
      process.stdout.write(`${JSON.stringify({ event: 'worker-started' })}\n`);
      await untilSignal();
      stopHeartbeat();
      await w.close();
    });
}

/** Resolves on SIGTERM or SIGINT: graceful shutdown finishes in-flight work before exiting. */
export function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
  });
}
