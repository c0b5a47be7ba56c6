import { readFileSync, writeFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import {
  type AuditVerdict,
  CONTRIBUTION_COLUMNS,
  exportAudit,
  formatRows,
  formatVerdict,
  listContributions,
  listRoundsAudit,
  type OutputFormat,
  ROUND_COLUMNS,
  verifyAuditExport,
} from '@kpfl/audit';
import type { JSONWebKeySet } from '@kpfl/kpt';
import { AggregatorConnection, AggregatorError } from '@kpfl/participant';
import { type AuditClient, type AuditPage__Output, loadKpflProto } from '@kpfl/proto';
import { openDb } from '@kpfl/store';
import { type Command, Option } from 'commander';
import { z } from 'zod';
import { databaseUrlOption, operatorOption, schemaOption } from '../config.js';
import { identityOf, readMemberKit } from '../kits.js';
import {
  existingPath,
  firstZodIssue,
  outputFile,
  parseHostPort,
  parseIdOption,
  parseIntOption,
  parseIsoTime,
  parsePlanId,
  UserError,
} from '../user-error.js';

const FORMATS = ['table', 'json', 'csv'] as const satisfies readonly OutputFormat[];

/** Where audit data comes from (every `kpfl audit` command takes these options). */
interface Source {
  kit?: string;
  aggregator?: string;
  insecure?: boolean;
  federation?: string;
  schema: string;
  databaseUrl: string;
}

interface ContributionsOptions extends Source {
  plan?: string;
  round?: number;
  member?: string;
  status?: 'accepted' | 'refused';
  from?: string;
  to?: string;
  limit: number;
  all?: boolean;
  format: OutputFormat;
}

interface RoundsOptions extends Source {
  plan?: string;
  round?: number;
  format: OutputFormat;
}

interface ExportOptions extends Source {
  out: string;
}

interface VerifyOptions extends Source {
  file?: string;
  jwks?: string;
  json?: boolean;
}

/** A gRPC failure of an audit call: unreachable (exit 3) or refused (exit 2), naming the aggregator. */
function aggregatorFailure(
  status: grpc.status,
  details: string,
  address: string,
  cause: unknown,
): AggregatorError {
  const unreachable = status === grpc.status.UNAVAILABLE || status === grpc.status.DEADLINE_EXCEEDED;
  return new AggregatorError(
    status,
    unreachable ? `cannot reach the aggregator at ${address}: ${details}` : `aggregator refused: ${details}`,
    { cause },
  );
}

/** Where audit data comes from: the Audit gRPC service with an auditor kit, or Postgres directly (operator). */
interface AuditSource {
  contributions(q: Record<string, unknown>): Promise<{ rows: object[]; nextCursor?: string }>;
  rounds(q: Record<string, unknown>): Promise<object[]>;
  exportDoc(): Promise<unknown>;
  jwks?: JSONWebKeySet;
  close(): Promise<void>;
}

async function openSource(o: Source): Promise<AuditSource> {
  if (o.kit) {
    const kit = readMemberKit(o.kit);
    if (!o.aggregator) throw new UserError('--aggregator host:port is needed with --kit');
    const conn = new AggregatorConnection({
      address: o.aggregator,
      memberId: kit.memberId,
      identity: await identityOf(kit),
      tls: o.insecure ? undefined : kit.tls,
    });
    const creds = o.insecure
      ? grpc.credentials.createInsecure()
      : grpc.credentials.createSsl(
          Buffer.from(kit.tls.caPem),
          Buffer.from(kit.tls.keyPem),
          Buffer.from(kit.tls.certPem),
        );
    const address = o.aggregator;
    const client = new (loadKpflProto().kpfl.v1.Audit)(address, creds) as AuditClient;
    const session = () =>
      conn.sessionMetadata().catch((err) => {
        throw err instanceof AggregatorError ? aggregatorFailure(err.status, err.message, address, err) : err;
      });
    const call = async (method: 'ListContributions' | 'ListRounds', q: Record<string, unknown>) => {
      const md = await session();
      return new Promise<AuditPage__Output>((resolve, reject) =>
        client[method](q, md, { deadline: Date.now() + 60_000 }, (err, res) =>
          err ? reject(aggregatorFailure(err.code, err.details || err.message, address, err)) : resolve(res!),
        ),
      );
    };
    return {
      jwks: (kit as { jwks?: JSONWebKeySet }).jwks,
      async contributions(q) {
        const page = await call('ListContributions', q);
        return { rows: JSON.parse(page.rowsJson), nextCursor: page.nextCursor || undefined };
      },
      async rounds(q) {
        return JSON.parse((await call('ListRounds', { ...q, status: q.state ?? '' })).rowsJson);
      },
      async exportDoc() {
        const md = await session();
        const parts: Buffer[] = [];
        await new Promise<void>((resolve, reject) => {
          const stream = client.Export({}, md);
          stream.on('data', (c: { data: Buffer }) => parts.push(Buffer.from(c.data)));
          stream.on('error', (err: grpc.ServiceError) =>
            reject(aggregatorFailure(err.code, err.details || err.message, address, err)),
          );
          stream.on('end', () => resolve());
        });
        return JSON.parse(Buffer.concat(parts).toString('utf8'));
      },
      async close() {
        client.close();
        conn.close();
      },
    };
  }
  if (!o.federation)
    throw new UserError(
      'give --kit and --aggregator (auditor), or --federation with database access (operator)',
    );
  const db = await openDb({ databaseUrl: o.databaseUrl, schema: o.schema, connectRetries: 3 });
  const federation = o.federation;
  return {
    contributions: (q) => listContributions(db, { federation, ...q }),
    rounds: (q) => listRoundsAudit(db, { federation, ...q }),
    exportDoc: () => exportAudit(db, { federation }),
    close: () => db.close(),
  };
}

function sourceOptions(cmd: Command): Command {
  return cmd
    .option(
      '--kit <dir>',
      "auditor kit directory (queries go through the aggregator's Audit service)",
      existingPath('--kit'),
    )
    .addOption(
      operatorOption(
        'aggregator',
        '--aggregator <host:port>',
        'aggregator address (with --kit)',
        parseHostPort('--aggregator'),
      ),
    )
    .option('--insecure', 'plaintext gRPC (loopback testing only)')
    .addOption(
      operatorOption(
        'federation',
        '--federation <name>',
        'operator mode: read Postgres directly',
        parseIdOption('--federation'),
      ),
    )
    .addOption(schemaOption('Postgres schema (operator mode)'))
    .addOption(databaseUrlOption('Postgres connection URL (operator mode)'));
}

function formatOption(): Option {
  return new Option('--format <f>', 'output format').choices(FORMATS).default('table');
}

const jwksSchema = z.object({ keys: z.array(z.object({ kty: z.string() }).passthrough()) }).passthrough();

/** The JWKS a --jwks file holds: a JWKS ({ keys }), or federation.json ({ federation, jwks }). */
function readJwksFile(file: string): JSONWebKeySet {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UserError(`--jwks: cannot read ${file} as JSON: ${(err as Error).message}`, undefined, {
      cause: err,
    });
  }
  const inner = data !== null && typeof data === 'object' && 'jwks' in data ? data.jwks : data;
  const r = jwksSchema.safeParse(inner);
  if (!r.success) {
    throw new UserError(
      `--jwks: ${file} is not a JWKS or federation.json: ${firstZodIssue(r.error)}`,
      undefined,
      {
        cause: r.error,
      },
    );
  }
  return r.data as JSONWebKeySet;
}

