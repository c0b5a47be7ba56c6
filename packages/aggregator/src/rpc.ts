/**
 * How every RPC of the aggregator (kpfl.v1.Aggregator and kpfl.v1.Audit) is run, whatever its kind:
 * the request checks every call gets before its handler (metadata size, a request message that could
 * not be decoded or is too large for its method), and the one way a refusal ends a call: mapped to
 * its status (`toServiceError`), sent at once on the call's own path (a unary or client-streaming
 * callback, or the status of a server stream: `call.destroy(err)` would never send it), logged on one
 * line and audited once, with bounded data.
 */
import type * as grpc from '@grpc/grpc-js';
import { Metadata, status } from '@grpc/grpc-js';
import { clip } from '@kpfl/common';
import type { TokenVerifier } from '@kpfl/kpt';
import { MAX_CHUNK_BYTES, MAX_METADATA_BYTES } from '@kpfl/proto';
import { appendAudit, type Db } from '@kpfl/store';
import { type AnyCall, type Authorize, createAuthorizer, peerSubject } from './auth.js';
import { RpcError, type ServiceError, toServiceError } from './errors.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';

/** Largest request message of a method not listed in REQUEST_LIMITS: ids, numbers, a signed challenge. */
const MAX_REQUEST_BYTES = 64 * 1024;

/**
 * Per-method limits on one request message, in bytes (larger ones are refused before they are
 * decoded). A SubmitUpdate message is a header (an attestation of a few KiB) or one chunk of at most
 * MAX_CHUNK_BYTES; a countersigned round certificate carries a signature per member.
 */
const REQUEST_LIMITS: Readonly<Record<string, number>> = {
  SubmitUpdate: MAX_CHUNK_BYTES + MAX_REQUEST_BYTES,
  CountersignRoundCertificate: 4 * 1024 * 1024 - 5,
  // Envelopes of a few hundred KiB each (a wrapped CKKS secret key); members batch them under this.
  PutKeyEnvelopes: 4 * 1024 * 1024 - 5,
};

/** Name of the trailer that tells a refused client when to try again (RESOURCE_EXHAUSTED). */
export const RETRY_AFTER_TRAILER = 'retry-after-ms';

/**
 * What the guarded deserializer hands the handler instead of a message it refused to decode: the
 * handler refuses the call with it (INVALID_ARGUMENT or RESOURCE_EXHAUSTED), so that such a refusal
 * is answered and audited like any other, where grpc-js alone would answer INTERNAL and tell nobody.
 */
export class RejectedMessage {
  constructor(
    readonly method: string,
    readonly bytes: number,
    readonly limit: number,
    /** Set when the bytes are not a valid message of the method's request type. */
    readonly decodeError?: string,
  ) {}

  toError(): RpcError {
    if (this.decodeError === undefined) {
      return new RpcError(
        'RESOURCE_EXHAUSTED',
        'message_too_large',
        `a ${this.method} request message is ${this.bytes} bytes; at most ${this.limit} are accepted`,
      );
    }
    return new RpcError(
      'INVALID_ARGUMENT',
      'undecodable',
      `a ${this.method} request message is not a valid kpfl.v1 protobuf message: ${clip(this.decodeError, 200)}`,
    );
  }
}

/** Throws the refusal a RejectedMessage stands for; returns the message otherwise. */
export function decoded<T>(message: T | RejectedMessage): T {
  if (message instanceof RejectedMessage) throw message.toError();
  return message;
}

/**
 * A service definition whose request deserializers never throw: a message over its method's limit is
 * not decoded at all, and one that does not decode becomes a RejectedMessage for the handler.
 */
export function guardService<S extends grpc.ServiceDefinition>(definition: S): S {
  const guarded: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const [name, method] of Object.entries(definition)) {
    const limit = REQUEST_LIMITS[name] ?? MAX_REQUEST_BYTES;
    const decode = method.requestDeserialize;
    guarded[name] = {
      ...method,
      requestDeserialize: (bytes: Buffer) => {
        if (bytes.length > limit) return new RejectedMessage(name, bytes.length, limit);
        try {
          return decode(bytes);
        } catch (err) {
          return new RejectedMessage(name, bytes.length, limit, (err as Error)?.message ?? String(err));
        }
      },
    };
  }
  return guarded as S;
}

