/**
 * The deployment files (docker/*.Dockerfile, docker/compose.yaml, docker/config/*.yaml,
 * docs/deploy.md) refer only to things that exist: kpfl subcommands and their options, config
 * keys, environment variables the code reads, kit paths the enrollment steps write, the /healthz
 * endpoint, for every service and image, also those test/containers.test.ts does not start. Nothing
 * is built or started by this file: test/containers.test.ts builds and runs them with a real engine.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix, relative, resolve } from 'node:path';
import { before, describe, test } from 'node:test';
import {
  CONFIG_KEYS,
  loadRoleConfig,
  OPERATOR_ENV,
  type Role,
  readConfigFile,
} from '../packages/cli/src/config.js';
import { CLI_MAIN, cliCommand, REPO_ROOT, TSX_LOADER } from '../packages/cli/src/paths.js';
import {
  COMPOSE_FILE,
  COMPOSE_TEST_ENV,
  type Compose,
  containerArgv,
  DOCKER_DIR,
  dockerfileOf,
  parseCompose,
  parseDockerfile,
} from './compose-files.js';
import { runKpfl } from './harness.js';

const ROLES: Role[] = ['aggregator', 'worker', 'participant'];
const ENTRYPOINT = ['node', '--conditions=kpfl-source', '--import', 'tsx', 'packages/cli/src/main.ts'];
const DOCKERFILES = ['aggregator.Dockerfile', 'participant.Dockerfile', 'participant-gpu.Dockerfile'];
/** Variables for the runtime, not for kpfl. */
const RUNTIME_ENV = new Set(['NODE_ENV', 'NVIDIA_VISIBLE_DEVICES', 'NVIDIA_DRIVER_CAPABILITIES']);

const composeText = readFileSync(COMPOSE_FILE, 'utf8');
const compose: Compose = parseCompose(composeText, COMPOSE_TEST_ENV);
/** The same file with every variable left visible as ${NAME}, to see what an operator can change. */
const composeVars: Compose = parseCompose(
  composeText,
  new Proxy({} as Record<string, string>, { get: (_, k) => `\${${String(k)}}` }),
);

function run(args: string[], env: Record<string, string> = {}) {
  return runKpfl(args, { ...process.env, ...env });
}

const helpCache = new Map<string, Promise<string>>();
function help(path: string[]): Promise<string> {
  const key = path.join(' ');
  if (!helpCache.has(key))
    helpCache.set(
      key,
      run([...path, '--help']).then((r) => {
        if (r.code !== 0) throw new Error(`kpfl ${key} --help exited with ${r.code}: ${r.err.trim()}`);
        return r.out;
      }),
    );
  return helpCache.get(key)!;
}

function subcommands(helpText: string): string[] {
  const section = helpText.split(/^Commands:\s*$/m)[1] ?? '';
  return [...section.matchAll(/^ {2}([a-z][\w-]*)/gm)].map((m) => m[1]!).filter((c) => c !== 'help');
}

/**
 * Checks that `args` (what follows `kpfl`) names an existing subcommand and only options it has.
 * Returns the subcommand path.
 */
async function checkKpflArgs(args: string[], where: string): Promise<string[]> {
  const path: string[] = [];
  let text = await help([]);
  for (const word of args) {
    if (word.startsWith('-')) break;
    const subs = subcommands(text);
    if (subs.length === 0) break; // a positional argument
    assert.ok(
      subs.includes(word),
      `${where}: \`kpfl ${[...path, word].join(' ')}\` is not a kpfl subcommand (have: ${subs.join(', ')})`,
    );
    path.push(word);
    text = await help(path);
  }
  assert.ok(path.length > 0, `${where}: no kpfl subcommand in ${args.join(' ')}`);
  for (const a of args) {
    if (!a.startsWith('--')) continue;
    const flag = a.split('=')[0]!;
    assert.ok(
      new RegExp(`(^|[\\s,])${flag}(\\s|,|$)`, 'm').test(text),
      `${where}: \`kpfl ${path.join(' ')}\` has no option ${flag}`,
    );
  }
  return path;
}

