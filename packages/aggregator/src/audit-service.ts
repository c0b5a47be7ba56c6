import { AuditError, exportAudit, listContributions, listRoundsAudit, queryAuditLog } from '@kpfl/audit';
import type { JSONWebKeySet } from '@kpfl/kpt';
import type { AuditHandlers, AuditQuery__Output } from '@kpfl/proto';
import type { Db } from '@kpfl/store';
import { RpcError } from './errors.js';
import type { RpcKit } from './rpc.js';

const EXPORT_CHUNK_BYTES = 512 * 1024;

/** A bad filter is the auditor's mistake: INVALID_ARGUMENT, with the audit package's message. */
async function asRpcError<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw err instanceof AuditError ? new RpcError('INVALID_ARGUMENT', err.code, err.message) : err;
  }
}

/**
 * Read-only audit queries: auditor role and audit:read capability on every call. Calls run, and are
 * refused and audited, like the Aggregator service's (rpc.ts), named `Audit.<method>`.
 */
export function createAuditHandlers(d: {
  db: Db;
  federation: string;
  rpc: RpcKit;
  jwks: () => Promise<JSONWebKeySet>;
}): AuditHandlers {
  const { db, rpc } = d;
  const empty = (s: string) => (s === '' ? undefined : s);

  function unary<Res>(name: string, fn: (q: AuditQuery__Output) => Promise<Res>) {
    return rpc.unary<AuditQuery__Output, Res>(`Audit.${name}`, async (call, q) => {
      await rpc.authorize(call, 'audit:read', 'auditor');
      return asRpcError(() => fn(q));
    });
  }

  return {
    ListContributions: unary('ListContributions', async (q) => {
      const page = await listContributions(db, {
        federation: d.federation,
        planId: empty(q.planId),
        round: q.round || undefined,
        member: empty(q.member),
        status: empty(q.status) as 'accepted' | 'refused' | undefined,
        from: empty(q.from),
        to: empty(q.to),
        cursor: empty(q.cursor),
        limit: q.limit || undefined,
      });
      return { rowsJson: JSON.stringify(page.rows), nextCursor: page.nextCursor ?? '' };
    }),
    ListRounds: unary('ListRounds', async (q) => {
      const rows = await listRoundsAudit(db, {
        federation: d.federation,
        planId: empty(q.planId),
        round: q.round || undefined,
        state: empty(q.status) as never,
      });
      return { rowsJson: JSON.stringify(rows), nextCursor: '' };
    }),
    QueryLog: unary('QueryLog', async (q) => {
      const page = await queryAuditLog(db, {
        federation: d.federation,
        event: empty(q.event) as never,
        planId: empty(q.planId),
        round: q.round || undefined,
        member: empty(q.member),
        from: empty(q.from),
        to: empty(q.to),
        afterSeq: q.cursor ? q.cursor : undefined,
        limit: q.limit || undefined,
      });
      return {
        rowsJson: JSON.stringify(page.rows),
        nextCursor: page.nextAfterSeq ? String(page.nextAfterSeq) : '',
      };
    }),
    Export: rpc.serverStream('Audit.Export', async (call, _request, send) => {
      await rpc.authorize(call, 'audit:read', 'auditor');
      const doc = Buffer.from(
        JSON.stringify(
          await asRpcError(async () => exportAudit(db, { federation: d.federation, jwks: await d.jwks() })),
        ),
      );
      for (let off = 0; off < doc.length; off += EXPORT_CHUNK_BYTES) {
        await send({ data: doc.subarray(off, off + EXPORT_CHUNK_BYTES) });
      }
    }),
  };
}
