import {
  digestOf,
  findMemberKey,
  type GeneralJWS,
  type JSONWebKeySet,
  type KptJwk,
  partyRole,
  verifyAttestation,
  verifyReceipt,
  verifyRoundCertificate,
} from '@kpfl/kpt';
import {
  type AuditRow,
  computeAuditHash,
  type Db,
  decideAgreement,
  GENESIS_HASH,
  LEGACY_AUDIT_EVENTS,
  PLAN_TRANSITIONS,
  ROUND_TRANSITIONS,
  type Vote,
} from '@kpfl/store';
import { calculateJwkThumbprint, decodeProtectedHeader } from 'jose';
import { z } from 'zod';
import { verifyCheckpoint } from './checkpoint.js';
import { type AuditExport, EXPORT_FORMAT, EXPORT_VERSION, exportAudit } from './export.js';

/** Why verification failed. Chain kinds name a row (seq); the others name an artifact (`where`). */
export type AuditIssueKind =
  | 'format' // the document is not a kpfl audit export (or a field has the wrong shape)
  | 'missing' // a seq is absent: a row was deleted (or the export truncated in the middle)
  | 'reordered' // rows are out of order, or two rows' contents were swapped
  | 'edited' // a row's content does not hash to its recorded hash
  | 'broken-link' // a row was rewritten together with its hash: the next row records another hash for it
  | 'truncated' // a checkpoint covers rows the log no longer has (rows deleted at the end)
  | 'checkpoint' // a checkpoint disagrees with the chain, or one is missing from the export
  | 'bad-signature' // an attestation, receipt, certificate or checkpoint does not verify
  | 'unknown-key' // the JWKS has no key for the signer
  | 'mismatch'; // artifacts disagree (contribution vs attestation/receipt/log, certificate vs accepted contributions)

export interface AuditIssue {
  kind: AuditIssueKind;
  /** The audit row concerned, for chain problems and log events. */
  seq?: number;
  /** The artifact concerned, e.g. "contribution of alice to plan p1 round 2". */
  where?: string;
  reason: string;
}

export interface AuditVerdict {
  ok: boolean;
  checked: {
    rows: number;
    checkpoints: number;
    attestations: number;
    receipts: number;
    certificates: number;
    publishedRounds: number;
    /** Rounds whose model agreement (or rejection) was replayed from the countersignatures. */
    agreements: number;
  };
  /** The first problem: in seq order for the chain, then checkpoints, contributions, rounds. */
  firstError?: AuditIssue;
  /** Every problem found, up to 100. */
  errors: AuditIssue[];
  head: { seq: number; hash: string };
}

export interface VerifyOptions {
  /**
   * The JWKS to trust (an auditor kit's, or federation.json from provisioning). Without it the
   * document's own JWKS is used, which proves integrity but not who holds the keys.
   */
  jwks?: JSONWebKeySet;
  /** Checkpoint JWSs the auditor kept from earlier: each must still be on the chain (detects truncation and rewrites). */
  knownCheckpoints?: string[];
}

const digest = z.string().regex(/^sha256:[0-9a-f]{64}$/, "must be 'sha256:' + 64 hex digits");
const at = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/, 'must be YYYY-MM-DDTHH:MM:SS.ffffffZ');
const nullableText = z.string().nullable();
const jsonObject = z.record(z.unknown());

const rowSchema = z
  .object({
    seq: z.number().int().positive(),
    at,
    federation: z.string(),
    event: z.string(),
    planId: nullableText,
    round: z.number().int().nonnegative().nullable(),
    member: nullableText,
    actor: nullableText,
    data: jsonObject,
    prevHash: digest,
    hash: digest,
  })
  .strict();

const exportSchema = z.object({
  format: z.literal(EXPORT_FORMAT),
  version: z.literal(EXPORT_VERSION),
  federation: z.string().min(1),
  exportedAt: z.string(),
  head: z.object({ seq: z.number().int().nonnegative(), hash: digest }),
  jwks: z.object({ keys: z.array(jsonObject) }),
  log: z.array(rowSchema),
  checkpoints: z.array(
    z.object({ seq: z.number().int().positive(), headHash: digest, jws: z.string(), at }).strict(),
  ),
  rounds: z.array(
    z
      .object({
        planId: z.string(),
        round: z.number().int().nonnegative(),
        state: z.string(),
        aggregateDigest: digest.nullable(),
      })
      .passthrough(),
  ),
  contributions: z.array(
    z
      .object({
        planId: z.string(),
        round: z.number().int().nonnegative(),
        member: z.string(),
        attestation: z.string(),
        attestationDigest: digest,
        updateDigest: digest,
        baseModelDigest: digest,
        exampleCount: z.number().int(),
        receipt: z.string(),
      })
      .passthrough(),
  ),
  certificates: z.array(
    z
      .object({ planId: z.string(), round: z.number().int().nonnegative(), certificate: jsonObject })
      .passthrough(),
  ),
});

