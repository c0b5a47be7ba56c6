/**
 * A participant's side of a secure round (ADR 0010): fresh round keys, advertised signed; Shamir
 * shares of its mask key and self-mask seed, each encrypted to one neighbour; the masks it adds to
 * its quantized update; and, once the coordinator has announced who survived, the shares it reveals
 * (self-mask shares of survivors, mask-key shares of dropouts, never both for one member).
 *
 * Round secrets live in memory only: a participant that restarts mid-round has lost them and is a
 * dropout of that round, which the protocol tolerates up to the threshold.
 */
import {
  checkUnmaskRequest,
  digestOf,
  type IdentityKey,
  isKptError,
  type JSONWebKeySet,
  openShareEnvelope,
  sealShareEnvelope,
  signMaskAdvertisement,
  signUnmaskResponse,
  type UnmaskAnnouncementClaims,
  verifyMaskAdvertisement,
  verifyUnmaskAnnouncement,
} from '@kpfl/kpt';
import type { Task__Output } from '@kpfl/proto';
import {
  fromBase64url,
  generateRoundKeys,
  generateSelfSeed,
  pairwiseSeed,
  type RoundGraph,
  type RoundKeys,
  roundGraph,
  splitSecret,
  toBase64url,
} from '@kpfl/secagg';
import type pino from 'pino';
import type { AggregatorConnection } from './client.js';

/** The masks a participant adds to its update: what maskUpdate of @kpfl/secagg takes. */
export interface RoundMasks {
  me: string;
  selfSeed: Uint8Array;
  peers: { id: string; seed: Uint8Array }[];
  advertisementDigest: string;
}

interface ReceivedShares {
  maskKeyShare: string;
  selfSeedShare: string;
}

interface RoundSecrets {
  keys: RoundKeys;
  selfSeed: Uint8Array;
  advertisement?: string;
  /** From the share phase on: every advertised member's public keys, and the round's graph. */
  advertised?: Map<string, { maskPublicKey: string; sharePublicKey: string }>;
  graph?: RoundGraph;
  /** This member's own share of its secrets (from the share phase on). */
  own?: ReceivedShares;
  /** From the submit phase on: the shares neighbours sent this member, and its own. */
  received?: Map<string, ReceivedShares>;
  /** The announcement this member answered (a second, different one is refused). */
  answered?: UnmaskAnnouncementClaims;
}

export interface SecureRoundsOptions {
  conn: AggregatorConnection;
  identity: IdentityKey;
  memberId: string;
  federation: string;
  coordinatorJwks: JSONWebKeySet;
  log: pino.Logger;
}

export class SecureRounds {
  private readonly rounds = new Map<string, RoundSecrets>();
  /**
   * Called with each round's fresh keys when they are made: the member's own business (a member
   * that colludes hands them over; the collusion test plays such members with it).
   */
  onRoundKeys?: (planId: string, round: number, keys: RoundKeys) => void;

  constructor(private readonly o: SecureRoundsOptions) {}

  /** Takes the key-exchange step a TASK_KIND_SECURE_STEP task asks for. */
  async step(task: Task__Output): Promise<void> {
    if (task.securePhase === 'advertise') return this.advertise(task);
    if (task.securePhase === 'share') return this.share(task);
    if (task.securePhase === 'unmask') return this.unmask(task);
    throw new Error(
      `the aggregator asks for secure phase "${task.securePhase}", which this participant does not know`,
    );
  }

