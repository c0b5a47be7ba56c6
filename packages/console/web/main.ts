/**
 * The console's front end: a page per hash route, rendered with DOM calls only (text nodes and
 * textContent; no HTML string is ever parsed), fed by the JSON API and one EventSource.
 */
import uPlot from 'uplot';

// biome-ignore lint/suspicious/noExplicitAny: JSON from our own API, read field by field
type Json = any;
type Child = Node | string | number | null | undefined | false;

/** An element with attributes (never `style`, never an event handler attribute) and text or element children. */
function h(tag: string, attrs: Record<string, string | undefined> = {}, ...children: Child[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined) el.setAttribute(k, v);
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === 'object' ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** Appends the children that are there (a condition's false or null adds nothing). */
function put(parent: HTMLElement, ...children: Child[]) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    parent.append(typeof c === 'object' ? c : document.createTextNode(String(c)));
  }
}

function table(id: string, head: string[], rows: Child[][], rowAttrs: Record<string, string>[] = []) {
  return h(
    'table',
    { id },
    h('thead', {}, h('tr', {}, ...head.map((t) => h('th', {}, t)))),
    h(
      'tbody',
      {},
      ...rows.map((r, i) =>
        h(
          'tr',
          rowAttrs[i] ?? {},
          ...r.map((c) => (c instanceof HTMLElement && c.tagName === 'TD' ? c : h('td', {}, c))),
        ),
      ),
    ),
  );
}

const num = (v: Child, cls = 'num') => h('td', { class: cls }, v);
const badge = (text: string) => h('span', { class: `badge ${text.replace(/[^a-z-]/gi, '')}` }, text);
const when = (iso: string | null | undefined) => (iso ? new Date(iso).toLocaleString() : '—');
const short = (digest: string | null | undefined) =>
  digest ? h('code', { title: digest }, `${digest.slice(0, 15)}…${digest.slice(-6)}`) : '—';
const bytes = (n: number) =>
  n >= 2 ** 20 ? `${(n / 2 ** 20).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`;

class LoginNeeded extends Error {}

async function api(path: string, init: { method?: string; body?: unknown } = {}): Promise<Json> {
  const res = await fetch(path, {
    method: init.method ?? 'GET',
    credentials: 'same-origin',
    headers: init.body !== undefined ? { 'content-type': 'application/json' } : {},
    body: init.body !== undefined ? JSON.stringify(init.body) : undefined,
  });
  const body = await res.json().catch(() => ({}));
  if (res.status === 401) throw new LoginNeeded(body.error ?? 'log in first');
  if (!res.ok) throw new Error(body.error ?? `HTTP ${res.status}`);
  return body;
}

const PAGES: { route: string; title: string; render: (main: HTMLElement) => Promise<void> }[] = [
  { route: 'overview', title: 'Overview', render: renderOverview },
  { route: 'rounds', title: 'Rounds', render: renderRounds },
  { route: 'accuracy', title: 'Accuracy', render: renderAccuracy },
  { route: 'contributions', title: 'Contributions', render: renderContributions },
  { route: 'audit', title: 'Audit log', render: renderAudit },
  { route: 'metrics', title: 'Metrics', render: renderMetrics },
];

const state: {
  session?: Json;
  live?: Json;
  head?: number;
  verify?: Json;
  events?: EventSource;
  rendering?: Promise<void>;
  rerender?: boolean;
} = {};

