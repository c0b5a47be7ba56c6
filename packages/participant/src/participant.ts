import {
  type ConsortiumKey,
  createEncoder,
  dequantizeSum,
  HeInputError,
  paramsForMode,
  quantizeUpdate,
  type UpdateEncoder,
} from '@kpfl/he';
import {
  type CountersignVerdict,
  countersignRoundCertificate,
  digestOf,
  type GeneralJWS,
  type IdentityKey,
  type JSONWebKeySet,
  parseStrictJson,
  signAttestation,
} from '@kpfl/kpt';
import { initialWeights, type ModelName, weightsDigest } from '@kpfl/model';
import type { Task__Output } from '@kpfl/proto';
import { maskUpdate } from '@kpfl/secagg';
import { cloneState, type StrategyState, strategyFromSpec } from '@kpfl/strategy';
import type pino from 'pino';
import type { FitResult, ParticipantApp, ParticipantHooks, RoundReport, StageTiming } from './app.js';
import { AggregatorConnection, AggregatorError, type ClientTls, isRetryable } from './client.js';
import type { MemberKeys } from './he-keys.js';
import { SecureRounds } from './secure-round.js';
import { concat } from './simulated.js';

export interface ParticipantOptions {
  federation: string;
  memberId: string;
  identity: IdentityKey;
  /** The coordinator's public keys (from the member kit): certificates and receipts are checked against them. */
  coordinatorJwks: JSONWebKeySet;
  address: string;
  tls?: ClientTls;
  /** Members only: the key for plans in he mode when no `heKeys` is given (epoch 1, `kpfl provision`). */
  consortiumKey?: ConsortiumKey;
  /**
   * The member's keys per epoch: made when the federation's epoch is pending, fetched when this
   * member lacks the round's epoch, delivered to members that lack one. Needs `conn`-compatible
   * options; built by the caller (see `kpfl participant`).
   */
  heKeys?: (conn: AggregatorConnection) => MemberKeys;
  /** The member's training and evaluation: `tfjsApp(localData)` for the built-in trainer. */
  app: ParticipantApp;
  hooks?: ParticipantHooks;
  log: pino.Logger;
  /** Stop after this long without any progress (ms); default: never. */
  idleTimeoutMs?: number;
  signal?: AbortSignal;
}

interface GlobalState {
  planId: string;
  model: ModelName;
  applied: number;
  weights: Float32Array;
  optimizer: StrategyState;
  digest: string;
}

/** What a published aggregate would make of the global model, before its contributors decide. */
type Candidate =
  | { kind: 'model'; weights: Float32Array; optimizer: StrategyState; digest: string }
  | { kind: 'rejected'; reason: string };

/** Relative slack on the norm bound: CKKS adds noise of about 1e-8 per slot, far below this. */
const NORM_SLACK = 1e-4;

