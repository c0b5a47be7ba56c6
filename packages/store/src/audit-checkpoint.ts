import {
  type AuditCheckpointRow,
  appendAudit,
  auditHead,
  auditNow,
  insertAuditCheckpoint,
  lockAuditChain,
} from './audit.js';
import type { Db } from './db.js';

/** The chain head a checkpoint signs: the last row's seq and hash, at a database time. */
export interface AuditCheckpointHead {
  seq: number;
  headHash: string;
  /** Same rendering as AuditRow.at. */
  at: string;
}

/**
 * Checkpoints the chain head in one transaction holding the chain lock: reads the head, has `sign`
 * turn it into a JWS (the store signs nothing itself: see @kpfl/audit signCheckpoint), stores the
 * checkpoint and appends `checkpoint.signed` `{ seq, headHash, kid }` as the last statement.
 *
 * Returns undefined, storing nothing, when the log is empty or its head is already a
 * checkpoint.signed row (nothing happened since the last checkpoint), unless `force`.
 */
export async function appendAuditCheckpoint(
  db: Db,
  o: {
    federation: string;
    kid: string;
    force?: boolean;
    sign: (head: AuditCheckpointHead) => Promise<string>;
  },
): Promise<AuditCheckpointRow | undefined> {
  return db.tx(async (client) => {
    await lockAuditChain(client);
    const head = await auditHead(client);
    if (head.seq === 0) return undefined;
    if (head.event === 'checkpoint.signed' && !o.force) return undefined;
    const signed: AuditCheckpointHead = { seq: head.seq, headHash: head.hash, at: await auditNow(client) };
    const row: AuditCheckpointRow = { ...signed, jws: await o.sign(signed) };
    await insertAuditCheckpoint(client, row);
    await appendAudit(client, {
      federation: o.federation,
      event: 'checkpoint.signed',
      actor: 'coordinator',
      data: { seq: row.seq, headHash: row.headHash, kid: o.kid },
    });
    return row;
  });
}
