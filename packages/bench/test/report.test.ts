import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { accuracyChartSvg, writeAccuracyReport } from '../src/index.js';

const series = [
  {
    name: 'IID, E=1 <B=10>',
    points: [
      { round: 0, accuracy: 0.1 },
      { round: 1, accuracy: 0.85 },
      { round: 2, accuracy: 0.975 },
    ],
    referenceRounds: 87,
  },
  { name: 'non-IID', points: [{ round: 1, accuracy: 0.5, loss: 1.2 }] },
];

test('writeAccuracyReport writes a self-contained HTML file with the series and their data', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kpfl-bench-report-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = writeAccuracyReport(join(dir, 'sub', 'report.html'), series, { target: 0.97, title: 'T' });
  assert.ok(path.startsWith('/'), 'absolute path returned');
  const html = readFileSync(path, 'utf8');
  assert.match(html, /^<!doctype html>/);
  assert.match(html, /<svg /);
  assert.ok(html.includes('IID, E=1 &lt;B=10&gt;'), 'series name escaped in the legend');
  assert.ok(html.includes('non-IID'));
  assert.equal((html.match(/<path /g) ?? []).length, 2, 'one line per series');
  assert.ok(html.includes('target 97.0%'));
  const m = /<script type="application\/json" id="kpfl-series">([\s\S]*?)<\/script>/.exec(html);
  assert.ok(m, 'the data is embedded');
  const data = JSON.parse(m[1]!);
  assert.equal(data.target, 0.97);
  assert.deepEqual(
    data.series.map((s: { name: string }) => s.name),
    series.map((s) => s.name),
  );
  assert.equal(data.series[0].points[2].accuracy, 0.975);
  // The first round at or above the target is listed in the table.
  assert.match(html, /<td>2<\/td>/);
});

test('the chart copes with empty series and a single point', () => {
  const svg = accuracyChartSvg([
    { name: 'empty', points: [] },
    { name: 'one', points: [{ round: 3, accuracy: 1 }] },
  ]);
  assert.match(svg, /^<svg/);
  assert.ok(!svg.includes('NaN'), 'no NaN coordinates');
});
