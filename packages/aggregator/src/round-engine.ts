import { createHash } from 'node:crypto';
import { digestOf } from '@kpfl/kpt';
import {
  appendAudit,
  countContributions,
  type Db,
  deleteRoundPayloads,
  finishPlan,
  getPlan,
  getRound,
  hasContribution,
  insertContribution,
  listMembers,
  type MemberRow,
  openRound,
  type PlanRow,
  type RoundRow,
  storeAggregate,
  transitionRound,
} from '@kpfl/store';
import { RpcError } from './errors.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import type { RunningSums } from './running-sums.js';
import { sampleParticipants } from './sampling.js';

/** What the engine asks of the job queue; implemented over BullMQ in scheduler.ts. */
export interface RoundJobs {
  scheduleOpen(planId: string, round: number, delayMs?: number): Promise<void>;
  scheduleDeadline(planId: string, round: number, at: Date): Promise<void>;
  requestClose(planId: string, round: number): Promise<void>;
  /** Drops a round's pending deadline job once the round is closed (it would be a no-op anyway). */
  cancelDeadline(planId: string, round: number): Promise<void>;
}

export interface VerifiedSubmission {
  planId: string;
  round: number;
  member: string;
  attestation: string;
  attestationDigest: string;
  updateDigest: string;
  baseModelDigest: string;
  exampleCount: number;
  chunks: Uint8Array[];
  bytes: number;
  receipt: string;
}

/** Hooks that sign artifacts; they live with the identity code, not in the state machine. */
export interface RoundSigner {
  certify(plan: PlanRow, round: RoundRow, aggregateDigest: string): Promise<void>;
}

export interface RoundEngineDeps {
  db: Db;
  sums: RunningSums;
  jobs: RoundJobs;
  log: Logger;
  metrics?: Metrics;
  signer?: RoundSigner;
}

/**
 * The round state machine: open -> collecting -> aggregating -> published, or failed.
 * Every transition is a conditional UPDATE in Postgres, so a retried job or a second worker
 * cannot apply it twice.
 */
export class RoundEngine {
  constructor(private readonly d: RoundEngineDeps) {}

  /** Opens round `round` of a plan (idempotent) and schedules its deadline. */
  async open(planId: string, round: number): Promise<RoundRow | undefined> {
    const { db, log } = this.d;
    const plan = await getPlan(db, planId);
    if (plan?.state !== 'running') return undefined;
    if (round > plan.total_rounds) {
      if (await finishPlan(db, planId, 'done'))
        log.info({ plan: planId, event: 'plan.done' }, 'plan finished');
      return undefined;
    }
    const eligible = eligibleMembers(
      await listMembers(db, plan.federation),
      plan.seen_within_seconds,
      plan.min_participants,
    );
    const { sampled, samplingSeed } = sampleParticipants(
      eligible,
      plan.fraction,
      plan.min_participants,
      plan.seed,
      round,
    );
    const [row, created] = await openRound(db, {
      plan_id: planId,
      round,
      sampled,
      quorum: sampled.length,
      min_participants: plan.min_participants,
      sampling_seed: samplingSeed,
      deadline_at: new Date(Date.now() + plan.deadline_seconds * 1000),
    });
    if (created) {
      await appendAudit(db, {
        federation: plan.federation,
        event: 'round.opened',
        planId,
        round,
        actor: 'coordinator',
        data: {
          sampled,
          quorum: row.quorum,
          minParticipants: row.min_participants,
          samplingSeed,
          deadlineAt: row.deadline_at.toISOString(),
          baseModelDigest: row.base_model_digest,
        },
      });
      log.info({ plan: planId, round, sampled, event: 'round.opened' }, 'round opened');
      this.d.metrics?.roundTransition('open');
    }
    await this.d.jobs.scheduleDeadline(planId, round, row.deadline_at);
    if (created && sampled.length < plan.min_participants) {
      // Not enough eligible members: let the deadline decide, so members that register late can still join.
      log.warn(
        { plan: planId, round, eligible: eligible.length, min: plan.min_participants },
        'fewer eligible than minimum',
      );
    }
    return row;
  }