const MAX_ERRORS = 100;

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

const key = (planId: string | null, round: number | null) => `${planId ?? ''}\u0000${round ?? ''}`;

function rowsOfChain(log: AuditRow[], issues: AuditIssue[]): void {
  const positionOfHash = new Map<string, number>();
  for (const [i, r] of log.entries()) positionOfHash.set(r.hash, i);
  const seqs = new Set(log.map((r) => r.seq));
  let expected = 1;
  // A row already reported does not also break the link of the row after it: one fact, one issue.
  let previousFlagged = false;
  for (let i = 0; i < log.length; i++) {
    const row = log[i];
    const flaggedBefore = previousFlagged;
    previousFlagged = true;
    if (row.seq !== expected) {
      if (row.seq > expected && !anyBetween(seqs, expected, row.seq, log.length)) {
        const gap = row.seq - 1 === expected ? `row ${expected} is` : `rows ${expected}..${row.seq - 1} are`;
        issues.push({
          kind: 'missing',
          seq: expected,
          reason: `${gap} missing: the log jumps from row ${expected - 1} to row ${row.seq} (deleted)`,
        });
        expected = row.seq + 1;
        previousFlagged = false; // the broken link at this row is the same fact
        continue;
      }
      issues.push({
        kind: 'reordered',
        seq: row.seq,
        reason: `row ${row.seq} is at position ${expected}, where row ${expected} belongs (rows reordered or duplicated)`,
      });
      expected++;
      continue;
    }
    expected++;
    const recomputed = computeAuditHash(row);
    const prev = i === 0 ? GENESIS_HASH : log[i - 1].hash;
    if (recomputed !== row.hash) {
      const home = positionOfHash.get(row.prevHash);
      if (row.prevHash !== prev && (home !== undefined || row.prevHash === GENESIS_HASH)) {
        const after = home === undefined ? 'the start of the log' : `row ${log[home].seq}`;
        issues.push({
          kind: 'reordered',
          seq: row.seq,
          reason: `row ${row.seq} holds the content of the row that follows ${after} (rows swapped or moved)`,
        });
      } else {
        issues.push({
          kind: 'edited',
          seq: row.seq,
          reason: `row ${row.seq} (${row.event}) was edited: its content hashes to ${recomputed}, but it records ${row.hash}`,
        });
      }
      continue;
    }
    previousFlagged = false;
    if (row.prevHash !== prev && !flaggedBefore) {
      if (i > 0) {
        // Both rows hash correctly on their own, yet do not link: the earlier one was replaced wholesale.
        issues.push({
          kind: 'broken-link',
          seq: log[i - 1].seq,
          reason: `row ${log[i - 1].seq} was rewritten (content and hash): row ${row.seq} records its hash as ${row.prevHash}, it is now ${prev}`,
        });
      } else {
        issues.push({
          kind: 'broken-link',
          seq: row.seq,
          reason: `row ${row.seq} does not start the chain: its prev_hash is not the genesis hash (forged or rewritten)`,
        });
      }
    }
  }
}

/** Whether some seq in [from, to) is present (bounded work even for an absurd seq in a forged document). */
function anyBetween(seqs: Set<number>, from: number, to: number, n: number): boolean {
  if (to - from > n) return [...seqs].some((s) => s >= from && s < to);
  for (let s = from; s < to; s++) if (seqs.has(s)) return true;
  return false;
}

