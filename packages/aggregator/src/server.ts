import { createServer, type Server as HttpServer } from 'node:http';
import * as grpc from '@grpc/grpc-js';
import { buildJwks, type IdentityKey, type JSONWebKeySet, TokenVerifier } from '@kpfl/kpt';
import { loadKpflProto, MAX_METADATA_BYTES } from '@kpfl/proto';
import {
  countRoundsByState,
  type Db,
  getMember,
  type KitMember,
  openDb,
  registerFederationAudited,
  registerProvisionedEpoch,
} from '@kpfl/store';
import type { Worker } from 'bullmq';
import { createAuditHandlers } from './audit-service.js';
import { Certificates, federationJwks } from './certificates.js';
import { startCheckpointer } from './checkpointer.js';
import {
  DEFAULT_MAX_INFLIGHT_MIB,
  DEFAULT_SESSIONS_PER_MINUTE,
  InflightBudget,
  SessionRateLimiter,
  StreamSlots,
} from './limits.js';
import { createLogger, type Logger } from './logger.js';
import { Metrics } from './metrics.js';
import { startReconciler } from './reconciler.js';
import { RoundEngine, type RoundEngineHooks } from './round-engine.js';
import { createRpcKit, guardService } from './rpc.js';
import { RunningSums } from './running-sums.js';
import { RoundQueue, redisConnection, startRoundWorker } from './scheduler.js';
import { createHandlers } from './service.js';

export interface TlsFiles {
  caPem: string;
  certPem: string;
  keyPem: string;
}

export interface AggregatorOptions {
  federation: string;
  coordinatorKey: IdentityKey;
  /** host:port for gRPC; port 0 picks a free one. */
  listen?: string;
  /** Mutual TLS with the provisioned CA; undefined = insecure (loopback only, by explicit choice). */
  tls?: TlsFiles;
  databaseUrl?: string;
  schema?: string;
  redisUrl?: string;
  /** Namespace for BullMQ queues and Redis keys, so several federations (or tests) share one Redis. */
  redisPrefix?: string;
  /** Run the round worker in this process (default) or leave it to `kpfl aggregator worker`. */
  runWorker?: boolean;
  /** Serve Prometheus metrics on this port (0 = any free port; undefined = off). */
  metricsPort?: number;
  /** Address the metrics endpoint binds; 127.0.0.1 unless a container publishes it. */
  metricsHost?: string;
  sessionTtlSeconds?: number;
  /** Update bytes all SubmitUpdate streams of this process may hold at once; default 256 MiB. */
  maxInflightBytes?: number;
  /** Authenticate attempts per member and minute, counted in Redis across front ends; default 60. */
  sessionsPerMinute?: number;
  log?: Logger;
  /** Fault-test hooks called after each committed round step (see RoundEngineHooks). */
  engineHooks?: RoundEngineHooks;
  /**
   * The coordinator kit's registry: the front end makes Postgres match it before it serves
   * (start-up registration, audited with `actor`; see registerFederationAudited).
   */
  registry?: {
    jwks: JSONWebKeySet;
    members: KitMember[];
    actor: string;
    /** `kpfl provision`'s epoch 1: its keyId (never the key), registered as ready if no epoch exists. */
    heEpoch?: { epoch: 1; keyId: string; heParams: string };
  };
}

export interface RunningAggregator {
  port: number;
  metricsPort?: number;
  db: Db;
  queue: RoundQueue;
  engine: RoundEngine;
  metrics: Metrics;
  log: Logger;
  close(): Promise<void>;
}

export const QUEUE_NAME = 'rounds';

