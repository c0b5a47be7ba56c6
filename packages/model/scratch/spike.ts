import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import path from 'node:path';
const require = createRequire(import.meta.url);
console.log(Object.keys(tf).length, typeof tf.sequential, tf.version);
const wasm = await import('@tensorflow/tfjs-backend-wasm');
console.log(Object.keys(wasm));
const dir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm')) + path.sep;
console.log(dir);
wasm.setWasmPaths(dir);
tf.enableProdMode();
console.log(await tf.setBackend('wasm'), tf.getBackend(), tf.env().getAsync ? await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT') : '');
console.log('kernel', tf.getKernel('Conv2DBackpropFilter', 'wasm'), !!tf.getKernel('Conv2D', 'wasm'), !!tf.getKernel('Conv2DBackpropFilter', 'cpu'));
try { await import('@tensorflow/tfjs-node' as string); } catch (e) { console.log((e as any).code, (e as Error).message); }
try { require.resolve('@tensorflow/tfjs-node'); } catch (e) { console.log((e as any).code); }
