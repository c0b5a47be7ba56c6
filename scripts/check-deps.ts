/**
 * The package import graph points one way (README "Dependencies point one way", each package's
 * README "Must not import"). `npm run deps:check` runs madge for cycles, then this script, which
 * reads every packages/<name>/src file and package.json and fails on:
 *   - an import of a @kpfl package that is not in that package's row of ALLOWED (upward or sideways),
 *   - a @kpfl dependency declared in package.json that is not allowed either,
 *   - a @kpfl import the package.json does not declare,
 *   - a deep import (@kpfl/x/...): each package exports only its index, and madge resolves only that,
 *   - a relative import that reaches into another package's files,
 *   - an import of a third-party module the package must not know (FORBIDDEN),
 *   - a package that has no row in ALLOWED (a new package needs a decision here).
 * Run: node --conditions=kpfl-source --import tsx scripts/check-deps.ts [root]
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

/** Which @kpfl packages each package may import (by directory name under packages/). */
export const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  // the root: what every package shares
  common: [],
  // the wire contract, and the four packages that know nothing of each other
  proto: ['common'],
  kpt: ['common'],
  he: ['common'],
  model: ['common'],
  store: ['common'],
  // the server strategy: pure arithmetic and sampling, shared by both roles
  strategy: ['common'],
  // SecAgg+ mask cryptography: pure, knows no wire, storage or HE
  secagg: ['common'],
  // verification of what kpt signs and store keeps
  audit: ['common', 'kpt', 'store'],
  // the two roles: never each other
  aggregator: ['common', 'proto', 'kpt', 'he', 'secagg', 'strategy', 'store', 'audit'],
  participant: ['common', 'proto', 'kpt', 'he', 'secagg', 'model', 'strategy'],
  // the web console: reads what the Audit service and the store give, never the gRPC roles
  console: ['common', 'kpt', 'store', 'audit'],
  // a whole throwaway federation in one call (tests, benchmarks, first programs)
  testing: ['common', 'kpt', 'he', 'model', 'store', 'aggregator', 'participant'],
  // runs aggregators and participants to measure them
  bench: [
    'common',
    'proto',
    'kpt',
    'he',
    'secagg',
    'model',
    'strategy',
    'store',
    'audit',
    'aggregator',
    'participant',
    'testing',
  ],
  // the command: may import everything, nothing imports it
  cli: [
    'common',
    'proto',
    'kpt',
    'he',
    'secagg',
    'model',
    'strategy',
    'store',
    'audit',
    'aggregator',
    'participant',
    'testing',
    'bench',
    'console',
  ],
};

/** Third-party modules a package must not import; a trailing '/' matches a scope or subpaths. */
export const FORBIDDEN: Readonly<Record<string, readonly string[]>> = {
  common: ['*'], // Node built-ins only
  kpt: ['@grpc/', 'pg', 'bullmq', 'ioredis', 'node-seal', '@tensorflow/', 'fs', 'node:fs', 'node:fs/'],
  he: ['@grpc/', 'pg', 'bullmq', 'ioredis', '@tensorflow/', 'jose'],
  model: ['@grpc/', 'pg', 'bullmq', 'ioredis', 'node-seal', 'jose'],
  store: ['@grpc/', 'bullmq', 'ioredis', 'jose', 'node-seal', '@tensorflow/'],
  strategy: [
    '@grpc/',
    'pg',
    'bullmq',
    'ioredis',
    'node-seal',
    '@tensorflow/',
    'jose',
    'fs',
    'node:fs',
    'node:fs/',
  ],
  secagg: [
    '@grpc/',
    'pg',
    'bullmq',
    'ioredis',
    'node-seal',
    '@tensorflow/',
    'jose',
    'fs',
    'node:fs',
    'node:fs/',
  ],
  aggregator: ['@tensorflow/'],
  console: ['@grpc/', 'pg', 'bullmq', 'ioredis', 'node-seal', '@tensorflow/'],
  participant: ['pg', 'bullmq', 'ioredis'],
};

export type ViolationKind =
  | 'not-allowed'
  | 'declared-not-allowed'
  | 'undeclared'
  | 'deep-import'
  | 'relative-escape'
  | 'forbidden-module'
  | 'unknown-package';

export interface Violation {
  pkg: string;
  kind: ViolationKind;
  /** The file (relative to the root) or package.json where it was found. */
  where: string;
  detail: string;
}

export interface DepsReport {
  /** Package -> the @kpfl packages its src imports. */
  imports: Record<string, string[]>;
  /** Package -> the @kpfl packages its package.json declares but its src never imports (not a failure). */
  unused: Record<string, string[]>;
  violations: Violation[];
}

const BUILTINS = new Set(builtinModules);
const isBuiltin = (spec: string) => spec.startsWith('node:') || BUILTINS.has(spec.split('/')[0]!);

function sourceFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return name === 'node_modules' ? [] : sourceFiles(p);
    return /\.(ts|mts|js|mjs)$/.test(name) && !name.endsWith('.d.ts') ? [p] : [];
  });
}

