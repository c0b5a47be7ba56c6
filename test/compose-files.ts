/**
 * Runs docker/compose.yaml's kpfl services as plain processes on this machine, from the same
 * files: each service's command (or its image's CMD), its image's ENTRYPOINT and ENV, its compose
 * environment and its config file. Only what cannot be the same on one machine is changed, and it
 * is changed the way a container runtime would change it:
 *   - bind mounts and tmpfs become path rewrites (/kit -> <tmp>/kits/members/alice, /tmp -> <tmp>/alice/tmp);
 *     the kit directories are made first, 0700, as docs/deploy.md tells the operator to;
 *   - service names and container ports become loopback addresses and free ports;
 *   - Postgres and Redis are the local ones (DATABASE_URL / REDIS_URL or their defaults), with a
 *     fresh schema and Redis prefix per run, dropped at the end.
 * Every service's HEALTHCHECK (the image's, or compose's override) is run against the process.
 *
 * Steps, in compose's order: enrollment (`coordinator-init`; each member's `<m>-init`, which prints
 * its fingerprint) -> the postgres service's init scripts and the one-shot `migrate` service (as the
 * owner) -> `coordinator-add-<m>` per member (its printed fingerprint must be the member's) and
 * `<m>-join` -> aggregator + worker (as the app's login role) -> alice, bob, carol on small data
 * slices -> schedule 2 `he` rounds (the `ops` service; the participants make the HE key) -> wait for
 * the plan to finish -> check it, and that every member holds the same HE key and the coordinator's
 * side none.
 *
 *   node --import tsx scripts/compose-local.ts [--keep] [--rounds N] [--timeout SECONDS]
 *
 * Prints progress on stderr and one JSON summary line on stdout; exit code 0 only on success.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parse as parseYaml } from 'yaml';

export const REPO = fileURLToPath(new URL('../', import.meta.url));
export const DOCKER_DIR = join(REPO, 'docker');
export const COMPOSE_FILE = join(DOCKER_DIR, 'compose.yaml');

// ---------------------------------------------------------------------------------------------
// Dockerfile and compose parsing (also used by test/deploy.test.ts)

export interface DockerStage {
  name?: string;
  from: string;
  env: Record<string, string>;
  entrypoint?: string[];
  cmd?: string[];
  healthcheck?: { options: Record<string, string>; test: string[] };
  user?: string;
  workdir?: string;
  expose: string[];
  /** Each COPY's arguments (without flags) and its flags. */
  copies: { args: string[]; flags: string[] }[];
  runs: string[];
}

export interface Dockerfile {
  args: Record<string, string>;
  stages: DockerStage[];
  final: DockerStage;
}

function splitWords(s: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g;
  for (let m = re.exec(s); m; m = re.exec(s)) out.push(m[1] ?? m[2] ?? m[3]!);
  return out;
}

function execForm(s: string): string[] {
  const t = s.trim();
  if (t.startsWith('[')) return JSON.parse(t) as string[];
  return ['/bin/sh', '-c', t];
}

