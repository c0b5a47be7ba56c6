import { federationJwks, type GeneralJWS, type JSONWebKeySet, type JWK, partyRole } from '@kpfl/kpt';
import {
  AUDIT_HASH_VERSION,
  type AuditCheckpointRow,
  AuditError,
  type AuditRow,
  type AuditSnapshotContribution,
  type AuditSnapshotRound,
  type Db,
  GENESIS_HASH,
  listMembers,
  type Queryable,
  readAuditSnapshot,
} from '@kpfl/store';

export const EXPORT_FORMAT = 'kpfl-audit-export';
export const EXPORT_VERSION = 1;

/** A round as the export carries it. */
export type ExportRound = AuditSnapshotRound;

/** An accepted contribution: the member's compact attestation JWS and the coordinator's compact receipt JWS. */
export type ExportContribution = AuditSnapshotContribution;

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

/**
 * The federation's JWKS as the database knows it: kpt's federationJwks (the one JWKS builder) over
 * the coordinator's public key(s) and every row of the members table, revoked ones included. This
 * is the only function that reads members to build a JWKS; the aggregator serves it too. A member
 * whose key was replaced appears with its current key only: keep the JWKS files of earlier
 * provisioning to verify its older attestations.
 */
export async function federationJwksFromDb(
  db: Queryable,
  federation: string,
  coordinator: JSONWebKeySet,
): Promise<JSONWebKeySet> {
  const members = await listMembers(db, federation);
  return federationJwks(
    coordinator,
    members.map((m) => ({
      memberId: m.id,
      kid: m.kid,
      publicJwk: m.public_jwk as JWK,
      role: partyRole(m.roles),
    })),
  );
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
  const snapshot = await readAuditSnapshot(db, opts.federation, { storedJwks: !opts.jwks });
  const jwks = (opts.jwks ?? snapshot.storedJwks) as JSONWebKeySet | undefined;
  if (!jwks || !Array.isArray(jwks.keys) || jwks.keys.length === 0) {
    throw new AuditError(
      'BAD_EXPORT',
      `no JWKS for federation ${opts.federation}: pass the published JWKS (federation.json from provisioning)`,
    );
  }
  const { log } = snapshot;
  const last = log.at(-1);
  return {
    format: EXPORT_FORMAT,
    version: EXPORT_VERSION,
    federation: opts.federation,
    exportedAt: snapshot.exportedAt,
    hashing: {
      version: AUDIT_HASH_VERSION,
      algorithm: 'sha256',
      canonicalization: 'RFC 8785',
      genesis: GENESIS_HASH,
    },
    head: last ? { seq: last.seq, hash: last.hash } : { seq: 0, hash: GENESIS_HASH },
    jwks,
    log,
    checkpoints: snapshot.checkpoints,
    rounds: snapshot.rounds,
    contributions: snapshot.contributions,
    certificates: snapshot.certificates.map((c) => ({ ...c, certificate: c.certificate as GeneralJWS })),
  };
}
