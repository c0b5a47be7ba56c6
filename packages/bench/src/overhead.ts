/**
 * Overhead suite: the same seeded members run the same rounds as real participants (`runParticipant`
 * from @kpfl/participant with a thin wrapper of `tfjsApp`) in a plain federation and in an HE
 * federation, and as local training alone, interleaved in one run. Nothing of a participant's round is
 * re-implemented here: the stage times come from the loop's `ParticipantHooks`, timestamped when the
 * bench receives them (`onStage` is called the moment a stage ends):
 *
 *   train     the hook stage `fit` (the app's fit: trainLocal on the member's own data)
 *   encrypt   the hook stage `encode` (the real UpdateEncoder: CKKS in worker threads, or the plain codec)
 *   upload    from the end of `encode` to the end of the hook stage `upload` (the countersigned receipt):
 *             the update's digest, the attestation, a session token naming the round, the SubmitUpdate
 *             stream and everything the aggregator does before the receipt (verify, Postgres insert,
 *             fold); `auth (in upload)` is the part before the stream (digest, attestation, token)
 *   aggregate not a hook stage: from the round's last receipt (the latest `upload` end) until the
 *             aggregator committed the round as published (its RoundEngine `afterCommit('published')`,
 *             observed in this process); the same for every participant
 *   download  the hook stage `download` (DownloadAggregate stream)
 *   decrypt   the hook stage `decode` (decode of the published sum; the server step that follows is
 *             not a hook stage and falls into `wait`)
 *
 * A round runs from the first participant's `onRoundStart({ kind: 'train' })` until every participant
 * holds the new global model (the start of its `evaluate` stage, after its contributors agreed the
 * model's digest). `wait` is what the round holds beyond a participant's stages: waiting for slower
 * participants' receipts, the loop's polls (every `retry_after_ms`, 500 ms from the aggregator) for
 * the published round and for the contributors' agreement, the server step and the countersignature.
 * The evaluation each participant reports afterwards is not in the round.
 *
 * Interleaving: each federation's plan has repeats + 1 rounds. The participants' `onRoundEnd` hook
 * holds each one after round r - 1 until the bench lets that federation run round r, so plain and he
 * (and local training) take turns, their order rotated every repeat, and machine noise hits all of
 * them. Round 1 of each federation is a warm-up, left out of the figures (tfjs kernel compilation,
 * HE worker start-up, first sessions). Local training calls the same app's `fit` with the global model
 * and seed of round r of the first federation.
 *
 * Real components, in one process: one federation per mode from @kpfl/testing's startLocalFederation
 * (an in-process aggregator with real gRPC and mutual TLS, its Postgres schema, Redis prefix and
 * BullMQ round jobs; members with real kits, session tokens and attestations). Each participant's `address` is its
 * own counting TCP relay (proxy.ts), so "bytes on the wire" are real bytes (TLS + HTTP/2 + gRPC
 * included). Participants run concurrently on this machine, as in `kpfl demo`; their training shares
 * this process's main thread, their HE encoders have their own worker threads.
 */
import { createAccumulator, createEncoder, DEFAULT_HE_PARAMS } from '@kpfl/he';
import { type ModelId, parameterCount, parsePartitionSpec, selectBackend } from '@kpfl/model';
import {
  type FitConfig,
  loadLocalData,
  type ParticipantApp,
  type ParticipantHooks,
  tfjsApp,
} from '@kpfl/participant';
import { getRound } from '@kpfl/store';
import { type LocalFederation, startLocalFederation } from '@kpfl/testing';
import type { BenchEnv } from './env.js';
import { CountingProxy } from './proxy.js';
import {
  describeMachine,
  finishMachineInfo,
  fmtBytes,
  fmtSeconds,
  formatTable,
  type MachineInfo,
  machineInfo,
  median,
  sleep,
} from './util.js';

export type OverheadMode = 'plain' | 'he' | 'local';

