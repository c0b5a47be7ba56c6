import {
  type AuditCheckpointRow,
  type AuditRow,
  auditNow,
  listAuditCheckpoints,
  queryAudit,
} from './audit.js';
import { type Db, inSnapshot, type Queryable } from './db.js';
import { getFederationJwks } from './members.js';

/**
 * The auditor's read models over the store: contributions (accepted rows joined with refusals from
 * the log) and rounds (with who was sampled, contributed, accepted and signed). Filters arrive
 * validated (see @kpfl/audit filters.ts); this module only builds the SQL.
 */

/** A timestamptz column rendered as the audit log renders `at`: UTC, six fraction digits, 'Z'. */
const atSql = (col: string) => `to_char(${col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

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

/**
 * Keyset position of a contribution row: its time, then 0 (accepted: contributions.id) or 1
 * (refused: audit_log.seq), then that id as a decimal string.
 */
export interface ContributionAuditKey {
  at: string;
  src: 0 | 1;
  k: string;
}

export interface ContributionAuditQuery {
  federation?: string;
  planId?: string;
  round?: number;
  member?: string;
  status?: 'accepted' | 'refused';
  /** Inclusive lower bound on the time. */
  from?: Date;
  /** Exclusive upper bound on the time. */
  to?: Date;
  /** Rows after this position (the previous page's `next`). */
  after?: ContributionAuditKey;
  limit: number;
}

interface RawContribution {
  at: string;
  src: 0 | 1;
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

/**
 * One page of contributions in time order. Refused contributions are `contribution.refused` audit
 * events whose data may carry reason, exampleCount, baseModelDigest, updateDigest,
 * attestationDigest and receipt.
 */
export async function queryContributionAudit(
  db: Queryable,
  f: ContributionAuditQuery,
): Promise<{ rows: ContributionAuditRow[]; next?: ContributionAuditKey }> {
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
  if (f.after !== undefined) {
    values.push(f.after.at, f.after.src, f.after.k);
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
     SELECT ${atSql('at_ts')} AS at, src, k::text AS k, federation, plan_id, round, member, status, reason, example_count,
            base_model_digest, update_digest, attestation_digest, receipt
     FROM x ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
     ORDER BY at_ts, src, k LIMIT $${values.length}`,
    values,
  );
  const page = rows.slice(0, f.limit);
  const out: { rows: ContributionAuditRow[]; next?: ContributionAuditKey } = {
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
  const last = page.at(-1);
  if (rows.length > f.limit && last) out.next = { at: last.at, src: last.src, k: last.k };
  return out;
}

/** Per round: who was sampled, who contributed, who was accepted, the aggregate and the stored certificate. */
export interface RoundAuditRecord {
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
  /** The stored round certificate (General JWS), or null. */
  certificate: unknown;
  failureReason: string | null;
  openedAt: string;
  closedAt: string | null;
  publishedAt: string | null;
}

export interface RoundAuditQuery {
  federation?: string;
  planId?: string;
  round?: number;
  state?: string;
}

export async function queryRoundAudit(db: Queryable, f: RoundAuditQuery = {}): Promise<RoundAuditRecord[]> {
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
            ${atSql('r.opened_at')} AS opened_at, ${atSql('r.closed_at')} AS closed_at, ${atSql('r.published_at')} AS published_at,
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
    certificate: r.certificate ?? null,
    failureReason: r.failure_reason,
    openedAt: r.opened_at,
    closedAt: r.closed_at,
    publishedAt: r.published_at,
  }));
}

/** A round as the export carries it. */
export interface AuditSnapshotRound {
  planId: string;
  round: number;
  state: string;
  sampled: string[];
  quorum: number;
  minParticipants: number;
  baseModelDigest: string | null;
  aggregateDigest: string | null;
  contributions: number;
  failureReason: string | null;
  openedAt: string;
  closedAt: string | null;
  publishedAt: string | null;
}

/** An accepted contribution as the export carries it (attestation and receipt JWSs included). */
export interface AuditSnapshotContribution {
  id: number;
  planId: string;
  round: number;
  member: string;
  attestation: string;
  attestationDigest: string;
  updateDigest: string;
  baseModelDigest: string;
  exampleCount: number;
  bytes: number;
  receipt: string;
  receivedAt: string;
}

export interface AuditSnapshotCertificate {
  planId: string;
  round: number;
  /** The stored round certificate (General JWS). */
  certificate: unknown;
  signers: string[];
}

