/**
 * Consortium HE key epochs and the envelopes that deliver each epoch's key among the members.
 *
 * An epoch is started (pending) by the first HE key of a federation, a rotation or a revocation; the
 * first member to deliver a key for it makes it ready and records its keyId (a hash, never the key);
 * starting the next epoch retires it. Envelopes are compact JWEs one member made for another: the
 * aggregator stores and relays them and cannot open them. Every change appends its audit event in
 * the same transaction (`key.epoch_started`, `key.created`, `key.delivered`), as the last statements.
 *
 * Lock order (ADR 0006, extended): plan rows, round rows, then the federation's key epoch row, then
 * the audit chain.
 */
import { KpflError } from '@kpfl/common';
import { type AuditEntry, appendAudit } from './audit.js';
import type { Db, Queryable } from './db.js';
import { failRounds, lockAcceptingHeRounds, type Tx } from './round-machine.js';

export type KeyEpochState = 'pending' | 'ready' | 'retired';
export type KeyEpochReason = 'initial' | 'rotation' | 'revocation';

export interface KeyEpochRow {
  federation: string;
  epoch: number;
  state: KeyEpochState;
  he_params: string;
  key_id: string | null;
  created_by: string | null;
  reason: KeyEpochReason;
  started_by: string;
  started_at: Date;
  ready_at: Date | null;
  retired_at: Date | null;
}

export interface KeyEnvelopeRow {
  federation: string;
  epoch: number;
  recipient: string;
  sender: string;
  jwe: string;
  stored_at: Date;
}

export type KeyEpochErrorCode =
  | 'no_epoch'
  | 'not_current'
  | 'already_made'
  | 'not_made'
  | 'key_mismatch'
  | 'not_holder'
  | 'no_envelope';

/** Why an epoch or envelope operation is refused (mapped to a status by the aggregator's errors.ts). */
export class KeyEpochError extends KpflError<KeyEpochErrorCode> {
  override readonly name = 'KeyEpochError';
}

/** The federation's current epoch (pending or ready), if any. */
export async function currentKeyEpoch(q: Queryable, federation: string): Promise<KeyEpochRow | undefined> {
  const { rows } = await q.query<KeyEpochRow>(
    `SELECT * FROM key_epochs WHERE federation = $1 AND state IN ('pending', 'ready')`,
    [federation],
  );
  return rows[0];
}

export async function getKeyEpoch(
  q: Queryable,
  federation: string,
  epoch: number,
): Promise<KeyEpochRow | undefined> {
  const { rows } = await q.query<KeyEpochRow>(
    'SELECT * FROM key_epochs WHERE federation = $1 AND epoch = $2',
    [federation, epoch],
  );
  return rows[0];
}

export async function listKeyEpochs(q: Queryable, federation: string): Promise<KeyEpochRow[]> {
  const { rows } = await q.query<KeyEpochRow>(
    'SELECT * FROM key_epochs WHERE federation = $1 ORDER BY epoch',
    [federation],
  );
  return rows;
}

/**
 * Starts the next epoch (pending), in the caller's transaction: retires the current one and fails
 * every HE round still accepting updates (ADR 0008: its updates are under a key the departing member
 * holds), then appends `key.epoch_started`. `heParams` defaults to the current epoch's. Returns the
 * new epoch, or undefined when the federation has no epoch yet and no `heParams` is given (nothing
 * to rotate).
 */
export async function startKeyEpoch(
  tx: Tx,
  a: { federation: string; reason: KeyEpochReason; actor: string; heParams?: string; why?: string },
): Promise<KeyEpochRow | undefined> {
  const inflight = await lockAcceptingHeRounds(tx, a.federation);
  const { rows } = await tx.query<KeyEpochRow>(
    `SELECT * FROM key_epochs WHERE federation = $1 AND state IN ('pending', 'ready') FOR UPDATE`,
    [a.federation],
  );
  const current = rows[0];
  const heParams = a.heParams ?? current?.he_params;
  if (!heParams) return undefined;
  if (current) {
    await tx.query(
      `UPDATE key_epochs SET state = 'retired', retired_at = now() WHERE federation = $1 AND epoch = $2`,
      [a.federation, current.epoch],
    );
  }
  const next = await tx.query<KeyEpochRow>(
    `INSERT INTO key_epochs (federation, epoch, state, he_params, reason, started_by)
     VALUES ($1, COALESCE((SELECT max(epoch) FROM key_epochs WHERE federation = $1), 0) + 1, 'pending', $2, $3, $4)
     RETURNING *`,
    [a.federation, heParams, a.reason, a.actor],
  );
  const epoch = next.rows[0]!;
  const reason = `key epoch ${epoch.epoch} started (${a.reason}${a.why ? `: ${a.why}` : ''}): updates under epoch ${current?.epoch ?? 'none'} are no longer accepted`;
  await failRounds(tx, inflight, reason, a.actor);
  await appendAudit(tx, {
    federation: a.federation,
    event: 'key.epoch_started',
    actor: a.actor,
    data: {
      epoch: epoch.epoch,
      reason: a.reason,
      heParams,
      retiredEpoch: current?.epoch,
      failedRounds: inflight.map((r) => `${r.planId}#${r.round}`),
      ...(a.why ? { why: a.why } : {}),
    },
  });
  return epoch;
}

