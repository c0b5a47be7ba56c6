import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { test } from 'node:test';
import { WEB_DIR, webBundle } from '../src/bundle.js';

test('the front end type-checks against the DOM library', () => {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', join(WEB_DIR, 'tsconfig.json')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
});

test('the bundle is built from the package alone, with no inline script and no HTML parsing of data', async () => {
  const b = await webBundle();
  assert.ok(b.js.length > 10_000, 'script bundled with uPlot');
  assert.match(b.css.toString(), /\.uplot/, "uPlot's stylesheet is bundled");
  const html = b.html.toString();
  // Only external script and stylesheet: the CSP (script-src 'self', style-src 'self') allows nothing else.
  assert.deepEqual(
    [...html.matchAll(/<script\b[^>]*>/g)].map((m) => m[0]),
    ['<script src="/app.js" defer>'],
  );
  assert.doesNotMatch(html, /<style|\sstyle=|\son[a-z]+=/i, 'no inline style or handler');
  assert.doesNotMatch(html, /https?:\/\//, 'nothing from another origin (no CDN)');
  // What would turn data into markup: none of it in the bundle, ours or uPlot's.
  for (const sink of ['innerHTML', 'outerHTML', 'insertAdjacentHTML', 'document.write', 'DOMParser', 'eval('])
    assert.equal(b.js.toString().includes(sink), false, `the bundle uses ${sink}`);
  const source = readFileSync(join(WEB_DIR, 'main.ts'), 'utf8');
  assert.doesNotMatch(source, /setAttribute\(\s*['"](style|on)/, 'no style or handler attribute is set');
});
