/**
 * The web console in a real browser (Debian's chromium, driven by playwright-core with no browser
 * download): a federation of three simulated members runs 3 rounds over real gRPC, Postgres and
 * Redis while an auditor watches; every page is checked against Postgres and saved as a screenshot
 * under test/artifacts/console/. Then the refusals: no cookie, a forged and an expired proof, a
 * revoked auditor's cookie, an auditor on the operator's metrics, and a member name that is HTML.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { chromium, type Page } from 'playwright-core';
import { createLogger } from '../packages/aggregator/src/index.js';
import {
  loginLink,
  metricsFromUrl,
  OPERATOR_SUBJECT,
  proveKitKey,
  startConsole,
} from '../packages/console/src/index.js';
import { createEncoder } from '../packages/he/src/index.js';
import { signChallenge } from '../packages/kpt/src/index.js';
import type { SimulatedParticipant } from '../packages/participant/src/index.js';
import { openDb, revokeMemberAudited } from '../packages/store/src/index.js';
import {
  agreeRound,
  importIdentity,
  reportInitialModel,
  startTestFederation,
  syntheticUpdate,
  TEST_OPERATOR,
  waitFor,
} from './harness.js';

// The page's globals, inside page.evaluate callbacks only (this program has no DOM library).
// biome-ignore lint/suspicious/noExplicitAny: the browser's objects, read in the browser
declare const document: any, window: any, location: any;
type HTMLProgressElement = { value: number };

const LENGTH = 2_000;
const MEMBERS = ['alice', 'bob', 'carol'];
const ARTIFACTS = join(import.meta.dirname, 'artifacts', 'console');
const INJECTED = '<img src=x onerror="window.__pwned=1">';

function findChromium(): string | undefined {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'];
  return candidates.find((p): p is string => !!p && existsSync(p));
}

const executablePath = findChromium();

test('the web console, in Chromium, shows a live federation as Postgres has it and refuses what it must', {
  timeout: 300_000,
  skip: executablePath
    ? false
    : 'no Chromium at /usr/bin/chromium (apt-get install -y chromium, or set CHROMIUM_PATH)',
}, async (t) => {
  mkdirSync(ARTIFACTS, { recursive: true });
  const f = await startTestFederation({ members: MEMBERS, auditors: ['auditor-1', 'auditor-2'] });
  t.after(() => f.stop());
  const plan = await f.schedule({ rounds: 3, minParticipants: 3, parameterCount: LENGTH, mode: 'plain' });
  const db = f.agg!.db;
  const su = await openDb({ schema: f.schema }); // the test's own superuser view of the schema
  t.after(() => su.close());

  const web = await startConsole({
    db,
    federation: f.federation,
    coordinatorJwks: f.coordinator.jwks,
    operatorJwk: f.coordinator.signingKey.publicJwk,
    metricsText: metricsFromUrl(`http://127.0.0.1:${f.agg!.metricsPort}/metrics`),
    log: createLogger('console', { file: join(f.work, 'console.log') }),
  });
  t.after(() => web.close());
  t.diagnostic(`console ${web.url}; bundle ${JSON.stringify(web.bundleBytes)} bytes`);

  // The federation: three members, each round submitted, agreed and evaluated.
  const ps = await Promise.all(MEMBERS.map((m) => f.participant(m)));
  await reportInitialModel(ps[0]!);
  const enc = await createEncoder({ mode: 'plain' });
  const evaluation = (r: number, i: number) => ({
    accuracy: 0.5 + 0.1 * r + 0.013 * i,
    loss: 1 / (r + i + 1),
    examples: 10 * (i + 1),
  });
  async function runRound(r: number) {
    const receipts = [];
    for (const [i, p] of ps.entries()) {
      const task = await waitFor(`${MEMBERS[i]}'s round ${r} task`, async () => {
        const task = await p.conn.getTask(r - 1);
        return task.kind === 'TASK_KIND_TRAIN' && task.round === r && task.baseModelDigest ? task : undefined;
      });
      receipts.push({ p, ...(await p.submitValues(task, syntheticUpdate(LENGTH, i, 10), enc, 10)) });
    }
    await waitFor(`round ${r} published`, async () => {
      const { rows } = await db.query('SELECT state FROM rounds WHERE plan_id = $1 AND round = $2', [
        plan.id,
        r,
      ]);
      return rows[0]?.state === 'published';
    });
    const digest = `sha256:${String(r).repeat(64)}`;
    await agreeRound(
      r,
      receipts.map((x) => ({ p: x.p as SimulatedParticipant, attestationDigest: x.attestationDigest })),
      digest,
    );
    for (const [i, p] of ps.entries())
      await p.conn.reportEvaluation({ round: r, globalModelDigest: digest, ...evaluation(r, i) });
  }
  await runRound(1);
  await waitFor('round 2 open', async () => {
    const { rows } = await db.query('SELECT 1 FROM rounds WHERE plan_id = $1 AND round = 2', [plan.id]);
    return rows.length > 0;
  });

  // ---- refusals that need no browser ----
  const api = (path: string, init: RequestInit = {}) => fetch(new URL(path, web.url), init);
  const body = async (r: Response) => (await r.json()) as Record<string, string>;
  const noCookie = await api('/api/overview');
  assert.equal(noCookie.status, 401, 'no cookie: 401');
  const noCookieBody = await body(noCookie);
  assert.deepEqual(Object.keys(noCookieBody).sort(), ['code', 'error'], 'and no data');
  for (const path of ['/api/rounds', '/api/contributions', '/api/audit', '/api/evaluations', '/api/events'])
    assert.equal((await api(path)).status, 401, `${path} without a cookie`);
  const page0 = await api('/');
  const csp = page0.headers.get('content-security-policy') ?? '';
  assert.match(csp, /script-src 'self'(;|$)/, 'CSP: scripts from the console only, none inline');
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  assert.doesNotMatch(await page0.text(), /<script>|<script [^>]*>[^<]/, 'the page has no inline script');

  const auditor1 = await importIdentity(f.memberKit('auditor-1').identity.privateJwk);
  const alice = await importIdentity(f.memberKit('alice').identity.privateJwk);
  const challenge = async (subject: string) =>
    (await (
      await api('/api/login/challenge', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ subject }),
      })
    ).json()) as { nonce: string; audience: string };
  const tryLogin = async (proof: string) =>
    api('/api/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ proof }),
    });
  {
    // Forged: auditor-1's challenge answered with alice's key.
    const c = await challenge('auditor-1');
    const forged = await signChallenge(alice, { nonce: c.nonce, subject: 'auditor-1', audience: c.audience });
    const r = await tryLogin(forged);
    assert.equal(r.status, 401);
    assert.match((await body(r)).error, /does not verify with the registered key of "auditor-1"/);
    assert.equal(r.headers.get('set-cookie'), null, 'no cookie for a forged proof');
  }
  {
    // Expired: signed an hour ago.
    const c = await challenge('auditor-1');
    const old = await signChallenge(auditor1, {
      nonce: c.nonce,
      subject: 'auditor-1',
      audience: c.audience,
      now: () => Date.now() - 3_600_000,
    });
    const r = await tryLogin(old);
    assert.equal(r.status, 401);
    assert.match((await body(r)).error, /too old/);
  }
  {
    // The gRPC Authenticate's audience is not the console's: a proof for the aggregator is refused.
    const c = await challenge('auditor-1');
    const other = await signChallenge(auditor1, {
      nonce: c.nonce,
      subject: 'auditor-1',
      audience: `kpfl:${f.federation}:aggregator`,
    });
    assert.equal((await tryLogin(other)).status, 401, 'a proof for another audience');
    // A participant is not an auditor.
    const r = await api('/api/login/challenge', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ subject: 'alice' }),
    });
    assert.equal(r.status, 403);
  }
  {
    // A good proof works once.
    const proof = await proveKitKey(web.url, auditor1, 'auditor-1');
    assert.equal((await tryLogin(proof)).status, 200);
    assert.equal((await tryLogin(proof)).status, 401, 'a replayed proof');
  }

  // ---- the browser ----
  const browser = await chromium.launch({ executablePath, headless: true, args: ['--no-sandbox'] });
  t.after(() => browser.close());
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' && !/401/.test(m.text())) problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(e.message));
  const shot = (name: string, p: Page = page) =>
    p.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });

  // Without a cookie the page asks to log in.
  await page.goto(web.url);
  await page.waitForSelector('#login-page');
  await shot('login');

  const started = Date.now();
  await page.goto(loginLink(web.url, await proveKitKey(web.url, auditor1, 'auditor-1')));
  await page.waitForSelector('#round-counter').catch(async (err) => {
    throw new Error(
      `${err.message}\npage: ${await page.textContent('body')}\nproblems: ${problems.join('\n')}`,
    );
  });
  const loadMs = Date.now() - started;
  const nav = await page.evaluate(() => {
    const n = performance.getEntriesByType('navigation' as never)[0] as unknown as Record<string, number>;
    return { domContentLoaded: n.domContentLoadedEventEnd, load: n.loadEventEnd, transfer: n.transferSize };
  });
  // Reloads of the logged-in overview: the page, its bundle and its first API calls (measured, not asserted).
  const reloads: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = Date.now();
    await page.reload();
    await page.waitForSelector('main[data-page="overview"] #round-counter');
    reloads.push(Date.now() - t0);
  }
  const median = [...reloads].sort((a, b) => a - b)[2];
  t.diagnostic(
    `page load to a rendered overview: first ${loadMs} ms, reloads ${reloads.join(', ')} ms (median ${median}); navigation ${JSON.stringify(nav)}`,
  );
  writeFileSync(
    join(ARTIFACTS, 'timing.json'),
    JSON.stringify(
      { loadToOverviewMs: loadMs, reloadsMs: reloads, navigation: nav, bundleBytes: web.bundleBytes },
      null,
      2,
    ),
  );
  assert.equal(new URL(page.url()).hash, '#/overview', 'the proof is taken out of the address bar');
  const cookies = await context.cookies();
  assert.equal(cookies.length, 1);
  assert.equal(cookies[0]!.httpOnly, true, 'HttpOnly');
  assert.equal(cookies[0]!.sameSite, 'Strict', 'SameSite=Strict');
  assert.ok(
    cookies[0]!.expires > 0 && cookies[0]!.expires * 1000 - Date.now() <= 15 * 60_000 + 5_000,
    'short-lived',
  );
  assert.equal(await page.evaluate(() => document.cookie), '', 'the script cannot read it');

  assert.equal(await page.textContent('#round-counter'), '2 / 3', 'round 2 is the one in progress');
  assert.deepEqual(
    await page.$$eval('#members tbody tr', (trs) => trs.map((tr) => tr.getAttribute('data-member'))),
    ['alice', 'auditor-1', 'auditor-2', 'bob', 'carol'],
  );
  await shot('overview');

  // Live: rounds 2 and 3 run while the page is open; the counter follows without a reload.
  await page.evaluate(() => {
    (window as unknown as { __same: number }).__same = 1;
  });
  await runRound(2);
  await page.waitForFunction(() => document.getElementById('round-counter')?.textContent === '3 / 3');
  await runRound(3);
  await page.waitForFunction(() => document.getElementById('round-phase')?.textContent === 'published');
  assert.equal(
    await page.evaluate(() => (window as unknown as { __same?: number }).__same),
    1,
    'updated in place: the page was not reloaded',
  );
  await shot('overview');

  // Rounds table against Postgres.
  await page.click('a[data-route="rounds"]');
  await page.waitForSelector('main[data-page="rounds"] #rounds-table');
  const shown = await page.$$eval('#rounds-table tbody tr', (trs) =>
    trs.map((tr) => ({
      round: Number(tr.getAttribute('data-round')),
      state: tr.getAttribute('data-state'),
      cells: [...tr.querySelectorAll('td')].map((td) => td.textContent ?? ''),
    })),
  );
  const { rows: dbRounds } = await su.query(
    `SELECT r.round, r.state, r.sampled, r.contributions, c.certificate,
            (SELECT sum(bytes)::bigint FROM contributions x WHERE x.plan_id = r.plan_id AND x.round = r.round) AS bytes
     FROM rounds r LEFT JOIN certificates c USING (plan_id, round) WHERE r.plan_id = $1 ORDER BY r.round`,
    [plan.id],
  );
  assert.equal(shown.length, 3);
  for (const [i, r] of dbRounds.entries()) {
    const s = shown[i]!;
    assert.equal(s.round, r.round);
    assert.equal(s.state, r.state);
    assert.equal(s.cells[3], `${r.contributions}/${r.sampled.length}`, `round ${r.round} participants`);
    assert.equal(Number(s.cells[6]), r.certificate.signatures.length, `round ${r.round} certificate signers`);
    assert.match(s.cells[4]!, /opened \d+\.\d\d s.*closed \d+\.\d\d s.*published/s, 'time per phase');
    assert.ok(Number(r.bytes) > 0 && s.cells[5]!.length > 0, 'bytes');
  }
  await shot('rounds');

  // The accuracy chart's points against the evaluation rows.
  await page.click('a[data-route="accuracy"]');
  await page.waitForSelector('#chart-accuracy canvas');
  const points = JSON.parse((await page.getAttribute('#chart-accuracy', 'data-points'))!);
  const { rows: evals } = await su.query(
    'SELECT round, member, accuracy, examples FROM evaluations WHERE plan_id = $1 AND examples > 0 ORDER BY round, member',
    [plan.id],
  );
  assert.deepEqual(points.rounds, [...new Set(evals.map((e) => e.round))]);
  for (const m of MEMBERS) {
    const line = points.series.find((s: { label: string }) => s.label === m);
    assert.deepEqual(
      line.values,
      points.rounds.map((r: number) => evals.find((e) => e.round === r && e.member === m)?.accuracy ?? null),
      `${m}'s line`,
    );
  }
  const { rows: means } = await su.query(
    `SELECT round, sum(accuracy * examples) / NULLIF(sum(examples), 0) AS mean FROM evaluations
     WHERE plan_id = $1 AND examples > 0 GROUP BY round ORDER BY round`,
    [plan.id],
  );
  const meanLine = points.series.find((s: { label: string }) => s.label === 'weighted mean');
  for (const [i, r] of means.entries()) {
    if (r.mean === null) assert.equal(meanLine.values[i], null);
    else assert.ok(Math.abs(meanLine.values[i] - r.mean) < 1e-12, `round ${r.round} mean`);
  }
  await shot('accuracy');
  await page.locator('#chart-accuracy').screenshot({ path: join(ARTIFACTS, 'accuracy-chart.png') });

  // Contributions: each verifiable with a click.
  await page.click('a[data-route="contributions"]');
  await page.waitForSelector('#contributions tbody tr');
  assert.equal(await page.locator('#contributions tbody tr').count(), 9, '3 members x 3 rounds');
  const row = page.locator('#contributions tbody tr[data-member="bob"][data-round="2"]');
  await row.locator('button.verify').click();
  await row.locator('.verdict').waitFor();
  assert.equal(
    await row.locator('.verdict').getAttribute('data-ok'),
    'true',
    (await row.locator('.verdict').textContent()) ?? '',
  );
  // Positive control: bob's round-2 acceptance edited in the log (as a superuser would) no longer verifies.
  const { rows: acc } = await su.query(
    `SELECT seq, data FROM audit_log WHERE event = 'contribution.accepted' AND member = 'bob' AND round = 2`,
  );
  const edit = async (data: unknown) =>
    su.tx(async (c) => {
      await c.query('SET LOCAL session_replication_role = replica');
      await c.query('UPDATE audit_log SET data = $2 WHERE seq = $1', [acc[0].seq, JSON.stringify(data)]);
    });
  await edit({ ...acc[0].data, exampleCount: 11 });
  await row.locator('button.verify').click();
  await page.waitForFunction(
    () =>
      document.querySelector('tr[data-member="bob"][data-round="2"] .verdict')?.getAttribute('data-ok') ===
      'false',
  );
  const broken = await row.locator('.verdict').textContent();
  await edit(acc[0].data);
  assert.match(broken ?? '', new RegExp(`row ${acc[0].seq}|edited`));
  await shot('contributions');

  // Audit log and the whole-chain verification with its progress.
  await page.click('a[data-route="audit"]');
  await page.waitForSelector('#audit-log tbody tr');
  assert.equal(await page.locator('#audit-log tbody tr').count(), 50, 'one page of 50');
  await page.click('#verify-chain');
  await page.waitForSelector('#verify-status [data-ok]');
  assert.equal(await page.getAttribute('#verify-status [data-ok]', 'data-ok'), 'true');
  assert.equal(await page.$eval('#verify-progress', (p) => (p as HTMLProgressElement).value), 3);
  await shot('audit');
  // Filtered by member.
  await page.fill('input[name="member"]', 'carol');
  await page.click('form.filters button');
  await page.waitForFunction(() => location.hash.includes('member=carol'));
  await page.waitForSelector('main[data-page="audit"] #audit-log');
  const members = await page.$$eval('#audit-log tbody tr td:nth-child(6)', (tds) => [
    ...new Set(tds.map((td) => td.textContent)),
  ]);
  assert.deepEqual(members, ['carol']);

  // Metrics are the operator's: an auditor is refused, the operator sees the series and the queue depth.
  await page.click('a[data-route="metrics"]');
  await page.waitForSelector('#metrics-denied');
  const auditorCookie = `kpfl_console=${cookies[0]!.value}`;
  assert.equal((await api('/api/metrics', { headers: { cookie: auditorCookie } })).status, 403);
  const operator = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  const opPage = await operator.newPage();
  const coordinatorKey = await importIdentity(f.coordinator.signingKey.privateJwk);
  await opPage.goto(loginLink(web.url, await proveKitKey(web.url, coordinatorKey, OPERATOR_SUBJECT)));
  await opPage.waitForSelector('#round-counter');
  await opPage.click('a[data-route="metrics"]');
  await opPage.waitForSelector('#queue-depth');
  const series = await opPage.$$eval('#metrics-table tbody tr td:first-child', (tds) =>
    tds.map((td) => td.textContent),
  );
  assert.ok(series.includes('kpfl_queue_jobs'), 'queue depth series');
  assert.ok(series.includes('kpfl_submissions_total'), 'submissions');
  await shot('metrics', opPage);
  await operator.close();

  // A member whose name is HTML (put straight into Postgres) is shown as text.
  const aliceRow = (await su.query(`SELECT * FROM members WHERE id = 'alice'`)).rows[0];
  await su.query(
    `INSERT INTO members (federation, id, kid, public_jwk, roles) VALUES ($1, $2, $3, $4, '{participant}')`,
    [f.federation, INJECTED, `${aliceRow.kid}-x`, aliceRow.public_jwk],
  );
  await page.click('a[data-route="overview"]');
  await page.waitForSelector(`#members tbody tr:nth-child(6)`);
  const cellTexts = await page.$$eval('#members tbody td:first-child', (tds) =>
    tds.map((td) => td.textContent),
  );
  assert.ok(cellTexts.includes(INJECTED), 'the name is shown literally');
  assert.equal(await page.locator('#members img').count(), 0, 'no element was made from it');
  assert.equal(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined);
  await shot('injection');

  // A revoked auditor's cookie is refused at once, and its open page falls back to the log-in.
  const a2 = await browser.newContext();
  const a2Page = await a2.newPage();
  await a2Page.goto(
    loginLink(
      web.url,
      await proveKitKey(
        web.url,
        await importIdentity(f.memberKit('auditor-2').identity.privateJwk),
        'auditor-2',
      ),
    ),
  );
  await a2Page.waitForSelector('#round-counter');
  const a2Cookie = `kpfl_console=${(await a2.cookies())[0]!.value}`;
  assert.equal((await api('/api/overview', { headers: { cookie: a2Cookie } })).status, 200);
  assert.equal(
    await revokeMemberAudited(db, { federation: f.federation, id: 'auditor-2', actor: TEST_OPERATOR }),
    'revoked',
  );
  const refused = await api('/api/overview', { headers: { cookie: a2Cookie } });
  assert.equal(refused.status, 401, "a revoked auditor's cookie");
  assert.deepEqual(Object.keys(await body(refused)).sort(), ['code', 'error']);
  await a2Page.waitForSelector('#login-page');
  await a2.close();

  assert.deepEqual(problems, [], 'no script error and no CSP violation in the page');
});