/** Environment variables the code reads (process.env.X) plus the config layer's. */
function envReadByCode(): Set<string> {
  const names = new Set<string>();
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) {
        if (e.name !== 'node_modules' && e.name !== 'generated') walk(p);
      } else if (e.name.endsWith('.ts')) {
        for (const m of readFileSync(p, 'utf8').matchAll(/process\.env\.([A-Z_][A-Z0-9_]*)/g))
          names.add(m[1]!);
      }
    }
  };
  for (const pkg of readdirSync(join(REPO_ROOT, 'packages'))) {
    const src = join(REPO_ROOT, 'packages', pkg, 'src');
    if (existsSync(src)) walk(src);
  }
  for (const role of ROLES)
    for (const spec of Object.values(CONFIG_KEYS[role] as Record<string, { env?: string }>))
      if (spec.env) names.add(spec.env);
  // The operator commands' variables (read through commander's Option.env()).
  for (const name of Object.values(OPERATOR_ENV)) names.add(name);
  return names;
}

const kpflServices = Object.entries(compose.services)
  .filter(([name]) => dockerfileOf(compose, name) !== undefined)
  .map(([name]) => name);

function roleOf(service: string): Role | undefined {
  const { command } = containerArgv(compose, service);
  return ROLES.find((r) => r === command[0]);
}

/** The environment a service's container starts with: image ENV, then compose environment. */
function containerEnv(service: string): Record<string, string> {
  const { image } = containerArgv(compose, service);
  return { ...image.env, ...compose.services[service]!.environment };
}

/** The effective settings of a role service, as its container would load them. */
function effectiveConfig(service: string) {
  const role = roleOf(service)!;
  const { command } = containerArgv(compose, service);
  const i = command.indexOf('--config');
  assert.ok(i >= 0, `${service}: command has no --config`);
  const target = command[i + 1]!;
  const mount = compose.services[service]!.volumes.find((v) => v.target === target);
  // Mounted from the repository, or baked into the image from the same file.
  const source = mount?.source
    ? resolve(DOCKER_DIR, mount.source)
    : join(DOCKER_DIR, 'config', posix.basename(target));
  return loadRoleConfig(role, { file: source, env: containerEnv(service) }).config as Record<string, unknown>;
}