/**
 * The one-machine convenience path (`kpfl provision`): the kits carry epoch 1's key and the
 * coordinator kit its keyId only. Registers epoch 1 as ready, made by 'provision', when the
 * federation has no epoch yet; otherwise changes nothing (idempotent at every start-up).
 */
export async function registerProvisionedEpoch(
  db: Db,
  a: {
    federation: string;
    heParams: string;
    keyId: string;
    actor: string;
    /** Participants the kit records as revoked: they held epoch 1's key, so a new epoch starts. */
    revoked?: string[];
  },
): Promise<boolean> {
  return db.tx(async (tx) => {
    await tx.query('SELECT 1 FROM federations WHERE id = $1 FOR NO KEY UPDATE', [a.federation]);
    const any = await tx.query('SELECT 1 FROM key_epochs WHERE federation = $1 LIMIT 1', [a.federation]);
    if (any.rowCount) return false;
    await tx.query(
      `INSERT INTO key_epochs (federation, epoch, state, he_params, key_id, created_by, reason, started_by, ready_at)
       VALUES ($1, 1, 'ready', $2, $3, 'provision', 'initial', $4, now())`,
      [a.federation, a.heParams, a.keyId, a.actor],
    );
    await appendAudit(tx, {
      federation: a.federation,
      event: 'key.epoch_started',
      actor: a.actor,
      data: { epoch: 1, reason: 'initial', heParams: a.heParams },
    });
    await appendAudit(tx, {
      federation: a.federation,
      event: 'key.created',
      actor: a.actor,
      data: { epoch: 1, keyId: a.keyId, createdBy: 'provision' },
    });
    if (a.revoked?.length)
      await startKeyEpoch(tx, {
        federation: a.federation,
        reason: 'revocation',
        actor: a.actor,
        why: `revoked ${a.revoked.join(', ')}`,
      });
    return true;
  });
}

/** Starts a federation's first epoch, or a rotation, on a member's request (`kpfl he-key create|rotate`). */
export async function requestKeyEpoch(
  db: Db,
  a: { federation: string; heParams: string; actor: string; rotate: boolean },
): Promise<{ epoch: KeyEpochRow; started: boolean }> {
  return db.tx(async (tx) => {
    // Serialized with revocations (which hold this row from their start): a rotation and a
    // revocation never both start an epoch from the same current one, and no envelope of an epoch
    // started before a revocation commits reaches the revoked member unretired.
    await tx.query('SELECT 1 FROM federations WHERE id = $1 FOR NO KEY UPDATE', [a.federation]);
    const current = await currentKeyEpoch(tx, a.federation);
    if (current && !a.rotate) return { epoch: current, started: false };
    // A pending epoch is already what a rotation asks for: nobody holds its key yet.
    if (current?.state === 'pending') return { epoch: current, started: false };
    const epoch = await startKeyEpoch(tx, {
      federation: a.federation,
      reason: current ? 'rotation' : 'initial',
      actor: a.actor,
      heParams: current?.he_params ?? a.heParams,
    });
    return { epoch: epoch!, started: true };
  });
}

export interface EnvelopeIn {
  recipient: string;
  jwe: string;
}

/**
 * Stores envelopes of `epoch` from `sender`, in one transaction with their audit events:
 * - `create`: the sender made the epoch's key. The first to do so for a pending epoch makes it
 *   ready with its keyId (`key.created`); anyone after it is refused (already_made): the database
 *   settles the race, first wins.
 * - otherwise the sender delivers a key it holds (it made it or received an envelope of it) to members
 *   that have none, e.g. one that joined later; its keyId must be the epoch's.
 * An envelope for a recipient that has one already is skipped (the first stays). Returns who got one.
 * The caller has checked every envelope's header (addressee, sender, epoch).
 */
