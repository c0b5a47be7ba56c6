import { clip } from '@kpfl/common';
import {
  capabilitiesOf,
  createChallenge,
  ID_PATTERN,
  type IdentityKey,
  issueSessionToken,
  type SessionClaims,
  unverifiedSessionClaims,
  verifyChallengeResponse,
} from '@kpfl/kpt';
import type { AggregatorHandlers, Task } from '@kpfl/proto';
import {
  activePlan,
  appendAudit,
  type Db,
  getAdvertisement,
  getCertificate,
  getMember,
  getModelDigest,
  getRound,
  hasContribution,
  hasShared,
  inSnapshot,
  isAccepting,
  isFinished,
  isSecurePhase,
  latestRound,
  listRounds,
  listUnmaskResponses,
  loadAggregate,
  type PlanRow,
  putEvaluation,
  type Queryable,
  type RoundRow,
  touchMember,
} from '@kpfl/store';
import type { Redis } from 'ioredis';
import type { Certificates } from './certificates.js';
import { RpcError } from './errors.js';
import { createKeyHandlers } from './key-service.js';
import type { InflightBudget, SessionRateLimiter, StreamSlots } from './limits.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import { planStrategy } from './plan-strategy.js';
import type { RoundEngine } from './round-engine.js';
import type { RpcKit } from './rpc.js';
import { createSecureHandlers } from './secure-service.js';
import { submitUpdate } from './submission.js';

export interface ServiceDeps {
  federation: string;
  /** Audience of session tokens and challenges: this aggregator's identity. */
  audience: string;
  issuer: string;
  coordinatorKey: IdentityKey;
  db: Db;
  redis: Redis;
  engine: RoundEngine;
  certificates: Certificates;
  log: Logger;
  metrics: Metrics;
  sessionTtlSeconds: number;
  redisPrefix: string;
  /** How every call is checked, refused and audited; its authorizer binds tokens to TLS identities. */
  rpc: RpcKit;
  sessions: SessionRateLimiter;
  slots: StreamSlots;
  budget: InflightBudget;
}

/** How often members poll while a secure round is under way (ms). */
const SECURE_POLL_MS = 200;

/** What GetChallenge hands out: 32 random bytes, base64url. Anything else is no nonce of ours. */
const NONCE_PATTERN = /^[A-Za-z0-9_-]{43}$/;
/** A challenge response is a compact JWS of a few hundred characters. */
export const MAX_CHALLENGE_RESPONSE_CHARS = 4096;

/** A member id from a request, checked against the id pattern before it is used or echoed. */
function requestedMember(value: string): string {
  if (ID_PATTERN.test(value)) return value;
  throw new RpcError(
    'INVALID_ARGUMENT',
    'bad_member_id',
    value === ''
      ? 'member_id is empty: send the member id of your kit'
      : `member_id "${clip(value, 64)}" is not a member id (letters, digits, ".", "_" and "-", starting with a letter or digit, at most 64 characters)`,
  );
}

/** A round number from a request: rounds are numbered from 1. */
function requestedRound(round: number): number {
  if (Number.isSafeInteger(round) && round >= 1) return round;
  throw new RpcError(
    'INVALID_ARGUMENT',
    'bad_round',
    `round ${round} does not exist: rounds are numbered from 1`,
  );
}