describe('Dockerfiles', () => {
  for (const name of DOCKERFILES) {
    test(`${name}: multi-stage, non-root, health check, the CLI as entrypoint, no secrets`, () => {
      const df = parseDockerfile(readFileSync(join(DOCKER_DIR, name), 'utf8'));
      assert.ok(df.stages.length >= 2, 'multi-stage');
      const img = df.final;
      assert.ok(
        img.user && !/^(root|0)(:|$)/.test(img.user),
        `final stage runs as non-root (USER ${img.user})`,
      );
      assert.ok(img.healthcheck, 'HEALTHCHECK in the final stage');
      assert.deepEqual(img.entrypoint, ENTRYPOINT, 'ENTRYPOINT is the CLI the tests run');
      assert.equal(img.workdir, '/app');
      // The tests run the same thing: node --conditions=kpfl-source --import <tsx> <repo>/packages/cli/src/main.ts
      assert.equal(relative(REPO_ROOT, CLI_MAIN), img.entrypoint![4]);
      assert.equal(import.meta.resolve('tsx'), TSX_LOADER);
      assert.deepEqual(cliCommand([]).args.slice(0, 2), ['--conditions=kpfl-source', '--import']);
      for (const k of Object.keys(img.env))
        assert.ok(!/PASSWORD|SECRET|TOKEN|PRIVATE|_KEY$/.test(k), `no secret in ENV (${k})`);
      for (const s of df.stages)
        for (const c of s.copies) {
          if (c.flags.some((f) => f.startsWith('--from'))) continue;
          for (const src of c.args.slice(0, -1)) {
            assert.ok(
              !/kits|\.env|he-key|member\.json|coordinator\.json/.test(src),
              `no kit copied (${src})`,
            );
            assert.ok(existsSync(join(REPO_ROOT, src)), `COPY source ${src} exists`);
          }
        }
      // What the CLI needs at run time is in the image.
      const copied = img.copies.flatMap((c) => c.args.slice(0, -1));
      for (const need of ['package.json', 'packages', 'protos'])
        assert.ok(copied.includes(need), `final image copies ${need}`);
      // The default command is a role with its config file.
      assert.equal(img.cmd?.[1], '--config');
    });
  }

  test('.dockerignore keeps kits, secrets, local data and node_modules out of the build context', () => {
    const lines = readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim());
    for (const p of ['docker/kits', '**/.env', '**/node_modules', '.git', 'data'])
      assert.ok(lines.includes(p), `.dockerignore lists ${p}`);
  });

  test('participant images install the native tfjs backend matching the locked @tensorflow/tfjs', () => {
    const lock = JSON.parse(readFileSync(join(REPO_ROOT, 'package-lock.json'), 'utf8'));
    const tfjs = lock.packages['node_modules/@tensorflow/tfjs'].version as string;
    const cpu = parseDockerfile(readFileSync(join(DOCKER_DIR, 'participant.Dockerfile'), 'utf8'));
    const gpu = parseDockerfile(readFileSync(join(DOCKER_DIR, 'participant-gpu.Dockerfile'), 'utf8'));
    const agg = parseDockerfile(readFileSync(join(DOCKER_DIR, 'aggregator.Dockerfile'), 'utf8'));
    assert.equal(cpu.args.TFJS_VERSION, tfjs);
    assert.equal(gpu.args.TFJS_VERSION, tfjs);
    const runs = (d: typeof cpu) => d.stages.flatMap((s) => s.runs).join('\n');
    assert.match(runs(cpu), /@tensorflow\/tfjs-node@\$\{TFJS_VERSION\}/);
    assert.match(runs(gpu), /@tensorflow\/tfjs-node-gpu@\$\{TFJS_VERSION\}/);
    assert.doesNotMatch(runs(agg), /tfjs-node/, 'the aggregator never trains: no native tfjs');
    // tfjs-node-gpu 4.22 = libtensorflow 2.9.1: CUDA 11.2 and cuDNN 8.1; the runtime stage is on that base.
    assert.match(gpu.args.CUDA_IMAGE!, /^nvidia\/cuda:11\.2\.\d+-cudnn8-runtime-ubuntu/);
    const base = gpu.stages.find((s) => s.name === gpu.final.from)!;
    assert.equal(base.from, gpu.args.CUDA_IMAGE);
    assert.equal(gpu.final.env.KPFL_BACKEND, 'tensorflow-gpu');
    // The GPU participant's native binding is built on the CUDA base (same glibc as at run time).
    assert.equal(gpu.stages.find((s) => s.name === 'deps')!.from, 'base');
  });

  test('the aggregator health check probes /healthz on the metrics port the aggregator serves', () => {
    const df = parseDockerfile(readFileSync(join(DOCKER_DIR, 'aggregator.Dockerfile'), 'utf8'));
    const hc = df.final.healthcheck!.test.join(' ');
    assert.match(hc, /\/healthz/);
    assert.match(hc, /KPFL_METRICS_PORT/);
    assert.ok(
      df.final.env.KPFL_METRICS_PORT,
      'the image sets KPFL_METRICS_PORT (so the aggregator serves it)',
    );
    assert.ok(df.final.expose.includes(df.final.env.KPFL_METRICS_PORT!));
    const server = readFileSync(join(REPO_ROOT, 'packages/aggregator/src/server.ts'), 'utf8');
    assert.match(server, /req\.url === '\/healthz'/, 'server.ts serves /healthz');
    assert.equal(CONFIG_KEYS.aggregator.metricsPort.env, 'KPFL_METRICS_PORT');
  });

  test('participant health checks read the heartbeat file the participant writes', () => {
    for (const name of ['participant.Dockerfile', 'participant-gpu.Dockerfile']) {
      const img = parseDockerfile(readFileSync(join(DOCKER_DIR, name), 'utf8')).final;
      assert.match(img.healthcheck!.test.join(' '), /KPFL_HEALTH_FILE/);
      assert.ok(img.env.KPFL_HEALTH_FILE?.startsWith('/tmp/'), `${name}: heartbeat under /tmp`);
      assert.equal(CONFIG_KEYS.participant.healthFile.env, 'KPFL_HEALTH_FILE');
    }
  });
});

