import { request } from 'node:http';
import { createEncoder, DEFAULT_HE_PARAMS, mulberry32 } from '@kpfl/he';
import { SimulatedParticipant } from '@kpfl/participant';
import { getRound, storageFigures } from '@kpfl/store';
import { type BenchFederation, startBenchFederation } from './bench-federation.js';
import type { BenchEnv } from './env.js';
import {
  describeMachine,
  finishMachineInfo,
  fmtBytes,
  fmtSeconds,
  formatTable,
  type MachineInfo,
  machineInfo,
  mapLimit,
  median,
  procMemory,
  sleep,
} from './util.js';

export interface ScaleOptions {
  /** Participant counts, one fresh federation and aggregator process each; default [10, 100, 1000]. */
  counts?: number[];
  /** Update length in parameters (the count slot is added); default 199,210 (the 2NN). */
  parameters?: number;
  /** Distinct updates encrypted once and reused; default 4. */
  distinctUpdates?: number;
  /** Submissions in flight at once; default 24. */
  concurrency?: number;
  mode?: 'he' | 'plain';
  heParams?: string;
  /** Mutual TLS (default true). */
  tls?: boolean;
  /** For the whole suite; a count that would start after it is skipped, a round past it is abandoned. Default 1800 s. */
  timeBudgetSeconds?: number;
  /** Aggregator RSS sampling interval, default 100 ms. */
  sampleMs?: number;
  /** Keep each count's work directory (kits, aggregator.log) and Postgres schema for inspection. */
  keep?: boolean;
  onProgress?: (line: string) => void;
}

export interface ScaleDbFigures {
  /** Rows one round leaves or passes through. */
  contributionsRows: number;
  /** contribution_chunks rows just before publication (deleted when the round publishes). */
  chunkRowsBeforePublish: number;
  aggregateRows: number;
  /** Payload bytes of the stored updates just before publication, and of the published aggregate. */
  chunkPayloadBytesBeforePublish: number;
  aggregatePayloadBytes: number;
  /** pg_total_relation_size (heap + TOAST + indexes), sampled with all but the last contribution stored. */
  relationBytes: { contributions: number; contribution_chunks: number; aggregates: number };
  /** How many contributions were stored when relationBytes was sampled. */
  sampledAtContributions: number;
}

export interface ScaleRun {
  participants: number;
  completed: boolean;
  error?: string;
  accepted: number;
  /** First submission starts -> round published (the DB sampling pause excluded). */
  roundSeconds: number;
  /** First submission starts -> last receipt. */
  collectSeconds: number;
  /** Last receipt -> round published. */
  publishSeconds: number;
  /** The aggregator's kpfl_aggregation_seconds for the round (settle + store + certify). */
  aggregatorPublishSeconds: number | null;
  /** Per submission, client-observed (authenticate + GetTask + attestation + stream + receipt), ms. */
  submitMs: { p50: number; p95: number; max: number };
  throughputPerSecond: number;
  /** Aggregator process: VmHWM at the end, VmRSS when it was ready, and the largest VmRSS sampled. */
  aggregatorPeakRssBytes: number;
  aggregatorStartRssBytes: number;
  aggregatorMaxSampledRssBytes: number;
  db: ScaleDbFigures | null;
  updateBytes: number;
  chunkCount: number;
  /** Largest |decrypted aggregate - exact sum|, or null if not checked. */
  maxAbsError: number | null;
  setupSeconds: number;
}

export interface ScaleResult {
  suite: 'scale';
  mode: 'he' | 'plain';
  heParams: string;
  parameters: number;
  distinctUpdates: number;
  concurrency: number;
  tls: boolean;
  runs: ScaleRun[];
  /** Peak RSS growth from the smallest to the largest completed count, per added participant. */
  rssGrowthBytesPerParticipant: number | null;
  totalSeconds: number;
  machine: MachineInfo;
  notes: string[];
}