  /**
   * Stores an accepted contribution and folds it into the round's running sum, atomically with
   * respect to closing: the round row is locked, so a contribution is either in the published
   * aggregate or refused, never both and never twice.
   */
  async accept(plan: PlanRow, s: VerifiedSubmission): Promise<{ accepted: number; quorum: number }> {
    const { db, sums } = this.d;
    let folded = false;
    try {
      const result = await db.tx(async (client) => {
        const round = await getRound(client, s.planId, s.round, true);
        if (!round) throw new RpcError('NOT_FOUND', 'no_such_round', `round ${s.round} does not exist`);
        assertCollecting(round);
        if (await hasContribution(client, s.planId, s.round, s.member)) {
          throw new RpcError(
            'ALREADY_EXISTS',
            'duplicate',
            `${s.member} already contributed to round ${s.round}`,
          );
        }
        const id = await insertContribution(
          client,
          {
            plan_id: s.planId,
            round: s.round,
            member: s.member,
            attestation: s.attestation,
            attestation_digest: s.attestationDigest,
            update_digest: s.updateDigest,
            base_model_digest: s.baseModelDigest,
            example_count: s.exampleCount,
            bytes: s.bytes,
            receipt: s.receipt,
          },
          s.chunks,
        );
        // Validates every chunk against the consortium parameters before folding; throws with the sum unchanged.
        folded = true;
        await sums.fold(plan, s.round, id, s.chunks);
        if (round.state === 'open') await transitionRound(client, s.planId, s.round, ['open'], 'collecting');
        const accepted = await countContributions(client, s.planId, s.round);
        // Last statement: the audit chain's lock is held only until this transaction commits.
        await appendAudit(client, {
          federation: plan.federation,
          event: 'contribution.accepted',
          planId: s.planId,
          round: s.round,
          member: s.member,
          actor: s.member,
          data: {
            attestationDigest: s.attestationDigest,
            updateDigest: s.updateDigest,
            baseModelDigest: s.baseModelDigest,
            exampleCount: s.exampleCount,
            bytes: s.bytes,
            receiptDigest: digestOf(s.receipt),
          },
        });
        return { accepted, quorum: round.quorum };
      });
      if (result.accepted >= result.quorum) await this.d.jobs.requestClose(s.planId, s.round);
      return result;
    } catch (err) {
      if (folded) sums.markDirty(s.planId, s.round);
      throw err;
    }
  }

  /**
   * Closes a round at quorum or deadline: publishes the aggregate when at least the minimum
   * contributed, otherwise fails the round. Safe to call repeatedly and after a crash mid-way.
   */
  async close(
    planId: string,
    roundNo: number,
    why: 'quorum' | 'deadline',
  ): Promise<RoundRow['state'] | undefined> {
    const { db, log } = this.d;
    const plan = await getPlan(db, planId);
    if (!plan) return undefined;
    const decision = await db.tx(async (client) => {
      const round = await getRound(client, planId, roundNo, true);
      if (!round) return undefined;
      if (round.state === 'published' || round.state === 'failed' || round.state === 'aggregating')
        return round.state;
      const n = await countContributions(client, planId, roundNo);
      if (why === 'quorum' && n < round.quorum) return undefined; // a stale close job: keep collecting
      if (n >= round.min_participants) {
        await transitionRound(client, planId, roundNo, ['open', 'collecting'], 'aggregating');
        await appendAudit(client, {
          federation: plan.federation,
          event: 'round.closed',
          planId,
          round: roundNo,
          actor: 'coordinator',
          data: { why, contributions: n },
        });
        return 'aggregating' as const;
      }
      const reason = `only ${n} of the required ${round.min_participants} contributions by the deadline`;
      await transitionRound(client, planId, roundNo, ['open', 'collecting'], 'failed', {
        failureReason: reason,
      });
      await client.query(
        `INSERT INTO model_digests (plan_id, round, digest, reported_by)
         SELECT plan_id, $2, digest, 'carried-over' FROM model_digests WHERE plan_id = $1 AND round = $2 - 1
         ON CONFLICT DO NOTHING`,
        [planId, roundNo],
      );
      await appendAudit(client, {
        federation: plan.federation,
        event: 'round.failed',
        planId,
        round: roundNo,
        actor: 'coordinator',
        data: { reason, contributions: n },
      });
      log.warn({ plan: planId, round: roundNo, event: 'round.failed', reason }, 'round failed');
      this.d.metrics?.roundTransition('failed');
      return 'failed' as const;
    });
    if (decision === 'aggregating') await this.publish(plan, roundNo);
    if (decision === 'published') await deleteRoundPayloads(db, planId, roundNo);
    if (decision === 'aggregating' || decision === 'published') await this.certify(plan, roundNo);
    if (decision === 'published' || decision === 'aggregating' || decision === 'failed') {
      if (why === 'quorum') await this.d.jobs.cancelDeadline(planId, roundNo);
      await this.advance(plan, roundNo, decision === 'failed');
    }
    return decision === 'aggregating' ? 'published' : decision;
  }

