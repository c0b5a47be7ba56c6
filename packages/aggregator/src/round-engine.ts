import { createHash } from 'node:crypto';
import { unmaskSum } from '@kpfl/he';
import { digestOf } from '@kpfl/kpt';
import { MIN_SECAGG_MEMBERS, secaggParameters } from '@kpfl/secagg';
import {
  appendAudit,
  countContributions,
  currentKeyEpoch,
  type Db,
  deleteRoundPayloads,
  finishPlan,
  getPlan,
  getRound,
  hasContribution,
  hasShared,
  insertContribution,
  isAccepting,
  isUnderway,
  latestRound,
  listAdvertisements,
  listContributions,
  listMembers,
  listRounds,
  listShareSenders,
  listUnmaskResponses,
  lockPlan,
  lockRound,
  type MaskAdvertisementRow,
  type MemberRow,
  openRound,
  type PlanRow,
  phaseExpected,
  phaseProgress,
  putAdvertisement,
  putShareEnvelopes,
  putUnmaskResponse,
  type RoundJob,
  type RoundRow,
  type RoundState,
  type SecurePhaseState,
  storeAggregate,
  type TransitionResult,
  type Tx,
  transitionRound,
  type UnmaskResponseRow,
  usesHeKey,
} from '@kpfl/store';
import { RoundError } from './errors.js';
import { type RoundJobData, requiredJobs } from './jobs.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import { planStrategy } from './plan-strategy.js';
import type { RunningSums } from './running-sums.js';
import { roundGraphOf, unmaskCorrection } from './unmasking.js';

/** What the engine asks of the job queue; implemented over BullMQ in scheduler.ts. */
export interface RoundJobs {
  add(job: RoundJob): Promise<void>;
  /** Drops a job still waiting (a deadline that no longer matters); a running one finishes on its own. */
  remove(job: RoundJobData): Promise<void>;
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
  /** Secure rounds: the coordinator-signed announcement of who survived and who dropped out. */
  announceUnmask(
    plan: PlanRow,
    round: number,
    sets: { survivors: string[]; dropouts: string[] },
  ): Promise<{ announcement: string; digest: string }>;
}

/**
 * Called after a step has committed, before the engine goes on. For fault tests: a hook that
 * SIGKILLs the process here shows what a crash at exactly this point leaves behind.
 */
export interface RoundEngineHooks {
  afterCommit?(
    step: 'opened' | 'sharing' | 'submitting' | 'unmasking' | 'closed' | 'published' | 'failed',
    planId: string,
    round: number,
  ): unknown;
}

export interface RoundEngineDeps {
  db: Db;
  sums: RunningSums;
  jobs: RoundJobs;
  log: Logger;
  metrics?: Metrics;
  signer?: RoundSigner;
  hooks?: RoundEngineHooks;
}

/** A step's outcome: the round's state after it, and the move this engine made, if it made one. */
interface Step {
  state: RoundState;
  changed?: TransitionResult;
}

/** Who the engine's own audit rows name as the actor. */
const COORDINATOR = 'coordinator';

/**
 * Drives rounds through the state machine of @kpfl/store (round-machine.ts): opens them, accepts
 * contributions, closes them at quorum or deadline, publishes the aggregate, and after each step
 * schedules what the plan needs next (`requiredJobs`, the same list the reconciler restores).
 * Every step is a transaction that re-reads the round under its lock, so a retried job, a second
 * worker or a crash and restart never apply a step twice.
 */
export class RoundEngine {
  constructor(private readonly d: RoundEngineDeps) {}

