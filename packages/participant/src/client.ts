import * as grpc from '@grpc/grpc-js';
import { EXIT_CODES, type ExitCode, KpflError } from '@kpfl/common';
import { type IdentityKey, signChallenge } from '@kpfl/kpt';
import {
  type AdvertiseMaskKeysResponse__Output,
  type AggregateChunk__Output,
  type AggregatorClient,
  type AuthenticateResponse__Output,
  type GetChallengeResponse__Output,
  type KeyEnvelope__Output,
  type KeyEpoch__Output,
  type KeyRecipients__Output,
  loadKpflProto,
  MAX_METADATA_BYTES,
  type MaskAdvertisements__Output,
  type PutKeyEnvelopesRequest,
  type PutKeyEnvelopesResponse__Output,
  type PutShareEnvelopesResponse__Output,
  type PutUnmaskResponseResponse__Output,
  type Receipt__Output,
  type ReportEvaluationResponse__Output,
  type RoundCertificate__Output,
  type ShareEnvelopes__Output,
  type SubmitUpdateMessage,
  type Task__Output,
  type UnmaskAnnouncement__Output,
} from '@kpfl/proto';

export interface ClientTls {
  caPem: string;
  certPem: string;
  keyPem: string;
}

export interface ConnectOptions {
  address: string;
  memberId: string;
  identity: IdentityKey;
  /** Mutual TLS with the member's provisioned certificate; undefined = insecure loopback. */
  tls?: ClientTls;
  /**
   * Deadline of one streamed call (DownloadAggregate, SubmitUpdate), in ms; default 5 minutes.
   * An aggregator that stops answering mid-stream is then an error to retry, not a hang.
   */
  streamDeadlineMs?: number;
}

/** Default deadline of a streamed call: an HE update of the CNN (27 MB) at 100 KB/s fits. */
const DEFAULT_STREAM_DEADLINE_MS = 5 * 60_000;

/** A gRPC status name ('PERMISSION_DENIED', 'UNAVAILABLE', ...). */
export type GrpcStatusName = keyof typeof grpc.status;

/** The aggregator did not answer: start it, check the address, or wait (exit code 3). */
const UNREACHABLE: ReadonlySet<grpc.status> = new Set([
  grpc.status.UNAVAILABLE,
  grpc.status.DEADLINE_EXCEEDED,
]);
/** The aggregator failed or the two sides disagree on the protocol: a bug, not the user's input (exit code 1). */
const BROKEN: ReadonlySet<grpc.status> = new Set([
  grpc.status.INTERNAL,
  grpc.status.UNKNOWN,
  grpc.status.DATA_LOSS,
  grpc.status.UNIMPLEMENTED,
]);

function exitCodeOf(status: grpc.status): ExitCode {
  if (UNREACHABLE.has(status)) return EXIT_CODES.unavailable;
  if (BROKEN.has(status)) return EXIT_CODES.internal;
  return EXIT_CODES.usage;
}

/**
 * A gRPC status from the aggregator, as a participant's or auditor's operator sees it. `code` is the
 * status name (stable, e.g. 'PERMISSION_DENIED'); `status` the numeric gRPC status. Unreachable
 * (UNAVAILABLE, DEADLINE_EXCEEDED) exits 3, a refusal (the member's kit, role or request) 2.
 */
export class AggregatorError extends KpflError<GrpcStatusName> {
  override readonly name = 'AggregatorError';
  readonly status: grpc.status;

  constructor(status: grpc.status, message: string, options?: { cause?: unknown }) {
    super((grpc.status[status] as GrpcStatusName | undefined) ?? 'UNKNOWN', message, {
      cause: options?.cause,
      exitCode: exitCodeOf(status),
    });
    this.status = status;
  }

  /** The status name; the same as `code`. */
  get codeName(): string {
    return this.code;
  }
}

const RETRYABLE = new Set([
  grpc.status.UNAVAILABLE,
  grpc.status.DEADLINE_EXCEEDED,
  grpc.status.RESOURCE_EXHAUSTED,
  grpc.status.INTERNAL,
]);