/** Everything a round worker needs; shared by the gRPC front end and the separate worker process. */
export async function createCore(o: AggregatorOptions) {
  const log = o.log ?? createLogger('aggregator');
  const db = await openDb({ databaseUrl: o.databaseUrl, schema: o.schema });
  const prefix = o.redisPrefix ?? `kpfl:${o.federation}`;
  const redis = redisConnection(o.redisUrl);
  const queueRedis = redisConnection(o.redisUrl);
  const queue = new RoundQueue(QUEUE_NAME, queueRedis, prefix);
  const metrics = new Metrics();
  const coordinatorJwks = buildJwks([
    { kid: o.coordinatorKey.kid, publicJwk: o.coordinatorKey.publicJwk, memberId: 'coordinator' },
  ]);
  const certificates = new Certificates({
    db,
    coordinatorKey: o.coordinatorKey,
    federation: o.federation,
    log,
    jwks: () => federationJwks(db, o.federation, coordinatorJwks),
  });
  const sums = new RunningSums(o.runWorker !== false);
  const engine = new RoundEngine({
    db,
    sums,
    jobs: queue,
    log,
    metrics,
    signer: certificates,
    hooks: o.engineHooks,
  });
  return { log, db, redis, queueRedis, queue, metrics, coordinatorJwks, certificates, sums, engine, prefix };
}

export async function startAggregator(o: AggregatorOptions): Promise<RunningAggregator> {
  const core = await createCore(o);
  const { log, db, redis, queue, metrics, engine } = core;
  if (o.registry) {
    const { heEpoch, ...registry } = o.registry;
    await registerFederationAudited(db, { federation: o.federation, ...registry });
    if (heEpoch)
      await registerProvisionedEpoch(db, {
        federation: o.federation,
        heParams: heEpoch.heParams,
        keyId: heEpoch.keyId,
        actor: registry.actor,
        revoked: registry.members
          .filter((m) => m.status === 'revoked' && m.roles.includes('participant'))
          .map((m) => m.id),
      });
  }
  const verifier = new TokenVerifier({
    jwks: core.coordinatorJwks as JSONWebKeySet,
    issuer: `kpfl:${o.federation}:coordinator`,
    audience: `kpfl:${o.federation}:aggregator`,
    replay: 'allow',
    isRevoked: async (sub) => (await getMember(db, o.federation, sub))?.status !== 'active',
  });
  const rpc = createRpcKit({
    db,
    federation: o.federation,
    log,
    metrics,
    verifier,
    bindToCertificate: Boolean(o.tls),
  });
  const handlers = createHandlers({
    federation: o.federation,
    audience: `kpfl:${o.federation}:aggregator`,
    issuer: `kpfl:${o.federation}:coordinator`,
    coordinatorKey: o.coordinatorKey,
    db,
    redis,
    engine,
    certificates: core.certificates,
    log,
    metrics,
    sessionTtlSeconds: o.sessionTtlSeconds ?? 600,
    redisPrefix: core.prefix,
    rpc,
    sessions: new SessionRateLimiter(redis, core.prefix, o.sessionsPerMinute ?? DEFAULT_SESSIONS_PER_MINUTE),
    slots: new StreamSlots(metrics),
    budget: new InflightBudget(o.maxInflightBytes ?? DEFAULT_MAX_INFLIGHT_MIB * 2 ** 20, metrics),
  });
  const server = new grpc.Server();
  advertiseMetadataLimit(server);
  const proto = loadKpflProto().kpfl.v1;
  server.addService(
    guardService(proto.Audit.service),
    createAuditHandlers({
      db,
      federation: o.federation,
      rpc,
      jwks: () => federationJwks(db, o.federation, core.coordinatorJwks),
    }),
  );
  server.addService(guardService(proto.Aggregator.service), handlers);
  const creds = o.tls
    ? grpc.ServerCredentials.createSsl(
        Buffer.from(o.tls.caPem),
        [{ cert_chain: Buffer.from(o.tls.certPem), private_key: Buffer.from(o.tls.keyPem) }],
        true,
      )
    : grpc.ServerCredentials.createInsecure();
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(o.listen ?? '127.0.0.1:0', creds, (err, p) => (err ? reject(err) : resolve(p))),
  );
  let worker: Worker | undefined;
  let stopReconciler = () => {};
  let stopCheckpointer = async () => {};
  if (o.runWorker !== false) {
    worker = startRoundWorker({
      queueName: QUEUE_NAME,
      prefix: core.prefix,
      connection: core.queueRedis,
      engine,
      log,
    });
    stopReconciler = startReconciler(db, queue, log, o.federation);
    stopCheckpointer = startCheckpointer(db, o.coordinatorKey, o.federation, log);
  }
  let http: HttpServer | undefined;
  let metricsPort: number | undefined;
  if (o.metricsPort !== undefined) {
    ({ http, port: metricsPort } = await serveMetrics(metrics, queue, o.metricsPort, db, o.metricsHost));
  }
  log.info(
    { port, tls: Boolean(o.tls), worker: Boolean(worker), metricsPort, event: 'aggregator.started' },
    'aggregator listening',
  );
  return {
    port,
    metricsPort,
    db,
    queue,
    engine,
    metrics,
    log,
    async close() {
      // Stop taking calls, let in-flight ones finish (bounded), then stop the worker after its current job.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 5000);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      stopReconciler();
      await worker?.close();
      await stopCheckpointer();
      await new Promise<void>((r) => (http ? http.close(() => r()) : r()));
      await queue.close();
      core.sums.dropAll();
      await Promise.allSettled([redis.quit(), core.queueRedis.quit()]);
      await db.close();
      log.info({ event: 'aggregator.stopped' }, 'aggregator stopped');
    },
  };
}

