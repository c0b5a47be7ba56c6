import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
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