export interface OverheadOptions {
  dataset: string;
  /** Default 3 (as `kpfl demo`). */
  participants?: number;
  model?: 'mlp' | 'cnn';
  partition?: string;
  localEpochs?: number;
  /** Default 32. */
  batchSize?: number;
  lr?: number;
  /** Examples per participant per round, default 2000 (`kpfl demo` trains on all 20,000). */
  maxExamples?: number;
  /** Rounds per mode, interleaved plain / he / local; medians are reported. Default 3. */
  repeats?: number;
  modes?: OverheadMode[];
  seed?: number;
  /** Test examples each participant evaluates on after a round (untimed), default 1000. */
  testLimit?: number;
  heParams?: string;
  /** Mutual TLS (default true). */
  tls?: boolean;
  /** Stop after the repeat that crosses this many seconds; default 900. */
  timeBudgetSeconds?: number;
  onProgress?: (line: string) => void;
}

export interface StageTimes {
  train: number;
  encrypt: number;
  upload: number;
  aggregate: number;
  download: number;
  decrypt: number;
}

export const STAGES: readonly (keyof StageTimes)[] = [
  'train',
  'encrypt',
  'upload',
  'aggregate',
  'download',
  'decrypt',
];

export interface OverheadRound {
  mode: OverheadMode;
  repeat: number;
  /** From the first participant's round start until every participant holds the new global model. */
  roundSeconds: number;
  /** Mean over participants (aggregate: the round's, the same for all). */
  stages: StageTimes;
  perParticipant: StageTimes[];
  /** Mean per participant: the round's time beyond its stages (polls, agreement, waiting for others). */
  waitSeconds: number;
  /** Part of upload before the stream: update digest, attestation, session token naming the round; mean per participant. */
  authSeconds: number;
  /** Re-measured after the round: folding an update of this mode and size into a fresh accumulator, per update. */
  foldSecondsPerUpdate: number;
  /** The aggregator's own kpfl_aggregation_seconds for this round (settle + store + certify). */
  publishSeconds: number;
  /** Mean per participant over the round: real bytes through its TCP relay (TLS, HTTP/2, gRPC framing included). */
  wireBytesUp: number;
  wireBytesDown: number;
  /** Payload: the encoded update one participant sends, and the published aggregate it downloads. */
  updateBytes: number;
  aggregateBytes: number;
  /** Mean accuracy the participants measured on the new model (untimed; plain/he only). */
  accuracy?: number;
}

export interface OverheadModeSummary {
  mode: OverheadMode;
  rounds: number;
  roundSeconds: number;
  stages: StageTimes;
  waitSeconds: number;
  authSeconds: number;
  foldSecondsPerUpdate: number;
  publishSeconds: number;
  wireBytesUp: number;
  wireBytesDown: number;
  updateBytes: number;
  aggregateBytes: number;
}

export interface OverheadResult {
  suite: 'overhead';
  participants: number;
  /** tfjs backend the participants trained on. */
  backend: string;
  model: string;
  parameters: number;
  partition: string;
  localEpochs: number;
  batchSize: number;
  maxExamples: number;
  heParams: string;
  tls: boolean;
  repeats: number;
  rounds: OverheadRound[];
  /** Medians over the repeats, per mode. */
  summary: Partial<Record<OverheadMode, OverheadModeSummary>>;
  ratios: { heOverPlain?: number; plainOverLocal?: number; heOverLocal?: number };
  totalSeconds: number;
  machine: MachineInfo;
  notes: string[];
}

const zeroStages = (): StageTimes => ({
  train: 0,
  encrypt: 0,
  upload: 0,
  aggregate: 0,
  download: 0,
  decrypt: 0,
});

type FedMode = 'plain' | 'he';

/** What one participant's hooks saw of one round (performance.now() ms, stage seconds). */
interface Trace {
  trainStart?: number;
  fit?: number;
  encode?: number;
  encodeEnd?: number;
  upload?: number;
  uploadEnd?: number;
  download?: number;
  decode?: number;
  /** Start of the evaluate stage: the participant holds the round's agreed model. */
  holdAt?: number;
  updateBytes?: number;
  aggregateBytes?: number;
  accuracy?: number;
}

interface ModeFederation {
  mode: FedMode;
  fed: LocalFederation;
  planId: string;
  /** performance.now() when the aggregator committed each round as published. */
  publishedAt: Map<number, number>;
  proxies: CountingProxy[];
  /** Per participant, per round. */
  traces: Map<number, Trace>[];
  /** An update of this mode's size (encoded once by the bench) to re-measure the fold on. */
  sample: Uint8Array[];
}