/** The client cancelled or went away: there is nobody to answer and nothing to audit. */
export class ClientGone extends Error {
  constructor() {
    super('the client cancelled the call');
  }
}

/** Bytes of all the request's metadata keys and values (binary values as sent, base64). */
export function metadataBytes(md: grpc.Metadata): number {
  let n = 0;
  for (const [key, value] of Object.entries(md.toHttp2Headers())) {
    for (const v of Array.isArray(value) ? value : [value]) n += key.length + Buffer.byteLength(String(v));
  }
  return n;
}

/** Where a refusal of a submission happened, for its audit row (plan and round once known). */
export interface RefusalContext {
  planId?: string;
  round?: number;
  /** Extra audit data: numbers and short strings only (each string is clipped). */
  data?: Record<string, string | number | undefined>;
}

export interface RpcKitDeps {
  db: Db;
  federation: string;
  log: Logger;
  metrics?: Metrics;
  verifier: TokenVerifier;
  /** Mutual TLS: a token's subject must equal the client certificate's CN, and peers are named by it. */
  bindToCertificate: boolean;
}

export interface RpcKit {
  /** The authorization interceptor; it records the token's subject as the call's caller. */
  authorize: Authorize;
  /** The TLS client certificate's member id (mutual TLS only). */
  peer(call: AnyCall): string | undefined;
  unary<Req, Res>(
    name: string,
    fn: (call: grpc.ServerUnaryCall<Req, Res>, request: Req) => Promise<Res>,
  ): grpc.handleUnaryCall<Req | RejectedMessage, Res>;
  serverStream<Req, Res>(
    name: string,
    fn: (
      call: grpc.ServerWritableStream<Req, Res>,
      request: Req,
      send: (message: Res) => Promise<void>,
    ) => Promise<void>,
  ): grpc.handleServerStreamingCall<Req | RejectedMessage, Res>;
  clientStream<Req, Res>(
    name: string,
    fn: (call: grpc.ServerReadableStream<Req | RejectedMessage, Res>, ctx: RefusalContext) => Promise<Res>,
    hooks?: { onRefused?(e: ServiceError, ctx: RefusalContext): void },
  ): grpc.handleClientStreamingCall<Req | RejectedMessage, Res>;
}

const statusName = (code: number) => statusNames[code] ?? String(code);
const statusNames = Object.fromEntries(Object.entries(status).map(([k, v]) => [v, k])) as Record<
  number,
  string
>;

/** Audit data: short strings and finite numbers only, whatever a caller passes. */
function boundedData(data: Record<string, unknown> | undefined): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(data ?? {})) {
    if (typeof v === 'number' && Number.isFinite(v)) out[k] = v;
    else if (typeof v === 'string') out[k] = clip(v, 160);
  }
  return out;
}

