/**
 * `npm run deps:check`: the repository's import graph passes, and each kind of violation (and a
 * cycle across packages, for madge) is caught in a throwaway tree built to contain exactly one.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { REPO_ROOT } from '../packages/cli/src/paths.js';
import { checkDeps, importsOf, type ViolationKind } from '../scripts/check-deps.js';

const trees: string[] = [];
after(() => {
  for (const t of trees) rmSync(t, { recursive: true, force: true });
});

/** A tree with packages/<dir>/{package.json, src/...}: `files` maps paths under packages/ to contents. */
function tree(pkgs: Record<string, string[]>, files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'kpfl-deps-'));
  trees.push(root);
  for (const [dir, deps] of Object.entries(pkgs)) {
    mkdirSync(join(root, 'packages', dir, 'src'), { recursive: true });
    const dependencies = Object.fromEntries(deps.map((d) => [`@kpfl/${d}`, '*']));
    writeFileSync(
      join(root, 'packages', dir, 'package.json'),
      JSON.stringify({ name: `@kpfl/${dir}`, exports: { '.': './src/index.ts' }, dependencies }),
    );
    writeFileSync(join(root, 'packages', dir, 'src', 'index.ts'), 'export const x = 1;\n');
  }
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, 'packages', p)), { recursive: true });
    writeFileSync(join(root, 'packages', p), text);
  }
  return root;
}

const kinds = (root: string) => checkDeps(root).violations.map((v) => `${v.pkg} ${v.kind}`);

describe('deps:check', () => {
  it('the repository: no violation, and the graph it reports is the one the READMEs describe', () => {
    const r = checkDeps(REPO_ROOT);
    assert.deepEqual(r.violations, []);
    assert.deepEqual(r.imports.common, [], 'common imports no other package');
    for (const low of ['kpt', 'he', 'model', 'store', 'proto']) {
      assert.deepEqual(
        r.imports[low]!.filter((p) => p !== 'common'),
        [],
        `${low} imports no other package but common`,
      );
    }
    assert.ok(
      !r.imports.aggregator!.includes('participant') && !r.imports.participant!.includes('aggregator'),
    );
  });

  it('finds imports in every form, and not in comments or strings', () => {
    const text = [
      "import a from '@kpfl/a';",
      "import type { B } from '@kpfl/b';",
      "export { c } from '@kpfl/c';",
      "export * from './d.js';",
      "import './e.js';",
      "const f = await import('@kpfl/f');",
      "// import x from '@kpfl/comment';",
      'const s = "from \'@kpfl/string\'";',
    ].join('\n');
    assert.deepEqual(importsOf(text), ['@kpfl/a', '@kpfl/b', '@kpfl/c', './d.js', './e.js', '@kpfl/f']);
  });

  it('each kind of violation, each in its own tree', () => {
    const base = { common: [], kpt: ['common'], store: [], aggregator: ['kpt', 'store'] };
    const cases: [Record<string, string[]>, Record<string, string>, `${string} ${ViolationKind}`][] = [
      [base, { 'store/src/up.ts': "import { x } from '@kpfl/aggregator';\n" }, 'store not-allowed'],
      [base, { 'kpt/src/side.ts': "import type { x } from '@kpfl/store';\n" }, 'kpt not-allowed'],
      [{ ...base, store: ['aggregator'] }, {}, 'store declared-not-allowed'],
      [base, { 'aggregator/src/u.ts': "import { x } from '@kpfl/common';\n" }, 'aggregator undeclared'],
      [
        base,
        { 'aggregator/src/d.ts': "import { x } from '@kpfl/kpt/src/index.js';\n" },
        'aggregator deep-import',
      ],
      [base, { 'store/src/r.ts': "import { x } from '../../kpt/src/index.js';\n" }, 'store relative-escape'],
      [base, { 'store/src/j.ts': "import { decodeJwt } from 'jose';\n" }, 'store forbidden-module'],
      [base, { 'kpt/src/f.ts': "import { readFileSync } from 'node:fs';\n" }, 'kpt forbidden-module'],
      [base, { 'common/src/z.ts': "import { z } from 'zod';\n" }, 'common forbidden-module'],
      [{ ...base, newpkg: [] }, {}, 'newpkg unknown-package'],
    ];
    for (const [pkgs, files, expected] of cases) assert.deepEqual(kinds(tree(pkgs, files)), [expected]);
    // positive control: the same tree without the offending file passes
    assert.deepEqual(kinds(tree(base, { 'common/src/ok.ts': "import { join } from 'node:path';\n" })), []);
  });

  it('madge, with the script tsconfig, fails on a cycle across packages and passes without it', () => {
    const cycle = tree(
      { kpt: [], store: [] },
      {
        'kpt/src/index.ts': "export { y } from '@kpfl/store';\nexport const x = 1;\n",
        'store/src/index.ts': "export { x } from '@kpfl/kpt';\nexport const y = 2;\n",
      },
    );
    const noCycle = tree(
      { kpt: [], store: [] },
      { 'store/src/index.ts': "export { x } from '@kpfl/kpt';\nexport const y = 2;\n" },
    );
    const madge = (root: string) => {
      writeFileSync(
        join(root, 'tsconfig.json'),
        JSON.stringify({
          extends: join(REPO_ROOT, 'tsconfig.json'),
          compilerOptions: { baseUrl: root, paths: { '@kpfl/*': ['packages/*/src/index.ts'] } },
        }),
      );
      return spawnSync(
        join(REPO_ROOT, 'node_modules/.bin/madge'),
        [
          '--circular',
          '--extensions',
          'ts',
          '--ts-config',
          join(root, 'tsconfig.json'),
          join(root, 'packages'),
        ],
        { encoding: 'utf8' },
      );
    };
    const bad = madge(cycle);
    assert.equal(bad.status, 1, bad.stdout + bad.stderr);
    assert.match(
      bad.stdout,
      /kpt\/src\/index\.ts > store\/src\/index\.ts|store\/src\/index\.ts > kpt\/src\/index\.ts/,
    );
    const good = madge(noCycle);
    assert.equal(good.status, 0, good.stdout + good.stderr);
  });
});
