import {
  AuditError,
  type AuditPage,
  type ContributionAuditKey,
  type ContributionAuditRow,
  type Queryable,
  queryAudit,
  queryContributionAudit,
  queryRoundAudit,
  type RoundAuditRecord,
} from '@kpfl/store';
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

export type { ContributionAuditRow };

export interface ContributionPage {
  rows: ContributionAuditRow[];
  /** Pass as `cursor` for the next page; absent on the last page. */
  nextCursor?: string;
}

function encodeCursor(k: ContributionAuditKey): string {
  return Buffer.from(JSON.stringify([k.at, k.src, k.k])).toString('base64url');
}

function decodeCursor(cursor: string): ContributionAuditKey {
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
      return { at: v[0], src: v[1], k: v[2] };
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
  const { cursor, ...f } = parseFilter(contributionFilterSchema, filter, 'contributions');
  const page = await queryContributionAudit(db, {
    ...f,
    ...(cursor !== undefined ? { after: decodeCursor(cursor) } : {}),
  });
  return page.next ? { rows: page.rows, nextCursor: encodeCursor(page.next) } : { rows: page.rows };
}

/** Per round: who was sampled, who contributed, how many were accepted, the aggregate, who signed its certificate. */
export interface RoundAuditRow extends Omit<RoundAuditRecord, 'certificate'> {
  /** 'coordinator' then the members whose signature the stored certificate carries (not verified here: see verify). */
  certificateSigners: string[];
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
  return (await queryRoundAudit(db, f)).map((r) => ({
    federation: r.federation,
    planId: r.planId,
    round: r.round,
    state: r.state,
    sampled: r.sampled,
    contributed: r.contributed,
    accepted: r.accepted,
    refused: r.refused,
    baseModelDigest: r.baseModelDigest,
    aggregateDigest: r.aggregateDigest,
    certificateSigners: certificateSigners(r.certificate),
    failureReason: r.failureReason,
    openedAt: r.openedAt,
    closedAt: r.closedAt,
    publishedAt: r.publishedAt,
  }));
}

/** The raw audit log, filtered and keyset-paginated (afterSeq / nextAfterSeq), with validated filters. */
export async function queryAuditLog(db: Queryable, filter: AuditLogFilter = {}): Promise<AuditPage> {
  const f = parseFilter(auditLogFilterSchema, filter, 'audit log');
  return queryAudit(db, f);
}
