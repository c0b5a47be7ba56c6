/**
 * Overhead suite: the same seeded participants run the same round in plain mode, in HE mode, and as
 * local training alone, interleaved in one run, and each stage is timed:
 *
 *   train     trainLocal on the participant's own data (the real @kpfl/model code)
 *   encrypt   the real UpdateEncoder (CKKS in worker threads, or the plain codec)
 *   upload    attestation, a session token naming the round, SubmitUpdate stream until the countersigned
 *             receipt (client-observed; includes the aggregator's verification, the Postgres insert and
 *             the fold, which happen before the receipt)
 *   aggregate from the last receipt until the round is published (close job, settle, store, certify)
 *   download  DownloadAggregate stream
 *   decrypt   decode of the published sum + the server step in plain JS numbers (+ the model digest)
 *
 * Real components, in one process: an in-process aggregator (real gRPC with mutual TLS, Postgres schema,
 * Redis prefix, BullMQ round jobs), participants with real kits, session tokens and attestations. Each
 * participant reaches the aggregator through a counting TCP relay, so "bytes on the wire" are real bytes
 * (TLS + HTTP/2 + gRPC included). Participants run concurrently on this machine, as in `kpfl demo`;
 * their training shares this process's main thread, their HE encoders have their own worker threads.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type CoordinatorKitLike,
  createLogger,
  type RunningAggregator,
  schedulePlan,
  startLocalAggregator,
} from '@kpfl/aggregator';
import { createAccumulator, createEncoder, DEFAULT_HE_PARAMS, type UpdateEncoder } from '@kpfl/he';
import {
  countersignRoundCertificate,
  digestOf,
  type GeneralJWS,
  type IdentityKey,
  importIdentity,
  type JSONWebKeySet,
  parseStrictJson,
  signAttestation,
} from '@kpfl/kpt';
import {
  evaluate,
  initialWeights,
  parameterCount,
  parsePartitionSpec,
  selectBackend,
  trainLocal,
  weightsDigest,
} from '@kpfl/model';
import { AggregatorConnection, concat, type LocalData, loadLocalData } from '@kpfl/participant';
import { DEFAULT_DATABASE_URL, dropSchema, getRound } from '@kpfl/store';
import { type StrategyState, strategyFromSpec } from '@kpfl/strategy';
import { deleteRedisPrefix } from '@kpfl/testing';
import type { BenchEnv, MemberKitLike } from './env.js';
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
  /** From the start of the round's work until every participant holds the new global model. */
  roundSeconds: number;
  /** Mean over participants (aggregate: the round's, the same for all). */
  stages: StageTimes;
  perParticipant: StageTimes[];
  /** Part of upload: getting a session token that names the round (challenge + Authenticate), mean per participant. */
  authSeconds: number;
  /** Re-measured after the round: folding each participant's exact update bytes into the aggregator's accumulator. */
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

interface BenchParticipant {
  memberId: string;
  identity: IdentityKey;
  coordinatorJwks: JSONWebKeySet;
  data: LocalData;
  /** Per mode (plain / he): connection, relay and encoder. */
  links: Partial<
    Record<'plain' | 'he', { conn: AggregatorConnection; proxy: CountingProxy; enc: UpdateEncoder }>
  >;
  /** Per mode: own copy of the global state (the two federations evolve separately). */
  state: Partial<
    Record<
      'plain' | 'he',
      {
        weights: Float32Array;
        optimizer: StrategyState;
        digest: string;
        /** The global model round `startedRound` started from (the local-training baseline starts there too). */
        weightsBefore?: Float32Array;
        startedRound?: number;
      }
    >
  >;
}

interface ModeFederation {
  mode: 'plain' | 'he';
  agg: RunningAggregator;
  schema: string;
  redisPrefix: string;
  planId: string;
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
  const strategy = strategyFromSpec('fedavg');
  const training = {
    model,
    localEpochs: epochs,
    batchSize,
    learningRate: lr,
    proxMu: 0,
    serverOptimizer: 'fedavg',
    maxExamples,
  };