  private async publish(plan: PlanRow, roundNo: number): Promise<void> {
    const { db, sums, log } = this.d;
    const started = performance.now();
    const { chunks, contributions } = await sums.settle(db, plan, roundNo);
    const hash = createHash('sha256');
    for (const c of chunks) hash.update(c);
    const aggregateDigest = `sha256:${hash.digest('hex')}`;
    await db.tx(async (client) => {
      await storeAggregate(client, plan.id, roundNo, chunks);
      await transitionRound(client, plan.id, roundNo, ['aggregating'], 'published', {
        aggregateDigest,
        contributions,
      });
      await appendAudit(client, {
        federation: plan.federation,
        event: 'round.published',
        planId: plan.id,
        round: roundNo,
        actor: 'coordinator',
        data: { aggregateDigest, contributions },
      });
    });
    sums.drop(plan.id, roundNo);
    // Outside the publishing transaction: deleting a large round's payloads takes seconds, and a
    // crash before it only leaves bytes that the next close of this round (or a retry) deletes.
    await deleteRoundPayloads(db, plan.id, roundNo);
    const seconds = (performance.now() - started) / 1000;
    this.d.metrics?.aggregationSeconds(seconds);
    this.d.metrics?.roundTransition('published');
    log.info(
      { plan: plan.id, round: roundNo, contributions, aggregateDigest, seconds, event: 'round.published' },
      'round published',
    );
  }

  /** Signs the round certificate (idempotent): also after a crash between publishing and certifying. */
  private async certify(plan: PlanRow, roundNo: number): Promise<void> {
    const round = await getRound(this.d.db, plan.id, roundNo);
    if (round?.state === 'published' && round.aggregate_digest && this.d.signer) {
      await this.d.signer.certify(plan, round, round.aggregate_digest);
    }
  }

  private async advance(plan: PlanRow, roundNo: number, failed: boolean): Promise<void> {
    if (failed && plan.on_round_failure === 'stop') {
      if (await finishPlan(this.d.db, plan.id, 'failed')) {
        this.d.log.warn(
          { plan: plan.id, round: roundNo, event: 'plan.failed' },
          'plan stopped after a failed round',
        );
      }
      return;
    }
    await this.d.jobs.scheduleOpen(plan.id, roundNo + 1);
  }
}

export function assertCollecting(round: RoundRow): void {
  if (round.state !== 'open' && round.state !== 'collecting') {
    throw new RpcError(
      'FAILED_PRECONDITION',
      'round_closed',
      `round ${round.round} is ${round.state}; submissions are accepted only while it is open`,
    );
  }
  if (round.deadline_at.getTime() < Date.now()) {
    throw new RpcError(
      'FAILED_PRECONDITION',
      'late',
      `round ${round.round} passed its deadline at ${round.deadline_at.toISOString()}`,
    );
  }
}

/**
 * Active participants seen within the window. A federation that has just started has seen nobody
 * yet: when fewer than the minimum were seen, every active participant is eligible.
 */
export function eligibleMembers(members: MemberRow[], seenWithinSeconds: number, min: number): string[] {
  const active = members.filter((m) => m.status === 'active' && m.roles.includes('participant'));
  const since = Date.now() - seenWithinSeconds * 1000;
  const seen = active.filter((m) => m.last_seen_at && m.last_seen_at.getTime() >= since);
  return (seen.length >= min ? seen : active).map((m) => m.id);
}
