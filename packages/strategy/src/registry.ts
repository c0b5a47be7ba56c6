/**
 * The strategy registry: spec strings ('name:key=value,...') to ServerStrategy objects. A
 * definition supplies the parameters and the server step; what it leaves out takes the defaults
 * below, which are kpfl's behaviour before strategies existed.
 */
import { StrategyError } from './errors.js';
import { type Sample, type SampleInput, sampleBySeed } from './sampling.js';
import type { StrategyState } from './state.js';
import type {
  RoundFailure,
  RoundFailureAction,
  RoundTraining,
  ServerStrategy,
  StrategyParams,
} from './strategy.js';

/** What a strategy implements for given parameters; omitted aggregator hooks take the defaults. */
export interface StrategyImplementation {
  /** The moment buffers a fresh state holds (none for a stateless step). */
  initBuffers?(length: number): { m?: Float64Array; v?: Float64Array };
  /**
   * Writes the new weights into `out` and updates `state.m` / `state.v`. Inputs are checked
   * (lengths, finiteness, state name) before it runs. Use only +, -, *, /, Math.sqrt, Math.sign
   * on float64 so every participant computes the same bits.
   */
  apply(state: StrategyState, global: Float32Array, avgDelta: Float64Array, out: Float32Array): void;
  sample?(input: SampleInput): Sample;
  quorum?(input: { sampled: readonly string[]; minParticipants: number }): number;
  configureRound?<T extends RoundTraining>(input: { round: number; training: T }): T;
  onRoundFailure?(failure: RoundFailure): RoundFailureAction;
}

export interface StrategyDefinition {
  /** Every parameter the strategy takes, with its default (the order is the spec string's order). */
  defaults: StrategyParams;
  /** A message saying what is wrong with `params` (e.g. 'lr must be > 0, got -1'), or undefined. */
  validate?(params: StrategyParams): string | undefined;
  create(params: StrategyParams): StrategyImplementation;
}

const registry = new Map<string, StrategyDefinition>();

const bad = (message: string) => new StrategyError('BAD_SERVER_OPTIMIZER', message);

/** Makes `name` available to strategyFromSpec (and so to --server-optimizer and plans). */
export function registerStrategy(name: string, definition: StrategyDefinition): void {
  if (!/^[a-z][a-z0-9_-]*$/.test(name)) {
    throw new StrategyError(
      'BAD_STRATEGY_DEFINITION',
      `strategy name '${name}' must be lower-case letters, digits, '-' or '_', starting with a letter`,
    );
  }
  if (registry.has(name))
    throw new StrategyError('DUPLICATE_STRATEGY', `strategy '${name}' is already registered`);
  for (const [k, v] of Object.entries(definition.defaults)) {
    if (!/^[a-z][a-z0-9_]*$/i.test(k) || !Number.isFinite(v)) {
      throw new StrategyError('BAD_STRATEGY_DEFINITION', `strategy '${name}': bad default ${k}=${v}`);
    }
  }
  registry.set(name, definition);
}

/** Registered strategy names, in registration order (the built-ins first). */
export function strategyNames(): string[] {
  return [...registry.keys()];
}

function validForms(): string {
  return [...registry]
    .map(([name, d]) => {
      const ps = Object.entries(d.defaults).map(([k, v]) => `${k}=${v}`);
      return `'${name}${ps.length ? `[:${ps.join(',')}]` : ''}'`;
    })
    .join(', ');
}

/**
 * Parses e.g. 'fedavg', 'fedavgm:lr=1,momentum=0.9', 'fedadam:lr=0.01,beta1=0.9,beta2=0.99,tau=0.001'
 * (names are case-insensitive; omitted parameters take their defaults). Throws StrategyError
 * BAD_SERVER_OPTIMIZER listing the valid forms.
 */
