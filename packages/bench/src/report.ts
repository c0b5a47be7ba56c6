/**
 * Accuracy-per-round report: one self-contained HTML file with an inline SVG line chart (no charting
 * library, no network), a table of the values, and the series as JSON in a <script type="application/json">
 * element so that tools can read the numbers back.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

export interface AccuracyPoint {
  round: number;
  /** Test accuracy in [0, 1]. */
  accuracy: number;
  loss?: number;
}

export interface AccuracySeries {
  name: string;
  points: AccuracyPoint[];
  /** Optional reference marker, e.g. the FedAvg paper's rounds to the target for this setting. */
  referenceRounds?: number | null;
}

export interface AccuracyReportOptions {
  title?: string;
  /** Draw a horizontal line at this accuracy (e.g. 0.97). */
  target?: number;
  /** Free text shown under the title (settings, machine, what was simulated). */
  subtitle?: string;
  /** Extra lines shown under the chart. */
  notes?: string[];
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];

const esc = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Nice tick step for a range (1, 2, 5 x 10^k). */
function tickStep(span: number, count: number): number {
  const raw = span / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * mag >= raw) return m * mag;
  return 10 * mag;
}

/** The SVG chart alone (exported for tests and for embedding elsewhere). */
export function accuracyChartSvg(series: AccuracySeries[], opts: AccuracyReportOptions = {}): string {
  const W = 880;
  const H = 460;
  const m = { left: 60, right: 20, top: 20, bottom: 50 };
  const pw = W - m.left - m.right;
  const ph = H - m.top - m.bottom;
  const all = series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.accuracy));
  // The x axis covers the data; reference markers outside it are listed in the table, not drawn.
  const maxRound = Math.max(1, ...all.map((p) => p.round));
  // Zoom on where the curves spend their time: from about the 10th percentile of the accuracies after
  // round 0 (at most 90%, and below the target) to the top; lower points sit on the bottom edge.
  const later = all
    .filter((p) => p.round > 0)
    .map((p) => p.accuracy)
    .sort((a, b) => a - b);
  const p10 = later.length > 0 ? later[Math.floor(later.length * 0.1)]! : 0;
  let y0 = Math.min(p10, 0.9, (opts.target ?? 1) - 0.02);
  y0 = Math.max(0, Math.floor(y0 * 20) / 20);
  const maxAcc = all.length ? Math.max(...all.map((p) => p.accuracy)) : 1;
  const y1 = Math.min(1, Math.max(maxAcc, opts.target ?? 0) + 0.005);
  const x = (r: number) => m.left + (r / maxRound) * pw;
  const y = (a: number) => m.top + ph - ((a - y0) / Math.max(1e-9, y1 - y0)) * ph;
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-family="sans-serif" font-size="12" role="img" aria-label="${esc(opts.title ?? 'accuracy per round')}">`,
  );
  parts.push(`<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="#fff" stroke="#999"/>`);
  const ys = tickStep(y1 - y0, 8);
  const decimals = ys * 100 < 1 ? 1 : 0;
  for (let k = Math.ceil(y0 / ys - 1e-9); k * ys <= y1 + 1e-9; k++) {
    const t = k * ys;
    parts.push(
      `<line x1="${m.left}" x2="${m.left + pw}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}" stroke="#eee"/>`,
      `<text x="${m.left - 6}" y="${(y(t) + 4).toFixed(1)}" text-anchor="end">${(t * 100).toFixed(decimals)}%</text>`,
    );
  }
  const xs = tickStep(maxRound, 10);
  for (let t = 0; t <= maxRound + 1e-9; t += xs) {
    parts.push(
      `<line x1="${x(t).toFixed(1)}" x2="${x(t).toFixed(1)}" y1="${m.top}" y2="${m.top + ph}" stroke="#f3f3f3"/>`,
      `<text x="${x(t).toFixed(1)}" y="${m.top + ph + 16}" text-anchor="middle">${t}</text>`,
    );
  }
  parts.push(
    `<text x="${m.left + pw / 2}" y="${H - 10}" text-anchor="middle">communication round</text>`,
    `<text transform="translate(14 ${m.top + ph / 2}) rotate(-90)" text-anchor="middle">test accuracy</text>`,
  );
  if (opts.target !== undefined && opts.target >= y0 && opts.target <= y1) {
    parts.push(
      `<line x1="${m.left}" x2="${m.left + pw}" y1="${y(opts.target).toFixed(1)}" y2="${y(opts.target).toFixed(1)}" stroke="#555" stroke-dasharray="6 4"/>`,
      `<text x="${m.left + pw - 4}" y="${(y(opts.target) - 5).toFixed(1)}" text-anchor="end" fill="#555">target ${(opts.target * 100).toFixed(1)}%</text>`,
    );
  }
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length]!;
    const pts = s.points.filter((p) => Number.isFinite(p.accuracy)).sort((a, b) => a.round - b.round);
    if (pts.length > 0) {
      const d = pts
        .map(
          (p, j) =>
            `${j === 0 ? 'M' : 'L'}${x(p.round).toFixed(1)},${y(Math.max(y0, p.accuracy)).toFixed(1)}`,
        )
        .join(' ');
      parts.push(
        `<path d="${d}" fill="none" stroke="${color}" stroke-width="1.8" data-series="${esc(s.name)}"/>`,
      );
      if (pts.length <= 60) {
        for (const p of pts) {
          parts.push(
            `<circle cx="${x(p.round).toFixed(1)}" cy="${y(Math.max(y0, p.accuracy)).toFixed(1)}" r="2.2" fill="${color}"><title>${esc(s.name)}: round ${p.round}, ${(p.accuracy * 100).toFixed(2)}%</title></circle>`,
          );
        }
      }
    }
    if (s.referenceRounds && s.referenceRounds <= maxRound) {
      parts.push(
        `<line x1="${x(s.referenceRounds).toFixed(1)}" x2="${x(s.referenceRounds).toFixed(1)}" y1="${m.top}" y2="${m.top + ph}" stroke="${color}" stroke-dasharray="2 3" opacity="0.7"><title>${esc(s.name)}: reference ${s.referenceRounds} rounds</title></line>`,
      );
    }
    // Legend bottom-right: accuracy curves rise from the bottom left, so that corner is usually empty.
    const ly = m.top + ph - 12 - (series.length - 1 - i) * 16;
    parts.push(
      `<line x1="${m.left + pw - 300}" x2="${m.left + pw - 280}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="3"/>`,
      `<text x="${m.left + pw - 274}" y="${ly + 4}">${esc(s.name)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n');
}

/** The whole HTML document. */
export function accuracyReportHtml(series: AccuracySeries[], opts: AccuracyReportOptions = {}): string {
  const title = opts.title ?? 'kpfl: test accuracy per round';
  const maxRounds = Math.max(0, ...series.map((s) => s.points.length));
  const rows = series
    .map((s) => {
      const best = s.points.reduce((a, p) => Math.max(a, p.accuracy), 0);
      const last = s.points.at(-1);
      const reached =
        opts.target !== undefined ? s.points.find((p) => p.accuracy >= opts.target!)?.round : undefined;
      return `<tr><td>${esc(s.name)}</td><td>${s.points.length}</td><td>${last ? `${(last.accuracy * 100).toFixed(2)}% (round ${last.round})` : '-'}</td><td>${(best * 100).toFixed(2)}%</td>${opts.target !== undefined ? `<td>${reached ?? 'not reached'}</td>` : ''}<td>${s.referenceRounds ?? '-'}</td></tr>`;
    })
    .join('\n');
  const data = JSON.stringify({ title, target: opts.target ?? null, series }).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${esc(title)}</title>
<style>
body { font-family: sans-serif; margin: 24px; color: #222; }
table { border-collapse: collapse; margin-top: 12px; }
td, th { border: 1px solid #ccc; padding: 4px 8px; text-align: right; }
td:first-child, th:first-child { text-align: left; }
p.sub { color: #555; max-width: 880px; }
</style>
</head>
<body>
<h1>${esc(title)}</h1>
${opts.subtitle ? `<p class="sub">${esc(opts.subtitle)}</p>` : ''}
${accuracyChartSvg(series, opts)}
<table>
<thead><tr><th>series</th><th>points</th><th>last</th><th>best</th>${opts.target !== undefined ? `<th>first round &ge; ${(opts.target * 100).toFixed(1)}%</th>` : ''}<th>reference rounds</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>
${(opts.notes ?? []).map((n) => `<p class="sub">${esc(n)}</p>`).join('\n')}
<p class="sub">Generated ${esc(new Date().toISOString())} by kpfl; ${maxRounds} points at most per series.</p>
<script type="application/json" id="kpfl-series">${data}</script>
</body>
</html>
`;
}

/**
 * Writes the report (creating directories) and returns its absolute path. Used by `kpfl bench convergence`
 * and meant for `kpfl demo` too: pass one series per run, points = the per-round evaluations.
 */
export function writeAccuracyReport(
  file: string,
  series: AccuracySeries[],
  opts: AccuracyReportOptions = {},
): string {
  const path = resolve(file);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, accuracyReportHtml(series, opts));
  return path;
}
