import { createHash } from 'node:crypto';
import type * as grpc from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import {
  capabilitiesOf,
  createChallenge,
  digestOf,
  type IdentityKey,
  issueSessionToken,
  type SessionClaims,
  signReceipt,
  type TokenVerifier,
  unverifiedClaims,
  unverifiedSessionClaims,
  verifyAttestation,
  verifyChallengeResponse,
} from '@kpfl/kpt';
import type { AggregatorHandlers, SubmitUpdateMessage__Output, Task } from '@kpfl/proto';
import {
  activePlan,
  appendAudit,
  type Db,
  getCertificate,
  getMember,
  getModelDigest,
  getRound,
  hasContribution,
  isAccepting,
  isFinished,
  latestRound,
  listRounds,
  loadAggregate,
  type PlanRow,
  putEvaluation,
  touchMember,
} from '@kpfl/store';
import type { Redis } from 'ioredis';
import { createAuthorizer } from './auth.js';
import type { Certificates } from './certificates.js';
import { RpcError, toServiceError } from './errors.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import { assertAccepting, type RoundEngine } from './round-engine.js';

export interface ServiceDeps {
  federation: string;
  /** Audience of session tokens and challenges: this aggregator's identity. */
  audience: string;
  issuer: string;
  coordinatorKey: IdentityKey;
  verifier: TokenVerifier;
  db: Db;
  redis: Redis;
  engine: RoundEngine;
  certificates: Certificates;
  log: Logger;
  metrics: Metrics;
  sessionTtlSeconds: number;
  /** When true (mutual TLS), a token's subject must equal the client certificate's CN. */
  bindToCertificate: boolean;
  redisPrefix: string;
}

const MAX_CHUNK_BYTES = 4 * 1024 * 1024;

interface SubmitContext {
  planId?: string;
  round?: number;
  attestationDigest?: string;
  updateDigest?: string;
  bytes?: number;
}

const grpcStatusName = (code: number) => grpcStatusNames[code] ?? String(code);
const grpcStatusNames = Object.fromEntries(Object.entries(status).map(([k, v]) => [v, k])) as Record<
  number,
  string
>;

