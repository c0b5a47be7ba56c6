/**
 * The wine data set (UCI, Forina et al.; 178 wines, 13 chemical measurements, 3 cultivars) as a
 * CSV with a header, from the copy Debian's python3-sklearn package ships
 * (sklearn/datasets/data/wine_data.csv). When the package is not installed, its .deb is fetched
 * with `apt-get download` (no root needed, nothing installed) and only that file is unpacked.
 *
 *   node --conditions=kpfl-source --import tsx examples/tabular/prepare.ts [OUT_DIR]   (default data/wine)
 *
 * Prints the path of wine.csv and where it came from.
 */
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const IN_PACKAGE = 'usr/lib/python3/dist-packages/sklearn/datasets/data/wine_data.csv';
const COLUMNS = [
  'alcohol',
  'malic_acid',
  'ash',
  'alcalinity_of_ash',
  'magnesium',
  'total_phenols',
  'flavanoids',
  'nonflavanoid_phenols',
  'proanthocyanins',
  'color_intensity',
  'hue',
  'od280_od315',
  'proline',
  'cultivar',
];

/** The package's CSV text and its provenance. */
function sourceCsv(): { text: string; source: string } {
  const installed = `/${IN_PACKAGE}`;
  if (existsSync(installed))
    return { text: readFileSync(installed, 'utf8'), source: `${installed} (installed)` };
  const work = mkdtempSync(join(tmpdir(), 'kpfl-wine-'));
  try {
    execFileSync('apt-get', ['download', 'python3-sklearn'], {
      cwd: work,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const deb = readdirSync(work).find((f) => f.endsWith('.deb'));
    if (!deb) throw new Error('apt-get download python3-sklearn produced no .deb');
    execFileSync('dpkg-deb', ['-x', deb, 'x'], { cwd: work });
    return { text: readFileSync(join(work, 'x', IN_PACKAGE), 'utf8'), source: `${deb} (apt-get download)` };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Writes OUT_DIR/wine.csv (header + 178 rows, label last) and returns its path. */
export function prepareWine(outDir: string): { file: string; source: string; rows: number } {
  const { text, source } = sourceCsv();
  // The package's first line is "178,13,class_0,class_1,class_2" (counts and class names), not a header.
  const [counts, ...rows] = text.trim().split(/\r?\n/);
  const n = Number(counts!.split(',')[0]);
  if (rows.length !== n) throw new Error(`${source}: expected ${n} rows, found ${rows.length}`);
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, 'wine.csv');
  writeFileSync(file, `${COLUMNS.join(',')}\n${rows.join('\n')}\n`);
  return { file, source, rows: n };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = prepareWine(resolve(process.argv[2] ?? 'data/wine'));
  process.stdout.write(`${r.file}: ${r.rows} wines, from ${r.source}\n`);
}
