import { federationJwksFromDb, signCheckpoint } from '@kpfl/audit';
import {
  createRoundCertificate,
  type IdentityKey,
  type JSONWebKeySet,
  verifyRoundCertificate,
} from '@kpfl/kpt';
import {
  appendAudit,
  type Db,
  getCertificate,
  listContributions,
  type PlanRow,
  putCertificate,
  type RoundRow,
} from '@kpfl/store';
import { RpcError } from './errors.js';
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

  async certify(plan: PlanRow, round: RoundRow, aggregateDigest: string): Promise<void> {
    if (await getCertificate(this.d.db, plan.id, round.round)) return; // a retried publish job
    const contributions = await listContributions(this.d.db, plan.id, round.round);
    const cert = await createRoundCertificate(this.d.coordinatorKey, {
      federation: this.d.federation,
      planId: plan.id,
      round: round.round,
      aggregateDigest,
      attestationDigests: contributions.map((c) => c.attestation_digest).sort(),
      members: contributions.map((c) => c.member).sort(),
      publishedAt: (round.published_at ?? new Date()).toISOString(),
    });
    await putCertificate(this.d.db, plan.id, round.round, cert, ['coordinator']);
    await appendAudit(this.d.db, {
      federation: this.d.federation,
      event: 'certificate.signed',
      planId: plan.id,
      round: round.round,
      actor: 'coordinator',
      data: { aggregateDigest, attestationDigests: contributions.map((c) => c.attestation_digest).sort() },
    });
    this.d.log.info(
      { plan: plan.id, round: round.round, event: 'certificate.signed' },
      'round certificate signed',
    );
    // A checkpoint after every publication: auditors can pin the chain head of each round.
    await signCheckpoint(this.d.db, this.d.coordinatorKey, this.d.federation);
  }

  /** Stores a participant's countersignature after checking the whole certificate still verifies. */
  async countersign(plan: PlanRow, round: number, member: string, certificateJson: string) {
    const stored = await getCertificate(this.d.db, plan.id, round);
    if (!stored) throw new RpcError('NOT_FOUND', 'no_certificate', `round ${round} has no certificate`);
    let cert: unknown;
    try {
      cert = JSON.parse(certificateJson);
    } catch {
      throw new RpcError('INVALID_ARGUMENT', 'bad_certificate', 'certificate_json is not JSON');
    }
    const jwks = await this.d.jwks();
    const { payload, signers } = await verifyRoundCertificate(cert as never, jwks);
    const storedPayload = (await verifyRoundCertificate(stored.certificate as never, jwks)).payload;
    if (JSON.stringify(payload) !== JSON.stringify(storedPayload)) {
      throw new RpcError(
        'INVALID_ARGUMENT',
        'certificate_changed',
        'the certificate payload differs from the one the aggregator signed',
      );
    }
    if (!signers.includes(member))
      throw new RpcError(
        'INVALID_ARGUMENT',
        'not_signed',
        `the certificate carries no signature by ${member}`,
      );
    if (!(payload as { members: string[] }).members.includes(member)) {
      throw new RpcError(
        'PERMISSION_DENIED',
        'not_included',
        `${member} has no accepted contribution in round ${round}`,
      );
    }
    // Merge: keep every signature already stored, add the new ones (signers may countersign concurrently).
    const merged = mergeSignatures(stored.certificate, cert);
    const all = (await verifyRoundCertificate(merged as never, jwks)).signers;
    await putCertificate(this.d.db, plan.id, round, merged, ['coordinator', ...all]);
    await appendAudit(this.d.db, {
      federation: this.d.federation,
      event: 'certificate.countersigned',
      planId: plan.id,
      round,
      member,
      actor: member,
      data: { signers: ['coordinator', ...all] },
    });
    this.d.log.info(
      { plan: plan.id, round, member, signers: all.length + 1, event: 'certificate.countersigned' },
      'certificate countersigned',
    );
    return { round, certificateJson: JSON.stringify(merged), signers: ['coordinator', ...all] };
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
