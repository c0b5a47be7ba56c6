import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { DatasetError } from './errors.js';
import { Rng } from './rng.js';

/**
 * A tabular classification dataset: float32 features, `features` values per row, concatenated,
 * and uint8 class ids. The features are as read from the file; standardise them with the member's
 * own training rows (standardization() / standardize()) before training.
 */
export interface CsvDataset {
  trainFeatures: Float32Array;
  trainLabels: Uint8Array;
  testFeatures: Float32Array;
  testLabels: Uint8Array;
  /** Values per example (the number of feature columns). */
  features: number;
  featureColumns: string[];
  labelColumn: string;
  /** Class id -> label value as written in the file. */
  classes: string[];
  numClasses: number;
  /** 'sha256:' digest of the files' digests and the loading options (what dataCommitment builds on). */
  manifestDigest: string;
  /** The files read, train first. */
  files: { name: string; sha256: string }[];
}

export interface CsvDatasetOptions {
  /** Training rows (and test rows too when `test` is absent: see testFraction). */
  train: string;
  /** A separate file of test rows, with the same columns. */
  test?: string;
  /** Without `test`: this fraction of the rows, chosen with `seed`, is held out for testing (default 0.2). */
  testFraction?: number;
  /** Seed of the train/test split (default 1). */
  seed?: number;
  /** The first row names the columns (default true). With false, columns are named by 0-based index: '0', '1', ... */
  header?: boolean;
  /** The column holding the class label (default: the last column). */
  labelColumn?: string;
  /** The feature columns, in this order (default: every column but the label). */
  featureColumns?: string[];
  /**
   * The class labels, in class-id order. Give them when members' files may not all hold every
   * class, so every member maps labels to the same ids. Default: the distinct labels of the
   * files, sorted (numerically when every label is a number).
   */
  classes?: string[];
}

interface Cell {
  text: string;
  line: number;
  col: number;
}

/**
 * Parse CSV text (RFC 4180: quoted fields with doubled quotes inside, CRLF, LF or CR line ends)
 * into rows of cells with their 1-based line and column. Blank lines are skipped.
 */
export function parseCsv(text: string, file: string): Cell[][] {
  const rows: Cell[][] = [];
  let row: Cell[] = [];
  let field = '';
  let fieldLine = 1;
  let fieldCol = 1;
  let atFieldStart = true;
  let inQuotes = false;
  let afterQuote = false;
  let line = 1;
  let lineStart = 0;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0; // byte order mark
  const n = text.length;
  const endField = () => {
    row.push({ text: field, line: fieldLine, col: fieldCol });
    field = '';
    atFieldStart = true;
    afterQuote = false;
  };
  const endRow = () => {
    if (!(row.length === 1 && row[0].text === '')) rows.push(row);
    row = [];
  };
  while (i < n) {
    const c = text[i];
    if (atFieldStart) {
      fieldLine = line;
      fieldCol = i - lineStart + 1;
      atFieldStart = false;
      if (c === '"') {
        inQuotes = true;
        i++;
        continue;
      }
    }
    if (inQuotes) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        inQuotes = false;
        afterQuote = true;
        i++;
        continue;
      }
      if (c === '\n') {
        line++;
        lineStart = i + 1;
      }
      field += c;
      i++;
      continue;
    }
    if (c === ',') {
      endField();
      i++;
      continue;
    }
    if (c === '\r' || c === '\n') {
      endField();
      endRow();
      i += c === '\r' && text[i + 1] === '\n' ? 2 : 1;
      line++;
      lineStart = i;
      continue;
    }
    if (afterQuote) {
      throw new DatasetError(
        'BAD_CSV',
        `${file}:${line}:${i - lineStart + 1}: unexpected ${JSON.stringify(c)} after a closing quote`,
        file,
      );
    }
    field += c;
    i++;
  }
  if (inQuotes) {
    throw new DatasetError('BAD_CSV', `${file}:${fieldLine}:${fieldCol}: quoted field is never closed`, file);
  }
  if (!atFieldStart || row.length > 0) {
    endField();
    endRow();
  }
  return rows;
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

interface Table {
  name: string;
  columns: string[];
  /** Data rows (the header excluded). */
  rows: Cell[][];
}