describe('compose.yaml', () => {
  before(async () => {
    // Warm the help cache in parallel: each CLI start takes seconds. Failures surface in the tests.
    const paths = [
      [],
      ['aggregator'],
      ['worker'],
      ['participant'],
      ['coordinator', 'init'],
      ['member', 'init'],
      ['member', 'join'],
      ['members', 'add'],
      ['rounds'],
      ['rounds', 'schedule'],
      ['rounds', 'status'],
      ['rounds', 'watch'],
      ['rounds', 'list'],
    ];
    await Promise.allSettled(paths.map((p) => help(p)));
  });

  test('has the coordinator and three members', () => {
    const s = compose.services;
    for (const name of ['postgres', 'redis', 'aggregator', 'worker', 'coordinator-init', 'ops'])
      assert.ok(s[name], `service ${name}`);
    assert.ok(!s.provision, 'no provision service: members enroll with keys they make');
    const members = kpflServices.filter((n) => s[n]!.profiles.length === 0 && roleOf(n) === 'participant');
    assert.equal(members.length, 3, `three participants (${members.join(', ')})`);
    // Each member enrolls through its own one-shot steps, and the coordinator adds it.
    const steps: [string, string[]][] = [['coordinator-init', ['coordinator', 'init']]];
    for (const m of members)
      steps.push(
        [`${m}-init`, ['member', 'init']],
        [`coordinator-add-${m}`, ['members', 'add']],
        [`${m}-join`, ['member', 'join']],
      );
    for (const [name, cmd] of steps) {
      assert.deepEqual(s[name]?.command?.slice(0, 2), cmd, `${name} runs kpfl ${cmd.join(' ')}`);
      assert.deepEqual(s[name]!.profiles, ['enroll'], `${name} is a one-shot step of the enroll profile`);
    }
    for (const m of members) {
      const init = s[`${m}-init`]!.command!;
      assert.equal(init[init.indexOf('--member') + 1], m, `${m}-init enrolls ${m}`);
    }
    assert.ok(
      s.postgres!.volumes.some(
        (v) =>
          v.type === 'volume' &&
          compose.volumes.includes(v.source!) &&
          v.target === '/var/lib/postgresql/data',
      ),
      'Postgres data on a named volume',
    );
    for (const [name, svc] of Object.entries(s))
      for (const dep of Object.keys(svc.depends_on)) assert.ok(s[dep], `${name} depends on existing ${dep}`);
  });

  test('every kpfl service runs an existing subcommand with existing options, through the image entrypoint', async () => {
    for (const name of kpflServices) {
      const { entrypoint, command } = containerArgv(compose, name);
      assert.deepEqual(entrypoint, ENTRYPOINT, `${name}: entrypoint`);
      await checkKpflArgs(command, `service ${name}`);
    }
  });

  test('the commands documented in compose.yaml and docs/deploy.md exist', async () => {
    const docs = readFileSync(join(REPO_ROOT, 'docs/deploy.md'), 'utf8');
    // Shell continuations joined; comment markers and prompts dropped.
    const lines = [...composeText.split('\n'), ...docs.split('\n')]
      .map((l) => l.replace(/^\s*#\s?/, '').replace(/^\s*\$\s+/, ''))
      .join('\n')
      .replace(/\\\n\s*/g, ' ')
      .split('\n');
    const found: string[][] = [];
    const words = (s: string) => s.trim().split(/\s+/);
    for (const line of lines) {
      const cmd = /^\s*(?:npx\s+)?kpfl\s+([a-z][^`|;&#]*)/.exec(line);
      if (cmd) found.push(words(cmd[1]!));
      for (const m of line.matchAll(/`(?:npx\s+)?kpfl\s+([a-z][^`]*)`/g)) found.push(words(m[1]!));
      const ops = /docker compose(?:\s+--profile\s+\S+)? run --rm (?:-\S+\s+)*ops\s+([^`|;&#]*)/.exec(line);
      if (ops) found.push(words(ops[1]!));
    }
    assert.ok(found.length >= 8, `found the documented commands (${found.length})`);
    // In parallel: the help texts are cached per subcommand, and each CLI start takes seconds.
    await Promise.all(found.map((args) => checkKpflArgs(args, `documented \`kpfl ${args.join(' ')}\``)));
  });

  test('environment variables are ones kpfl reads', () => {
    const known = envReadByCode();
    for (const name of kpflServices) {
      for (const k of Object.keys(containerEnv(name))) {
        if (RUNTIME_ENV.has(k)) continue;
        assert.ok(known.has(k), `${name}: ${k} is read by no kpfl code`);
      }
      const role = roleOf(name);
      if (!role) continue;
      const roleEnv = new Set(
        Object.values(CONFIG_KEYS[role] as Record<string, { env?: string }>).map((s) => s.env),
      );
      for (const k of Object.keys(compose.services[name]!.environment))
        assert.ok(
          roleEnv.has(k),
          `${name}: ${k} is not a setting of kpfl ${role} (kpfl config keys ${role})`,
        );
    }
  });

  test('config files are valid for their role, as each container sees them', () => {
    for (const name of kpflServices) {
      const role = roleOf(name);
      if (!role) continue;
      const c = effectiveConfig(name);
      if (role !== 'worker') assert.equal(c.insecure, false, `${name}: mutual TLS`);
      if (role === 'aggregator')
        assert.equal(c.worker, false, 'the aggregator leaves aggregation to the worker service');
    }
    for (const f of readdirSync(join(DOCKER_DIR, 'config'))) {
      const { role } = readConfigFile(join(DOCKER_DIR, 'config', f));
      loadRoleConfig(role, { file: join(DOCKER_DIR, 'config', f), env: {} });
    }
  });

  test('services agree on addresses, ports, schema and Redis prefix', () => {
    const agg = effectiveConfig('aggregator');
    const worker = effectiveConfig('worker');
    const aggEnv = containerEnv('aggregator');
    const listenPort = String(agg.listen).split(':').at(-1)!;
    const aggSvc = compose.services.aggregator!;
    assert.ok(
      aggSvc.ports.some((p) => p.endsWith(`:${listenPort}`)),
      'gRPC port published',
    );
    assert.ok(
      aggSvc.ports.some((p) => p.endsWith(`:${agg.metricsPort}`)),
      'metrics port published',
    );
    const image = containerArgv(compose, 'aggregator').image;
    assert.equal(image.env.KPFL_METRICS_PORT, String(agg.metricsPort), 'health check probes the served port');
    assert.ok(image.expose.includes(listenPort));
    assert.equal(worker.schema, agg.schema);
    assert.equal(worker.redisPrefix, agg.redisPrefix);
    const ops = compose.services.ops!.environment;
    assert.equal(ops.KPFL_SCHEMA ?? 'kpfl', agg.schema);
    assert.equal(ops.KPFL_REDIS_PREFIX, agg.redisPrefix);
    assert.ok(ops.KPFL_FEDERATION, 'ops knows the federation name');
    assert.equal(new URL(String(aggEnv.DATABASE_URL)).hostname, 'postgres');
    assert.equal(new URL(String(aggEnv.REDIS_URL)).hostname, 'redis');
    for (const name of kpflServices.filter((n) => roleOf(n) === 'participant')) {
      const [host, port] = String(effectiveConfig(name).aggregator).split(':');
      assert.ok(compose.services[host!], `${name} dials a compose service (${host})`);
      assert.equal(port, listenPort, `${name} dials the aggregator's gRPC port`);
    }
    // The aggregator's TLS certificate names the host participants dial, and the enrollment
    // response tells each member that address.
    const init = compose.services['coordinator-init']!.command!;
    assert.ok(init[init.indexOf('--server-hosts') + 1]!.split(',').includes('aggregator'));
    for (const name of Object.keys(compose.services).filter((n) => n.startsWith('coordinator-add-'))) {
      const c = compose.services[name]!.command!;
      const [host, port] = c[c.indexOf('--aggregator') + 1]!.split(':');
      assert.ok(compose.services[host!], `${name}: --aggregator names a compose service`);
      assert.equal(port, listenPort, `${name}: --aggregator is the gRPC port`);
    }
  });

  /**
   * Whose kit a bind mount under docker/kits is: the coordinator's, one member's, or one member's
   * exchange directory (public files only). Anything else (kits/ itself, kits/members/) mounts
   * several parties at once.
   */
  const kitsRoot = resolve(DOCKER_DIR, 'kits');
  function kitOwner(source: string): { party: string; exchange: boolean } | undefined {
    const src = resolve(DOCKER_DIR, source);
    if (src !== kitsRoot && !src.startsWith(`${kitsRoot}/`)) return undefined;
    const rel = relative(kitsRoot, src).split('/');
    if (rel[0] === 'coordinator') return { party: 'coordinator', exchange: false };
    if (rel[0] === 'members' && rel[1]) return { party: `member:${rel[1]}`, exchange: false };
    if (rel[0] === 'exchange' && rel[1] && rel.length === 2)
      return { party: `member:${rel[1]}`, exchange: true };
    assert.fail(`${source} mounts more than one party's kits`);
  }

  test("no service mounts a member's kit together with the coordinator's (or another member's)", () => {
    let coordinatorMounts = 0;
    let memberMounts = 0;
    for (const [name, svc] of Object.entries(compose.services)) {
      const kits = new Set<string>();
      for (const v of svc.volumes) {
        if (v.type !== 'bind' || !v.source) continue;
        const owner = kitOwner(v.source);
        if (!owner) continue;
        if (owner.exchange) {
          // An exchange directory goes to its member's steps or to the coordinator's: never to another member.
          continue;
        }
        kits.add(owner.party);
        if (owner.party === 'coordinator') coordinatorMounts++;
        else memberMounts++;
      }
      assert.ok(kits.size <= 1, `${name} mounts the kits of ${[...kits].join(' and ')}`);
      const exchanges = svc.volumes
        .filter((v) => v.type === 'bind' && v.source && kitOwner(v.source)?.exchange)
        .map((v) => kitOwner(v.source!)!.party);
      const own = [...kits][0];
      if (own?.startsWith('member:'))
        for (const x of exchanges) assert.equal(x, own, `${name} (${own}) mounts ${x}'s exchange directory`);
      assert.ok(exchanges.length <= 1, `${name} mounts several exchange directories`);
    }
    // Positive control: the check saw kits of both sides (aggregator, worker, coordinator steps; members).
    assert.ok(
      coordinatorMounts >= 4 && memberMounts >= 9,
      `${coordinatorMounts} coordinator, ${memberMounts} member kit mounts`,
    );
    assert.throws(() => kitOwner('./kits'), /more than one party/);
    assert.throws(() => kitOwner('./kits/members'), /more than one party/);
  });

  test('kits are mounted from where the enrollment steps write them, one per member', async () => {
    const mountOf = (name: string, target: string) => {
      const v = compose.services[name]!.volumes.find(
        (x) => x.type === 'bind' && (target === x.target || target.startsWith(`${x.target}/`)),
      );
      assert.ok(v?.source, `${name}: ${target} is in a bind mount`);
      return join(resolve(DOCKER_DIR, v.source), relative(v.target, target));
    };
    // Run coordinator-init's and each member-init's own commands into a temporary copy of docker/kits.
    const tmp = mkdtempSync(join(tmpdir(), 'kpfl-deploy-kits-'));
    const inTmp = (hostPath: string) => join(tmp, relative(kitsRoot, hostPath));
    try {
      const members = kpflServices.filter(
        (n) => roleOf(n) === 'participant' && compose.services[n]!.profiles.length === 0,
      );
      const runStep = async (name: string) => {
        const cmd = compose.services[name]!.command!;
        const args = cmd.map((a) => (a.startsWith('/') ? inTmp(mountOf(name, a)) : a));
        for (const a of args) if (a.startsWith(tmp)) mkdirSync(dirname(a), { recursive: true });
        const r = await run(args);
        assert.equal(r.code, 0, `${name}: kpfl ${args.join(' ')}: ${r.err}`);
      };
      await Promise.all([runStep('coordinator-init'), ...members.map((m) => runStep(`${m}-init`))]);
      // The aggregator and the worker read the kit coordinator-init wrote, read-only.
      for (const name of ['aggregator', 'worker']) {
        const kit = String(effectiveConfig(name).kit);
        const v = compose.services[name]!.volumes.find((x) => x.target === kit)!;
        assert.ok(v.readOnly, `${name}: the coordinator kit is mounted read-only`);
        assert.ok(
          existsSync(join(inTmp(mountOf(name, kit)), 'coordinator.json')),
          `${name}: coordinator.json`,
        );
      }
      // coordinator-add-<m> adds to that kit; the request it reads is the one <m>-init wrote.
      const seen = new Map<string, string>();
      for (const m of members) {
        const add = compose.services[`coordinator-add-${m}`]!.command!;
        const arg = (c: string[], f: string) => c[c.indexOf(f) + 1]!;
        assert.ok(
          existsSync(join(inTmp(mountOf(`coordinator-add-${m}`, arg(add, '--kit'))), 'coordinator.json')),
          `coordinator-add-${m}: --kit is the coordinator kit`,
        );
        const request = inTmp(mountOf(`coordinator-add-${m}`, arg(add, '--request')));
        assert.ok(existsSync(request), `coordinator-add-${m} reads the request ${m}-init wrote`);
        assert.deepEqual(
          readdirSync(dirname(request)),
          ['enrollment-request.json'],
          'only the request is exchanged',
        );
        const join_ = compose.services[`${m}-join`]!.command!;
        assert.equal(
          mountOf(`${m}-join`, arg(join_, '--response')),
          mountOf(`coordinator-add-${m}`, arg(add, '--response-out')),
          `${m}-join reads the response coordinator-add-${m} writes`,
        );
        // The participant runs on the kit its init and join steps wrote (writable: it stores the HE key).
        const kit = String(effectiveConfig(m).kit);
        const kitDir = mountOf(m, kit);
        assert.equal(kitDir, mountOf(`${m}-init`, arg(compose.services[`${m}-init`]!.command!, '--out')));
        assert.equal(kitDir, mountOf(`${m}-join`, arg(join_, '--kit')));
        assert.ok(
          existsSync(join(inTmp(kitDir), 'enrollment-secrets.json')),
          `${m}-init made ${m}'s keys there`,
        );
        assert.ok(!existsSync(join(inTmp(kitDir), 'he-key.json')), 'no HE key is provisioned');
        const v = compose.services[m]!.volumes.find((x) => x.target === kit)!;
        assert.equal(v.readOnly, false, `${m}: the kit is writable (the HE key the participants make)`);
        assert.ok(!seen.has(kitDir), `${m} and ${seen.get(kitDir)} share a kit`);
        seen.set(kitDir, m);
      }
      assert.equal(seen.size, 3, 'three member kits');
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  test('each member has its own data mount, read-only, and writable scratch only in tmpfs', () => {
    const members = kpflServices.filter(
      (n) => roleOf(n) === 'participant' && compose.services[n]!.profiles.length === 0,
    );
    const sources = new Set<string>();
    for (const name of members) {
      const dataDir = String(effectiveConfig(name).dataset);
      const v = composeVars.services[name]!.volumes.find((x) => x.target === dataDir);
      assert.ok(v?.readOnly, `${name}: ${dataDir} is a read-only mount`);
      sources.add(v.source!);
      const svc = compose.services[name]!;
      assert.equal(svc.raw.read_only, true, `${name}: read-only root file system`);
      const health = containerEnv(name).KPFL_HEALTH_FILE!;
      assert.ok(
        svc.tmpfs.some((t) => health.startsWith(`${t}/`)),
        `${name}: heartbeat ${health} on a tmpfs`,
      );
    }
    assert.equal(sources.size, members.length, 'distinct data sources per member');
    const worker = compose.services.worker!;
    assert.match(
      worker.healthcheck!.test.join(' '),
      /KPFL_HEALTH_FILE/,
      'the worker checks its heartbeat, not /healthz',
    );
    assert.ok(effectiveConfig('worker').healthFile);
  });
});