export async function runScale(o: ScaleOptions, env: BenchEnv): Promise<ScaleResult> {
  const started = performance.now();
  const machine = machineInfo();
  const counts = o.counts ?? [10, 100, 1000];
  const P = o.parameters ?? 199210;
  const K = Math.max(1, o.distinctUpdates ?? 4);
  const concurrency = Math.max(1, o.concurrency ?? 24);
  const mode = o.mode ?? 'he';
  const heParams = o.heParams ?? DEFAULT_HE_PARAMS;
  const tls = o.tls ?? true;
  const budget = o.timeBudgetSeconds ?? 1800;
  const progress = o.onProgress ?? (() => {});
  const deadline = started + budget * 1000;
  const runs: ScaleRun[] = [];
  for (const n of counts) {
    if (performance.now() > deadline) {
      progress(`scale: skipping ${n} participants, the time budget of ${budget} s is used up`);
      runs.push(emptyRun(n, `skipped: time budget of ${budget} s used up`));
      continue;
    }
    runs.push(await runOne(n));
  }
  const done = runs.filter((r) => r.completed);
  let growth: number | null = null;
  if (done.length >= 2) {
    const a = done[0]!;
    const b = done.at(-1)!;
    growth = (b.aggregatorPeakRssBytes - a.aggregatorPeakRssBytes) / (b.participants - a.participants);
  }
  return {
    suite: 'scale',
    mode,
    heParams,
    parameters: P,
    distinctUpdates: K,
    concurrency,
    tls,
    runs,
    rssGrowthBytesPerParticipant: growth,
    totalSeconds: (performance.now() - started) / 1000,
    machine: finishMachineInfo(machine),
    notes: [
      `Simulated participants: no training; ${K} distinct updates encrypted once, their ciphertext bytes reused (participant i sends update i mod ${K}), each submission with its own session and attestation.`,
      `At most ${concurrency} submissions in flight; all on loopback; the aggregator is a separate \`kpfl aggregator\` process (front end + round worker), peak RSS = its VmHWM.`,
      'Postgres relation sizes are sampled with all but the last contribution stored (the round publishes, and deletes the chunks, as soon as the last one arrives).',
    ],
  };

  async function runOne(n: number): Promise<ScaleRun> {
    const t0 = performance.now();
    const members = Array.from({ length: n }, (_, i) => `p${String(i + 1).padStart(4, '0')}`);
    let fed: BenchFederation | undefined;
    let sampler: NodeJS.Timeout | undefined;
    let maxRss = 0;
    let startRss = 0;
    const handles: { close(): Promise<void> }[] = [];
    try {
      progress(`scale: ${n} participants: provisioning kits, starting the aggregator`);
      fed = await startBenchFederation(env, { bench: 'scale', members, heParams, tls, progress });
      const { federation, kits, identities, db } = fed;
      const { pid, port, metricsPort } = fed.aggregator;
      startRss = procMemory(pid)?.rss ?? 0;
      maxRss = startRss;
      sampler = setInterval(() => {
        const m = procMemory(pid);
        if (m && m.rss > maxRss) maxRss = m.rss;
      }, o.sampleMs ?? 100);
      const plan = await fed.scheduleRound({
        minParticipants: n,
        deadlineSeconds: Math.max(600, Math.ceil(budget)),
        mode,
        heParams,
        parameterCount: P,
      });

      // K distinct updates (pre-weighted, count in the trailing slot), encrypted once with the consortium key.
      const encoder =
        mode === 'he'
          ? await createEncoder({ mode: 'he', key: kits[0]!.heKey! })
          : await createEncoder({ mode: 'plain' });
      handles.push({ close: () => encoder.close() });
      const updates = Array.from({ length: K }, (_, k) => {
        const examples = 100 + 50 * k;
        const next = mulberry32(7919 * (k + 1));
        const v = new Float64Array(P + 1);
        for (let i = 0; i < P; i++) v[i] = examples * (next() - 0.5) * 0.02;
        v[P] = examples;
        return v;
      });
      const encoded: Uint8Array[][] = [];
      for (const u of updates) encoded.push(await encoder.encode(u));
      const updateBytes = encoded[0]!.reduce((a, c) => a + c.byteLength, 0);
      const chunkCount = encoded[0]!.length;

      const participant = (i: number) =>
        new SimulatedParticipant({
          federation,
          memberId: members[i]!,
          identity: identities[i]!,
          address: `localhost:${port}`,
          tls: tls ? kits[i]!.tls : undefined,
        });
      const until = Date.now() + 60_000;
      while ((await getRound(db, plan.id, 1))?.state !== 'open') {
        if (Date.now() > until) throw new Error('round 1 did not open within 60 s');
        await sleep(20);
      }
      const setupSeconds = (performance.now() - t0) / 1000;
      progress(
        `scale: ${n} participants: aggregator pid ${pid} ready (${(startRss / 2 ** 20).toFixed(0)} MiB), round 1 open; submitting with ${Math.min(concurrency, n)} in flight`,
      );

      const submitMs: number[] = new Array(n).fill(0);
      let accepted = 0;
      const submit = async (i: number) => {
        if (performance.now() > deadline) throw new Error(`time budget of ${budget} s used up`);
        const t = performance.now();
        const p = participant(i);
        try {
          const task = await p.waitForTrainTask(60_000);
          const k = i % K;
          await p.submitChunks(task, encoded[k]!, updates[k]![P]!);
        } finally {
          p.close();
        }
        submitMs[i] = performance.now() - t;
        accepted++;
        if (accepted % Math.max(1, Math.floor(n / 10)) === 0) {
          progress(`scale: ${n} participants: ${accepted}/${n} accepted`);
        }
      };
      const tc = performance.now();
      await mapLimit(
        Array.from({ length: n - 1 }, (_, i) => i),
        concurrency,
        submit,
      );
      // Postgres figures with all but the last contribution stored (publication deletes the chunks).
      const pause = performance.now();
      const dbBefore = await storageFigures(db);
      const pauseSeconds = (performance.now() - pause) / 1000;
      await submit(n - 1);
      const lastReceipt = performance.now();
      for (;;) {
        const row = await getRound(db, plan.id, 1);
        if (row?.state === 'published') break;
        if (row?.state === 'failed') throw new Error(`round failed: ${row.failure_reason}`);
        if (performance.now() > deadline) throw new Error('round not published within the time budget');
        await sleep(10);
      }
      const published = performance.now();
      const peak = procMemory(pid)?.peakRss ?? 0;
      clearInterval(sampler);
      sampler = undefined;
      const after = await storageFigures(db);
      const aggregatorPublishSeconds = await scrapeAggregationSeconds(metricsPort);

      // Check the published aggregate against the exact sum of what was sent.
      const checker = participant(0);
      let maxAbsError: number | null = null;
      try {
        const { chunks } = await checker.conn.downloadAggregate(1);
        const sum = await encoder.decode(chunks, P + 1);
        const exact = new Float64Array(P + 1);
        for (let i = 0; i < n; i++) {
          const u = updates[i % K]!;
          for (let j = 0; j <= P; j++) exact[j] += u[j]!;
        }
        maxAbsError = 0;
        for (let j = 0; j <= P; j++) maxAbsError = Math.max(maxAbsError, Math.abs(sum[j]! - exact[j]!));
      } finally {
        checker.close();
      }
      const collectSeconds = (lastReceipt - tc) / 1000 - pauseSeconds;
      const publishSeconds = (published - lastReceipt) / 1000;
      const sorted = [...submitMs].sort((a, b) => a - b);
      const run: ScaleRun = {
        participants: n,
        completed: true,
        accepted,
        roundSeconds: collectSeconds + publishSeconds,
        collectSeconds,
        publishSeconds,
        aggregatorPublishSeconds,
        submitMs: {
          p50: median(submitMs),
          p95: sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.95))]!,
          max: sorted.at(-1)!,
        },
        throughputPerSecond: n / (collectSeconds + publishSeconds),
        aggregatorPeakRssBytes: peak,
        aggregatorStartRssBytes: startRss,
        aggregatorMaxSampledRssBytes: maxRss,
        db: {
          contributionsRows: after.contributions,
          chunkRowsBeforePublish: dbBefore.chunkRows + chunkCount,
          aggregateRows: after.aggregateRows,
          chunkPayloadBytesBeforePublish: dbBefore.chunkPayload + updateBytes,
          aggregatePayloadBytes: after.aggregatePayload,
          relationBytes: dbBefore.relationBytes,
          sampledAtContributions: dbBefore.contributions,
        },
        updateBytes,
        chunkCount,
        maxAbsError,
        setupSeconds,
      };
      progress(
        `scale: ${n} participants: round ${run.roundSeconds.toFixed(1)} s (collect ${collectSeconds.toFixed(1)} s, publish ${publishSeconds.toFixed(2)} s), aggregator peak RSS ${(peak / 2 ** 20).toFixed(0)} MiB, max error ${maxAbsError?.toExponential(2)}`,
      );
      return run;
    } catch (err) {
      const message = (err as Error)?.message ?? String(err);
      progress(`scale: ${n} participants FAILED: ${message}`);
      const r = emptyRun(n, message);
      r.aggregatorPeakRssBytes = fed ? (procMemory(fed.aggregator.pid)?.peakRss ?? 0) : 0;
      r.aggregatorStartRssBytes = startRss;
      r.aggregatorMaxSampledRssBytes = maxRss;
      return r;
    } finally {
      if (sampler) clearInterval(sampler);
      for (const h of handles.reverse()) await h.close().catch(() => {});
      await fed?.close(o.keep ?? false);
    }
  }
}

