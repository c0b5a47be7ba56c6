/**
 * Issue 4: the aggregator (run as its own process, as in production) never holds a plaintext update,
 * the plaintext aggregate or the consortium secret key: not in Postgres, not in Redis, not in its log
 * output, not in its process memory. Each scan has a positive control showing it finds the needle
 * where the needle is present, so the test can fail.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { QUEUE_NAME, RoundQueue, redisConnection, schedulePlan } from '../packages/aggregator/src/index.js';
import { cliCommand } from '../packages/cli/src/paths.js';
import {
  createEncoder,
  DEFAULT_HE_PARAMS,
  parseConsortiumKey,
  type UpdateEncoder,
} from '../packages/he/src/index.js';
import { SIMULATED_TRAINING, type SimulatedParticipant } from '../packages/participant/src/index.js';
import type { Task__Output } from '../packages/proto/src/index.js';
import { type Db, getRound, openDb, type PlanRow } from '../packages/store/src/index.js';
import { INITIAL_DIGEST, startTestFederation, type TestFederation, waitFor } from './harness.js';

const MEMBERS = ['alice', 'bob', 'carol'];
const PARAMETERS = 10_000;
const LENGTH = PARAMETERS + 1;
const WINDOW = 64;
/** Upper bound on the bytes read from the aggregator's memory per scan. */
const MAX_SCAN_BYTES = 6 * 1024 ** 3;

/** Member k's distinctive plaintext update (pre-weighted values, example count in the last slot). */
function plaintext(k: number): Float64Array {
  const v = new Float64Array(LENGTH);
  for (let i = 0; i < PARAMETERS; i++) v[i] = (i + k * PARAMETERS) * 1e-3 + 0.123;
  v[PARAMETERS] = 100 + k;
  return v;
}

interface Needle {
  what: string;
  bytes: Buffer;
}

/** 64-byte windows of a vector as float32 and float64 little-endian, at a few offsets. */
function floatWindows(name: string, v: Float64Array): Needle[] {
  const f32 = Buffer.from(new Float32Array(v).buffer);
  const f64 = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  const out: Needle[] = [];
  for (const at of [0.1, 0.5, 0.9]) {
    const i = Math.floor(PARAMETERS * at);
    out.push({
      what: `${name} float32 window @${i}`,
      bytes: Buffer.from(f32.subarray(i * 4, i * 4 + WINDOW)),
    });
    out.push({
      what: `${name} float64 window @${i}`,
      bytes: Buffer.from(f64.subarray(i * 8, i * 8 + WINDOW)),
    });
  }
  return out;
}

/** What a text sink (SQL text, JSON, a log line) would hold instead of raw bytes. */
function textForms(n: Needle): Needle[] {
  return [
    n,
    { what: `${n.what} (hex)`, bytes: Buffer.from(n.bytes.toString('hex')) },
    { what: `${n.what} (base64)`, bytes: Buffer.from(n.bytes.toString('base64')) },
  ];
}

/** Decimal text of 8 consecutive values, as JSON.stringify would write them. */
function decimalWindow(name: string, v: Float64Array): Needle {
  const i = Math.floor(PARAMETERS / 3);
  return { what: `${name} as decimal text`, bytes: Buffer.from(Array.from(v.subarray(i, i + 8)).join(',')) };
}

/** Returns the needles found in `haystack`. */
function findIn(haystack: Buffer, needles: Needle[]): string[] {
  return needles.filter((n) => haystack.indexOf(n.bytes) >= 0).map((n) => n.what);
}

/**
 * Scans every readable mapping of a live process through /proc/<pid>/mem (needs ptrace rights: root,
 * or the same user with ptrace_scope 0), in overlapping blocks; returns the needles found.
 */