async function checkCheckpoints(
  doc: AuditExport,
  jwks: JSONWebKeySet,
  known: string[],
  issues: AuditIssue[],
): Promise<number> {
  const bySeq = new Map(doc.log.map((r) => [r.seq, r]));
  const lastSeq = doc.log.at(-1)?.seq ?? 0;
  let checked = 0;
  const stored = new Set(doc.checkpoints.map((c) => `${c.seq}:${c.headHash}`));
  const all = [
    ...doc.checkpoints.map((c) => ({
      jws: c.jws,
      record: c as { seq: number; headHash: string; at: string } | undefined,
    })),
    ...known.map((jws) => ({ jws, record: undefined })),
  ];
  for (const { jws, record } of all) {
    checked++;
    const where = record ? `checkpoint of row ${record.seq}` : 'known checkpoint';
    let p: Awaited<ReturnType<typeof verifyCheckpoint>>;
    try {
      p = await verifyCheckpoint(jws, jwks);
    } catch (err) {
      issues.push({ kind: 'bad-signature', seq: record?.seq, where, reason: describe(err) });
      continue;
    }
    if (record && (record.seq !== p.seq || record.headHash !== p.headHash || record.at !== p.at)) {
      issues.push({
        kind: 'checkpoint',
        seq: record.seq,
        where,
        reason: `${where}: the stored record differs from its signed payload`,
      });
      continue;
    }
    if (p.federation !== doc.federation) {
      issues.push({
        kind: 'checkpoint',
        seq: p.seq,
        where,
        reason: `${where} is for federation ${p.federation}, not ${doc.federation}`,
      });
      continue;
    }
    if (p.seq > lastSeq) {
      issues.push({
        kind: 'truncated',
        seq: lastSeq + 1,
        where,
        reason: `the log ends at row ${lastSeq}, but a checkpoint signed at ${p.at} covers row ${p.seq}: rows ${lastSeq + 1}..${p.seq} were deleted`,
      });
      continue;
    }
    const row = bySeq.get(p.seq);
    if (!row) continue; // a missing row is already reported by the chain check
    if (row.hash !== p.headHash) {
      issues.push({
        kind: 'checkpoint',
        seq: p.seq,
        where,
        reason: `row ${p.seq} has hash ${row.hash}, but the checkpoint signed at ${p.at} says ${p.headHash}: the chain was rewritten up to row ${p.seq}`,
      });
    }
  }
  // Stripping checkpoints from the export would hide a truncation: the log records every one it signed.
  for (const r of doc.log) {
    if (r.event !== 'checkpoint.signed') continue;
    const seq = r.data.seq;
    const headHash = r.data.headHash;
    if (!stored.has(`${String(seq)}:${String(headHash)}`)) {
      issues.push({
        kind: 'checkpoint',
        seq: r.seq,
        where: `checkpoint of row ${String(seq)}`,
        reason: `row ${r.seq} records a checkpoint of row ${String(seq)} that is missing from the checkpoints (removed)`,
      });
    }
  }
  return checked;
}

async function checkContributions(
  doc: AuditExport,
  jwks: JSONWebKeySet,
  issues: AuditIssue[],
  checked: AuditVerdict['checked'],
): Promise<void> {
  // Accepted contributions named by the log, per plan/round/member.
  const logged = new Map<string, AuditRow[]>();
  for (const r of doc.log) {
    if (r.event !== 'contribution.accepted') continue;
    const k = `${key(r.planId, r.round)}\u0000${r.member ?? ''}`;
    logged.set(k, [...(logged.get(k) ?? []), r]);
  }
  const seen = new Set<string>();
  for (const c of doc.contributions) {
    const where = `contribution of ${c.member} to plan ${c.planId} round ${c.round}`;
    const k = `${key(c.planId, c.round)}\u0000${c.member}`;
    if (seen.has(k)) {
      issues.push({ kind: 'mismatch', where, reason: `${where} appears twice` });
      continue;
    }
    seen.add(k);
    if (digestOf(c.attestation) !== c.attestationDigest) {
      issues.push({
        kind: 'mismatch',
        where,
        reason: `${where}: the attestation does not hash to the recorded attestation digest (edited)`,
      });
    }
    // Attestation: signed by the key the JWKS binds to this member.
    let kid: unknown;
    try {
      kid = decodeProtectedHeader(c.attestation).kid;
    } catch {
      kid = undefined;
    }
    const memberKey = findMemberKey(jwks, c.member, typeof kid === 'string' ? kid : undefined);
    checked.attestations++;
    if (!memberKey) {
      issues.push({
        kind: 'unknown-key',
        where,
        reason: `${where}: the JWKS has no key ${String(kid)} for member ${c.member}`,
      });
    } else {
      try {
        const claims = await verifyAttestation(c.attestation, memberKey);
        const recorded = {
          iss: c.member,
          federation: doc.federation,
          round: c.round,
          updateDigest: c.updateDigest,
          baseModelDigest: c.baseModelDigest,
          exampleCount: c.exampleCount,
        };
        const bad = (Object.keys(recorded) as (keyof typeof recorded)[]).filter(
          (f) => claims[f] !== recorded[f],
        );
        if (bad.length > 0) {
          issues.push({
            kind: 'mismatch',
            where,
            reason: `${where}: ${bad.map((f) => `recorded ${f} ${String(recorded[f])}, the attestation says ${String(claims[f])}`).join('; ')}`,
          });
        }
      } catch (err) {
        issues.push({ kind: 'bad-signature', where, reason: `${where}: attestation: ${describe(err)}` });
      }
    }
    // Receipt: coordinator-signed, for this very attestation.
    checked.receipts++;
    try {
      const r = await verifyReceipt(c.receipt, jwks);
      const want = {
        federation: doc.federation,
        round: c.round,
        member: c.member,
        attestationDigest: c.attestationDigest,
        status: 'accepted',
      };
      const bad = (Object.keys(want) as (keyof typeof want)[]).filter((f) => r[f] !== want[f]);
      if (bad.length > 0) {
        issues.push({
          kind: 'mismatch',
          where,
          reason: `${where}: the receipt's ${bad.map((f) => `${f} is ${String(r[f])}, expected ${String(want[f])}`).join('; ')}`,
        });
      }
    } catch (err) {
      issues.push({ kind: 'bad-signature', where, reason: `${where}: receipt: ${describe(err)}` });
    }
    // The chain must record this acceptance, with this attestation.
    const events = logged.get(k) ?? [];
    if (!events.some((e) => e.data.attestationDigest === c.attestationDigest)) {
      issues.push({
        kind: 'mismatch',
        where,
        reason: `${where} has no contribution.accepted event with its attestation digest in the log: inserted or altered outside the aggregator`,
      });
    }
  }
  for (const [k, events] of logged) {
    if (!seen.has(k)) {
      const e = events[0];
      issues.push({
        kind: 'mismatch',
        seq: e.seq,
        where: `contribution of ${e.member} to plan ${e.planId} round ${e.round}`,
        reason: `row ${e.seq} records an accepted contribution of ${e.member} to plan ${e.planId} round ${e.round} that is missing from the contributions (deleted)`,
      });
    }
  }
}

