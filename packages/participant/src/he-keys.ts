/**
 * A member's side of the consortium HE key: its keys per epoch in its kit directory (files 0600),
 * made here when the federation's current epoch is pending (the database settles a race between
 * members: the first to deliver wins, the others fetch its key), fetched from an envelope when it
 * lacks an epoch's key, and wrapped for members that have none. The aggregator relays envelopes and
 * learns only keyIds.
 */
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import {
  type ConsortiumKey,
  consortiumKeyId,
  generateConsortiumKey,
  parseConsortiumKey,
  serializeConsortiumKey,
} from '@kpfl/he';
import {
  type EncryptionKey,
  type IdentityKey,
  type JSONWebKeySet,
  type JWK,
  KptError,
  openKeyEnvelope,
  sealKeyEnvelope,
} from '@kpfl/kpt';
import type { KeyEpoch__Output } from '@kpfl/proto';
import { type AggregatorConnection, AggregatorError } from './client.js';

/** A member's consortium keys, one file per epoch: `<dir>/he-keys/epoch-<n>.json` (0600). */
export class HeKeyStore {
  readonly dir: string;
  private readonly cache = new Map<number, ConsortiumKey>();

  /**
   * `kitDir` is the member's kit directory. A `he-key.json` there (`kpfl provision`'s convenience
   * path) is the key of epoch 1.
   */
  constructor(readonly kitDir: string) {
    this.dir = join(kitDir, 'he-keys');
  }

  private file(epoch: number): string {
    return join(this.dir, `epoch-${epoch}.json`);
  }

  get(epoch: number): ConsortiumKey | undefined {
    const hit = this.cache.get(epoch);
    if (hit) return hit;
    let path = this.file(epoch);
    if (!existsSync(path) && epoch === 1) path = join(this.kitDir, 'he-key.json');
    if (!existsSync(path)) return undefined;
    const key = parseConsortiumKey(readFileSync(path, 'utf8'));
    this.cache.set(epoch, key);
    return key;
  }

  put(epoch: number, key: ConsortiumKey): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const tmp = `${this.file(epoch)}.${process.pid}.tmp`;
    writeFileSync(tmp, serializeConsortiumKey(key), { mode: 0o600 });
    chmodSync(tmp, 0o600);
    renameSync(tmp, this.file(epoch));
    this.cache.set(epoch, key);
  }

  /** The epochs this member holds a key of. */
  epochs(): number[] {
    const out = new Set<number>();
    if (existsSync(join(this.kitDir, 'he-key.json'))) out.add(1);
    if (existsSync(this.dir))
      for (const f of readdirSync(this.dir)) {
        const m = /^epoch-(\d+)\.json$/.exec(f);
        if (m) out.add(Number(m[1]));
      }
    return [...out].sort((a, b) => a - b);
  }
}

export interface MemberKeysOptions {
  federation: string;
  memberId: string;
  identity: IdentityKey;
  /** The member's X25519 key envelopes are encrypted to (from its kit). */
  encryption?: EncryptionKey;
  conn: AggregatorConnection;
  store: HeKeyStore;
  /**
   * The federation JWKS the member trusts (from its kit): an envelope's sender is verified against it.
   * Without one, the JWKS the aggregator serves is used, which only the coordinator vouches for.
   */
  trustedJwks?: JSONWebKeySet;
  log?: { info(o: object, msg: string): void; warn(o: object, msg: string): void };
}

/** Envelopes per PutKeyEnvelopes request: stays well under grpc-js's 4 MB message limit. */
const MAX_BATCH_CHARS = 3 * 1024 * 1024;

export class MemberKeys {
  constructor(readonly o: MemberKeysOptions) {}

  status(epoch = 0): Promise<KeyEpoch__Output> {
    return this.o.conn.getKeyEpoch(epoch);
  }

