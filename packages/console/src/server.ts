import type { ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AuditError, type AuditVerdict } from '@kpfl/audit';
import type { JSONWebKeySet, JWK } from '@kpfl/kpt';
import { auditHead, type Db } from '@kpfl/store';
import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import pino, { type Logger } from 'pino';
import {
  ConsoleAuth,
  type ConsoleRole,
  type ConsoleSession,
  clearedCookie,
  cookieValue,
  sessionCookie,
} from './auth.js';
import { webBundle } from './bundle.js';
import { ConsoleError, HTTP_STATUS } from './errors.js';
import { parsePrometheusText } from './metrics.js';
import {
  auditLog,
  contributions,
  evaluations,
  overview,
  rounds,
  type ViewContext,
  verifyChain,
  verifyContribution,
} from './views.js';

export interface ConsoleOptions {
  db: Db;
  federation: string;
  /** The coordinator's JWKS (a coordinator kit's `jwks`): the federation JWKS is built from it and the members. */
  coordinatorJwks: JSONWebKeySet;
  /** The public JWK the operator proves (the coordinator kit's signing key). */
  operatorJwk: JWK;
  /** host:port; default 127.0.0.1:0 (a free port). A non-loopback host needs `tls`. */
  listen?: string;
  /** The kit's TLS material (server certificate and key): HTTPS. */
  tls?: { certPem: string; keyPem: string };
  /** Prometheus text of the aggregator (its registry in process, or its /metrics); absent: no metrics page data. */
  metricsText?: () => Promise<string>;
  sessionTtlSeconds?: number;
  /** How often the one poller looks at the audit head while a browser listens (default 1000 ms). */
  pollMs?: number;
  log?: Logger;
}

export interface RunningConsole {
  url: string;
  port: number;
  /** Bytes of the bundle it serves: script, stylesheet, page. */
  bundleBytes: { js: number; css: number; html: number };
  close(): Promise<void>;
}

const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function parseListen(listen: string): { host: string; port: number } {
  const i = listen.lastIndexOf(':');
  const host = listen.slice(0, i).replace(/^\[(.*)\]$/, '$1');
  const port = Number(listen.slice(i + 1));
  if (i <= 0 || !Number.isInteger(port) || port < 0 || port > 65535)
    throw new ConsoleError('CONFIG', `console listen address "${listen}" is not host:port`);
  return { host, port };
}

declare module 'fastify' {
  interface FastifyRequest {
    consoleSession?: ConsoleSession;
  }
}

/**
 * Serves the read-only console: the bundled page, a JSON API per page, Server-Sent Events for live
 * updates. Every /api route but the log-in ones needs a session cookie; the metrics need the operator.
 */