async function checkRounds(
  doc: AuditExport,
  jwks: JSONWebKeySet,
  issues: AuditIssue[],
  checked: AuditVerdict['checked'],
): Promise<void> {
  const certs = new Map(doc.certificates.map((c) => [key(c.planId, c.round), c]));
  const accepted = new Map<string, string[]>();
  for (const c of doc.contributions)
    accepted.set(key(c.planId, c.round), [
      ...(accepted.get(key(c.planId, c.round)) ?? []),
      c.attestationDigest,
    ]);
  const publishedEvents = new Map<string, AuditRow>();
  const rejected = new Set<string>();
  for (const r of doc.log) {
    if (r.event === 'round.published') publishedEvents.set(key(r.planId, r.round), r);
    if (r.event === 'round.rejected') rejected.add(key(r.planId, r.round));
  }
  const rounds = new Map(doc.rounds.map((r) => [key(r.planId, r.round), r]));

  for (const c of doc.certificates) {
    const where = `certificate of plan ${c.planId} round ${c.round}`;
    checked.certificates++;
    let payload: Awaited<ReturnType<typeof verifyRoundCertificate>>['payload'];
    try {
      payload = (await verifyRoundCertificate(c.certificate as unknown as GeneralJWS, jwks)).payload;
    } catch (err) {
      issues.push({ kind: 'bad-signature', where, reason: `${where}: ${describe(err)}` });
      continue;
    }
    const round = rounds.get(key(c.planId, c.round));
    const signedPlan = (payload as { planId?: string }).planId;
    if (
      payload.federation !== doc.federation ||
      payload.round !== c.round ||
      (signedPlan !== undefined && signedPlan !== c.planId)
    ) {
      issues.push({
        kind: 'mismatch',
        where,
        reason: `${where} is signed for federation ${payload.federation} plan ${signedPlan ?? '(unnamed)'} round ${payload.round}`,
      });
      continue;
    }
    // A round its contributors rejected keeps the certificate they signed their rejections into.
    const certified =
      round?.state === 'published' || (round?.state === 'failed' && rejected.has(key(c.planId, c.round)));
    if (!round || !certified) {
      issues.push({
        kind: 'mismatch',
        where,
        reason: `${where} exists, but the round is ${round ? round.state : 'absent'}`,
      });
      continue;
    }
    if (round.aggregateDigest !== payload.aggregateDigest) {
      issues.push({
        kind: 'mismatch',
        where,
        reason: `${where} signs aggregate ${payload.aggregateDigest}, the round records ${String(round.aggregateDigest)}`,
      });
    }
    const want = [...(accepted.get(key(c.planId, c.round)) ?? [])].sort();
    const listed = payload.attestationDigests;
    const extra = listed.filter((d) => !want.includes(d));
    const absent = want.filter((d) => !listed.includes(d));
    if (extra.length > 0 || absent.length > 0) {
      issues.push({
        kind: 'mismatch',
        where,
        reason:
          `${where} does not list exactly the accepted contributions:` +
          (extra.length ? ` listed but not accepted ${extra.join(', ')};` : '') +
          (absent.length ? ` accepted but not listed ${absent.join(', ')};` : ''),
      });
    }
  }
  for (const r of doc.rounds) {
    const wasPublished = r.state === 'published' || rejected.has(key(r.planId, r.round));
    if (!wasPublished) continue;
    checked.publishedRounds++;
    const where = `plan ${r.planId} round ${r.round}`;
    if (!certs.has(key(r.planId, r.round))) {
      issues.push({ kind: 'mismatch', where, reason: `${where} is published but has no round certificate` });
    }
    const ev = publishedEvents.get(key(r.planId, r.round));
    if (!ev) {
      issues.push({
        kind: 'mismatch',
        where,
        reason: `${where} is published but the log has no round.published event for it`,
      });
    } else if (ev.data.aggregateDigest !== undefined && ev.data.aggregateDigest !== r.aggregateDigest) {
      issues.push({
        kind: 'mismatch',
        seq: ev.seq,
        where,
        reason: `${where}: the round records aggregate ${String(r.aggregateDigest)}, row ${ev.seq} logged ${String(ev.data.aggregateDigest)}`,
      });
    }
  }
}

