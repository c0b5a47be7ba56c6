/**
 * The consortium HE key's RPCs: the aggregator keeps the epochs, relays the envelopes members make
 * for each other and records who delivered what; it cannot open an envelope (it holds no member's
 * encryption key) and never sees a key, only its keyId. What it checks of an envelope is its
 * protected header: addressed to an active participant's enrolled encryption key, from the caller,
 * of the epoch named.
 */
import { clip } from '@kpfl/common';
import { HE_PARAM_SETS } from '@kpfl/he';
import { CAPABILITIES, type Capability, HE_KEY_ID_PATTERN, keyEnvelopeHeader } from '@kpfl/kpt';
import type { AggregatorHandlers, KeyEpoch } from '@kpfl/proto';
import {
  appendAudit,
  currentKeyEpoch,
  type Db,
  getFederationJwks,
  getKeyEnvelope,
  getKeyEpoch,
  type KeyEpochRow,
  listKeyRecipients,
  putKeyEnvelopes,
  requestKeyEpoch,
} from '@kpfl/store';
import { activeParticipant, nextRecipient } from './callers.js';
import { RpcError } from './errors.js';
import type { Logger } from './logger.js';
import type { RpcKit } from './rpc.js';

export interface KeyServiceDeps {
  federation: string;
  db: Db;
  log: Logger;
  rpc: RpcKit;
}

/** At most this many envelopes in one PutKeyEnvelopes request (each is a few hundred KiB). */
export const MAX_ENVELOPES_PER_REQUEST = 64;

type KeyHandlers = Pick<
  AggregatorHandlers,
  | 'GetKeyEpoch'
  | 'StartKeyEpoch'
  | 'GetKeyRecipients'
  | 'PutKeyEnvelopes'
  | 'GetKeyEnvelope'
  | 'ReportKeyEnvelope'
>;

