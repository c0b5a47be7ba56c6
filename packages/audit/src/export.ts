import { buildJwks, type GeneralJWS, type JSONWebKeySet, type JwksEntry } from '@kpfl/kpt';
import {
  AUDIT_HASH_VERSION,
  type AuditCheckpointRow,
  AuditError,
  type AuditRow,
  type Db,
  GENESIS_HASH,
  listAuditCheckpoints,
  type Queryable,
  queryAudit,
} from '@kpfl/store';

export const EXPORT_FORMAT = 'kpfl-audit-export';
export const EXPORT_VERSION = 1;

export interface ExportRound {
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

export interface ExportContribution {
  id: number;
  planId: string;
  round: number;
  member: string;
  /** The member's compact attestation JWS. */
  attestation: string;
  attestationDigest: string;
  updateDigest: string;
  baseModelDigest: string;
  exampleCount: number;
  bytes: number;
  /** The coordinator's compact receipt JWS. */
  receipt: string;
  receivedAt: string;
}

export interface ExportCertificate {
  planId: string;
  round: number;
  certificate: GeneralJWS;
  signers: string[];
}

/** One self-contained JSON document: everything `verifyAuditExport` needs, offline. */
export interface AuditExport {
  format: typeof EXPORT_FORMAT;
  version: typeof EXPORT_VERSION;
  federation: string;
  exportedAt: string;
  /** How row hashes are computed (informational; the verifier implements version 1). */
  hashing: { version: number; algorithm: 'sha256'; canonicalization: 'RFC 8785'; genesis: string };
  head: { seq: number; hash: string };
  /** The federation's public JWKS: coordinator key(s) plus every member's and auditor's key. */
  jwks: JSONWebKeySet;
  /** The whole chain, seq 1..head (the chain is per database schema, so every federation's rows). */
  log: AuditRow[];
  checkpoints: AuditCheckpointRow[];
  rounds: ExportRound[];
  contributions: ExportContribution[];
  certificates: ExportCertificate[];
}

const AT = (col: string) => `to_char(${col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/**
 * The federation's JWKS as kpt publishes it (kpfl_role / kpfl_member on each key), built from the
 * coordinator's public key(s) and the members table. A member whose key was replaced appears with
 * its current key only: keep the JWKS files of earlier provisioning to verify its older attestations.
 */
export async function federationJwksFromDb(
  db: Queryable,
  federation: string,
  coordinator: JSONWebKeySet,
): Promise<JSONWebKeySet> {
  const { rows } = await db.query<{
    id: string;
    kid: string;
    public_jwk: JwksEntry['publicJwk'];
    roles: string[];
  }>('SELECT id, kid, public_jwk, roles FROM members WHERE federation = $1 ORDER BY id', [federation]);
  return buildJwks([
    ...coordinator.keys.map((k) => ({
      kid: String(k.kid),
      publicJwk: { kty: k.kty, crv: k.crv, x: k.x },
      role: 'coordinator' as const,
    })),
    ...rows.map((m) => ({
      kid: m.kid,
      publicJwk: { kty: m.public_jwk.kty, crv: m.public_jwk.crv, x: m.public_jwk.x },
      memberId: m.id,
      role:
        m.roles.includes('auditor') && !m.roles.includes('participant')
          ? ('auditor' as const)
          : ('participant' as const),
    })),
  ]);
}

/**
 * Builds the export document from one consistent snapshot (REPEATABLE READ, read only).
 * `jwks` is the federation's published JWKS (federation.json of provisioning, or an auditor kit's);
 * when omitted, the JWKS stored in the federations table is used.
 */
export async function exportAudit(
  db: Db,
  opts: { federation: string; jwks?: JSONWebKeySet },
): Promise<AuditExport> {
  return db.tx(async (client) => {
    await client.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
    let jwks = opts.jwks;
    if (!jwks) {
      const { rows } = await client.query<{ jwks: JSONWebKeySet }>(
        'SELECT jwks FROM federations WHERE id = $1',
        [opts.federation],
      );
      jwks = rows[0]?.jwks;
    }
    if (!jwks || !Array.isArray(jwks.keys) || jwks.keys.length === 0) {
      throw new AuditError(
        'BAD_EXPORT',
        `no JWKS for federation ${opts.federation}: pass the published JWKS (federation.json from provisioning)`,
      );
    }
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
              r.contributions, r.failure_reason, ${AT('r.opened_at')} AS opened_at, ${AT('r.closed_at')} AS closed_at,
              ${AT('r.published_at')} AS published_at
       FROM rounds r JOIN plans p ON p.id = r.plan_id WHERE p.federation = $1 ORDER BY r.plan_id, r.round`,
      [opts.federation],
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
              c.example_count, c.bytes, c.receipt, ${AT('c.received_at')} AS received_at
       FROM contributions c JOIN plans p ON p.id = c.plan_id WHERE p.federation = $1 ORDER BY c.id`,
      [opts.federation],
    );
    const certificates = await client.query<{
      plan_id: string;
      round: number;
      certificate: GeneralJWS;
      signers: string[];
    }>(
      `SELECT c.plan_id, c.round, c.certificate, c.signers
       FROM certificates c JOIN plans p ON p.id = c.plan_id WHERE p.federation = $1 ORDER BY c.plan_id, c.round`,
      [opts.federation],
    );
    const exportedAt = (await client.query<{ at: string }>(`SELECT ${AT('clock_timestamp()')} AS at`))
      .rows[0]!.at;
    const last = log.at(-1);
    return {
      format: EXPORT_FORMAT,
      version: EXPORT_VERSION,
      federation: opts.federation,
      exportedAt,
      hashing: {
        version: AUDIT_HASH_VERSION,
        algorithm: 'sha256',
        canonicalization: 'RFC 8785',
        genesis: GENESIS_HASH,
      },
      head: last ? { seq: last.seq, hash: last.hash } : { seq: 0, hash: GENESIS_HASH },
      jwks,
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
