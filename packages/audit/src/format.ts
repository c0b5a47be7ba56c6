import type { AuditVerdict } from './verify.js';

export type OutputFormat = 'table' | 'json' | 'csv';
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['table', 'json', 'csv'];

/** Columns `kpfl audit contributions --format table` shows (json and csv show every field). */
export const CONTRIBUTION_COLUMNS = [
  'at',
  'planId',
  'round',
  'member',
  'status',
  'reason',
  'exampleCount',
  'baseModelDigest',
  'updateDigest',
  'receipt',
];

/** Columns `kpfl audit rounds --format table` shows. */
export const ROUND_COLUMNS = [
  'planId',
  'round',
  'state',
  'sampled',
  'contributed',
  'accepted',
  'refused',
  'aggregateDigest',
  'certificateSigners',
];

export interface FormatOptions {
  /** Columns, in order. Default: table -> every key of the first row; csv -> union of every row's keys; json ignores it unless given. */
  columns?: string[];
  /** Table cells longer than this are shortened with '…' (default 28; 0 = never). */
  maxCellWidth?: number;
}

function cell(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (Array.isArray(v))
    return v.map((x) => (typeof x === 'object' && x !== null ? JSON.stringify(x) : String(x))).join(',');
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

function shorten(s: string, max: number): string {
  if (max <= 0 || s.length <= max) return s;
  return `${s.slice(0, Math.max(1, max - 1))}…`;
}

function csvField(s: string): string {
  return /[",\r\n]/.test(s) || /^\s|\s$/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

function columnsOf(rows: readonly object[], all: boolean): string[] {
  const cols: string[] = [];
  for (const r of all ? rows : rows.slice(0, 1))
    for (const k of Object.keys(r)) if (!cols.includes(k)) cols.push(k);
  return cols;
}

/**
 * Renders rows for the CLI: 'json' (an array, 2-space indented, full values), 'csv' (RFC 4180,
 * header line, arrays joined with ',', objects as JSON) or 'table' (aligned columns, long values
 * shortened). Always ends with a newline.
 */
export function formatRows(rows: readonly object[], format: OutputFormat, opts: FormatOptions = {}): string {
  const records = rows as readonly Record<string, unknown>[];
  switch (format) {
    case 'json': {
      const out = opts.columns
        ? records.map((r) => Object.fromEntries(opts.columns!.map((c) => [c, r[c] ?? null])))
        : records;
      return `${JSON.stringify(out, null, 2)}\n`;
    }
    case 'csv': {
      const cols = opts.columns ?? columnsOf(records, true);
      const lines = [cols.map(csvField).join(',')];
      for (const r of records) lines.push(cols.map((c) => csvField(cell(r[c]))).join(','));
      return `${lines.join('\r\n')}\r\n`;
    }
    case 'table': {
      const cols = opts.columns ?? columnsOf(records, false);
      if (records.length === 0) return '(no rows)\n';
      const max = opts.maxCellWidth ?? 28;
      const body = records.map((r) => cols.map((c) => shorten(cell(r[c]).replace(/\s+/g, ' '), max)));
      const widths = cols.map((c, i) => Math.max(c.length, ...body.map((b) => b[i].length)));
      const line = (cells: string[]) =>
        cells
          .map((s, i) => s.padEnd(widths[i]))
          .join('  ')
          .trimEnd();
      return `${[line(cols), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n')}\n`;
    }
    default:
      throw new TypeError(`unknown format "${String(format)}" (table, json or csv)`);
  }
}

/** Human verdict for `kpfl audit verify`: one summary line, then the first problem and up to `max` more. */
export function formatVerdict(v: AuditVerdict, max = 10): string {
  const c = v.checked;
  const counts =
    `${c.rows} rows, ${c.checkpoints} checkpoints, ${c.attestations} attestations, ${c.receipts} receipts, ` +
    `${c.certificates} certificates, ${c.publishedRounds} published rounds, ${c.agreements} model agreements`;
  if (v.ok) return `audit verify: OK — ${counts}; head row ${v.head.seq} ${v.head.hash}\n`;
  const lines = [
    `audit verify: FAILED — ${v.errors.length}${v.errors.length >= 100 ? '+' : ''} problem(s); checked ${counts}`,
  ];
  for (const e of v.errors.slice(0, max)) {
    const where = e.seq !== undefined ? `row ${e.seq}` : (e.where ?? '');
    lines.push(`  [${e.kind}] ${where ? `${where}: ` : ''}${e.reason}`);
  }
  if (v.errors.length > max) lines.push(`  … and ${v.errors.length - max} more`);
  return `${lines.join('\n')}\n`;
}
