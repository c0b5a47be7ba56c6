/**
 * A small pool of HE worker threads. Each worker runs one task at a time; tasks queue in order.
 * Idle workers are unref'd so that a forgotten close() does not keep the process alive, and ref'd while
 * they work so that a pending encode does.
 */
import { type TransferListItem, Worker } from 'node:worker_threads';
import { fromErrorShape, HeError, type HeErrorShape } from './errors.js';
import type { WorkerRequest } from './worker.js';

type WorkerReply =
  | { type: 'ready' }
  | { type: 'chunks'; chunks: Uint8Array[] }
  | { type: 'values'; values: Float64Array }
  | { type: 'error'; error: HeErrorShape }
  | { type: 'boot-error'; message: string };

interface Task {
  msg: WorkerRequest;
  transfer: TransferListItem[];
  resolve: (reply: WorkerReply) => void;
  reject: (err: Error) => void;
}

interface Slot {
  worker: Worker;
  task: Task | null;
}

function spawn(): Worker {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return new Worker(new URL('./worker.js', here));
  // Running from TypeScript sources: --import tsx does not reach a worker's entry point on Node 20, so
  // the worker registers tsx itself before importing worker.ts.
  let tsxApi: string;
  try {
    tsxApi = import.meta.resolve('tsx/esm/api');
  } catch (err) {
    throw new HeError(
      'WORKER_FAILED',
      'running @kpfl/he from TypeScript sources needs tsx for its worker threads',
      {
        cause: err,
      },
    );
  }
  const workerUrl = new URL('./worker.ts', here).href;
  const code = `import(${JSON.stringify(tsxApi)})
  .then((m) => { m.register(); return import(${JSON.stringify(workerUrl)}); })
  .catch((e) => { require('node:worker_threads').parentPort.postMessage({ type: 'boot-error', message: String((e && e.stack) || e) }); });`;
  return new Worker(code, { eval: true });
}

export class WorkerPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Task[] = [];
  private failure: HeError | undefined;
  private closing = false;

  private constructor() {}

  /** Starts `size` workers and initializes each with `init`; rejects (and stops them) if any fails. */
  static async start(size: number, init: WorkerRequest): Promise<WorkerPool> {
    const pool = new WorkerPool();
    try {
      for (let i = 0; i < size; i++) pool.slots.push(pool.attach(spawn()));
      await Promise.all(pool.slots.map((slot) => pool.send(slot, { msg: init, transfer: [] })));
    } catch (err) {
      await pool.close();
      throw err;
    }
    return pool;
  }

  get size(): number {
    return this.slots.length;
  }

  run(msg: WorkerRequest, transfer: TransferListItem[] = []): Promise<WorkerReply> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closing) return Promise.reject(new HeError('CLOSED', 'the HE encoder has been closed'));
    return new Promise<WorkerReply>((resolve, reject) => {
      this.queue.push({ msg, transfer, resolve, reject });
      this.pump();
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    const closed = new HeError('CLOSED', 'the HE encoder has been closed');
    for (const task of this.queue.splice(0)) task.reject(closed);
    for (const slot of this.slots) {
      slot.task?.reject(closed);
      slot.task = null;
    }
    // ref() first: an unref'd worker does not keep the loop alive until its 'exit', and close() would
    // then never settle if nothing else is pending.
    await Promise.all(
      this.slots.map((s) => {
        s.worker.ref();
        return s.worker.terminate();
      }),
    );
  }

  private attach(worker: Worker): Slot {
    const slot: Slot = { worker, task: null };
    worker.on('message', (reply: WorkerReply) => {
      const task = slot.task;
      slot.task = null;
      // A reply can land after close() began (a batch still running when a sibling batch failed and
      // its caller closed the encoder): unref'ing then would let the loop drain before the worker's
      // 'exit', leaving close() pending forever.
      if (!this.closing) worker.unref();
      if (reply.type === 'boot-error') {
        this.fail(new HeError('WORKER_FAILED', `HE worker failed to start: ${reply.message}`), task);
        return;
      }
      if (task) {
        if (reply.type === 'error') task.reject(fromErrorShape(reply.error));
        else task.resolve(reply);
      }
      this.pump();
    });
    worker.on('error', (err) => {
      this.fail(new HeError('WORKER_FAILED', `HE worker crashed: ${err.message}`, { cause: err }), slot.task);
    });
    worker.on('exit', (code) => {
      if (!this.closing)
        this.fail(new HeError('WORKER_FAILED', `HE worker exited unexpectedly (code ${code})`), slot.task);
    });
    return slot;
  }

  /** A worker broke: reject everything and stop the pool; later calls reject with the same error. */
  private fail(err: HeError, current: Task | null): void {
    current?.reject(err);
    if (this.failure || this.closing) return;
    this.failure = err;
    this.closing = true;
    for (const task of this.queue.splice(0)) task.reject(err);
    for (const s of this.slots) {
      s.task?.reject(err);
      s.task = null;
      void s.worker.terminate();
    }
  }

  private pump(): void {
    for (const slot of this.slots) {
      if (this.queue.length === 0 || this.closing) return;
      if (!slot.task) this.post(slot, this.queue.shift()!);
    }
  }

  private send(slot: Slot, t: { msg: WorkerRequest; transfer: TransferListItem[] }): Promise<WorkerReply> {
    return new Promise<WorkerReply>((resolve, reject) => this.post(slot, { ...t, resolve, reject }));
  }

  private post(slot: Slot, task: Task): void {
    slot.task = task;
    slot.worker.ref();
    slot.worker.postMessage(task.msg, task.transfer);
  }
}