export function createHandlers(d: ServiceDeps): AggregatorHandlers {
  const { db, log } = d;

  /** Who made a call, once known: the token's subject, or the member id a challenge names. */
  const callers = new WeakMap<object, string>();
  const authorize = createAuthorizer({
    verifier: d.verifier,
    federation: d.federation,
    bindToCertificate: d.bindToCertificate,
    onCaller: (call, sub) => callers.set(call, sub),
  });

  /** One audit row per refusal; an audit failure is logged, never returned in place of the refusal. */
  function auditRefusal(
    rpc: string,
    call: object,
    e: { code: number; reason: string; details: string },
    extra?: {
      planId?: string;
      round?: number;
      data?: Record<string, unknown>;
    },
  ) {
    if (e.reason === 'internal') return;
    const member = callers.get(call);
    appendAudit(db, {
      federation: d.federation,
      event: extra?.round !== undefined ? 'contribution.refused' : 'rpc.refused',
      planId: extra?.planId,
      round: extra?.round,
      member,
      actor: member ?? 'anonymous',
      data: { rpc, code: grpcStatusName(e.code), reason: e.reason, details: e.details, ...extra?.data },
    }).catch((err) =>
      log.error({ rpc, err: (err as Error).message }, 'could not append the refusal to the audit log'),
    );
  }

  function unary<Req, Res>(name: string, fn: (call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res>) {
    return (call: grpc.ServerUnaryCall<Req, Res>, callback: grpc.sendUnaryData<Res>) => {
      fn(call).then(
        (res) => callback(null, res),
        (err) => {
          const e = toServiceError(err);
          log.warn({ rpc: name, member: callers.get(call), reason: e.reason, err: e.details }, 'rpc refused');
          if (e.reason === 'internal') log.error({ rpc: name, err: (err as Error)?.stack }, 'rpc failed');
          auditRefusal(name, call, e);
          callback({ code: e.code, details: e.details });
        },
      );
    };
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
    GetChallenge: unary('GetChallenge', async (call) => {
      const memberId = call.request.memberId;
      const member = memberId ? await getMember(db, d.federation, memberId) : undefined;
      if (!member)
        throw new RpcError(
          'UNAUTHENTICATED',
          'unknown_member',
          `"${memberId}" is not a member of ${d.federation}`,
        );
      if (member.status !== 'active')
        throw new RpcError('PERMISSION_DENIED', 'revoked', `member ${memberId} is revoked`);
      const { nonce, expiresAt } = createChallenge();
      await d.redis.set(`${d.redisPrefix}:nonce:${nonce}`, memberId, 'PXAT', expiresAt);
      return { nonce, expiresAtMs: expiresAt, audience: d.audience };
    }),

    Authenticate: unary('Authenticate', async (call) => {
      const { memberId, nonce, signedChallenge } = call.request;
      // GETDEL makes the nonce single-use even across several front ends.
      const owner = await d.redis.getdel(`${d.redisPrefix}:nonce:${nonce}`);
      if (owner !== memberId)
        throw new RpcError(
          'UNAUTHENTICATED',
          'bad_nonce',
          'challenge nonce unknown, expired or already used; ask for a new one',
        );
      const member = await getMember(db, d.federation, memberId);
      if (member?.status !== 'active')
        throw new RpcError('PERMISSION_DENIED', 'revoked', `member ${memberId} is not active`);
      await verifyChallengeResponse(signedChallenge, member.public_jwk, {
        nonce,
        subject: memberId,
        audience: d.audience,
      });
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

    GetTask: unary('GetTask', async (call) => {
      const claims = await authorize(call, 'task:read');
      await touchMember(db, d.federation, claims.sub);
      return buildTask(claims.sub, call.request.appliedRound);
    }),

    DownloadAggregate: (call) => {
      (async () => {
        await authorize(call, 'model:download');
        const plan = await currentPlan();
        const round = await getRound(db, plan.id, call.request.round);
        if (round?.state !== 'published') {
          throw new RpcError(
            'FAILED_PRECONDITION',
            'not_published',
            `round ${call.request.round} has no published aggregate (state: ${round?.state ?? 'none'})`,
          );
        }
        const chunks = await loadAggregate(db, plan.id, round.round);
        for (let i = 0; i < chunks.length; i++) {
          const ok = call.write({
            round: round.round,
            index: i,
            chunkCount: chunks.length,
            data: chunks[i],
            aggregateDigest: i === 0 ? (round.aggregate_digest ?? '') : '',
            contributions: round.contributions,
          });
          if (!ok) await new Promise((r) => call.once('drain', r));
        }
        call.end();
      })().catch((err) => {
        const e = toServiceError(err);
        log.warn({ rpc: 'DownloadAggregate', reason: e.reason, err: e.details }, 'rpc refused');
        call.destroy(Object.assign(new Error(e.details), { code: e.code, details: e.details }));
      });
    },

    SubmitUpdate: (call, callback) => {
      const ctx: SubmitContext = {};
      submit(call, ctx).then(
        (receipt) => callback(null, receipt),
        (err) => {
          const e = toServiceError(err);
          d.metrics.submission('refused', e.reason);
          log.warn(
            {
              rpc: 'SubmitUpdate',
              member: callers.get(call),
              plan: ctx.planId,
              round: ctx.round,
              reason: e.reason,
              err: e.details,
            },
            'submission refused',
          );
          if (e.reason === 'internal') log.error({ err: (err as Error)?.stack }, 'submission failed');
          auditRefusal('SubmitUpdate', call, e, {
            planId: ctx.planId,
            round: ctx.round,
            data: {
              attestationDigest: ctx.attestationDigest,
              updateDigest: ctx.updateDigest,
              bytes: ctx.bytes,
            },
          });
          callback({ code: e.code, details: e.details });
        },
      );
    },

    ReportEvaluation: unary('ReportEvaluation', async (call) => {
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

    GetRoundCertificate: unary('GetRoundCertificate', async (call) => {
      await authorize(call, 'model:download');
      const plan = await currentPlan();
      const cert = await getCertificate(db, plan.id, call.request.round);
      if (!cert)
        throw new RpcError(
          'NOT_FOUND',
          'no_certificate',
          `round ${call.request.round} has no certificate yet`,
        );
      return {
        round: call.request.round,
        certificateJson: JSON.stringify(cert.certificate),
        signers: cert.signers,
      };
    }),

    CountersignRoundCertificate: unary('CountersignRoundCertificate', async (call) => {
      const claims = await authorize(call, 'certificate:sign');
      const plan = await currentPlan();
      return d.certificates.countersign(plan, call.request.round, claims.sub, call.request.certificateJson);
    }),
  };

  async function buildTask(member: string, appliedRound: number): Promise<Task> {
    const plan = await activePlan(db, d.federation);
    if (!plan) return { kind: 'TASK_KIND_WAIT', federation: d.federation, retryAfterMs: 1000 };
    const rounds = await listRounds(db, plan.id);
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
      training: {
        model: plan.model,
        localEpochs: plan.training.localEpochs,
        batchSize: plan.training.batchSize,
        learningRate: plan.training.learningRate,
        proxMu: plan.training.proxMu,
        serverOptimizer: plan.training.serverOptimizer,
        maxExamples: plan.training.maxExamples,
      },
      retryAfterMs: 500,
      maxUpdateNorm: plan.max_update_norm,
      initialModelDigest: plan.initial_model_digest ?? '',
      nextModelDigest:
        appliedRound >= 0 && appliedRound < latestDone
          ? ((await getModelDigest(db, plan.id, appliedRound + 1)) ?? '')
          : '',
    };
    if (
      current &&
      isAccepting(current.state) &&
      current.sampled.includes(member) &&
      current.deadline_at.getTime() > Date.now() &&
      !(await hasContribution(db, plan.id, current.round, member))
    ) {
      const baseDigest =
        current.base_model_digest ?? (await getModelDigest(db, plan.id, current.round - 1)) ?? '';
      return {
        ...base,
        kind: 'TASK_KIND_TRAIN',
        round: current.round,
        baseModelDigest: baseDigest,
        deadlineMs: current.deadline_at.getTime(),
        parties: current.sampled,
      };
    }
    if (plan.state !== 'running' && appliedRound >= latestDone) return { ...base, kind: 'TASK_KIND_DONE' };
    return { ...base, kind: appliedRound < latestDone ? 'TASK_KIND_SYNC' : 'TASK_KIND_WAIT' };
  }

  async function submit(
    call: grpc.ServerReadableStream<SubmitUpdateMessage__Output, unknown>,
    ctx: SubmitContext,
  ) {
    const claims = await authorize(call, 'submit:round');
    const member = claims.sub;
    const plan = await currentPlan();
    ctx.planId = plan.id;
    const received: Uint8Array[] = [];
    const hash = createHash('sha256');
    let header: SubmitUpdateMessage__Output['header'] | undefined;
    let bytes = 0;
    for await (const msg of call as AsyncIterable<SubmitUpdateMessage__Output>) {
      if (msg.header) {
        if (header) throw new RpcError('INVALID_ARGUMENT', 'bad_stream', 'the stream carries two headers');
        header = msg.header;
        ctx.round = header.round;
        if (header.chunkCount !== plan.chunk_count) {
          throw new RpcError(
            'INVALID_ARGUMENT',
            'chunk_count',
            `the update has ${header.chunkCount} chunks; this plan's model needs exactly ${plan.chunk_count}`,
          );
        }
        const round = await getRound(db, plan.id, header.round);
        if (!round) throw new RpcError('NOT_FOUND', 'no_such_round', `round ${header.round} does not exist`);
        assertAccepting(round);
        if (!round.sampled.includes(member)) {
          throw new RpcError(
            'PERMISSION_DENIED',
            'not_sampled',
            `${member} is not among the participants sampled for round ${round.round}`,
          );
        }
        if (claims.kpfl.round !== header.round) {
          throw new RpcError(
            'PERMISSION_DENIED',
            'token_round',
            `the session token names ${claims.kpfl.round === undefined ? 'no round' : `round ${claims.kpfl.round}`}, the update is for round ${header.round}: authenticate again to get a token for this round`,
          );
        }
        // A session token submits once: its jti is spent here (across front ends, until the token
        // expires), so a captured submission cannot be replayed even within the token's lifetime.
        const fresh = await d.redis.set(
          `${d.redisPrefix}:jti:${claims.jti}`,
          member,
          'EXAT',
          claims.exp + 60,
          'NX',
        );
        if (fresh !== 'OK') {
          throw new RpcError(
            'UNAUTHENTICATED',
            'replayed',
            `session token ${claims.jti} was already used for a submission: authenticate again before each submission`,
          );
        }
        continue;
      }
      if (!header)
        throw new RpcError('INVALID_ARGUMENT', 'bad_stream', 'the first message must be the header');
      const chunk = msg.chunk;
      if (!chunk || chunk.index !== received.length) {
        throw new RpcError(
          'INVALID_ARGUMENT',
          'chunk_order',
          `expected chunk ${received.length}, got ${chunk?.index ?? 'none'}`,
        );
      }
      if (received.length >= header.chunkCount) {
        throw new RpcError(
          'INVALID_ARGUMENT',
          'chunk_count',
          `more chunks than the ${header.chunkCount} announced`,
        );
      }
      const data = new Uint8Array(chunk.data);
      if (data.byteLength === 0 || data.byteLength > MAX_CHUNK_BYTES) {
        throw new RpcError(
          'INVALID_ARGUMENT',
          'chunk_size',
          `chunk ${chunk.index} has ${data.byteLength} bytes`,
        );
      }
      hash.update(data);
      bytes += data.byteLength;
      received.push(data);
    }
    if (!header)
      throw new RpcError('INVALID_ARGUMENT', 'bad_stream', 'empty stream: send a header, then the chunks');
    if (received.length !== header.chunkCount) {
      throw new RpcError(
        'INVALID_ARGUMENT',
        'truncated',
        `stream ended after ${received.length} of ${header.chunkCount} chunks`,
      );
    }
    d.metrics.received(bytes);
    const updateDigest = `sha256:${hash.digest('hex')}`;
    ctx.updateDigest = updateDigest;
    ctx.bytes = bytes;
    ctx.attestationDigest = digestOf(header.attestation);
    const memberRow = await getMember(db, d.federation, member);
    if (!memberRow) throw new RpcError('PERMISSION_DENIED', 'unknown_member', `${member} is not a member`);
    // Another member's attestation (e.g. a captured one) is an impersonation, not a malformed request:
    // refuse it as such before its signature is checked against the session member's key.
    const claimedIss = unverifiedClaims(header.attestation)?.iss;
    if (typeof claimedIss === 'string' && claimedIss !== member) {
      throw new RpcError(
        'PERMISSION_DENIED',
        'attestation_subject',
        `attestation is signed for ${claimedIss}, but the session is ${member}`,
      );
    }
    const att = await verifyAttestation(header.attestation, memberRow.public_jwk);
    const round = await getRound(db, plan.id, header.round);
    const expectDigest = round?.base_model_digest ?? (await getModelDigest(db, plan.id, header.round - 1));
    const mismatch = (
      what: string,
      reason: string,
      code: 'INVALID_ARGUMENT' | 'FAILED_PRECONDITION' | 'PERMISSION_DENIED' = 'INVALID_ARGUMENT',
    ) => {
      throw new RpcError(code, reason, what);
    };
    if (att.iss !== member)
      mismatch(
        `attestation is signed for ${att.iss}, but the session is ${member}`,
        'attestation_subject',
        'PERMISSION_DENIED',
      );
    if (att.federation !== d.federation)
      mismatch(`attestation names federation ${att.federation}`, 'attestation_federation');
    if (att.round !== header.round)
      mismatch(`attestation names round ${att.round}, the stream round ${header.round}`, 'attestation_round');
    if (att.updateDigest !== updateDigest)
      mismatch(
        `the received bytes hash to ${updateDigest}, the attestation names ${att.updateDigest}`,
        'update_digest',
      );
    if (att.chunkCount !== header.chunkCount)
      mismatch('attestation chunk count differs from the stream', 'attestation_chunks');
    if (att.mode !== plan.mode) mismatch(`update is in ${att.mode} mode, the plan runs ${plan.mode}`, 'mode');
    if (!expectDigest)
      mismatch(
        `round ${header.round} has no agreed base model yet; report the evaluation of round ${header.round - 1} first`,
        'no_base_digest',
        'FAILED_PRECONDITION',
      );
    if (att.baseModelDigest !== expectDigest) {
      mismatch(
        `the update was trained from ${att.baseModelDigest}, round ${header.round} starts from ${expectDigest}; resync the global model`,
        'base_model_digest',
        'FAILED_PRECONDITION',
      );
    }
    if (!Number.isInteger(att.exampleCount) || att.exampleCount <= 0)
      mismatch('example count must be a positive integer', 'example_count');
    const attestationDigest = digestOf(header.attestation);
    const receipt = await signReceipt(d.coordinatorKey, {
      federation: d.federation,
      round: header.round,
      member,
      attestationDigest,
      receivedAt: new Date().toISOString(),
      status: 'accepted',
    });
    const result = await d.engine.accept(plan, {
      planId: plan.id,
      round: header.round,
      member,
      attestation: header.attestation,
      attestationDigest,
      updateDigest,
      baseModelDigest: att.baseModelDigest,
      exampleCount: att.exampleCount,
      chunks: received,
      bytes,
      receipt,
    });
    d.metrics.submission('accepted');
    log.info(
      {
        plan: plan.id,
        round: header.round,
        member,
        bytes,
        accepted: result.accepted,
        quorum: result.quorum,
        event: 'contribution.accepted',
      },
      'contribution accepted',
    );
    return {
      accepted: true,
      attestationDigest,
      receiptJws: receipt,
      acceptedInRound: result.accepted,
      quorum: result.quorum,
    };
  }
}
