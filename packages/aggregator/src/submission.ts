/**
 * SubmitUpdate, message by message. Everything the header can tell is checked on the header, before
 * the token is spent and before a single chunk is read: the round (open, sampled, the token's), the
 * chunk count, the attestation (signature, member, federation, round, mode, base model, example
 * count). Then the stream reserves the most its plan's update can take from the in-flight budget,
 * and each chunk is checked as it arrives (order, count, size, a valid ciphertext of the plan's
 * parameters) and hashed; only the update digest waits for the last byte. A stream never holds more
 * than its plan's update, a member streams one update at a time, and a refusal ends the stream at
 * once with nothing stored.
 */
import { createHash } from 'node:crypto';
import type * as grpc from '@grpc/grpc-js';
import { clip } from '@kpfl/common';
import { getHeParams, slotCountFor, validateChunk } from '@kpfl/he';
import {
  digestOf,
  type IdentityKey,
  type SessionClaims,
  signReceipt,
  unverifiedClaims,
  verifyAttestation,
} from '@kpfl/kpt';
import { MAX_CHUNK_BYTES, type Receipt, type SubmitUpdateMessage__Output } from '@kpfl/proto';
import {
  type Db,
  getAdvertisement,
  getMember,
  getModelDigest,
  getRound,
  hasContribution,
  type PlanRow,
  type RoundRow,
} from '@kpfl/store';
import type { Redis } from 'ioredis';
import type { Authorize } from './auth.js';
import { RoundError, RpcError } from './errors.js';
import type { InflightBudget, StreamSlots } from './limits.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import { assertAccepting, type RoundEngine } from './round-engine.js';
import { decoded, type RefusalContext, type RejectedMessage } from './rpc.js';

/** An attestation is a compact JWS of about 1 KiB; anything much larger is not one. */
export const MAX_ATTESTATION_CHARS = 16 * 1024;

/** SEAL's serialization header and a ciphertext's metadata and seed: measured 194 bytes, bounded here. */
const CIPHERTEXT_OVERHEAD_BYTES = 1024;

/**
 * The most bytes one chunk of an update of `plan` can have: a float32 chunk in plain mode; in HE mode
 * a ciphertext of the plan's parameters at its top level (one polynomial and a seed with seeded
 * symmetric encryption, two polynomials otherwise).
 */
export function maxChunkBytes(plan: Pick<PlanRow, 'mode' | 'he_params'>): number {
  if (plan.mode === 'plain') return slotCountFor('plain', plan.he_params) * 4;
  const p = getHeParams(plan.he_params);
  const primes = p.coeffModulusBits.length > 1 ? p.coeffModulusBits.length - 1 : 1;
  const polynomials = p.encryption === 'symmetric-seeded' ? 1 : 2;
  return polynomials * p.polyModulusDegree * primes * 8 + CIPHERTEXT_OVERHEAD_BYTES;
}

/** The most bytes a whole update of `plan` can have: what one stream may hold. */
export function maxUpdateBytes(plan: Pick<PlanRow, 'mode' | 'he_params' | 'chunk_count'>): number {
  return plan.chunk_count * maxChunkBytes(plan);
}

export interface SubmitDeps {
  federation: string;
  db: Db;
  redis: Redis;
  redisPrefix: string;
  engine: RoundEngine;
  coordinatorKey: IdentityKey;
  authorize: Authorize;
  slots: StreamSlots;
  budget: InflightBudget;
  metrics: Metrics;
  log: Logger;
  currentPlan(): Promise<PlanRow>;
}

type Stream = grpc.ServerReadableStream<SubmitUpdateMessage__Output | RejectedMessage, Receipt>;
type Header = NonNullable<SubmitUpdateMessage__Output['header']>;

