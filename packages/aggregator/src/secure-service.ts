/**
 * The RPCs of a secure round's key-exchange phases (ADR 0010). The aggregator relays what members
 * make for each other and keeps a signed record of it: it verifies every advertisement and response
 * against its author's identity key and reads the clear, authenticated header of every share
 * envelope, but it holds no key that opens an envelope.
 */
import { clip } from '@kpfl/common';
import {
  CAPABILITIES,
  digestOf,
  type JSONWebKeySet,
  shareEnvelopeHeader,
  shareKeyId,
  unmaskAnnouncementDigest,
  verifyMaskAdvertisement,
  verifyUnmaskAnnouncement,
  verifyUnmaskResponse,
} from '@kpfl/kpt';
import type { AggregatorHandlers } from '@kpfl/proto';
import {
  activePlan,
  appendAudit,
  type Db,
  getFederationJwks,
  getRound,
  listAdvertisements,
  listShareEnvelopesFor,
  type PlanRow,
  type RoundRow,
  type RoundState,
} from '@kpfl/store';
import { activeParticipant, nextRecipient } from './callers.js';
import { RpcError } from './errors.js';
import type { Logger } from './logger.js';
import type { RoundEngine } from './round-engine.js';
import type { RpcKit } from './rpc.js';

export interface SecureServiceDeps {
  federation: string;
  db: Db;
  log: Logger;
  rpc: RpcKit;
  engine: RoundEngine;
}

/** An advertisement or a response is a compact JWS of a few KiB at most; an envelope likewise. */
export const MAX_SECURE_ARTIFACT_CHARS = 64 * 1024;
/** At most this many share envelopes in one request (one per neighbour: 3 log2 K of them). */
export const MAX_SHARE_ENVELOPES = 256;

type SecureHandlers = Pick<
  AggregatorHandlers,
  | 'AdvertiseMaskKeys'
  | 'GetMaskAdvertisements'
  | 'PutShareEnvelopes'
  | 'GetShareEnvelopes'
  | 'GetUnmaskAnnouncement'
  | 'PutUnmaskResponse'
  | 'ReportSecureRefusal'
>;

/** States in which a round's sets are fixed: advertised from sharing on, shared from submit on. */
const AFTER_SHARING: readonly RoundState[] = ['open', 'collecting', 'unmasking', 'aggregating', 'published'];