/** A small Dockerfile reader: enough for FROM/ARG/ENV/ENTRYPOINT/CMD/HEALTHCHECK/USER/WORKDIR/EXPOSE/COPY/RUN. */
export function parseDockerfile(text: string): Dockerfile {
  const logical: string[] = [];
  let cur = '';
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (cur === '' && /^\s*#/.test(line)) continue;
    if (cur !== '' && /^\s*#/.test(line)) continue; // comments inside continuations
    if (/\\\s*$/.test(line)) {
      cur += `${line.replace(/\\\s*$/, '')} `;
      continue;
    }
    cur += line;
    if (cur.trim()) logical.push(cur.trim());
    cur = '';
  }
  const args: Record<string, string> = {};
  const stages: DockerStage[] = [];
  const sub = (s: string) => s.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a, b) => args[a ?? b] ?? '');
  for (const l of logical) {
    const m = /^(\w+)\s+([\s\S]*)$/.exec(l);
    if (!m) continue;
    const ins = m[1]!.toUpperCase();
    const rest = m[2]!;
    const stage = stages.at(-1);
    switch (ins) {
      case 'ARG': {
        const [k, v] = rest.split('=', 2) as [string, string | undefined];
        if (!stage || v !== undefined) args[k.trim()] ??= (v ?? '').trim();
        break;
      }
      case 'FROM': {
        const w = splitWords(rest).filter((x) => !x.startsWith('--'));
        const from = sub(w[0]!);
        const base = stages.find((s) => s.name === from);
        stages.push({
          name: w[1]?.toUpperCase() === 'AS' ? w[2] : undefined,
          from,
          env: base ? { ...base.env } : {},
          entrypoint: base?.entrypoint,
          cmd: base?.cmd,
          healthcheck: base?.healthcheck,
          user: base?.user,
          workdir: base?.workdir,
          expose: base ? [...base.expose] : [],
          copies: [],
          runs: [],
        });
        break;
      }
      case 'ENV': {
        if (!stage) break;
        const words = splitWords(rest);
        if (words.length >= 2 && !words[0]!.includes('=')) stage.env[words[0]!] = words.slice(1).join(' ');
        else
          for (const w of words) {
            const i = w.indexOf('=');
            if (i > 0) stage.env[w.slice(0, i)] = w.slice(i + 1);
          }
        break;
      }
      case 'ENTRYPOINT':
        if (stage) {
          stage.entrypoint = execForm(rest);
          stage.cmd = undefined; // Docker resets CMD when ENTRYPOINT is set
        }
        break;
      case 'CMD':
        if (stage) stage.cmd = execForm(rest);
        break;
      case 'HEALTHCHECK': {
        if (!stage) break;
        const options: Record<string, string> = {};
        let r = rest;
        for (let o = /^--([\w-]+)=(\S+)\s+/.exec(r); o; o = /^--([\w-]+)=(\S+)\s+/.exec(r)) {
          options[o[1]!] = o[2]!;
          r = r.slice(o[0].length);
        }
        if (/^NONE$/i.test(r.trim())) stage.healthcheck = undefined;
        else {
          const c = /^CMD\s+([\s\S]*)$/i.exec(r.trim());
          if (c) stage.healthcheck = { options, test: execForm(c[1]!) };
        }
        break;
      }
      case 'USER':
        if (stage) stage.user = rest.trim();
        break;
      case 'WORKDIR':
        if (stage) stage.workdir = rest.trim();
        break;
      case 'EXPOSE':
        if (stage) stage.expose.push(...splitWords(rest));
        break;
      case 'COPY': {
        if (!stage) break;
        const w = splitWords(rest);
        stage.copies.push({
          flags: w.filter((x) => x.startsWith('--')),
          args: w.filter((x) => !x.startsWith('--')),
        });
        break;
      }
      case 'RUN':
        stage?.runs.push(rest);
        break;
    }
  }
  if (stages.length === 0) throw new Error('Dockerfile has no FROM');
  return { args, stages, final: stages.at(-1)! };
}

export interface ComposeVolume {
  type: 'bind' | 'volume' | 'tmpfs';
  source?: string;
  target: string;
  readOnly: boolean;
}

export interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile?: string };
  command?: string[];
  entrypoint?: string[];
  environment: Record<string, string>;
  volumes: ComposeVolume[];
  tmpfs: string[];
  ports: string[];
  profiles: string[];
  healthcheck?: { test: string[] };
  depends_on: Record<string, { condition?: string }>;
  raw: Record<string, unknown>;
}

export interface Compose {
  services: Record<string, ComposeService>;
  volumes: string[];
  raw: Record<string, unknown>;
}

/** Compose variable interpolation: $VAR, ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, $$. */
export function interpolate(s: string, env: Record<string, string | undefined>): string {
  return s.replace(
    /\$\$|\$\{(\w+)(?:(:?[-?])((?:[^}])*))?\}|\$(\w+)/g,
    (whole, name: string | undefined, op: string | undefined, arg: string | undefined, bare?: string) => {
      if (whole === '$$') return '$';
      const key = (name ?? bare)!;
      const v = env[key];
      if (!op) return v ?? '';
      const unsetOrEmpty = v === undefined || (op.startsWith(':') && v === '');
      if (op.endsWith('-')) return unsetOrEmpty ? interpolate(arg ?? '', env) : v!;
      if (unsetOrEmpty) throw new Error(`compose variable ${key} is required: ${arg}`);
      return v!;
    },
  );
}

