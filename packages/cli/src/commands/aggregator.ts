import { createLogger, startAggregator, startRoundWorkerProcess } from '@kpfl/aggregator';
import { importIdentity } from '@kpfl/kpt';
import { type Db, putMember, upsertFederation } from '@kpfl/store';
import type { Command } from 'commander';
import { type CoordinatorKitFile, readCoordinatorKit } from '../kits.js';
import { parseIntOption } from '../user-error.js';

interface AggregatorCliOptions {
  kit: string;
  listen: string;
  insecure?: boolean;
  metricsPort?: number;
  worker: boolean;
  schema: string;
  redisPrefix?: string;
}

/** Makes Postgres' member registry match the coordinator kit (adds members; never un-revokes one). */
export async function registerFederation(db: Db, kit: CoordinatorKitFile): Promise<void> {
  await upsertFederation(db, kit.federation, kit.jwks);
  for (const m of kit.members) {
    const existing = await db.query('SELECT status FROM members WHERE federation = $1 AND id = $2', [
      kit.federation,
      m.id,
    ]);
    if (existing.rows[0]?.status === 'revoked') continue;
    await putMember(db, {
      federation: kit.federation,
      id: m.id,
      kid: m.kid,
      publicJwk: m.publicJwk,
      roles: m.roles,
    });
  }
}

export function registerAggregator(program: Command): void {
  const schemaDefault = process.env.KPFL_SCHEMA ?? 'kpfl';
  program
    .command('aggregator')
    .description('run the aggregator: gRPC front end (and by default the round worker)')
    .requiredOption('--kit <dir>', 'coordinator kit directory (from `kpfl provision`)')
    .option('--listen <host:port>', 'gRPC listen address', process.env.KPFL_LISTEN ?? '0.0.0.0:50051')
    .option('--insecure', 'plaintext gRPC without mutual TLS (loopback testing only)')
    .option(
      '--metrics-port <port>',
      'serve Prometheus /metrics and /healthz on this port',
      parseIntOption('--metrics-port'),
    )
    .option('--no-worker', 'do not run the round worker here (run `kpfl worker` elsewhere)')
    .option('--schema <name>', 'Postgres schema', schemaDefault)
    .option(
      '--redis-prefix <prefix>',
      'namespace of queues and keys in Redis (default kpfl:<federation>)',
      process.env.KPFL_REDIS_PREFIX,
    )
    .action(async (o: AggregatorCliOptions) => {
      const kit = readCoordinatorKit(o.kit);
      const agg = await startAggregator({
        federation: kit.federation,
        coordinatorKey: { ...kit.signingKey, ...(await importIdentity(kit.signingKey.privateJwk)) },
        listen: o.listen,
        tls: o.insecure
          ? undefined
          : { caPem: kit.ca.certPem, certPem: kit.server.certPem, keyPem: kit.server.keyPem },
        schema: o.schema,
        redisPrefix: o.redisPrefix,
        runWorker: o.worker,
        metricsPort: o.metricsPort,
      });
      await registerFederation(agg.db, kit);
      process.stdout.write(
        `${JSON.stringify({ event: 'listening', port: agg.port, metricsPort: agg.metricsPort })}\n`,
      );
      await untilSignal();
      await agg.close();
    });

  program
    .command('worker')
    .description(
      'run only the round worker (opening rounds, deadlines, aggregation) against shared Postgres and Redis',
    )
    .requiredOption('--kit <dir>', 'coordinator kit directory')
    .option('--schema <name>', 'Postgres schema', schemaDefault)
    .option(
      '--redis-prefix <prefix>',
      'namespace of queues and keys in Redis (default kpfl:<federation>)',
      process.env.KPFL_REDIS_PREFIX,
    )
    .action(async (o: { kit: string; schema: string; redisPrefix?: string }) => {
      const kit = readCoordinatorKit(o.kit);
      const w = await startRoundWorkerProcess({
        federation: kit.federation,
        coordinatorKey: { ...kit.signingKey, ...(await importIdentity(kit.signingKey.privateJwk)) },
        schema: o.schema,
        redisPrefix: o.redisPrefix,
        log: createLogger('worker'),
      });
      process.stdout.write(`${JSON.stringify({ event: 'worker-started' })}\n`);
      await untilSignal();
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