/** Waits `ms`, or until `signal` aborts; either way its abort listener is removed (the loop sleeps often). */
const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
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

  const keys = o.heKeys?.(conn);
  const secure = new SecureRounds({
    conn,
    identity: o.identity,
    memberId: o.memberId,
    federation: o.federation,
    coordinatorJwks: o.coordinatorJwks,
    log,
  });
  let lastKeySync = 0;
  /** Between rounds: make a pending epoch's key, fetch the current one, deliver it to newcomers. */
  const syncKeys = async (heParams?: string) => {
    if (!keys || Date.now() - lastKeySync < 2000) return;
    lastKeySync = Date.now();
    try {
      await keys.sync(heParams);
    } catch (err) {
      if (isRetryable(err)) throw err;
      // No epoch yet and no he plan to start one for: nothing to sync.
      if (
        err instanceof AggregatorError &&
        err.codeName === 'NOT_FOUND' &&
        /no HE key epoch yet/.test(err.message)
      )
        return;
      log.warn({ err: (err as Error).message, event: 'key.sync_failed' }, 'could not sync the HE key');
    }
  };

  /** The encoder of a round: in he mode, with the key of the round's epoch (0: a round before epochs). */
  const ensureEncoder = async (task: Task__Output, keyEpoch: number) => {
    const key = `${task.mode}:${task.heParams}:${task.mode !== 'plain' ? keyEpoch : 0}`;
    if (encoder && encoderKey === key) return encoder;
    await encoder?.close();
    encoder = undefined;
    if (task.mode === 'he' || task.mode === 'secure') {
      const consortiumKey = keys ? await keys.keyFor(keyEpoch || 1) : o.consortiumKey;
      if (!consortiumKey)
        throw new Error(
          `this plan runs in ${task.mode} mode but no consortium key was given (--he-key from your member kit)`,
        );
      if (consortiumKey.paramsName !== task.heParams) {
        throw new Error(
          `the consortium key is for ${consortiumKey.paramsName}, the plan uses ${task.heParams}`,
        );
      }
      encoder = await createEncoder({ mode: task.mode, key: consortiumKey });
    } else {
      encoder = await createEncoder({ mode: 'plain' });
    }
    encoderKey = key;
    return encoder;
  };

  /** Runs one stage of a round and reports its duration (and payload bytes) to the hooks. */
  const timed = async <T>(
    round: number,
    stage: StageTiming['stage'],
    run: () => Promise<T>,
    bytes?: (r: T) => number,
  ): Promise<T> => {
    const started = performance.now();
    const r = await run();
    const seconds = (performance.now() - started) / 1000;
    o.hooks?.onStage?.({ round, stage, seconds, ...(bytes ? { bytes: bytes(r) } : {}) });
    return r;
  };

  const evaluateAndReport = async (s: GlobalState, round: number) => {
    const ev = await timed(round, 'evaluate', () => o.app.evaluate(s.weights, s.model));
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
    await o.hooks?.onRoundEnd?.(report, { model: s.model, weights: s.weights });
    log.info(
      { round, accuracy: ev.accuracy, loss: ev.loss, digest: s.digest, event: 'round.applied' },
      'global model updated',
    );
  };

  const startPlan = async (task: Task__Output) => {
    const model = task.training!.model as ModelName;
    const sel = await o.app.prepare?.(model);
    if (sel) {
      backend = sel.backend;
      log.info(
        { backend: sel.backend, skipped: sel.skipped, event: 'backend.selected' },
        `tfjs backend: ${sel.backend}`,
      );
    }
    const weights = initialWeights(model, task.seed);
    if (weights.length !== Number(task.parameterCount)) {
      throw new Error(
        `model ${model} has ${weights.length} parameters, the plan expects ${task.parameterCount}`,
      );
    }
    const strategy = strategyFromSpec(task.training!.serverOptimizer || 'fedavg');
    state = {
      planId: task.planId,
      model,
      applied: 0,
      weights,
      optimizer: strategy.initState(weights.length),
      digest: weightsDigest(weights),
    };
    contributedRounds.clear();
    log.info(
      { plan: task.planId, model, seed: task.seed, initialModelDigest: state.digest, event: 'plan.started' },
      'initial model built',
    );
    if (task.initialModelDigest && task.initialModelDigest !== state.digest) {
      throw new Error(
        `plan ${task.planId} starts from the initial model ${task.initialModelDigest}, but model ${model} with seed ${task.seed} gives ${state.digest} here: this participant runs another version of the model`,
      );
    }
    await evaluateAndReport(state, 0);
  };

  /**
   * Decrypts round `round`'s aggregate and computes the model it would give, without applying it.
   * An aggregate that does not decrypt in range (an HeInputError: overflowed sums, ciphertexts under
   * another key, garbage), a count slot that is not a positive whole number, a mean update longer
   * than the plan's bound or a model that would not be finite is a rejection, never a crash.
   */
  const candidateOf = async (task: Task__Output, round: number): Promise<Candidate> => {
    const s = state!;
    const { chunks, keyEpoch } = await timed(
      round,
      'download',
      () => conn.downloadAggregate(round),
      (r) => byteLength(r.chunks),
    );
    const enc = await ensureEncoder(task, keyEpoch);
    const length = s.weights.length + 1;
    let sum: Float64Array;
    try {
      sum = await timed(round, 'decode', async () => {
        const decoded = await enc.decode(chunks, length);
        // Secure mode: the exact sum mod t, back to the pre-weighted float sum and the count.
        return task.mode === 'secure' ? dequantizeSum(decoded, task.heParams) : decoded;
      });
    } catch (err) {
      if (!(err instanceof HeInputError)) throw err;
      return { kind: 'rejected', reason: `the aggregate does not decrypt in range: ${err.message}` };
    }
    const total = sum[length - 1]!;
    if (!(Number.isFinite(total) && total > 0.5 && Math.abs(total - Math.round(total)) < 0.01)) {
      return {
        kind: 'rejected',
        reason: `the aggregate's example count ${total} is not a positive whole number: it does not decrypt in range`,
      };
    }
    const avgDelta = new Float64Array(s.weights.length);
    let squares = 0;
    for (let i = 0; i < avgDelta.length; i++) {
      avgDelta[i] = sum[i]! / total;
      squares += avgDelta[i]! * avgDelta[i]!;
    }
    const norm = Math.sqrt(squares);
    if (!Number.isFinite(norm)) {
      return { kind: 'rejected', reason: 'the mean update is not finite: it does not decrypt in range' };
    }
    const bound = task.maxUpdateNorm;
    if (bound > 0 && norm > bound * (1 + NORM_SLACK)) {
      return {
        kind: 'rejected',
        reason: `the mean update's L2 norm ${norm.toPrecision(6)} exceeds the plan's bound ${bound}`,
      };
    }
    // The plan's strategy steps a copy: the state advances only once the contributors agree.
    const optimizer = cloneState(s.optimizer);
    const weights = strategyFromSpec(task.training!.serverOptimizer || 'fedavg').step(
      optimizer,
      s.weights,
      avgDelta,
    );
    if (!weights.every(Number.isFinite)) {
      return { kind: 'rejected', reason: 'the global model after this round would not be finite' };
    }
    return { kind: 'model', weights, optimizer, digest: weightsDigest(weights) };
  };

  /**
   * Waits until round `round` is decided (ADR 0007): the digest a majority of its contributors
   * signed, or 'rejected' when they rejected it. Undefined when the participant is stopped.
   */
  const outcomeOf = async (round: number): Promise<string | undefined> => {
    for (;;) {
      const t = await conn.getTask(round - 1);
      if (t.failedRounds.includes(round)) return 'rejected';
      if (t.nextModelDigest) return t.nextModelDigest;
      if (o.signal?.aborted) return undefined;
      if (o.idleTimeoutMs && Date.now() - lastProgress > o.idleTimeoutMs) {
        throw new Error(
          `no progress for ${Math.round(o.idleTimeoutMs / 1000)} s: round ${round}'s contributors have not agreed on its model`,
        );
      }
      await sleep(t.retryAfterMs || 500, o.signal);
    }
  };

  const applyRound = async (task: Task__Output, round: number) => {
    const s = state!;
    o.hooks?.onRoundStart?.({ round, kind: 'apply' });
    if (!task.failedRounds.includes(round)) {
      const candidate = await candidateOf(task, round);
      if (contributedRounds.has(round)) {
        await countersign(
          round,
          candidate.kind === 'model' ? { modelDigest: candidate.digest } : { rejected: candidate.reason },
        );
      }
      if (candidate.kind === 'rejected') {
        log.warn({ round, reason: candidate.reason, event: 'round.rejecting' }, 'rejecting the round');
      }
      const outcome = await outcomeOf(round);
      if (outcome === undefined) return;
      if (outcome === 'rejected') {
        log.warn(
          { round, event: 'round.rejected' },
          `round ${round} was rejected by its contributors: nothing of it is applied`,
        );
      } else if (candidate.kind === 'model' && candidate.digest === outcome) {
        s.weights = candidate.weights;
        s.optimizer = candidate.optimizer;
        s.digest = candidate.digest;
      } else {
        throw new Error(
          candidate.kind === 'model'
            ? `global model after round ${round} has digest ${candidate.digest}, the round's contributors agreed on ${outcome}`
            : `this participant rejects round ${round} (${candidate.reason}), but its contributors agreed on ${outcome}`,
        );
      }
    }
    s.applied = round;
    secure.forget(s.planId, round);
    await evaluateAndReport(s, round);
  };

  /**
   * Signs the round certificate with this member's verdict. A refusal to sign (the certificate does
   * not list this member's attestation) is logged and the round's other contributors decide; a
   * transient failure is retried with the whole round.
   */
  const countersign = async (round: number, verdict: CountersignVerdict) => {
    const mine = attestationDigests.get(round);
    if (!mine) return;
    try {
      const { certificateJson } = await conn.getRoundCertificate(round);
      const signed = await countersignRoundCertificate(
        parseStrictJson(certificateJson, 'CERTIFICATE_INVALID', 'the round certificate') as GeneralJWS,
        o.identity,
        o.memberId,
        mine,
        o.coordinatorJwks,
        verdict,
      );
      const res = await conn.countersign(round, JSON.stringify(signed));
      log.info(
        { round, signers: res.signers.length, ...verdict, event: 'certificate.countersigned' },
        'round certificate countersigned',
      );
    } catch (err) {
      if (isRetryable(err)) throw err;
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
    const receipt = await timed(
      p.round,
      'upload',
      () => conn.submitUpdate({ round: p.round, attestation: p.attestation, totalBytes: p.bytes }, p.chunks),
      () => p.bytes,
    );
    pending = undefined;
    contributedRounds.add(p.round);
    attestationDigests.set(p.round, receipt.attestationDigest);
    return receipt;
  };

  /**
   * The app's fit of a round, started at most once per round and base model. A secure round starts
   * it as soon as its key exchange begins, so advertising and sharing cost no training time.
   */
  type Fitted = FitResult & { seconds: number };
  let fitting: { round: number; base: string; result: Promise<Fitted> } | undefined;
  const fitFor = (task: Task__Output): Promise<Fitted> => {
    const s = state!;
    if (fitting?.round === task.round && fitting.base === s.digest) return fitting.result;
    const t = task.training!;
    o.hooks?.onRoundStart?.({ round: task.round, kind: 'train' });
    const started = performance.now();
    const result = o.app
      .fit(s.weights, {
        round: task.round,
        model: s.model,
        epochs: t.localEpochs,
        batchSize: t.batchSize,
        lr: t.learningRate,
        proxMu: t.proxMu,
        maxExamples: t.maxExamples || undefined,
        seed: task.seed * 1000 + task.round,
      })
      .then((r) => {
        const seconds = (performance.now() - started) / 1000;
        o.hooks?.onStage?.({ round: task.round, stage: 'fit', seconds });
        return { ...checkFit(r, s.weights.length), seconds };
      });
    // Observed by train(); until then a failed fit must not be an unhandled rejection.
    result.catch(() => {});
    fitting = { round: task.round, base: s.digest, result };
    return result;
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
    const trained = await fitFor(task);
    fitting = undefined;
    const n = trained.examples;
    // The update, clipped to the plan's norm bound (the aggregator cannot check it under HE; the
    // members reject a round whose mean update is longer, so an honest update must never be).
    const delta = new Float64Array(s.weights.length);
    let squares = 0;
    for (let i = 0; i < delta.length; i++) {
      delta[i] = trained.weights[i]! - s.weights[i]!;
      squares += delta[i]! * delta[i]!;
    }
    const norm = Math.sqrt(squares);
    const bound = task.maxUpdateNorm;
    const clip = bound > 0 && norm > bound ? bound / norm : 1;
    if (clip < 1) {
      log.info(
        { round: task.round, norm, bound, event: 'update.clipped' },
        'update clipped to the plan bound',
      );
    }
    // Pre-weighted by the example count, count in the trailing slot: the aggregator only adds.
    let values: Float64Array = new Float64Array(s.weights.length + 1);
    for (let i = 0; i < delta.length; i++) values[i] = n * delta[i]! * clip;
    values[s.weights.length] = n;
    const enc = await ensureEncoder(task, task.keyEpoch);
    const encStart = performance.now();
    let advertisementDigest: string | undefined;
    const chunks = await timed(
      task.round,
      'encode',
      async () => {
        if (task.mode === 'secure') {
          // Fixed point mod t, then the masks: only the round's sum of all masked updates means anything.
          const masks = await secure.masksFor(task);
          advertisementDigest = masks.advertisementDigest;
          values = maskUpdate(
            quantizeUpdate(values, task.heParams, task.parties.length),
            paramsForMode('secure', task.heParams).plainModulus,
            masks,
          );
        }
        return enc.encode(values);
      },
      byteLength,
    );
    const encodeSeconds = (performance.now() - encStart) / 1000;
    const bytes = byteLength(chunks);
    const updateDigest = digestOf(concat(chunks));
    const attestation = await signAttestation(o.identity, {
      iss: o.memberId,
      federation: o.federation,
      round: task.round,
      baseModelDigest: s.digest,
      updateDigest,
      exampleCount: n,
      dataCommitment: o.app.dataCommitment,
      chunkCount: chunks.length,
      mode: task.mode as 'he' | 'plain' | 'secure',
      ...(task.mode !== 'plain' && task.keyEpoch ? { keyEpoch: task.keyEpoch } : {}),
      ...(advertisementDigest ? { advertisementDigest } : {}),
      training: {
        model: s.model,
        epochs: t.localEpochs,
        batchSize: t.batchSize,
        lr: t.learningRate,
        proxMu: t.proxMu,
      },
      metrics: { loss: trained.metrics.loss },
    });
    pending = { round: task.round, base: s.digest, attestation, chunks, bytes };
    const receipt = await submit(pending);
    log.info(
      {
        round: task.round,
        examples: n,
        loss: trained.metrics.loss,
        fitSeconds: trained.seconds,
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
        if (task.mode !== 'plain' || !task.planId)
          await syncKeys(task.mode !== 'plain' ? task.heParams : undefined);
        if (task.planId && (!state || state.planId !== task.planId)) {
          await startPlan(task);
          lastProgress = Date.now();
        }
        if (state) {
          while (state.applied < task.latestPublishedRound && !o.signal?.aborted) {
            await applyRound(task, state.applied + 1);
            lastProgress = Date.now();
          }
        }
        if (task.kind === 'TASK_KIND_SECURE_STEP' && state && task.round === state.applied + 1) {
          // Training needs only the base model: it runs while the keys are exchanged.
          if (task.securePhase !== 'unmask') void fitFor(task);
          await secure.step(task);
          lastProgress = Date.now();
          continue;
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

const byteLength = (chunks: Uint8Array[]) => chunks.reduce((a, c) => a + c.byteLength, 0);

/** An app's fit result, checked before it is encrypted and signed: a bug there must not reach the round. */
function checkFit(r: FitResult, length: number): FitResult {
  if (!(r?.weights instanceof Float32Array) || r.weights.length !== length)
    throw new Error(
      `the participant app's fit returned ${r?.weights instanceof Float32Array ? `${r.weights.length} weights` : 'no Float32Array of weights'}, the model has ${length}`,
    );
  if (!Number.isSafeInteger(r.examples) || r.examples < 1)
    throw new Error(
      `the participant app's fit returned examples = ${r.examples}: it must be a whole number >= 1`,
    );
  if (!r.weights.every(Number.isFinite))
    throw new Error("the participant app's fit returned weights that are not all finite");
  if (!Number.isFinite(r.metrics?.loss))
    throw new Error(
      `the participant app's fit returned loss = ${r.metrics?.loss}: it must be a finite number`,
    );
  return r;
}

/** Refusals that resolve by themselves: the round closed while we trained, or the base digest is not agreed yet. */
function isRefusalToRetry(err: unknown): boolean {
  return (
    err instanceof AggregatorError &&
    (err.codeName === 'FAILED_PRECONDITION' || err.codeName === 'ALREADY_EXISTS')
  );
}
