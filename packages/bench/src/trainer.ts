/**
 * Runs the convergence simulation's client training and evaluation jobs, either on the calling thread
 * or on a pool of worker threads (one per core by default) so that both cores train clients in parallel.
 * Every job calls the real @kpfl/model trainLocal / evaluate, so the simulation trains exactly what a
 * participant trains.
 */
import { Worker } from 'node:worker_threads';
import {
  type BackendPreference,
  evaluate,
  type ImageDataset,
  loadIdxDataset,
  selectBackend,
  type TrainConfig,
  trainLocal,
} from '@kpfl/model';

export interface TrainJob {
  config: TrainConfig;
  weights: Float32Array;
  indices: Int32Array;
}

export interface TrainOutput {
  weights: Float32Array;
  examples: number;
  loss: number;
  seconds: number;
}

export interface EvalJob {
  model: string;
  weights: Float32Array;
  /** Indices into the test set. */
  indices: Int32Array;
}

export interface EvalOutput {
  accuracy: number;
  loss: number;
  examples: number;
}

export interface Trainer {
  readonly backend: string;
  readonly workers: number;
  train(job: TrainJob): Promise<TrainOutput>;
  evaluate(job: EvalJob): Promise<EvalOutput>;
  close(): Promise<void>;
}

export type WorkerRequest =
  | { type: 'init'; dataset: string; backend: BackendPreference; model: string }
  | ({ type: 'train'; id: number } & TrainJob)
  | ({ type: 'eval'; id: number } & EvalJob);

export type WorkerReply =
  | { type: 'ready'; backend: string }
  | ({ type: 'trained'; id: number } & TrainOutput)
  | ({ type: 'evaluated'; id: number } & EvalOutput)
  | { type: 'error'; id?: number; message: string };

/** What both the inline trainer and the worker do with a job. */
export async function runJob(
  ds: ImageDataset,
  msg: Extract<WorkerRequest, { type: 'train' | 'eval' }>,
): Promise<WorkerReply> {
  const pixels = ds.rows * ds.cols;
  if (msg.type === 'train') {
    const r = await trainLocal({
      config: msg.config,
      weights: msg.weights,
      images: ds.trainImages,
      labels: ds.trainLabels,
      indices: Array.from(msg.indices),
      pixels,
    });
    return { type: 'trained', id: msg.id, ...r };
  }
  const r = await evaluate({
    model: msg.model,
    weights: msg.weights,
    images: ds.testImages,
    labels: ds.testLabels,
    pixels,
    indices: Array.from(msg.indices),
  });
  return { type: 'evaluated', id: msg.id, ...r };
}

class InlineTrainer implements Trainer {
  readonly workers = 0;
  constructor(
    private readonly ds: ImageDataset,
    readonly backend: string,
  ) {}
  async train(job: TrainJob): Promise<TrainOutput> {
    const r = await runJob(this.ds, { type: 'train', id: 0, ...job });
    if (r.type !== 'trained') throw new Error(r.type === 'error' ? r.message : 'unexpected reply');
    return r;
  }
  async evaluate(job: EvalJob): Promise<EvalOutput> {
    const r = await runJob(this.ds, { type: 'eval', id: 0, ...job });
    if (r.type !== 'evaluated') throw new Error(r.type === 'error' ? r.message : 'unexpected reply');
    return r;
  }
  async close(): Promise<void> {}
}

function spawnWorker(): Worker {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return new Worker(new URL('./trainer-worker.js', here));
  // From TypeScript sources: --import tsx does not reach a worker's entry point on Node 20, so the
  // worker registers tsx itself before importing trainer-worker.ts (as @kpfl/he's pool does).
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const workerUrl = new URL('./trainer-worker.ts', here).href;
  const code = `import(${JSON.stringify(tsxApi)})
  .then((m) => { m.register(); return import(${JSON.stringify(workerUrl)}); })
  .catch((e) => { require('node:worker_threads').parentPort.postMessage({ type: 'error', message: String((e && e.stack) || e) }); });`;
  return new Worker(code, { eval: true });
}

interface Pending {
  msg: Extract<WorkerRequest, { type: 'train' | 'eval' }>;
  resolve: (r: WorkerReply) => void;
  reject: (e: Error) => void;
}