/** Receives one update, checking it as it arrives; resolves with the signed receipt. */
export async function submitUpdate(d: SubmitDeps, call: Stream, ctx: RefusalContext): Promise<Receipt> {
  const claims = await d.authorize(call, 'submit:round');
  const member = claims.sub;
  const releaseSlot = d.slots.claim(member);
  let releaseBudget = () => {};
  let timer: NodeJS.Timeout | undefined;
  const messages = (call as AsyncIterable<SubmitUpdateMessage__Output | RejectedMessage>)[
    Symbol.asyncIterator
  ]();
  let ended = false;
  try {
    const plan = await d.currentPlan();
    ctx.planId = plan.id;
    const first = await messages.next();
    if (first.done) {
      ended = true;
      throw new RpcError('INVALID_ARGUMENT', 'bad_stream', 'empty stream: send a header, then the chunks');
    }
    const header = decoded(first.value).header;
    if (!header) throw new RpcError('INVALID_ARGUMENT', 'bad_stream', 'the first message must be the header');
    const { round, attestation, exampleCount, baseModelDigest } = await checkHeader(
      d,
      plan,
      claims,
      header,
      ctx,
    );

    // The most this update can take, reserved before the token is spent: a refusal here (the
    // aggregator is full) leaves the token usable for the retry.
    const limit = maxChunkBytes(plan);
    releaseBudget = d.budget.reserve(plan.chunk_count * limit);
    await spendToken(d, claims);
    // Refused here rather than after the whole update has arrived (the round lock decides again).
    if (await hasContribution(d.db, plan.id, round.round, member))
      throw new RoundError('duplicate', `${member} already contributed to round ${round.round}`);

    // A stream still arriving at the round's deadline would be refused then anyway: end it there.
    // (Destroying the stream makes the pending read fail; a Promise.race against a timer instead
    // would keep every message read so far reachable from the timer's promise until the end.)
    let late: RpcError | undefined;
    timer = setTimeout(
      () => {
        late = new RpcError(
          'FAILED_PRECONDITION',
          'late',
          `round ${round.round} passed its deadline at ${round.deadline_at.toISOString()} before the update had arrived`,
        );
        call.destroy();
      },
      Math.max(0, round.deadline_at.getTime() - Date.now()),
    );

    const received: Uint8Array[] = [];
    const hash = createHash('sha256');
    let bytes = 0;
    for (;;) {
      const next = await messages.next().catch((err) => {
        throw late ?? err;
      });
      if (next.done) {
        ended = true;
        break;
      }
      const msg = decoded(next.value);
      if (msg.header) throw new RpcError('INVALID_ARGUMENT', 'bad_stream', 'the stream carries two headers');
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
      // What the accumulator checks again when it folds, refused here before the next chunk is read.
      await validateChunk(data, { mode: plan.mode, paramsName: plan.he_params, chunkIndex: chunk.index });
      if (data.byteLength > limit) {
        throw new RpcError(
          'INVALID_ARGUMENT',
          'chunk_size',
          `chunk ${chunk.index} has ${data.byteLength} bytes; a chunk of this plan has at most ${limit}`,
        );
      }
      hash.update(data);
      bytes += data.byteLength;
      received.push(data);
      ctx.data = { ...ctx.data, bytes };
    }
    if (received.length !== header.chunkCount) {
      throw new RpcError(
        'INVALID_ARGUMENT',
        'truncated',
        `stream ended after ${received.length} of ${header.chunkCount} chunks`,
      );
    }
    d.metrics.received(bytes);
    const updateDigest = `sha256:${hash.digest('hex')}`;
    ctx.data = { ...ctx.data, updateDigest };
    if (attestation.updateDigest !== updateDigest) {
      throw new RpcError(
        'INVALID_ARGUMENT',
        'update_digest',
        `the received bytes hash to ${updateDigest}, the attestation names ${attestation.updateDigest}`,
      );
    }
    const attestationDigest = digestOf(header.attestation);
    const receipt = await signReceipt(d.coordinatorKey, {
      federation: d.federation,
      round: round.round,
      member,
      attestationDigest,
      receivedAt: new Date().toISOString(),
      status: 'accepted',
    });
    const result = await d.engine.accept(plan, {
      planId: plan.id,
      round: round.round,
      member,
      attestation: header.attestation,
      attestationDigest,
      updateDigest,
      baseModelDigest,
      exampleCount,
      chunks: received,
      bytes,
      receipt,
    });
    d.metrics.submission('accepted');
    d.log.info(
      {
        plan: plan.id,
        round: round.round,
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
  } finally {
    clearTimeout(timer);
    releaseBudget();
    releaseSlot();
    // Stops reading a stream that is refused before its end (a no-op once it has ended).
    if (!ended) await messages.return?.().catch(() => {});
  }
}

/** Every check of the header and its attestation; nothing is spent or stored by it. */
async function checkHeader(
  d: SubmitDeps,
  plan: PlanRow,
  claims: SessionClaims,
  header: Header,
  ctx: RefusalContext,
) {
  const member = claims.sub;
  if (!Number.isSafeInteger(header.round) || header.round < 1) {
    ctx.data = { requestedRound: header.round };
    throw new RpcError(
      'INVALID_ARGUMENT',
      'bad_round',
      `the header names round ${header.round}; rounds are numbered from 1`,
    );
  }
  ctx.round = header.round;
  if (header.chunkCount !== plan.chunk_count) {
    throw new RpcError(
      'INVALID_ARGUMENT',
      'chunk_count',
      `the update has ${header.chunkCount} chunks; this plan's model needs exactly ${plan.chunk_count}`,
    );
  }
  const round = await getRound(d.db, plan.id, header.round);
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
  if (header.attestation.length > MAX_ATTESTATION_CHARS) {
    throw new RpcError(
      'INVALID_ARGUMENT',
      'attestation_size',
      `the attestation is ${header.attestation.length} characters; a contribution attestation is a compact JWS of at most ${MAX_ATTESTATION_CHARS}`,
    );
  }
  ctx.data = { attestationDigest: digestOf(header.attestation) };
  const memberRow = await getMember(d.db, d.federation, member);
  if (!memberRow) throw new RpcError('PERMISSION_DENIED', 'unknown_member', `${member} is not a member`);
  // Another member's attestation (e.g. a captured one) is an impersonation, not a malformed request:
  // refuse it as such before its signature is checked against the session member's key.
  const claimedIss = unverifiedClaims(header.attestation)?.iss;
  if (typeof claimedIss === 'string' && claimedIss !== member) {
    throw new RpcError(
      'PERMISSION_DENIED',
      'attestation_subject',
      `attestation is signed for ${clip(claimedIss, 64)}, but the session is ${member}`,
    );
  }
  // Signature and schema: the schema bounds every number (an example count beyond the int column
  // is refused here, INVALID_ARGUMENT, not by Postgres after the token is spent).
  const att = await verifyAttestation(header.attestation, memberRow.public_jwk);
  const expectDigest =
    round.base_model_digest ?? (await getModelDigest(d.db, plan.id, header.round - 1)) ?? undefined;
  const refuse = (
    what: string,
    reason: string,
    code: 'INVALID_ARGUMENT' | 'FAILED_PRECONDITION' | 'PERMISSION_DENIED' = 'INVALID_ARGUMENT',
  ): never => {
    throw new RpcError(code, reason, what);
  };
  if (att.iss !== member)
    refuse(
      `attestation is signed for ${att.iss}, but the session is ${member}`,
      'attestation_subject',
      'PERMISSION_DENIED',
    );
  if (att.federation !== d.federation)
    refuse(`attestation names federation ${att.federation}`, 'attestation_federation');
  if (att.round !== header.round)
    refuse(`attestation names round ${att.round}, the stream round ${header.round}`, 'attestation_round');
  if (att.chunkCount !== header.chunkCount)
    refuse('attestation chunk count differs from the stream', 'attestation_chunks');
  if (att.mode !== plan.mode) refuse(`update is in ${att.mode} mode, the plan runs ${plan.mode}`, 'mode');
  // A ciphertext under another key epoch than the round's (an old key, e.g. one a revoked member
  // holds) would decrypt to garbage in the sum, or be readable by whoever holds that key: refused.
  if (plan.mode === 'secure') await checkSecureSubmission(d, plan, round, member, att.advertisementDigest);
  if (plan.mode !== 'plain' && round.key_epoch !== null && att.keyEpoch !== round.key_epoch) {
    ctx.data = { ...ctx.data, keyEpoch: att.keyEpoch ?? 0, roundKeyEpoch: round.key_epoch };
    refuse(
      `the update is encrypted under key epoch ${att.keyEpoch ?? 'none'}, round ${header.round} runs under key epoch ${round.key_epoch}: fetch the current key (kpfl he-key status) and encrypt again`,
      'key_epoch',
    );
  }
  if (!expectDigest)
    refuse(
      `round ${header.round} has no agreed base model yet; report the evaluation of round ${header.round - 1} first`,
      'no_base_digest',
      'FAILED_PRECONDITION',
    );
  if (att.baseModelDigest !== expectDigest) {
    refuse(
      `the update was trained from ${att.baseModelDigest}, round ${header.round} starts from ${expectDigest}; resync the global model`,
      'base_model_digest',
      'FAILED_PRECONDITION',
    );
  }
  if (!Number.isSafeInteger(att.exampleCount) || att.exampleCount <= 0)
    refuse('example count must be a positive integer', 'example_count');
  return {
    round,
    attestation: att,
    exampleCount: att.exampleCount,
    baseModelDigest: att.baseModelDigest,
  };
}

/**
 * A secure round takes a masked update only from a member that shared its mask keys (its neighbours
 * hold the shares that unmask it), with an attestation naming the advertisement its masks come from.
 */
async function checkSecureSubmission(
  d: SubmitDeps,
  plan: PlanRow,
  round: RoundRow,
  member: string,
  advertisementDigest: string | undefined,
): Promise<void> {
  if (!round.shared?.includes(member)) {
    throw new RpcError(
      'FAILED_PRECONDITION',
      'not_shared',
      `${member} did not share its mask keys in round ${round.round}: only members that shared may submit to a secure round`,
    );
  }
  const advertised = await getAdvertisement(d.db, plan.id, round.round, member);
  if (!advertised || advertised.digest !== advertisementDigest) {
    throw new RpcError(
      'INVALID_ARGUMENT',
      'attestation_advertisement',
      `the attestation names advertisement ${advertisementDigest ?? 'none'}, ${member}'s advertisement for round ${round.round} is ${advertised?.digest ?? 'missing'}`,
    );
  }
}

/**
 * A session token submits once: its jti is spent here (across front ends, until the token expires),
 * so a captured submission cannot be replayed even within the token's lifetime.
 */
async function spendToken(d: SubmitDeps, claims: SessionClaims): Promise<void> {
  const fresh = await d.redis.set(
    `${d.redisPrefix}:jti:${claims.jti}`,
    claims.sub,
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
}