/** Thrown from a participant's hook when the bench is done with it: ends its loop. */
class BenchStop extends Error {}

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
  reject: (e: unknown) => void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => {}); // rejected gates are observed by the hooks that await them, if any
  return { promise, resolve, reject };
}

export async function runOverhead(o: OverheadOptions, env: BenchEnv): Promise<OverheadResult> {
  const started = performance.now();
  const machine = machineInfo();
  const progress = o.onProgress ?? (() => {});
  const N = o.participants ?? 3;
  const model = o.model ?? 'mlp';
  const partitionSpec = o.partition ?? 'iid';
  parsePartitionSpec(partitionSpec);
  const epochs = o.localEpochs ?? 1;
  const batchSize = o.batchSize ?? 32;
  const lr = o.lr ?? 0.1;
  const maxExamples = o.maxExamples ?? 2000;
  const repeats = Math.max(1, Math.floor(o.repeats ?? 3));
  const modes = o.modes ?? ['plain', 'he', 'local'];
  const seed = o.seed ?? 1;
  const heParams = o.heParams ?? DEFAULT_HE_PARAMS;
  const tls = o.tls ?? true;
  const budget = o.timeBudgetSeconds ?? 900;
  const P = parameterCount(model);
  // Round 1 of each plan is the warm-up; repeat k runs round k + 1.
  const planRounds = repeats + 1;
  const training = {
    model,
    localEpochs: epochs,
    batchSize,
    learningRate: lr,
    proxMu: 0,
    serverOptimizer: 'fedavg',
    maxExamples,
  };

  const members = Array.from({ length: N }, (_, i) => `member-${i + 1}`);
  const feds: ModeFederation[] = [];
  const rounds: OverheadRound[] = [];
  const runs: Promise<void>[] = [];
  const abort = new AbortController();
  let backendName = '';

  // The turns: participants of federation `mode` wait in onRoundEnd(r - 1) for gate `mode:r`; the
  // bench waits for all N onRoundEnd(r) (`arrived`), or for a participant that failed.
  const gates = new Map<string, Deferred>();
  const arrivals = new Map<string, { count: number; all: Deferred }>();
  let stopped: BenchStop | undefined;
  const failed = deferred();
  const gate = (key: string) => {
    let g = gates.get(key);
    if (!g) {
      g = deferred();
      if (stopped) g.reject(stopped);
      gates.set(key, g);
    }
    return g;
  };
  const arrival = (key: string) => {
    let a = arrivals.get(key);
    if (!a) {
      a = { count: 0, all: deferred() };
      arrivals.set(key, a);
    }
    return a;
  };
  const stopAll = () => {
    stopped ??= new BenchStop('the benchmark is done with this participant');
    for (const g of gates.values()) g.reject(stopped);
    abort.abort();
  };
  /** Global model each participant held at the start of round r of the first federation (local training starts there). */
  const startWeights: Map<number, Float32Array>[] = members.map(() => new Map());
  const apps: ParticipantApp[] = [];

  try {
    // Select the tfjs backend once, before participants prepare, train or evaluate concurrently (first
    // use from several concurrent calls would race to select it); the apps' prepare reports it.
    const backend = await selectBackend('auto', model);
    backendName = backend.backend;
    progress(
      `overhead: provisioning ${N} members, ${model} (${P} parameters) on tfjs ${backend.backend}, ${heParams}`,
    );
    const fedModes = [...new Set(modes.filter((m): m is FedMode => m !== 'local'))];
    if (fedModes.length === 0) fedModes.push('plain'); // local alone still needs the participants' global model
    const baseMode = fedModes[0]!;
    for (let i = 0; i < N; i++) {
      const data = await loadLocalData({
        dir: o.dataset,
        slice: { spec: parsePartitionSpec(partitionSpec), clients: N, clientIndex: i, seed },
        testLimit: o.testLimit ?? 1000,
      });
      apps.push({ ...tfjsApp(data), prepare: async () => backend });
    }
    for (const mode of fedModes) await startFederation(mode);

    for (const f of feds) {
      for (let i = 0; i < N; i++) {
        const member = members[i]!;
        const traces = f.traces[i]!;
        const trace = (round: number) => {
          let t = traces.get(round);
          if (!t) {
            t = {};
            traces.set(round, t);
          }
          return t;
        };
        const hooks: ParticipantHooks = {
          onRoundStart({ round, kind }) {
            if (kind === 'train') trace(round).trainStart ??= performance.now();
          },
          onStage(s) {
            const now = performance.now();
            const t = trace(s.round);
            if (s.stage === 'fit') t.fit = s.seconds;
            else if (s.stage === 'encode') {
              t.encode = s.seconds;
              t.encodeEnd = now;
              t.updateBytes = s.bytes;
            } else if (s.stage === 'upload') {
              t.upload = s.seconds;
              t.uploadEnd = now;
            } else if (s.stage === 'download') {
              t.download = s.seconds;
              t.aggregateBytes = s.bytes;
            } else if (s.stage === 'decode') t.decode = s.seconds;
            else if (s.stage === 'evaluate') t.holdAt = now - s.seconds * 1000;
          },
          async onRoundEnd(report, global) {
            trace(report.round).accuracy = report.accuracy;
            if (f.mode === baseMode) startWeights[i]!.set(report.round + 1, global.weights.slice());
            const a = arrival(`${f.mode}:${report.round}`);
            if (++a.count === N) a.all.resolve();
            await gate(`${f.mode}:${report.round + 1}`).promise;
          },
        };
        runs.push(
          f.fed
            .participate(member, {
              app: apps[i]!,
              hooks,
              address: `localhost:${f.proxies[i]!.port}`,
              idleTimeoutMs: 300_000,
              signal: abort.signal,
            })
            .then(
              () => {
                if (!stopped) failed.reject(new Error(`${member} (${f.mode}): the plan ended early`));
              },
              (err) => {
                if (!(err instanceof BenchStop)) {
                  failed.reject(
                    new Error(`${member} (${f.mode}): ${(err as Error).message}`, { cause: err }),
                  );
                }
              },
            ),
        );
      }
    }
    // Round 0: every participant evaluates the initial model and reports its digest (untimed).
    for (const f of feds) await until(arrival(`${f.mode}:0`).all.promise, `${f.mode}: round 0`);

    progress('overhead: warm-up round (round 1 of each federation, not counted)');
    for (const f of feds) await federatedRound(f, 1);

    for (let k = 1; k <= repeats; k++) {
      const r = k + 1;
      // Rotate the order every repeat, so that no mode always runs first (or right after another).
      const order = modes.map((_, i) => modes[(i + k - 1) % modes.length]!);
      for (const mode of order) {
        const row =
          mode === 'local'
            ? await localRound(k, r)
            : await federatedRound(feds.find((f) => f.mode === mode)!, r, k);
        rounds.push(row!);
        progress(
          `overhead: ${mode.padEnd(5)} round ${k}/${repeats}: ${row!.roundSeconds.toFixed(2)} s (${STAGES.filter(
            (s) => row!.stages[s] > 0,
          )
            .map((s) => `${s} ${row!.stages[s].toFixed(2)}`)
            .join(', ')}${mode === 'local' ? '' : `, wait ${row!.waitSeconds.toFixed(2)}`})`,
        );
      }
      if ((performance.now() - started) / 1000 > budget && k < repeats) {
        progress(`overhead: time budget of ${budget} s reached after ${k} repeat(s)`);
        break;
      }
    }
  } finally {
    stopAll();
    // Bounded: a participant stuck in a call must not hold the clean-up.
    await Promise.race([Promise.allSettled(runs), sleep(15_000)]);
    for (const f of feds) {
      for (const p of f.proxies) await p.close().catch(() => {});
      await f.fed.close().catch(() => {});
    }
  }

  const summary: Partial<Record<OverheadMode, OverheadModeSummary>> = {};
  for (const mode of modes) {
    const rs = rounds.filter((x) => x.mode === mode);
    if (rs.length === 0) continue;
    const stages = zeroStages();
    for (const s of STAGES) stages[s] = median(rs.map((x) => x.stages[s]));
    summary[mode] = {
      mode,
      rounds: rs.length,
      roundSeconds: median(rs.map((x) => x.roundSeconds)),
      stages,
      waitSeconds: median(rs.map((x) => x.waitSeconds)),
      authSeconds: median(rs.map((x) => x.authSeconds)),
      foldSecondsPerUpdate: median(rs.map((x) => x.foldSecondsPerUpdate)),
      publishSeconds: median(rs.map((x) => x.publishSeconds)),
      wireBytesUp: median(rs.map((x) => x.wireBytesUp)),
      wireBytesDown: median(rs.map((x) => x.wireBytesDown)),
      updateBytes: median(rs.map((x) => x.updateBytes)),
      aggregateBytes: median(rs.map((x) => x.aggregateBytes)),
    };
  }
  const ratio = (a?: OverheadModeSummary, b?: OverheadModeSummary) =>
    a && b && b.roundSeconds > 0 ? a.roundSeconds / b.roundSeconds : undefined;
  return {
    suite: 'overhead',
    participants: N,
    backend: backendName,
    model,
    parameters: P,
    partition: partitionSpec,
    localEpochs: epochs,
    batchSize,
    maxExamples,
    heParams,
    tls,
    repeats,
    rounds,
    summary,
    ratios: {
      heOverPlain: ratio(summary.he, summary.plain),
      plainOverLocal: ratio(summary.plain, summary.local),
      heOverLocal: ratio(summary.he, summary.local),
    },
    totalSeconds: (performance.now() - started) / 1000,
    machine: finishMachineInfo(machine),
    notes: [
      `${N} real participants (runParticipant) per federation run concurrently in one process on this machine (as kpfl demo does with processes): training shares the main thread, HE encoders use their own worker threads.`,
      'Modes are interleaved (participants wait in their onRoundEnd hook for their turn) and their order rotates every repeat; round 1 of each federation is a warm-up, not counted.',
      'Stages are the participant hooks: train = fit, encrypt = encode, upload = encode end -> receipt (digest, attestation, session token, stream; the aggregator verifies, stores and folds before the receipt), download, decrypt = decode; aggregate = last receipt -> the aggregator commits the round as published.',
      "Round = first participant's round start -> every participant holds the agreed model; wait = the rest of the round: the loop's 500 ms polls for the published round and for the contributors' agreement, the server step, the countersignature, slower participants.",
      'Wire bytes are counted by a TCP relay per participant: TLS records, HTTP/2 and gRPC framing, authentication, GetTask polls, countersignature and evaluation report included.',
    ],
  };

  async function until<T>(p: Promise<T>, what: string, ms = 600_000): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`overhead: ${what} did not finish within ${ms / 1000} s`)),
        ms,
      );
    });
    try {
      return await Promise.race([p, failed.promise as Promise<never>, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async function startFederation(mode: FedMode): Promise<void> {
    const publishedAt = new Map<number, number>();
    // Each mode its own federation (schema, Redis prefix, aggregator), so neither waits on the other.
    const fed = await startLocalFederation({
      participants: members,
      heParams,
      tls,
      databaseUrl: env.databaseUrl,
      redisUrl: env.redisUrl,
      aggregator: {
        engineHooks: {
          afterCommit(step, _planId, round) {
            if (step === 'published') publishedAt.set(round, performance.now());
          },
        },
      },
    });
    const f: ModeFederation = {
      mode,
      fed,
      planId: '',
      publishedAt,
      proxies: [],
      traces: members.map(() => new Map()),
      sample: [],
    };
    feds.push(f); // closed in the finally even if the rest of the set-up fails
    for (let i = 0; i < N; i++) f.proxies.push(await CountingProxy.start(fed.aggregator.port));
    // An update of this mode's exact size and chunking, to re-measure the fold on after each round.
    const enc =
      mode === 'he'
        ? await createEncoder({ mode: 'he', key: fed.consortiumKey })
        : await createEncoder({ mode: 'plain' });
    try {
      const values = new Float64Array(P + 1);
      for (let k = 0; k < P; k++) values[k] = Math.sin(k) * 0.01;
      values[P] = maxExamples || 1;
      f.sample = await enc.encode(values);
    } finally {
      await enc.close().catch(() => {});
    }
    const { model: _, ...settings } = training;
    const plan = await fed.schedule({
      model,
      rounds: planRounds,
      mode,
      deadlineSeconds: 3600,
      training: settings,
      seed,
    });
    f.planId = plan.id;
  }

  function fitConfig(round: number): FitConfig {
    // What runParticipant asks of the app in round `round` of these plans.
    return {
      round,
      model: model as ModelId,
      epochs,
      batchSize,
      lr,
      proxMu: 0,
      maxExamples: maxExamples || undefined,
      seed: seed * 1000 + round,
    };
  }

  async function localRound(k: number, r: number): Promise<OverheadRound> {
    const per = members.map(() => zeroStages());
    const t0 = performance.now();
    await Promise.all(
      members.map(async (_, i) => {
        const t = performance.now();
        // The same start point and seed as this participant's federated round r (the first
        // federation's; when it only ran the warm-up, `--modes local`, the model after it).
        const from = startWeights[i]!.get(r) ?? [...startWeights[i]!.values()].at(-1)!;
        await apps[i]!.fit(from, fitConfig(r));
        per[i]!.train = (performance.now() - t) / 1000;
      }),
    );
    return {
      mode: 'local',
      repeat: k,
      roundSeconds: (performance.now() - t0) / 1000,
      stages: meanStages(per),
      perParticipant: per,
      waitSeconds: 0,
      authSeconds: 0,
      foldSecondsPerUpdate: 0,
      publishSeconds: 0,
      wireBytesUp: 0,
      wireBytesDown: 0,
      updateBytes: 0,
      aggregateBytes: 0,
    };
  }

  /** Lets federation f's participants run round r and waits until all of them applied it; k: the repeat (none: warm-up). */
  async function federatedRound(
    f: ModeFederation,
    r: number,
    k?: number,
  ): Promise<OverheadRound | undefined> {
    const { planId, mode } = f;
    const agg = f.fed.aggregator;
    // Untimed: the round is open.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const row = await getRound(agg.db, planId, r);
      if (row && (row.state === 'open' || row.state === 'collecting')) break;
      if (Date.now() > deadline) throw new Error(`${mode}: round ${r} did not open within 60 s`);
      await sleep(20);
    }
    const wire0 = f.proxies.map((p) => p.snapshot());
    const publish0 = await aggregationSecondsSum(agg);
    gate(`${mode}:${r}`).resolve();
    await until(arrival(`${mode}:${r}`).all.promise, `${mode}: round ${r}`);
    const wire1 = f.proxies.map((p) => p.snapshot());
    const publishSeconds = (await aggregationSecondsSum(agg)) - publish0;
    if (k === undefined) return undefined;

    const traces = f.traces.map((t) => t.get(r)!);
    const need = (t: Trace, key: keyof Trace) => {
      const v = t[key];
      if (v === undefined) throw new Error(`${mode}: round ${r}: no ${key} from the participant hooks`);
      return v;
    };
    const t0 = Math.min(...traces.map((t) => need(t, 'trainStart')));
    const lastReceipt = Math.max(...traces.map((t) => need(t, 'uploadEnd')));
    const published = f.publishedAt.get(r);
    if (published === undefined) throw new Error(`${mode}: round ${r} published unseen`);
    const aggregate = (published - lastReceipt) / 1000;
    const holdAt = traces.map((t) => need(t, 'holdAt'));
    const per = traces.map(
      (t): StageTimes => ({
        train: need(t, 'fit'),
        encrypt: need(t, 'encode'),
        upload: (need(t, 'uploadEnd') - need(t, 'encodeEnd')) / 1000,
        aggregate,
        download: need(t, 'download'),
        decrypt: need(t, 'decode'),
      }),
    );
    const waits = per.map((s, i) => (holdAt[i]! - t0) / 1000 - STAGES.reduce((a, st) => a + s[st], 0));
    const auth = traces.map(
      (t) => (need(t, 'uploadEnd') - need(t, 'upload') * 1000 - need(t, 'encodeEnd')) / 1000,
    );
    // Untimed: the aggregator's fold, re-measured on an update of this mode and size, N times.
    const acc = await createAccumulator({ mode, paramsName: heParams, chunkCount: f.sample.length });
    let foldTotal = 0;
    try {
      for (let i = 0; i < N; i++) {
        const t = performance.now();
        await acc.add(f.sample);
        foldTotal += (performance.now() - t) / 1000;
      }
    } finally {
      acc.dispose();
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    return {
      mode,
      repeat: k,
      roundSeconds: (Math.max(...holdAt) - t0) / 1000,
      stages: meanStages(per),
      perParticipant: per,
      waitSeconds: mean(waits),
      authSeconds: mean(auth),
      foldSecondsPerUpdate: foldTotal / N,
      publishSeconds,
      wireBytesUp: mean(wire1.map((w, i) => w.up - wire0[i]!.up)),
      wireBytesDown: mean(wire1.map((w, i) => w.down - wire0[i]!.down)),
      updateBytes: mean(traces.map((t) => need(t, 'updateBytes'))),
      aggregateBytes: mean(traces.map((t) => need(t, 'aggregateBytes'))),
      accuracy: mean(traces.map((t) => need(t, 'accuracy'))),
    };
  }
}

function meanStages(per: StageTimes[]): StageTimes {
  const out = zeroStages();
  for (const s of STAGES) out[s] = per.reduce((a, p) => a + p[s], 0) / Math.max(1, per.length);
  return out;
}

async function aggregationSecondsSum(agg: LocalFederation['aggregator']): Promise<number> {
  const metric = agg.metrics.registry.getSingleMetric('kpfl_aggregation_seconds');
  if (!metric) return 0;
  const { values } = await metric.get();
  const sum = values.find(
    (v) => (v as { metricName?: string }).metricName === 'kpfl_aggregation_seconds_sum',
  );
  return sum?.value ?? 0;
}

export function formatOverhead(r: OverheadResult): string {
  const modes = (['plain', 'he', 'local'] as const).filter((m) => r.summary[m]);
  const head = [
    'mode',
    ...STAGES,
    'wait',
    'round',
    'auth (in upload)',
    'fold/update',
    'publish',
    'wire up',
    'wire down',
    'update',
    'aggregate',
  ];
  const rows = modes.map((m) => {
    const s = r.summary[m]!;
    const fed = m !== 'local';
    return [
      m,
      ...STAGES.map((st) => (fed || st === 'train' ? fmtSeconds(s.stages[st]) : '-')),
      fed ? fmtSeconds(s.waitSeconds) : '-',
      fmtSeconds(s.roundSeconds),
      fed ? fmtSeconds(s.authSeconds) : '-',
      fed ? fmtSeconds(s.foldSecondsPerUpdate) : '-',
      fed ? fmtSeconds(s.publishSeconds) : '-',
      fed ? fmtBytes(s.wireBytesUp) : '-',
      fed ? fmtBytes(s.wireBytesDown) : '-',
      fed ? fmtBytes(s.updateBytes) : '-',
      fed ? fmtBytes(s.aggregateBytes) : '-',
    ];
  });
  const x = (v?: number) => (v === undefined ? '-' : `${v.toFixed(3)}x`);
  return [
    `overhead: one round, ${r.participants} participants, ${r.model} (${r.parameters} parameters, tfjs ${r.backend}), ${r.partition}, E=${r.localEpochs}, B=${r.batchSize}, ${r.maxExamples} examples each; HE set ${r.heParams}; ${r.tls ? 'mutual TLS' : 'insecure gRPC'}; median of ${r.repeats} interleaved round(s) per mode`,
    formatTable(head, rows, 1),
    '',
    `round time he/plain = ${x(r.ratios.heOverPlain)}   plain/local training = ${x(r.ratios.plainOverLocal)}   he/local training = ${x(r.ratios.heOverLocal)}`,
    'Stage times are means per participant (seconds); wire = bytes per participant per round through its TCP relay.',
    ...r.notes,
    `Machine: ${describeMachine(r.machine)}. Total ${fmtSeconds(r.totalSeconds)}.`,
  ].join('\n');
}
