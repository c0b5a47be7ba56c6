import * as grpc from '@grpc/grpc-js';
import { createEncoder, DEFAULT_HE_PARAMS, mulberry32 } from '@kpfl/he';
import { digestOf, signAttestation } from '@kpfl/kpt';
import { concat, SimulatedParticipant } from '@kpfl/participant';
import { type AggregatorClient, loadKpflProto, type SubmitUpdateMessage } from '@kpfl/proto';
import { getRound } from '@kpfl/store';
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
  median,
  procMemory,
  sleep,
} from './util.js';

export interface StreamsOptions {
  /** Slow SubmitUpdate streams opened at once; default 50. */
  streams?: number;
  /** One run per entry: the streams come from this many members, round robin; default [1]. */
  members?: number[];
  /** How long each stream takes to send its chunks; default 20 s. */
  streamSeconds?: number;
  /** Wait after the last stream ended before the after-load reading; default 15 s. */
  settleSeconds?: number;
  /** Update length in parameters (the count slot is added); default 199,210 (the 2NN). */
  parameters?: number;
  /** Mutual TLS (default true). */
  tls?: boolean;
  /** Run this kpfl checkout's aggregator instead of this one's (its packages/cli/src/main.ts). */
  aggregatorRoot?: string;
  /** Passed as --max-inflight-mib (only to versions that have it); default: the aggregator's. */
  maxInflightMib?: number;
  /** RSS sampling interval, default 100 ms. */
  sampleMs?: number;
  keep?: boolean;
  onProgress?: (line: string) => void;
}

export interface StreamsRun {
  members: number;
  streams: number;
  completed: boolean;
  error?: string;
  /** Streams by the status they ended with ('OK' = accepted). */
  outcomes: Record<string, number>;
  /** Median RSS over the 2 s before the load. */
  baselineRssBytes: number;
  /** Largest RSS sampled while streams were open. */
  peakRssBytes: number;
  /** Median RSS over the last 2 s of the settle time after the load. */
  afterRssBytes: number;
  /** peak - baseline, after - baseline. */
  underLoadDeltaBytes: number;
  afterLoadDeltaBytes: number;
  /** First stream opened -> last stream answered. */
  loadSeconds: number;
  updateBytes: number;
  chunkCount: number;
}

export interface StreamsResult {
  suite: 'streams';
  streams: number;
  streamSeconds: number;
  settleSeconds: number;
  parameters: number;
  tls: boolean;
  aggregator: string;
  maxInflightMib: number | null;
  runs: StreamsRun[];
  totalSeconds: number;
  machine: MachineInfo;
  notes: string[];
}

const STATUS_NAMES = Object.fromEntries(Object.entries(grpc.status).map(([k, v]) => [v, k])) as Record<
  number,
  string
>;