/**
 * Replays the consortium's agreement on each round's global model (ADR 0007) from the certificates
 * alone, with the state machine's own rule (`decideAgreement`): the verdicts the contributors signed
 * into their countersignatures must give exactly what the log records (one model.agreed with that
 * digest, or one round.rejected, or neither while they have no majority), every contributor whose
 * verdict differs from the outcome must be named by a model.disputed event (and only those), and
 * every accepted contribution must have trained from the model agreed after the round before
 * (round 0: the plan's recorded initial model; a failed round carries the model before it over).
 */
async function checkAgreement(
  doc: AuditExport,
  jwks: JSONWebKeySet,
  issues: AuditIssue[],
  checked: AuditVerdict['checked'],
): Promise<void> {
  const agreed = new Map<string, AuditRow[]>();
  const rejections = new Map<string, AuditRow[]>();
  const disputes = new Map<string, AuditRow[]>();
  const initial = new Map<string, string>();
  const add = (m: Map<string, AuditRow[]>, r: AuditRow) =>
    m.set(key(r.planId, r.round), [...(m.get(key(r.planId, r.round)) ?? []), r]);
  for (const r of doc.log) {
    if (r.federation !== doc.federation) continue;
    if (r.event === 'model.agreed') add(agreed, r);
    else if (r.event === 'round.rejected') add(rejections, r);
    else if (r.event === 'model.disputed') add(disputes, r);
    else if (r.event === 'plan.scheduled' && r.planId && typeof r.data.initialModelDigest === 'string')
      initial.set(r.planId, r.data.initialModelDigest);
  }
  /** The global model after each round, as far as the log and certificates decide it. */
  const modelAfter = new Map<string, string>();
  for (const [planId, digest] of initial) modelAfter.set(key(planId, 0), digest);
  const certs = new Map(doc.certificates.map((c) => [key(c.planId, c.round), c]));
  const rounds = [...doc.rounds].sort((a, b) =>
    a.planId === b.planId ? a.round - b.round : a.planId < b.planId ? -1 : 1,
  );
  for (const r of rounds) {
    const k = key(r.planId, r.round);
    const where = `plan ${r.planId} round ${r.round}`;
    const before = modelAfter.get(key(r.planId, r.round - 1));
    for (const c of doc.contributions) {
      if (c.planId !== r.planId || c.round !== r.round || before === undefined) continue;
      if (c.baseModelDigest !== before) {
        issues.push({
          kind: 'mismatch',
          where: `contribution of ${c.member} to ${where}`,
          reason: `the contribution of ${c.member} to ${where} trained from ${c.baseModelDigest}, but the model agreed after round ${r.round - 1} is ${before}`,
        });
      }
    }
    const [agreedRow, ...moreAgreed] = agreed.get(k) ?? [];
    const [rejectedRow] = rejections.get(k) ?? [];
    const cert = certs.get(k);
    if (r.state === 'failed' && !rejectedRow) {
      if (before !== undefined) modelAfter.set(k, before);
      continue;
    }
    if (!cert) continue; // a published round without a certificate is reported by checkRounds
    let verified: Awaited<ReturnType<typeof verifyRoundCertificate>>;
    try {
      verified = await verifyRoundCertificate(cert.certificate as unknown as GeneralJWS, jwks);
    } catch {
      continue; // reported by checkRounds
    }
    checked.agreements++;
    const votes = verified.verdicts.flatMap((v): Vote[] =>
      v.modelDigest !== undefined
        ? [{ member: v.member, verdict: { modelDigest: v.modelDigest } }]
        : v.rejected !== undefined
          ? [{ member: v.member, verdict: { rejected: v.rejected } }]
          : [],
    );
    const contributors = verified.payload.members;
    const outcome = decideAgreement(contributors, votes);
    const said =
      outcome.kind === 'agreed'
        ? `agree on ${outcome.digest} (${outcome.signers.length} of ${contributors.length} contributors)`
        : outcome.kind === 'rejected'
          ? `reject it (${outcome.signers.length} of ${contributors.length} contributors)`
          : `decide nothing yet (no verdict has ${outcome.majority} of ${contributors.length} contributors)`;
    if (moreAgreed.length > 0) {
      issues.push({
        kind: 'mismatch',
        seq: moreAgreed[0]!.seq,
        where,
        reason: `row ${moreAgreed[0]!.seq} records a second model.agreed for ${where}`,
      });
    }
    if (agreedRow && (outcome.kind !== 'agreed' || agreedRow.data.digest !== outcome.digest)) {
      issues.push({
        kind: 'mismatch',
        seq: agreedRow.seq,
        where,
        reason: `row ${agreedRow.seq} records agreement on ${String(agreedRow.data.digest)} for ${where}, but its certificate's countersignatures ${said}`,
      });
      continue;
    }
    if (rejectedRow && (outcome.kind !== 'rejected' || agreedRow)) {
      issues.push({
        kind: 'mismatch',
        seq: rejectedRow.seq,
        where,
        reason: `row ${rejectedRow.seq} records that ${where} was rejected, but its certificate's countersignatures ${said}`,
      });
      continue;
    }
    if (!agreedRow && !rejectedRow && outcome.kind !== 'pending') {
      issues.push({
        kind: 'mismatch',
        where,
        reason: `the certificate's countersignatures of ${where} ${said}, but the log records no ${outcome.kind === 'agreed' ? 'model.agreed' : 'round.rejected'} event`,
      });
      continue;
    }
    if (outcome.kind === 'pending') continue;
    if (outcome.kind === 'agreed') modelAfter.set(k, outcome.digest);
    else if (before !== undefined) modelAfter.set(k, before);
    const dissenters = votes
      .filter((v) => contributors.includes(v.member))
      .filter((v) =>
        outcome.kind === 'agreed'
          ? !('modelDigest' in v.verdict && v.verdict.modelDigest === outcome.digest)
          : !('rejected' in v.verdict),
      )
      .map((v) => v.member);
    const named = new Map((disputes.get(k) ?? []).map((d) => [d.member ?? '', d]));
    for (const m of dissenters) {
      if (!named.has(m)) {
        issues.push({
          kind: 'mismatch',
          where,
          reason: `${m} signed a verdict on ${where} other than the outcome, but the log names no model.disputed for ${m}`,
        });
      }
    }
    for (const [m, d] of named) {
      if (!dissenters.includes(m)) {
        issues.push({
          kind: 'mismatch',
          seq: d.seq,
          where,
          reason: `row ${d.seq} names ${m} as disputing ${where}, but no countersignature of ${m} on it differs from the outcome`,
        });
      }
    }
  }
}