export async function putKeyEnvelopes(
  db: Db,
  a: {
    federation: string;
    epoch: number;
    sender: string;
    keyId: string;
    create: boolean;
    envelopes: EnvelopeIn[];
  },
): Promise<{ stored: string[]; skipped: string[]; epoch: KeyEpochRow }> {
  return db.tx(async (tx) => {
    const { rows } = await tx.query<KeyEpochRow>(
      'SELECT * FROM key_epochs WHERE federation = $1 AND epoch = $2 FOR UPDATE',
      [a.federation, a.epoch],
    );
    const row = rows[0];
    if (!row) throw new KeyEpochError('no_epoch', `${a.federation} has no key epoch ${a.epoch}`);
    if (row.state === 'retired')
      throw new KeyEpochError(
        'not_current',
        `key epoch ${a.epoch} is retired: envelopes of an old epoch are not relayed (ask for the current epoch)`,
      );
    const events: AuditEntry[] = [];
    let epoch = row;
    if (a.create) {
      if (row.state === 'ready')
        throw new KeyEpochError(
          'already_made',
          `key epoch ${a.epoch} already has a key (keyId ${row.key_id}, made by ${row.created_by}): fetch your envelope instead`,
        );
      const made = await tx.query<KeyEpochRow>(
        `UPDATE key_epochs SET state = 'ready', key_id = $3, created_by = $4, ready_at = now()
         WHERE federation = $1 AND epoch = $2 RETURNING *`,
        [a.federation, a.epoch, a.keyId, a.sender],
      );
      epoch = made.rows[0]!;
      events.push({
        federation: a.federation,
        event: 'key.created',
        member: a.sender,
        actor: a.sender,
        data: { epoch: a.epoch, keyId: a.keyId, heParams: row.he_params },
      });
    } else {
      if (row.state === 'pending')
        throw new KeyEpochError(
          'not_made',
          `key epoch ${a.epoch} has no key yet: make it (kpfl he-key create) rather than deliver one`,
        );
      if (row.key_id !== a.keyId)
        throw new KeyEpochError(
          'key_mismatch',
          `the key delivered has keyId ${a.keyId}, key epoch ${a.epoch} recorded ${row.key_id}`,
        );
      const holds =
        row.created_by === a.sender ||
        (
          await tx.query(
            'SELECT 1 FROM key_envelopes WHERE federation = $1 AND epoch = $2 AND recipient = $3',
            [a.federation, a.epoch, a.sender],
          )
        ).rowCount;
      if (!holds)
        throw new KeyEpochError(
          'not_holder',
          `${a.sender} never received the key of epoch ${a.epoch}: only a member holding it delivers it`,
        );
    }
    const stored: string[] = [];
    const skipped: string[] = [];
    for (const e of a.envelopes) {
      const r = await tx.query(
        `INSERT INTO key_envelopes (federation, epoch, recipient, sender, jwe) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT DO NOTHING`,
        [a.federation, a.epoch, e.recipient, a.sender, e.jwe],
      );
      if (r.rowCount) {
        stored.push(e.recipient);
        events.push({
          federation: a.federation,
          event: 'key.delivered',
          member: e.recipient,
          actor: a.sender,
          data: { epoch: a.epoch, keyId: epoch.key_id, sender: a.sender, bytes: e.jwe.length },
        });
      } else skipped.push(e.recipient);
    }
    for (const e of events) await appendAudit(tx, e);
    return { stored, skipped, epoch };
  });
}

export async function getKeyEnvelope(
  q: Queryable,
  federation: string,
  epoch: number,
  recipient: string,
): Promise<KeyEnvelopeRow | undefined> {
  const { rows } = await q.query<KeyEnvelopeRow>(
    'SELECT * FROM key_envelopes WHERE federation = $1 AND epoch = $2 AND recipient = $3',
    [federation, epoch, recipient],
  );
  return rows[0];
}

/** Who should hold an epoch's key: every active participant, with its encryption key and whether it has an envelope. */
export async function listKeyRecipients(
  q: Queryable,
  federation: string,
  epoch: number,
): Promise<{ id: string; encryption_jwk: Record<string, unknown> | null; has_envelope: boolean }[]> {
  const { rows } = await q.query<{
    id: string;
    encryption_jwk: Record<string, unknown> | null;
    has_envelope: boolean;
  }>(
    `SELECT m.id, m.encryption_jwk,
            EXISTS (SELECT 1 FROM key_envelopes e WHERE e.federation = m.federation AND e.epoch = $2 AND e.recipient = m.id)
              OR EXISTS (SELECT 1 FROM key_epochs k WHERE k.federation = m.federation AND k.epoch = $2 AND k.created_by = m.id)
              AS has_envelope
     FROM members m
     WHERE m.federation = $1 AND m.status = 'active' AND 'participant' = ANY (m.roles)
     ORDER BY m.id`,
    [federation, epoch],
  );
  return rows;
}
