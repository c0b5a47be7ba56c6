/**
 * The server optimizer step, applied by every participant after it decrypts the aggregate.
 * Everything here is plain JavaScript float64 arithmetic using only IEEE-exact operations
 * (+, -, *, /, sqrt), rounded to float32 at the end, so every participant computes the same bits
 * whatever its tfjs backend or CPU.
 *
 * Reddi et al., "Adaptive Federated Optimization" (ICLR 2021), Algorithm 2, with the
 * pseudo-gradient Delta_t = avgDelta (the example-weighted mean of trained - global):
 *   fedavg:  x <- x + lr * Delta                                              (lr = 1: plain FedAvg)
 *   fedavgm: m <- momentum * m + Delta;  x <- x + lr * m                      (Hsu et al. 2019)
 *   fedadam: m <- b1 m + (1 - b1) Delta;  v <- b2 v + (1 - b2) Delta^2;
 *            x <- x + lr * m / (sqrt(v) + tau),  with m_{-1} = 0, v_{-1} = tau^2 (no bias correction)
 */

import { ModelConfigError } from './errors.js';
export type ServerOptimizerSpec =
  | { name: 'fedavg'; lr?: number }
  | { name: 'fedavgm'; lr: number; momentum: number }
  | { name: 'fedadam'; lr: number; beta1: number; beta2: number; tau: number };

/** Serializable state carried from round to round (persist it with serverStateToBytes). */
export interface ServerOptimizerState {
  name: ServerOptimizerSpec['name'];
  /** Number of steps applied so far. */
  step: number;
  length: number;
  /** First moment / momentum buffer (fedavgm, fedadam). */
  m?: Float64Array;
  /** Second moment (fedadam). */
  v?: Float64Array;
}

const DEFAULTS = {
  fedavg: { lr: 1 },
  fedavgm: { lr: 1, momentum: 0.9 },
  fedadam: { lr: 0.01, beta1: 0.9, beta2: 0.99, tau: 0.001 },
} as const;

const VALID_FORMS =
  "'fedavg[:lr=1]', 'fedavgm[:lr=1,momentum=0.9]', 'fedadam[:lr=0.01,beta1=0.9,beta2=0.99,tau=0.001]'";

/** Parse e.g. 'fedavg', 'fedavgm:lr=1,momentum=0.9', 'fedadam:lr=0.01,beta1=0.9,beta2=0.99,tau=0.001'. Omitted values take the defaults shown in the error message. */
export function parseServerOptimizer(s: string): ServerOptimizerSpec {
  const t = String(s).trim();
  const colon = t.indexOf(':');
  const name = (colon < 0 ? t : t.slice(0, colon)).trim().toLowerCase();
  const rest = colon < 0 ? '' : t.slice(colon + 1).trim();
  if (!(name in DEFAULTS))
    throw new ModelConfigError(
      'BAD_SERVER_OPTIMIZER',
      `unknown server optimizer '${s}'; valid forms: ${VALID_FORMS}`,
    );
  const key = name as keyof typeof DEFAULTS;
  const params: Record<string, number> = { ...DEFAULTS[key] };
  if (rest !== '') {
    for (const part of rest.split(',')) {
      const m = /^\s*([a-z0-9_]+)\s*=\s*([^=]+?)\s*$/i.exec(part);
      if (!m)
        throw new ModelConfigError(
          'BAD_SERVER_OPTIMIZER',
          `server optimizer '${s}': cannot parse '${part}' (expected key=value); valid forms: ${VALID_FORMS}`,
        );
      const k = m[1];
      if (!(k in DEFAULTS[key])) {
        throw new ModelConfigError(
          'BAD_SERVER_OPTIMIZER',
          `server optimizer '${s}': ${name} has no parameter '${k}' (it takes ${Object.keys(DEFAULTS[key]).join(', ')}); valid forms: ${VALID_FORMS}`,
        );
      }
      const v = Number(m[2]);
      if (!Number.isFinite(v))
        throw new ModelConfigError(
          'BAD_SERVER_OPTIMIZER',
          `server optimizer '${s}': ${k}=${m[2]} is not a number`,
        );
      params[k] = v;
    }
  }
  const spec = { name: key, ...params } as ServerOptimizerSpec;
  validateSpec(spec);
  return spec;
}

export function formatServerOptimizer(spec: ServerOptimizerSpec): string {
  switch (spec.name) {
    case 'fedavg':
      return `fedavg:lr=${spec.lr ?? 1}`;
    case 'fedavgm':
      return `fedavgm:lr=${spec.lr},momentum=${spec.momentum}`;
    case 'fedadam':
      return `fedadam:lr=${spec.lr},beta1=${spec.beta1},beta2=${spec.beta2},tau=${spec.tau}`;
  }
}

function validateSpec(spec: ServerOptimizerSpec): void {
  const lr = spec.lr ?? 1;
  if (!(Number.isFinite(lr) && lr > 0))
    throw new ModelConfigError(
      'BAD_SERVER_OPTIMIZER',
      `server optimizer ${spec.name}: lr must be > 0, got ${lr}`,
    );
  const unit = (k: string, v: number) => {
    if (!(Number.isFinite(v) && v >= 0 && v < 1)) {
      throw new ModelConfigError(
        'BAD_SERVER_OPTIMIZER',
        `server optimizer ${spec.name}: ${k} must be in [0, 1), got ${v}`,
      );
    }
  };
  if (spec.name === 'fedavgm') unit('momentum', spec.momentum);
  if (spec.name === 'fedadam') {
    unit('beta1', spec.beta1);
    unit('beta2', spec.beta2);
    if (!(Number.isFinite(spec.tau) && spec.tau > 0)) {
      throw new ModelConfigError(
        'BAD_SERVER_OPTIMIZER',
        `server optimizer fedadam: tau must be > 0, got ${spec.tau}`,
      );
    }
  }
}