class PoolTrainer implements Trainer {
  private readonly idle: Worker[] = [];
  private readonly queue: Pending[] = [];
  private readonly inFlight = new Map<Worker, Pending>();
  private nextId = 1;
  private failure: Error | undefined;

  private constructor(
    private readonly all: Worker[],
    readonly backend: string,
  ) {
    this.idle.push(...all);
    for (const w of all) {
      w.on('message', (r: WorkerReply) => this.onReply(w, r));
      w.on('error', (e) => this.fail(w, e));
      w.on('exit', (code) => {
        if (this.inFlight.has(w)) this.fail(w, new Error(`trainer worker exited with code ${code}`));
      });
    }
  }

  get workers(): number {
    return this.all.length;
  }

  static async start(
    size: number,
    init: Extract<WorkerRequest, { type: 'init' }>,
    timeoutMs = 120_000,
  ): Promise<PoolTrainer> {
    const workers: Worker[] = [];
    try {
      const backends = await Promise.all(
        Array.from({ length: size }, () => {
          const w = spawnWorker();
          workers.push(w);
          return new Promise<string>((resolve, reject) => {
            const timer = setTimeout(
              () => reject(new Error(`trainer worker did not start within ${timeoutMs} ms`)),
              timeoutMs,
            );
            w.once('message', (r: WorkerReply) => {
              clearTimeout(timer);
              if (r.type === 'ready') resolve(r.backend);
              else
                reject(
                  new Error(`trainer worker failed to start: ${r.type === 'error' ? r.message : r.type}`),
                );
            });
            w.once('error', (e) => {
              clearTimeout(timer);
              reject(e);
            });
            w.postMessage(init);
          });
        }),
      );
      return new PoolTrainer(workers, backends[0]!);
    } catch (err) {
      await Promise.all(workers.map((w) => w.terminate()));
      throw err;
    }
  }

  private onReply(w: Worker, r: WorkerReply): void {
    const p = this.inFlight.get(w);
    if (!p) return;
    this.inFlight.delete(w);
    this.idle.push(w);
    if (r.type === 'error') p.reject(new Error(r.message));
    else p.resolve(r);
    this.pump();
  }

  private fail(w: Worker, e: Error): void {
    this.failure ??= e;
    const p = this.inFlight.get(w);
    this.inFlight.delete(w);
    p?.reject(e);
    for (const q of this.queue.splice(0)) q.reject(e);
  }

  private pump(): void {
    while (this.idle.length > 0 && this.queue.length > 0) {
      const w = this.idle.shift()!;
      const p = this.queue.shift()!;
      this.inFlight.set(w, p);
      w.postMessage(p.msg);
    }
  }

  private run(msg: Extract<WorkerRequest, { type: 'train' | 'eval' }>): Promise<WorkerReply> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.queue.push({ msg, resolve, reject });
      this.pump();
    });
  }

  async train(job: TrainJob): Promise<TrainOutput> {
    const r = await this.run({ type: 'train', id: this.nextId++, ...job });
    if (r.type !== 'trained') throw new Error(`unexpected reply ${r.type}`);
    return r;
  }

  async evaluate(job: EvalJob): Promise<EvalOutput> {
    const r = await this.run({ type: 'eval', id: this.nextId++, ...job });
    if (r.type !== 'evaluated') throw new Error(`unexpected reply ${r.type}`);
    return r;
  }

  async close(): Promise<void> {
    await Promise.all(this.all.map((w) => w.terminate()));
  }
}

/**
 * Starts a trainer: `workers` = 0 trains on the calling thread (blocking its event loop between the
 * batch yields), otherwise a pool of worker threads, each holding its own copy of the dataset and its
 * own tfjs backend.
 */
export async function startTrainer(o: {
  dataset: string;
  ds?: ImageDataset;
  workers: number;
  backend?: BackendPreference;
  model: string;
}): Promise<Trainer> {
  const backend = o.backend ?? 'auto';
  if (o.workers <= 0) {
    const ds = o.ds ?? (await loadIdxDataset(o.dataset));
    const sel = await selectBackend(backend, o.model);
    return new InlineTrainer(ds, sel.backend);
  }
  return PoolTrainer.start(o.workers, { type: 'init', dataset: o.dataset, backend, model: o.model });
}
