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
import { AggregatorConnection } from '@kpfl/participant';
import { type AuditClient, type AuditPage__Output, loadKpflProto } from '@kpfl/proto';
import { openDb } from '@kpfl/store';
import type { Command } from 'commander';
import { identityOf, readMemberKit } from '../kits.js';
import { parseIntOption, UserError } from '../user-error.js';

interface Source {
  kit?: string;
  aggregator?: string;
  insecure?: boolean;
  federation?: string;
  schema: string;
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
    const client = new (loadKpflProto().kpfl.v1.Audit)(o.aggregator, creds) as AuditClient;
    const call = async (method: 'ListContributions' | 'ListRounds', q: Record<string, unknown>) => {
      const md = await conn.sessionMetadata();
      return new Promise<AuditPage__Output>((resolve, reject) =>
        client[method](q, md, { deadline: Date.now() + 60_000 }, (err, res) =>
          err ? reject(new UserError(`aggregator refused: ${err.details || err.message}`)) : resolve(res!),
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
        const md = await conn.sessionMetadata();
        const parts: Buffer[] = [];
        await new Promise<void>((resolve, reject) => {
          const stream = client.Export({}, md);
          stream.on('data', (c: { data: Buffer }) => parts.push(Buffer.from(c.data)));
          stream.on('error', (err: grpc.ServiceError) =>
            reject(new UserError(`aggregator refused: ${err.details || err.message}`)),
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
  const db = await openDb({ schema: o.schema, connectRetries: 3 });
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
    .option('--kit <dir>', "auditor kit directory (queries go through the aggregator's Audit service)")
    .option('--aggregator <host:port>', 'aggregator address (with --kit)', process.env.KPFL_AGGREGATOR)
    .option('--insecure', 'plaintext gRPC (loopback testing only)')
    .option('--federation <name>', 'operator mode: read Postgres directly', process.env.KPFL_FEDERATION)
    .option('--schema <name>', 'Postgres schema (operator mode)', process.env.KPFL_SCHEMA ?? 'kpfl');
}

function checkFormat(f: string): OutputFormat {
  if (f !== 'table' && f !== 'json' && f !== 'csv')
    throw new UserError(`--format must be table, json or csv, got "${f}"`);
  return f;
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
    .option('--plan <id>', 'plan id')
    .option('--round <n>', 'round number', parseIntOption('--round', 1))
    .option('--member <id>', 'member id')
    .option('--status <s>', 'accepted | refused')
    .option('--from <time>', 'ISO time, inclusive')
    .option('--to <time>', 'ISO time, inclusive')
    .option('--limit <n>', 'rows per page', parseIntOption('--limit', 1), 1000)
    .option('--all', 'follow the pages to the end')
    .option('--format <f>', 'table | json | csv', 'table')
    .action(async (o) => {
      const format = checkFormat(o.format);
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
    .option('--plan <id>', 'plan id')
    .option('--round <n>', 'round number', parseIntOption('--round', 1))
    .option('--format <f>', 'table | json | csv', 'table')
    .action(async (o) => {
      const format = checkFormat(o.format);
      const rows = await withSource(o, (s) => s.rounds({ planId: o.plan, round: o.round }));
      process.stdout.write(
        formatRows(rows, format, { columns: format === 'table' ? [...ROUND_COLUMNS] : undefined }),
      );
    });

  sourceOptions(audit.command('export'))
    .description('the whole log, checkpoints, certificates and public JWKS in one file, verifiable offline')
    .requiredOption('--out <file>', 'output file')
    .action(async (o) => {
      const doc = await withSource(o, (s) => s.exportDoc());
      writeFileSync(o.out, `${JSON.stringify(doc, null, 1)}\n`);
      const rows = (doc as { log?: unknown[] }).log?.length;
      process.stderr.write(`wrote ${o.out}${rows !== undefined ? ` (${rows} audit rows)` : ''}\n`);
    });

  sourceOptions(audit.command('verify'))
    .description(
      'recompute the chain and check every checkpoint, attestation, receipt and certificate; exit 0 only if all verify',
    )
    .option('--file <file>', 'an export file (offline); without it, export first from the source')
    .option(
      '--jwks <file>',
      "the federation's JWKS you trust (federation.json from provisioning); default: the one in the export",
    )
    .option('--json', 'print the verdict as JSON')
    .action(async (o) => {
      let doc: unknown;
      if (o.file) {
        try {
          doc = JSON.parse(readFileSync(o.file, 'utf8'));
        } catch (err) {
          throw new UserError(`cannot read ${o.file} as JSON: ${(err as Error).message}`);
        }
      } else {
        doc = await withSource(o, (s) => s.exportDoc());
      }
      let jwks: JSONWebKeySet | undefined;
      if (o.jwks) {
        const j = JSON.parse(readFileSync(o.jwks, 'utf8'));
        jwks = j.jwks ?? j;
      }
      const verdict: AuditVerdict = await verifyAuditExport(doc, { jwks });
      process.stdout.write(o.json ? `${JSON.stringify(verdict)}\n` : `${formatVerdict(verdict)}\n`);
      if (!verdict.ok) process.exitCode = 1;
    });
}
