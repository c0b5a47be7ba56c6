import { federationJwksFromDb, signCheckpoint } from '@kpfl/audit';
import {
  createRoundCertificate,
  digestOf,
  type IdentityKey,
  type JSONWebKeySet,
  parseStrictJson,
  signUnmaskAnnouncement,
  verifyRoundCertificate,
} from '@kpfl/kpt';
import {
  appendAudit,
  type Db,
  getCertificate,
  insertCertificate,
  listContributions,
  listUnmaskResponses,
  lockRoundAndNext,
  type PlanRow,
  type RoundRow,
  recordVerdict,
  updateCertificate,
  type Vote,
} from '@kpfl/store';
import { RoundError } from './errors.js';
import type { Logger } from './logger.js';
import type { RoundSigner } from './round-engine.js';

/**
 * Round certificates: the aggregator signs the list of accepted attestation digests and the
 * aggregate digest (JWS General JSON Serialization); each included participant adds its signature.
 */
export class Certificates implements RoundSigner {
  constructor(
    private readonly d: {
      db: Db;
      coordinatorKey: IdentityKey;
      federation: string;
      log: Logger;
      jwks: () => Promise<JSONWebKeySet>;
    },
  ) {}

  /** Signs the round's certificate; exactly once, however many closers race (audited once too). */
  async certify(plan: PlanRow, round: RoundRow, aggregateDigest: string): Promise<void> {
    const { db } = this.d;
    if (await getCertificate(db, plan.id, round.round)) return; // a retried publish job
    const contributions = await listContributions(db, plan.id, round.round);
    const attestationDigests = contributions.map((c) => c.attestation_digest).sort();
    const cert = await createRoundCertificate(this.d.coordinatorKey, {
      federation: this.d.federation,
      planId: plan.id,
      round: round.round,
      aggregateDigest,
      attestationDigests,
      members: contributions.map((c) => c.member).sort(),
      ...(round.unmask_announcement
        ? {
            unmaskAnnouncementDigest: digestOf(round.unmask_announcement),
            unmaskResponseDigests: (await listUnmaskResponses(db, plan.id, round.round)).map((r) => r.digest),
          }
        : {}),
      publishedAt: (round.published_at ?? new Date()).toISOString(),
    });
    const created = await db.tx(async (tx) => {
      if (
        !(await insertCertificate(tx, plan.id, round.round, { certificate: cert, signers: ['coordinator'] }))
      )
        return false;
      await appendAudit(tx, {
        federation: this.d.federation,
        event: 'certificate.signed',
        planId: plan.id,
        round: round.round,
        actor: 'coordinator',
        data: { aggregateDigest, attestationDigests },
      });
      return true;
    });
    if (!created) return;
    this.d.log.info(
      { plan: plan.id, round: round.round, event: 'certificate.signed' },
      'round certificate signed',
    );
    // A checkpoint after every publication: auditors can pin the chain head of each round.
    await signCheckpoint(db, this.d.coordinatorKey, this.d.federation);
  }

  /** Signs a secure round's announcement of its survivors and dropouts (sorted, disjoint). */
  async announceUnmask(
    plan: PlanRow,
    round: number,
    sets: { survivors: string[]; dropouts: string[] },
  ): Promise<{ announcement: string; digest: string }> {
    const announcement = await signUnmaskAnnouncement(this.d.coordinatorKey, {
      federation: this.d.federation,
      planId: plan.id,
      round,
      survivors: [...sets.survivors].sort(),
      dropouts: [...sets.dropouts].sort(),
    });
    return { announcement, digest: digestOf(announcement) };
  }