  /** The masks of this member's update in a round it shared in, after opening its neighbours' envelopes. */
  async masksFor(task: Task__Output): Promise<RoundMasks> {
    const s = this.secretsOf(task, false);
    if (!s?.advertised || !s.graph || !s.advertisement)
      throw new Error(
        `round ${task.round}'s mask keys are not in this process (it restarted after advertising): it cannot submit to this secure round`,
      );
    const { envelopes, shared } = await this.o.conn.getShareEnvelopes(task.round);
    const jwks = await this.jwks(task.round);
    s.received = new Map(s.own ? [[this.o.memberId, s.own]] : []);
    for (const e of envelopes) {
      try {
        const claims = await openShareEnvelope(e.jwe, toBase64url(s.keys.share.privateKey), jwks, {
          federation: this.o.federation,
          planId: task.planId,
          round: task.round,
          sender: e.sender,
          recipient: this.o.memberId,
        });
        s.received.set(e.sender, { maskKeyShare: claims.maskKeyShare, selfSeedShare: claims.selfSeedShare });
      } catch (err) {
        if (!isKptError(err)) throw err;
        await this.refuse(task.round, err.code, `the share envelope from ${e.sender}: ${err.message}`);
      }
    }
    const neighbours = s.graph.neighbours.get(this.o.memberId) ?? [];
    const peers = neighbours
      .filter((p) => shared.includes(p))
      .map((id) => ({
        id,
        seed: pairwiseSeed(s.keys.mask.privateKey, fromBase64url(s.advertised!.get(id)!.maskPublicKey), {
          federation: this.o.federation,
          planId: task.planId,
          round: task.round,
          a: this.o.memberId,
          b: id,
        }),
      }));
    return {
      me: this.o.memberId,
      selfSeed: s.selfSeed,
      peers,
      advertisementDigest: digestOf(s.advertisement),
    };
  }

  /** Drops a finished round's secrets. */
  forget(planId: string, round: number): void {
    this.rounds.delete(`${planId}:${round}`);
  }

  private async advertise(task: Task__Output): Promise<void> {
    const s = this.secretsOf(task, true)!;
    s.advertisement ??= await signMaskAdvertisement(this.o.identity, {
      iss: this.o.memberId,
      federation: this.o.federation,
      planId: task.planId,
      round: task.round,
      maskPublicKey: toBase64url(s.keys.mask.publicKey),
      sharePublicKey: toBase64url(s.keys.share.publicKey),
    });
    const r = await this.o.conn.advertiseMaskKeys(task.round, s.advertisement);
    this.o.log.info(
      { round: task.round, advertised: r.advertised, sampled: r.sampled, event: 'secagg.advertised' },
      'round keys advertised',
    );
  }

  private async share(task: Task__Output): Promise<void> {
    const s = this.secretsOf(task, false);
    if (!s?.advertisement) {
      this.o.log.warn(
        { round: task.round, event: 'secagg.lost_keys' },
        'this process holds no round keys for this round (it restarted after advertising): sitting it out',
      );
      return;
    }
    const { advertisements } = await this.o.conn.getMaskAdvertisements(task.round);
    const jwks = await this.jwks(task.round);
    const advertised = new Map<string, { maskPublicKey: string; sharePublicKey: string }>();
    for (const a of advertisements) {
      const claims = await verifyMaskAdvertisement(a.advertisement, jwks, {
        federation: this.o.federation,
        planId: task.planId,
        round: task.round,
        iss: a.memberId,
      });
      advertised.set(a.memberId, {
        maskPublicKey: claims.maskPublicKey,
        sharePublicKey: claims.sharePublicKey,
      });
    }
    const mine = advertised.get(this.o.memberId);
    if (mine?.maskPublicKey !== toBase64url(s.keys.mask.publicKey))
      throw new Error(`round ${task.round}'s advertised set does not hold this member's round keys`);
    const graph = roundGraph({
      federation: this.o.federation,
      planId: task.planId,
      round: task.round,
      members: [...advertised.keys()],
    });
    s.advertised = advertised;
    s.graph = graph;
    const neighbours = graph.neighbours.get(this.o.memberId) ?? [];
    // The member holds a share of its own secrets too (k + 1 holders, as in Flower's SecAgg+): it
    // reveals its own self-mask share as a survivor, so a round of three survives one dropout.
    const holders = [...neighbours, this.o.memberId];
    const maskKeyShares = await splitSecret(s.keys.mask.privateKey, holders, graph.threshold);
    const selfSeedShares = await splitSecret(s.selfSeed, holders, graph.threshold);
    s.own = {
      maskKeyShare: toBase64url(maskKeyShares.get(this.o.memberId)!),
      selfSeedShare: toBase64url(selfSeedShares.get(this.o.memberId)!),
    };
    const envelopes = [];
    for (const recipient of neighbours) {
      envelopes.push({
        recipient,
        jwe: await sealShareEnvelope(
          this.o.identity,
          {
            sender: this.o.memberId,
            recipient,
            federation: this.o.federation,
            planId: task.planId,
            round: task.round,
            maskKeyShare: toBase64url(maskKeyShares.get(recipient)!),
            selfSeedShare: toBase64url(selfSeedShares.get(recipient)!),
          },
          advertised.get(recipient)!.sharePublicKey,
        ),
      });
    }
    const r = await this.o.conn.putShareEnvelopes(task.round, envelopes);
    this.o.log.info(
      {
        round: task.round,
        neighbours: neighbours.length,
        threshold: graph.threshold,
        shared: r.shared,
        advertised: r.advertised,
        event: 'secagg.shared',
      },
      'mask-key shares sent to neighbours',
    );
  }