export function createKeyHandlers(d: KeyServiceDeps): KeyHandlers {
  const { db, rpc, log } = d;

  const activeCaller = (call: Parameters<RpcKit['authorize']>[0], capability: Capability, what: string) =>
    activeParticipant(d, call, capability, what);

  async function epochOf(n: number): Promise<KeyEpochRow> {
    if (!Number.isSafeInteger(n) || n < 0)
      throw new RpcError(
        'INVALID_ARGUMENT',
        'bad_epoch',
        `epoch ${n} does not exist: epochs are numbered from 1`,
      );
    const row = n === 0 ? await currentKeyEpoch(db, d.federation) : await getKeyEpoch(db, d.federation, n);
    if (!row)
      throw new RpcError(
        'NOT_FOUND',
        'no_epoch',
        n === 0
          ? `${d.federation} has no HE key epoch yet: a member starts one with \`kpfl he-key create\``
          : `${d.federation} has no HE key epoch ${n}`,
      );
    return row;
  }

  async function toWire(row: KeyEpochRow, member: string): Promise<KeyEpoch> {
    const haveKey =
      row.created_by === member || (await getKeyEnvelope(db, d.federation, row.epoch, member)) !== undefined;
    return {
      epoch: row.epoch,
      state: row.state,
      heParams: row.he_params,
      keyId: row.key_id ?? '',
      createdBy: row.created_by ?? '',
      reason: row.reason,
      haveKey,
    };
  }

  return {
    GetKeyEpoch: rpc.unary('GetKeyEpoch', async (call, req) => {
      const member = await activeCaller(call, CAPABILITIES.readKey, 'reading the HE key epoch');
      return toWire(await epochOf(req.epoch), member);
    }),

    StartKeyEpoch: rpc.unary('StartKeyEpoch', async (call, req) => {
      const member = await activeCaller(call, CAPABILITIES.deliverKey, 'starting an HE key epoch');
      // Only the first epoch takes its parameters from the caller (later ones keep the current set):
      // a made-up name would leave every member unable to make the key.
      if (!Object.hasOwn(HE_PARAM_SETS, req.heParams))
        throw new RpcError(
          'INVALID_ARGUMENT',
          'bad_he_params',
          `HE parameter set "${clip(req.heParams, 64)}" is not one of ${Object.keys(HE_PARAM_SETS).join(', ')}`,
        );
      const { epoch, started } = await requestKeyEpoch(db, {
        federation: d.federation,
        heParams: req.heParams,
        actor: member,
        rotate: req.rotate,
      });
      if (started)
        log.info(
          { member, epoch: epoch.epoch, reason: epoch.reason, event: 'key.epoch_started' },
          'key epoch started',
        );
      return toWire(epoch, member);
    }),

    GetKeyRecipients: rpc.unary('GetKeyRecipients', async (call, req) => {
      const member = await activeCaller(call, CAPABILITIES.readKey, 'reading the key recipients');
      const epoch = await epochOf(req.epoch);
      const recipients = await listKeyRecipients(db, d.federation, epoch.epoch);
      return {
        epoch: epoch.epoch,
        recipients: recipients
          .filter((r) => r.id !== member)
          .map((r) => ({
            memberId: r.id,
            encryptionJwk: r.encryption_jwk ? JSON.stringify(r.encryption_jwk) : '',
            hasKey: r.has_envelope,
          })),
        jwks: JSON.stringify((await getFederationJwks(db, d.federation)) ?? { keys: [] }),
      };
    }),

    PutKeyEnvelopes: rpc.unary('PutKeyEnvelopes', async (call, req) => {
      const sender = await activeCaller(call, CAPABILITIES.deliverKey, 'delivering the HE key');
      if (!Number.isSafeInteger(req.epoch) || req.epoch < 1)
        throw new RpcError(
          'INVALID_ARGUMENT',
          'bad_epoch',
          `epoch ${req.epoch} does not exist: name the epoch the key is for`,
        );
      if (!HE_KEY_ID_PATTERN.test(req.keyId))
        throw new RpcError(
          'INVALID_ARGUMENT',
          'bad_key_id',
          "key_id must be the 32 hex digits of the key's keyId",
        );
      if (req.envelopes.length > MAX_ENVELOPES_PER_REQUEST)
        throw new RpcError(
          'INVALID_ARGUMENT',
          'too_many_envelopes',
          `${req.envelopes.length} envelopes in one request; send at most ${MAX_ENVELOPES_PER_REQUEST}`,
        );
      const recipients = new Map(
        (await listKeyRecipients(db, d.federation, req.epoch)).map((r) => [r.id, r] as const),
      );
      const seen = new Set<string>();
      for (const e of req.envelopes) {
        const to = nextRecipient(seen, e.recipient);
        if (e.recipient === sender)
          throw new RpcError('INVALID_ARGUMENT', 'own_envelope', 'a member does not send itself an envelope');
        const r = recipients.get(e.recipient);
        if (!r)
          throw new RpcError(
            'INVALID_ARGUMENT',
            'not_recipient',
            `${to} is not an active participant of ${d.federation}: the HE key goes to active participants only`,
          );
        const kid = (r.encryption_jwk as { kid?: unknown } | null)?.kid;
        const h = keyEnvelopeHeader(e.jwe);
        if (h.kpfl_recipient !== e.recipient || h.kid !== kid)
          throw new RpcError(
            'INVALID_ARGUMENT',
            'wrong_recipient',
            `the envelope for ${to} is addressed to ${clip(h.kpfl_recipient, 64)} (encryption key ${clip(h.kid, 64)}), not to ${to}'s enrolled encryption key ${String(kid ?? 'none')}`,
          );
        if (h.kpfl_sender !== sender)
          throw new RpcError(
            'PERMISSION_DENIED',
            'wrong_sender',
            `the envelope for ${to} names sender ${clip(h.kpfl_sender, 64)}, but the session is ${sender}`,
          );
        if (h.kpfl_epoch !== req.epoch)
          throw new RpcError(
            'INVALID_ARGUMENT',
            'wrong_epoch',
            `the envelope for ${to} is of key epoch ${h.kpfl_epoch}, the request delivers epoch ${req.epoch}`,
          );
      }
      const out = await putKeyEnvelopes(db, {
        federation: d.federation,
        epoch: req.epoch,
        sender,
        keyId: req.keyId,
        create: req.create,
        envelopes: req.envelopes.map((e) => ({ recipient: e.recipient, jwe: e.jwe })),
      });
      log.info(
        { member: sender, epoch: req.epoch, created: req.create, stored: out.stored, event: 'key.delivered' },
        'key envelopes stored',
      );
      return { stored: out.stored, skipped: out.skipped, epoch: await toWire(out.epoch, sender) };
    }),

    GetKeyEnvelope: rpc.unary('GetKeyEnvelope', async (call, req) => {
      const member = await activeCaller(call, CAPABILITIES.readKey, 'fetching an HE key envelope');
      const epoch = await epochOf(req.epoch);
      const env = await getKeyEnvelope(db, d.federation, epoch.epoch, member);
      if (!env)
        throw new RpcError(
          'NOT_FOUND',
          'no_envelope',
          `no envelope of key epoch ${epoch.epoch} for ${member} yet: a member holding the key delivers it`,
        );
      await appendAudit(db, {
        federation: d.federation,
        event: 'key.fetched',
        member,
        actor: member,
        data: { epoch: epoch.epoch, sender: env.sender },
      });
      return { epoch: env.epoch, sender: env.sender, jwe: env.jwe };
    }),

    ReportKeyEnvelope: rpc.unary('ReportKeyEnvelope', async (call, req) => {
      const member = await activeCaller(call, CAPABILITIES.readKey, 'reporting an HE key envelope');
      await appendAudit(db, {
        federation: d.federation,
        event: 'key.refused',
        member,
        actor: member,
        data: {
          epoch: Number.isSafeInteger(req.epoch) ? req.epoch : 0,
          sender: clip(req.sender, 64),
          code: clip(req.code, 64),
          reason: clip(req.reason, 400),
        },
      });
      log.warn(
        { member, epoch: req.epoch, sender: req.sender, code: req.code, event: 'key.refused' },
        req.reason,
      );
      return {};
    }),
  };
}
