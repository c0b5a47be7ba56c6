/** Worker thread of the convergence trainer pool: loads the dataset once, then trains/evaluates jobs. */
import { parentPort } from 'node:worker_threads';
import { type ImageDataset, loadIdxDataset, selectBackend } from '@kpfl/model';
import { runJob, type WorkerReply, type WorkerRequest } from './trainer.js';

const port = parentPort!;
let ds: ImageDataset | undefined;

port.on('message', (msg: WorkerRequest) => {
  (async (): Promise<WorkerReply> => {
    if (msg.type === 'init') {
      ds = await loadIdxDataset(msg.dataset);
      const sel = await selectBackend(msg.backend, msg.model);
      return { type: 'ready', backend: sel.backend };
    }
    if (!ds) throw new Error('trainer worker used before init');
    return runJob(ds, msg);
  })().then(
    (reply) => {
      if (reply.type === 'trained') port.postMessage(reply, [reply.weights.buffer as ArrayBuffer]);
      else port.postMessage(reply);
    },
    (err: Error) =>
      port.postMessage({
        type: 'error',
        id: 'id' in msg ? msg.id : undefined,
        message: err?.stack ?? String(err),
      } satisfies WorkerReply),
  );
});
