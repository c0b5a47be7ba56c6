import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/** The front end: one script and one stylesheet, bundled from web/ (and uPlot) by esbuild, served from memory. */
export interface Bundle {
  js: Buffer;
  css: Buffer;
  html: Buffer;
}

export const WEB_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'web');

let cached: Promise<Bundle> | undefined;

/** Builds the bundle once per process (about a tenth of a second), the first time a console starts. */
export function webBundle(): Promise<Bundle> {
  cached ??= buildBundle().catch((err) => {
    cached = undefined;
    throw err;
  });
  return cached;
}

async function buildBundle(): Promise<Bundle> {
  const out = await build({
    entryPoints: { app: join(WEB_DIR, 'main.ts'), style: join(WEB_DIR, 'style.css') },
    bundle: true,
    minify: true,
    write: false,
    outdir: '/bundle',
    format: 'iife',
    target: ['chrome110', 'firefox110', 'safari16'],
    legalComments: 'none',
    logLevel: 'silent',
  });
  const file = (name: string) => {
    const f = out.outputFiles.find((o) => o.path.endsWith(name));
    if (!f) throw new Error(`esbuild produced no ${name}`);
    return Buffer.from(f.contents);
  };
  return { js: file('app.js'), css: file('style.css'), html: readFileSync(join(WEB_DIR, 'index.html')) };
}
