import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger } from '@kpfl/aggregator';
import {
  isLoopback,
  loginLink,
  metricsFromUrl,
  OPERATOR_SUBJECT,
  proveKitKey,
  startConsole,
} from '@kpfl/console';
import { importIdentity } from '@kpfl/kpt';
import type { Command } from 'commander';
import { OPERATOR_DEFAULTS } from '../config.js';
import { connect } from '../kit-store.js';
import { readCoordinatorKit, readMemberKit } from '../kits.js';
import {
  existingPath,
  parseHostPort,
  parseIntOption,
  parsePostgresUrl,
  parseSchemaName,
  UnavailableError,
  UserError,
} from '../user-error.js';

/** Resolves on SIGTERM or SIGINT (aggregator.ts has the same; it imports this module, so not from there). */
const untilSignal = () =>
  new Promise<void>((resolve) => {
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
  });

interface ConsoleFlags {
  kit?: string;
  listen: string;
  tls?: boolean;
  login?: string;
  schema: string;
  databaseUrl?: string;
  metrics?: string;
  sessionMinutes: number;
}

/** The console's URL for a host:port: HTTPS unless it is on loopback without --tls. */
export function consoleUrl(hostPort: string, tls: boolean): string {
  const host = hostPort.slice(0, hostPort.lastIndexOf(':')).replace(/^\[(.*)\]$/, '$1');
  return `${tls || !isLoopback(host) ? 'https' : 'http'}://${hostPort}/`;
}

/**
 * Serves the console of the coordinator kit's federation, and prints the operator's log-in link.
 * Shared with `kpfl aggregator --console`.
 */
export async function serveConsole(o: {
  kit: ReturnType<typeof readCoordinatorKit>;
  db: Parameters<typeof startConsole>[0]['db'];
  listen: string;
  tls?: boolean;
  metricsText?: () => Promise<string>;
  sessionTtlSeconds?: number;
  log?: ReturnType<typeof createLogger>;
}) {
  const host = o.listen.slice(0, o.listen.lastIndexOf(':')).replace(/^\[(.*)\]$/, '$1');
  const tls = o.tls || !isLoopback(host);
  const c = await startConsole({
    db: o.db,
    federation: o.kit.federation,
    coordinatorJwks: o.kit.jwks,
    operatorJwk: o.kit.signingKey.publicJwk,
    listen: o.listen,
    tls: tls ? { certPem: o.kit.server.certPem, keyPem: o.kit.server.keyPem } : undefined,
    metricsText: o.metricsText,
    sessionTtlSeconds: o.sessionTtlSeconds,
    log: o.log ?? createLogger('console'),
  });
  const proof = await proveKitKey(
    c.url,
    await importIdentity(o.kit.signingKey.privateJwk),
    OPERATOR_SUBJECT,
    {
      ca: o.kit.ca.certPem,
    },
  );
  return { console: c, operatorLink: loginLink(c.url, proof) };
}

/** A proof of the kit's key for the console at `url`: the coordinator kit proves the operator, a member kit its member. */
async function proveKit(kitPath: string, url: string): Promise<string> {
  if (existsSync(join(kitPath, 'coordinator.json')) || kitPath.endsWith('coordinator.json')) {
    const kit = readCoordinatorKit(kitPath);
    const key = await importIdentity(kit.signingKey.privateJwk);
    return proveKitKey(url, key, OPERATOR_SUBJECT, { ca: kit.ca.certPem });
  }
  const kit = readMemberKit(kitPath);
  return proveKitKey(url, await importIdentity(kit.identity.privateJwk), kit.memberId, { ca: kit.tls.caPem });
}

export function registerConsole(program: Command): void {
  program
    .command('console')
    .description(
      'serve the read-only web console (operator: --kit coordinator kit), or with --login print a log-in link for a kit',
    )
    .option(
      '--kit <dir>',
      'coordinator kit (to serve), or any kit whose key logs in (--login)',
      existingPath('--kit'),
    )
    .option(
      '--listen <host:port>',
      'address to serve on; anything but loopback is served only over TLS (the kit server certificate)',
      parseHostPort('--listen', '127.0.0.1:8470'),
      '127.0.0.1:8470',
    )
    .option('--tls', 'serve HTTPS on loopback too')
    .option(
      '--login <host:port>',
      'do not serve: prove the kit key to the console there and print a log-in link (valid 60 s)',
      parseHostPort('--login', '127.0.0.1:8470'),
    )
    .option('--schema <name>', 'Postgres schema', parseSchemaName('--schema'), 'kpfl')
    .option(
      '--database-url <url>',
      'Postgres connection URL (default DATABASE_URL)',
      parsePostgresUrl('--database-url'),
    )
    .option(
      '--metrics <host:port>',
      "the aggregator's metrics endpoint (its --metrics-port), for the metrics page",
      parseHostPort('--metrics', '127.0.0.1:9464'),
    )
    .option(
      '--session-minutes <n>',
      'life of a log-in session',
      parseIntOption('--session-minutes', 1, 24 * 60),
      15,
    )
    .action(async (o: ConsoleFlags) => {
      const kitPath = o.kit;
      if (!kitPath)
        throw new UserError('--kit is needed: the coordinator kit to serve, or your own kit with --login');
      if (o.login) {
        const url = consoleUrl(o.login, o.tls === true);
        process.stdout.write(`${loginLink(url, await proveKit(kitPath, url))}\n`);
        return;
      }
      const kit = readCoordinatorKit(kitPath);
      const { db, why } = await connect({
        schema: o.schema,
        databaseUrl: o.databaseUrl ?? process.env.DATABASE_URL ?? OPERATOR_DEFAULTS.databaseUrl,
      });
      if (!db) throw new UnavailableError('Postgres', `cannot open the federation's database: ${why}`);
      try {
        const { console: c, operatorLink } = await serveConsole({
          kit,
          db,
          listen: o.listen,
          tls: o.tls,
          sessionTtlSeconds: o.sessionMinutes * 60,
          metricsText: o.metrics ? metricsFromUrl(`http://${o.metrics}/metrics`) : undefined,
        });
        process.stdout.write(`${JSON.stringify({ event: 'listening', url: c.url, operatorLink })}\n`);
        await untilSignal();
        await c.close();
      } finally {
        await db.close();
      }
    });
}
