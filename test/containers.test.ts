/**
 * docker/compose.yaml in real containers (scripts/containers.sh): the images build from
 * docker/*.Dockerfile; enrollment runs as compose's one-shot services; every container becomes
 * healthy; rounds publish over mutual TLS; the aggregator's and the worker's containers hold no HE
 * key (the same search finds it in a member's); kit files keep 0600; `docker compose down` in the
 * middle of a plan, then `up`, resumes it from the Postgres volume, counting no contribution twice.
 *
 * Skipped only when the script reports that no container engine can start (exit code 3).
 * The deployment is its own (Postgres and Redis containers, a compose project of its own, nothing
 * published on the host, both networks internal), so it leaves the host's 5432/6379 alone.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from '../packages/cli/src/paths.js';

const SCRIPT = join(REPO_ROOT, 'scripts/containers.sh');
const NO_ENGINE = 3;
const MEMBERS = ['alice', 'bob'];
const PLAN = 'containers-test';

interface Run {
  code: number | null;
  out: string;
  err: string;
}

function sh(args: string[], timeoutMs: number): Promise<Run> {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('KPFL_')) env[k] = v;
  return new Promise((res) => {
    const c = spawn(SCRIPT, args, { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let out = '';
    let err = '';
    c.stdout!.on('data', (b) => (out += b));
    c.stderr!.on('data', (b) => (err += b));
    const timer = setTimeout(() => {
      err += `\n[test] ${args.join(' ')} timed out after ${timeoutMs} ms`;
      try {
        process.kill(-c.pid!, 'SIGKILL');
      } catch {}
    }, timeoutMs);
    c.on('close', (code) => {
      clearTimeout(timer);
      res({ code, out, err });
    });
  });
}

async function ok(args: string[], timeoutMs: number): Promise<string> {
  const r = await sh(args, timeoutMs);
  assert.equal(
    r.code,
    0,
    `containers.sh ${args.join(' ')} failed:\n${r.err.slice(-4000)}\n${r.out.slice(-2000)}`,
  );
  return r.out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('the compose deployment runs in real containers', { timeout: 1_200_000 }, async (t) => {
  const started = Date.now();
  const secs = () => Math.round((Date.now() - started) / 100) / 10;

  // 1. an engine: installs what is missing, starts dockerd, makes the base image, runs a container
  const engine = await sh(['engine'], 600_000);
  if (engine.code === NO_ENGINE) {
    t.skip(engine.out.trim() || 'no container engine can start here');
    return;
  }
  assert.equal(engine.code, 0, `containers.sh engine failed:\n${engine.err.slice(-4000)}`);
  t.diagnostic(`engine ready at ${secs()} s`);

  // 2. the images build
  const built = (await ok(['build'], 900_000))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { image: string; seconds: number; bytes: number });
  assert.deepEqual(built.map((b) => b.image).sort(), [
    'kpfl-aggregator',
    'kpfl-participant',
    'kpfl-postgres',
    'kpfl-redis',
  ]);
  for (const b of built) {
    assert.ok(b.bytes > 0, `${b.image} has a size`);
    t.diagnostic(`${b.image}: built in ${b.seconds} s, ${(b.bytes / 1e6).toFixed(0)} MB`);
  }

  const dir = mkdtempSync('/tmp/kpfl-containers-test-');
  t.after(async () => {
    const r = await sh(['clean', dir], 120_000);
    if (r.code !== 0) rmSync(dir, { recursive: true, force: true });
  });
  const compose = (args: string[], timeoutMs = 120_000) => ok(['compose', dir, ...args], timeoutMs);
  const sql = async (q: string) =>
    (await compose(['exec', '-T', 'postgres', 'psql', '-U', 'kpfl', '-d', 'kpfl', '-tA', '-c', q])).trim();
  const rounds = async (plan: string) =>
    (await sql(`SELECT round, state, published_at FROM kpfl.rounds WHERE plan_id = '${plan}' ORDER BY round`))
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split('|'));
  const services = async () =>
    (await compose(['ps', '-a', '--format', '{{.Service}} {{.State}} {{.Health}} {{.ExitCode}}']))
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(' '));
  const COORDINATOR = ['aggregator', 'postgres', 'redis', 'worker'];
  const LONG_RUNNING = [...COORDINATOR, ...MEMBERS];

  // 3. enrollment (one-shot services) and `docker compose up -d`; every container healthy
  await ok(['up', dir], 600_000);
  const upAt = Date.now();
  const ps = await services();
  for (const s of LONG_RUNNING) {
    const row = ps.find((r) => r[0] === s);
    assert.deepEqual(
      row?.slice(1, 3),
      ['running', 'healthy'],
      `${s} is running and healthy: ${JSON.stringify(ps)}`,
    );
  }
  assert.deepEqual(
    ps.find((r) => r[0] === 'migrate')?.slice(1),
    ['exited', '', '0'],
    'migrate ran to completion',
  );
  t.diagnostic(`enrolled and healthy at ${secs()} s`);

  // 4. a plan of 2 rounds publishes; the participants exit 0 when it is done
  const schedule = (plan: string, n: number) =>
    compose([
      '--profile',
      'ops',
      'run',
      '--rm',
      'ops',
      'rounds',
      'schedule',
      // Two participants run here; secure mode needs three (with two, each reads the other).
      '--mode',
      'he',
      '--rounds',
      String(n),
      '--min-participants',
      '2',
      '--fraction',
      '1',
      '--deadline',
      '120s',
      '--max-examples',
      '300',
      '--plan-id',
      plan,
    ]);
  const planDone = async (plan: string) => {
    let state = '';
    for (const until = Date.now() + 300_000; Date.now() < until; await sleep(1000)) {
      state = await sql(`SELECT state FROM kpfl.plans WHERE id = '${plan}'`).catch(() => '');
      if (state === 'done') return;
    }
    assert.fail(
      `plan ${plan} is '${state}' after 300 s: ${JSON.stringify(await rounds(plan).catch(() => []))}`,
    );
  };
  await schedule(PLAN, 2);
  let firstPublished = 0;
  for (const until = Date.now() + 300_000; !firstPublished && Date.now() < until; await sleep(500))
    if ((await rounds(PLAN))[0]?.[1] === 'published') firstPublished = Date.now();
  assert.ok(firstPublished, 'round 1 published');
  t.diagnostic(
    `round 1 published ${((firstPublished - upAt) / 1000).toFixed(1)} s after the stack was healthy`,
  );
  await planDone(PLAN);
  const before = await rounds(PLAN);
  assert.deepEqual(
    before.map((r) => r.slice(0, 2)),
    [
      ['1', 'published'],
      ['2', 'published'],
    ],
  );

  // 5. `docker compose down` (the volumes stay), then up: Postgres still holds the consortium, so a
  // new plan runs without enrolling anyone again or making another HE key.
  await compose(['down'], 180_000);
  assert.deepEqual(await services(), [], 'down removed every container');
  await compose(['up', '-d', 'postgres', 'redis'], 180_000);
  for (const until = Date.now() + 60_000; Date.now() < until; await sleep(500))
    if (await sql('SELECT 1').catch(() => '')) break;
  assert.deepEqual(await rounds(PLAN), before, "plan 1's rounds are in the Postgres volume, as published");
  await schedule(`${PLAN}-2`, 1);
  await compose(['up', '-d'], 180_000);
  await planDone(`${PLAN}-2`);
  assert.deepEqual(
    (await rounds(`${PLAN}-2`)).map((r) => r.slice(0, 2)),
    [['1', 'published']],
  );
  const counts = await sql(
    `SELECT plan_id, round, count(*), count(DISTINCT member) FROM kpfl.contributions GROUP BY plan_id, round ORDER BY plan_id, round`,
  );
  assert.equal(
    counts,
    `${PLAN}|1|2|2\n${PLAN}|2|2|2\n${PLAN}-2|1|2|2`,
    'two contributions per round, none counted twice',
  );
  let ps2: string[][] = [];
  for (const until = Date.now() + 120_000; Date.now() < until; await sleep(1000)) {
    ps2 = await services();
    const healthy = COORDINATOR.every((s) => ps2.find((r) => r[0] === s)?.[2] === 'healthy');
    if (healthy && MEMBERS.every((m) => ps2.find((r) => r[0] === m)?.[1] === 'exited')) break;
  }
  for (const s of COORDINATOR)
    assert.deepEqual(
      ps2.find((r) => r[0] === s)?.slice(1, 3),
      ['running', 'healthy'],
      `${s} healthy after up`,
    );
  for (const m of MEMBERS)
    assert.deepEqual(
      ps2.find((r) => r[0] === m)?.slice(1),
      ['exited', '', '0'],
      `${m} finished its plan and exited 0`,
    );
  // Over mutual TLS: the (restarted) aggregator listened with TLS and issued each member a session on it.
  const aggLog = await compose(['logs', '--no-color', 'aggregator']);
  assert.match(aggLog, /"tls":true[^\n]*"event":"aggregator\.started"/);
  for (const m of MEMBERS) assert.match(aggLog, new RegExp(`"member":"${m}","event":"session\\.issued"`));

  // 6. the aggregator's and the worker's containers hold no HE key; a member's does (the control)
  const epoch1 = JSON.parse(readFileSync(join(dir, 'kits/members/alice/he-keys/epoch-1.json'), 'utf8'));
  const needle = String(epoch1.secretKey).slice(100, 164);
  assert.equal(needle.length, 64, 'a piece of the secret key to search for');
  const search = `grep -rlsF -e '${needle}' --exclude-dir=proc --exclude-dir=sys --exclude-dir=node_modules / || true`;
  for (const s of ['aggregator', 'worker']) {
    const found = await compose(['exec', '-T', s, 'sh', '-c', search]);
    assert.equal(found.trim(), '', `${s}'s container holds the HE key in ${found}`);
    const names = await compose([
      'exec',
      '-T',
      s,
      'sh',
      '-c',
      "find / -xdev \\( -name 'epoch-*.json' -o -name he-key.json -o -name he-keys \\) -print 2>/dev/null || true",
    ]);
    assert.equal(names.trim(), '', `${s}'s container has HE key files`);
  }
  const control = await compose([
    'run',
    '--rm',
    '--no-deps',
    '-T',
    '--entrypoint',
    'sh',
    'alice',
    '-c',
    search,
  ]);
  assert.match(control, /\/kit\/he-keys\/epoch-1\.json/, "the search finds the key in alice's container");

  const epochs = await sql('SELECT count(*) FROM kpfl.key_epochs');
  assert.equal(epochs, '1', 'no second HE key epoch was made');

  // 7. kit files keep 0600 (directories 0700), as the containers' uid wrote them
  const walk = (d: string): string[] =>
    readdirSync(d, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? [join(d, e.name), ...walk(join(d, e.name))] : [join(d, e.name)],
    );
  const kits = [join(dir, 'kits/coordinator'), ...MEMBERS.map((m) => join(dir, 'kits/members', m))];
  const secretFiles = kits.flatMap(walk);
  for (const m of MEMBERS)
    assert.ok(existsSync(join(dir, 'kits/members', m, 'he-keys/epoch-1.json')), `${m} keeps its HE key`);
  assert.ok(secretFiles.some((f) => f.endsWith('coordinator/coordinator.json')));
  for (const f of [...kits, ...secretFiles]) {
    const st = statSync(f);
    assert.equal(
      st.mode & 0o777,
      st.isDirectory() ? 0o700 : 0o600,
      `${f} is ${(st.mode & 0o777).toString(8)}`,
    );
    assert.equal(st.uid, 1000, `${f} is owned by the containers' uid`);
  }
  t.diagnostic(`done in ${secs()} s`);
});