export async function runStreams(o: StreamsOptions, env: BenchEnv): Promise<StreamsResult> {
  const started = performance.now();
  const machine = machineInfo();
  const streams = Math.max(1, o.streams ?? 50);
  const memberCounts = o.members ?? [1];
  const streamSeconds = o.streamSeconds ?? 20;
  const settleSeconds = o.settleSeconds ?? 15;
  const P = o.parameters ?? 199210;
  const tls = o.tls ?? true;
  const sampleMs = o.sampleMs ?? 100;
  const progress = o.onProgress ?? (() => {});
  const runs: StreamsRun[] = [];
  for (const n of memberCounts) runs.push(await runOne(Math.max(1, Math.min(n, streams))));
  return {
    suite: 'streams',
    streams,
    streamSeconds,
    settleSeconds,
    parameters: P,
    tls,
    aggregator: o.aggregatorRoot ?? 'this checkout',
    maxInflightMib: o.maxInflightMib ?? null,
    runs,
    totalSeconds: (performance.now() - started) / 1000,
    machine: finishMachineInfo(machine),
    notes: [
      `${streams} SubmitUpdate streams opened at once, each with its own session token, from the given number of members (round robin); each sends its header, then its chunks spread over ${streamSeconds} s.`,
      'The aggregator is a separate `kpfl aggregator` process (front end and round worker) on loopback; RSS from /proc/<pid>/status. Before the baseline one more member submits an honest update (the round is under way: its running sum and the CKKS context exist); one more is sampled and never submits, so the round stays open throughout.',
      `Baseline: median RSS over the 2 s before the load. Under load: the largest RSS sampled every ${sampleMs} ms while streams were open. After: median RSS over the last 2 s of ${settleSeconds} s after the last stream ended.`,
    ],
  };

  async function runOne(n: number): Promise<StreamsRun> {
    // n members stream; one more submits an honest update before the baseline (the running sum and
    // the CKKS context exist, as in any round under way), and one more never submits, so that no
    // quorum closes the round.
    const members = Array.from({ length: n + 2 }, (_, i) => `m${String(i + 1).padStart(3, '0')}`);
    const warm = n;
    const run: StreamsRun = {
      members: n,
      streams,
      completed: false,
      outcomes: {},
      baselineRssBytes: 0,
      peakRssBytes: 0,
      afterRssBytes: 0,
      underLoadDeltaBytes: 0,
      afterLoadDeltaBytes: 0,
      loadSeconds: 0,
      updateBytes: 0,
      chunkCount: 0,
    };
    let fed: BenchFederation | undefined;
    let sampler: NodeJS.Timeout | undefined;
    const closers: { close(): unknown }[] = [];
    try {
      progress(`streams: ${n} member(s): provisioning, starting the aggregator`);
      fed = await startBenchFederation(env, {
        bench: 'streams',
        members,
        heParams: DEFAULT_HE_PARAMS,
        tls,
        aggregatorArgs:
          o.maxInflightMib !== undefined ? ['--max-inflight-mib', String(o.maxInflightMib)] : [],
        aggregatorRoot: o.aggregatorRoot,
        progress,
      });
      const { federation, kits, identities, db } = fed;
      const { pid, port } = fed.aggregator;
      const plan = await fed.scheduleRound({
        minParticipants: members.length,
        deadlineSeconds: 3600,
        mode: 'he',
        heParams: DEFAULT_HE_PARAMS,
        parameterCount: P,
      });
      const encoder = await createEncoder({ mode: 'he', key: kits[0]!.heKey! });
      closers.push({ close: () => encoder.close() });
      const next = mulberry32(4242);
      const values = new Float64Array(P + 1);
      for (let i = 0; i < P; i++) values[i] = 100 * (next() - 0.5) * 0.02;
      values[P] = 100;
      const chunks = await encoder.encode(values);
      run.chunkCount = chunks.length;
      run.updateBytes = chunks.reduce((a, c) => a + c.byteLength, 0);

      const participants = members.map((m, i) => {
        const p = new SimulatedParticipant({
          federation,
          memberId: m,
          identity: identities[i]!,
          address: `localhost:${port}`,
          tls: tls ? kits[i]!.tls : undefined,
        });
        closers.push(p);
        return p;
      });
      await participants[0]!.conn.reportEvaluation({
        round: 0,
        globalModelDigest: `sha256:${'0'.repeat(64)}`,
        accuracy: 0,
        loss: 0,
        examples: 0,
      });
      const until = Date.now() + 60_000;
      while ((await getRound(db, plan.id, 1))?.state !== 'open') {
        if (Date.now() > until) throw new Error('round 1 did not open within 60 s');
        await sleep(50);
      }
      const task = await participants[0]!.waitForTrainTask(60_000);
      // What each stream sends: its member's attestation over the same bytes, and its own token.
      const attestations = await Promise.all(
        Array.from({ length: n }, (_, i) =>
          signAttestation(identities[i]!, {
            iss: members[i]!,
            federation,
            round: 1,
            baseModelDigest: task.baseModelDigest,
            updateDigest: digestOf(concat(chunks)),
            exampleCount: 100,
            dataCommitment: digestOf(members[i]!),
            chunkCount: chunks.length,
            mode: 'he',
            keyEpoch: task.keyEpoch,
            training: { model: 'mlp', epochs: 1, batchSize: 10, lr: 0.1 },
          }),
        ),
      );
      const warmTask = await participants[warm]!.waitForTrainTask(60_000);
      await participants[warm]!.submitChunks(warmTask, chunks, 100);
      const tokens: string[] = [];
      for (let s = 0; s < streams; s++) tokens.push(await participants[s % n]!.conn.authenticate());

      const rss = () => procMemory(pid)?.rss ?? 0;
      const samples: { t: number; rss: number }[] = [];
      sampler = setInterval(() => samples.push({ t: performance.now(), rss: rss() }), sampleMs);
      const t0 = performance.now();
      await sleep(2000);
      run.baselineRssBytes = median(samples.filter((s) => s.t >= t0).map((s) => s.rss));
      progress(
        `streams: ${n} member(s): aggregator pid ${pid} at ${fmtBytes(run.baselineRssBytes)}; opening ${streams} streams of ${chunks.length} chunks over ${streamSeconds} s`,
      );

      const interval = (streamSeconds * 1000) / chunks.length;
      const loadStart = performance.now();
      const outcomes = await Promise.all(
        tokens.map((token, s) => {
          const i = s % n;
          const kit = kits[i]!;
          const client: AggregatorClient = new (loadKpflProto().kpfl.v1.Aggregator)(
            `localhost:${port}`,
            tls
              ? grpc.credentials.createSsl(
                  Buffer.from(kit.tls.caPem),
                  Buffer.from(kit.tls.keyPem),
                  Buffer.from(kit.tls.certPem),
                )
              : grpc.credentials.createInsecure(),
          );
          closers.push(client);
          return slowStream(client, token, attestations[i]!, chunks, interval, streamSeconds);
        }),
      );
      const loadEnd = performance.now();
      run.loadSeconds = (loadEnd - loadStart) / 1000;
      for (const code of outcomes) run.outcomes[code] = (run.outcomes[code] ?? 0) + 1;
      run.peakRssBytes = Math.max(
        0,
        ...samples.filter((s) => s.t >= loadStart && s.t <= loadEnd).map((s) => s.rss),
      );
      progress(
        `streams: ${n} member(s): load over in ${fmtSeconds(run.loadSeconds)}, peak ${fmtBytes(run.peakRssBytes)}; ${JSON.stringify(run.outcomes)}; settling ${settleSeconds} s`,
      );
      await sleep(settleSeconds * 1000);
      const settled = performance.now();
      run.afterRssBytes = median(samples.filter((s) => s.t >= settled - 2000).map((s) => s.rss));
      run.underLoadDeltaBytes = run.peakRssBytes - run.baselineRssBytes;
      run.afterLoadDeltaBytes = run.afterRssBytes - run.baselineRssBytes;
      run.completed = true;
      progress(
        `streams: ${n} member(s): baseline ${fmtBytes(run.baselineRssBytes)}, under load ${fmtBytes(run.peakRssBytes)} (+${fmtBytes(run.underLoadDeltaBytes)}), after ${fmtBytes(run.afterRssBytes)} (${run.afterLoadDeltaBytes >= 0 ? '+' : '-'}${fmtBytes(Math.abs(run.afterLoadDeltaBytes))})`,
      );
      return run;
    } catch (err) {
      run.error = (err as Error)?.message ?? String(err);
      progress(`streams: ${n} member(s) FAILED: ${run.error}`);
      return run;
    } finally {
      if (sampler) clearInterval(sampler);
      for (const c of closers.reverse()) await Promise.resolve(c.close()).catch(() => {});
      await fed?.close(o.keep ?? false);
    }
  }
}

