/**
 * A throwaway federation for the system benchmarks (scale, streams): kits in a temporary directory,
 * a schema migrated by its owner (as `kpfl migrate` does), and the aggregator as its own
 * `kpfl aggregator` process, so that its memory is measured alone. Everything it made is removed on
 * close unless `keep`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RoundQueue, redisConnection, schedulePlan } from '@kpfl/aggregator';
import { type IdentityKey, importIdentity } from '@kpfl/kpt';
import { SIMULATED_TRAINING } from '@kpfl/participant';
import { type Db, DEFAULT_DATABASE_URL, dropSchema, migrateSchema, openDb, type PlanRow } from '@kpfl/store';
import { deleteRedisPrefix } from '@kpfl/testing';
import type { BenchEnv, MemberKitLike } from './env.js';

export interface BenchFederation {
  federation: string;
  schema: string;
  work: string;
  kits: MemberKitLike[];
  identities: IdentityKey[];
  /** The aggregator process: its pid (for /proc), gRPC and metrics ports. */
  aggregator: { pid: number; port: number; metricsPort: number };
  /** The control connection, as an operator's `kpfl rounds` has it. */
  db: Db;
  /** A one-round plan of simulated participants: nothing trains, any fixed digest names the model. */
  scheduleRound(o: {
    minParticipants: number;
    deadlineSeconds: number;
    mode: 'he' | 'plain';
    heParams: string;
    parameterCount: number;
  }): Promise<PlanRow>;
  /** Stops the aggregator (SIGTERM, then SIGKILL after 15 s) and removes everything unless `keep`. */
  close(keep: boolean): Promise<void>;
}

export async function startBenchFederation(
  env: BenchEnv,
  o: {
    /** 'scale' or 'streams': names the federation, schema, Redis prefix and directory. */
    bench: string;
    members: string[];
    heParams: string;
    tls: boolean;
    /** More `kpfl aggregator` flags. */
    aggregatorArgs?: string[];
    /** Run the aggregator of the checkout at this root (a before/after comparison). */
    aggregatorRoot?: string;
    progress: (line: string) => void;
  },
): Promise<BenchFederation> {
  const id = randomBytes(4).toString('hex');
  const federation = `${o.bench}-${id}`;
  const schema = `bench_${o.bench}_${id}`;
  const prefix = `kpfl-bench-${o.bench}:${id}`;
  const work = mkdtempSync(join(tmpdir(), `kpfl-bench-${o.bench}-`));
  let child: ChildProcess | undefined;
  const closers: (() => Promise<unknown>)[] = [];
  const close = async (keep: boolean) => {
    for (const c of closers.reverse()) await c().catch(() => {});
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child?.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    }
    if (keep) o.progress(`${o.bench}: kept ${work} (aggregator.log) and schema ${schema}`);
    else {
      await dropSchema(env.databaseUrl, schema).catch(() => {});
      await deleteRedisPrefix(prefix, env.redisUrl).catch(() => {});
      rmSync(work, { recursive: true, force: true });
    }
  };
  try {
    await env.provisionKits({ federation, members: o.members, out: work, heParams: o.heParams });
    const kits = o.members.map((m) => env.readMemberKit(join(work, 'members', m)));
    const identities = await Promise.all(
      kits.map(async (k) => (await importIdentity(k.identity.privateJwk)) as IdentityKey),
    );
    await migrateSchema(env.databaseUrl ?? DEFAULT_DATABASE_URL, schema);
    const logFile = join(work, 'aggregator.log');
    const logFd = openSync(logFile, 'a');
    const args = [
      'aggregator',
      '--kit',
      join(work, 'coordinator'),
      '--listen',
      '127.0.0.1:0',
      '--schema',
      schema,
      '--redis-prefix',
      prefix,
      '--metrics-port',
      '0',
      ...(env.databaseUrl ? ['--database-url', env.databaseUrl] : []),
      ...(env.redisUrl ? ['--redis-url', env.redisUrl] : []),
      ...(o.tls ? [] : ['--insecure']),
      ...(o.aggregatorArgs ?? []),
    ];
    const { cmd, args: argv } =
      o.aggregatorRoot && env.cliCommandAt ? env.cliCommandAt(o.aggregatorRoot, args) : env.cliCommand(args);
    child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', logFd] }); // inherits this environment
    closeSync(logFd);
    const ready = await firstJsonLine(child, 120_000, logFile);

    const db = await openDb({ databaseUrl: env.databaseUrl, schema });
    closers.push(() => db.close());
    const redis = redisConnection(env.redisUrl);
    const queue = new RoundQueue('rounds', redis, prefix);
    closers.push(async () => {
      await queue.close();
      await redis.quit();
    });
    return {
      federation,
      schema,
      work,
      kits,
      identities,
      aggregator: { pid: child.pid!, port: Number(ready.port), metricsPort: Number(ready.metricsPort) },
      db,
      scheduleRound: (p) =>
        schedulePlan(db, queue, {
          id: `${federation}-plan`,
          federation,
          rounds: 1,
          fraction: 1,
          ...p,
          training: SIMULATED_TRAINING,
          seed: 1,
          initialModelDigest: `sha256:${'0'.repeat(64)}`,
        }),
      close,
    };
  } catch (err) {
    await close(false);
    throw err;
  }
}

/** Resolves with the first stdout line parsed as JSON (the aggregator's {"event":"listening",...}). */
function firstJsonLine(
  child: ChildProcess,
  timeoutMs: number,
  logFile: string,
): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    let out = '';
    const tail = () => {
      try {
        return readFileSync(logFile, 'utf8').trim().split('\n').slice(-10).join('\n');
      } catch {
        return '';
      }
    };
    const timer = setTimeout(
      () => reject(new Error(`aggregator not ready within ${timeoutMs} ms:\n${tail()}`)),
      timeoutMs,
    );
    child.stdout!.on('data', (b) => {
      out += b;
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        try {
          resolve(JSON.parse(out.slice(0, nl)));
        } catch (err) {
          reject(err);
        }
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`aggregator exited with ${code} before it was ready:\n${tail()}`));
    });
  });
}
