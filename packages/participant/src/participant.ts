import { type ConsortiumKey, createEncoder, type UpdateEncoder } from '@kpfl/he';
import {
  countersignRoundCertificate,
  digestOf,
  type GeneralJWS,
  type IdentityKey,
  type JSONWebKeySet,
  parseStrictJson,
  signAttestation,
} from '@kpfl/kpt';
import {
  type BackendPreference,
  createServerState,
  evaluate,
  type ImageDataset,
  initialWeights,
  type ModelName,
  parseServerOptimizer,
  type ServerOptimizerState,
  selectBackend,
  serverStep,
  trainLocal,
  weightsDigest,
} from '@kpfl/model';
import type { Task__Output } from '@kpfl/proto';
import type pino from 'pino';
import { AggregatorConnection, AggregatorError, type ClientTls, isRetryable } from './client.js';
import type { LocalData } from './data.js';
import { concat } from './simulated.js';

export interface ParticipantOptions {
  federation: string;
  memberId: string;
  identity: IdentityKey;
  /** The coordinator's public keys (from the member kit): certificates and receipts are checked against them. */
  coordinatorJwks: JSONWebKeySet;
  address: string;
  tls?: ClientTls;
  /** Members only; required for plans in he mode. */
  consortiumKey?: ConsortiumKey;
  data: LocalData;
  backend?: BackendPreference;
  log: pino.Logger;
  /** Stop after this long without any progress (ms); default: never. */
  idleTimeoutMs?: number;
  /** Called after each round the participant applied, with its evaluation. */
  onRound?: (r: RoundReport) => void;
  signal?: AbortSignal;
}

export interface RoundReport {
  round: number;
  accuracy: number;
  loss: number;
  digest: string;
  contributed: boolean;
}

interface GlobalState {
  planId: string;
  model: ModelName;
  applied: number;
  weights: Float32Array;
  optimizer: ServerOptimizerState;
  digest: string;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    });
  });

/**
 * The participant loop: authenticate, ask for a task, apply every published aggregate in order
 * (decrypt, server step in plain JS numbers, evaluate, report), train when sampled, encrypt,
 * attest, submit. Transient aggregator failures are retried with backoff; the loop ends when the
 * plan is done.
 */