export function isRetryable(err: unknown): boolean {
  return err instanceof AggregatorError && RETRYABLE.has(err.status);
}

function wrap(err: grpc.ServiceError): AggregatorError {
  return new AggregatorError(err.code, err.details || err.message, { cause: err });
}

/**
 * Typed client for kpfl.v1.Aggregator that keeps a session token: it authenticates with a signed
 * challenge, and re-authenticates once when the aggregator answers UNAUTHENTICATED (expired
 * token, or an aggregator restarted with a new replay cache).
 */
export class AggregatorConnection {
  private readonly client: AggregatorClient;
  private token?: string;
  private tokenExpiresAt = 0;

  constructor(readonly o: ConnectOptions) {
    const Ctor = loadKpflProto().kpfl.v1.Aggregator;
    const creds = o.tls
      ? grpc.credentials.createSsl(
          Buffer.from(o.tls.caPem),
          Buffer.from(o.tls.keyPem),
          Buffer.from(o.tls.certPem),
        )
      : grpc.credentials.createInsecure();
    this.client = new Ctor(o.address, creds, {
      'grpc.keepalive_time_ms': 20_000,
      'grpc.initial_reconnect_backoff_ms': 200,
      'grpc.max_reconnect_backoff_ms': 2_000,
    });
  }

  close(): void {
    this.client.close();
  }

  async authenticate(): Promise<string> {
    const memberId = this.o.memberId;
    const ch = await unary<GetChallengeResponse__Output>((cb) =>
      this.client.GetChallenge({ memberId }, new grpc.Metadata(), callOptions(), cb),
    );
    const signed = await signChallenge(this.o.identity, {
      nonce: ch.nonce,
      subject: memberId,
      audience: ch.audience,
    });
    const res = await unary<AuthenticateResponse__Output>((cb) =>
      this.client.Authenticate(
        { memberId, nonce: ch.nonce, signedChallenge: signed },
        new grpc.Metadata(),
        callOptions(),
        cb,
      ),
    );
    this.token = res.sessionToken;
    this.tokenExpiresAt = Number(res.expiresAtMs);
    return res.sessionToken;
  }

  getTask(appliedRound: number): Promise<Task__Output> {
    return this.authed((md) =>
      unary<Task__Output>((cb) => this.client.GetTask({ appliedRound }, md, callOptions(), cb)),
    );
  }

  reportEvaluation(r: {
    round: number;
    globalModelDigest: string;
    accuracy: number;
    loss: number;
    examples: number;
  }): Promise<ReportEvaluationResponse__Output> {
    return this.authed((md) =>
      unary<ReportEvaluationResponse__Output>((cb) => this.client.ReportEvaluation(r, md, callOptions(), cb)),
    );
  }

  getRoundCertificate(round: number): Promise<RoundCertificate__Output> {
    return this.authed((md) =>
      unary<RoundCertificate__Output>((cb) =>
        this.client.GetRoundCertificate({ round }, md, callOptions(), cb),
      ),
    );
  }

  countersign(round: number, certificateJson: string): Promise<RoundCertificate__Output> {
    return this.authed((md) =>
      unary<RoundCertificate__Output>((cb) =>
        this.client.CountersignRoundCertificate({ round, certificateJson }, md, callOptions(), cb),
      ),
    );
  }

  /** The federation's current HE key epoch (epoch 0), or epoch `epoch`. */
  getKeyEpoch(epoch = 0): Promise<KeyEpoch__Output> {
    return this.authed((md) =>
      unary<KeyEpoch__Output>((cb) => this.client.GetKeyEpoch({ epoch }, md, callOptions(), cb)),
    );
  }

  /** Starts the first key epoch, or with `rotate` a new one (idempotent while one is pending). */
  startKeyEpoch(rotate: boolean, heParams: string): Promise<KeyEpoch__Output> {
    return this.authed((md) =>
      unary<KeyEpoch__Output>((cb) => this.client.StartKeyEpoch({ rotate, heParams }, md, callOptions(), cb)),
    );
  }