function emptyRun(n: number, error: string): ScaleRun {
  return {
    participants: n,
    completed: false,
    error,
    accepted: 0,
    roundSeconds: Number.NaN,
    collectSeconds: Number.NaN,
    publishSeconds: Number.NaN,
    aggregatorPublishSeconds: null,
    submitMs: { p50: Number.NaN, p95: Number.NaN, max: Number.NaN },
    throughputPerSecond: Number.NaN,
    aggregatorPeakRssBytes: 0,
    aggregatorStartRssBytes: 0,
    aggregatorMaxSampledRssBytes: 0,
    db: null,
    updateBytes: 0,
    chunkCount: 0,
    maxAbsError: null,
    setupSeconds: 0,
  };
}

function scrapeAggregationSeconds(port: number): Promise<number | null> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/metrics', timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (b) => (body += b));
      res.on('end', () => {
        const m = /^kpfl_aggregation_seconds_sum\s+([0-9.eE+-]+)/m.exec(body);
        resolve(m ? Number(m[1]) : null);
      });
    });
    req.on('error', () => resolve(null));
    req.on('timeout', () => {
      req.destroy();
      resolve(null);
    });
    req.end();
  });
}

export function formatScale(r: ScaleResult): string {
  const head = [
    'participants',
    'round',
    'collect',
    'publish',
    'submit p50/p95',
    'agg peak RSS',
    'agg RSS at start',
    'contrib rows',
    'chunk rows',
    'chunk payload',
    'chunks table',
    'aggregate',
    'max error',
  ];
  const rows = r.runs.map((x) =>
    x.completed
      ? [
          String(x.participants),
          fmtSeconds(x.roundSeconds),
          fmtSeconds(x.collectSeconds),
          fmtSeconds(x.publishSeconds),
          `${x.submitMs.p50.toFixed(0)}/${x.submitMs.p95.toFixed(0)} ms`,
          fmtBytes(x.aggregatorPeakRssBytes),
          fmtBytes(x.aggregatorStartRssBytes),
          String(x.db?.contributionsRows ?? '-'),
          String(x.db?.chunkRowsBeforePublish ?? '-'),
          fmtBytes(x.db?.chunkPayloadBytesBeforePublish ?? Number.NaN),
          `${fmtBytes(x.db?.relationBytes.contribution_chunks ?? Number.NaN)} @${x.db?.sampledAtContributions}`,
          `${x.db?.aggregateRows ?? '-'} rows, ${fmtBytes(x.db?.aggregatePayloadBytes ?? Number.NaN)}`,
          x.maxAbsError === null ? '-' : x.maxAbsError.toExponential(1),
        ]
      : [
          String(x.participants),
          `FAILED: ${x.error ?? ''}`,
          '',
          '',
          '',
          fmtBytes(x.aggregatorPeakRssBytes),
          '',
          '',
          '',
          '',
          '',
          '',
          '',
        ],
  );
  const growth =
    r.rssGrowthBytesPerParticipant === null
      ? ''
      : `Aggregator peak RSS grows by ${fmtBytes(Math.max(0, r.rssGrowthBytesPerParticipant))} per added participant (smallest -> largest count; one update is ${fmtBytes(r.runs.find((x) => x.completed)?.updateBytes ?? 0)}).`;
  return [
    `scale: one round, ${r.mode} mode (${r.heParams}), ${r.parameters}-parameter update, ${r.concurrency} in flight, ${r.tls ? 'mutual TLS' : 'insecure gRPC'} on loopback`,
    formatTable(head, rows, 1),
    '',
    growth,
    ...r.notes,
    `Machine: ${describeMachine(r.machine)}. Total ${fmtSeconds(r.totalSeconds)}.`,
  ]
    .filter((l) => l !== '')
    .join('\n');
}
