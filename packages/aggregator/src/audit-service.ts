import type * as grpc from '@grpc/grpc-js';
import { AuditError, exportAudit, listContributions, listRoundsAudit, queryAuditLog } from '@kpfl/audit';
import type { JSONWebKeySet } from '@kpfl/kpt';
import type { AuditHandlers, AuditQuery__Output } from '@kpfl/proto';
import type { Db } from '@kpfl/store';
import type { Authorize } from './auth.js';
import { RpcError, toServiceError } from './errors.js';
import type { Logger } from './logger.js';

const EXPORT_CHUNK_BYTES = 512 * 1024;

/** Read-only audit queries: auditor role and audit:read capability on every call. */
export function createAuditHandlers(d: {
  db: Db;
  federation: string;
  authorize: Authorize;
  jwks: () => Promise<JSONWebKeySet>;
  log: Logger;
}): AuditHandlers {
  const { db, log } = d;
  const empty = (s: string) => (s === '' ? undefined : s);

  function unary<Res>(name: string, fn: (q: AuditQuery__Output) => Promise<Res>) {
    return (call: grpc.ServerUnaryCall<AuditQuery__Output, Res>, callback: grpc.sendUnaryData<Res>) => {
      (async () => {
        await d.authorize(call, 'audit:read', 'auditor');
        return fn(call.request);
      })().then(
        (res) => callback(null, res),
        (err) => {
          const e = toServiceError(
            err instanceof AuditError ? new RpcError('INVALID_ARGUMENT', err.code, err.message) : err,
          );
          log.warn({ rpc: `Audit.${name}`, reason: e.reason, err: e.details }, 'audit rpc refused');
          callback({ code: e.code, details: e.details });
        },
      );
    };
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
    Export: (call) => {
      (async () => {
        await d.authorize(call, 'audit:read', 'auditor');
        const doc = Buffer.from(
          JSON.stringify(await exportAudit(db, { federation: d.federation, jwks: await d.jwks() })),
        );
        for (let off = 0; off < doc.length; off += EXPORT_CHUNK_BYTES) {
          if (!call.write({ data: doc.subarray(off, off + EXPORT_CHUNK_BYTES) })) {
            await new Promise((r) => call.once('drain', r));
          }
        }
        call.end();
      })().catch((err) => {
        const e = toServiceError(err);
        log.warn({ rpc: 'Audit.Export', reason: e.reason, err: e.details }, 'audit rpc refused');
        call.destroy(Object.assign(new Error(e.details), { code: e.code, details: e.details }));
      });
    },
  };
}
