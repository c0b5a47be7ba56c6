/**
 * `kpfl console` and `kpfl aggregator --console` as processes: the operator's log-in link they
 * print works once, `kpfl console --login` gives an auditor a working link, and a bad call ends in
 * one line with exit code 2.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { runKpfl, spawnKpfl, startTestFederation } from './harness.js';

/** Posts a log-in link's proof to its console; returns the status and the session cookie. */
async function follow(link: string) {
  const url = new URL(link);
  const proof = decodeURIComponent(url.hash.slice('#proof='.length));
  const res = await fetch(new URL('/api/login', url), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ proof }),
  });
  return { status: res.status, cookie: (res.headers.get('set-cookie') ?? '').split(';')[0]! };
}

test('kpfl console and kpfl aggregator --console serve the console and print log-in links', {
  timeout: 180_000,
}, async (t) => {
  const f = await startTestFederation({
    members: ['alice'],
    auditors: ['auditor-1'],
    startAggregator: false,
  });
  t.after(() => f.stop());
  await f.handles(); // registers the federation and its members, as the aggregator's start-up does
  const kit = join(f.work, 'coordinator');

  const served = spawnKpfl(['console', '--kit', kit, '--schema', f.schema, '--listen', '127.0.0.1:0']);
  t.after(() => served.child.kill('SIGTERM'));
  const line = (await served.firstLine) as { url: string; operatorLink: string };
  assert.match(line.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  const op = await follow(line.operatorLink);
  assert.equal(op.status, 200, 'the operator link logs in');
  assert.equal((await follow(line.operatorLink)).status, 401, 'once');
  const session = (await (
    await fetch(new URL('/api/session', line.url), { headers: { cookie: op.cookie } })
  ).json()) as { role: string };
  assert.equal(session.role, 'operator');

  const port = new URL(line.url).port;
  const login = await runKpfl([
    'console',
    '--login',
    `127.0.0.1:${port}`,
    '--kit',
    join(f.work, 'auditors', 'auditor-1'),
  ]);
  assert.equal(login.code, 0, login.err);
  const auditor = await follow(login.out.trim());
  assert.equal(auditor.status, 200);
  const rounds = await fetch(new URL('/api/rounds', line.url), { headers: { cookie: auditor.cookie } });
  assert.equal(rounds.status, 200);
  assert.deepEqual(await rounds.json(), [], 'no round yet');

  // A participant's kit is refused in one line.
  const member = await runKpfl([
    'console',
    '--login',
    `127.0.0.1:${port}`,
    '--kit',
    join(f.work, 'members', 'alice'),
  ]);
  assert.equal(member.code, 2, member.err);
  assert.match(
    member.err,
    /^kpfl: the console at .* refused a challenge for "alice": "alice" lacks role "auditor"/,
  );
  assert.doesNotMatch(member.err, /\bat .*\.ts:\d+/, 'no stack trace');

  // The aggregator serves it too, with its metrics (queue depth included).
  const agg = spawnKpfl([
    'aggregator',
    '--kit',
    kit,
    '--schema',
    f.schema,
    '--redis-prefix',
    f.redisPrefix,
    '--listen',
    '127.0.0.1:0',
    '--insecure',
    '--metrics-port',
    '0',
    '--console',
    '127.0.0.1:0',
  ]);
  t.after(() => agg.child.kill('SIGTERM'));
  const started = (await agg.firstLine) as { console: string; operatorLink: string };
  const aop = await follow(started.operatorLink);
  assert.equal(aop.status, 200, agg.stderr());
  const metrics = (await (
    await fetch(new URL('/api/metrics', started.console), { headers: { cookie: aop.cookie } })
  ).json()) as { available: boolean; families: { name: string }[] };
  assert.equal(metrics.available, true);
  assert.ok(
    metrics.families.some((m: { name: string }) => m.name === 'kpfl_queue_jobs'),
    'queue depth from the metrics endpoint',
  );
});