  /**
   * Stores a participant's countersignature after checking the whole certificate still verifies,
   * and records the verdict it signs (the model digest it computed, or its rejection of the round)
   * with the state machine, which decides the round once a majority of its contributors agree.
   */
  async countersign(plan: PlanRow, round: number, member: string, certificateJson: string) {
    const stored = await getCertificate(this.d.db, plan.id, round);
    if (!stored) throw new RoundError('no_certificate', `round ${round} has no certificate`);
    let cert: unknown;
    try {
      cert = parseStrictJson(certificateJson, 'CERTIFICATE_INVALID', 'certificate_json');
    } catch (err) {
      throw new RoundError('bad_certificate', (err as Error).message);
    }
    const jwks = await this.d.jwks();
    const { payload, signers, verdicts } = await verifyRoundCertificate(cert as never, jwks);
    const storedPayload = (await verifyRoundCertificate(stored.certificate as never, jwks)).payload;
    if (JSON.stringify(payload) !== JSON.stringify(storedPayload)) {
      throw new RoundError(
        'certificate_changed',
        'the certificate payload differs from the one the aggregator signed',
      );
    }
    if (!signers.includes(member))
      throw new RoundError('not_signed', `the certificate carries no signature by ${member}`);
    if (!(payload as { members: string[] }).members.includes(member)) {
      throw new RoundError('not_included', `${member} has no accepted contribution in round ${round}`);
    }
    const own = verdicts.find((v) => v.member === member)!;
    if (own.modelDigest === undefined && own.rejected === undefined) {
      throw new RoundError(
        'no_verdict',
        `the countersignature of ${member} signs no verdict: put the digest of the global model you computed after round ${round} (kpfl_model_digest), or why you reject the round (kpfl_rejected), in its protected header`,
      );
    }
    // Lock order: plan, round and the next round, certificate row, audit chain. Read, merge and
    // write under the row lock: signers countersign concurrently, none may be lost.
    const all = await this.d.db.tx(async (tx) => {
      await lockRoundAndNext(tx, plan.id, round);
      // The payload never changes once signed; only the signatures grow.
      const latest = (await getCertificate(tx, plan.id, round, { lock: true }))!;
      const merged = mergeSignatures(latest.certificate, cert);
      const verified = await verifyRoundCertificate(merged as never, jwks);
      const signedBy = ['coordinator', ...verified.signers];
      const fresh = !latest.signers.includes(member);
      await updateCertificate(tx, plan.id, round, { certificate: merged, signers: signedBy });
      const votes = verified.verdicts.flatMap((v): Vote[] =>
        v.modelDigest !== undefined
          ? [{ member: v.member, verdict: { modelDigest: v.modelDigest } }]
          : v.rejected !== undefined
            ? [{ member: v.member, verdict: { rejected: v.rejected } }]
            : [],
      );
      if (fresh) {
        await appendAudit(tx, {
          federation: this.d.federation,
          event: 'certificate.countersigned',
          planId: plan.id,
          round,
          member,
          actor: member,
          data: {
            signers: signedBy,
            ...(own.modelDigest !== undefined
              ? { modelDigest: own.modelDigest }
              : { rejected: own.rejected }),
          },
        });
      }
      const outcome = fresh
        ? await recordVerdict(
            tx,
            { planId: plan.id, round, contributors: verified.payload.members, votes, voter: member },
            member,
          )
        : undefined;
      return { merged, signedBy, outcome };
    });
    this.d.log.info(
      {
        plan: plan.id,
        round,
        member,
        signers: all.signedBy.length,
        outcome: all.outcome?.kind,
        event: 'certificate.countersigned',
      },
      'certificate countersigned',
    );
    // The vote that decided the round is the one that made its signers a bare majority.
    const deciding = all.outcome && all.outcome.kind !== 'pending' && all.outcome.signers.includes(member);
    if (deciding && all.outcome?.kind === 'agreed' && all.outcome.signers.length === all.outcome.majority) {
      this.d.log.info(
        { plan: plan.id, round, digest: all.outcome.digest, event: 'model.agreed' },
        'contributors agreed on the global model',
      );
    }
    if (deciding && all.outcome?.kind === 'rejected' && all.outcome.signers.length === all.outcome.majority) {
      this.d.log.warn(
        { plan: plan.id, round, reason: all.outcome.reason, event: 'round.rejected' },
        'contributors rejected the round',
      );
    }
    return { round, certificateJson: JSON.stringify(all.merged), signers: all.signedBy };
  }
}

function mergeSignatures(a: unknown, b: unknown): unknown {
  const x = a as { payload: string; signatures: { protected?: string; signature: string }[] };
  const y = b as typeof x;
  const seen = new Set(x.signatures.map((s) => s.signature));
  return {
    payload: x.payload,
    signatures: [...x.signatures, ...y.signatures.filter((s) => !seen.has(s.signature))],
  };
}

/** The federation's public JWKS: the coordinator's key(s) and every member's and auditor's identity key. */
export async function federationJwks(
  db: Db,
  federation: string,
  coordinator: JSONWebKeySet,
): Promise<JSONWebKeySet> {
  return federationJwksFromDb(db, federation, coordinator);
}
