import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import pg from 'pg';
import pino from 'pino';
import {
  type AggregatorOptions,
  createLogger,
  kitOptions,
  RoundQueue,
  type RunningAggregator,
  redisConnection,
  schedulePlan,
  startAggregator,
} from '../packages/aggregator/src/index.js';
import {
  type CoordinatorKitFile,
  identityOf,
  provisionKits,
  readMemberKit,
} from '../packages/cli/src/kits.js';
import { cliCommand } from '../packages/cli/src/paths.js';
import { DEFAULT_HE_PARAMS, DEFAULT_SECURE_PARAMS } from '../packages/he/src/index.js';
import { importIdentity } from '../packages/kpt/src/index.js';
import {
  AggregatorError,
  type ParticipantOptions,
  runParticipant,
  SIMULATED_TRAINING,
  SimulatedParticipant,
} from '../packages/participant/src/index.js';
import {
  type Db,
  DEFAULT_DATABASE_URL,
  dropSchema,
  migrateSchema,
  openDb,
  type PlanRow,
  registerFederationAudited,
} from '../packages/store/src/index.js';

export interface TestFederationOptions {
  members?: string[];
  auditors?: string[];
  mode?: 'he' | 'plain' | 'secure';
  /** Secure mode: seconds per key-exchange phase. */
  phaseSeconds?: number;
  rounds?: number;
  minParticipants?: number;
  fraction?: number;
  deadlineSeconds?: number;
  /** Length of the simulated model update (no training happens in these tests). */
  parameterCount?: number;
  tls?: boolean;
  /** false: the caller starts the aggregator (e.g. as a separate process). */
  startAggregator?: boolean;
  /** false: the in-process aggregator is a gRPC front end only; round jobs wait for a worker. */
  worker?: boolean;
  onRoundFailure?: 'continue' | 'stop';
  /** The plan's strategy spec (default: the simulated training's fedavg). */
  serverOptimizer?: string;
  maxUpdateNorm?: number;
  /** Limits of the in-process aggregator (defaults: the aggregator's). */
  limits?: Pick<AggregatorOptions, 'maxInflightBytes' | 'sessionsPerMinute'>;
}

export interface TestFederation {
  id: string;
  federation: string;
  schema: string;
  redisPrefix: string;
  work: string;
  coordinator: CoordinatorKitFile;
  agg?: RunningAggregator;
  plan?: PlanRow;
  participant(memberId: string, address?: string): Promise<SimulatedParticipant>;
  memberKit(memberId: string): ReturnType<typeof readMemberKit>;
  schedule(over?: Partial<TestFederationOptions>): Promise<PlanRow>;
  /** Postgres and queue handles: the in-process aggregator's, or the test's own when it runs as a process. */
  handles(): Promise<{ db: Db; queue: RoundQueue }>;
  address(): string;
  stop(): Promise<void>;
}

/**
 * The aggregator's login role in tests, a member of kpfl_aggregator: every in-process aggregator
 * runs with exactly the privileges a deployment gives it, so a missing grant fails the tests.
 */
export const TEST_AGGREGATOR_ROLE = 'kpfl_test_aggregator';
export const AGGREGATOR_DATABASE_URL = `postgres://${TEST_AGGREGATOR_ROLE}@127.0.0.1:5432/test`;
/** The acting operator the tests' registrations and plans name. */
export const TEST_OPERATOR = 'operator:test';

/** Creates the test login role once per cluster (trust auth here: no password); concurrent files race harmlessly. */
async function ensureTestLoginRole(): Promise<void> {
  const client = new pg.Client({ connectionString: DEFAULT_DATABASE_URL });
  await client.connect();
  try {
    await client.query(`CREATE ROLE ${TEST_AGGREGATOR_ROLE} LOGIN`);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code !== '42710' && code !== '23505') throw err; // it exists
  } finally {
    await client.end();
  }
}