function deepInterpolate(v: unknown, env: Record<string, string | undefined>): unknown {
  if (typeof v === 'string') return interpolate(v, env);
  if (Array.isArray(v)) return v.map((x) => deepInterpolate(x, env));
  if (v && typeof v === 'object')
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, deepInterpolate(x, env)]));
  return v;
}

function asCommand(v: unknown): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (Array.isArray(v)) return v.map(String);
  return splitWords(String(v));
}

/** Parses compose.yaml (anchors and merge keys resolved, variables interpolated with `env`). */
export function parseCompose(text: string, env: Record<string, string | undefined>): Compose {
  const raw = deepInterpolate(parseYaml(text, { merge: true }), env) as Record<string, unknown>;
  const services: Record<string, ComposeService> = {};
  for (const [name, s] of Object.entries((raw.services ?? {}) as Record<string, Record<string, unknown>>)) {
    const environment: Record<string, string> = {};
    const e = s.environment;
    if (Array.isArray(e))
      for (const item of e) {
        const i = String(item).indexOf('=');
        if (i > 0) environment[String(item).slice(0, i)] = String(item).slice(i + 1);
      }
    else if (e && typeof e === 'object')
      for (const [k, v] of Object.entries(e)) environment[k] = v === null ? '' : String(v);
    const volumes: ComposeVolume[] = ((s.volumes ?? []) as unknown[]).map((v) => {
      if (typeof v === 'string') {
        const [source, target, mode] = v.split(':');
        const isPath = source!.startsWith('.') || source!.startsWith('/') || source!.startsWith('~');
        return {
          type: target === undefined ? 'volume' : isPath ? 'bind' : 'volume',
          source: target === undefined ? undefined : source,
          target: target ?? source!,
          readOnly: mode === 'ro',
        } satisfies ComposeVolume;
      }
      const o = v as Record<string, unknown>;
      return {
        type: (o.type as ComposeVolume['type']) ?? 'volume',
        source: o.source as string | undefined,
        target: String(o.target),
        readOnly: o.read_only === true,
      };
    });
    const build =
      typeof s.build === 'string'
        ? { context: s.build }
        : (s.build as { context: string; dockerfile?: string } | undefined);
    const dependsOn: Record<string, { condition?: string }> = {};
    if (Array.isArray(s.depends_on)) for (const d of s.depends_on) dependsOn[String(d)] = {};
    else if (s.depends_on) Object.assign(dependsOn, s.depends_on);
    const hc = s.healthcheck as { test?: unknown } | undefined;
    services[name] = {
      image: s.image as string | undefined,
      build,
      command: asCommand(s.command),
      entrypoint: asCommand(s.entrypoint),
      environment,
      volumes,
      tmpfs: (Array.isArray(s.tmpfs) ? s.tmpfs : s.tmpfs ? [s.tmpfs] : []).map(String),
      ports: ((s.ports ?? []) as unknown[]).map(String),
      profiles: ((s.profiles ?? []) as unknown[]).map(String),
      healthcheck: hc?.test ? { test: asCommand(hc.test)! } : undefined,
      depends_on: dependsOn,
      raw: s,
    };
  }
  return { services, volumes: Object.keys((raw.volumes ?? {}) as object), raw };
}

/** The Dockerfile a service's image is built from (its own build, or another service's with the same image). */
export function dockerfileOf(compose: Compose, service: string): string | undefined {
  const s = compose.services[service]!;
  const owner = s.build
    ? s
    : Object.values(compose.services).find((o) => o.build && o.image && o.image === s.image);
  if (!owner?.build) return undefined;
  return resolve(DOCKER_DIR, owner.build.context, owner.build.dockerfile ?? 'Dockerfile');
}

/** What the container would execute: ENTRYPOINT + (compose command, else image CMD). */
export function containerArgv(
  compose: Compose,
  service: string,
): { entrypoint: string[]; command: string[]; image: DockerStage } {
  const file = dockerfileOf(compose, service);
  if (!file) throw new Error(`service ${service} has no Dockerfile in this repository`);
  const image = parseDockerfile(readFileSync(file, 'utf8')).final;
  const s = compose.services[service]!;
  return { entrypoint: s.entrypoint ?? image.entrypoint ?? [], command: s.command ?? image.cmd ?? [], image };
}

