import { randomBytes } from 'node:crypto';
import {
  countersignRoundCertificate,
  createFederationKits,
  createRoundCertificate,
  digestOf,
  type FederationKits,
  signAttestation,
  signReceipt,
} from '@kpfl/kpt';
import {
  appendAudit,
  createPlan,
  type Db,
  dropSchema,
  insertCertificate,
  insertContribution,
  openDb,
  openRound,
  putMember,
  recordVerdict,
  transitionRound,
  updateCertificate,
  upsertFederation,
} from '@kpfl/store';
import { signCheckpoint } from '../src/index.js';

export const FEDERATION = 'audit-fed';
export const PLAN = 'plan-1';

let kits: Promise<FederationKits> | undefined;

/** One provisioned federation per test process: alice, bob, carol, dave and an auditor. */
export function federationKits(): Promise<FederationKits> {
  kits ??= createFederationKits({
    federation: FEDERATION,
    members: ['alice', 'bob', 'carol', 'dave'],
    auditors: ['audrey'],
  });
  return kits;
}

export async function freshDb(
  prefix: string,
): Promise<{ db: Db; schema: string; cleanup: () => Promise<void> }> {
  const schema = `${prefix}_${randomBytes(5).toString('hex')}`;
  const db = await openDb({ migrate: true, schema, max: 12 });
  return {
    db,
    schema,
    cleanup: async () => {
      await db.close();
      await dropSchema(undefined, schema);
    },
  };
}

/**
 * Runs `rounds` rounds of a federation straight through the store, logging every event the way the
 * aggregator does: alice, bob and carol contribute each round, dave's submission is refused
 * (stale base model), then the round is published, certified by the coordinator and countersigned.
 * A checkpoint is signed after each round. `beforeRound` runs before each round opens.
 */