async function readTable(file: string, header: boolean): Promise<{ table: Table; sha256: string }> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new DatasetError(
      'MISSING_FILE',
      `${file}: cannot read the CSV file (${code === 'ENOENT' ? 'it does not exist' : code})`,
      file,
    );
  }
  const name = path.basename(file);
  const rows = parseCsv(bytes.toString('utf8'), name);
  if (rows.length === 0 || (header && rows.length === 1)) {
    throw new DatasetError(
      'EMPTY_FILE',
      `${file}: no data rows${header && rows.length === 1 ? ' (only a header)' : ''}`,
      file,
    );
  }
  const width = rows[0].length;
  const columns = header ? rows[0].map((c) => c.text.trim()) : rows[0].map((_, i) => String(i));
  if (header) {
    const seen = new Set<string>();
    for (const c of rows[0]) {
      const t = c.text.trim();
      if (t === '' || seen.has(t)) {
        throw new DatasetError(
          'BAD_CSV',
          `${name}:${c.line}:${c.col}: header ${t === '' ? 'has an empty column name' : `names column '${t}' twice`}`,
          file,
        );
      }
      seen.add(t);
    }
  }
  const data = header ? rows.slice(1) : rows;
  for (const r of data) {
    if (r.length !== width) {
      throw new DatasetError(
        'RAGGED_ROW',
        `${name}:${r[0].line}:${r[0].col}: row has ${r.length} fields, expected ${width}${header ? ' (as in the header)' : ' (as in the first row)'}`,
        file,
      );
    }
  }
  return { table: { name, columns, rows: data }, sha256: sha256(bytes) };
}

function columnIndex(
  t: Table,
  column: string,
  code: 'UNKNOWN_COLUMN' | 'LABEL_COLUMN_MISSING',
  what: string,
) {
  const i = t.columns.indexOf(column);
  if (i < 0) {
    throw new DatasetError(
      code,
      `${t.name}: no ${what} column '${column}'; its columns are: ${t.columns.join(', ')}`,
      t.name,
    );
  }
  return i;
}

function sortLabels(labels: string[]): string[] {
  const numeric = labels.every((l) => NUMBER.test(l));
  return numeric ? [...labels].sort((a, b) => Number(a) - Number(b)) : [...labels].sort();
}

/**
 * Load a CSV classification dataset: numeric feature columns plus a label column. Every problem
 * throws a DatasetError with a stable `code` and a `file:line:column` position where there is
 * one: a ragged row, a non-numeric cell, an unknown column, an empty file, a missing label
 * column, fewer than 2 classes.
 */