const page = () => document.getElementById('page')!;
const currentRoute = () => {
  const r = location.hash.replace(/^#\/?/, '').split('?')[0] ?? '';
  return PAGES.find((p) => p.route === r) ?? PAGES[0]!;
};

function renderNav() {
  const nav = document.getElementById('nav')!;
  const cur = currentRoute().route;
  nav.replaceChildren(
    ...PAGES.map((p) =>
      h(
        'a',
        { href: `#/${p.route}`, class: p.route === cur ? 'active' : undefined, 'data-route': p.route },
        p.title,
      ),
    ),
  );
  const who = document.getElementById('who')!;
  const logout = h('button', { id: 'logout', type: 'button' }, 'Log out');
  logout.addEventListener('click', async () => {
    await api('/api/logout', { method: 'POST' }).catch(() => {});
    state.events?.close();
    state.session = undefined;
    showLogin();
  });
  who.replaceChildren(
    document.createTextNode(`${state.session.subject} (${state.session.role}) · ${state.session.federation}`),
    logout,
  );
}

function renderLive() {
  const el = document.getElementById('live')!;
  const l = state.live;
  if (!l) {
    el.replaceChildren(document.createTextNode('no plan yet'));
    return;
  }
  const left = l.deadlineAt ? Math.max(0, Math.round((Date.parse(l.deadlineAt) - Date.now()) / 1000)) : null;
  const accepting = l.state === 'open' || l.state === 'collecting';
  el.replaceChildren();
  put(
    el,
    h('span', { id: 'live-round' }, `round ${l.round}/${l.totalRounds}`),
    ` · ${l.state ?? 'waiting'} · ${l.accepted}/${l.sampled} accepted`,
    accepting && left !== null ? h('span', { id: 'live-deadline' }, ` · deadline in ${left} s`) : null,
  );
}

async function route() {
  if (!state.session) return;
  renderNav();
  const p = currentRoute();
  document.title = `${p.title} · kpfl console`;
  if (state.rendering) {
    state.rerender = true;
    return;
  }
  const main = h('main', { id: 'page', 'data-page': p.route });
  state.rendering = p
    .render(main)
    .then(() => page().replaceWith(main))
    .catch((err) => {
      if (err instanceof LoginNeeded) return showLogin(err.message);
      page().replaceChildren(h('p', { class: 'error' }, String(err.message ?? err)));
    })
    .finally(() => {
      state.rendering = undefined;
      if (state.rerender) {
        state.rerender = false;
        void route();
      }
    });
}

// ---------- pages ----------

async function renderOverview(main: HTMLElement) {
  const o = await api('/api/overview');
  state.live = o.live;
  renderLive();
  const l = o.live;
  const deadline = h('span', { id: 'deadline' }, '—');
  const tick = () => {
    if (!l?.deadlineAt || !(l.state === 'open' || l.state === 'collecting')) return;
    const s = Math.max(0, Math.round((Date.parse(l.deadlineAt) - Date.now()) / 1000));
    deadline.textContent = `${s} s`;
  };
  tick();
  const stat = (label: string, value: Child, id?: string) =>
    h('div', { class: 'stat' }, h('div', { class: 'label' }, label), h('div', { class: 'value', id }, value));
  put(
    main,
    h('h1', {}, `Federation ${o.federation}`),
    h(
      'section',
      { class: 'card', id: 'round-in-progress' },
      h('h2', {}, 'Round in progress'),
      l
        ? h(
            'div',
            { class: 'stats' },
            stat('round', `${l.round} / ${l.totalRounds}`, 'round-counter'),
            stat('phase', l.state ?? 'waiting', 'round-phase'),
            stat('accepted / sampled', `${l.accepted} / ${l.sampled}`, 'round-accepted'),
            stat('deadline', deadline),
            stat('plan', h('code', {}, l.planId)),
          )
        : h('p', { class: 'muted' }, 'No plan has been scheduled.'),
    ),
    h('h2', {}, 'Members'),
    table(
      'members',
      ['member', 'roles', 'status', 'last seen'],
      o.members.map((m: Json) => [m.id, m.roles.join(', '), badge(m.status), when(m.lastSeenAt)]),
      o.members.map((m: Json) => ({ 'data-member': m.id })),
    ),
    h('h2', {}, 'Plans'),
    table(
      'plans',
      ['plan', 'state', 'rounds', 'mode', 'min participants', 'fraction', 'deadline', 'created', 'finished'],
      o.plans.map((p: Json) => [
        h('code', {}, p.id),
        badge(p.state),
        num(p.totalRounds),
        p.mode,
        num(p.minParticipants),
        num(p.fraction),
        `${p.deadlineSeconds} s`,
        when(p.createdAt),
        when(p.finishedAt),
      ]),
    ),
  );
  const timer = setInterval(() => (deadline.isConnected ? tick() : clearInterval(timer)), 1000);
}

async function renderRounds(main: HTMLElement) {
  const rows: Json[] = await api('/api/rounds');
  put(
    main,
    h('h1', {}, 'Rounds'),
    table(
      'rounds-table',
      [
        'plan',
        'round',
        'state',
        'participants',
        'time per phase',
        'bytes',
        'certificate signers',
        'aggregate',
      ],
      rows.map((r) => [
        h('code', {}, r.planId),
        num(r.round),
        badge(r.state),
        num(`${r.accepted.length}/${r.sampled.length}`),
        h(
          'td',
          { class: 'phases' },
          ...r.phases.map((p: Json) =>
            h('div', {}, `${p.phase}${p.seconds === null ? '' : ` ${p.seconds.toFixed(2)} s`}`),
          ),
        ),
        num(bytes(r.bytes)),
        h('td', { class: 'num', title: r.certificateSigners.join(', ') }, r.certificateSigners.length),
        short(r.aggregateDigest),
      ]),
      rows.map((r) => ({ 'data-plan': r.planId, 'data-round': String(r.round), 'data-state': r.state })),
    ),
    rows.length === 0 ? h('p', { class: 'muted' }, 'No round yet.') : null,
  );
}

const PALETTE = ['#2456c7', '#d9480f', '#2b8a3e', '#862e9c', '#e67700', '#0b7285', '#c2255c', '#5c940d'];

function chart(id: string, title: string, plan: Json, field: 'accuracy' | 'loss') {
  const series = [
    ...plan.members.map((m: Json) => ({ label: m.member, values: m[field] })),
    { label: 'weighted mean', values: plan.mean[field] },
  ];
  const box = h('div', { id, class: 'chart' });
  // What the chart plots, for readers of the page (and the tests): the same arrays uPlot gets.
  box.dataset.points = JSON.stringify({ rounds: plan.rounds, series });
  const data = [plan.rounds, ...series.map((s) => s.values)] as uPlot.AlignedData;
  const u = new uPlot(
    {
      title,
      width: Math.max(480, Math.min(1100, document.body.clientWidth - 80)),
      height: 300,
      scales: { x: { time: false } },
      axes: [{ label: 'round', incrs: [1, 2, 5, 10, 20, 50, 100] }, { label: field }],
      series: [
        { label: 'round' },
        ...series.map((s, i) =>
          i === series.length - 1
            ? { label: s.label, stroke: '#111', width: 3, dash: [8, 4], spanGaps: true }
            : { label: s.label, stroke: PALETTE[i % PALETTE.length], width: 1.5, spanGaps: true },
        ),
      ],
    },
    data,
    box,
  );
  void u;
  return box;
}

async function renderAccuracy(main: HTMLElement) {
  const plans: Json[] = await api('/api/evaluations');
  put(main, h('h1', {}, 'Accuracy and loss per round'));
  if (plans.length === 0) {
    put(main, h('p', { class: 'muted' }, 'No evaluation report yet.'));
    return;
  }
  const select = h('select', { id: 'plan-select' }) as HTMLSelectElement;
  for (const p of plans) select.append(h('option', { value: p.planId }, p.planId));
  const wanted = sessionStorage.getItem('kpfl-plan');
  select.value = plans.some((p) => p.planId === wanted) ? wanted! : plans.at(-1).planId;
  const charts = h('div', { class: 'charts' });
  const draw = () => {
    const plan = plans.find((p) => p.planId === select.value)!;
    charts.replaceChildren(
      chart('chart-accuracy', 'Accuracy', plan, 'accuracy'),
      chart('chart-loss', 'Loss', plan, 'loss'),
      h('h2', {}, 'Reports'),
      table(
        'evaluation-table',
        ['round', ...plan.members.map((m: Json) => m.member), 'weighted mean accuracy'],
        plan.rounds.map((r: number, i: number) => [
          num(r),
          ...plan.members.map((m: Json) => num(m.accuracy[i] === null ? '—' : m.accuracy[i].toFixed(4))),
          num(plan.mean.accuracy[i] === null ? '—' : plan.mean.accuracy[i].toFixed(4)),
        ]),
      ),
    );
  };
  select.addEventListener('change', () => {
    sessionStorage.setItem('kpfl-plan', select.value);
    draw();
  });
  draw();
  put(main, h('label', {}, 'plan ', select), charts);
}

function filterForm(
  fields: { name: string; label: string; value: string }[],
  onSubmit: (v: Record<string, string>) => void,
) {
  const form = h('form', { class: 'filters' }) as HTMLFormElement;
  const inputs = fields.map((f) => {
    const input = h('input', { name: f.name, value: f.value, size: '14' }) as HTMLInputElement;
    form.append(h('label', {}, f.label, input));
    return input;
  });
  form.append(h('button', { type: 'submit', class: 'primary' }, 'Filter'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    onSubmit(Object.fromEntries(inputs.map((i) => [i.name, i.value.trim()])));
  });
  return form;
}

const hashQuery = () => new URLSearchParams(location.hash.split('?')[1] ?? '');
function setHashQuery(routeName: string, q: Record<string, string>) {
  const qs = new URLSearchParams(Object.entries(q).filter(([, v]) => v !== '')).toString();
  location.hash = `#/${routeName}${qs ? `?${qs}` : ''}`;
}

async function renderContributions(main: HTMLElement) {
  const q = hashQuery();
  const page = await api(`/api/contributions?${q.toString()}`);
  const rows: Json[] = page.rows;
  put(
    main,
    h('h1', {}, 'Contributions'),
    filterForm(
      [
        { name: 'round', label: 'round', value: q.get('round') ?? '' },
        { name: 'member', label: 'member', value: q.get('member') ?? '' },
        { name: 'status', label: 'status (accepted|refused)', value: q.get('status') ?? '' },
      ],
      (v) => setHashQuery('contributions', v),
    ),
    table(
      'contributions',
      [
        'time',
        'plan',
        'round',
        'member',
        'status',
        'examples',
        'attestation digest',
        'receipt digest',
        'verification',
      ],
      rows.map((r) => {
        const result = h('td', { class: 'verification' });
        if (r.status === 'accepted') {
          const b = h('button', { type: 'button', class: 'verify' }, 'Verify');
          const out = h('span', { class: 'verify-result' });
          b.addEventListener('click', async () => {
            b.setAttribute('disabled', '');
            out.replaceChildren(document.createTextNode(' verifying…'));
            try {
              const v = await api('/api/contributions/verify', {
                method: 'POST',
                body: { planId: r.planId, round: r.round, member: r.member },
              });
              out.replaceChildren(
                v.ok
                  ? h(
                      'span',
                      { class: 'ok verdict', 'data-ok': 'true' },
                      ` verified: attestation, receipt, log chain (${v.checked.rows} rows)`,
                    )
                  : h(
                      'span',
                      { class: 'bad verdict', 'data-ok': 'false' },
                      ` does not verify: ${v.issues.map((i: Json) => i.reason).join('; ')}`,
                    ),
              );
            } catch (err) {
              out.replaceChildren(h('span', { class: 'error' }, (err as Error).message));
            } finally {
              b.removeAttribute('disabled');
            }
          });
          result.append(b, out);
        } else result.append(h('span', { class: 'muted' }, r.reason ?? ''));
        return [
          when(r.at),
          h('code', {}, r.planId ?? ''),
          num(r.round),
          r.member,
          badge(r.status),
          num(r.exampleCount),
          short(r.attestationDigest),
          short(r.receiptDigest),
          result,
        ];
      }),
      rows.map((r) => ({
        'data-member': r.member ?? '',
        'data-round': String(r.round),
        'data-status': r.status,
      })),
    ),
    page.nextCursor
      ? (() => {
          const b = h('button', { type: 'button', id: 'next-page' }, 'Next page');
          b.addEventListener('click', () =>
            setHashQuery('contributions', { ...Object.fromEntries(q), cursor: page.nextCursor }),
          );
          return b;
        })()
      : null,
  );
}

function renderVerify(box: HTMLElement) {
  const v = state.verify;
  const progress = h('progress', { id: 'verify-progress', max: '3' }) as HTMLProgressElement;
  const stages: Record<string, number> = { export: 1, verify: 2, done: 3 };
  progress.value = v ? (stages[v.stage] ?? 0) : 0;
  let status: Child = 'not run yet';
  if (v?.running) status = `${v.stage === 'export' ? 'exporting the log' : `verifying ${v.rows} rows`}…`;
  else if (v?.error) status = h('span', { class: 'bad' }, v.error);
  else if (v?.verdict)
    status = v.verdict.ok
      ? h(
          'span',
          { class: 'ok', 'data-ok': 'true' },
          `the whole chain verifies: ${v.verdict.checked.rows} rows, ${v.verdict.checked.attestations} attestations, ${v.verdict.checked.receipts} receipts, ${v.verdict.checked.certificates} certificates, ${v.verdict.checked.checkpoints} checkpoints`,
        )
      : h(
          'span',
          { class: 'bad', 'data-ok': 'false' },
          `does not verify: first broken ${v.verdict.firstError?.seq !== undefined ? `row ${v.verdict.firstError.seq}` : (v.verdict.firstError?.where ?? '')}: ${v.verdict.firstError?.reason ?? ''}`,
        );
  const button = h(
    'button',
    { type: 'button', id: 'verify-chain', class: 'primary' },
    'Verify the whole chain',
  );
  if (v?.running) button.setAttribute('disabled', '');
  button.addEventListener('click', async () => {
    state.verify = await api('/api/verify', { method: 'POST' });
    renderVerify(box);
  });
  box.replaceChildren(
    h('h2', {}, 'Chain verification'),
    button,
    ' ',
    progress,
    ' ',
    h('span', { id: 'verify-status' }, status),
  );
}

async function renderAudit(main: HTMLElement) {
  const q = hashQuery();
  const [page, verify] = await Promise.all([api(`/api/audit?${q.toString()}`), api('/api/verify')]);
  if (verify.stage !== 'idle') state.verify = verify;
  const box = h('section', { class: 'card', id: 'verify-box' });
  renderVerify(box);
  put(
    main,
    h('h1', {}, 'Audit log'),
    box,
    filterForm(
      [
        { name: 'event', label: 'event', value: q.get('event') ?? '' },
        { name: 'member', label: 'member', value: q.get('member') ?? '' },
        { name: 'round', label: 'round', value: q.get('round') ?? '' },
      ],
      (v) => setHashQuery('audit', v),
    ),
    table(
      'audit-log',
      ['seq', 'time', 'event', 'plan', 'round', 'member', 'actor', 'data', 'hash'],
      page.rows.map((r: Json) => [
        num(r.seq),
        when(r.at),
        r.event,
        r.planId ?? '',
        num(r.round ?? ''),
        r.member ?? '',
        r.actor ?? '',
        h('code', {}, JSON.stringify(r.data).slice(0, 200)),
        short(r.hash),
      ]),
      page.rows.map((r: Json) => ({ 'data-seq': String(r.seq) })),
    ),
    page.nextAfterSeq
      ? (() => {
          const b = h('button', { type: 'button', id: 'next-page' }, 'Next page');
          b.addEventListener('click', () =>
            setHashQuery('audit', { ...Object.fromEntries(q), afterSeq: String(page.nextAfterSeq) }),
          );
          return b;
        })()
      : null,
  );
}

async function renderMetrics(main: HTMLElement) {
  put(main, h('h1', {}, 'Metrics'));
  if (state.session.role !== 'operator') {
    put(
      main,
      h(
        'p',
        { class: 'muted', id: 'metrics-denied' },
        'Metrics are for the operator; auditors see the audit views.',
      ),
    );
    return;
  }
  const m = await api('/api/metrics');
  if (!m.available) {
    put(
      main,
      h(
        'p',
        { class: 'muted' },
        'No metrics source: start the console with the aggregator, or give --metrics-url.',
      ),
    );
    return;
  }
  put(
    main,
    h(
      'section',
      { class: 'card', id: 'queue-depth' },
      h('h2', {}, 'Queue depth (kpfl_queue_jobs)'),
      h(
        'div',
        { class: 'stats' },
        ...Object.entries(m.queue).map(([k, v]) =>
          h(
            'div',
            { class: 'stat' },
            h('div', { class: 'label' }, k),
            h('div', { class: 'value' }, String(v)),
          ),
        ),
      ),
    ),
    table(
      'metrics-table',
      ['series', 'type', 'labels', 'value', 'help'],
      m.families.flatMap((f: Json) =>
        f.samples.map((s: Json) => [
          h('code', {}, f.name + s.suffix),
          f.type,
          h(
            'code',
            {},
            Object.entries(s.labels)
              .map(([k, v]) => `${k}=${v}`)
              .join(' '),
          ),
          num(Number.isInteger(s.value) ? s.value : s.value.toFixed(4)),
          h('span', { class: 'muted' }, f.help),
        ]),
      ),
    ),
  );
}

// ---------- log-in and live updates ----------

function showLogin(message?: string) {
  state.events?.close();
  document.getElementById('nav')!.replaceChildren();
  document.getElementById('who')!.replaceChildren();
  document.getElementById('live')!.replaceChildren();
  const proof = h('textarea', {
    id: 'proof',
    placeholder: 'paste the log-in link or the proof',
  }) as HTMLTextAreaElement;
  const button = h('button', { type: 'submit', class: 'primary', id: 'login' }, 'Log in');
  const error = h('p', { class: 'error', id: 'login-error' }, message ?? '');
  const form = h('form', {}, proof, h('p', {}, button), error) as HTMLFormElement;
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const v = proof.value.trim();
    void login(v.includes('#proof=') ? v.slice(v.indexOf('#proof=') + 7) : v);
  });
  page().replaceChildren(
    h(
      'section',
      { class: 'card login', id: 'login-page' },
      h('h1', {}, 'Log in'),
      h(
        'p',
        {},
        'Prove your kit key: run this where your kit is, then open the link it prints (or paste it here).',
      ),
      h('pre', {}, h('code', {}, `kpfl console --login ${location.origin}/ --kit YOUR-KIT`)),
      h('p', { class: 'muted' }, 'Auditors use their auditor kit; the operator the coordinator kit.'),
      form,
    ),
  );
}