  const id = randomBytes(4).toString('hex');
  const federation = `bench-${id}`;
  const work = mkdtempSync(join(tmpdir(), 'kpfl-bench-overhead-'));
  const members = Array.from({ length: N }, (_, i) => `member-${i + 1}`);
  const feds: ModeFederation[] = [];
  const parts: BenchParticipant[] = [];
  const rounds: OverheadRound[] = [];
  let backendName = '';
  try {
    // Select the tfjs backend once, before participants train or evaluate concurrently (first use from
    // several concurrent calls would race to select it).
    const backend = await selectBackend('auto', model);
    backendName = backend.backend;
    progress(
      `overhead: provisioning ${N} members, ${model} (${P} parameters) on tfjs ${backend.backend}, ${heParams}`,
    );
    const { coordinator } = await env.provisionKits({ federation, members, out: work, heParams });
    const fedModes = modes.filter((m): m is 'plain' | 'he' => m !== 'local');
    if (fedModes.length === 0) fedModes.push('plain'); // local alone still needs the participants' global model
    for (const mode of fedModes) feds.push(await startFederation(mode, coordinator));
    const kits: MemberKitLike[] = members.map((m) => env.readMemberKit(join(work, 'members', m)));
    for (let i = 0; i < N; i++) {
      const kit = kits[i]!;
      const identity = await importIdentity(kit.identity.privateJwk);
      const data = await loadLocalData({
        dir: o.dataset,
        slice: { spec: parsePartitionSpec(partitionSpec), clients: N, clientIndex: i, seed },
        testLimit: o.testLimit ?? 1000,
      });
      const weights = initialWeights(model, seed);
      const p: BenchParticipant = {
        memberId: kit.memberId,
        identity,
        coordinatorJwks: kit.coordinatorJwks,
        data,
        links: {},
        state: {},
      };
      for (const f of feds) {
        const proxy = await CountingProxy.start(f.agg.port);
        const conn = new AggregatorConnection({
          address: `localhost:${proxy.port}`,
          memberId: kit.memberId,
          identity,
          tls: tls ? kit.tls : undefined,
        });
        const enc =
          f.mode === 'he'
            ? await createEncoder({ mode: 'he', key: kit.heKey! })
            : await createEncoder({ mode: 'plain' });
        p.links[f.mode] = { conn, proxy, enc };
        p.state[f.mode] = {
          weights: weights.slice(),
          optimizer: strategy.initState(P),
          digest: weightsDigest(weights),
        };
      }
      parts.push(p);
    }
    // Round 0: every participant evaluates the initial model and reports its digest (untimed).
    for (const f of feds) await Promise.all(parts.map((p) => evaluateAndReport(p, f, 0)));
    // Warm-up (untimed): the first training step compiles the backend's gradient kernels, the first
    // encode warms each encoder; neither belongs to whichever mode happens to run first.
    progress('overhead: warming up (one training batch, one encode per encoder)');
    const w0 = parts[0]!;
    await trainLocal({
      config: { ...trainConfig(0), maxExamples: batchSize },
      weights: initialWeights(model, seed),
      images: w0.data.trainFeatures,
      labels: w0.data.trainLabels,
      indices: w0.data.trainIndices,
      pixels: w0.data.perExample,
    });
    const zeros = new Float64Array(P + 1);
    zeros[P] = 1;
    for (const p of parts) for (const l of Object.values(p.links)) await l.enc.encode(zeros);

    for (let r = 1; r <= repeats; r++) {
      // Rotate the order every repeat, so that no mode always runs first (or right after another).
      const order = modes.map((_, i) => modes[(i + r - 1) % modes.length]!);
      for (const mode of order) {
        const row =
          mode === 'local'
            ? await localRound(r, feds[0]!.mode)
            : await federatedRound(r, feds.find((f) => f.mode === mode)!);
        rounds.push(row);
        progress(
          `overhead: ${mode.padEnd(5)} round ${r}/${repeats}: ${row.roundSeconds.toFixed(2)} s (${STAGES.filter(
            (s) => row.stages[s] > 0,
          )
            .map((s) => `${s} ${row.stages[s].toFixed(2)}`)
            .join(', ')})`,
        );
      }
      if ((performance.now() - started) / 1000 > budget && r < repeats) {
        progress(`overhead: time budget of ${budget} s reached after ${r} repeat(s)`);
        break;
      }
    }
  } finally {
    for (const p of parts) {
      for (const l of Object.values(p.links)) {
        l.conn.close();
        await l.enc.close().catch(() => {});
        await l.proxy.close().catch(() => {});
      }
    }
    for (const f of feds) {
      await f.agg.close().catch(() => {});
      await dropSchema(env.databaseUrl, f.schema).catch(() => {});
      await deleteRedisPrefix(f.redisPrefix, env.redisUrl).catch(() => {});
    }
    rmSync(work, { recursive: true, force: true });
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
      `${N} participants run concurrently in one process on this machine (as kpfl demo does with processes): training shares the main thread, HE encoders use their own worker threads.`,
      'Modes are interleaved and their order rotates every repeat; one untimed warm-up training batch and encode come first.',
      'upload is client-observed and includes the aggregator verifying the attestation, storing the update in Postgres and folding it, all before the receipt; aggregate = last receipt -> round published.',
      'Round time excludes the untimed evaluation each participant reports after the round.',
      'Wire bytes are counted by a TCP relay per participant: TLS records, HTTP/2 and gRPC framing, authentication and GetTask calls included.',
    ],
  };

  async function startFederation(
    mode: 'plain' | 'he',
    coordinator: CoordinatorKitLike,
  ): Promise<ModeFederation> {
    const schema = `bench_${id}_${mode}`;
    const redisPrefix = `kpfl-bench:${id}:${mode}`;
    const agg = await startLocalAggregator(coordinator, {
      schema,
      ownerDatabaseUrl: env.databaseUrl ?? DEFAULT_DATABASE_URL,
      insecure: !tls,
      actor: 'operator:bench',
      redisPrefix,
      redisUrl: env.redisUrl,
      log: createLogger('aggregator', { file: join(work, `aggregator-${mode}.log`) }),
    });
    const plan = await schedulePlan(agg.db, agg.queue, {
      id: `${federation}-${mode}`,
      federation,
      rounds: repeats,
      minParticipants: N,
      fraction: 1,
      deadlineSeconds: 3600,
      mode,
      heParams,
      parameterCount: P,
      training,
      seed,
      initialModelDigest: weightsDigest(initialWeights(model, seed)),
    });
    return { mode, agg, schema, redisPrefix, planId: plan.id };
  }

  async function evaluateAndReport(p: BenchParticipant, f: ModeFederation, round: number): Promise<number> {
    const s = p.state[f.mode]!;
    const ev = await evaluate({
      model,
      weights: s.weights,
      images: p.data.testFeatures,
      labels: p.data.testLabels,
      pixels: p.data.perExample,
    });
    const res = await p.links[f.mode]!.conn.reportEvaluation({
      round,
      globalModelDigest: s.digest,
      accuracy: ev.accuracy,
      loss: ev.loss,
      examples: ev.examples,
    });
    if (!res.digestAgrees) {
      throw new Error(`${p.memberId} (${f.mode}): global model digest disagrees after round ${round}`);
    }
    return ev.accuracy;
  }

  function trainConfig(round: number) {
    return {
      model,
      epochs,
      batchSize,
      lr,
      seed: seed * 1000 + round,
      proxMu: 0,
      maxExamples: maxExamples || undefined,
    };
  }

  async function localRound(r: number, from: 'plain' | 'he'): Promise<OverheadRound> {
    const per = parts.map(() => zeroStages());
    const t0 = performance.now();
    await Promise.all(
      parts.map(async (p, i) => {
        const t = performance.now();
        await trainLocal({
          // The same start point and seed as this participant's federated round r.
          config: trainConfig(r),
          weights: p.state[from]!.startedRound === r ? p.state[from]!.weightsBefore! : p.state[from]!.weights,
          images: p.data.trainFeatures,
          labels: p.data.trainLabels,
          indices: p.data.trainIndices,
          pixels: p.data.perExample,
        });
        per[i]!.train = (performance.now() - t) / 1000;
      }),
    );
    const roundSeconds = (performance.now() - t0) / 1000;
    return {
      mode: 'local',
      repeat: r,
      roundSeconds,
      stages: meanStages(per),
      perParticipant: per,
      authSeconds: 0,
      foldSecondsPerUpdate: 0,
      publishSeconds: 0,
      wireBytesUp: 0,
      wireBytesDown: 0,
      updateBytes: 0,
      aggregateBytes: 0,
    };
  }

  async function federatedRound(r: number, f: ModeFederation): Promise<OverheadRound> {
    const { agg, planId, mode } = f;
    // Untimed: the round is open and its base model agreed.
    const until = Date.now() + 60_000;
    for (;;) {
      const row = await getRound(agg.db, planId, r);
      if (row && (row.state === 'open' || row.state === 'collecting')) break;
      if (Date.now() > until) throw new Error(`${mode}: round ${r} did not open within 60 s`);
      await sleep(20);
    }
    const per = parts.map(() => zeroStages());
    const auth = parts.map(() => 0);
    const chunksOf: Uint8Array[][] = [];
    const receiptAt: number[] = [];
    const attestationDigests: string[] = [];
    const wire0 = parts.map((p) => p.links[mode]!.proxy.snapshot());
    const publish0 = await aggregationSecondsSum(agg);
    const t0 = performance.now();
    await Promise.all(
      parts.map(async (p, i) => {
        const { conn, enc } = p.links[mode]!;
        const s = p.state[mode]!;
        const task = await waitTrainTask(conn, r);
        if (task.baseModelDigest !== s.digest) {
          throw new Error(
            `${p.memberId} (${mode}): round ${r} starts from ${task.baseModelDigest}, holds ${s.digest}`,
          );
        }
        s.weightsBefore = s.weights;
        s.startedRound = r;
        let t = performance.now();
        const trained = await trainLocal({
          config: trainConfig(r),
          weights: s.weights,
          images: p.data.trainFeatures,
          labels: p.data.trainLabels,
          indices: p.data.trainIndices,
          pixels: p.data.perExample,
        });
        per[i]!.train = (performance.now() - t) / 1000;
        const n = trained.examples;
        const values = new Float64Array(P + 1);
        for (let k = 0; k < P; k++) values[k] = n * (trained.weights[k]! - s.weights[k]!);
        values[P] = n;
        t = performance.now();
        const chunks = await enc.encode(values);
        per[i]!.encrypt = (performance.now() - t) / 1000;
        chunksOf[i] = chunks;
        t = performance.now();
        const attestation = await signAttestation(p.identity, {
          iss: p.memberId,
          federation,
          round: r,
          baseModelDigest: s.digest,
          updateDigest: digestOf(concat(chunks)),
          exampleCount: n,
          dataCommitment: p.data.commitment,
          chunkCount: chunks.length,
          mode,
          ...(mode === 'he' && task.keyEpoch ? { keyEpoch: task.keyEpoch } : {}),
          training: { model, epochs, batchSize, lr, proxMu: 0 },
          metrics: { loss: trained.loss },
        });
        // As a real participant does: a fresh session token naming the round being submitted to.
        const ta = performance.now();
        await conn.authenticate();
        auth[i] = (performance.now() - ta) / 1000;
        const receipt = await conn.submitUpdate(
          { round: r, attestation, totalBytes: chunks.reduce((a, c) => a + c.byteLength, 0) },
          chunks,
        );
        attestationDigests[i] = receipt.attestationDigest;
        receiptAt[i] = performance.now();
        per[i]!.upload = (receiptAt[i]! - t) / 1000;
      }),
    );
    const lastReceipt = Math.max(...receiptAt);
    for (;;) {
      const row = await getRound(agg.db, planId, r);
      if (row?.state === 'published') break;
      if (row?.state === 'failed') throw new Error(`${mode}: round ${r} failed: ${row.failure_reason}`);
      await sleep(5);
    }
    const aggregate = (performance.now() - lastReceipt) / 1000;
    let aggregateBytes = 0;
    await Promise.all(
      parts.map(async (p, i) => {
        const { conn, enc } = p.links[mode]!;
        const s = p.state[mode]!;
        let t = performance.now();
        const { chunks } = await conn.downloadAggregate(r);
        per[i]!.download = (performance.now() - t) / 1000;
        aggregateBytes = chunks.reduce((a, c) => a + c.byteLength, 0);
        t = performance.now();
        const sum = await enc.decode(chunks, P + 1);
        const total = sum[P]!;
        const avg = new Float64Array(P);
        for (let k = 0; k < P; k++) avg[k] = sum[k]! / total;
        s.weights = strategy.step(s.optimizer, s.weights, avg);
        s.digest = weightsDigest(s.weights);
        per[i]!.decrypt = (performance.now() - t) / 1000;
        per[i]!.aggregate = aggregate;
      }),
    );
    const roundSeconds = (performance.now() - t0) / 1000;
    const wire1 = parts.map((p) => p.links[mode]!.proxy.snapshot());
    const publishSeconds = (await aggregationSecondsSum(agg)) - publish0;
    // Untimed: the aggregator's fold, re-measured on the exact update bytes of this round.
    const acc = await createAccumulator({
      mode,
      paramsName: heParams,
      chunkCount: chunksOf[0]!.length,
    });
    let foldTotal = 0;
    try {
      for (const chunks of chunksOf) {
        const t = performance.now();
        await acc.add(chunks);
        foldTotal += (performance.now() - t) / 1000;
      }
    } finally {
      acc.dispose();
    }
    // Untimed: each contributor countersigns with the digest it computed (their majority agrees the
    // next round's base model, ADR 0007), then evaluates and reports.
    await Promise.all(
      parts.map(async (p, i) => {
        const { conn } = p.links[mode]!;
        const { certificateJson } = await conn.getRoundCertificate(r);
        const signed = await countersignRoundCertificate(
          parseStrictJson(certificateJson, 'CERTIFICATE_INVALID', 'round certificate') as GeneralJWS,
          p.identity,
          p.memberId,
          attestationDigests[i]!,
          p.coordinatorJwks,
          { modelDigest: p.state[mode]!.digest },
        );
        await conn.countersign(r, JSON.stringify(signed));
      }),
    );
    const accs = await Promise.all(parts.map((p) => evaluateAndReport(p, f, r)));
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    return {
      mode,
      repeat: r,
      roundSeconds,
      stages: meanStages(per),
      perParticipant: per,
      authSeconds: mean(auth),
      foldSecondsPerUpdate: foldTotal / chunksOf.length,
      publishSeconds,
      wireBytesUp: mean(wire1.map((w, i) => w.up - wire0[i]!.up)),
      wireBytesDown: mean(wire1.map((w, i) => w.down - wire0[i]!.down)),
      updateBytes: mean(chunksOf.map((c) => c.reduce((a, x) => a + x.byteLength, 0))),
      aggregateBytes,
      accuracy: mean(accs),
    };
  }
}

function meanStages(per: StageTimes[]): StageTimes {
  const out = zeroStages();
  for (const s of STAGES) out[s] = per.reduce((a, p) => a + p[s], 0) / Math.max(1, per.length);
  return out;
}

async function waitTrainTask(conn: AggregatorConnection, round: number) {
  const until = Date.now() + 60_000;
  for (;;) {
    const task = await conn.getTask(round - 1);
    if (task.kind === 'TASK_KIND_TRAIN' && task.round === round && task.baseModelDigest) return task;
    if (Date.now() > until)
      throw new Error(`no train task for round ${round} within 60 s (last: ${task.kind})`);
    await sleep(20);
  }
}

async function aggregationSecondsSum(agg: RunningAggregator): Promise<number> {
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