  getKeyRecipients(epoch: number): Promise<KeyRecipients__Output> {
    return this.authed((md) =>
      unary<KeyRecipients__Output>((cb) => this.client.GetKeyRecipients({ epoch }, md, callOptions(), cb)),
    );
  }

  putKeyEnvelopes(req: PutKeyEnvelopesRequest): Promise<PutKeyEnvelopesResponse__Output> {
    return this.authed((md) =>
      unary<PutKeyEnvelopesResponse__Output>((cb) => this.client.PutKeyEnvelopes(req, md, callOptions(), cb)),
    );
  }

  getKeyEnvelope(epoch: number): Promise<KeyEnvelope__Output> {
    return this.authed((md) =>
      unary<KeyEnvelope__Output>((cb) => this.client.GetKeyEnvelope({ epoch }, md, callOptions(), cb)),
    );
  }

  reportKeyEnvelope(r: { epoch: number; sender: string; code: string; reason: string }): Promise<void> {
    return this.authed((md) =>
      unary<object>((cb) => this.client.ReportKeyEnvelope(r, md, callOptions(), cb)),
    ).then(() => undefined);
  }

  /** Secure rounds: posts this member's signed advertisement of its round keys. */
  advertiseMaskKeys(round: number, advertisement: string): Promise<AdvertiseMaskKeysResponse__Output> {
    return this.authed((md) =>
      unary<AdvertiseMaskKeysResponse__Output>((cb) =>
        this.client.AdvertiseMaskKeys({ round, advertisement }, md, callOptions(), cb),
      ),
    );
  }

  getMaskAdvertisements(round: number): Promise<MaskAdvertisements__Output> {
    return this.authed((md) =>
      unary<MaskAdvertisements__Output>((cb) =>
        this.client.GetMaskAdvertisements({ round }, md, callOptions(), cb),
      ),
    );
  }

  putShareEnvelopes(
    round: number,
    envelopes: { recipient: string; jwe: string }[],
  ): Promise<PutShareEnvelopesResponse__Output> {
    return this.authed((md) =>
      unary<PutShareEnvelopesResponse__Output>((cb) =>
        this.client.PutShareEnvelopes({ round, envelopes }, md, callOptions(), cb),
      ),
    );
  }

  getShareEnvelopes(round: number): Promise<ShareEnvelopes__Output> {
    return this.authed((md) =>
      unary<ShareEnvelopes__Output>((cb) => this.client.GetShareEnvelopes({ round }, md, callOptions(), cb)),
    );
  }

  getUnmaskAnnouncement(round: number): Promise<UnmaskAnnouncement__Output> {
    return this.authed((md) =>
      unary<UnmaskAnnouncement__Output>((cb) =>
        this.client.GetUnmaskAnnouncement({ round }, md, callOptions(), cb),
      ),
    );
  }

  putUnmaskResponse(round: number, response: string): Promise<PutUnmaskResponseResponse__Output> {
    return this.authed((md) =>
      unary<PutUnmaskResponseResponse__Output>((cb) =>
        this.client.PutUnmaskResponse({ round, response }, md, callOptions(), cb),
      ),
    );
  }

  reportSecureRefusal(r: { round: number; code: string; reason: string }): Promise<void> {
    return this.authed((md) =>
      unary<object>((cb) => this.client.ReportSecureRefusal(r, md, callOptions(), cb)),
    ).then(() => undefined);
  }