  private async unmask(task: Task__Output): Promise<void> {
    const s = this.secretsOf(task, false);
    if (!s?.received || !s.graph) {
      this.o.log.warn({ round: task.round }, 'no shares of this round in this process: nothing to reveal');
      return;
    }
    const { announcement } = await this.o.conn.getUnmaskAnnouncement(task.round);
    const neighbours = s.graph.neighbours.get(this.o.memberId) ?? [];
    let claims: UnmaskAnnouncementClaims;
    let allowed: { selfSeedShares: string[]; maskKeyShares: string[] };
    try {
      claims = await verifyUnmaskAnnouncement(announcement, this.o.coordinatorJwks, {
        federation: this.o.federation,
        planId: task.planId,
        round: task.round,
      });
      allowed = checkUnmaskRequest(claims, this.o.memberId, [...neighbours, this.o.memberId], s.answered);
    } catch (err) {
      if (!isKptError(err)) throw err;
      await this.refuse(task.round, err.code, err.message);
      return;
    }
    s.answered = claims;
    const mine = (ids: readonly string[], pick: (r: ReceivedShares) => string) =>
      ids.filter((id) => s.received!.has(id)).map((of) => ({ of, share: pick(s.received!.get(of)!) }));
    const response = await signUnmaskResponse(this.o.identity, {
      iss: this.o.memberId,
      federation: this.o.federation,
      planId: task.planId,
      round: task.round,
      announcementDigest: digestOf(announcement),
      selfSeedShares: mine(allowed.selfSeedShares, (r) => r.selfSeedShare),
      maskKeyShares: mine(allowed.maskKeyShares, (r) => r.maskKeyShare),
    });
    const r = await this.o.conn.putUnmaskResponse(task.round, response);
    this.o.log.info(
      {
        round: task.round,
        survivors: claims.survivors.length,
        dropouts: claims.dropouts.length,
        responses: r.responses,
        event: 'secagg.unmask_responded',
      },
      'unmask shares revealed',
    );
  }

  /** Logs a refused step and reports it to the aggregator, which audits it. */
  private async refuse(round: number, code: string, reason: string): Promise<void> {
    this.o.log.warn({ round, code, reason, event: 'secagg.refused' }, 'refused a key-exchange step');
    await this.o.conn
      .reportSecureRefusal({ round, code, reason })
      .catch((err: Error) => this.o.log.warn({ round, err: err.message }, 'could not report the refusal'));
  }

  private async jwks(round: number): Promise<JSONWebKeySet> {
    const { jwks } = await this.o.conn.getMaskAdvertisements(round);
    return JSON.parse(jwks) as JSONWebKeySet;
  }

  private secretsOf(task: Task__Output, create: boolean): RoundSecrets | undefined {
    const key = `${task.planId}:${task.round}`;
    let s = this.rounds.get(key);
    if (!s && create) {
      s = { keys: generateRoundKeys(), selfSeed: generateSelfSeed() };
      this.rounds.set(key, s);
      this.onRoundKeys?.(task.planId, task.round, s.keys);
    }
    return s;
  }
}