export async function loadCsvDataset(o: CsvDatasetOptions): Promise<CsvDataset> {
  const header = o.header ?? true;
  const seed = o.seed ?? 1;
  const testFraction = o.testFraction ?? 0.2;
  if (o.test === undefined && !(testFraction > 0 && testFraction < 1)) {
    throw new DatasetError(
      'BAD_OPTIONS',
      `testFraction must be between 0 and 1 (exclusive), got ${testFraction}`,
    );
  }
  if (o.featureColumns && new Set(o.featureColumns).size !== o.featureColumns.length) {
    throw new DatasetError('BAD_OPTIONS', `feature columns repeat a name: ${o.featureColumns.join(', ')}`);
  }
  if (o.classes && (o.classes.length < 2 || new Set(o.classes).size !== o.classes.length)) {
    throw new DatasetError(
      'BAD_OPTIONS',
      `classes must be 2 or more distinct labels, got ${o.classes.join(', ')}`,
    );
  }
  const train = await readTable(o.train, header);
  const test = o.test !== undefined ? await readTable(o.test, header) : undefined;

  const labelColumn = o.labelColumn ?? train.table.columns[train.table.columns.length - 1];
  const featureColumns = o.featureColumns ?? train.table.columns.filter((c) => c !== labelColumn);
  if (featureColumns.length === 0) {
    throw new DatasetError(
      'BAD_OPTIONS',
      `${train.table.name}: no feature columns besides the label '${labelColumn}'`,
    );
  }
  if (featureColumns.includes(labelColumn)) {
    throw new DatasetError(
      'BAD_OPTIONS',
      `the label column '${labelColumn}' cannot also be a feature column`,
    );
  }

  const tables = test ? [train.table, test.table] : [train.table];
  const parsed = tables.map((t) => {
    const labelAt = columnIndex(t, labelColumn, 'LABEL_COLUMN_MISSING', 'label');
    const featureAt = featureColumns.map((c) => columnIndex(t, c, 'UNKNOWN_COLUMN', 'feature'));
    const values = new Float32Array(t.rows.length * featureAt.length);
    const labels: string[] = [];
    t.rows.forEach((r, i) => {
      featureAt.forEach((c, j) => {
        const cell = r[c];
        const s = cell.text.trim();
        if (!NUMBER.test(s)) {
          throw new DatasetError(
            'NON_NUMERIC',
            `${t.name}:${cell.line}:${cell.col}: column '${featureColumns[j]}' holds ${s === '' ? 'an empty cell' : JSON.stringify(s.slice(0, 40))}, expected a number`,
            t.name,
          );
        }
        values[i * featureAt.length + j] = Number(s);
      });
      const l = r[labelAt];
      const label = l.text.trim();
      if (label === '') {
        throw new DatasetError(
          'EMPTY_LABEL',
          `${t.name}:${l.line}:${l.col}: empty label in column '${labelColumn}'`,
          t.name,
        );
      }
      labels.push(label);
    });
    return { table: t, values, labels, labelAt };
  });

  const classes = o.classes ?? sortLabels([...new Set(parsed.flatMap((p) => p.labels))]);
  if (classes.length < 2) {
    throw new DatasetError(
      'FEW_CLASSES',
      `${train.table.name}: column '${labelColumn}' holds a single label (${classes.join(', ')}); a classifier needs at least 2 classes`,
      train.table.name,
    );
  }
  if (classes.length > 256) {
    throw new DatasetError(
      'TOO_MANY_CLASSES',
      `${train.table.name}: column '${labelColumn}' holds ${classes.length} distinct labels; at most 256 classes are supported. Is it the right label column?`,
      train.table.name,
    );
  }
  const classId = new Map(classes.map((c, i) => [c, i]));
  const ids = parsed.map((p) =>
    Uint8Array.from(p.labels, (label, i) => {
      const id = classId.get(label);
      if (id === undefined) {
        const cell = p.table.rows[i][p.labelAt];
        throw new DatasetError(
          'UNKNOWN_LABEL',
          `${p.table.name}:${cell.line}:${cell.col}: label ${JSON.stringify(label)} is not one of the classes ${classes.join(', ')}`,
          p.table.name,
        );
      }
      return id;
    }),
  );

  const f = featureColumns.length;
  let trainFeatures: Float32Array;
  let trainLabels: Uint8Array;
  let testFeatures: Float32Array;
  let testLabels: Uint8Array;
  if (test) {
    [trainFeatures, testFeatures] = [parsed[0].values, parsed[1].values];
    [trainLabels, testLabels] = [ids[0], ids[1]];
  } else {
    const n = ids[0].length;
    const nTest = Math.min(n - 1, Math.max(1, Math.round(n * testFraction)));
    if (n < 2) {
      throw new DatasetError(
        'EMPTY_FILE',
        `${o.train}: one data row cannot be split into train and test`,
        o.train,
      );
    }
    const order = new Rng(seed, 0xc5f).shuffle(Int32Array.from({ length: n }, (_, i) => i));
    // Kept in file order within each split, so the split is easy to inspect.
    const testRows = order.subarray(0, nTest).sort();
    const trainRows = order.subarray(nTest).sort();
    const pick = (rows: Int32Array) => {
      const x = new Float32Array(rows.length * f);
      const y = new Uint8Array(rows.length);
      rows.forEach((r, i) => {
        x.set(parsed[0].values.subarray(r * f, (r + 1) * f), i * f);
        y[i] = ids[0][r];
      });
      return { x, y };
    };
    ({ x: trainFeatures, y: trainLabels } = pick(trainRows));
    ({ x: testFeatures, y: testLabels } = pick(testRows));
  }

  const files = [train, ...(test ? [test] : [])].map((t) => ({ name: t.table.name, sha256: t.sha256 }));
  const manifest = JSON.stringify({
    format: 'kpfl-csv-dataset/1',
    files,
    options: {
      header,
      labelColumn,
      featureColumns,
      classes,
      split: test ? 'files' : { testFraction, seed },
    },
  });
  return {
    trainFeatures,
    trainLabels,
    testFeatures,
    testLabels,
    features: f,
    featureColumns,
    labelColumn,
    classes,
    numClasses: classes.length,
    manifestDigest: `sha256:${createHash('sha256').update(manifest).digest('hex')}`,
    files,
  };
}

/** Per-feature mean and standard deviation (population), for z-scores. */
export interface Standardization {
  mean: number[];
  std: number[];
}

/**
 * Mean and standard deviation of each feature over the rows `indices` of `x` (`features` values
 * per row): a member computes them from its own training rows only, and never shares them.
 */
export function standardization(
  x: Float32Array,
  features: number,
  indices: ArrayLike<number>,
): Standardization {
  const mean = new Array<number>(features).fill(0);
  const m2 = new Array<number>(features).fill(0);
  // Welford's update: stable for large values with small spread.
  for (let k = 0; k < indices.length; k++) {
    const base = indices[k] * features;
    for (let j = 0; j < features; j++) {
      const v = x[base + j];
      const d = v - mean[j];
      mean[j] += d / (k + 1);
      m2[j] += d * (v - mean[j]);
    }
  }
  const n = indices.length;
  return { mean, std: m2.map((s) => (n > 0 ? Math.sqrt(s / n) : 0)) };
}

/**
 * z-scores (v - mean) / std as a new array. A feature with zero variance in the member's rows
 * carries no information there: it becomes v - mean (0 on those rows) rather than a division by zero.
 */
export function standardize(x: Float32Array, features: number, s: Standardization): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const j = i % features;
    const sd = s.std[j];
    out[i] = sd > 0 ? (x[i] - s.mean[j]) / sd : x[i] - s.mean[j];
  }
  return out;
}
