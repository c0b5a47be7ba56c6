import { createHash } from 'node:crypto';
import { KpflError } from '@kpfl/common';
import pg from 'pg';
import type { Db, Queryable } from './db.js';

/**
 * The append-only, hash-chained audit log.
 *
 * Row hash (version 1):
 *
 *   hash = 'sha256:' + lowercase hex( SHA-256( UTF-8( canonicalJson(content) ) ) )
 *   content = { v: 1, seq, at, federation, event, planId, round, member, actor, data, prevHash }
 *
 * - canonicalJson is RFC 8785 (JSON Canonicalization Scheme) for JSON values: object members
 *   sorted by their names' UTF-16 code units, no whitespace, strings and numbers exactly as
 *   ECMAScript JSON.stringify writes them; members whose value is undefined are omitted.
 * - seq is the integer position (1, 2, 3, ...), at is the row time rendered in UTC with exactly six
 *   fraction digits, 'YYYY-MM-DDTHH:MM:SS.ffffffZ' (Postgres: to_char(at AT TIME ZONE 'UTC',
 *   'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')), absent planId/round/member/actor are null (never omitted),
 *   data is a JSON object ({} when absent), prevHash is the previous row's hash, or GENESIS_HASH
 *   ('sha256:' + 64 zeros) for seq 1.
 */

/** Stable event names. Adding one is a code change, so a typo fails loudly instead of logging garbage. */
export const AUDIT_EVENTS = [
  'member.added',
  'member.revoked',
  'federation.registered',
  'member.enrolled',
  'member.enrollment_refused',
  'token.issued',
  'rpc.refused',
  'contribution.received',
  'contribution.accepted',
  'contribution.refused',
  'plan.scheduled',
  'plan.done',
  'plan.cancelled',
  'plan.failed',
  'round.opened',
  'round.collecting',
  'round.closed',
  'round.published',
  'round.failed',
  'round.rejected',
  'model.agreed',
  'model.disputed',
  'certificate.signed',
  'certificate.countersigned',
  'checkpoint.signed',
  'key.epoch_started',
  'key.created',
  'key.delivered',
  'key.fetched',
  'key.refused',
  'round.sharing',
  'round.submitting',
  'round.unmasking',
  'secagg.advertised',
  'secagg.shared',
  'secagg.unmask_responded',
  'secagg.unmasked',
  'secagg.refused',
] as const;
export type AuditEvent = (typeof AUDIT_EVENTS)[number];

/**
 * Names earlier versions wrote and a chain keeps forever (rows are never rewritten): they can be
 * read, queried and verified, never appended. `member.provisioned` is what `member.added` was called.
 */
export const LEGACY_AUDIT_EVENTS = ['member.provisioned'] as const;

export const AUDIT_HASH_VERSION = 1;
export const GENESIS_HASH = `sha256:${'0'.repeat(64)}`;