export function createServerState(spec: ServerOptimizerSpec, length: number): ServerOptimizerState {
  validateSpec(spec);
  if (!Number.isSafeInteger(length) || length < 0) throw new Error(`createServerState: bad length ${length}`);
  switch (spec.name) {
    case 'fedavg':
      return { name: 'fedavg', step: 0, length };
    case 'fedavgm':
      return { name: 'fedavgm', step: 0, length, m: new Float64Array(length) };
    case 'fedadam':
      return {
        name: 'fedadam',
        step: 0,
        length,
        m: new Float64Array(length),
        v: new Float64Array(length).fill(spec.tau * spec.tau),
      };
  }
}

/**
 * Apply one server step: returns the new global weights (float32); `state` is mutated.
 * `avgDelta` = sum(n_k * delta_k) / sum(n_k) with delta_k = trained_k - global.
 */
export function serverStep(
  spec: ServerOptimizerSpec,
  state: ServerOptimizerState,
  global: Float32Array,
  avgDelta: Float64Array,
): Float32Array {
  const n = global.length;
  if (avgDelta.length !== n)
    throw new Error(`serverStep: avgDelta has ${avgDelta.length} values, global has ${n}`);
  if (state.name !== spec.name)
    throw new Error(`serverStep: state is for ${state.name}, spec is ${spec.name}`);
  if (state.length !== n)
    throw new Error(`serverStep: state is for ${state.length} parameters, global has ${n}`);
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(avgDelta[i])) throw new Error(`serverStep: avgDelta[${i}] is ${avgDelta[i]}`);
  }
  const out = new Float32Array(n);
  switch (spec.name) {
    case 'fedavg': {
      const lr = spec.lr ?? 1;
      for (let i = 0; i < n; i++) out[i] = global[i] + lr * avgDelta[i];
      break;
    }
    case 'fedavgm': {
      const m = state.m!;
      const { lr, momentum } = spec;
      for (let i = 0; i < n; i++) {
        m[i] = momentum * m[i] + avgDelta[i];
        out[i] = global[i] + lr * m[i];
      }
      break;
    }
    case 'fedadam': {
      const m = state.m!;
      const v = state.v!;
      const { lr, beta1, beta2, tau } = spec;
      for (let i = 0; i < n; i++) {
        const d = avgDelta[i];
        m[i] = beta1 * m[i] + (1 - beta1) * d;
        v[i] = beta2 * v[i] + (1 - beta2) * d * d;
        out[i] = global[i] + (lr * m[i]) / (Math.sqrt(v[i]) + tau);
      }
      break;
    }
  }
  state.step++;
  return out;
}

const MAGIC = 0x4f53504b; // 'KPSO' little-endian

/**
 * Canonical bytes of a server state: 'KPSO', u32 version 1, u32 header length, JSON header
 * {name, step, length, m, v}, zero padding to 8 bytes, then m and v as little-endian float64.
 */
export function serverStateToBytes(state: ServerOptimizerState): Uint8Array {
  const header = new TextEncoder().encode(
    JSON.stringify({ name: state.name, step: state.step, length: state.length, m: !!state.m, v: !!state.v }),
  );
  const headerEnd = 12 + header.length;
  const dataStart = Math.ceil(headerEnd / 8) * 8;
  const arrays = [state.m, state.v].filter((a): a is Float64Array => !!a);
  const out = new Uint8Array(dataStart + arrays.length * state.length * 8);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, MAGIC, true);
  dv.setUint32(4, 1, true);
  dv.setUint32(8, header.length, true);
  out.set(header, 12);
  let off = dataStart;
  for (const a of arrays) {
    for (let i = 0; i < a.length; i++) dv.setFloat64(off + i * 8, a[i], true);
    off += a.length * 8;
  }
  return out;
}

export function serverStateFromBytes(bytes: Uint8Array): ServerOptimizerState {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 12 || dv.getUint32(0, true) !== MAGIC || dv.getUint32(4, true) !== 1) {
    throw new Error('not a kpfl server optimizer state (bad magic or version)');
  }
  const hl = dv.getUint32(8, true);
  if (12 + hl > bytes.length) throw new Error('server optimizer state truncated in header');
  const h = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + hl))) as {
    name: ServerOptimizerState['name'];
    step: number;
    length: number;
    m: boolean;
    v: boolean;
  };
  let off = Math.ceil((12 + hl) / 8) * 8;
  const need = off + (Number(h.m) + Number(h.v)) * h.length * 8;
  if (bytes.length !== need)
    throw new Error(`server optimizer state is ${bytes.length} bytes, expected ${need}`);
  const read = () => {
    const a = new Float64Array(h.length);
    for (let i = 0; i < h.length; i++) a[i] = dv.getFloat64(off + i * 8, true);
    off += h.length * 8;
    return a;
  };
  const state: ServerOptimizerState = { name: h.name, step: h.step, length: h.length };
  if (h.m) state.m = read();
  if (h.v) state.v = read();
  return state;
}