  /**
   * The key of `epoch`, checked against the keyId the federation recorded for it: from the store,
   * else from this member's envelope (opened, verified, stored). Throws when it is not available.
   */
  async keyFor(epochNo: number): Promise<ConsortiumKey> {
    const epoch = await this.o.conn.getKeyEpoch(epochNo);
    if (epoch.state === 'pending')
      throw new KptError('WRONG_EPOCH', `key epoch ${epochNo} is pending: nobody has made its key yet`);
    const held = this.o.store.get(epochNo);
    if (held) {
      if (consortiumKeyId(held) !== epoch.keyId)
        throw new KptError(
          'KEY_MISMATCH',
          `the key stored for epoch ${epochNo} has keyId ${consortiumKeyId(held)}, the federation recorded ${epoch.keyId}`,
        );
      return held;
    }
    return this.fetch(epoch);
  }

  /** Fetches, opens and stores this member's envelope of `epoch`; a refused one is reported (audited). */
  private async fetch(epoch: KeyEpoch__Output): Promise<ConsortiumKey> {
    if (!this.o.encryption)
      throw new KptError(
        'KEY_INVALID',
        `${this.o.memberId}'s kit has no encryption key: it cannot receive the HE key`,
      );
    const env = await this.o.conn.getKeyEnvelope(epoch.epoch);
    try {
      const key = await this.open(env.jwe, epoch);
      this.o.store.put(epoch.epoch, key);
      this.o.log?.info(
        { epoch: epoch.epoch, sender: env.sender, keyId: epoch.keyId, event: 'key.received' },
        'HE key received',
      );
      return key;
    } catch (err) {
      if (err instanceof KptError)
        await this.o.conn
          .reportKeyEnvelope({ epoch: epoch.epoch, sender: env.sender, code: err.code, reason: err.message })
          .catch(() => {});
      throw err;
    }
  }

  /** Opens an envelope of `epoch` addressed to this member and returns the key inside, fully checked. */
  async open(jwe: string, epoch: { epoch: number; keyId: string }): Promise<ConsortiumKey> {
    const recipients = await this.o.conn.getKeyRecipients(epoch.epoch);
    const active = new Set([this.o.memberId, ...recipients.recipients.map((r) => r.memberId)]);
    const jwks = this.o.trustedJwks ?? (JSON.parse(recipients.jwks) as JSONWebKeySet);
    const claims = await openKeyEnvelope(
      jwe,
      { memberId: this.o.memberId, encryption: this.o.encryption! },
      {
        federation: this.o.federation,
        epoch: epoch.epoch,
        keyId: epoch.keyId,
        jwks,
        isActiveParticipant: (m) => active.has(m),
      },
    );
    const key = parseConsortiumKey(claims.key);
    if (consortiumKeyId(key) !== epoch.keyId)
      throw new KptError(
        'KEY_MISMATCH',
        `the key in the envelope has keyId ${consortiumKeyId(key)}, epoch ${epoch.epoch} recorded ${epoch.keyId}`,
      );
    return key;
  }

  /**
   * Makes the key of the current epoch if it is pending, and delivers it to every other active
   * participant. Returns the epoch's state after; `made` when this member's key won.
   */
  async createIfPending(heParams?: string): Promise<{ epoch: KeyEpoch__Output; made: boolean }> {
    let epoch: KeyEpoch__Output;
    try {
      epoch = await this.o.conn.getKeyEpoch(0);
    } catch (err) {
      if (!(err instanceof AggregatorError && err.codeName === 'NOT_FOUND') || !heParams) throw err;
      epoch = await this.o.conn.startKeyEpoch(false, heParams);
    }
    if (epoch.state !== 'pending') return { epoch, made: false };
    const key = await generateConsortiumKey(epoch.heParams);
    const keyId = consortiumKeyId(key);
    const envelopes = await this.wrapFor(epoch.epoch, keyId, key, () => true);
    try {
      // Stored before it is announced: a member never announces a key it could lose.
      this.o.store.put(epoch.epoch, key);
      const res = await this.putBatches(epoch.epoch, keyId, true, envelopes);
      this.o.log?.info(
        { epoch: epoch.epoch, keyId, delivered: envelopes.length, event: 'key.created' },
        'HE key made and delivered',
      );
      return { epoch: res ?? (await this.o.conn.getKeyEpoch(epoch.epoch)), made: true };
    } catch (err) {
      if (err instanceof AggregatorError && err.codeName === 'ALREADY_EXISTS') {
        // Another member made this epoch's key first: ours is discarded, theirs is fetched.
        this.o.store.put(epoch.epoch, await this.fetch(await this.o.conn.getKeyEpoch(epoch.epoch)));
        return { epoch: await this.o.conn.getKeyEpoch(epoch.epoch), made: false };
      }
      throw err;
    }
  }

