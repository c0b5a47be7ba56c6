/**
 * Worker thread of the HE encoder: holds one copy of the consortium key and encrypts / decrypts chunk
 * ranges on request, with the codec of the parameter set's scheme (CKKS or BFV). Protocol (one task at a time per worker):
 *   in:  { type: 'init', params, secretKey, publicKey? } -> { type: 'ready' } | { type: 'error', error }
 *   in:  { type: 'encode', values }                      -> { type: 'chunks', chunks } | { type: 'error', error }
 *   in:  { type: 'decode', chunks, firstChunk }          -> { type: 'values', values } | { type: 'error', error }
 */
import { parentPort } from 'node:worker_threads';
import { createCodec } from './bfv-codec.js';
import { HeError, toErrorShape } from './errors.js';
import type { Codec } from './he-codec.js';
import type { HeParams } from './params.js';
import { getHeContext } from './seal.js';

export type WorkerRequest =
  | { type: 'init'; params: HeParams; secretKey: Uint8Array; publicKey?: Uint8Array }
  | { type: 'encode'; values: Float64Array }
  | { type: 'decode'; chunks: Uint8Array[]; firstChunk: number };

const port = parentPort;
if (!port) throw new Error('@kpfl/he worker.ts must run in a worker thread');

let codec: Codec | undefined;

port.on('message', async (msg: WorkerRequest) => {
  try {
    if (msg.type === 'init') {
      const ctx = await getHeContext(msg.params);
      codec = createCodec(ctx, { secretKey: msg.secretKey, publicKey: msg.publicKey });
      port.postMessage({ type: 'ready' });
      return;
    }
    if (!codec) throw new HeError('WORKER_FAILED', 'worker used before init');
    if (msg.type === 'encode') {
      const chunks = codec.encrypt(msg.values);
      port.postMessage(
        { type: 'chunks', chunks },
        chunks.map((c) => c.buffer as ArrayBuffer),
      );
    } else {
      const values = codec.decrypt(msg.chunks, msg.firstChunk);
      port.postMessage({ type: 'values', values }, [values.buffer as ArrayBuffer]);
    }
  } catch (err) {
    port.postMessage({ type: 'error', error: toErrorShape(err) });
  }
});

port.on('close', () => codec?.dispose());