export async function runParticipant(
  o: ParticipantOptions,
): Promise<{ rounds: RoundReport[]; backend: string; weights?: Float32Array; digest?: string }> {
  const log = o.log;
  const conn = new AggregatorConnection({
    address: o.address,
    memberId: o.memberId,
    identity: o.identity,
    tls: o.tls,
  });
  const reports: RoundReport[] = [];
  const contributedRounds = new Set<number>();
  let state: GlobalState | undefined;
  let encoder: UpdateEncoder | undefined;
  let encoderKey = '';
  let backend = '';
  let lastProgress = Date.now();
  let failures = 0;

  const ensureEncoder = async (task: Task__Output) => {
    const key = `${task.mode}:${task.heParams}`;
    if (encoder && encoderKey === key) return encoder;
    await encoder?.close();
    if (task.mode === 'he') {
      if (!o.consortiumKey)
        throw new Error(
          'this plan runs in he mode but no consortium key was given (--he-key from your member kit)',
        );
      if (o.consortiumKey.paramsName !== task.heParams) {
        throw new Error(
          `the consortium key is for ${o.consortiumKey.paramsName}, the plan uses ${task.heParams}`,
        );
      }
      encoder = await createEncoder({ mode: 'he', key: o.consortiumKey });
    } else {
      encoder = await createEncoder({ mode: 'plain' });
    }
    encoderKey = key;
    return encoder;
  };

  const evaluateAndReport = async (s: GlobalState, round: number) => {
    const ev = await evaluate({
      model: s.model,
      weights: s.weights,
      images: o.data.testImages,
      labels: o.data.testLabels,
      pixels: o.data.pixels,
    });
    const res = await conn.reportEvaluation({
      round,
      globalModelDigest: s.digest,
      accuracy: ev.accuracy,
      loss: ev.loss,
      examples: ev.examples,
    });
    if (!res.digestAgrees) {
      throw new Error(
        `global model after round ${round} has digest ${s.digest}, the consortium agreed on ${res.expectedDigest}`,
      );
    }
    const report = {
      round,
      accuracy: ev.accuracy,
      loss: ev.loss,
      digest: s.digest,
      contributed: contributedRounds.has(round),
    };
    reports.push(report);
    o.onRound?.(report);
    log.info(
      { round, accuracy: ev.accuracy, loss: ev.loss, digest: s.digest, event: 'round.applied' },
      'global model updated',
    );
  };

  const startPlan = async (task: Task__Output) => {
    const model = task.training!.model as ModelName;
    const sel = await selectBackend(o.backend ?? 'auto', model);
    backend = sel.backend;
    log.info(
      { backend: sel.backend, skipped: sel.skipped, event: 'backend.selected' },
      `tfjs backend: ${sel.backend}`,
    );
    const weights = initialWeights(model, task.seed);
    if (weights.length !== Number(task.parameterCount)) {
      throw new Error(
        `model ${model} has ${weights.length} parameters, the plan expects ${task.parameterCount}`,
      );
    }
    const spec = parseServerOptimizer(task.training!.serverOptimizer || 'fedavg');
    state = {
      planId: task.planId,
      model,
      applied: 0,
      weights,
      optimizer: createServerState(spec, weights.length),
      digest: weightsDigest(weights),
    };
    contributedRounds.clear();
    await evaluateAndReport(state, 0);
  };

  const applyRound = async (task: Task__Output, round: number) => {
    const s = state!;
    if (!task.failedRounds.includes(round)) {
      const enc = await ensureEncoder(task);
      const { chunks } = await conn.downloadAggregate(round);
      const length = s.weights.length + 1;
      const sum = await enc.decode(chunks, length);
      const total = sum[length - 1]!;
      if (!(total > 0.5)) throw new Error(`aggregate of round ${round} carries no example count`);
      const avgDelta = new Float64Array(s.weights.length);
      for (let i = 0; i < avgDelta.length; i++) avgDelta[i] = sum[i]! / total;
      const spec = parseServerOptimizer(task.training!.serverOptimizer || 'fedavg');
      s.weights = serverStep(spec, s.optimizer, s.weights, avgDelta);
      s.digest = weightsDigest(s.weights);
    }
    s.applied = round;
    await evaluateAndReport(s, round);
    if (contributedRounds.has(round)) await countersign(round);
  };

  const countersign = async (round: number) => {
    try {
      const { certificateJson } = await conn.getRoundCertificate(round);
      const mine = attestationDigests.get(round);
      if (!mine) return;
      const signed = await countersignRoundCertificate(
        parseStrictJson(certificateJson, 'CERTIFICATE_INVALID', 'the round certificate') as GeneralJWS,
        o.identity,
        o.memberId,
        mine,
        o.coordinatorJwks,
      );
      const res = await conn.countersign(round, JSON.stringify(signed));
      log.info(
        { round, signers: res.signers.length, event: 'certificate.countersigned' },
        'round certificate countersigned',
      );
    } catch (err) {
      log.warn({ round, err: (err as Error).message }, 'could not countersign the round certificate');
    }
  };

  const attestationDigests = new Map<number, string>();

  // The last encoded update: after an aggregator crash the same bytes are resubmitted, not retrained.
  let pending:
    | { round: number; base: string; attestation: string; chunks: Uint8Array[]; bytes: number }
    | undefined;

  const submit = async (p: NonNullable<typeof pending>) => {
    // A fresh session token names the round being submitted to (the aggregator requires it).
    await conn.authenticate();
    const receipt = await conn.submitUpdate(
      { round: p.round, attestation: p.attestation, totalBytes: p.bytes },
      p.chunks,
    );
    pending = undefined;
    contributedRounds.add(p.round);
    attestationDigests.set(p.round, receipt.attestationDigest);
    return receipt;
  };

  const train = async (task: Task__Output) => {
    const s = state!;
    if (pending && pending.round === task.round && pending.base === s.digest) {
      const receipt = await submit(pending);
      log.info(
        { round: task.round, accepted: receipt.acceptedInRound, event: 'update.resubmitted' },
        'update accepted after retry',
      );
      return;
    }
    if (task.baseModelDigest && task.baseModelDigest !== s.digest) {
      throw new Error(
        `round ${task.round} starts from ${task.baseModelDigest}, this participant holds ${s.digest}`,
      );
    }
    const t = task.training!;
    const started = performance.now();
    const trained = await trainLocal({
      config: {
        model: s.model,
        epochs: t.localEpochs,
        batchSize: t.batchSize,
        lr: t.learningRate,
        seed: task.seed * 1000 + task.round,
        proxMu: t.proxMu,
        maxExamples: t.maxExamples || undefined,
      },
      weights: s.weights,
      images: o.data.trainImages,
      labels: o.data.trainLabels,
      indices: o.data.trainIndices,
      pixels: o.data.pixels,
    });
    const n = trained.examples;
    // Pre-weighted by the example count, count in the trailing slot: the aggregator only adds.
    const values = new Float64Array(s.weights.length + 1);
    for (let i = 0; i < s.weights.length; i++) values[i] = n * (trained.weights[i]! - s.weights[i]!);
    values[s.weights.length] = n;
    const enc = await ensureEncoder(task);
    const encStart = performance.now();
    const chunks = await enc.encode(values);
    const encodeSeconds = (performance.now() - encStart) / 1000;
    const bytes = chunks.reduce((a, c) => a + c.byteLength, 0);
    const updateDigest = digestOf(concat(chunks));
    const attestation = await signAttestation(o.identity, {
      iss: o.memberId,
      federation: o.federation,
      round: task.round,
      baseModelDigest: s.digest,
      updateDigest,
      exampleCount: n,
      dataCommitment: o.data.commitment,
      chunkCount: chunks.length,
      mode: task.mode as 'he' | 'plain',
      training: {
        model: s.model,
        epochs: t.localEpochs,
        batchSize: t.batchSize,
        lr: t.learningRate,
        proxMu: t.proxMu,
      },
      metrics: { loss: trained.loss },
    });
    pending = { round: task.round, base: s.digest, attestation, chunks, bytes };
    const receipt = await submit(pending);
    log.info(
      {
        round: task.round,
        examples: n,
        loss: trained.loss,
        trainSeconds: trained.seconds,
        encodeSeconds,
        bytes,
        accepted: receipt.acceptedInRound,
        quorum: receipt.quorum,
        seconds: (performance.now() - started) / 1000,
        event: 'update.submitted',
      },
      'update accepted',
    );
  };

  try {
    while (!o.signal?.aborted) {
      try {
        const task = await conn.getTask(state?.applied ?? 0);
        failures = 0;
        if (task.planId && (!state || state.planId !== task.planId)) {
          await startPlan(task);
          lastProgress = Date.now();
        }
        if (state) {
          while (state.applied < task.latestPublishedRound) {
            await applyRound(task, state.applied + 1);
            lastProgress = Date.now();
          }
        }
        if (task.kind === 'TASK_KIND_TRAIN' && state && task.round === state.applied + 1) {
          await train(task);
          lastProgress = Date.now();
          continue;
        }
        if (task.kind === 'TASK_KIND_DONE' && state && state.applied >= task.latestPublishedRound) {
          log.info({ rounds: state.applied, event: 'plan.done' }, 'plan finished');
          break;
        }
        if (o.idleTimeoutMs && Date.now() - lastProgress > o.idleTimeoutMs) {
          throw new Error(`no progress for ${Math.round(o.idleTimeoutMs / 1000)} s`);
        }
        await sleep(task.retryAfterMs || 500, o.signal);
      } catch (err) {
        if (isRetryable(err) || isRefusalToRetry(err)) {
          failures++;
          const wait = Math.min(10_000, 250 * 2 ** Math.min(failures, 6));
          log.warn(
            { err: (err as Error).message, retryInMs: wait, attempt: failures },
            'aggregator call failed; retrying',
          );
          await sleep(wait, o.signal);
          continue;
        }
        throw err;
      }
    }
  } finally {
    await encoder?.close();
    conn.close();
  }
  return { rounds: reports, backend, weights: state?.weights, digest: state?.digest };
}

/** Refusals that resolve by themselves: the round closed while we trained, or the base digest is not agreed yet. */
function isRefusalToRetry(err: unknown): boolean {
  return (
    err instanceof AggregatorError &&
    (err.codeName === 'FAILED_PRECONDITION' || err.codeName === 'ALREADY_EXISTS')
  );
}

export type { ImageDataset };