/**
 * One slow stream: the header, then a chunk every `intervalMs` (respecting back-pressure), then the
 * half-close; resolves with the status name it ended with ('OK' when accepted). Refused early, it
 * stops sending. Bounded by a deadline of twice the stream's time plus a minute.
 */
function slowStream(
  client: AggregatorClient,
  token: string,
  attestation: string,
  chunks: Uint8Array[],
  intervalMs: number,
  streamSeconds: number,
): Promise<string> {
  return new Promise((resolve) => {
    const md = new grpc.Metadata();
    md.set('authorization', `Bearer ${token}`);
    let ended = false;
    const call = client.SubmitUpdate(
      md,
      { deadline: Date.now() + (2 * streamSeconds + 60) * 1000 },
      (err) => {
        ended = true;
        resolve(err ? (STATUS_NAMES[err.code] ?? String(err.code)) : 'OK');
      },
    );
    const send = (m: SubmitUpdateMessage) =>
      call.write(m) ? Promise.resolve() : new Promise<void>((r) => call.once('drain', () => r()));
    (async () => {
      await send({ header: { round: 1, chunkCount: chunks.length, totalBytes: 0, attestation } });
      for (let i = 0; i < chunks.length && !ended; i++) {
        await sleep(intervalMs);
        if (!ended) await send({ chunk: { index: i, data: chunks[i]! } });
      }
      if (!ended) call.end();
    })().catch(() => {});
  });
}

export function formatStreams(r: StreamsResult): string {
  const head = [
    'members',
    'streams',
    'baseline RSS',
    'under load',
    'delta',
    'after load',
    'delta',
    'outcomes',
  ];
  const rows = r.runs.map((x) =>
    x.completed
      ? [
          String(x.members),
          String(x.streams),
          fmtBytes(x.baselineRssBytes),
          fmtBytes(x.peakRssBytes),
          `+${fmtBytes(x.underLoadDeltaBytes)}`,
          fmtBytes(x.afterRssBytes),
          `${x.afterLoadDeltaBytes >= 0 ? '+' : '-'}${fmtBytes(Math.abs(x.afterLoadDeltaBytes))}`,
          Object.entries(x.outcomes)
            .map(([k, v]) => `${k} ${v}`)
            .join(', '),
        ]
      : [String(x.members), String(x.streams), '-', '-', '-', '-', '-', `failed: ${x.error}`],
  );
  return [
    `streams: ${r.streams} slow SubmitUpdate streams of ${r.runs[0]?.chunkCount ?? '?'} chunks (${fmtBytes(r.runs[0]?.updateBytes ?? 0)}) over ${r.streamSeconds} s each; aggregator: ${r.aggregator}${r.maxInflightMib !== null ? `, --max-inflight-mib ${r.maxInflightMib}` : ''}`,
    formatTable(head, rows, 1),
    describeMachine(r.machine),
  ].join('\n');
}
