/**
 * Small helpers shared by the suites: machine description, plain-text tables, medians, /proc readers.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';

export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  platform: string;
  /** 1-minute load average when the suite started and when it ended: other work on the machine skews timings. */
  loadAverage: { start: number; end?: number };
  startedAt: string;
}

export function machineInfo(): MachineInfo {
  return {
    cpus: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model?.trim() ?? 'unknown',
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${os.platform()} ${os.arch()}`,
    loadAverage: { start: round2(os.loadavg()[0]!) },
    startedAt: new Date().toISOString(),
  };
}

export function finishMachineInfo(m: MachineInfo): MachineInfo {
  return { ...m, loadAverage: { ...m.loadAverage, end: round2(os.loadavg()[0]!) } };
}

export function describeMachine(m: MachineInfo): string {
  const load = `load average ${m.loadAverage.start}${m.loadAverage.end !== undefined ? ` -> ${m.loadAverage.end}` : ''}`;
  return `${m.cpus} CPU (${m.cpuModel}), ${m.memoryGiB} GiB, Node ${m.node}, ${m.platform}; ${load}`;
}

export const round2 = (x: number) => Math.round(x * 100) / 100;

export function median(xs: number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** A fixed-width text table: the first `leftColumns` columns left-aligned, the rest right-aligned. */
export function formatTable(head: string[], rows: string[][], leftColumns = 1): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i < leftColumns ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function fmtBytes(n: number): string {
  if (!Number.isFinite(n)) return '-';
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(2)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  if (n >= 2 ** 10) return `${(n / 2 ** 10).toFixed(1)} KiB`;
  return `${n} B`;
}

export function fmtSeconds(s: number): string {
  if (!Number.isFinite(s)) return '-';
  if (s < 1) return `${(s * 1000).toFixed(0)} ms`;
  if (s < 100) return `${s.toFixed(2)} s`;
  return `${s.toFixed(0)} s`;
}

/** VmHWM (peak resident set) and VmRSS of a process, in bytes, from /proc/<pid>/status (Linux). */
export function procMemory(pid: number): { peakRss: number; rss: number } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const kb = (key: string) => {
    const m = new RegExp(`^${key}:\\s+(\\d+)\\s+kB`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : Number.NaN;
  };
  return { peakRss: kb('VmHWM'), rss: kb('VmRSS') };
}

/** Runs `fn` over `items` with at most `limit` calls in flight; resolves with the results in order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  let failed: unknown;
  const lane = async () => {
    while (failed === undefined && next < items.length) {
      const i = next++;
      try {
        out[i] = await fn(items[i]!, i);
      } catch (err) {
        failed ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
  if (failed !== undefined) throw failed;
  return out;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