  /** Opens round `round` of a plan (idempotent) and schedules its deadline. */
  async open(planId: string, round: number): Promise<RoundRow | undefined> {
    const { db, log } = this.d;
    const plan = await getPlan(db, planId);
    if (plan?.state !== 'running' || round > plan.total_rounds) return undefined;
    const eligible = eligibleMembers(
      await listMembers(db, plan.federation),
      plan.seen_within_seconds,
      plan.min_participants,
    );
    const strategy = planStrategy(plan);
    const { sampled, samplingSeed } = strategy.sample({
      eligible,
      fraction: plan.fraction,
      min: plan.min_participants,
      planSeed: plan.seed,
      round,
    });
    let keyEpoch: number | undefined;
    if (usesHeKey(plan.mode)) {
      const epoch = await currentKeyEpoch(db, plan.federation);
      if (epoch?.state !== 'ready') {
        const why = epoch
          ? `HE key epoch ${epoch.epoch} is pending: no member has made its key yet`
          : 'the federation has no HE key epoch: a member creates one (kpfl he-key create)';
        log.warn({ plan: planId, round, epoch: epoch?.epoch, event: 'round.waiting_for_key' }, why);
        // The open job fails and is retried (with backoff, then by the reconciler) until a key is ready.
        throw new RoundError('no_key', `round ${round} of plan ${planId} cannot open yet: ${why}`);
      }
      keyEpoch = epoch.epoch;
    }
    const { round: row, created } = await db.tx((tx) =>
      openRound(
        tx,
        {
          planId,
          round,
          sampled,
          quorum: strategy.quorum({ sampled, minParticipants: plan.min_participants }),
          minParticipants: plan.min_participants,
          samplingSeed,
          // Secure rounds reset it when their submit phase starts.
          deadlineAt: new Date(
            Date.now() +
              (plan.deadline_seconds + (plan.mode === 'secure' ? 2 * plan.phase_seconds : 0)) * 1000,
          ),
          keyEpoch,
          ...(plan.mode === 'secure'
            ? { phaseDeadlineAt: new Date(Date.now() + plan.phase_seconds * 1000) }
            : {}),
        },
        COORDINATOR,
      ),
    );
    if (created) {
      log.info({ plan: planId, round, sampled, event: 'round.opened' }, 'round opened');
      this.d.metrics?.roundTransition('open');
      if (sampled.length < plan.min_participants) {
        // Not enough eligible members: the deadline decides, as for a round whose members vanish.
        log.warn(
          { plan: planId, round, eligible: eligible.length, min: plan.min_participants },
          'fewer eligible than minimum',
        );
      }
      await this.d.hooks?.afterCommit?.('opened', planId, round);
    }
    await this.scheduleNext(planId);
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
      const result = await db.tx(async (tx) => {
        const { round } = await lockRound(tx, s.planId, s.round);
        if (!round) throw new RoundError('no_such_round', `round ${s.round} does not exist`);
        assertAccepting(round);
        if (await hasContribution(tx, s.planId, s.round, s.member)) {
          throw new RoundError('duplicate', `${s.member} already contributed to round ${s.round}`);
        }
        const id = await insertContribution(
          tx,
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
        if (round.state === 'open') {
          await transitionRound(
            tx,
            s.planId,
            s.round,
            { to: 'collecting', firstMember: s.member },
            COORDINATOR,
          );
        }
        const accepted = await countContributions(tx, s.planId, s.round);
        // Last statement: the audit chain's lock is held only until this transaction commits.
        await appendAudit(tx, {
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
      if (result.accepted >= result.quorum) await this.scheduleNext(s.planId);
      return result;
    } catch (err) {
      if (folded) sums.markDirty(s.planId, s.round);
      throw err;
    }
  }

  /**
   * Closes a round at quorum or deadline: publishes the aggregate when at least the minimum
   * contributed, otherwise fails the round. Safe to call repeatedly, concurrently and after a
   * crash anywhere in it: the round publishes at most once.
   */
  async close(planId: string, roundNo: number, why: 'quorum' | 'deadline'): Promise<RoundState | undefined> {
    const { db } = this.d;
    const plan = await getPlan(db, planId);
    if (!plan) return undefined;
    const closed = await db.tx(async (tx): Promise<Step | undefined> => {
      const { round } = await lockRound(tx, planId, roundNo);
      if (!round) return undefined;
      // Closed already (a retried job, another worker, a restart after a crash): go on from there.
      if (!isAccepting(round.state)) return { state: round.state };
      const n = await countContributions(tx, planId, roundNo);
      if (why === 'quorum' && n < round.quorum) return undefined; // a stale close job: keep collecting
      if (plan.mode === 'secure' && n >= round.min_participants) {
        return this.startUnmasking(tx, plan, round, why, n);
      }
      if (n >= round.min_participants) {
        const t = await transitionRound(
          tx,
          planId,
          roundNo,
          { to: 'aggregating', why, contributions: n },
          COORDINATOR,
        );
        return { state: t.round.state, changed: t };
      }
      const reason = `only ${n} of the required ${round.min_participants} contributions by the deadline`;
      const t = await this.failRound(tx, plan, roundNo, { reason, contributions: n });
      return { state: t.round.state, changed: t };
    });
    if (!closed) return undefined;
    if (closed.changed) {
      this.afterTransition(plan, closed.changed);
      await this.d.hooks?.afterCommit?.(
        closed.state === 'failed' ? 'failed' : closed.state === 'unmasking' ? 'unmasking' : 'closed',
        planId,
        roundNo,
      );
    }
    let state = closed.state;
    if (state === 'aggregating') state = await this.publish(plan, roundNo);
    if (state === 'published') {
      // Payloads are only needed until publication; deleted outside the publishing transaction
      // because a large round takes seconds, and a crash before it leaves bytes the next close deletes.
      await deleteRoundPayloads(db, planId, roundNo);
      await this.certify(plan, roundNo);
    }
    if (why === 'quorum') await this.d.jobs.remove({ kind: 'deadline', planId, round: roundNo });
    await this.scheduleNext(planId);
    return state;
  }

  /** Stores a sampled member's verified advertisement of its round keys (once), while advertising. */
  async advertise(plan: PlanRow, a: MaskAdvertisementRow): Promise<{ advertised: number; sampled: number }> {
    const result = await this.d.db.tx(async (tx) => {
      const { round } = await lockRound(tx, plan.id, a.round);
      const r = inPhase(round, 'advertising', a.round);
      if (!r.sampled.includes(a.member))
        throw new RoundError('not_in_phase', `${a.member} is not sampled for round ${a.round}`);
      if (!(await putAdvertisement(tx, a)))
        throw new RoundError(
          'already_done',
          `${a.member} has advertised its keys for round ${a.round} already`,
        );
      const advertised = await phaseProgress(tx, r);
      await appendAudit(tx, {
        federation: plan.federation,
        event: 'secagg.advertised',
        planId: plan.id,
        round: a.round,
        member: a.member,
        actor: a.member,
        data: { advertisementDigest: a.digest },
      });
      return { advertised, sampled: r.sampled.length };
    });
    if (result.advertised >= result.sampled) await this.scheduleNext(plan.id);
    return result;
  }

  /**
   * Stores a member's share envelopes (once), while sharing: one for each of its neighbours in the
   * round's graph, no more and no other.
   */
  async share(
    plan: PlanRow,
    roundNo: number,
    member: string,
    envelopes: readonly { recipient: string; jwe: string }[],
  ): Promise<{ stored: number; shared: number; advertised: number }> {
    const result = await this.d.db.tx(async (tx) => {
      const { round } = await lockRound(tx, plan.id, roundNo);
      const r = inPhase(round, 'sharing', roundNo);
      if (!r.advertised?.includes(member))
        throw new RoundError('not_in_phase', `${member} did not advertise keys in round ${roundNo}`);
      if (await hasShared(tx, plan.id, roundNo, member))
        throw new RoundError('already_done', `${member} has shared its keys for round ${roundNo} already`);
      const neighbours = roundGraphOf(plan, r).neighbours.get(member) ?? [];
      const recipients = envelopes.map((e) => e.recipient).sort();
      const expected = [...neighbours].sort();
      if (recipients.join(',') !== expected.join(',')) {
        const strangers = recipients.filter((x) => !expected.includes(x));
        throw new RoundError(
          'not_in_phase',
          strangers.length
            ? `shares for ${strangers.slice(0, 5).join(', ')}, who are not ${member}'s neighbours in round ${roundNo} (its neighbours: ${expected.join(', ')})`
            : `${member} must share with exactly its neighbours in round ${roundNo}: ${expected.join(', ')} (got ${recipients.join(', ') || 'none'})`,
        );
      }
      const stored = await putShareEnvelopes(tx, plan.id, roundNo, member, envelopes);
      const shared = await phaseProgress(tx, r);
      await appendAudit(tx, {
        federation: plan.federation,
        event: 'secagg.shared',
        planId: plan.id,
        round: roundNo,
        member,
        actor: member,
        data: { recipients },
      });
      return { stored, shared, advertised: r.advertised.length };
    });
    if (result.shared >= result.advertised) await this.scheduleNext(plan.id);
    return result;
  }

  /** Stores a survivor's verified unmask response (once), while unmasking. */
  async respondUnmask(
    plan: PlanRow,
    r: UnmaskResponseRow,
  ): Promise<{ responses: number; survivors: number }> {
    const result = await this.d.db.tx(async (tx) => {
      const { round } = await lockRound(tx, plan.id, r.round);
      const row = inPhase(round, 'unmasking', r.round);
      if (!row.survivors?.includes(r.member))
        throw new RoundError('not_in_phase', `${r.member} is not a survivor of round ${r.round}`);
      if (!(await putUnmaskResponse(tx, r)))
        throw new RoundError('already_done', `${r.member} has responded for round ${r.round} already`);
      const responses = await phaseProgress(tx, row);
      await appendAudit(tx, {
        federation: plan.federation,
        event: 'secagg.unmask_responded',
        planId: plan.id,
        round: r.round,
        member: r.member,
        actor: r.member,
        data: { responseDigest: r.digest },
      });
      return { responses, survivors: row.survivors.length };
    });
    if (result.responses >= result.survivors) await this.scheduleNext(plan.id);
    return result;
  }

  /**
   * Ends a secure round's key-exchange phase, when everyone expected has done it (`complete`) or at
   * its deadline. Too few to go on fails the round. Idempotent: a stale or repeated job finds the
   * round in another state and does nothing.
   */
  async advance(
    planId: string,
    roundNo: number,
    phase: SecurePhaseState,
    why: 'complete' | 'deadline',
  ): Promise<RoundState | undefined> {
    const { db } = this.d;
    const plan = await getPlan(db, planId);
    if (!plan) return undefined;
    if (phase === 'unmasking') return this.finishUnmasking(plan, roundNo, why);
    const step = await db.tx(async (tx): Promise<Step | undefined> => {
      const { round } = await lockRound(tx, planId, roundNo);
      if (round?.state !== phase) return undefined;
      const done =
        phase === 'advertising'
          ? (await listAdvertisements(tx, planId, roundNo)).map((a) => a.member)
          : await listShareSenders(tx, planId, roundNo);
      const expected = phaseExpected(round);
      if (why === 'complete' && done.length < expected) return undefined;
      const needed = Math.max(MIN_SECAGG_MEMBERS, round.min_participants);
      const fail = async (reason: string) => {
        const t = await this.failRound(tx, plan, roundNo, { reason, contributions: 0 });
        return { state: t.round.state, changed: t };
      };
      if (done.length < needed)
        return fail(
          `only ${done.length} of the required ${needed} members ${phase === 'advertising' ? 'advertised round keys' : 'shared their keys'} by the phase deadline`,
        );
      const now = Date.now();
      if (phase === 'advertising') {
        const { degree, threshold } = secaggParameters(done.length);
        const t = await transitionRound(
          tx,
          planId,
          roundNo,
          {
            to: 'sharing',
            why,
            advertised: done,
            degree,
            threshold,
            phaseDeadlineAt: new Date(now + plan.phase_seconds * 1000),
          },
          COORDINATOR,
        );
        return { state: t.round.state, changed: t };
      }
      const t = await transitionRound(
        tx,
        planId,
        roundNo,
        { to: 'open', why, shared: done, deadlineAt: new Date(now + plan.deadline_seconds * 1000) },
        COORDINATOR,
      );
      return { state: t.round.state, changed: t };
    });
    if (!step) return undefined;
    if (step.changed) {
      this.afterTransition(plan, step.changed);
      this.d.log.info(
        { plan: planId, round: roundNo, from: phase, to: step.state, why, event: `round.${step.state}` },
        `round ${roundNo}: ${phase} ended (${why})`,
      );
      await this.d.hooks?.afterCommit?.(
        step.state === 'failed' ? 'failed' : step.state === 'sharing' ? 'sharing' : 'submitting',
        planId,
        roundNo,
      );
    }
    if (why === 'complete') await this.d.jobs.remove({ kind: 'phase', planId, round: roundNo, phase });
    await this.scheduleNext(planId);
    return step.state;
  }

  /**
   * Closes a secure round's submit phase: those who submitted survive, those who shared and did not
   * are dropouts; the coordinator signs the announcement of both sets, and unmasking starts. Fewer
   * survivors than the round's Shamir threshold cannot be unmasked: the round fails.
   */
  private async startUnmasking(
    tx: Parameters<Parameters<Db['tx']>[0]>[0],
    plan: PlanRow,
    round: RoundRow,
    why: 'quorum' | 'deadline',
    contributions: number,
  ): Promise<Step> {
    const survivors = (await listContributions(tx, plan.id, round.round)).map((c) => c.member).sort();
    const dropouts = (round.shared ?? []).filter((m) => !survivors.includes(m)).sort();
    const threshold = round.secagg_threshold ?? 2;
    if (survivors.length < threshold) {
      const t = await this.failRound(tx, plan, round.round, {
        reason: `only ${survivors.length} survivors, below the secure-aggregation threshold of ${threshold}: their masks cannot be removed`,
        contributions,
      });
      return { state: t.round.state, changed: t };
    }
    if (!this.d.signer)
      throw new Error('a secure round needs the coordinator signer to announce its unmasking');
    const { announcement, digest } = await this.d.signer.announceUnmask(plan, round.round, {
      survivors,
      dropouts,
    });
    const t = await transitionRound(
      tx,
      plan.id,
      round.round,
      {
        to: 'unmasking',
        why,
        survivors,
        dropouts,
        announcement,
        announcementDigest: digest,
        phaseDeadlineAt: new Date(Date.now() + plan.phase_seconds * 1000),
        contributions,
      },
      COORDINATOR,
    );
    return { state: t.round.state, changed: t };
  }

  /**
   * Ends unmasking: once every survivor responded, or at the deadline, with enough shares to rebuild
   * every survivor's self-mask seed and every dropout's mask key, the round aggregates and publishes
   * (the masks come off in publish); otherwise it fails.
   */
  private async finishUnmasking(
    plan: PlanRow,
    roundNo: number,
    why: 'complete' | 'deadline',
  ): Promise<RoundState | undefined> {
    const { db } = this.d;
    const step = await db.tx(async (tx): Promise<Step | undefined> => {
      const { round } = await lockRound(tx, plan.id, roundNo);
      if (round?.state !== 'unmasking') return round ? { state: round.state } : undefined;
      const responses = await listUnmaskResponses(tx, plan.id, roundNo);
      if (why === 'complete' && responses.length < phaseExpected(round)) return undefined;
      const n = await countContributions(tx, plan.id, roundNo);
      let problem: string | undefined;
      try {
        await unmaskCorrection(plan, round, await listAdvertisements(tx, plan.id, roundNo), responses, {
          checkOnly: true,
        });
      } catch (err) {
        problem = (err as Error).message;
      }
      const t = problem
        ? await this.failRound(tx, plan, roundNo, {
            reason: `the round cannot be unmasked: ${problem}`,
            contributions: n,
          })
        : await transitionRound(
            tx,
            plan.id,
            roundNo,
            { to: 'aggregating', why, contributions: n },
            COORDINATOR,
          );
      return { state: t.round.state, changed: t };
    });
    if (!step) return undefined;
    if (step.changed) {
      this.afterTransition(plan, step.changed);
      await this.d.hooks?.afterCommit?.(step.state === 'failed' ? 'failed' : 'closed', plan.id, roundNo);
    }
    if (why === 'complete')
      await this.d.jobs.remove({ kind: 'phase', planId: plan.id, round: roundNo, phase: 'unmasking' });
    // Aggregating: publish now (close() picks up a round already aggregating).
    if (step.state === 'aggregating') return this.close(plan.id, roundNo, 'quorum');
    await this.scheduleNext(plan.id);
    return step.state;
  }

  /** The vector to subtract from a secure round's masked sum, rebuilt from the stored responses. */
  private async correctionOf(plan: PlanRow, roundNo: number): Promise<Float64Array> {
    const { db } = this.d;
    const round = await getRound(db, plan.id, roundNo);
    if (!round) throw new RoundError('no_such_round', `round ${roundNo} of plan ${plan.id} does not exist`);
    const correction = await unmaskCorrection(
      plan,
      round,
      await listAdvertisements(db, plan.id, roundNo),
      await listUnmaskResponses(db, plan.id, roundNo),
    );
    if (!correction) throw new Error('unmaskCorrection returned no vector');
    return correction;
  }

  /**
   * Cancels a running plan: it ends as cancelled, and its round that still accepts updates fails.
   * A round already aggregating publishes; nothing opens after it.
   */
  async cancelPlan(planId: string, actor: string): Promise<{ plan: PlanRow; failedRounds: number[] }> {
    const { db, log } = this.d;
    const result = await db.tx(async (tx) => {
      // Lock order: the plan, then its rounds (lockRound), then the audit chain (inside the moves).
      const plan = await lockPlan(tx, planId);
      if (plan.state !== 'running')
        throw new RoundError('plan_finished', `plan ${planId} is already ${plan.state}`);
      // Rounds run one after another: only the latest can still accept updates.
      const latest = await latestRound(tx, planId);
      const { round } = latest ? await lockRound(tx, planId, latest.round) : { round: undefined };
      const rounds = round && isUnderway(round.state) ? [round] : [];
      const failedRounds = rounds.map((r) => r.round);
      const finished = await finishPlan(tx, planId, 'cancelled', actor, { failedRounds });
      for (const r of rounds) {
        const contributions = await countContributions(tx, planId, r.round);
        await transitionRound(
          tx,
          planId,
          r.round,
          { to: 'failed', reason: 'plan cancelled by the operator', contributions },
          actor,
        );
      }
      return { plan: finished, failedRounds };
    });
    for (const round of result.failedRounds) {
      await this.d.jobs.remove({ kind: 'deadline', planId, round });
      for (const phase of ['advertising', 'sharing', 'unmasking'] as const)
        await this.d.jobs.remove({ kind: 'phase', planId, round, phase });
      this.d.metrics?.roundTransition('failed');
    }
    log.warn({ plan: planId, actor, rounds: result.failedRounds, event: 'plan.cancelled' }, 'plan cancelled');
    return result;
  }

  /**
   * Fails a round, then asks the plan's strategy whether the plan goes on, in the same
   * transaction. The plan's own on_round_failure = stop ends it inside transitionRound already; a
   * strategy can stop a plan that would continue, never keep one going that was told to stop.
   */
  private async failRound(
    tx: Tx,
    plan: PlanRow,
    roundNo: number,
    failure: { reason: string; contributions: number },
  ): Promise<TransitionResult> {
    const t = await transitionRound(tx, plan.id, roundNo, { to: 'failed', ...failure }, COORDINATOR);
    if (t.planFinished || (await lockPlan(tx, plan.id)).state !== 'running') return t;
    let consecutiveFailures = 0;
    for (const r of (await listRounds(tx, plan.id)).reverse()) {
      if (r.round > roundNo) continue;
      if (r.state !== 'failed') break;
      consecutiveFailures++;
    }
    const action = planStrategy(plan).onRoundFailure({
      round: roundNo,
      contributions: failure.contributions,
      consecutiveFailures,
    });
    if (action !== 'stop') return t;
    await finishPlan(tx, plan.id, 'failed', COORDINATOR, {
      round: roundNo,
      stoppedBy: 'strategy',
      consecutiveFailures,
    });
    return { ...t, planFinished: 'failed' };
  }

  /** Folds the round's sum and publishes it, unless another closer did so first. */
  private async publish(plan: PlanRow, roundNo: number): Promise<RoundState> {
    const { db, sums, log } = this.d;
    const started = performance.now();
    const settled = await sums.settle(db, plan, roundNo);
    const { contributions } = settled;
    // Secure rounds: the masks come off the encrypted sum here, with a plaintext subtraction that
    // needs no key (ADR 0010); what is published is the encrypted exact sum.
    const chunks =
      plan.mode === 'secure'
        ? await unmaskSum(settled.chunks, await this.correctionOf(plan, roundNo), plan.he_params)
        : settled.chunks;
    const hash = createHash('sha256');
    for (const c of chunks) hash.update(c);
    const aggregateDigest = `sha256:${hash.digest('hex')}`;
    const outcome = await db.tx(async (tx): Promise<Step> => {
      const { round } = await lockRound(tx, plan.id, roundNo);
      if (!round) throw new RoundError('no_such_round', `round ${roundNo} of plan ${plan.id} does not exist`);
      if (round.state !== 'aggregating') return { state: round.state };
      await storeAggregate(tx, plan.id, roundNo, chunks);
      const t = await transitionRound(
        tx,
        plan.id,
        roundNo,
        { to: 'published', aggregateDigest, contributions },
        COORDINATOR,
      );
      return { state: t.round.state, changed: t };
    });
    sums.drop(plan.id, roundNo);
    if (outcome.changed) {
      const seconds = (performance.now() - started) / 1000;
      this.d.metrics?.aggregationSeconds(seconds);
      log.info(
        { plan: plan.id, round: roundNo, contributions, aggregateDigest, seconds, event: 'round.published' },
        'round published',
      );
      this.afterTransition(plan, outcome.changed);
      await this.d.hooks?.afterCommit?.('published', plan.id, roundNo);
    }
    return outcome.state;
  }

  /** Logs and counts a committed move. */
  private afterTransition(plan: PlanRow, t: TransitionResult): void {
    const { log } = this.d;
    const { round } = t;
    this.d.metrics?.roundTransition(round.state);
    if (round.state === 'failed') {
      log.warn(
        { plan: plan.id, round: round.round, event: 'round.failed', reason: round.failure_reason },
        'round failed',
      );
    }
    if (t.planFinished) {
      log.info(
        { plan: plan.id, round: round.round, event: `plan.${t.planFinished}` },
        `plan ${t.planFinished}`,
      );
    }
  }

  /** Signs the round certificate (once): also after a crash between publishing and certifying. */
  private async certify(plan: PlanRow, roundNo: number): Promise<void> {
    const round = await getRound(this.d.db, plan.id, roundNo);
    if (round?.state === 'published' && round.aggregate_digest && this.d.signer) {
      await this.d.signer.certify(plan, round, round.aggregate_digest);
    }
  }

  /** Queues what the plan needs next (the reconciler restores the same list after a loss). */
  private async scheduleNext(planId: string): Promise<void> {
    for (const job of await requiredJobs(this.d.db, planId)) await this.d.jobs.add(job);
  }
}

/** The round, which must be in `phase` (a key-exchange step out of its phase is refused). */
function inPhase(round: RoundRow | undefined, phase: SecurePhaseState, roundNo: number): RoundRow {
  if (!round) throw new RoundError('no_such_round', `round ${roundNo} does not exist`);
  if (round.state !== phase) {
    throw new RoundError(
      'wrong_phase',
      `round ${roundNo} is ${round.state}; this step is taken only while it is ${phase}`,
    );
  }
  return round;
}

/** Refuses a submission to a round that no longer accepts updates. */
export function assertAccepting(round: RoundRow, now = Date.now()): void {
  if (!isAccepting(round.state)) {
    throw new RoundError(
      'round_closed',
      `round ${round.round} is ${round.state}; submissions are accepted only while it is open`,
    );
  }
  if (round.deadline_at.getTime() < now) {
    throw new RoundError(
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