/**
 * A throwaway federation on real Postgres, Redis and gRPC, in its own schema and Redis prefix. The
 * schema is migrated as the owner (`kpfl migrate`'s path); the aggregator connects as TEST_AGGREGATOR_ROLE.
 */
export async function startTestFederation(o: TestFederationOptions = {}): Promise<TestFederation> {
  const id = randomBytes(4).toString('hex');
  const federation = `test-${id}`;
  const schema = `test_${id}`;
  const redisPrefix = `kpfl-test:${id}`;
  const work = mkdtempSync(join(tmpdir(), 'kpfl-test-'));
  const members = o.members ?? ['alice', 'bob', 'carol'];
  await ensureTestLoginRole();
  await migrateSchema(DEFAULT_DATABASE_URL, schema, { grantTo: [TEST_AGGREGATOR_ROLE] });
  const { coordinator } = await provisionKits({
    federation,
    members,
    auditors: o.auditors ?? ['auditor-1'],
    out: work,
    // One key set per federation: BFV for a secure federation, CKKS otherwise.
    heParams: o.mode === 'secure' ? DEFAULT_SECURE_PARAMS : DEFAULT_HE_PARAMS,
  });
  const tls = o.tls ?? true;
  const participants: SimulatedParticipant[] = [];
  let own: { db: Db; queue: RoundQueue; redis: ReturnType<typeof redisConnection> } | undefined;
  const f: TestFederation = {
    id,
    federation,
    schema,
    redisPrefix,
    work,
    coordinator,
    memberKit: (m) => readMemberKit(join(work, m.startsWith('auditor') ? 'auditors' : 'members', m)),
    address: () => `localhost:${f.agg!.port}`,
    async participant(memberId, address) {
      const kit = f.memberKit(memberId);
      const p = new SimulatedParticipant({
        federation,
        memberId,
        identity: await identityOf(kit),
        coordinatorJwks: kit.coordinatorJwks,
        address: address ?? f.address(),
        tls: tls ? kit.tls : undefined,
      });
      participants.push(p);
      return p;
    },
    async schedule(over = {}) {
      const p = { ...o, ...over };
      const { db, queue } = await f.handles();
      f.plan = await schedulePlan(db, queue, {
        id: `${federation}-plan-${randomBytes(2).toString('hex')}`,
        federation,
        rounds: p.rounds ?? 1,
        minParticipants: p.minParticipants ?? members.length,
        fraction: p.fraction ?? 1,
        deadlineSeconds: p.deadlineSeconds ?? 120,
        onRoundFailure: p.onRoundFailure,
        mode: p.mode ?? 'he',
        heParams: p.mode === 'secure' ? DEFAULT_SECURE_PARAMS : DEFAULT_HE_PARAMS,
        phaseSeconds: p.phaseSeconds,
        parameterCount: p.parameterCount ?? 10_000,
        training: {
          ...SIMULATED_TRAINING,
          serverOptimizer: p.serverOptimizer ?? SIMULATED_TRAINING.serverOptimizer,
        },
        seed: 1,
        // Simulated participants train nothing: any fixed digest names the model round 1 starts from.
        initialModelDigest: INITIAL_DIGEST,
        maxUpdateNorm: p.maxUpdateNorm,
      });
      return f.plan;
    },
    async handles() {
      if (f.agg) return { db: f.agg.db, queue: f.agg.queue };
      if (!own) {
        const db = await openDb({ schema });
        const redis = redisConnection();
        const queue = new RoundQueue('rounds', redis, redisPrefix);
        // What the aggregator's start-up does, for tests whose aggregator is a process started later.
        await registerFederationAudited(db, {
          federation,
          jwks: coordinator.jwks,
          members: coordinator.members,
          actor: TEST_OPERATOR,
        });
        own = { db, queue, redis };
      }
      return own;
    },
    async stop() {
      for (const p of participants) p.close();
      await f.agg?.close();
      if (own) {
        await own.queue.close();
        await own.redis.quit();
        await own.db.close();
      }
      await dropSchema(undefined, schema).catch(() => {});
      if (!process.env.KEEP_WORK) rmSync(work, { recursive: true, force: true });
    },
  };
  if (o.startAggregator !== false) {
    f.agg = await startAggregator({
      ...(await kitOptions(coordinator, { insecure: !tls, actor: TEST_OPERATOR })),
      listen: '127.0.0.1:0',
      databaseUrl: AGGREGATOR_DATABASE_URL,
      schema,
      redisPrefix,
      runWorker: o.worker,
      metricsPort: 0,
      ...o.limits,
      log: createLogger('aggregator', { file: join(work, 'aggregator.log') }),
    });
  }
  return f;
}