async function withSource<T>(o: Source, fn: (s: AuditSource) => Promise<T>): Promise<T> {
  const s = await openSource(o);
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}

export function registerAudit(program: Command): void {
  const audit = program
    .command('audit')
    .description('query and verify the tamper-evident contribution log (auditors)');

  sourceOptions(audit.command('contributions'))
    .description('each contribution: member, round, examples, digests, accepted or refused and why, receipt')
    .option('--plan <id>', 'plan id', parsePlanId('--plan'))
    .option('--round <n>', 'round number', parseIntOption('--round', 1))
    .option('--member <id>', 'member id', parseIdOption('--member'))
    .addOption(
      new Option('--status <s>', 'accepted or refused contributions only').choices(['accepted', 'refused']),
    )
    .option('--from <time>', 'ISO time, inclusive', parseIsoTime('--from'))
    .option('--to <time>', 'ISO time, inclusive', parseIsoTime('--to'))
    .option('--limit <n>', 'rows per page', parseIntOption('--limit', 1, 10_000), 1000)
    .option('--all', 'follow the pages to the end')
    .addOption(formatOption())
    .action(async (o: ContributionsOptions) => {
      const format = o.format;
      const q = {
        planId: o.plan,
        round: o.round,
        member: o.member,
        status: o.status,
        from: o.from,
        to: o.to,
        limit: o.limit,
      };
      const rows = await withSource(o, async (s) => {
        const out: object[] = [];
        let cursor: string | undefined;
        do {
          const page = await s.contributions({ ...q, cursor });
          out.push(...page.rows);
          cursor = page.nextCursor;
        } while (o.all && cursor);
        return out;
      });
      process.stdout.write(
        formatRows(rows, format, { columns: format === 'table' ? [...CONTRIBUTION_COLUMNS] : undefined }),
      );
    });

  sourceOptions(audit.command('rounds'))
    .description('per round: sampled, contributed, accepted, aggregate digest, certificate signers')
    .option('--plan <id>', 'plan id', parsePlanId('--plan'))
    .option('--round <n>', 'round number', parseIntOption('--round', 1))
    .addOption(formatOption())
    .action(async (o: RoundsOptions) => {
      const format = o.format;
      const rows = await withSource(o, (s) => s.rounds({ planId: o.plan, round: o.round }));
      process.stdout.write(
        formatRows(rows, format, { columns: format === 'table' ? [...ROUND_COLUMNS] : undefined }),
      );
    });

  sourceOptions(audit.command('export'))
    .description('the whole log, checkpoints, certificates and public JWKS in one file, verifiable offline')
    .requiredOption('--out <file>', 'output file', outputFile('--out'))
    .action(async (o: ExportOptions) => {
      const doc = await withSource(o, (s) => s.exportDoc());
      writeFileSync(o.out, `${JSON.stringify(doc, null, 1)}\n`);
      const rows = (doc as { log?: unknown[] }).log?.length;
      process.stderr.write(`wrote ${o.out}${rows !== undefined ? ` (${rows} audit rows)` : ''}\n`);
    });

  sourceOptions(audit.command('verify'))
    .description(
      'recompute the chain and check every checkpoint, attestation, receipt and certificate; exit 0 only if all verify',
    )
    .option(
      '--file <file>',
      'an export file (offline); without it, export first from the source',
      existingPath('--file'),
    )
    .option(
      '--jwks <file>',
      "the federation's JWKS you trust (federation.json from provisioning); default: the one in the export",
      existingPath('--jwks'),
    )
    .option('--json', 'print the verdict as JSON')
    .action(async (o: VerifyOptions) => {
      // The trusted JWKS first: a bad --jwks must not cost an export from the aggregator.
      const jwks = o.jwks ? readJwksFile(o.jwks) : undefined;
      let doc: unknown;
      if (o.file) {
        try {
          doc = JSON.parse(readFileSync(o.file, 'utf8'));
        } catch (err) {
          throw new UserError(`cannot read ${o.file} as JSON: ${(err as Error).message}`, undefined, {
            cause: err,
          });
        }
      } else {
        doc = await withSource(o, (s) => s.exportDoc());
      }
      const verdict: AuditVerdict = await verifyAuditExport(doc, { jwks });
      process.stdout.write(o.json ? `${JSON.stringify(verdict)}\n` : `${formatVerdict(verdict)}\n`);
      if (!verdict.ok) process.exitCode = 1;
    });
}