/** Variables compose.yaml requires; irrelevant locally (Postgres is the local one) but needed to interpolate. */
export const COMPOSE_TEST_ENV: Record<string, string> = {
  POSTGRES_PASSWORD: 'unused-locally',
  KPFL_APP_PASSWORD: 'unused-locally',
};

// ---------------------------------------------------------------------------------------------
// Running the services locally

interface Proc {
  name: string;
  child: ChildProcess;
  log: string;
  stdout: string;
  exited: Promise<number | null>;
  env: Record<string, string>;
}

const say = (msg: string) => process.stderr.write(`[compose-local] ${msg}\n`);

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => res(port));
    });
  });
}

function tail(file: string, n = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-n).join('\n');
  } catch {
    return '(no output)';
  }
}

async function main(argv: string[]): Promise<number> {
  const opt = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const keep = argv.includes('--keep');
  const rounds = Number(opt('--rounds') ?? 2);
  const budgetMs = Number(opt('--timeout') ?? 170) * 1000;
  const started = Date.now();
  const deadline = started + budgetMs;
  const left = () => deadline - Date.now();

  const { CONFIG_KEYS, readConfigFile } = await import('../packages/cli/src/config.js');
  const { DEFAULT_DATABASE_URL, dropSchema } = await import('../packages/store/src/index.js');
  const { default: Redis } = await import('ioredis');

  const id = randomBytes(4).toString('hex');
  const federation = `compose-${id}`;
  const schema = `compose_${id}`;
  const redisPrefix = `kpfl-compose:${id}`;
  const work = mkdtempSync(join(tmpdir(), 'kpfl-compose-'));
  const kitsDir = join(work, 'kits');
  mkdirSync(kitsDir);
  const grpcPort = await freePort();
  const metricsPort = await freePort();
  const fallbacks: string[] = [];

  const compose = parseCompose(readFileSync(COMPOSE_FILE, 'utf8'), {
    ...COMPOSE_TEST_ENV,
    KPFL_FEDERATION: federation,
  });
  // Inherited KPFL_* variables from this shell must not leak into the services.
  const baseEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env))
    if (v !== undefined && !k.startsWith('KPFL_')) baseEnv[k] = v;
  const localDb = process.env.DATABASE_URL;
  const localRedis = process.env.REDIS_URL;
  const local = new URL(localDb ?? DEFAULT_DATABASE_URL);
  /** The postgres service's POSTGRES_USER is the owner: here, this machine's own database user. */
  const owner = compose.services.postgres?.environment.POSTGRES_USER;
  const localDatabaseUrl = (composeUrl: string): string => {
    const user = new URL(composeUrl).username;
    if (user === owner) return local.toString();
    const u = new URL(local);
    u.username = user;
    u.password = ''; // this kind of machine trusts loopback connections
    return u.toString();
  };

  /** Bind mounts and tmpfs of a service as (container path -> host path). */
  const mountsOf = (name: string): [string, string][] => {
    const s = compose.services[name]!;
    const m: [string, string][] = [];
    for (const v of s.volumes) {
      if (v.type !== 'bind' || !v.source) continue;
      let host = isAbsolute(v.source) ? v.source : resolve(DOCKER_DIR, v.source);
      const kits = join(DOCKER_DIR, 'kits');
      if (host === kits || host.startsWith(`${kits}/`)) host = join(kitsDir, host.slice(kits.length));
      m.push([v.target, host]);
    }
    for (const t of s.tmpfs) m.push([t.split(':')[0]!, join(work, name, t.split(':')[0]!)]);
    return m.sort((a, b) => b[0].length - a[0].length);
  };
  const mapPath = (mounts: [string, string][], p: string) => {
    for (const [target, host] of mounts) {
      if (p === target) return host;
      if (p.startsWith(`${target}/`)) return join(host, p.slice(target.length + 1));
    }
    return p;
  };

  /** argv and environment for running `service` here as the container would run it. */
  const prepare = (name: string, commandOverride?: string[]) => {
    const s = compose.services[name]!;
    const { entrypoint, command, image } = containerArgv(compose, name);
    const mounts = mountsOf(name);
    const env: Record<string, string> = { ...baseEnv };
    for (const [k, v] of Object.entries({ ...image.env, ...s.environment })) env[k] = mapPath(mounts, v);
    // Postgres and Redis are this machine's, in a schema and prefix of this run only. Each service
    // keeps its database role: the owner's URL becomes this machine's, any other user keeps its name.
    const composeDb = env.DATABASE_URL;
    delete env.DATABASE_URL;
    delete env.REDIS_URL;
    if (composeDb) env.DATABASE_URL = localDatabaseUrl(composeDb);
    if (localRedis) env.REDIS_URL = localRedis;
    env.KPFL_SCHEMA = schema;
    env.KPFL_REDIS_PREFIX = redisPrefix;
    const cmd = (commandOverride ?? command).map((a) => mapPath(mounts, a));
    // The config file's paths are container paths too: rewrite them through the mounts, as environment overrides.
    const ci = cmd.indexOf('--config');
    let role: string | undefined;
    let values: Record<string, unknown> = {};
    if (ci >= 0) {
      const file = cmd[ci + 1]!;
      if (!existsSync(file))
        throw new Error(`service ${name}: config ${file} is not mounted from this repository`);
      ({ role, values } = readConfigFile(file));
      const specs = CONFIG_KEYS[role as keyof typeof CONFIG_KEYS] as Record<
        string,
        { kind: string; env?: string }
      >;
      for (const [key, spec] of Object.entries(specs)) {
        const v = values[key];
        if (spec.kind !== 'path' || typeof v !== 'string' || !spec.env || env[spec.env] !== undefined)
          continue;
        const mapped = mapPath(mounts, v);
        if (mapped !== v) env[spec.env] = mapped;
      }
    }
    // Network: loopback only, free ports instead of the container ports.
    if (role === 'aggregator') {
      const listen = String(env.KPFL_LISTEN ?? values.listen ?? '0.0.0.0:50051');
      const containerPort = Number(listen.split(':').at(-1));
      if (!s.ports.some((p) => p.endsWith(`:${containerPort}`)))
        throw new Error(`aggregator listens on ${containerPort} but compose publishes ${s.ports.join(', ')}`);
      env.KPFL_LISTEN = `127.0.0.1:${grpcPort}`;
      env.KPFL_METRICS_PORT = String(metricsPort);
    }
    if (role === 'participant') {
      const address = String(env.KPFL_AGGREGATOR ?? values.aggregator);
      const [host, port] = address.split(':');
      const agg = compose.services[host!];
      if (!agg) throw new Error(`service ${name}: aggregator address ${address} names no compose service`);
      if (!agg.ports.some((p) => p.endsWith(`:${port}`)))
        throw new Error(`service ${name}: ${address}, but ${host} does not publish port ${port}`);
      env.KPFL_AGGREGATOR = `localhost:${grpcPort}`;
      // Small local data: a short evaluation (the training slice is the plan's --max-examples).
      env.KPFL_TEST_LIMIT = '300';
    }
    // The operator makes the kit directories before the first step (compose never creates them):
    // each party's 0700, the exchange directories ordinary.
    for (const [, host] of mounts)
      if (host.startsWith(work)) {
        const isKit = host.startsWith(`${kitsDir}/`) && !host.startsWith(join(kitsDir, 'exchange'));
        mkdirSync(host, { recursive: true, mode: isKit ? 0o700 : 0o755 });
      }
    const [bin, ...rest] = entrypoint;
    if (bin !== 'node')
      throw new Error(`service ${name}: entrypoint ${entrypoint.join(' ')} does not start with node`);
    return { argv: [...rest, ...cmd], env, image, mounts, service: s };
  };

  /** Runs a postgres init script against this machine's Postgres, with the postgres service's environment. */
  const initScript = (file: string) =>
    new Promise<void>((res, rej) => {
      const env: Record<string, string> = {
        ...baseEnv,
        ...compose.services.postgres!.environment,
        POSTGRES_USER: decodeURIComponent(local.username),
        POSTGRES_DB: local.pathname.slice(1),
        PGHOST: local.hostname,
        PGPORT: local.port || '5432',
      };
      const c = spawn('sh', [file], { env, stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      c.stderr!.on('data', (b) => (err += b));
      c.on('exit', (code) => (code === 0 ? res() : rej(new Error(`${file} exited with ${code}: ${err}`))));
    });
  const procs: Proc[] = [];
  /** The compose services started, in the order they were (the summary's `services`). */
  const servicesRun: string[] = [];
  const run = (name: string, commandOverride?: string[], label = name): Proc => {
    const p = prepare(name, commandOverride);
    if (!servicesRun.includes(name)) servicesRun.push(name);
    const log = join(work, `${label}.log`);
    const out = createWriteStream(log);
    const child = spawn(process.execPath, p.argv, {
      cwd: REPO,
      env: p.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const proc: Proc = {
      name: label,
      child,
      log,
      stdout: '',
      env: p.env,
      exited: new Promise((res) => child.on('exit', (code) => res(code))),
    };
    child.stdout!.on('data', (b: Buffer) => {
      proc.stdout += b;
      out.write(b);
    });
    child.stderr!.pipe(out);
    procs.push(proc);
    say(`${label}: ${p.argv.slice(2).join(' ')}`);
    return proc;
  };
  const runToEnd = async (name: string, command: string[], label: string, timeoutMs = 60_000) => {
    const p = run(name, command, label);
    const code = await Promise.race([
      p.exited,
      new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), timeoutMs)),
    ]);
    if (code !== 0)
      throw new Error(
        `${label} ${code === 'timeout' ? 'timed out' : `exited with ${code}`}:\n${tail(p.log)}`,
      );
    return p.stdout;
  };
  /** Runs the service's health check (compose override, else the image's HEALTHCHECK) until it passes. */
  const healthy = async (name: string, proc: Proc, timeoutMs: number) => {
    const s = compose.services[name]!;
    const test = s.healthcheck?.test ?? prepare(name).image.healthcheck?.test;
    if (!test) throw new Error(`service ${name} has no health check`);
    const argv = test[0] === 'CMD' ? test.slice(1) : test;
    if (argv[0] !== 'node')
      throw new Error(`service ${name}: health check ${argv.join(' ')} does not run node`);
    const until = Date.now() + timeoutMs;
    for (;;) {
      if (proc.child.exitCode !== null)
        throw new Error(`${name} exited with ${proc.child.exitCode}:\n${tail(proc.log)}`);
      const ok = await new Promise<boolean>((res) => {
        const c = spawn(process.execPath, argv.slice(1), { env: proc.env, stdio: 'ignore' });
        c.on('exit', (code) => res(code === 0));
      });
      if (ok) return;
      if (Date.now() > until)
        throw new Error(`${name} not healthy after ${timeoutMs} ms:\n${tail(proc.log)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  };
  let topHelp: Promise<string> | undefined;
  const kpflHasCommand = async (name: string) => {
    topHelp ??= (() => {
      const { argv, env } = prepare('ops', ['--help']);
      return new Promise<string>((res) => {
        const c = spawn(process.execPath, argv, { cwd: REPO, env, stdio: ['ignore', 'pipe', 'ignore'] });
        let o = '';
        c.stdout!.on('data', (b) => (o += b));
        c.on('exit', () => res(o));
      });
    })();
    return new RegExp(`^\\s+${name}\\b`, 'm').test(await topHelp);
  };

  let ok = false;
  let summary: Record<string, unknown> = {};
  const stopAll = async () => {
    for (const p of procs)
      if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGTERM');
    await Promise.race([Promise.all(procs.map((p) => p.exited)), new Promise((r) => setTimeout(r, 10_000))]);
    for (const p of procs)
      if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  };
  const cleanup = async () => {
    await stopAll();
    if (keep) {
      say(`kept ${work}, schema ${schema}, Redis prefix ${redisPrefix}`);
      return;
    }
    await dropSchema(localDb, schema).catch((e) =>
      say(`could not drop schema ${schema}: ${(e as Error).message}`),
    );
    const redis = new Redis(localRedis ?? 'redis://127.0.0.1:6379', {
      maxRetriesPerRequest: 3,
      lazyConnect: true,
    });
    try {
      await redis.connect();
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${redisPrefix}:*`, 'COUNT', 500);
        cursor = next;
        if (keys.length) await redis.del(...keys);
      } while (cursor !== '0');
    } catch (e) {
      say(`could not clean Redis prefix ${redisPrefix}: ${(e as Error).message}`);
    } finally {
      redis.disconnect();
    }
    rmSync(work, { recursive: true, force: true });
  };
  const onSignal = () => {
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    say(`run ${id}: work ${work}, schema ${schema}, Redis prefix ${redisPrefix}, gRPC 127.0.0.1:${grpcPort}`);
    const participants = Object.entries(compose.services)
      .filter(([, s]) => s.profiles.length === 0 && s.command?.[0] === 'participant')
      .map(([n]) => n);

    // 1. enrollment, one-shot services: the coordinator kit, then each member makes its own keys.
    // Kits are kept apart as in compose: one directory per party (0700, as docs/deploy.md makes
    // them), and only the public request and response files pass through kits/exchange/<member>/.
    const step = (name: string) => {
      const s = compose.services[name];
      if (!s?.command) throw new Error(`compose.yaml has no ${name} service with a command`);
      return s.command;
    };
    const enrollment = participants.map((m) => ({
      member: m,
      init: `${m}-init`,
      add: `coordinator-add-${m}`,
      join: `${m}-join`,
    }));
    await runToEnd(
      'coordinator-init',
      step('coordinator-init'),
      'coordinator-init',
      Math.min(left(), 60_000),
    );
    // Each member's init needs nothing of the coordinator: they run side by side.
    const inits = await Promise.all(
      enrollment.map((e) => runToEnd(e.init, step(e.init), e.init, Math.min(left(), 60_000))),
    );
    const fingerprints: Record<string, string> = {};
    enrollment.forEach((e, i) => {
      const f = /fingerprint: (\S+)/.exec(inits[i]!)?.[1];
      if (!f) throw new Error(`${e.init} printed no fingerprint:\n${inits[i]}`);
      fingerprints[e.member] = f;
    });
    say(`members made their keys; fingerprints (read out of band): ${JSON.stringify(fingerprints)}`);
    // 2. the postgres service's init scripts (the app's login role), then the one-shot migrate, as the owner
    for (const [target, host] of mountsOf('postgres')) {
      if (!target.startsWith('/docker-entrypoint-initdb.d/') || !host.endsWith('.sh')) continue;
      await initScript(host);
      say(`postgres init: ${relative(REPO, host)}`);
    }
    const mig = compose.services.migrate;
    if (!mig?.command) throw new Error('compose.yaml has no migrate service with a command');
    say(`migrate: ${(await runToEnd('migrate', mig.command, 'migrate', Math.min(left(), 60_000))).trim()}`);

    // 2b. the coordinator enrolls each member (one at a time: each rewrites the coordinator kit),
    // checking the fingerprint it prints against the one the member read out; then each member joins.
    for (const e of enrollment) {
      const out = await runToEnd(e.add, step(e.add), e.add, Math.min(left(), 60_000));
      const printed = /request fingerprint: (\S+)/.exec(out)?.[1];
      if (printed !== fingerprints[e.member])
        throw new Error(`${e.add}: fingerprint ${printed}, but ${e.member} read ${fingerprints[e.member]}`);
    }
    await Promise.all(
      enrollment.map((e) => runToEnd(e.join, step(e.join), e.join, Math.min(left(), 60_000))),
    );
    const exchange = join(kitsDir, 'exchange');
    for (const e of enrollment) {
      const files = readdirSync(join(exchange, e.member)).sort();
      if (files.join(',') !== 'enrollment-request.json,enrollment-response.json')
        throw new Error(
          `kits/exchange/${e.member} holds ${files.join(', ')}: only the request and response belong there`,
        );
    }
    say(`enrolled ${participants.join(', ')}: kits complete, nothing but requests and responses exchanged`);

    // 3. aggregator (--no-worker through its config) and the separate worker
    const aggregator = run('aggregator');
    await healthy('aggregator', aggregator, Math.min(left(), 90_000));
    say('aggregator healthy (/healthz)');
    // 4. worker and participants: in compose both wait only for the aggregator to be healthy.
    const worker = run('worker');
    const parts = participants.map((n) => run(n));
    await Promise.all([
      healthy('worker', worker, Math.min(left(), 90_000)),
      ...participants.map((n, i) => healthy(n, parts[i]!, Math.min(left(), 90_000))),
    ]);
    say(`worker healthy (heartbeat file); participants healthy: ${participants.join(', ')}`);

    // 5. schedule the rounds (the ops service, as documented in compose.yaml)
    const planId = `${federation}-plan`;
    if (!(await kpflHasCommand('rounds'))) throw new Error('`kpfl rounds` is not a kpfl subcommand yet');
    const scheduled = await runToEnd(
      'ops',
      [
        'rounds',
        'schedule',
        '--rounds',
        String(rounds),
        '--min-participants',
        String(participants.length),
        '--fraction',
        '1',
        '--deadline',
        '120s',
        '--max-examples',
        '300',
        '--plan-id',
        planId,
      ],
      'schedule',
      Math.min(left(), 60_000),
    );
    say(`scheduled: ${scheduled.trim()}`);

    // 6. every participant exits 0 when the plan is done
    const exits = await Promise.race([
      Promise.all(parts.map((p) => p.exited)),
      new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), Math.max(0, left() - 15_000))),
    ]);
    if (exits === 'timeout')
      throw new Error(`the plan did not finish within the time budget (${budgetMs / 1000} s)`);
    parts.forEach((p, i) => {
      if (exits[i] !== 0) throw new Error(`${p.name} exited with ${exits[i]}:\n${tail(p.log)}`);
    });
    if (aggregator.child.exitCode !== null || worker.child.exitCode !== null)
      throw new Error('the aggregator or the worker stopped during the run');

    // 6. check the plan through the operator CLI
    const lastJson = (out: string) => JSON.parse(out.trim().split('\n').at(-1)!);
    const [statusOut, listOut] = await Promise.all([
      runToEnd('ops', ['rounds', 'status', '--plan', planId, '--json'], 'status', 60_000),
      runToEnd('ops', ['rounds', 'list', '--json'], 'list', 60_000),
    ]);
    const status = lastJson(statusOut) as {
      round: number;
      state: string;
      accepted: number;
      accuracy: number | null;
    }[];
    const plans = lastJson(listOut) as { plan: string; state: string }[];
    const plan = plans.find((p) => p.plan === planId);
    if (plan?.state !== 'done')
      throw new Error(`plan ${planId} is ${plan?.state ?? 'missing'}, expected done`);
    if (
      status.length !== rounds ||
      status.some((r) => r.state !== 'published' || r.accepted !== participants.length)
    )
      throw new Error(
        `rounds not all published with ${participants.length} updates: ${JSON.stringify(status)}`,
      );
    // 7. the consortium HE key was made by the participants: every member holds the same epoch-1
    // key in its own kit, and no kit of the coordinator's side holds any.
    const heKeys = participants.map((m) => {
      const f = join(kitsDir, 'members', m, 'he-keys', 'epoch-1.json');
      if (!existsSync(f)) throw new Error(`${m} holds no HE key of epoch 1 (${f})`);
      if (existsSync(join(kitsDir, 'members', m, 'he-key.json')))
        throw new Error(`${m}'s kit has a provisioned he-key.json`);
      return readFileSync(f, 'utf8');
    });
    if (heKeys.some((k) => k !== heKeys[0])) throw new Error('the members hold different HE keys of epoch 1');
    const coordinatorFiles = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
        d.isDirectory() ? coordinatorFiles(join(dir, d.name)) : [join(dir, d.name)],
      );
    const heOnCoordinator = coordinatorFiles(join(kitsDir, 'coordinator')).filter((f) => /he-key/.test(f));
    if (heOnCoordinator.length > 0)
      throw new Error(`HE key files on the coordinator side: ${heOnCoordinator}`);
    ok = true;
    summary = {
      ok,
      federation,
      plan: planId,
      planState: plan.state,
      rounds: status.map((r) => ({
        round: r.round,
        state: r.state,
        accepted: r.accepted,
        accuracy: r.accuracy,
      })),
      services: servicesRun,
      fingerprints,
      heKey: { epoch: 1, holders: participants },
      fallbacks,
      seconds: Math.round((Date.now() - started) / 100) / 10,
    };
  } catch (err) {
    summary = { ok: false, error: (err as Error).message, fallbacks, seconds: (Date.now() - started) / 1000 };
    say(`FAILED: ${(err as Error).message}`);
    for (const p of procs) say(`--- ${p.name} (last lines of ${p.log}) ---\n${tail(p.log, 8)}`);
  } finally {
    await cleanup();
  }
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  return ok ? 0 : 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`[compose-local] ${(err as Error).stack ?? err}\n`);
      process.exit(1);
    },
  );
}