export function createSecureHandlers(d: SecureServiceDeps): SecureHandlers {
  const { db, rpc, log } = d;
  const caller = (call: Parameters<RpcKit['authorize']>[0], what: string) =>
    activeParticipant(d, call, CAPABILITIES.secureStep, what);

  async function secureRound(roundNo: number): Promise<{ plan: PlanRow; round: RoundRow }> {
    if (!Number.isSafeInteger(roundNo) || roundNo < 1)
      throw new RpcError(
        'INVALID_ARGUMENT',
        'bad_round',
        `round ${roundNo} does not exist: rounds are numbered from 1`,
      );
    const plan = await activePlan(db, d.federation);
    if (plan?.mode !== 'secure')
      throw new RpcError(
        'FAILED_PRECONDITION',
        'not_secure',
        plan
          ? `plan ${plan.id} runs in ${plan.mode} mode: it has no key-exchange phases`
          : 'no plan is scheduled yet',
      );
    const round = await getRound(db, plan.id, roundNo);
    if (!round)
      throw new RpcError('NOT_FOUND', 'no_such_round', `round ${roundNo} of plan ${plan.id} does not exist`);
    return { plan, round };
  }

  function bounded(value: string, what: string): string {
    if (value.length === 0 || value.length > MAX_SECURE_ARTIFACT_CHARS)
      throw new RpcError(
        'INVALID_ARGUMENT',
        'bad_artifact',
        `${what} is ${value.length} characters; it must be a compact JWS/JWE of 1 to ${MAX_SECURE_ARTIFACT_CHARS}`,
      );
    return value;
  }

  async function jwksOf(): Promise<JSONWebKeySet> {
    return ((await getFederationJwks(db, d.federation)) ?? { keys: [] }) as JSONWebKeySet;
  }

  return {
    AdvertiseMaskKeys: rpc.unary('AdvertiseMaskKeys', async (call, req) => {
      const member = await caller(call, 'advertising mask keys');
      const { plan, round } = await secureRound(req.round);
      const jws = bounded(req.advertisement, 'advertisement');
      const claims = await verifyMaskAdvertisement(jws, await jwksOf(), {
        federation: d.federation,
        planId: plan.id,
        round: round.round,
        iss: member,
      });
      const digest = digestOf(jws);
      const r = await d.engine.advertise(plan, {
        plan_id: plan.id,
        round: round.round,
        member,
        advertisement: jws,
        digest,
        mask_public_key: claims.maskPublicKey,
        share_public_key: claims.sharePublicKey,
      });
      log.info({ member, round: round.round, ...r, event: 'secagg.advertised' }, 'mask keys advertised');
      return { advertisementDigest: digest, advertised: r.advertised, sampled: r.sampled };
    }),

    GetMaskAdvertisements: rpc.unary('GetMaskAdvertisements', async (call, req) => {
      await caller(call, 'reading mask advertisements');
      const { plan, round } = await secureRound(req.round);
      if (!round.advertised)
        throw new RpcError(
          'FAILED_PRECONDITION',
          'wrong_phase',
          `round ${round.round} is ${round.state}: its advertisements are final once sharing starts`,
        );
      const set = new Set(round.advertised);
      const ads = (await listAdvertisements(db, plan.id, round.round)).filter((a) => set.has(a.member));
      return {
        round: round.round,
        advertisements: ads.map((a) => ({ memberId: a.member, advertisement: a.advertisement })),
        jwks: JSON.stringify(await jwksOf()),
      };
    }),

    PutShareEnvelopes: rpc.unary('PutShareEnvelopes', async (call, req) => {
      const sender = await caller(call, 'sharing mask keys');
      const { plan, round } = await secureRound(req.round);
      if (req.envelopes.length > MAX_SHARE_ENVELOPES)
        throw new RpcError(
          'INVALID_ARGUMENT',
          'too_many_envelopes',
          `${req.envelopes.length} envelopes in one request; a member has at most ${MAX_SHARE_ENVELOPES} neighbours`,
        );
      const seen = new Set<string>();
      const shareKeys = new Map(
        (await listAdvertisements(db, plan.id, round.round)).map((a) => [a.member, a.share_public_key]),
      );
      for (const e of req.envelopes) {
        const to = nextRecipient(seen, e.recipient);
        const h = shareEnvelopeHeader(bounded(e.jwe, `the envelope for ${to}`));
        if (
          h.kpfl_recipient !== e.recipient ||
          h.kpfl_sender !== sender ||
          h.kpfl_round !== round.round ||
          h.kpfl_plan !== plan.id ||
          h.kpfl_federation !== d.federation
        )
          throw new RpcError(
            'INVALID_ARGUMENT',
            'wrong_recipient',
            `the envelope for ${to} says it is from ${clip(h.kpfl_sender, 64)} to ${clip(h.kpfl_recipient, 64)} in round ${h.kpfl_round} of plan ${clip(h.kpfl_plan, 64)}: each envelope goes from the caller to the neighbour it names, in this round`,
          );
        // Encrypted to another key than the recipient advertised: it could not open it.
        const key = shareKeys.get(e.recipient);
        if (key !== undefined && h.kid !== (await shareKeyId(key)))
          throw new RpcError(
            'INVALID_ARGUMENT',
            'wrong_share_key',
            `the envelope for ${to} is encrypted to share key ${clip(h.kid, 64)}, not to the key ${to} advertised for round ${round.round}`,
          );
      }
      const r = await d.engine.share(plan, round.round, sender, req.envelopes);
      log.info({ member: sender, round: round.round, ...r, event: 'secagg.shared' }, 'shares stored');
      return r;
    }),

    GetShareEnvelopes: rpc.unary('GetShareEnvelopes', async (call, req) => {
      const member = await caller(call, 'reading share envelopes');
      const { plan, round } = await secureRound(req.round);
      if (!AFTER_SHARING.includes(round.state) || !round.shared)
        throw new RpcError(
          'FAILED_PRECONDITION',
          'wrong_phase',
          `round ${round.round} is ${round.state}: envelopes are handed out once sharing has ended`,
        );
      if (!round.shared.includes(member))
        throw new RpcError(
          'PERMISSION_DENIED',
          'not_shared',
          `${member} did not share in round ${round.round}`,
        );
      return {
        round: round.round,
        envelopes: await listShareEnvelopesFor(db, plan.id, round.round, member),
        shared: round.shared,
      };
    }),

    GetUnmaskAnnouncement: rpc.unary('GetUnmaskAnnouncement', async (call, req) => {
      await caller(call, 'reading the unmask announcement');
      const { round } = await secureRound(req.round);
      if (!round.unmask_announcement)
        throw new RpcError(
          'FAILED_PRECONDITION',
          'wrong_phase',
          `round ${round.round} is ${round.state}: it has no unmask announcement`,
        );
      return { round: round.round, announcement: round.unmask_announcement };
    }),

    PutUnmaskResponse: rpc.unary('PutUnmaskResponse', async (call, req) => {
      const member = await caller(call, 'responding to the unmask announcement');
      const { plan, round } = await secureRound(req.round);
      const jws = bounded(req.response, 'response');
      if (!round.unmask_announcement)
        throw new RpcError(
          'FAILED_PRECONDITION',
          'wrong_phase',
          `round ${round.round} is ${round.state}: it is not unmasking`,
        );
      const jwks = await jwksOf();
      const ref = { federation: d.federation, planId: plan.id, round: round.round };
      // A response reveals self-mask shares of survivors and mask-key shares of dropouts only: any
      // other share would let the aggregator unmask an individual update (WRONG_ANNOUNCEMENT).
      await verifyUnmaskResponse(jws, jwks, {
        ...ref,
        iss: member,
        announcementDigest: unmaskAnnouncementDigest(round.unmask_announcement),
        announcement: await verifyUnmaskAnnouncement(round.unmask_announcement, jwks, ref),
      });
      const r = await d.engine.respondUnmask(plan, {
        plan_id: plan.id,
        round: round.round,
        member,
        response: jws,
        digest: digestOf(jws),
      });
      log.info(
        { member, round: round.round, ...r, event: 'secagg.unmask_responded' },
        'unmask response stored',
      );
      return r;
    }),

    ReportSecureRefusal: rpc.unary('ReportSecureRefusal', async (call, req) => {
      const member = await caller(call, 'reporting a refusal');
      const { plan, round } = await secureRound(req.round);
      await appendAudit(db, {
        federation: d.federation,
        event: 'secagg.refused',
        planId: plan.id,
        round: round.round,
        member,
        actor: member,
        data: { code: clip(req.code, 64), reason: clip(req.reason, 512) },
      });
      log.warn(
        {
          member,
          round: round.round,
          code: clip(req.code, 64),
          reason: clip(req.reason, 512),
          event: 'secagg.refused',
        },
        'a participant refused a key-exchange step',
      );
      return {};
    }),
  };
}
