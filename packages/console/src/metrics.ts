/**
 * A summary of Prometheus text exposition (what the aggregator's /metrics serves): one entry per
 * family with its samples. Histogram buckets are left out (their _sum and _count stay); kpfl's own
 * families come first, then the process's (kpfl_process_* and any other).
 */
export interface MetricFamily {
  name: string;
  type: string;
  help: string;
  samples: { labels: Record<string, string>; value: number; suffix: string }[];
}

export interface MetricsSummary {
  families: MetricFamily[];
  /** Jobs in the rounds queue by state (kpfl_queue_jobs), the queue depth. */
  queue: Record<string, number>;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

const unescapeText = (s: string) => s.replace(/\\(["\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c));

export function parsePrometheusText(text: string): MetricsSummary {
  const families = new Map<string, MetricFamily>();
  const family = (name: string) => {
    let f = families.get(name);
    if (!f) {
      f = { name, type: 'untyped', help: '', samples: [] };
      families.set(name, f);
    }
    return f;
  };
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
    if (meta) {
      const f = family(meta[2]!);
      if (meta[1] === 'HELP') f.help = unescapeText(meta[3]!);
      else f.type = meta[3]!;
      continue;
    }
    if (line.startsWith('#')) continue;
    const m = SAMPLE.exec(line);
    if (!m) continue;
    const [, sampleName, labelText, valueText] = m;
    const base = [...families.keys()].find(
      (n) =>
        sampleName === n ||
        (sampleName!.startsWith(n) && /^_(sum|count|bucket|total)$/.test(sampleName!.slice(n.length))),
    );
    const f = family(base ?? sampleName!);
    const suffix = base ? sampleName!.slice(base.length) : '';
    if (suffix === '_bucket') continue;
    const labels: Record<string, string> = {};
    for (const l of (labelText ?? '').matchAll(LABEL)) labels[l[1]!] = unescapeText(l[2]!);
    const value = valueText === '+Inf' ? Infinity : valueText === '-Inf' ? -Infinity : Number(valueText);
    f.samples.push({ labels, value, suffix });
  }
  const list = [...families.values()].filter((f) => f.samples.length > 0);
  // kpfl's own series first; the process's (kpfl_process_*, prom-client's defaults) after them.
  const own = (n: string) => n.startsWith('kpfl_') && !n.startsWith('kpfl_process_');
  list.sort((a, b) => Number(own(b.name)) - Number(own(a.name)) || a.name.localeCompare(b.name));
  const queue: Record<string, number> = {};
  for (const s of families.get('kpfl_queue_jobs')?.samples ?? []) queue[s.labels.state ?? ''] = s.value;
  return { families: list, queue };
}

/** Reads Prometheus text from an aggregator's /metrics (which refreshes the queue and round gauges as it is read). */
export function metricsFromUrl(url: string): () => Promise<string> {
  return async () => {
    const res = await fetch(url);
    if (!res.ok) throw new Error(`${url} answered HTTP ${res.status}`);
    return res.text();
  };
}