  /** Wraps the key of the current (ready) epoch for active participants that have none (e.g. joined later). */
  async deliverToMissing(): Promise<string[]> {
    const epoch = await this.o.conn.getKeyEpoch(0);
    if (epoch.state !== 'ready' || !epoch.haveKey) return [];
    const recipients = await this.o.conn.getKeyRecipients(epoch.epoch);
    const missing = new Set(
      recipients.recipients.filter((r) => !r.hasKey && r.encryptionJwk).map((r) => r.memberId),
    );
    if (missing.size === 0) return [];
    const key = await this.keyFor(epoch.epoch);
    const envelopes = await this.wrapFor(epoch.epoch, epoch.keyId, key, (m) => missing.has(m), recipients);
    await this.putBatches(epoch.epoch, epoch.keyId, false, envelopes);
    this.o.log?.info({ epoch: epoch.epoch, to: [...missing], event: 'key.delivered' }, 'HE key delivered');
    return [...missing];
  }

  /** Starts a new epoch (retiring the current one) and makes its key now. */
  async rotate(): Promise<{ epoch: KeyEpoch__Output; made: boolean }> {
    const current = await this.o.conn.getKeyEpoch(0);
    await this.o.conn.startKeyEpoch(true, current.heParams);
    return this.createIfPending();
  }

  /** What a participant does between rounds: make a pending key, fetch the current one, deliver to newcomers. */
  /**
   * `heParams`: a plan in he mode needs a key; when the federation has no epoch yet (an enrolled
   * federation), the first member to get here starts epoch 1 with the plan's parameters.
   */
  async sync(heParams?: string): Promise<void> {
    const { epoch } = await this.createIfPending(heParams);
    // keyFor: the stored key (checked against the epoch's keyId), else this member's envelope, fetched.
    if (epoch.state === 'ready') await this.keyFor(epoch.epoch);
    await this.deliverToMissing();
  }

  private async wrapFor(
    epoch: number,
    keyId: string,
    key: ConsortiumKey,
    include: (memberId: string) => boolean,
    known?: Awaited<ReturnType<AggregatorConnection['getKeyRecipients']>>,
  ): Promise<{ recipient: string; jwe: string }[]> {
    const recipients = known ?? (await this.o.conn.getKeyRecipients(epoch));
    const serialized = serializeConsortiumKey(key);
    const out: { recipient: string; jwe: string }[] = [];
    for (const r of recipients.recipients) {
      if (!include(r.memberId)) continue;
      if (!r.encryptionJwk) {
        this.o.log?.warn(
          { epoch, member: r.memberId },
          `${r.memberId} has enrolled no encryption key: it cannot receive the HE key`,
        );
        continue;
      }
      out.push({
        recipient: r.memberId,
        jwe: await sealKeyEnvelope(
          { memberId: this.o.memberId, identity: this.o.identity },
          { memberId: r.memberId, encryptionJwk: JSON.parse(r.encryptionJwk) as JWK },
          { federation: this.o.federation, epoch, keyId, key: serialized },
        ),
      });
    }
    return out;
  }

  private async putBatches(
    epoch: number,
    keyId: string,
    create: boolean,
    envelopes: { recipient: string; jwe: string }[],
  ): Promise<KeyEpoch__Output | undefined> {
    let last: KeyEpoch__Output | undefined;
    let batch: typeof envelopes = [];
    let chars = 0;
    let first = create;
    const flush = async () => {
      const res = await this.o.conn.putKeyEnvelopes({ epoch, keyId, create: first, envelopes: batch });
      last = res.epoch ?? last;
      first = false;
      batch = [];
      chars = 0;
    };
    for (const e of envelopes) {
      if (batch.length > 0 && (chars + e.jwe.length > MAX_BATCH_CHARS || batch.length >= 64)) await flush();
      batch.push(e);
      chars += e.jwe.length;
    }
    if (batch.length > 0 || first) await flush();
    return last;
  }
}