function scanProcessMemory(
  pid: number,
  needles: Needle[],
): { found: string[]; bytes: number; regions: number } {
  const maps = readFileSync(`/proc/${pid}/maps`, 'utf8').trim().split('\n');
  const fd = openSync(`/proc/${pid}/mem`, 'r');
  const found = new Set<string>();
  const overlap = Math.max(...needles.map((n) => n.bytes.length)) - 1;
  const block = Buffer.allocUnsafe(16 * 1024 * 1024 + overlap);
  let bytes = 0;
  let regions = 0;
  try {
    for (const line of maps) {
      const [range, perms, , , , path = ''] = line.split(/\s+/);
      if (!perms?.startsWith('r') || /^\[(vvar|vsyscall|vvar_vclock)\]$/.test(path)) continue;
      const [start, end] = range!.split('-').map((h) => Number.parseInt(h, 16)) as [number, number];
      regions++;
      for (let pos = start; pos < end && bytes < MAX_SCAN_BYTES; pos += block.length - overlap) {
        const len = Math.min(block.length, end - pos);
        let n: number;
        try {
          n = readSync(fd, block, 0, len, pos);
        } catch {
          break; // unreadable (e.g. a guard page): skip the rest of this region
        }
        bytes += n;
        const view = block.subarray(0, n);
        for (const needle of needles)
          if (!found.has(needle.what) && view.indexOf(needle.bytes) >= 0) found.add(needle.what);
        if (n < len) break;
      }
    }
  } finally {
    closeSync(fd);
  }
  return { found: [...found], bytes, regions };
}