async function login(proof: string) {
  try {
    await api('/api/login', { method: 'POST', body: { proof } });
    await start();
  } catch (err) {
    showLogin((err as Error).message);
  }
}

/** Pages redrawn as the federation moves; on the others a redraw would drop what the reader is doing. */
const LIVE_PAGES = new Set(['overview', 'rounds', 'accuracy']);

/** On a page that is not redrawn by itself: a button that redraws it with the new entries. */
function offerRefresh() {
  if (document.getElementById('refresh')) return;
  const b = h('button', { type: 'button', id: 'refresh' }, 'New entries: refresh');
  b.addEventListener('click', () => void route());
  page().prepend(b);
}

function listen() {
  state.events?.close();
  const es = new EventSource('/api/events');
  state.events = es;
  es.addEventListener('change', (e) => {
    const d = JSON.parse((e as MessageEvent).data);
    const changed = state.head !== undefined && d.head !== state.head;
    state.head = d.head;
    state.live = d.live;
    renderLive();
    if (!changed) return;
    const r = currentRoute().route;
    if (LIVE_PAGES.has(r)) void route();
    else if (r !== 'metrics') offerRefresh();
  });
  es.addEventListener('verify', (e) => {
    state.verify = JSON.parse((e as MessageEvent).data);
    const box = document.getElementById('verify-box');
    if (box) renderVerify(box);
  });
  es.addEventListener('logout', () => {
    es.close();
    state.session = undefined;
    showLogin('your session ended');
  });
  es.addEventListener('error', async () => {
    if (es.readyState === EventSource.CLOSED) {
      // Find out why: a 401 means log in again.
      await api('/api/session').catch((err) => err instanceof LoginNeeded && showLogin(err.message));
    }
  });
}

async function start() {
  try {
    state.session = await api('/api/session');
  } catch (err) {
    if (err instanceof LoginNeeded) return showLogin();
    throw err;
  }
  listen();
  await route();
  if (!ticking) {
    ticking = true;
    setInterval(() => state.live && renderLive(), 1000);
  }
}
let ticking = false;

/** A log-in link's fragment: its proof is taken out of the address bar and posted once. */
function takeProof(): boolean {
  const fragment = location.hash;
  if (!fragment.startsWith('#proof=')) return false;
  history.replaceState(null, '', `${location.pathname}#/overview`);
  void login(decodeURIComponent(fragment.slice('#proof='.length)));
  return true;
}

// A link opened in a tab already showing the console changes only the fragment.
window.addEventListener('hashchange', () => takeProof() || void route());
if (!takeProof()) void start();
