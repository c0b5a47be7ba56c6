import { type ConsortiumKey, createEncoder, paramsForMode, type UpdateEncoder } from '@kpfl/he';
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
import type { Receipt__Output, Task__Output } from '@kpfl/proto';
import { maskUpdate } from '@kpfl/secagg';
import pino from 'pino';
import { AggregatorConnection, type ClientTls } from './client.js';
import { SecureRounds } from './secure-round.js';

/**
 * The training settings of a plan whose participants are simulated: they train nothing, so these
 * only have to be valid, and they are what each attestation then names. One value for the scale
 * benchmark and the tests, so their plans cannot drift apart.
 */
export const SIMULATED_TRAINING = Object.freeze({
  model: 'mlp',
  localEpochs: 1,
  batchSize: 10,
  learningRate: 0.1,
  proxMu: 0,
  serverOptimizer: 'fedavg',
  maxExamples: 0,
});

/**
 * A participant without training: it submits a given update vector (or given raw chunks) for a
 * round with a real session token, attestation and real ciphertexts. Used by the scale benchmark
 * and by tests that need precise control over what is sent.
 */
export class SimulatedParticipant {
  readonly conn: AggregatorConnection;

  constructor(
    readonly o: {
      federation: string;
      memberId: string;
      identity: IdentityKey;
      coordinatorJwks?: JSONWebKeySet;
      address: string;
      tls?: ClientTls;
      log?: pino.Logger;
    },
  ) {
    this.conn = new AggregatorConnection({
      address: o.address,
      memberId: o.memberId,
      identity: o.identity,
      tls: o.tls,
    });
  }

  /**
   * Secure rounds: this member's side of the key exchange (needs `coordinatorJwks` to verify the
   * unmask announcement). Made on first use.
   */
  get secure(): SecureRounds {
    if (!this.secureRounds) {
      if (!this.o.coordinatorJwks) throw new Error(`${this.o.memberId}: secure rounds need coordinatorJwks`);
      this.secureRounds = new SecureRounds({
        conn: this.conn,
        identity: this.o.identity,
        memberId: this.o.memberId,
        federation: this.o.federation,
        coordinatorJwks: this.o.coordinatorJwks,
        log: this.o.log ?? pino({ level: 'silent' }),
      });
    }
    return this.secureRounds;
  }

  private secureRounds?: SecureRounds;

  /** Waits until the aggregator offers this member a task of `kind` (and secure phase), bounded. */
  async waitForTask(
    kind: Task__Output['kind'],
    opts: { securePhase?: string; timeoutMs?: number } = {},
  ): Promise<Task__Output> {
    const timeoutMs = opts.timeoutMs ?? 30_000;
    const until = Date.now() + timeoutMs;
    for (;;) {
      const task = await this.conn.getTask(0);
      if (task.kind === kind && (opts.securePhase === undefined || task.securePhase === opts.securePhase))
        return task;
      if (Date.now() > until)
        throw new Error(
          `${this.o.memberId}: no ${kind} ${opts.securePhase ?? ''} task within ${timeoutMs} ms (last: ${task.kind} ${task.securePhase})`,
        );
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /**
   * Secure rounds: masks `quantized` (integers mod t, from quantizeUpdate) with this member's round
   * masks, encrypts and submits it with an attestation naming its advertisement.
   */
  async submitMasked(
    task: Task__Output,
    quantized: Float64Array,
    encoder: UpdateEncoder,
    exampleCount: number,
  ): Promise<Receipt__Output> {
    const masks = await this.secure.masksFor(task);
    const masked = maskUpdate(quantized, paramsForMode('secure', task.heParams).plainModulus, masks);
    return this.submitChunks(task, await encoder.encode(masked), exampleCount, {
      advertisementDigest: masks.advertisementDigest,
    });
  }

  /** Waits until the aggregator offers this member a TRAIN task (bounded). */
  async waitForTrainTask(timeoutMs = 30_000): Promise<Task__Output> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const task = await this.conn.getTask(0);
      if (task.kind === 'TASK_KIND_TRAIN' && task.baseModelDigest) return task;
      if (Date.now() > until)
        throw new Error(`${this.o.memberId}: no train task within ${timeoutMs} ms (last: ${task.kind})`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Encodes `values` (pre-weighted update + count in the trailing slot) and submits them. */
  async submitValues(task: Task__Output, values: Float64Array, encoder: UpdateEncoder, exampleCount: number) {
    return this.submitChunks(task, await encoder.encode(values), exampleCount);
  }

  /** Submits exactly these chunks with an honest attestation over them (unless overridden). */
  async submitChunks(
    task: Task__Output,
    chunks: Uint8Array[],
    exampleCount: number,
    override: Partial<Parameters<typeof signAttestation>[1]> = {},
    opts: { reauthenticate?: boolean } = {},
  ): Promise<Receipt__Output> {
    const attestation = await signAttestation(this.o.identity, {
      iss: this.o.memberId,
      federation: this.o.federation,
      round: task.round,
      baseModelDigest: task.baseModelDigest,
      updateDigest: digestOf(concat(chunks)),
      exampleCount,
      dataCommitment: digestOf(`simulated:${this.o.memberId}`),
      chunkCount: chunks.length,
      mode: task.mode as 'he' | 'plain' | 'secure',
      // HE and secure: the key epoch the round runs under (what the update is encrypted with).
      ...(task.mode !== 'plain' && task.keyEpoch ? { keyEpoch: task.keyEpoch } : {}),
      // The plan's training configuration: the attestation schema requires positive values.
      training: {
        model: task.training?.model || 'mlp',
        epochs: task.training?.localEpochs || 1,
        batchSize: task.training?.batchSize || 1,
        lr: task.training?.learningRate || 0.1,
      },
      ...override,
    });
    const totalBytes = chunks.reduce((a, c) => a + c.byteLength, 0);
    // Like a real participant: a session token naming this round.
    if (opts.reauthenticate !== false) await this.conn.authenticate();
    return this.conn.submitUpdate({ round: task.round, attestation, totalBytes }, chunks);
  }

  /**
   * Countersigns round `round`'s certificate with a verdict (ADR 0007): the digest of the global
   * model this member says the round gives, or its rejection. `attestationDigest` is the one its
   * receipt named. Needs `coordinatorJwks`.
   */
  async countersign(round: number, attestationDigest: string, verdict: CountersignVerdict) {
    if (!this.o.coordinatorJwks) throw new Error(`${this.o.memberId}: countersigning needs coordinatorJwks`);
    const { certificateJson } = await this.conn.getRoundCertificate(round);
    const signed = await countersignRoundCertificate(
      parseStrictJson(certificateJson, 'CERTIFICATE_INVALID', 'the round certificate') as GeneralJWS,
      this.o.identity,
      this.o.memberId,
      attestationDigest,
      this.o.coordinatorJwks,
      verdict,
    );
    return this.conn.countersign(round, JSON.stringify(signed));
  }

  close(): void {
    this.conn.close();
  }
}

/** An encoder for simulated participants: he or secure with the consortium key, or plain. */
export function simulatedEncoder(
  mode: 'he' | 'plain' | 'secure',
  key?: ConsortiumKey,
  workers?: number,
): Promise<UpdateEncoder> {
  return mode === 'plain' ? createEncoder({ mode: 'plain' }) : createEncoder({ mode, key: key!, workers });
}

export function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((a, c) => a + c.byteLength, 0));
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.byteLength;
  }
  return out;
}