/**
 * Names a member's admission has had: `member.added` (keys the coordinator made, or start-up
 * registration), `member.enrolled` (keys the member made; its data names one `role`, not `roles`),
 * and `member.provisioned` in chains written before.
 */
const MEMBER_ADDED_EVENTS: ReadonlySet<string> = new Set([
  'member.added',
  'member.enrolled',
  ...LEGACY_AUDIT_EVENTS,
]);

/** The roles an admission event gave: `data.roles`, or `[data.role]` for `member.enrolled`. */
function admittedRoles(row: AuditRow): unknown {
  const d = row.data as { roles?: unknown; role?: unknown };
  return d.roles ?? (typeof d.role === 'string' ? [d.role] : undefined);
}

/**
 * The membership, as far as the JWKS and the log can tell offline:
 * - every member key of the JWKS (the coordinator's are not members) has, as its kid, the RFC 7638
 *   thumbprint of its key material, and a `member.added` (or `member.enrolled`) event of this federation for that member
 *   and that kid, whose roles agree with the key's `kpfl_role`: no key entered the federation
 *   without an audited operator action (members add, start-up registration);
 * - every `member.revoked` event revokes a member the log added before;
 * - no `contribution.accepted` event of a member follows its revocation (unless it was added again).
 * What the log cannot show is a revocation that was never logged: the export carries no member status.
 */
