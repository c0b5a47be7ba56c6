import { AuditError, type AuditPage, type Queryable, queryAudit } from '@kpfl/store';
import { decodeProtectedHeader } from 'jose';
import {
  type AuditLogFilter,
  auditLogFilterSchema,
  type ContributionFilter,
  contributionFilterSchema,
  parseFilter,
  type RoundFilter,
  roundFilterSchema,
} from './filters.js';

const AT = (col: string) => `to_char(${col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/** One contribution as an auditor sees it: accepted ones from the contributions table, refused ones from the log. */
export interface ContributionAuditRow {
  /** Received (accepted) or refused time, UTC with microseconds. */
  at: string;
  federation: string;
  planId: string | null;
  round: number | null;
  member: string | null;
  status: 'accepted' | 'refused';
  /** Why it was refused (null when accepted). */
  reason: string | null;
  exampleCount: number | null;
  baseModelDigest: string | null;
  updateDigest: string | null;
  attestationDigest: string | null;
  /** The coordinator's receipt (compact JWS), when one was issued. */
  receipt: string | null;
  /** Audit log seq of the refusal (null for accepted contributions: see contribution.accepted events). */
  seq: number | null;
}

export interface ContributionPage {
  rows: ContributionAuditRow[];
  /** Pass as `cursor` for the next page; absent on the last page. */
  nextCursor?: string;
}

interface RawContribution {
  at: string;
  src: number;
  k: string;
  federation: string;
  plan_id: string | null;
  round: number | null;
  member: string | null;
  status: 'accepted' | 'refused';
  reason: string | null;
  example_count: number | null;
  base_model_digest: string | null;
  update_digest: string | null;
  attestation_digest: string | null;
  receipt: string | null;
}

function encodeCursor(r: RawContribution): string {
  return Buffer.from(JSON.stringify([r.at, r.src, r.k])).toString('base64url');
}

function decodeCursor(cursor: string): [string, number, string] {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (
      Array.isArray(v) &&
      v.length === 3 &&
      typeof v[0] === 'string' &&
      !Number.isNaN(Date.parse(v[0])) &&
      (v[1] === 0 || v[1] === 1) &&
      /^\d+$/.test(v[2])
    ) {
      return v as [string, number, string];
    }
  } catch {
    // fall through
  }
  throw new AuditError(
    'BAD_FILTER',
    'invalid contributions filter: cursor must be a value returned as nextCursor',
  );
}

/**
 * Every contribution with member, round, example count, base-model and update digests, accepted or
 * refused (and why), and receipt; ordered by time, keyset-paginated with `cursor`.
 * Refused contributions are `contribution.refused` audit events whose data may carry reason,
 * exampleCount, baseModelDigest, updateDigest, attestationDigest and receipt.
 */
export async function listContributions(
  db: Queryable,
  filter: ContributionFilter = {},
): Promise<ContributionPage> {
  const f = parseFilter(contributionFilterSchema, filter, 'contributions');
  const values: unknown[] = [];
  const where: string[] = [];
  const add = (sql: string, v: unknown) => {
    values.push(v);
    where.push(sql.replaceAll('?', `$${values.length}`));
  };
  if (f.federation !== undefined) add('federation = ?', f.federation);
  if (f.planId !== undefined) add('plan_id = ?', f.planId);
  if (f.round !== undefined) add('round = ?', f.round);
  if (f.member !== undefined) add('member = ?', f.member);
  if (f.status !== undefined) add('status = ?', f.status);
  if (f.from !== undefined) add('at_ts >= ?::timestamptz', f.from.toISOString());
  if (f.to !== undefined) add('at_ts < ?::timestamptz', f.to.toISOString());
  if (f.cursor !== undefined) {
    const [at, src, k] = decodeCursor(f.cursor);
    values.push(at, src, k);
    const n = values.length;
    where.push(`(at_ts, src, k) > ($${n - 2}::timestamptz, $${n - 1}::int, $${n}::bigint)`);
  }
  values.push(f.limit + 1);
  const { rows } = await db.query<RawContribution>(
    `WITH x AS (
       SELECT c.received_at AS at_ts, 0 AS src, c.id AS k, p.federation, c.plan_id, c.round, c.member,
              'accepted'::text AS status, NULL::text AS reason, c.example_count, c.base_model_digest, c.update_digest,
              c.attestation_digest, c.receipt
       FROM contributions c JOIN plans p ON p.id = c.plan_id
       UNION ALL
       SELECT a.at, 1, a.seq, a.federation, a.plan_id, a.round, a.member, 'refused', a.data->>'reason',
              CASE WHEN jsonb_typeof(a.data->'exampleCount') = 'number' THEN (a.data->>'exampleCount')::numeric::int END,
              a.data->>'baseModelDigest', a.data->>'updateDigest', a.data->>'attestationDigest', a.data->>'receipt'
       FROM audit_log a WHERE a.event = 'contribution.refused'
     )
     SELECT ${AT('at_ts')} AS at, src, k::text AS k, federation, plan_id, round, member, status, reason, example_count,
            base_model_digest, update_digest, attestation_digest, receipt
     FROM x ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
     ORDER BY at_ts, src, k LIMIT $${values.length}`,
    values,
  );
  const page = rows.slice(0, f.limit);
  const out: ContributionPage = {
    rows: page.map((r) => ({
      at: r.at,
      federation: r.federation,
      planId: r.plan_id,
      round: r.round,
      member: r.member,
      status: r.status,
      reason: r.reason,
      exampleCount: r.example_count,
      baseModelDigest: r.base_model_digest,
      updateDigest: r.update_digest,
      attestationDigest: r.attestation_digest,
      receipt: r.receipt,
      seq: r.src === 1 ? Number(r.k) : null,
    })),
  };
  if (rows.length > f.limit) out.nextCursor = encodeCursor(page.at(-1)!);
  return out;
}

/** Per round: who was sampled, who contributed, how many were accepted, the aggregate, who signed its certificate. */
export interface RoundAuditRow {
  federation: string;
  planId: string;
  round: number;
  state: string;
  sampled: string[];
  /** Members that submitted anything (accepted, refused or received), sorted. */
  contributed: string[];
  /** Members whose contribution was accepted, sorted. */
  accepted: string[];
  refused: number;
  baseModelDigest: string | null;
  aggregateDigest: string | null;
  /** 'coordinator' then the members whose signature the stored certificate carries (not verified here: see verify). */
  certificateSigners: string[];
  failureReason: string | null;
  openedAt: string;
  closedAt: string | null;
  publishedAt: string | null;
}

function certificateSigners(cert: unknown): string[] {
  const sigs = (cert as { signatures?: unknown } | null)?.signatures;
  if (!Array.isArray(sigs)) return [];
  const out: string[] = [];
  for (const s of sigs) {
    try {
      // Listing who signed, not verifying: `kpfl audit verify` checks every signature.
      if (typeof s !== 'object' || s === null) throw new TypeError('not a JWS signature object');
      const h = decodeProtectedHeader(s);
      if (h.kpfl_signer === 'coordinator') out.unshift('coordinator');
      else if (typeof h.kpfl_member === 'string') out.push(h.kpfl_member);
    } catch {
      out.push('(undecodable signature)');
    }
  }
  return out;
}

export async function listRoundsAudit(db: Queryable, filter: RoundFilter = {}): Promise<RoundAuditRow[]> {
  const f = parseFilter(roundFilterSchema, filter, 'rounds');
  const values: unknown[] = [];
  const where: string[] = [];
  const add = (sql: string, v: unknown) => {
    values.push(v);
    where.push(sql.replaceAll('?', `$${values.length}`));
  };
  if (f.federation !== undefined) add('p.federation = ?', f.federation);
  if (f.planId !== undefined) add('r.plan_id = ?', f.planId);
  if (f.round !== undefined) add('r.round = ?', f.round);
  if (f.state !== undefined) add('r.state = ?', f.state);
  const { rows } = await db.query<{
    federation: string;
    plan_id: string;
    round: number;
    state: string;
    sampled: string[];
    contributed: string[];
    accepted: string[];
    refused: string;
    base_model_digest: string | null;
    aggregate_digest: string | null;
    certificate: unknown;
    failure_reason: string | null;
    opened_at: string;
    closed_at: string | null;
    published_at: string | null;
  }>(
    `SELECT p.federation, r.plan_id, r.round, r.state, r.sampled, r.base_model_digest, r.aggregate_digest, r.failure_reason,
            ${AT('r.opened_at')} AS opened_at, ${AT('r.closed_at')} AS closed_at, ${AT('r.published_at')} AS published_at,
            cert.certificate,
            ARRAY(SELECT c.member FROM contributions c WHERE c.plan_id = r.plan_id AND c.round = r.round ORDER BY c.member) AS accepted,
            ARRAY(SELECT m FROM (
                    SELECT c.member AS m FROM contributions c WHERE c.plan_id = r.plan_id AND c.round = r.round
                    UNION
                    SELECT a.member FROM audit_log a
                    WHERE a.plan_id = r.plan_id AND a.round = r.round AND a.member IS NOT NULL
                      AND a.event IN ('contribution.received', 'contribution.accepted', 'contribution.refused')
                  ) s ORDER BY m) AS contributed,
            (SELECT count(*) FROM audit_log a WHERE a.plan_id = r.plan_id AND a.round = r.round
               AND a.event = 'contribution.refused') AS refused
     FROM rounds r JOIN plans p ON p.id = r.plan_id
     LEFT JOIN certificates cert ON cert.plan_id = r.plan_id AND cert.round = r.round
     ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
     ORDER BY p.created_at, r.plan_id, r.round`,
    values,
  );
  return rows.map((r) => ({
    federation: r.federation,
    planId: r.plan_id,
    round: r.round,
    state: r.state,
    sampled: r.sampled,
    contributed: r.contributed,
    accepted: r.accepted,
    refused: Number(r.refused),
    baseModelDigest: r.base_model_digest,
    aggregateDigest: r.aggregate_digest,
    certificateSigners: certificateSigners(r.certificate),
    failureReason: r.failure_reason,
    openedAt: r.opened_at,
    closedAt: r.closed_at,
    publishedAt: r.published_at,
  }));
}

/** The raw audit log, filtered and keyset-paginated (afterSeq / nextAfterSeq), with validated filters. */
export async function queryAuditLog(db: Queryable, filter: AuditLogFilter = {}): Promise<AuditPage> {
  const f = parseFilter(auditLogFilterSchema, filter, 'audit log');
  return queryAudit(db, f);
}
