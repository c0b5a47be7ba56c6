import * as tf from '@tensorflow/tfjs';
import { ModelConfigError } from './errors.js';
import { dense } from './ops.js';

/**
 * What denseModelDefinition returns: structurally a ModelDefinition (models.ts), spelt out here
 * because models.ts imports this module and a type import back would be a dependency cycle.
 */
export interface DenseModelDefinition {
  name: string;
  inputShape: number[];
  numClasses: number;
  layers: { name: string; shape: number[]; init: 'glorot_uniform' | 'zeros' }[];
  forward(weights: tf.Tensor[], x: tf.Tensor): tf.Tensor;
  build(opts: { softmax: boolean }): tf.LayersModel;
}

/**
 * The parametric dense family for tabular data: `dense:F-H1-...-C` is a fully connected network
 * with F inputs, ReLU hidden layers of the given widths and C logits out (`dense:F-C` is
 * multinomial logistic regression). Being derived from its name, the definition needs no
 * registration: every member and the operator resolve the same name to the same layout, so
 * `kpfl rounds schedule --model dense:8-16-3` can compute the parameter count and digest itself.
 */
export const DENSE_PREFIX = 'dense:';

/** Widths beyond this are surely a typo (and would allocate gigabytes). */
const MAX_WIDTH = 1_000_000;

const FORM = "'dense:F-H1-...-C' (F inputs, hidden widths, C >= 2 classes; e.g. 'dense:8-16-3')";

/** The widths [F, H1, ..., C] of a dense-family name, or undefined when `name` is not one. */
export function parseDenseModelName(name: string): number[] | undefined {
  if (!name.startsWith(DENSE_PREFIX)) return undefined;
  const body = name.slice(DENSE_PREFIX.length);
  const parts = body.split('-');
  const widths = parts.map((p) => (/^[1-9]\d*$/.test(p) ? Number(p) : Number.NaN));
  if (parts.length < 2 || widths.some((w) => !(w >= 1 && w <= MAX_WIDTH))) {
    throw new ModelConfigError('UNKNOWN_MODEL', `invalid dense model '${name}'; expected ${FORM}`);
  }
  if (widths[widths.length - 1] < 2) {
    throw new ModelConfigError('UNKNOWN_MODEL', `invalid dense model '${name}': it needs at least 2 classes`);
  }
  return widths;
}

/** The definition of a `dense:...` model (layers dense1..denseN, kernel then bias). */
export function denseModelDefinition(name: string): DenseModelDefinition {
  const widths = parseDenseModelName(name);
  if (!widths)
    throw new ModelConfigError('UNKNOWN_MODEL', `'${name}' is not a dense model; expected ${FORM}`);
  const layers: DenseModelDefinition['layers'] = [];
  for (let i = 1; i < widths.length; i++) {
    layers.push({ name: `dense${i}/kernel`, shape: [widths[i - 1], widths[i]], init: 'glorot_uniform' });
    layers.push({ name: `dense${i}/bias`, shape: [widths[i]], init: 'zeros' });
  }
  const last = widths.length - 1;
  return {
    name,
    inputShape: [widths[0]],
    numClasses: widths[last],
    layers,
    forward(weights, x) {
      let h = x as tf.Tensor2D;
      for (let i = 0; i < last; i++) {
        const activation = i === last - 1 ? 'linear' : 'relu';
        h = dense(h, weights[2 * i], weights[2 * i + 1], activation, i === 0 ? { inputGrad: false } : {});
      }
      return h;
    },
    build({ softmax }) {
      const init = { kernelInitializer: 'zeros', biasInitializer: 'zeros' } as const;
      const out: tf.layers.Layer[] = [];
      for (let i = 1; i <= last; i++) {
        const activation = i < last ? 'relu' : softmax ? 'softmax' : 'linear';
        out.push(
          tf.layers.dense({
            ...(i === 1 ? { inputShape: [widths[0]] } : {}),
            units: widths[i],
            activation,
            ...init,
          }),
        );
      }
      return tf.sequential({ layers: out });
    },
  };
}