/** Every module specifier a file imports or re-exports, static or dynamic (comments and strings ignored). */
export function importsOf(text: string): string[] {
  return ts.preProcessFile(text, true, true).importedFiles.map((f) => f.fileName);
}

const matches = (spec: string, rule: string) =>
  rule === '*' ? !isBuiltin(spec) : rule.endsWith('/') ? spec.startsWith(rule) : spec === rule;

export function checkDeps(root: string): DepsReport {
  const packagesDir = join(root, 'packages');
  const packages = readdirSync(packagesDir).filter((d) => existsSync(join(packagesDir, d, 'package.json')));
  const byName = new Map<string, string>();
  for (const dir of packages) {
    const { name } = JSON.parse(readFileSync(join(packagesDir, dir, 'package.json'), 'utf8')) as {
      name: string;
    };
    byName.set(name, dir);
  }
  const violations: Violation[] = [];
  const imports: Record<string, string[]> = {};
  const unused: Record<string, string[]> = {};

  for (const pkg of packages) {
    const pkgDir = join(packagesDir, pkg);
    const manifestPath = relative(root, join(pkgDir, 'package.json'));
    const allowed = ALLOWED[pkg];
    if (!allowed) {
      violations.push({
        pkg,
        kind: 'unknown-package',
        where: manifestPath,
        detail: `packages/${pkg} has no row in ALLOWED (scripts/check-deps.ts): decide what it may import`,
      });
    }
    const manifest = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as Record<
      string,
      Record<string, string> | undefined
    >;
    const declared = new Set(
      ['dependencies', 'devDependencies', 'peerDependencies', 'optionalDependencies']
        .flatMap((k) => Object.keys(manifest[k] ?? {}))
        .filter((n) => n.startsWith('@kpfl/')),
    );
    for (const name of declared) {
      const dep = byName.get(name);
      if (allowed && (!dep || !allowed.includes(dep))) {
        violations.push({
          pkg,
          kind: 'declared-not-allowed',
          where: manifestPath,
          detail: `declares ${name}, which ${pkg} must not depend on`,
        });
      }
    }

    const used = new Set<string>();
    for (const file of sourceFiles(join(pkgDir, 'src'))) {
      const where = relative(root, file);
      for (const spec of importsOf(readFileSync(file, 'utf8'))) {
        if (spec.startsWith('.')) {
          const target = resolve(dirname(file), spec);
          if (!`${target}${sep}`.startsWith(`${pkgDir}${sep}`)) {
            violations.push({
              pkg,
              kind: 'relative-escape',
              where,
              detail: `'${spec}' reaches outside packages/${pkg}: import another package by its @kpfl name`,
            });
          }
          continue;
        }
        if (spec.startsWith('@kpfl/')) {
          const name = spec.split('/').slice(0, 2).join('/');
          const dep = byName.get(name);
          if (dep) used.add(dep);
          if (spec !== name) {
            violations.push({
              pkg,
              kind: 'deep-import',
              where,
              detail: `imports ${spec}: import ${name} (its index is all it exports)`,
            });
          }
          if (allowed && (!dep || !allowed.includes(dep))) {
            violations.push({
              pkg,
              kind: 'not-allowed',
              where,
              detail: `imports ${spec}; ${pkg} may import only ${allowed.length ? allowed.map((a) => `@kpfl/${a}`).join(', ') : 'no @kpfl package'}`,
            });
          } else if (!declared.has(name)) {
            violations.push({
              pkg,
              kind: 'undeclared',
              where,
              detail: `imports ${spec}, which ${manifestPath} does not declare`,
            });
          }
          continue;
        }
        const rule = (FORBIDDEN[pkg] ?? []).find((r) => matches(spec, r));
        if (rule) {
          violations.push({
            pkg,
            kind: 'forbidden-module',
            where,
            detail: `imports '${spec}', which ${pkg} must not know (rule '${rule}')`,
          });
        }
      }
    }
    imports[pkg] = [...used].sort();
    const notUsed = [...declared]
      .map((n) => byName.get(n))
      .filter((d): d is string => d !== undefined && !used.has(d));
    if (notUsed.length) unused[pkg] = notUsed.sort();
  }
  return { imports, unused, violations };
}

function main(): void {
  const root = resolve(process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..'));
  const r = checkDeps(root);
  const width = Math.max(...Object.keys(r.imports).map((p) => p.length));
  console.log('package import graph (packages/*/src, @kpfl imports):');
  for (const [pkg, deps] of Object.entries(r.imports).sort()) {
    console.log(`  ${pkg.padEnd(width)} -> ${deps.length ? deps.join(', ') : '(none)'}`);
  }
  for (const [pkg, deps] of Object.entries(r.unused)) {
    console.log(
      `  note: ${pkg} declares ${deps.map((d) => `@kpfl/${d}`).join(', ')} but its src does not import it`,
    );
  }
  if (r.violations.length) {
    console.error(`\n${r.violations.length} import-graph violation(s):`);
    for (const v of r.violations) console.error(`  ${v.kind}: ${v.where}: ${v.detail}`);
    process.exitCode = 1;
    return;
  }
  console.log('no upward, sideways, undeclared or forbidden imports');
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) main();