export async function simulateFederation(
  db: Db,
  opts: { rounds?: number; beforeRound?: (round: number) => Promise<void> } = {},
): Promise<FederationKits> {
  const f = await federationKits();
  const coordinator = f.coordinator.signingKey;
  await upsertFederation(db, FEDERATION, f.jwks);
  // Epoch 1 of the HE key, as `kpfl provision` registers it (a keyId, never a key).
  await db.query(
    `INSERT INTO key_epochs (federation, epoch, state, he_params, key_id, created_by, reason, started_by, ready_at)
     VALUES ($1, 1, 'ready', 'n8192-60-40', $2, 'provision', 'initial', 'operator', now()) ON CONFLICT DO NOTHING`,
    [FEDERATION, 'a'.repeat(32)],
  );
  for (const m of [...f.members, ...f.auditors]) {
    const role = m.role;
    await putMember(db, {
      federation: FEDERATION,
      id: m.memberId,
      kid: m.identity.kid,
      publicJwk: m.identity.publicJwk,
      roles: [role],
    });
    await appendAudit(db, {
      federation: FEDERATION,
      event: 'member.added',
      member: m.memberId,
      actor: 'operator',
      data: { kid: m.identity.kid, roles: [role] },
    });
  }
  await createPlan(
    db,
    {
      id: PLAN,
      federation: FEDERATION,
      total_rounds: opts.rounds ?? 2,
      min_participants: 2,
      fraction: 1,
      deadline_seconds: 600,
      on_round_failure: 'continue',
      mode: 'he',
      he_params: 'n8192-60-40',
      model: 'mnist-2nn',
      parameter_count: 199_210,
      slot_count: 4096,
      chunk_count: 1,
      training: {
        model: 'mnist-2nn',
        localEpochs: 1,
        batchSize: 10,
        learningRate: 0.1,
        proxMu: 0,
        serverOptimizer: 'fedavg',
        maxExamples: 600,
      },
      seed: 7,
      initial_model_digest: digestOf('initial model'),
    },
    'operator',
  );
  const contributors = f.members.filter((m) => m.memberId !== 'dave');
  for (let round = 1; round <= (opts.rounds ?? 2); round++) {
    await opts.beforeRound?.(round);
    const base = digestOf(round === 1 ? 'initial model' : `global model after round ${round - 1}`);
    const sampled = f.members.map((m) => m.memberId);
    // A revocation in beforeRound starts a new key epoch: a remaining member makes its key.
    const epoch = (
      await db.query<{ epoch: number }>(
        `UPDATE key_epochs SET state = 'ready', key_id = $2, created_by = 'alice', ready_at = now()
         WHERE federation = $1 AND state = 'pending' RETURNING epoch`,
        [FEDERATION, 'b'.repeat(32)],
      )
    ).rows[0]?.epoch;
    const keyEpoch =
      epoch ??
      (
        await db.query<{ epoch: number }>(
          `SELECT epoch FROM key_epochs WHERE federation = $1 AND state = 'ready'`,
          [FEDERATION],
        )
      ).rows[0]!.epoch;
    await db.tx((tx) =>
      openRound(
        tx,
        {
          planId: PLAN,
          round,
          sampled,
          quorum: 3,
          minParticipants: 2,
          samplingSeed: `seed-${round}`,
          deadlineAt: new Date(Date.now() + 600_000),
          keyEpoch,
        },
        'coordinator',
      ),
    );
    const accepted: string[] = [];
    for (const [i, m] of contributors.entries()) {
      const bytes = new TextEncoder().encode(`ciphertext of ${m.memberId} in round ${round}`);
      const attestation = await signAttestation(m.identity, {
        iss: m.memberId,
        federation: FEDERATION,
        round,
        baseModelDigest: base,
        updateDigest: digestOf(bytes),
        exampleCount: 500 + 10 * i,
        dataCommitment: digestOf(`data of ${m.memberId}`),
        chunkCount: 1,
        mode: 'he',
        keyEpoch,
        training: { model: 'mnist-2nn', epochs: 1, batchSize: 10, lr: 0.1 },
      });
      const attestationDigest = digestOf(attestation);
      const receipt = await signReceipt(coordinator, {
        federation: FEDERATION,
        round,
        member: m.memberId,
        attestationDigest,
        receivedAt: new Date().toISOString(),
        status: 'accepted',
      });
      await db.tx(async (client) => {
        await insertContribution(
          client,
          {
            plan_id: PLAN,
            round,
            member: m.memberId,
            attestation,
            attestation_digest: attestationDigest,
            update_digest: digestOf(bytes),
            base_model_digest: base,
            example_count: 500 + 10 * i,
            bytes: bytes.byteLength,
            receipt,
          },
          [bytes],
        );
        if (i === 0)
          await transitionRound(
            client,
            PLAN,
            round,
            { to: 'collecting', firstMember: m.memberId },
            'coordinator',
          );
        await appendAudit(client, {
          federation: FEDERATION,
          event: 'contribution.accepted',
          planId: PLAN,
          round,
          member: m.memberId,
          actor: m.memberId,
          data: {
            attestationDigest,
            updateDigest: digestOf(bytes),
            baseModelDigest: base,
            exampleCount: 500 + 10 * i,
            bytes: bytes.byteLength,
            receiptDigest: digestOf(receipt),
          },
        });
      });
      accepted.push(attestationDigest);
    }
    await appendAudit(db, {
      federation: FEDERATION,
      event: 'contribution.refused',
      planId: PLAN,
      round,
      member: 'dave',
      actor: 'dave',
      data: {
        reason: 'base_model_digest: the update was trained from a stale global model',
        baseModelDigest: digestOf('stale'),
        updateDigest: digestOf(`dave ${round}`),
        exampleCount: 450,
      },
    });
    const contributions = contributors.length;
    await db.tx((tx) =>
      transitionRound(tx, PLAN, round, { to: 'aggregating', why: 'quorum', contributions }, 'coordinator'),
    );
    const aggregateDigest = digestOf(`aggregate of round ${round}`);
    await db.tx((tx) =>
      transitionRound(tx, PLAN, round, { to: 'published', aggregateDigest, contributions }, 'coordinator'),
    );
    let cert = await createRoundCertificate(coordinator, {
      federation: FEDERATION,
      planId: PLAN,
      round,
      aggregateDigest,
      attestationDigests: accepted,
      members: contributors.map((m) => m.memberId),
    });
    await insertCertificate(db, PLAN, round, { certificate: cert, signers: [] });
    await appendAudit(db, {
      federation: FEDERATION,
      event: 'certificate.signed',
      planId: PLAN,
      round,
      actor: 'coordinator',
      data: { aggregateDigest, attestationDigests: [...accepted].sort() },
    });
    const modelDigest = digestOf(`global model after round ${round}`);
    for (const [i, m] of contributors.entries()) {
      cert = await countersignRoundCertificate(
        cert,
        m.identity,
        m.memberId,
        accepted[i],
        f.coordinator.jwks,
        {
          modelDigest,
        },
      );
      await db.tx(async (tx) => {
        await updateCertificate(tx, PLAN, round, {
          certificate: cert,
          signers: contributors.slice(0, i + 1).map((c) => c.memberId),
        });
        await appendAudit(tx, {
          federation: FEDERATION,
          event: 'certificate.countersigned',
          planId: PLAN,
          round,
          member: m.memberId,
          actor: m.memberId,
          data: { modelDigest },
        });
        // The contributors' verdicts decide the global model (ADR 0007), as the aggregator records them.
        await recordVerdict(
          tx,
          {
            planId: PLAN,
            round,
            contributors: contributors.map((c) => c.memberId).sort(),
            votes: contributors
              .slice(0, i + 1)
              .map((c) => ({ member: c.memberId, verdict: { modelDigest } })),
            voter: m.memberId,
          },
          m.memberId,
        );
      });
    }
    await signCheckpoint(db, coordinator, FEDERATION);
  }
  return f;
}

/** Runs `fn` on one connection with triggers and FK checks off, as a superuser tampering with the database would. */
export async function asTamperingSuperuser(
  db: Db,
  fn: (q: (sql: string, values?: unknown[]) => Promise<unknown>) => Promise<void>,
) {
  await db.tx(async (client) => {
    await client.query('SET LOCAL session_replication_role = replica');
    await fn((sql, values) => client.query(sql, values));
  });
}