/**
 * The HTTP/2 header list size this server advertises (SETTINGS_MAX_HEADER_LIST_SIZE): twice the
 * metadata it answers, so that a client which honours the setting sends an oversized token and gets
 * RESOURCE_EXHAUSTED from the handler, rather than a local failure or a reset stream. grpc-js has no
 * option for it; its http2 server options are set before bindAsync creates the server. (Node's
 * HTTP/2 parser also refuses any single header field over 64 KiB as encoded, closing the
 * connection: that is beyond what a gRPC handler can answer.)
 */
function advertiseMetadataLimit(server: grpc.Server): void {
  const internal = server as unknown as { commonServerOptions?: { settings?: Record<string, number> } };
  if (!internal.commonServerOptions) {
    throw new Error('grpc-js no longer has commonServerOptions: set the HTTP/2 header list size another way');
  }
  internal.commonServerOptions.settings = {
    ...internal.commonServerOptions.settings,
    maxHeaderListSize: 2 * MAX_METADATA_BYTES,
  };
}

/** Runs only the round worker (aggregation, deadlines, opening rounds): the scale-out process. */
export async function startRoundWorkerProcess(o: AggregatorOptions): Promise<{ close(): Promise<void> }> {
  const core = await createCore(o);
  const worker = startRoundWorker({
    queueName: QUEUE_NAME,
    prefix: core.prefix,
    connection: core.queueRedis,
    engine: core.engine,
    log: core.log,
  });
  const stopReconciler = startReconciler(core.db, core.queue, core.log, o.federation);
  const stopCheckpointer = startCheckpointer(core.db, o.coordinatorKey, o.federation, core.log);
  core.log.info({ event: 'worker.started' }, 'round worker started');
  return {
    async close() {
      stopReconciler();
      await worker.close();
      await stopCheckpointer();
      await core.queue.close();
      core.sums.dropAll();
      await Promise.allSettled([core.redis.quit(), core.queueRedis.quit()]);
      await core.db.close();
    },
  };
}

export async function serveMetrics(
  metrics: Metrics,
  queue: RoundQueue,
  port: number,
  db?: Db,
  host = '127.0.0.1',
) {
  const http = createServer(async (req, res) => {
    if (req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      return;
    }
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    try {
      const counts = await queue.counts();
      for (const [state, n] of Object.entries(counts)) metrics.queueDepth.set({ state }, n);
      if (db) {
        for (const [state, n] of Object.entries(await countRoundsByState(db)))
          metrics.roundsByState.set({ state }, n);
      }
      res
        .writeHead(200, { 'content-type': metrics.registry.contentType })
        .end(await metrics.registry.metrics());
    } catch (err) {
      res.writeHead(503).end(`metrics unavailable: ${(err as Error).message}\n`);
    }
  });
  await new Promise<void>((r) => http.listen(port, host, r));
  const addr = http.address();
  return { http, port: typeof addr === 'object' && addr ? addr.port : port };
}
