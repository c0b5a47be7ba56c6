import { StrategyError } from './errors.js';

/**
 * What a participant carries from round to round for its strategy's server step. Plain float64
 * buffers, so that it serializes exactly (serverStateToBytes) and a restarted participant continues
 * with the same bits. Two moment buffers cover every adaptive method of Reddi et al. (2021).
 */
export interface StrategyState {
  /** The strategy the state belongs to: a step refuses another strategy's state. */
  name: string;
  /** Number of steps applied so far. */
  step: number;
  length: number;
  /** First moment / momentum buffer. */
  m?: Float64Array;
  /** Second moment. */
  v?: Float64Array;
}

/** A deep copy: a participant steps a copy until the round's contributors agree on the result. */
export function cloneState(state: StrategyState): StrategyState {
  return { ...state, m: state.m?.slice(), v: state.v?.slice() };
}

const MAGIC = 0x4f53504b; // 'KPSO' little-endian
const VERSION = 1;

/**
 * Canonical bytes of a server state: 'KPSO', u32 version 1, u32 header length, JSON header
 * {name, step, length, m, v}, zero padding to 8 bytes, then m and v as little-endian float64.
 * The format is the one @kpfl/model wrote before strategies existed, so old bytes still read.
 */
export function serverStateToBytes(state: StrategyState): Uint8Array {
  const header = new TextEncoder().encode(
    JSON.stringify({ name: state.name, step: state.step, length: state.length, m: !!state.m, v: !!state.v }),
  );
  const headerEnd = 12 + header.length;
  const dataStart = Math.ceil(headerEnd / 8) * 8;
  const arrays = [state.m, state.v].filter((a): a is Float64Array => !!a);
  const out = new Uint8Array(dataStart + arrays.length * state.length * 8);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, MAGIC, true);
  dv.setUint32(4, VERSION, true);
  dv.setUint32(8, header.length, true);
  out.set(header, 12);
  let off = dataStart;
  for (const a of arrays) {
    for (let i = 0; i < a.length; i++) dv.setFloat64(off + i * 8, a[i], true);
    off += a.length * 8;
  }
  return out;
}

export function serverStateFromBytes(bytes: Uint8Array): StrategyState {
  const bad = (why: string) => new StrategyError('BAD_STATE_BYTES', why);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 12 || dv.getUint32(0, true) !== MAGIC || dv.getUint32(4, true) !== VERSION) {
    throw bad('not a kpfl server optimizer state (bad magic or version)');
  }
  const hl = dv.getUint32(8, true);
  if (12 + hl > bytes.length) throw bad('server optimizer state truncated in header');
  let h: { name: unknown; step: unknown; length: unknown; m: unknown; v: unknown };
  try {
    h = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + hl)));
  } catch {
    throw bad('server optimizer state header is not JSON');
  }
  if (
    typeof h?.name !== 'string' ||
    !Number.isSafeInteger(h.step) ||
    !Number.isSafeInteger(h.length) ||
    (h.length as number) < 0 ||
    typeof h.m !== 'boolean' ||
    typeof h.v !== 'boolean'
  ) {
    throw bad('server optimizer state header lacks name, step, length, m or v');
  }
  const length = h.length as number;
  let off = Math.ceil((12 + hl) / 8) * 8;
  const need = off + (Number(h.m) + Number(h.v)) * length * 8;
  if (bytes.length !== need) throw bad(`server optimizer state is ${bytes.length} bytes, expected ${need}`);
  const read = () => {
    const a = new Float64Array(length);
    for (let i = 0; i < length; i++) a[i] = dv.getFloat64(off + i * 8, true);
    off += length * 8;
    return a;
  };
  const state: StrategyState = { name: h.name, step: h.step as number, length };
  if (h.m) state.m = read();
  if (h.v) state.v = read();
  return state;
}