/** Everything an audit export holds, read from one snapshot. */
export interface AuditSnapshot {
  /** The JWKS stored for the federation (only read when asked for; undefined when there is none). */
  storedJwks?: unknown;
  /** The whole chain, seq 1..head (the chain is per schema, so every federation's rows). */
  log: AuditRow[];
  checkpoints: AuditCheckpointRow[];
  rounds: AuditSnapshotRound[];
  contributions: AuditSnapshotContribution[];
  certificates: AuditSnapshotCertificate[];
  /** Database time of the snapshot, rendered like `at`. */
  exportedAt: string;
}

/**
 * Reads the log, checkpoints, and the federation's rounds, contributions and certificates in one
 * consistent snapshot (REPEATABLE READ, READ ONLY), plus the stored JWKS when `storedJwks` is set.
 */
export async function readAuditSnapshot(
  db: Db,
  federation: string,
  opts: { storedJwks?: boolean } = {},
): Promise<AuditSnapshot> {
  return inSnapshot(db, async (client) => {
    const storedJwks = opts.storedJwks ? await getFederationJwks(client, federation) : undefined;
    const log: AuditRow[] = [];
    for (let afterSeq = 0; ; ) {
      const page = await queryAudit(client, { afterSeq, limit: 10_000 });
      log.push(...page.rows);
      if (page.nextAfterSeq === undefined) break;
      afterSeq = page.nextAfterSeq;
    }
    const checkpoints = await listAuditCheckpoints(client);
    const rounds = await client.query<{
      plan_id: string;
      round: number;
      state: string;
      sampled: string[];
      quorum: number;
      min_participants: number;
      base_model_digest: string | null;
      aggregate_digest: string | null;
      contributions: number;
      failure_reason: string | null;
      opened_at: string;
      closed_at: string | null;
      published_at: string | null;
    }>(
      `SELECT r.plan_id, r.round, r.state, r.sampled, r.quorum, r.min_participants, r.base_model_digest, r.aggregate_digest,
              r.contributions, r.failure_reason, ${atSql('r.opened_at')} AS opened_at, ${atSql('r.closed_at')} AS closed_at,
              ${atSql('r.published_at')} AS published_at
       FROM rounds r JOIN plans p ON p.id = r.plan_id WHERE p.federation = $1 ORDER BY r.plan_id, r.round`,
      [federation],
    );
    const contributions = await client.query<{
      id: string;
      plan_id: string;
      round: number;
      member: string;
      attestation: string;
      attestation_digest: string;
      update_digest: string;
      base_model_digest: string;
      example_count: number;
      bytes: string;
      receipt: string;
      received_at: string;
    }>(
      `SELECT c.id, c.plan_id, c.round, c.member, c.attestation, c.attestation_digest, c.update_digest, c.base_model_digest,
              c.example_count, c.bytes, c.receipt, ${atSql('c.received_at')} AS received_at
       FROM contributions c JOIN plans p ON p.id = c.plan_id WHERE p.federation = $1 ORDER BY c.id`,
      [federation],
    );
    const certificates = await client.query<{
      plan_id: string;
      round: number;
      certificate: unknown;
      signers: string[];
    }>(
      `SELECT c.plan_id, c.round, c.certificate, c.signers
       FROM certificates c JOIN plans p ON p.id = c.plan_id WHERE p.federation = $1 ORDER BY c.plan_id, c.round`,
      [federation],
    );
    const exportedAt = await auditNow(client);
    return {
      ...(opts.storedJwks ? { storedJwks } : {}),
      exportedAt,
      log,
      checkpoints,
      rounds: rounds.rows.map((r) => ({
        planId: r.plan_id,
        round: r.round,
        state: r.state,
        sampled: r.sampled,
        quorum: r.quorum,
        minParticipants: r.min_participants,
        baseModelDigest: r.base_model_digest,
        aggregateDigest: r.aggregate_digest,
        contributions: r.contributions,
        failureReason: r.failure_reason,
        openedAt: r.opened_at,
        closedAt: r.closed_at,
        publishedAt: r.published_at,
      })),
      contributions: contributions.rows.map((c) => ({
        id: Number(c.id),
        planId: c.plan_id,
        round: c.round,
        member: c.member,
        attestation: c.attestation,
        attestationDigest: c.attestation_digest,
        updateDigest: c.update_digest,
        baseModelDigest: c.base_model_digest,
        exampleCount: c.example_count,
        bytes: Number(c.bytes),
        receipt: c.receipt,
        receivedAt: c.received_at,
      })),
      certificates: certificates.rows.map((c) => ({
        planId: c.plan_id,
        round: c.round,
        certificate: c.certificate,
        signers: c.signers,
      })),
    };
  });
}