async function checkMembership(doc: AuditExport, jwks: JSONWebKeySet, issues: AuditIssue[]): Promise<void> {
  const addedKids = new Map<string, Map<string, AuditRow>>();
  const revokedBy = new Map<string, AuditRow>();
  for (const r of doc.log) {
    if (r.federation !== doc.federation || r.member === null) continue;
    if (MEMBER_ADDED_EVENTS.has(r.event)) {
      const kids = addedKids.get(r.member) ?? new Map<string, AuditRow>();
      if (typeof r.data.kid === 'string') kids.set(r.data.kid, r);
      addedKids.set(r.member, kids);
      revokedBy.delete(r.member);
    } else if (r.event === 'member.revoked') {
      if (!addedKids.has(r.member)) {
        issues.push({
          kind: 'mismatch',
          seq: r.seq,
          where: `member ${r.member}`,
          reason: `row ${r.seq} revokes member ${r.member}, whom no earlier member.added event added`,
        });
      }
      revokedBy.set(r.member, r);
    } else if (r.event === 'contribution.accepted') {
      const revocation = revokedBy.get(r.member);
      if (revocation) {
        issues.push({
          kind: 'mismatch',
          seq: r.seq,
          where: `contribution of ${r.member} to plan ${r.planId} round ${r.round}`,
          reason: `row ${r.seq} accepts a contribution of member ${r.member}, revoked at row ${revocation.seq}`,
        });
      }
    }
  }
  for (const k of (Array.isArray(jwks?.keys) ? jwks.keys : []) as KptJwk[]) {
    const member = k.kpfl_member;
    if (typeof member !== 'string') continue;
    const where = `key ${String(k.kid)} of member ${member}`;
    let thumbprint: string | undefined;
    try {
      thumbprint = await calculateJwkThumbprint(k, 'sha256');
    } catch (err) {
      issues.push({
        kind: 'format',
        where,
        reason: `the JWKS ${where} is not a public key: ${describe(err)}`,
      });
      continue;
    }
    if (thumbprint !== k.kid) {
      issues.push({
        kind: 'mismatch',
        where,
        reason: `the JWKS ${where} is not that key's thumbprint (${thumbprint}): its key material was replaced`,
      });
    }
    const added = addedKids.get(member)?.get(String(k.kid));
    if (!added) {
      issues.push({
        kind: 'mismatch',
        where,
        reason: `the JWKS holds ${where}, but the log has no member.added event for it: registered without an audited operator action, or its event was removed`,
      });
      continue;
    }
    const roles = admittedRoles(added);
    if (Array.isArray(roles) && roles.every((x) => typeof x === 'string')) {
      const role = partyRole(roles as string[]);
      if (k.kpfl_role !== role) {
        issues.push({
          kind: 'mismatch',
          seq: added.seq,
          where,
          reason: `the JWKS marks ${where} as kpfl_role ${String(k.kpfl_role)}, but row ${added.seq} added it with roles ${roles.join(', ')}`,
        });
      }
    }
  }
}

const ROUND_EVENTS = new Set<string>(ROUND_TRANSITIONS.map((t) => t.event));
const PLAN_EVENTS = new Set<string>(PLAN_TRANSITIONS.map((t) => t.event));

/**
 * Replays the log's plan and round events through the state machine's tables: each plan starts
 * with plan.scheduled and ends at most once; each round starts with round.opened after its plan was
 * scheduled, every later event is a legal move from where the round was, and the round ends in the
 * state the export records. A round row without its events (or events without their round) is reported.
 */
function checkLifecycle(doc: AuditExport, issues: AuditIssue[]): void {
  const plans = new Map<string, { state: string | null; scheduledAt?: number }>();
  const rounds = new Map<string, { planId: string; round: number; state: string | null }>();
  for (const row of doc.log) {
    if (row.federation !== doc.federation || row.planId === null) continue;
    if (PLAN_EVENTS.has(row.event) && row.round === null) {
      const plan = plans.get(row.planId) ?? { state: null };
      const move = PLAN_TRANSITIONS.find((t) => t.from === plan.state && t.event === row.event);
      if (!move) {
        issues.push({
          kind: 'mismatch',
          seq: row.seq,
          where: `plan ${row.planId}`,
          reason: `row ${row.seq} (${row.event}) is not a legal move of plan ${row.planId} from ${plan.state ?? 'nothing'}`,
        });
        continue;
      }
      plans.set(row.planId, { state: move.to, scheduledAt: plan.scheduledAt ?? row.seq });
      continue;
    }
    if (!ROUND_EVENTS.has(row.event) || row.round === null) continue;
    const k = key(row.planId, row.round);
    const round = rounds.get(k) ?? { planId: row.planId, round: row.round, state: null };
    const where = `plan ${row.planId} round ${row.round}`;
    const move = ROUND_TRANSITIONS.find((t) => t.from === round.state && t.event === row.event);
    if (!move) {
      issues.push({
        kind: 'mismatch',
        seq: row.seq,
        where,
        reason: `row ${row.seq} (${row.event}) is not a legal move of ${where} from ${round.state ?? 'nothing'}`,
      });
      continue;
    }
    if (round.state === null && plans.get(row.planId)?.scheduledAt === undefined) {
      issues.push({
        kind: 'mismatch',
        seq: row.seq,
        where,
        reason: `row ${row.seq} opens ${where}, but the log has no plan.scheduled for plan ${row.planId} before it`,
      });
    }
    rounds.set(k, { ...round, state: move.to });
  }
  for (const r of doc.rounds) {
    const where = `plan ${r.planId} round ${r.round}`;
    const logged = rounds.get(key(r.planId, r.round));
    if (!logged) {
      issues.push({
        kind: 'mismatch',
        where,
        reason: `${where} exists, but the log has no round.opened for it`,
      });
    } else if (logged.state !== r.state) {
      issues.push({
        kind: 'mismatch',
        where,
        reason: `${where} is ${r.state}, but the log's events leave it ${logged.state}`,
      });
    }
  }
  const exported = new Set(doc.rounds.map((r) => key(r.planId, r.round)));
  for (const [k, r] of rounds) {
    if (!exported.has(k)) {
      const where = `plan ${r.planId} round ${r.round}`;
      issues.push({
        kind: 'mismatch',
        where,
        reason: `the log records ${where}, but the export has no such round`,
      });
    }
  }
}