/** SQL rendering of `at` used for hashing, export and queries: six fraction digits, UTC, 'Z'. */
export const AT_SQL = `to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
const AT_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

export type AuditErrorCode = 'BAD_ENTRY' | 'BAD_FILTER' | 'BAD_EXPORT' | 'CHAIN_CONFLICT' | 'NOTHING_TO_SIGN';

/** Errors of the audit log and its auditor views; `code` is stable, the message says what to fix. */
export class AuditError extends KpflError<AuditErrorCode> {
  override readonly name = 'AuditError';
}

export type JsonValue = null | boolean | number | string | JsonValue[] | { [k: string]: JsonValue };

export interface AuditEntry {
  federation: string;
  event: AuditEvent;
  planId?: string | null;
  round?: number | null;
  member?: string | null;
  /** Who caused the event: 'coordinator', 'operator:<user>@<host>', a member id, an auditor id. */
  actor?: string | null;
  /** Event details; must be a JSON object (undefined members are dropped, as JSON.stringify does). */
  data?: Record<string, unknown>;
}

export interface AuditRow {
  seq: number;
  /** 'YYYY-MM-DDTHH:MM:SS.ffffffZ' (UTC, microseconds): exactly the string that was hashed. */
  at: string;
  federation: string;
  event: string;
  planId: string | null;
  round: number | null;
  member: string | null;
  actor: string | null;
  data: { [k: string]: JsonValue };
  prevHash: string;
  hash: string;
}

/** RFC 8785 canonical JSON of a JSON value (sorted member names, no whitespace). */
export function canonicalJson(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value))
        throw new AuditError('BAD_ENTRY', `canonical JSON has no representation for ${value}`);
      return JSON.stringify(value);
    case 'string':
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; i++) {
          if (i > 0) out += ',';
          out += value[i] === undefined ? 'null' : canonicalJson(value[i]);
        }
        return `${out}]`;
      }
      const obj = value as Record<string, unknown>;
      // Array.prototype.sort without a comparator orders strings by UTF-16 code units, as RFC 8785 requires.
      const keys = Object.keys(obj).sort();
      let out = '{';
      let first = true;
      for (const k of keys) {
        const v = obj[k];
        if (v === undefined) continue;
        if (!first) out += ',';
        first = false;
        out += `${JSON.stringify(k)}:${canonicalJson(v)}`;
      }
      return `${out}}`;
    }
    default:
      throw new AuditError('BAD_ENTRY', `canonical JSON has no representation for a ${typeof value}`);
  }
}

/** The canonical content of a row, exactly as hashed. */
export function auditContent(row: Omit<AuditRow, 'hash'>): string {
  return canonicalJson({
    v: AUDIT_HASH_VERSION,
    seq: row.seq,
    at: row.at,
    federation: row.federation,
    event: row.event,
    planId: row.planId,
    round: row.round,
    member: row.member,
    actor: row.actor,
    data: row.data,
    prevHash: row.prevHash,
  });
}

/** hash = 'sha256:' + hex(SHA-256(UTF-8(canonical content))), the content including prevHash. */
export function computeAuditHash(row: Omit<AuditRow, 'hash'>): string {
  return `sha256:${createHash('sha256').update(auditContent(row), 'utf8').digest('hex')}`;
}

/** Normalizes event data to what jsonb gives back: a plain JSON object. */
function normalizeData(data: Record<string, unknown> | undefined): { [k: string]: JsonValue } {
  if (data === undefined) return {};
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new AuditError('BAD_ENTRY', 'audit data must be a JSON object');
  }
  let text: string;
  try {
    text = JSON.stringify(data, (_k, v) => {
      if (typeof v === 'number' && !Number.isFinite(v)) throw new Error(`non-finite number ${v}`);
      if (typeof v === 'bigint') throw new Error('bigint (convert it to a string or number)');
      if (typeof v === 'string' && v.includes('\u0000')) throw new Error('a string with a NUL character');
      return v;
    });
  } catch (cause) {
    throw new AuditError(
      'BAD_ENTRY',
      `audit data is not representable as JSON: ${(cause as Error).message}`,
      { cause },
    );
  }
  return JSON.parse(text);
}

const AUDIT_EVENT_SET: ReadonlySet<string> = new Set(AUDIT_EVENTS);

function optionalText(v: string | null | undefined, what: string): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string' || v.length === 0 || v.length > 256) {
    throw new AuditError('BAD_ENTRY', `audit ${what} must be a non-empty string of at most 256 characters`);
  }
  return v;
}

function checkEntry(e: AuditEntry) {
  if (!AUDIT_EVENT_SET.has(e.event)) {
    throw new AuditError(
      'BAD_ENTRY',
      `unknown audit event "${e.event}" (one of: ${AUDIT_EVENTS.join(', ')})`,
    );
  }
  const federation = optionalText(e.federation, 'federation');
  if (federation === null) throw new AuditError('BAD_ENTRY', 'audit entry needs a federation');
  if (
    e.round !== undefined &&
    e.round !== null &&
    !(Number.isSafeInteger(e.round) && e.round >= 0 && e.round <= 2 ** 31 - 1)
  ) {
    throw new AuditError('BAD_ENTRY', `audit round must be a non-negative integer, got ${e.round}`);
  }
  return {
    federation,
    event: e.event,
    planId: optionalText(e.planId, 'planId'),
    round: e.round ?? null,
    member: optionalText(e.member, 'member'),
    actor: optionalText(e.actor, 'actor'),
    data: normalizeData(e.data),
  };
}

const LOCK_SQL = `SELECT pg_advisory_xact_lock(hashtext('kpfl-audit:' || current_schema()))`;

/** Appends inside an open transaction, holding the chain lock until that transaction ends. */
async function appendInTransaction(
  q: Queryable,
  e: ReturnType<typeof checkEntry>,
): Promise<{ seq: number; hash: string }> {
  await q.query(LOCK_SQL);
  const { rows } = await q.query<{ seq: string | null; hash: string | null; at: string }>(
    `SELECT h.seq, h.hash, to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at
     FROM (SELECT 1) one LEFT JOIN (SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1) h ON true`,
  );
  const head = rows[0]!;
  const row: Omit<AuditRow, 'hash'> = {
    seq: head.seq === null ? 1 : Number(head.seq) + 1,
    at: head.at,
    ...e,
    prevHash: head.hash ?? GENESIS_HASH,
  };
  const hash = computeAuditHash(row);
  try {
    await q.query(
      `INSERT INTO audit_log (seq, at, federation, event, plan_id, round, member, actor, data, prev_hash, hash)
       VALUES ($1, $2::timestamptz, $3, $4, $5, $6, $7, $8, $9::jsonb, $10, $11)`,
      [
        row.seq,
        row.at,
        row.federation,
        row.event,
        row.planId,
        row.round,
        row.member,
        row.actor,
        JSON.stringify(row.data),
        row.prevHash,
        hash,
      ],
    );
  } catch (err) {
    if ((err as { code?: string }).code === '23505') {
      throw new AuditError(
        'CHAIN_CONFLICT',
        `audit append lost a race for seq ${row.seq}: append in a READ COMMITTED transaction (a REPEATABLE READ or ` +
          'SERIALIZABLE snapshot taken before the chain lock cannot see the latest head)',
        { cause: err },
      );
    }
    throw err;
  }
  return { seq: row.seq, hash };
}

function isDb(q: Queryable): q is Db {
  return typeof (q as Partial<Db>).tx === 'function';
}

/**
 * Appends one event to the chain and returns its seq and hash.
 *
 * `q` is a Db (a transaction is opened for the append), a pg.Pool, or a client. On a client inside
 * a transaction (READ COMMITTED, the default) the row commits or rolls back with that transaction,
 * and the chain lock (a transaction-level advisory lock) is held until it ends: append as the last
 * statement of a transaction so that other appenders wait as briefly as possible and no lock-order
 * deadlock with other row locks can arise. A client outside a transaction gets its own.
 */
export async function appendAudit(q: Queryable, entry: AuditEntry): Promise<{ seq: number; hash: string }> {
  const e = checkEntry(entry);
  if (isDb(q)) return q.tx((client) => appendInTransaction(client, e));
  if (q instanceof pg.Pool) {
    const client = await q.connect();
    try {
      return await ownTransaction(client, e);
    } finally {
      client.release();
    }
  }
  // A savepoint can only be set inside a transaction block: that tells us whether the caller has one.
  try {
    await q.query('SAVEPOINT kpfl_audit_append');
  } catch (err) {
    if ((err as { code?: string }).code === '25P01') return ownTransaction(q, e);
    throw err;
  }
  const result = await appendInTransaction(q, e);
  await q.query('RELEASE SAVEPOINT kpfl_audit_append');
  return result;
}

async function ownTransaction(q: Queryable, e: ReturnType<typeof checkEntry>) {
  await q.query('BEGIN');
  try {
    const r = await appendInTransaction(q, e);
    await q.query('COMMIT');
    return r;
  } catch (err) {
    await q.query('ROLLBACK').catch(() => {});
    throw err;
  }
}

const ROW_SQL = `seq, ${AT_SQL} AS at, federation, event, plan_id, round, member, actor, data, prev_hash, hash`;

interface RawAuditRow {
  seq: string;
  at: string;
  federation: string;
  event: string;
  plan_id: string | null;
  round: number | null;
  member: string | null;
  actor: string | null;
  data: { [k: string]: JsonValue };
  prev_hash: string;
  hash: string;
}

function toRow(r: RawAuditRow): AuditRow {
  return {
    seq: Number(r.seq),
    at: r.at,
    federation: r.federation,
    event: r.event,
    planId: r.plan_id,
    round: r.round,
    member: r.member,
    actor: r.actor,
    data: r.data,
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}

export interface AuditQuery {
  federation?: string;
  event?: string | string[];
  member?: string;
  round?: number;
  planId?: string;
  /** Inclusive lower bound on `at`. */
  from?: Date | string;
  /** Exclusive upper bound on `at`. */
  to?: Date | string;
  /** Keyset cursor: rows with seq greater than this (the previous page's nextAfterSeq). */
  afterSeq?: number;
  /** Page size, 1..10000. */
  limit: number;
}

export interface AuditPage {
  rows: AuditRow[];
  /** Pass as afterSeq for the next page; absent on the last page. */
  nextAfterSeq?: number;
}

function assertInt(v: number | undefined, what: string, min: number, max: number) {
  if (v !== undefined && !(Number.isSafeInteger(v) && v >= min && v <= max)) {
    throw new AuditError('BAD_FILTER', `${what} must be an integer in ${min}..${max}, got ${String(v)}`);
  }
}

function asTime(v: Date | string | undefined, what: string): string | null {
  if (v === undefined) return null;
  const d = v instanceof Date ? v : new Date(v);
  if (Number.isNaN(d.getTime()))
    throw new AuditError('BAD_FILTER', `${what} is not a valid time: ${String(v)}`);
  return d.toISOString();
}

/** One page of the log in seq order, filtered; every filter column is indexed together with seq. */
export async function queryAudit(db: Queryable, f: AuditQuery): Promise<AuditPage> {
  assertInt(f.limit, 'limit', 1, 10_000);
  assertInt(f.round, 'round', 0, 2 ** 31 - 1);
  assertInt(f.afterSeq, 'afterSeq', 0, Number.MAX_SAFE_INTEGER);
  const where: string[] = [];
  const values: unknown[] = [];
  const add = (sql: string, v: unknown) => {
    values.push(v);
    where.push(sql.replace('?', `$${values.length}`));
  };
  if (f.federation !== undefined) add('federation = ?', f.federation);
  if (f.event !== undefined) add('event = ANY(?::text[])', Array.isArray(f.event) ? f.event : [f.event]);
  if (f.member !== undefined) add('member = ?', f.member);
  if (f.round !== undefined) add('round = ?', f.round);
  if (f.planId !== undefined) add('plan_id = ?', f.planId);
  const from = asTime(f.from, 'from');
  const to = asTime(f.to, 'to');
  if (from !== null) add('at >= ?::timestamptz', from);
  if (to !== null) add('at < ?::timestamptz', to);
  if (f.afterSeq !== undefined) add('seq > ?', f.afterSeq);
  values.push(f.limit + 1);
  const { rows } = await db.query<RawAuditRow>(
    `SELECT ${ROW_SQL} FROM audit_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
     ORDER BY seq LIMIT $${values.length}`,
    values,
  );
  const page = rows.slice(0, f.limit).map(toRow);
  return rows.length > f.limit ? { rows: page, nextAfterSeq: page.at(-1)!.seq } : { rows: page };
}

/** The last row's seq and hash; seq 0 and GENESIS_HASH for an empty log. */
export async function auditHead(
  db: Queryable,
): Promise<{ seq: number; hash: string; at?: string; event?: string }> {
  const { rows } = await db.query<{ seq: string; hash: string; at: string; event: string }>(
    `SELECT seq, hash, ${AT_SQL} AS at, event FROM audit_log ORDER BY seq DESC LIMIT 1`,
  );
  const r = rows[0];
  return r ? { seq: Number(r.seq), hash: r.hash, at: r.at, event: r.event } : { seq: 0, hash: GENESIS_HASH };
}

export async function countAudit(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ n: string }>('SELECT count(*) AS n FROM audit_log');
  return Number(rows[0]!.n);
}

export interface AuditCheckpointRow {
  seq: number;
  headHash: string;
  jws: string;
  /** Same rendering as AuditRow.at. */
  at: string;
}

/** Stores a signed checkpoint (the caller signs; see @kpfl/audit signCheckpoint). */
export async function insertAuditCheckpoint(q: Queryable, c: AuditCheckpointRow): Promise<void> {
  if (!AT_PATTERN.test(c.at))
    throw new AuditError('BAD_ENTRY', `checkpoint at must look like 2025-01-31T12:00:00.000000Z`);
  await q.query(
    'INSERT INTO audit_checkpoints (seq, head_hash, jws, at) VALUES ($1, $2, $3, $4::timestamptz)',
    [c.seq, c.headHash, c.jws, c.at],
  );
}

export async function listAuditCheckpoints(db: Queryable): Promise<AuditCheckpointRow[]> {
  const { rows } = await db.query<{ seq: string; head_hash: string; jws: string; at: string }>(
    `SELECT seq, head_hash, jws, ${AT_SQL} AS at FROM audit_checkpoints ORDER BY seq`,
  );
  return rows.map((r) => ({ seq: Number(r.seq), headHash: r.head_hash, jws: r.jws, at: r.at }));
}

/** Takes the chain lock in the caller's transaction (what appendAudit does first). */
export async function lockAuditChain(client: Queryable): Promise<void> {
  await client.query(LOCK_SQL);
}

/** Current database time in the canonical rendering. */
export async function auditNow(q: Queryable): Promise<string> {
  const { rows } = await q.query<{ at: string }>(
    `SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at`,
  );
  return rows[0]!.at;
}