/** Every row of every table of the schema: raw column values (bytea as bytes) and Postgres' text form. */
async function dumpSchema(db: Db): Promise<Buffer> {
  const tables = (
    await db.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_type = 'BASE TABLE'`,
      [db.schema],
    )
  ).rows.map((r) => r.table_name);
  assert.ok(tables.includes('contributions') && tables.includes('aggregates'), `tables: ${tables}`);
  const parts: Buffer[] = [];
  for (const t of tables) {
    const raw = await db.query(`SELECT * FROM ${db.schema}."${t}"`);
    for (const row of raw.rows) {
      for (const v of Object.values(row)) {
        parts.push(
          Buffer.isBuffer(v)
            ? v
            : Buffer.from(typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)),
          Buffer.from('\u0000'),
        );
      }
    }
    const text = await db.query<{ r: string }>(`SELECT t::text AS r FROM ${db.schema}."${t}" t`);
    for (const row of text.rows) parts.push(Buffer.from(row.r), Buffer.from('\n'));
  }
  return Buffer.concat(parts);
}

describe('issue 4: the aggregator never holds a plaintext update or the secret key', () => {
  let f: TestFederation;
  let child: ChildProcess;
  let output = Buffer.alloc(0);
  let db: Db;
  let queue: RoundQueue;
  const queueRedis = redisConnection();
  let plan: PlanRow;
  let encoder: UpdateEncoder;
  const p: Record<string, SimulatedParticipant> = {};
  const task: Record<string, Task__Output> = {};
  const updates = MEMBERS.map((_, k) => plaintext(k));
  const sum = new Float64Array(LENGTH).map((_, i) => updates.reduce((a, u) => a + u[i]!, 0));
  let keyNeedles: Needle[];
  let plainNeedles: Needle[];

  before(async () => {
    f = await startTestFederation({ members: MEMBERS, startAggregator: false });
    assert.equal(
      existsSync(join(f.work, 'coordinator', 'he-key.json')),
      false,
      'no HE key in the coordinator kit',
    );
    assert.deepEqual(readdirSync(join(f.work, 'coordinator')), ['coordinator.json']);

    const { cmd, args } = cliCommand([
      'aggregator',
      '--kit',
      join(f.work, 'coordinator'),
      '--listen',
      '127.0.0.1:0',
      '--schema',
      f.schema,
      '--redis-prefix',
      f.redisPrefix,
    ]);
    child = spawn(cmd, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, KPFL_LOG_LEVEL: 'debug' },
    });
    const collect = (b: Buffer) => {
      output = Buffer.concat([output, b]);
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    const listening = await waitFor(
      'the aggregator process to listen',
      async () => {
        if (child.exitCode !== null) throw new Error(`aggregator exited:\n${output.toString()}`);
        const line = output
          .toString()
          .split('\n')
          .find((l) => l.includes('"listening"'));
        return line ? (JSON.parse(line) as { port: number }) : undefined;
      },
      30_000,
    );
    const address = `localhost:${listening.port}`;

    db = await openDb({ schema: f.schema });
    queue = new RoundQueue(QUEUE_NAME, queueRedis, f.redisPrefix);
    plan = await schedulePlan(db, queue, {
      id: `${f.federation}-plan`,
      federation: f.federation,
      rounds: 1,
      minParticipants: 3,
      fraction: 1,
      deadlineSeconds: 300,
      mode: 'he',
      heParams: DEFAULT_HE_PARAMS,
      parameterCount: PARAMETERS,
      training: SIMULATED_TRAINING,
      seed: 1,
      initialModelDigest: INITIAL_DIGEST,
    });
    for (const m of MEMBERS) p[m] = await f.participant(m, address);
    await p.alice!.conn.reportEvaluation({
      round: 0,
      globalModelDigest: `sha256:${'0'.repeat(64)}`,
      accuracy: 0,
      loss: 0,
      examples: 0,
    });
    for (const m of MEMBERS) task[m] = await p[m]!.waitForTrainTask();

    const heKeyText = readFileSync(join(f.work, 'members', 'alice', 'he-key.json'), 'utf8');
    const key = parseConsortiumKey(heKeyText);
    encoder = await createEncoder({ mode: 'he', key, workers: 1 });
    const sk = Buffer.from(key.secretKey);
    const b64 = (JSON.parse(heKeyText) as { secretKey: string }).secretKey;
    keyNeedles = [];
    for (const at of [0.25, 0.5, 0.75]) {
      const i = Math.floor(sk.length * at);
      keyNeedles.push({ what: `secret key bytes @${i}`, bytes: sk.subarray(i, i + WINDOW) });
      const j = Math.floor((b64.length * at) / 4) * 4;
      keyNeedles.push({ what: `secret key base64 @${j}`, bytes: Buffer.from(b64.slice(j, j + WINDOW)) });
    }
    plainNeedles = [
      ...MEMBERS.flatMap((m, k) => floatWindows(`${m}'s update`, updates[k]!)),
      ...floatWindows('the plaintext sum', sum),
    ];
  });

  after(async () => {
    await encoder?.close();
    for (const m of MEMBERS) p[m]?.close();
    if (child && child.exitCode === null) {
      let timer: NodeJS.Timeout | undefined;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 10_000)))]);
      clearTimeout(timer);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    await queue?.close();
    await queueRedis.quit().catch(() => {});
    await db?.close();
    await f?.stop();
  });

  const textNeedles = () => [
    ...[...plainNeedles, ...keyNeedles].flatMap(textForms),
    ...MEMBERS.map((m, k) => decimalWindow(`${m}'s update`, updates[k]!)),
    decimalWindow('the plaintext sum', sum),
  ];

  async function redisDump(): Promise<Buffer> {
    const parts: Buffer[] = [];
    const keys = await queueRedis.keys(`${f.redisPrefix}:*`);
    assert.ok(keys.length > 0, 'the aggregator uses this Redis prefix');
    for (const k of keys) {
      const type = await queueRedis.type(k);
      const vals: (string | Buffer)[] =
        type === 'string'
          ? [(await queueRedis.getBuffer(k)) ?? '']
          : type === 'hash'
            ? Object.entries(await queueRedis.hgetall(k)).flat()
            : type === 'list'
              ? await queueRedis.lrange(k, 0, -1)
              : type === 'set'
                ? await queueRedis.smembers(k)
                : type === 'zset'
                  ? await queueRedis.zrange(k, 0, -1)
                  : type === 'stream'
                    ? [JSON.stringify(await queueRedis.xrange(k, '-', '+'))]
                    : [];
      for (const v of vals) parts.push(Buffer.isBuffer(v) ? v : Buffer.from(v), Buffer.from('\0'));
    }
    return Buffer.concat(parts);
  }

  async function assertClean(when: string) {
    const rows = await dumpSchema(db);
    assert.deepEqual(findIn(rows, textNeedles()), [], `Postgres ${when}`);
    assert.deepEqual(findIn(await redisDump(), textNeedles()), [], `Redis ${when}`);
    const mem = scanProcessMemory(child.pid!, [...plainNeedles, ...keyNeedles]);
    assert.ok(mem.bytes > 10 * 1024 * 1024, `read the aggregator's memory (${mem.bytes} bytes)`);
    assert.deepEqual(mem.found, [], `aggregator memory ${when} (${mem.regions} regions, ${mem.bytes} bytes)`);
    return { rows, mem };
  }

  it('mid-round: two encrypted updates stored, nothing readable in Postgres, Redis or memory', async (t) => {
    for (const m of ['alice', 'bob']) {
      const k = MEMBERS.indexOf(m);
      const r = await p[m]!.submitValues(task[m]!, updates[k]!, encoder, 100 + k);
      assert.equal(r.accepted, true);
    }
    const stored = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM contribution_chunks');
    assert.equal(stored.rows[0]!.n, 2 * plan.chunk_count, 'the ciphertexts are in Postgres');
    const started = performance.now();
    const { mem } = await assertClean('mid-round');
    t.diagnostic(
      `scanned ${(mem.bytes / 2 ** 20).toFixed(0)} MiB in ${mem.regions} regions in ${(performance.now() - started).toFixed(0)} ms`,
    );
  });

  it('after publication: still nothing; the aggregate decrypts to the sum for members', async () => {
    const r = await p.carol!.submitValues(task.carol!, updates[2]!, encoder, 102);
    assert.equal(r.accepted, true);
    await waitFor('round 1 published', async () => (await getRound(db, plan.id, 1))?.state === 'published');
    const agg = await p.carol!.conn.downloadAggregate(1);
    const decoded = await encoder.decode(agg.chunks, LENGTH);
    let maxErr = 0;
    for (let i = 0; i < LENGTH; i++) maxErr = Math.max(maxErr, Math.abs(decoded[i]! - sum[i]!));
    assert.ok(maxErr < 1e-5, `members decrypt the sum (max error ${maxErr})`);
    await assertClean('after publication');

    const log = output.toString();
    assert.match(log, /"event":"round.published"/, 'the log output was captured');
    for (const m of MEMBERS)
      assert.match(log, new RegExp(`"member":"${m}".*"event":"contribution.accepted"`));
    assert.deepEqual(findIn(output, textNeedles()), [], 'aggregator log output');
  });

  it('positive controls: the same scans find the needles where they are present', async () => {
    // Postgres: a row carrying a plaintext window (raw bytes) and a key window (base64 text).
    const probe = plainNeedles[0]!;
    await db.query(`CREATE TABLE ${db.schema}.positive_control (raw bytea, txt text)`);
    try {
      await db.query(`INSERT INTO ${db.schema}.positive_control VALUES ($1, $2)`, [
        Buffer.concat([randomBytes(37), probe.bytes, randomBytes(11)]),
        `prefix ${keyNeedles[1]!.bytes.toString()} suffix`,
      ]);
      const found = findIn(await dumpSchema(db), textNeedles());
      assert.ok(found.includes(probe.what), `found ${found}`);
      assert.ok(found.includes(`${probe.what} (hex)`), 'as Postgres prints bytea');
      assert.ok(found.includes(keyNeedles[1]!.what));
    } finally {
      await db.query(`DROP TABLE ${db.schema}.positive_control`);
    }

    // Memory: another process that does hold alice's plaintext update (float32 and float64 copies).
    const holder = spawn(
      process.execPath,
      [
        '-e',
        `const n = ${PARAMETERS}, v = new Float64Array(n + 1);
         for (let i = 0; i < n; i++) v[i] = i * 1e-3 + 0.123;
         v[n] = 100; const w = new Float32Array(v);
         globalThis.keep = [v, w]; console.log('ready'); setInterval(() => {}, 1000);`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      await new Promise((resolve) => holder.stdout!.once('data', resolve));
      const mem = scanProcessMemory(holder.pid!, [...plainNeedles, ...keyNeedles]);
      const alice = floatWindows("alice's update", updates[0]!).map((n) => n.what);
      assert.deepEqual(mem.found.sort(), alice.sort(), "exactly alice's windows, in both encodings");
    } finally {
      holder.kill('SIGKILL');
    }

    // The aggregator's own memory is really read: its TLS server certificate is found there.
    const cert = JSON.parse(readFileSync(join(f.work, 'coordinator', 'coordinator.json'), 'utf8')).server
      .certPem as string;
    const certNeedle = { what: 'server certificate PEM', bytes: Buffer.from(cert.slice(100, 100 + WINDOW)) };
    assert.deepEqual(scanProcessMemory(child.pid!, [certNeedle]).found, [certNeedle.what]);
  });
});
