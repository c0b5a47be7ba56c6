/**
 * Layer ops with gradients chosen per backend, for fast training without tfjs-node.
 *
 * Measured on the 2-core build machine (tfjs 4.22):
 * - wasm: MatMul with transposeA/transposeB (what tfjs's own MatMul gradient uses) is 5-15x slower
 *   than an explicit transpose followed by a plain MatMul, so dense gradients transpose explicitly.
 * - wasm has no Conv2DBackpropFilter kernel, and its Conv2DBackpropInput is ~25x slower than a
 *   forward Conv2D; cpu's Conv2DBackpropFilter takes ~47 s for one batch of 10 through the cnn's
 *   second conv. Both gradients are therefore computed with forward convolutions:
 *     dx = conv2d(dy, rot180(w) with in/out channels swapped, 'same')                     (wasm)
 *     dW = conv2d(pad(x) as [ci, H+kh-1, W+kw-1, B], dy as [H, W, B, co], 'valid')      (wasm, cpu)
 *   which makes the cnn trainable on wasm and ~20x faster on cpu.
 * - tensorflow (tfjs-node): native kernels are used unchanged.
 */
import * as tf from '@tensorflow/tfjs';

type Strategy = 'wasm' | 'cpu' | 'native';

function strategy(): Strategy {
  const b = tf.getBackend();
  if (b === 'wasm') return 'wasm';
  if (b === 'cpu') return 'cpu';
  return 'native';
}

/** a @ b with gradients dA = dy @ b^T (or zeros), dB = a^T @ dy computed with explicit transposes. */
function makeMatMulExplicitT(inputGrad: boolean) {
  return tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [a, b, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.GradSaveFunc];
    save([a, b]);
    return {
      value: tf.matMul(a, b),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sa, sb] = saved as tf.Tensor2D[];
        const d = dy as tf.Tensor2D;
        return [
          inputGrad ? tf.matMul(d, tf.transpose(sb)) : tf.zerosLike(sa),
          tf.matMul(tf.transpose(sa), d),
        ];
      },
    };
  }) as (a: tf.Tensor2D, b: tf.Tensor2D) => tf.Tensor2D;
}

const matMulExplicitT = makeMatMulExplicitT(true);
const matMulExplicitTNoInputGrad = makeMatMulExplicitT(false);

/**
 * a @ b. On wasm its gradient uses explicit transposes; `inputGrad: false` skips the gradient
 * with respect to `a` (a first layer's data input).
 */
export function matMul(a: tf.Tensor2D, b: tf.Tensor2D, opts: { inputGrad?: boolean } = {}): tf.Tensor2D {
  if (strategy() !== 'wasm') return tf.matMul(a, b);
  return (opts.inputGrad ?? true) ? matMulExplicitT(a, b) : matMulExplicitTNoInputGrad(a, b);
}

export type Activation = 'relu' | 'linear';

function activate<T extends tf.Tensor>(x: T, activation: Activation): T {
  return activation === 'relu' ? tf.relu(x) : x;
}

/**
 * Dense layer: activation(x @ kernel + bias); kernel [in, out], bias [out].
 * `inputGrad: false` skips the gradient with respect to x (for a first layer, whose input is data).
 */
export function dense(
  x: tf.Tensor2D,
  kernel: tf.Tensor,
  bias: tf.Tensor,
  activation: Activation,
  opts: { inputGrad?: boolean } = {},
): tf.Tensor2D {
  return activate(tf.add(matMul(x, kernel as tf.Tensor2D, opts), bias), activation);
}

/** dW of a stride-1 'same' convolution, by one forward 'valid' convolution. */
function convFilterGrad(x: tf.Tensor4D, dy: tf.Tensor4D, kh: number, kw: number): tf.Tensor4D {
  const ph = (kh - 1) / 2;
  const pw = (kw - 1) / 2;
  const xp = tf.transpose(
    tf.pad(x, [
      [0, 0],
      [ph, ph],
      [pw, pw],
      [0, 0],
    ]),
    [3, 1, 2, 0],
  ) as tf.Tensor4D; // [ci, H+kh-1, W+kw-1, B]
  const f = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D; // [H, W, B, co]
  return tf.transpose(tf.conv2d(xp, f, 1, 'valid'), [1, 2, 0, 3]) as tf.Tensor4D; // [kh, kw, ci, co]
}

function makeConvSame(strat: 'wasm' | 'cpu', inputGrad: boolean) {
  return tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, w, save] = args as [tf.Tensor4D, tf.Tensor4D, tf.GradSaveFunc];
    save([x, w]);
    return {
      value: tf.conv2d(x, w, 1, 'same'),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sw] = saved as tf.Tensor4D[];
        const [kh, kw] = sw.shape;
        const dy4 = dy as tf.Tensor4D;
        let dx: tf.Tensor4D;
        if (!inputGrad) dx = tf.zerosLike(sx);
        else if (strat === 'wasm')
          dx = tf.conv2d(dy4, tf.transpose(tf.reverse(sw, [0, 1]), [0, 1, 3, 2]), 1, 'same');
        else dx = tf.conv2dTranspose(dy4, sw, sx.shape, 1, 'same');
        return [dx, convFilterGrad(sx, dy4, kh, kw)];
      },
    };
  }) as (x: tf.Tensor4D, w: tf.Tensor4D) => tf.Tensor4D;
}

const convSame = {
  wasm: makeConvSame('wasm', true),
  wasmNoInputGrad: makeConvSame('wasm', false),
  cpu: makeConvSame('cpu', true),
  cpuNoInputGrad: makeConvSame('cpu', false),
};

/**
 * Stride-1 'same' 2-D convolution (NHWC, odd kernel [kh, kw, ci, co]) plus bias and activation.
 * `inputGrad: false` skips the gradient with respect to x (for the first layer, whose input is data).
 */
export function conv2dSame(
  x: tf.Tensor4D,
  kernel: tf.Tensor,
  bias: tf.Tensor,
  activation: Activation,
  opts: { inputGrad?: boolean } = {},
): tf.Tensor4D {
  const w = kernel as tf.Tensor4D;
  if (w.shape[0] % 2 !== 1 || w.shape[1] % 2 !== 1)
    throw new Error(`conv2dSame needs an odd kernel, got [${w.shape}]`);
  const s = strategy();
  const inputGrad = opts.inputGrad ?? true;
  let y: tf.Tensor4D;
  if (s === 'native') y = tf.conv2d(x, w, 1, 'same');
  else if (s === 'wasm') y = inputGrad ? convSame.wasm(x, w) : convSame.wasmNoInputGrad(x, w);
  else y = inputGrad ? convSame.cpu(x, w) : convSame.cpuNoInputGrad(x, w);
  return activate(tf.add(y, bias), activation);
}

/** 2x2 max pooling with stride 2. */
export function maxPool2(x: tf.Tensor4D): tf.Tensor4D {
  return tf.maxPool(x, 2, 2, 'valid');
}