/**
 * Verifies an export offline (no database): the chain from row 1 (seq continuity, each row's hash,
 * each link), every checkpoint (signature, and its head on the chain), every attestation (member key
 * from the JWKS), receipt and round certificate, that each published round's certificate lists
 * exactly the accepted contributions' attestation digests, the model agreement of every round (the
 * contributors' signed verdicts give what the log records; see checkAgreement), the lifecycle (plan and round events are
 * legal moves of the state machine; see checkLifecycle) and the membership (every member key of the
 * JWKS was added by an audited action; see checkMembership). Never throws on bad input: the
 * verdict says what is wrong.
 */
export async function verifyAuditExport(doc: unknown, opts: VerifyOptions = {}): Promise<AuditVerdict> {
  const checked = {
    rows: 0,
    checkpoints: 0,
    attestations: 0,
    receipts: 0,
    certificates: 0,
    publishedRounds: 0,
    agreements: 0,
  };
  const parsed = exportSchema.safeParse(doc);
  if (!parsed.success) {
    const i = parsed.error.issues[0]!;
    const path = i.path.join('.');
    const m = /^log\.(\d+)/.exec(path);
    const seq = m ? (doc as { log: { seq?: unknown }[] }).log[Number(m[1])]?.seq : undefined;
    const issue: AuditIssue = {
      kind: 'format',
      ...(typeof seq === 'number' ? { seq } : {}),
      reason: `not a valid ${EXPORT_FORMAT} v${EXPORT_VERSION} document: ${path || '(root)'}: ${i.message}`,
    };
    return { ok: false, checked, firstError: issue, errors: [issue], head: { seq: 0, hash: GENESIS_HASH } };
  }
  const d = parsed.data as unknown as AuditExport;
  const jwks = opts.jwks ?? d.jwks;
  const issues: AuditIssue[] = [];
  checked.rows = d.log.length;
  rowsOfChain(d.log, issues);
  const last = d.log.at(-1);
  const head = last ? { seq: last.seq, hash: last.hash } : { seq: 0, hash: GENESIS_HASH };
  if (d.head.seq !== head.seq || d.head.hash !== head.hash) {
    const truncated = d.head.seq > head.seq;
    issues.push({
      kind: truncated ? 'truncated' : 'mismatch',
      seq: truncated ? head.seq + 1 : d.head.seq,
      reason:
        `the export declares head row ${d.head.seq} (${d.head.hash}) but its log ends at row ${head.seq} (${head.hash})` +
        (truncated ? `: rows ${head.seq + 1}..${d.head.seq} were removed` : ''),
    });
  }
  checked.checkpoints = await checkCheckpoints(d, jwks, opts.knownCheckpoints ?? [], issues);
  await checkContributions(d, jwks, issues, checked);
  await checkRounds(d, jwks, issues, checked);
  await checkAgreement(d, jwks, issues, checked);
  checkLifecycle(d, issues);
  await checkMembership(d, jwks, issues);
  const errors = issues.slice(0, MAX_ERRORS);
  return {
    ok: errors.length === 0,
    checked,
    ...(errors.length ? { firstError: errors[0] } : {}),
    errors,
    head,
  };
}

/** Builds the export from the database and verifies it (what `kpfl audit verify` does without --file). */
export async function verifyAuditDb(
  db: Db,
  opts: { federation: string; jwks?: JSONWebKeySet; knownCheckpoints?: string[] },
): Promise<AuditVerdict> {
  const doc = await exportAudit(db, { federation: opts.federation, jwks: opts.jwks });
  return verifyAuditExport(doc, { jwks: opts.jwks, knownCheckpoints: opts.knownCheckpoints });
}