export function createRpcKit(d: RpcKitDeps): RpcKit {
  const { db, log } = d;
  /** Who made a call, once a token said so. */
  const callers = new WeakMap<object, string>();
  const authorize = createAuthorizer({
    verifier: d.verifier,
    federation: d.federation,
    bindToCertificate: d.bindToCertificate,
    onCaller: (call, sub) => callers.set(call, sub),
  });
  const peer = (call: AnyCall) => {
    if (!d.bindToCertificate) return undefined;
    try {
      return peerSubject(call);
    } catch {
      return undefined;
    }
  };

  /** What every call is checked for before its handler runs. */
  function checkCall(name: string, call: AnyCall): void {
    const bytes = metadataBytes(call.metadata);
    if (bytes > MAX_METADATA_BYTES) {
      throw new RpcError(
        'RESOURCE_EXHAUSTED',
        'metadata_too_large',
        `the request metadata of ${name} is ${bytes} bytes; at most ${MAX_METADATA_BYTES} are accepted (a session token is about 1 KiB)`,
      );
    }
  }

  /**
   * Maps, logs and audits one refusal; returns the status to send, or undefined when the client is
   * gone. An audit failure is logged, never returned in place of the refusal.
   */
  function refused(
    rpc: string,
    call: AnyCall,
    err: unknown,
    ctx: RefusalContext = {},
  ): (ServiceError & { metadata?: grpc.Metadata }) | undefined {
    const member = callers.get(call);
    const from = peer(call);
    const fields = { rpc, member: member ?? from, plan: ctx.planId, round: ctx.round };
    if (err instanceof ClientGone || (call as { cancelled?: boolean }).cancelled) {
      log.info({ ...fields, event: 'rpc.cancelled' }, 'the client cancelled the call');
      return undefined;
    }
    const e = toServiceError(err);
    d.metrics?.refusal(rpc, e.reason);
    if (e.reason === 'internal') {
      log.error({ ...fields, err: (err as Error)?.stack ?? String(err) }, 'rpc failed');
    } else {
      log.warn({ ...fields, code: statusName(e.code), reason: e.reason, err: e.details }, 'rpc refused');
      const who = member ?? from;
      appendAudit(db, {
        federation: d.federation,
        event: ctx.round !== undefined ? 'contribution.refused' : 'rpc.refused',
        planId: ctx.planId,
        round: ctx.round,
        member: who,
        actor: who ?? 'anonymous',
        data: {
          rpc,
          code: statusName(e.code),
          reason: e.reason,
          details: e.details,
          ...(from !== undefined && from !== member ? { peer: from } : {}),
          ...boundedData(ctx.data),
        },
      }).catch((auditErr) =>
        log.error({ rpc, err: (auditErr as Error).message }, 'could not append the refusal to the audit log'),
      );
    }
    if (e.retryAfterMs === undefined) return e;
    const metadata = new Metadata();
    metadata.set(RETRY_AFTER_TRAILER, String(e.retryAfterMs));
    return { ...e, metadata };
  }

  const asStatus = (e: ServiceError & { metadata?: grpc.Metadata }) => ({
    code: e.code,
    details: e.details,
    ...(e.metadata ? { metadata: e.metadata } : {}),
  });

  return {
    authorize,
    peer,

    unary(name, fn) {
      return (call, callback) => {
        (async () => {
          checkCall(name, call);
          return fn(call as never, decoded(call.request));
        })().then(
          (res) => callback(null, res),
          (err) => {
            const e = refused(name, call, err);
            if (e) callback(asStatus(e));
          },
        );
      };
    },

    serverStream(name, fn) {
      return (call) => {
        const send = (message: Parameters<typeof call.write>[0]) =>
          new Promise<void>((resolve, reject) => {
            if (call.cancelled || call.destroyed) return reject(new ClientGone());
            if (call.write(message)) return resolve();
            const done = (err?: unknown) => {
              call.off('drain', onDrain);
              call.off('cancelled', onGone);
              call.off('close', onGone);
              if (err) reject(err);
              else resolve();
            };
            const onDrain = () => done();
            const onGone = () => done(new ClientGone());
            call.once('drain', onDrain);
            call.once('cancelled', onGone);
            call.once('close', onGone);
          });
        (async () => {
          checkCall(name, call);
          await fn(call as never, decoded(call.request), send);
          call.end();
        })().catch((err) => {
          const e = refused(name, call, err);
          // The stream's own error path: grpc-js sends this as the call's status once the stream
          // ends. (`call.destroy(err)` tears the stream down without ever sending a status.)
          if (e) call.emit('error', asStatus(e));
        });
      };
    },

    clientStream(name, fn, hooks) {
      return (call, callback) => {
        const ctx: RefusalContext = {};
        (async () => {
          checkCall(name, call);
          return fn(call, ctx);
        })().then(
          (res) => callback(null, res),
          (err) => {
            const e = refused(name, call, err, ctx);
            if (!e) return;
            hooks?.onRefused?.(e, ctx);
            callback(asStatus(e));
          },
        );
      };
    },
  };
}