/**
 * The real participant loop for `member`, with its kit's identity, TLS and consortium key, logging
 * to <work>/<member>.log; `o` gives the app and anything else the test sets.
 */
export async function runMember(
  f: TestFederation,
  member: string,
  o: Pick<ParticipantOptions, 'app'> & Partial<ParticipantOptions>,
) {
  const kit = f.memberKit(member);
  return runParticipant({
    federation: f.federation,
    memberId: member,
    identity: await identityOf(kit),
    coordinatorJwks: kit.coordinatorJwks,
    address: f.address(),
    tls: kit.tls,
    consortiumKey: kit.heKey,
    log: pino({ level: 'info' }, pino.destination({ dest: join(f.work, `${member}.log`), sync: true })),
    ...o,
  });
}

/** Runs `kpfl ...` as a child process; resolves with the first JSON line it prints on stdout. */
export function spawnKpfl(
  args: string[],
  env: Record<string, string> = {},
): { child: ChildProcess; firstLine: Promise<Record<string, unknown>>; stderr: () => string } {
  const { cmd, args: argv } = cliCommand(args);
  const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let err = '';
  child.stderr!.on('data', (b) => (err += b));
  const firstLine = new Promise<Record<string, unknown>>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (b) => {
      out += b;
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(JSON.parse(out.slice(0, nl)));
    });
    child.on('exit', (code) =>
      reject(new Error(`kpfl ${args[0]} exited with ${code}:\n${err.slice(-2000)}`)),
    );
  });
  firstLine.catch(() => {});
  return { child, firstLine, stderr: () => err };
}

/** Polls until fn returns a truthy value (bounded). */
export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | false>,
  timeoutMs = 60_000,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export { importIdentity };

/** A TCP port that was free a moment ago (for processes that must restart on the same address). */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

export const INITIAL_DIGEST = `sha256:${'0'.repeat(64)}`;

/** A distinctive pre-weighted update for member k: values, then the example count in the trailing slot. */
export function syntheticUpdate(length: number, k: number, examples: number): Float64Array {
  const v = new Float64Array(length + 1);
  for (let i = 0; i < length; i++) v[i] = examples * (((i * 7 + k * 13) % 101) / 1000 - 0.05);
  v[length] = examples;
  return v;
}

/**
 * Reports round 0's evaluation. The plan records the initial model (INITIAL_DIGEST in these tests),
 * so this decides nothing; it is what a participant does when it starts.
 */
export function reportInitialModel(p: SimulatedParticipant, digest = INITIAL_DIGEST) {
  return p.conn.reportEvaluation({ round: 0, globalModelDigest: digest, accuracy: 0, loss: 0, examples: 0 });
}

/**
 * Round `round`'s contributors sign `digest` as the global model after it (ADR 0007): each entry is
 * a simulated participant and the attestation digest its receipt named. Returns the last answer.
 */
