#!/usr/bin/env node
// Runs the TypeScript CLI through tsx's loader, so `npx kpfl` works without a build step; the
// kpfl-source condition resolves @kpfl/* to their sources rather than their built dist/ (ADR 0012).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../packages/cli/src/main.ts', import.meta.url));
const r = spawnSync(
  process.execPath,
  ['--conditions=kpfl-source', '--import', import.meta.resolve('tsx'), main, ...process.argv.slice(2)],
  { stdio: 'inherit' },
);
process.exit(r.status ?? 1);
