/**
 * The built-in strategies. Reddi et al., "Adaptive Federated Optimization" (ICLR 2021),
 * Algorithm 2, with the pseudo-gradient D = avgDelta (the example-weighted mean of trained - global):
 *   fedavg:     x <- x + lr * D                                     (lr = 1: plain FedAvg)
 *   fedavgm:    m <- momentum * m + D;  x <- x + lr * m              (Hsu et al. 2019)
 *   fedprox:    the fedavg step; participants add (mu / 2) |w - x|^2 to their loss (Li et al. 2020)
 *   adaptive:   m <- b1 m + (1 - b1) D;  x <- x + lr * m / (sqrt(v) + tau),
 *               with m_{-1} = 0, v_{-1} = tau^2 and no bias correction, where v is updated by
 *     fedadam:    v <- b2 v + (1 - b2) D^2
 *     fedyogi:    v <- v - (1 - b2) D^2 sign(v - D^2)
 *     fedadagrad: v <- v + D^2
 * Every step is float64 arithmetic with IEEE-exact operations only, rounded to float32 at the end,
 * so every participant computes the same bits whatever its tfjs backend or CPU.
 */
import { registerStrategy, type StrategyImplementation } from './registry.js';
import type { StrategyParams } from './strategy.js';

const positive = (p: StrategyParams, k: string) => (p[k] > 0 ? undefined : `${k} must be > 0, got ${p[k]}`);
const unit = (p: StrategyParams, k: string) =>
  p[k] >= 0 && p[k] < 1 ? undefined : `${k} must be in [0, 1), got ${p[k]}`;
/** The first problem the checks find. */
const first = (...problems: (string | undefined)[]) => problems.find((p) => p !== undefined);

function fedavgStep(p: StrategyParams): StrategyImplementation['apply'] {
  const { lr } = p;
  return (_state, global, d, out) => {
    for (let i = 0; i < out.length; i++) out[i] = global[i] + lr * d[i];
  };
}

/** The second-moment update an adaptive method is defined by: the new v[i] from v[i] and D[i]. */
type SecondMoment = (v: number, d: number) => number;

function adaptive(p: StrategyParams, second: SecondMoment): StrategyImplementation {
  const { lr, beta1, tau } = p;
  return {
    initBuffers: (length) => ({ m: new Float64Array(length), v: new Float64Array(length).fill(tau * tau) }),
    apply(state, global, d, out) {
      const m = state.m!;
      const v = state.v!;
      for (let i = 0; i < out.length; i++) {
        m[i] = beta1 * m[i] + (1 - beta1) * d[i];
        v[i] = second(v[i], d[i]);
        out[i] = global[i] + (lr * m[i]) / (Math.sqrt(v[i]) + tau);
      }
    },
  };
}

registerStrategy('fedavg', {
  defaults: { lr: 1 },
  validate: (p) => positive(p, 'lr'),
  create: (p) => ({ apply: fedavgStep(p) }),
});

registerStrategy('fedavgm', {
  defaults: { lr: 1, momentum: 0.9 },
  validate: (p) => first(positive(p, 'lr'), unit(p, 'momentum')),
  create: ({ lr, momentum }) => ({
    initBuffers: (length) => ({ m: new Float64Array(length) }),
    apply(state, global, d, out) {
      const m = state.m!;
      for (let i = 0; i < out.length; i++) {
        m[i] = momentum * m[i] + d[i];
        out[i] = global[i] + lr * m[i];
      }
    },
  }),
});

registerStrategy('fedadam', {
  defaults: { lr: 0.01, beta1: 0.9, beta2: 0.99, tau: 0.001 },
  validate: (p) => first(positive(p, 'lr'), unit(p, 'beta1'), unit(p, 'beta2'), positive(p, 'tau')),
  create: (p) => {
    const { beta2 } = p;
    return adaptive(p, (v, d) => beta2 * v + (1 - beta2) * d * d);
  },
});

registerStrategy('fedprox', {
  defaults: { mu: 0.01, lr: 1 },
  validate: (p) => first(p.mu >= 0 ? undefined : `mu must be >= 0, got ${p.mu}`, positive(p, 'lr')),
  create: (p) => ({
    apply: fedavgStep(p),
    // The proximal term is local training's business: the strategy hands mu to the participants.
    configureRound: ({ training }) => ({ ...training, proxMu: p.mu }),
  }),
});

registerStrategy('fedyogi', {
  defaults: { lr: 0.01, beta1: 0.9, beta2: 0.99, tau: 0.001 },
  validate: (p) => first(positive(p, 'lr'), unit(p, 'beta1'), unit(p, 'beta2'), positive(p, 'tau')),
  create: (p) => {
    const { beta2 } = p;
    return adaptive(p, (v, d) => {
      const d2 = d * d;
      return v - (1 - beta2) * d2 * Math.sign(v - d2);
    });
  },
});

registerStrategy('fedadagrad', {
  defaults: { lr: 0.01, beta1: 0.9, tau: 0.001 },
  validate: (p) => first(positive(p, 'lr'), unit(p, 'beta1'), positive(p, 'tau')),
  create: (p) => adaptive(p, (v, d) => v + d * d),
});