export async function agreeRound(
  round: number,
  signers: { p: SimulatedParticipant; attestationDigest: string }[],
  digest: string,
) {
  let last: Awaited<ReturnType<SimulatedParticipant['countersign']>> | undefined;
  // The coordinator signs the certificate just after publishing: a countersignature waits for it.
  const first = signers[0]?.p;
  if (first)
    await waitFor(`round ${round}'s certificate`, () =>
      first.conn.getRoundCertificate(round).then(
        () => true,
        (err) => {
          if (err instanceof AggregatorError && err.codeName === 'NOT_FOUND') return false;
          throw err;
        },
      ),
    );
  for (const s of signers) last = await s.p.countersign(round, s.attestationDigest, { modelDigest: digest });
  return last;
}

/** At most two CLI processes at a time: each start is CPU-heavy and this machine has two cores. */
let runningCli = 0;
const waitingCli: (() => void)[] = [];
async function cliSlot<T>(fn: () => Promise<T>): Promise<T> {
  if (runningCli >= 2) await new Promise<void>((r) => waitingCli.push(r));
  runningCli++;
  try {
    return await fn();
  } finally {
    runningCli--;
    waitingCli.shift()?.();
  }
}

/**
 * Runs `kpfl ...` to completion without blocking this process (an in-process aggregator must keep
 * serving) and returns its exit code and output. `env` is the child's whole environment.
 */
export function runKpfl(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ code: number | null; out: string; err: string }> {
  const { cmd, args: argv } = cliCommand(args);
  return cliSlot(
    () =>
      new Promise((resolve) => {
        const child = spawn(cmd, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        let err = '';
        child.stdout!.on('data', (b) => (out += b));
        child.stderr!.on('data', (b) => (err += b));
        const timer = setTimeout(() => child.kill('SIGKILL'), 180_000);
        child.on('close', (code) => {
          clearTimeout(timer);
          resolve({ code, out, err });
        });
      }),
  );
}

/** The audit chain's head, to look for entries appended after it. */
export async function auditHead(db: Db): Promise<number> {
  return (await db.query<{ n: number }>('SELECT coalesce(max(seq), 0)::int AS n FROM audit_log')).rows[0]!.n;
}

/** A refusal with these details was audited after `after`, with this status (audits trail the answer). */
export async function assertAudited(
  db: Db,
  after: number,
  code: grpc.status,
  details: string,
): Promise<void> {
  const row = await waitFor(
    `an audit entry for "${details}"`,
    async () => {
      const { rows } = await db.query<{ event: string; data: { code?: string; details?: string } }>(
        'SELECT event, data FROM audit_log WHERE seq > $1 ORDER BY seq',
        [after],
      );
      return rows.find((r) => r.data.details === details);
    },
    5000,
  );
  assert.match(row.event, /^(rpc|contribution)\.refused$/);
  assert.equal(row.data.code, grpc.status[code]);
}

/**
 * `send` must be refused with `code` and a message matching `message`, and leave `state()` (what the
 * caller reads back from Postgres: rows, counters, round state) exactly as it was. Unless `audited` is
 * false (a refusal that never reaches the aggregator), the refusal is found in the audit log too.
 * Returns the message and the state read after the refusal.
 */
export async function assertRefused<S>(
  db: Db,
  state: () => Promise<S>,
  send: () => Promise<unknown>,
  code: grpc.status,
  message: RegExp,
  opts: { audited?: boolean } = {},
): Promise<{ message: string; state: S }> {
  const before = await state();
  const head = await auditHead(db);
  let caught: { code?: number; message: string } | undefined;
  try {
    await send();
  } catch (err) {
    // A raw gRPC ServiceError carries its numeric status in code, an AggregatorError in status.
    const e = err as { code?: number; details?: string; message: string };
    caught = { code: err instanceof AggregatorError ? err.status : e.code, message: e.details || e.message };
  }
  assert.ok(caught, 'the aggregator must refuse it');
  assert.equal(grpc.status[caught.code!], grpc.status[code], `status (message: ${caught.message})`);
  assert.match(caught.message, message);
  const after = await state();
  assert.deepEqual(after, before, 'nothing stored or counted');
  if (opts.audited !== false) await assertAudited(db, head, code, caught.message);
  return { message: caught.message, state: after };
}