export async function startConsole(o: ConsoleOptions): Promise<RunningConsole> {
  const { host, port } = parseListen(o.listen ?? '127.0.0.1:0');
  if (!isLoopback(host) && !o.tls)
    throw new ConsoleError(
      'CONFIG',
      `the console binds ${host} only over TLS: give the kit's TLS material, or bind 127.0.0.1`,
    );
  const log = o.log ?? pino({ name: 'console', base: { svc: 'console' } }, pino.destination(2));
  const bundle = await webBundle();
  const secure = o.tls !== undefined;
  const auth = new ConsoleAuth({
    db: o.db,
    federation: o.federation,
    operatorJwk: o.operatorJwk,
    sessionTtlSeconds: o.sessionTtlSeconds,
  });
  const ctx: ViewContext = { db: o.db, federation: o.federation, coordinatorJwks: o.coordinatorJwks };
  // Typed as the plain HTTP server: the routes do not depend on whether TLS is on.
  const app = (Fastify as unknown as (opts: object) => FastifyInstance)({
    loggerInstance: log,
    // One line per log-in and per failure, not per request.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 16 * 1024,
    ...(o.tls ? { https: { cert: o.tls.certPem, key: o.tls.keyPem } } : {}),
  });

  app.addHook('onSend', async (req, reply, payload) => {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) reply.header(k, v);
    if (req.url.startsWith('/api/')) reply.header('cache-control', 'no-store');
    return payload;
  });

  app.setErrorHandler((err, req, reply) => {
    if (err instanceof ConsoleError) {
      return reply.code(HTTP_STATUS[err.code]).send({ error: err.message, code: err.code });
    }
    if (err instanceof AuditError) return reply.code(400).send({ error: err.message, code: err.code });
    const status = (err as { statusCode?: number }).statusCode;
    if (status && status >= 400 && status < 500)
      return reply.code(status).send({ error: (err as Error).message });
    req.log.error({ err, url: req.url }, 'console request failed');
    return reply.code(500).send({ error: 'internal error (see the console log)' });
  });

  // Cross-site requests carry no cookie (SameSite=Strict); a POST from another origin is refused all the same.
  app.addHook('onRequest', async (req) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      const origin = req.headers.origin;
      if (origin !== undefined && origin !== 'null' && new URL(origin).host !== req.headers.host)
        throw new ConsoleError('FORBIDDEN', 'cross-origin request refused');
    }
  });

  const requireSession =
    (roles: readonly ConsoleRole[] = ['auditor', 'operator']) =>
    async (req: FastifyRequest) => {
      const s = await auth.session(cookieValue(req.headers.cookie));
      if (!roles.includes(s.role))
        throw new ConsoleError('FORBIDDEN', `the ${s.role} may not read this (${roles.join(' or ')} only)`);
      req.consoleSession = s;
    };
  const anyone = { preHandler: requireSession() };
  const operatorOnly = { preHandler: requireSession(['operator']) };

  const asset = (type: string, body: Buffer) => async (_req: FastifyRequest, reply: FastifyReply) =>
    reply.type(type).header('cache-control', 'no-cache').send(body);
  app.get('/', asset('text/html; charset=utf-8', bundle.html));
  app.get('/app.js', asset('text/javascript; charset=utf-8', bundle.js));
  app.get('/app.css', asset('text/css; charset=utf-8', bundle.css));
  app.get('/favicon.ico', async (_req, reply) => reply.code(204).send());

  app.post('/api/login/challenge', async (req) => {
    const subject = (req.body as { subject?: unknown } | undefined)?.subject;
    return auth.challenge(subject as string);
  });
  app.post('/api/login', async (req, reply) => {
    const proof = (req.body as { proof?: unknown } | undefined)?.proof;
    try {
      const s = await auth.login(proof);
      req.log.info({ subject: s.subject, role: s.role }, 'console log-in');
      reply.header('set-cookie', sessionCookie(s, secure));
      return { subject: s.subject, role: s.role, expiresAt: new Date(s.expiresAt).toISOString() };
    } catch (err) {
      req.log.warn({ reason: (err as Error).message }, 'console log-in refused');
      throw err;
    }
  });
  app.post('/api/logout', async (req, reply) => {
    auth.logout(cookieValue(req.headers.cookie));
    reply.header('set-cookie', clearedCookie(secure));
    return { ok: true };
  });
  app.get('/api/session', anyone, async (req) => {
    const s = req.consoleSession!;
    return {
      subject: s.subject,
      role: s.role,
      federation: o.federation,
      expiresAt: new Date(s.expiresAt).toISOString(),
    };
  });

  app.get('/api/overview', anyone, async () => overview(ctx));
  app.get('/api/rounds', anyone, async () => rounds(ctx));
  app.get('/api/evaluations', anyone, async () => evaluations(ctx));
  app.get('/api/contributions', anyone, async (req) => contributions(ctx, req.query as never));
  app.post('/api/contributions/verify', anyone, async (req) => {
    const b = (req.body ?? {}) as { planId?: unknown; round?: unknown; member?: unknown };
    if (typeof b.planId !== 'string' || typeof b.member !== 'string' || !Number.isInteger(b.round))
      throw new ConsoleError('BAD_REQUEST', 'verify needs planId, round (a whole number) and member');
    return verifyContribution(ctx, { planId: b.planId, round: b.round as number, member: b.member });
  });
  app.get('/api/audit', anyone, async (req) => auditLog(ctx, req.query as never));
  app.get('/api/metrics', operatorOnly, async () => {
    if (!o.metricsText) return { available: false, families: [], queue: {} };
    return { available: true, ...parsePrometheusText(await o.metricsText()) };
  });

  // Live updates: one poller for every browser, started while at least one listens.
  const clients = new Set<{ sessionId: string; res: ServerResponse }>();
  const send = (res: ServerResponse, event: string, data: unknown) =>
    res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  const broadcast = (event: string, data: unknown) => {
    for (const c of clients) send(c.res, event, data);
  };
  let lastHead = -1;
  let ticks = 0;
  let polling = false;
  const poll = async () => {
    if (polling || clients.size === 0) return;
    polling = true;
    try {
      ticks++;
      const head = (await auditHead(o.db)).seq;
      if (head !== lastHead || ticks % 5 === 0) {
        // Sessions are re-checked as they stream: a revoked auditor's stream ends.
        for (const c of clients) {
          await auth.session(c.sessionId).catch(() => {
            send(c.res, 'logout', { reason: 'session ended' });
            c.res.end();
            clients.delete(c);
          });
        }
      }
      if (head !== lastHead) {
        lastHead = head;
        broadcast('change', { head, live: (await overview(ctx)).live });
      } else if (ticks % 15 === 0) for (const c of clients) c.res.write(': keep-alive\n\n');
    } catch (err) {
      log.warn({ err }, 'console poll failed');
    } finally {
      polling = false;
    }
  };
  const timer = setInterval(poll, o.pollMs ?? 1000);
  timer.unref();

  app.get('/api/events', anyone, async (req, reply) => {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    });
    res.write('retry: 3000\n\n');
    const c = { sessionId: req.consoleSession!.id, res };
    clients.add(c);
    send(res, 'change', { head: (await auditHead(o.db)).seq, live: (await overview(ctx)).live });
    if (verifyState) send(res, 'verify', verifyState);
    req.raw.on('close', () => clients.delete(c));
  });

  // The whole-chain verification: one at a time, its progress broadcast over the event stream.
  type VerifyState = {
    running: boolean;
    stage: string;
    rows?: number;
    startedAt: string;
    finishedAt?: string;
    verdict?: Pick<AuditVerdict, 'ok' | 'checked' | 'firstError' | 'head'> & {
      errors: AuditVerdict['errors'];
    };
    error?: string;
  };
  let verifyState: VerifyState | undefined;
  app.post('/api/verify', anyone, async () => {
    if (verifyState?.running) return verifyState;
    const state: VerifyState = { running: true, stage: 'export', startedAt: new Date().toISOString() };
    verifyState = state;
    broadcast('verify', state);
    verifyChain(ctx, (p) => {
      state.stage = p.stage;
      if (p.rows !== undefined) state.rows = p.rows;
      broadcast('verify', state);
    })
      .then((v) => {
        state.verdict = {
          ok: v.ok,
          checked: v.checked,
          firstError: v.firstError,
          head: v.head,
          errors: v.errors.slice(0, 20),
        };
      })
      .catch((err) => {
        log.error({ err }, 'console chain verification failed');
        state.error = 'the verification could not run (see the console log)';
      })
      .finally(() => {
        state.running = false;
        state.stage = 'done';
        state.finishedAt = new Date().toISOString();
        broadcast('verify', state);
      });
    return state;
  });
  app.get('/api/verify', anyone, async () => verifyState ?? { running: false, stage: 'idle' });

  await app.listen({ host, port });
  const addr = app.server.address() as AddressInfo;
  const shown = host.includes(':') ? `[${host}]` : host;
  const url = `${secure ? 'https' : 'http'}://${shown}:${addr.port}/`;
  log.info({ url }, 'console listening');
  return {
    url,
    port: addr.port,
    bundleBytes: { js: bundle.js.length, css: bundle.css.length, html: bundle.html.length },
    async close() {
      clearInterval(timer);
      for (const c of clients) c.res.end();
      clients.clear();
      await app.close();
    },
  };
}