export function createHandlers(d: ServiceDeps): AggregatorHandlers {
  const { db, log, rpc } = d;
  const { authorize } = rpc;
  const nonceKey = (nonce: string) => `${d.redisPrefix}:nonce:${nonce}`;

  /**
   * With mutual TLS, who asks is the member of the client certificate: challenges are issued to it
   * and sessions to it alone, so that no member can ask for, answer or burn another member's nonce.
   */
  function assertOwnIdentity(call: Parameters<RpcKit['peer']>[0], memberId: string, what: string): void {
    const cn = rpc.peer(call);
    if (cn !== undefined && cn !== memberId) {
      throw new RpcError(
        'PERMISSION_DENIED',
        'certificate_mismatch',
        `${what} for ${memberId} over the TLS client certificate of ${cn}: a member asks only for itself, over its own certificate`,
      );
    }
  }

  async function currentPlan(): Promise<PlanRow> {
    const plan = await activePlan(db, d.federation);
    if (!plan)
      throw new RpcError(
        'FAILED_PRECONDITION',
        'no_plan',
        'no plan is scheduled yet; ask the operator to run `kpfl rounds schedule`',
      );
    return plan;
  }

  return {
    ...createKeyHandlers({ federation: d.federation, db, log, rpc }),
    ...createSecureHandlers({ federation: d.federation, db, log, rpc, engine: d.engine }),

    GetChallenge: rpc.unary('GetChallenge', async (call, req) => {
      const memberId = requestedMember(req.memberId);
      assertOwnIdentity(call, memberId, 'a challenge');
      const member = await getMember(db, d.federation, memberId);
      if (!member)
        throw new RpcError(
          'UNAUTHENTICATED',
          'unknown_member',
          `"${memberId}" is not a member of ${d.federation}`,
        );
      if (member.status !== 'active')
        throw new RpcError('PERMISSION_DENIED', 'revoked', `member ${memberId} is revoked`);
      const { nonce, expiresAt } = createChallenge();
      // Keyed by the nonce, valued with the member it was issued to (the certificate's, with mTLS).
      await d.redis.set(nonceKey(nonce), memberId, 'PXAT', expiresAt);
      return { nonce, expiresAtMs: expiresAt, audience: d.audience };
    }),

    Authenticate: rpc.unary('Authenticate', async (call, req) => {
      const { nonce, signedChallenge } = req;
      const memberId = requestedMember(req.memberId);
      assertOwnIdentity(call, memberId, 'a session');
      const badNonce = () =>
        new RpcError(
          'UNAUTHENTICATED',
          'bad_nonce',
          'challenge nonce unknown, expired or already used; ask for a new one',
        );
      if (!NONCE_PATTERN.test(nonce)) throw badNonce();
      if (signedChallenge.length > MAX_CHALLENGE_RESPONSE_CHARS) {
        throw new RpcError(
          'INVALID_ARGUMENT',
          'bad_challenge_response',
          `signed_challenge is ${signedChallenge.length} characters; a challenge response is a compact JWS of at most ${MAX_CHALLENGE_RESPONSE_CHARS}`,
        );
      }
      await d.sessions.take(memberId);
      const key = nonceKey(nonce);
      if ((await d.redis.get(key)) !== memberId) throw badNonce();
      const member = await getMember(db, d.federation, memberId);
      if (member?.status !== 'active')
        throw new RpcError('PERMISSION_DENIED', 'revoked', `member ${memberId} is not active`);
      // A wrong answer leaves the nonce where it is (it expires with its challenge): only a response
      // signed with the member's key spends it. DEL is atomic across front ends: of two correct
      // answers raced on one nonce, exactly one deletes it and gets a session (ADR 0005).
      await verifyChallengeResponse(signedChallenge, member.public_jwk, {
        nonce,
        subject: memberId,
        audience: d.audience,
      });
      if ((await d.redis.del(key)) !== 1) throw badNonce();
      const plan = await activePlan(db, d.federation);
      const current = plan ? await latestRound(db, plan.id) : undefined;
      // A token names the round (and its parties) when the member is sampled for an open one:
      // only such a token can submit to that round.
      const inRound =
        current && isAccepting(current.state) && current.sampled.includes(memberId) ? current : undefined;
      const ttl = d.sessionTtlSeconds;
      const token = await issueSessionToken(d.coordinatorKey, {
        issuer: d.issuer,
        audience: d.audience,
        subject: memberId,
        ttlSeconds: ttl,
        kpfl: {
          federation: d.federation,
          roles: member.roles as SessionClaims['kpfl']['roles'],
          capabilities: capabilitiesOf(member.roles),
          round: inRound?.round,
          parties: inRound?.sampled,
          modelVersion: inRound?.base_model_digest ?? plan?.id,
          quotas: { maxSubmissionsPerRound: 1 },
        },
      });
      await touchMember(db, d.federation, memberId);
      const issued = unverifiedSessionClaims(token);
      // The token itself is never logged or stored: only its id and what it grants.
      await appendAudit(db, {
        federation: d.federation,
        event: 'token.issued',
        member: memberId,
        actor: 'coordinator',
        data: {
          jti: issued?.jti,
          roles: issued?.kpfl.roles,
          capabilities: issued?.kpfl.capabilities,
          exp: issued?.exp,
        },
      });
      log.info({ member: memberId, event: 'session.issued' }, 'session token issued');
      return { sessionToken: token, expiresAtMs: Date.now() + ttl * 1000 };
    }),

    GetTask: rpc.unary('GetTask', async (call, req) => {
      const claims = await authorize(call, 'task:read');
      await touchMember(db, d.federation, claims.sub);
      return buildTask(claims.sub, req.appliedRound);
    }),

    DownloadAggregate: rpc.serverStream('DownloadAggregate', async (call, req, send) => {
      await authorize(call, 'model:download');
      const roundNo = requestedRound(req.round);
      const plan = await currentPlan();
      const round = await getRound(db, plan.id, roundNo);
      if (round?.state !== 'published') {
        throw new RpcError(
          'FAILED_PRECONDITION',
          'not_published',
          `round ${roundNo} has no published aggregate (state: ${round?.state ?? 'none'})`,
        );
      }
      const chunks = await loadAggregate(db, plan.id, round.round);
      for (let i = 0; i < chunks.length; i++) {
        await send({
          round: round.round,
          index: i,
          chunkCount: chunks.length,
          data: chunks[i],
          aggregateDigest: i === 0 ? (round.aggregate_digest ?? '') : '',
          contributions: round.contributions,
          keyEpoch: i === 0 ? (round.key_epoch ?? 0) : 0,
        });
      }
    }),

    SubmitUpdate: rpc.clientStream(
      'SubmitUpdate',
      (call, ctx) =>
        submitUpdate(
          {
            federation: d.federation,
            db,
            redis: d.redis,
            redisPrefix: d.redisPrefix,
            engine: d.engine,
            coordinatorKey: d.coordinatorKey,
            authorize,
            slots: d.slots,
            budget: d.budget,
            metrics: d.metrics,
            log,
            currentPlan,
          },
          call,
          ctx,
        ),
      { onRefused: (e) => d.metrics.submission('refused', e.reason) },
    ),

    ReportEvaluation: rpc.unary('ReportEvaluation', async (call) => {
      const claims = await authorize(call, 'evaluation:report');
      const plan = await currentPlan();
      const r = call.request;
      if (!/^sha256:[0-9a-f]{64}$/.test(r.globalModelDigest)) {
        throw new RpcError(
          'INVALID_ARGUMENT',
          'bad_digest',
          'global_model_digest must look like sha256:<64 hex>',
        );
      }
      if (!(r.accuracy >= 0 && r.accuracy <= 1) || !Number.isFinite(r.loss) || r.examples < 0) {
        throw new RpcError(
          'INVALID_ARGUMENT',
          'bad_metrics',
          'accuracy must be in [0,1], loss finite, examples >= 0',
        );
      }
      const evaluated = r.round > 0 ? await getRound(db, plan.id, r.round) : undefined;
      if (r.round < 0 || (r.round > 0 && !(evaluated && isFinished(evaluated.state)))) {
        throw new RpcError(
          'INVALID_ARGUMENT',
          'bad_round',
          `round ${r.round} is not published; evaluate only published rounds`,
        );
      }
      // A report never decides the digest (ADR 0007): the plan does for round 0, a majority of the
      // round's contributors, in their countersignatures, for every later one.
      const expected = await getModelDigest(db, plan.id, r.round);
      const agrees = expected === r.globalModelDigest;
      await putEvaluation(db, {
        plan_id: plan.id,
        round: r.round,
        member: claims.sub,
        model_digest: r.globalModelDigest,
        accuracy: r.accuracy,
        loss: r.loss,
        examples: r.examples,
      });
      if (expected !== undefined && !agrees)
        log.warn(
          { member: claims.sub, round: r.round, expected, got: r.globalModelDigest },
          'global model digest disagrees',
        );
      log.info(
        { member: claims.sub, round: r.round, accuracy: r.accuracy, loss: r.loss, event: 'evaluation' },
        'evaluation reported',
      );
      return { digestAgrees: agrees, expectedDigest: expected ?? '', pending: expected === undefined };
    }),

    GetRoundCertificate: rpc.unary('GetRoundCertificate', async (call, req) => {
      await authorize(call, 'model:download');
      const roundNo = requestedRound(req.round);
      const plan = await currentPlan();
      const cert = await getCertificate(db, plan.id, roundNo);
      if (!cert) throw new RpcError('NOT_FOUND', 'no_certificate', `round ${roundNo} has no certificate yet`);
      return {
        round: roundNo,
        certificateJson: JSON.stringify(cert.certificate),
        signers: cert.signers,
      };
    }),

    CountersignRoundCertificate: rpc.unary('CountersignRoundCertificate', async (call, req) => {
      const claims = await authorize(call, 'certificate:sign');
      const roundNo = requestedRound(req.round);
      const plan = await currentPlan();
      return d.certificates.countersign(plan, roundNo, claims.sub, req.certificateJson);
    }),
  };

  /**
   * The task for `member`, read from one snapshot: a round rejected between two reads must not show as
   * not failed in one and with its carried-over digest in the other (the member would take that digest
   * for the contributors' agreement).
   */
  function buildTask(member: string, appliedRound: number): Promise<Task> {
    return inSnapshot(db, (q) => taskFrom(q, member, appliedRound));
  }

  async function taskFrom(q: Queryable, member: string, appliedRound: number): Promise<Task> {
    const plan = await activePlan(q, d.federation);
    if (!plan) return { kind: 'TASK_KIND_WAIT', federation: d.federation, retryAfterMs: 1000 };
    const rounds = await listRounds(q, plan.id);
    // The latest finished round with every earlier round finished too: participants apply them in order.
    let latestDone = 0;
    for (const r of rounds) if (r.round === latestDone + 1 && isFinished(r.state)) latestDone = r.round;
    const current = rounds.at(-1);
    const base: Task = {
      federation: d.federation,
      planId: plan.id,
      latestPublishedRound: latestDone,
      failedRounds: rounds.filter((r) => r.state === 'failed' && r.round <= latestDone).map((r) => r.round),
      totalRounds: plan.total_rounds,
      mode: plan.mode,
      heParams: plan.he_params,
      chunkCount: plan.chunk_count,
      slotCount: plan.slot_count,
      parameterCount: plan.parameter_count,
      seed: plan.seed,
      // The strategy shapes what the round's participants train with (fedprox: its mu).
      training: planStrategy(plan).configureRound({
        round: current && !isFinished(current.state) ? current.round : latestDone + 1,
        training: {
          model: plan.model,
          localEpochs: plan.training.localEpochs,
          batchSize: plan.training.batchSize,
          learningRate: plan.training.learningRate,
          proxMu: plan.training.proxMu,
          serverOptimizer: plan.training.serverOptimizer,
          maxExamples: plan.training.maxExamples,
        },
      }),
      // A secure round waits for every member's poll at each of its key-exchange phases: a shorter
      // poll while one runs keeps the phases from costing half a second each.
      retryAfterMs: plan.mode === 'secure' && current && !isFinished(current.state) ? SECURE_POLL_MS : 500,
      maxUpdateNorm: plan.max_update_norm,
      initialModelDigest: plan.initial_model_digest ?? '',
      nextModelDigest:
        appliedRound >= 0 && appliedRound < latestDone
          ? ((await getModelDigest(q, plan.id, appliedRound + 1)) ?? '')
          : '',
    };
    const step = current && plan.mode === 'secure' ? await secureStepOf(q, plan, current, member) : undefined;
    if (step) {
      return {
        ...base,
        kind: 'TASK_KIND_SECURE_STEP',
        round: current!.round,
        parties: current!.sampled,
        keyEpoch: current!.key_epoch ?? 0,
        securePhase: step,
        phaseDeadlineMs: current!.phase_deadline_at?.getTime() ?? 0,
      };
    }
    if (
      current &&
      isAccepting(current.state) &&
      current.sampled.includes(member) &&
      (plan.mode !== 'secure' || current.shared?.includes(member)) &&
      current.deadline_at.getTime() > Date.now() &&
      !(await hasContribution(q, plan.id, current.round, member))
    ) {
      const baseDigest =
        current.base_model_digest ?? (await getModelDigest(q, plan.id, current.round - 1)) ?? '';
      return {
        ...base,
        kind: 'TASK_KIND_TRAIN',
        round: current.round,
        baseModelDigest: baseDigest,
        deadlineMs: current.deadline_at.getTime(),
        parties: current.sampled,
        keyEpoch: current.key_epoch ?? 0,
        securePhase: plan.mode === 'secure' ? 'submit' : '',
      };
    }
    if (plan.state !== 'running' && appliedRound >= latestDone) return { ...base, kind: 'TASK_KIND_DONE' };
    return { ...base, kind: appliedRound < latestDone ? 'TASK_KIND_SYNC' : 'TASK_KIND_WAIT' };
  }
}

/**
 * The key-exchange step `member` still has to take in a secure round, if any: advertise while
 * advertising (if sampled), share while sharing (if it advertised), respond while unmasking (if it
 * survived). A step it took already, or a phase past its deadline, is no task.
 */
async function secureStepOf(
  q: Queryable,
  plan: PlanRow,
  round: RoundRow,
  member: string,
): Promise<'advertise' | 'share' | 'unmask' | undefined> {
  if (!isSecurePhase(round.state) || (round.phase_deadline_at?.getTime() ?? 0) <= Date.now())
    return undefined;
  if (round.state === 'advertising')
    return round.sampled.includes(member) && !(await getAdvertisement(q, plan.id, round.round, member))
      ? 'advertise'
      : undefined;
  if (round.state === 'sharing')
    return round.advertised?.includes(member) && !(await hasShared(q, plan.id, round.round, member))
      ? 'share'
      : undefined;
  const responded = (await listUnmaskResponses(q, plan.id, round.round)).some((r) => r.member === member);
  return round.survivors?.includes(member) && !responded ? 'unmask' : undefined;
}