export function strategyFromSpec(spec: string): ServerStrategy {
  const t = String(spec).trim();
  const colon = t.indexOf(':');
  const name = (colon < 0 ? t : t.slice(0, colon)).trim().toLowerCase();
  const rest = colon < 0 ? '' : t.slice(colon + 1).trim();
  const def = registry.get(name);
  if (!def) throw bad(`unknown server optimizer '${spec}'; valid forms: ${validForms()}`);
  const params: Record<string, number> = { ...def.defaults };
  if (rest !== '') {
    for (const part of rest.split(',')) {
      const m = /^\s*([a-z0-9_]+)\s*=\s*([^=]+?)\s*$/i.exec(part);
      if (!m) {
        throw bad(
          `server optimizer '${spec}': cannot parse '${part}' (expected key=value); valid forms: ${validForms()}`,
        );
      }
      const k = m[1];
      if (!Object.hasOwn(def.defaults, k)) {
        throw bad(
          `server optimizer '${spec}': ${name} has no parameter '${k}' (it takes ${Object.keys(def.defaults).join(', ') || 'none'}); valid forms: ${validForms()}`,
        );
      }
      const v = Number(m[2]);
      if (!Number.isFinite(v)) throw bad(`server optimizer '${spec}': ${k}=${m[2]} is not a number`);
      params[k] = v;
    }
  }
  const problem = def.validate?.(params);
  if (problem) throw bad(`server optimizer ${name}: ${problem}`);
  return build(name, Object.freeze(params), def.create(params));
}

/** The registered implementation behind the interface, with the checks every strategy needs. */
function build(name: string, params: StrategyParams, impl: StrategyImplementation): ServerStrategy {
  const result = (what: string) => new StrategyError('BAD_STRATEGY_DEFINITION', `strategy ${name}: ${what}`);
  return {
    name,
    params,
    format: () => {
      const ps = Object.entries(params).map(([k, v]) => `${k}=${v}`);
      return ps.length ? `${name}:${ps.join(',')}` : name;
    },
    sample(input) {
      const s = (impl.sample ?? sampleBySeed)(input);
      const eligible = new Set(input.eligible);
      // The aggregator records the seed and the sample: a sample nobody could recompute is refused.
      if (new Set(s.sampled).size !== s.sampled.length || !s.sampled.every((id) => eligible.has(id)))
        throw result('sample() returned members that are not eligible, or one twice');
      if (s.sampled.length < Math.min(input.min, input.eligible.length))
        throw result(`sample() returned ${s.sampled.length} members, fewer than the minimum ${input.min}`);
      return { sampled: [...s.sampled].sort(), samplingSeed: s.samplingSeed };
    },
    quorum(input) {
      const q = impl.quorum ? impl.quorum(input) : input.sampled.length;
      const floor = Math.min(input.minParticipants, input.sampled.length);
      if (!Number.isSafeInteger(q) || q < floor || q > input.sampled.length)
        throw result(
          `quorum() returned ${q}; it must be a whole number in [${floor}, ${input.sampled.length}]`,
        );
      return q;
    },
    configureRound: (input) => (impl.configureRound ? impl.configureRound(input) : input.training),
    onRoundFailure: (failure) => impl.onRoundFailure?.(failure) ?? 'continue',
    initState(length) {
      if (!Number.isSafeInteger(length) || length < 0)
        throw new StrategyError('BAD_STEP_INPUT', `initState: bad length ${length}`);
      return { name, step: 0, length, ...impl.initBuffers?.(length) };
    },
    step(state, global, avgDelta) {
      const n = global.length;
      const refuse = (why: string) => new StrategyError('BAD_STEP_INPUT', `serverStep: ${why}`);
      if (avgDelta.length !== n) throw refuse(`avgDelta has ${avgDelta.length} values, global has ${n}`);
      if (state.name !== name) throw refuse(`state is for ${state.name}, strategy is ${name}`);
      if (state.length !== n) throw refuse(`state is for ${state.length} parameters, global has ${n}`);
      for (let i = 0; i < n; i++) {
        if (!Number.isFinite(avgDelta[i])) throw refuse(`avgDelta[${i}] is ${avgDelta[i]}`);
      }
      const out = new Float32Array(n);
      impl.apply(state, global, avgDelta, out);
      state.step++;
      return out;
    },
  };
}