  /** Downloads a published aggregate: returns its chunks in order and the digest the aggregator states. */
  downloadAggregate(
    round: number,
  ): Promise<{ chunks: Uint8Array[]; digest: string; contributions: number; keyEpoch: number }> {
    return this.authed(
      (md) =>
        new Promise((resolve, reject) => {
          const chunks: Uint8Array[] = [];
          let digest = '';
          let contributions = 0;
          let keyEpoch = 0;
          const call = this.client.DownloadAggregate({ round }, md, this.streamOptions());
          call.on('data', (c: AggregateChunk__Output) => {
            if (c.index !== chunks.length) {
              call.cancel();
              reject(
                new AggregatorError(grpc.status.DATA_LOSS, `aggregate chunk ${c.index} arrived out of order`),
              );
              return;
            }
            if (c.index === 0) {
              digest = c.aggregateDigest;
              contributions = c.contributions;
              keyEpoch = c.keyEpoch;
            }
            chunks.push(new Uint8Array(c.data));
          });
          call.on('error', (e: grpc.ServiceError) => reject(wrap(e)));
          call.on('end', () => resolve({ chunks, digest, contributions, keyEpoch }));
        }),
    );
  }

  /** Streams one update: the header with the attestation, then each chunk, respecting back-pressure. */
  submitUpdate(
    header: { round: number; attestation: string; totalBytes: number },
    chunks: Uint8Array[],
  ): Promise<Receipt__Output> {
    return this.authed(
      (md) =>
        new Promise((resolve, reject) => {
          const call = this.client.SubmitUpdate(md, this.streamOptions(), (err, res) =>
            err ? reject(wrap(err)) : resolve(res!),
          );
          const write = async () => {
            const send = (m: SubmitUpdateMessage) =>
              call.write(m) ? Promise.resolve() : new Promise<void>((r) => call.once('drain', () => r()));
            await send({ header: { ...header, chunkCount: chunks.length } });
            for (let i = 0; i < chunks.length; i++) await send({ chunk: { index: i, data: chunks[i] } });
            call.end();
          };
          write().catch(reject);
        }),
    );
  }

  /** Metadata carrying a valid session token, for calls to other kpfl.v1 services on the same aggregator. */
  async sessionMetadata(): Promise<grpc.Metadata> {
    if (!this.token || Date.now() > this.tokenExpiresAt - 30_000) await this.authenticate();
    return this.metadata();
  }

  private async authed<T>(fn: (md: grpc.Metadata) => Promise<T>): Promise<T> {
    if (!this.token || Date.now() > this.tokenExpiresAt - 30_000) await this.authenticate();
    try {
      return await fn(this.metadata());
    } catch (err) {
      if (err instanceof AggregatorError && err.status === grpc.status.UNAUTHENTICATED) {
        await this.authenticate();
        return fn(this.metadata());
      }
      throw err;
    }
  }

  private streamOptions(): grpc.CallOptions {
    return { deadline: Date.now() + (this.o.streamDeadlineMs ?? DEFAULT_STREAM_DEADLINE_MS) };
  }

  private metadata(): grpc.Metadata {
    const md = new grpc.Metadata();
    md.set('authorization', `Bearer ${this.token}`);
    // The aggregator answers metadata over this with RESOURCE_EXHAUSTED: do not send it at all.
    const bytes = 'authorization'.length + md.get('authorization')[0]!.toString().length;
    if (bytes > MAX_METADATA_BYTES) {
      throw new AggregatorError(
        grpc.status.RESOURCE_EXHAUSTED,
        `the session token is ${bytes} bytes of metadata, over the ${MAX_METADATA_BYTES} the aggregator accepts`,
      );
    }
    return md;
  }
}

/** Every unary call gets a deadline: an aggregator that stops answering is an error, not a hang. */
function callOptions(): grpc.CallOptions {
  return { deadline: Date.now() + 30_000 };
}

/**
 * Promisifies one call of a generated typed method: `start` calls it (e.g.
 * `this.client.GetTask(req, md, callOptions(), cb)`), so the compiler checks the request type and
 * that the callback's response type `Res` is the one the method answers with.
 */
function unary<Res>(start: (cb: grpc.requestCallback<Res>) => grpc.ClientUnaryCall): Promise<Res> {
  return new Promise((resolve, reject) => {
    start((err, res) => {
      if (err) reject(wrap(err));
      else if (res === undefined) reject(new AggregatorError(grpc.status.INTERNAL, 'empty response'));
      else resolve(res);
    });
  });
}
