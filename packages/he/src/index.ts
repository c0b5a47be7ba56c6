/**
 * @kpfl/he — CKKS packing, encryption, serialization, homomorphic sum, decryption and unpacking over
 * node-seal, and a plain codec running the same pipeline without encryption (the baseline).
 * Knows nothing of gRPC, Postgres, tfjs or tokens.
 */
export {
  type AccumulatorOptions,
  createAccumulator,
  type SumAccumulator,
  validateChunk,
  validateUpdate,
} from './accumulator.js';
export { benchHe, formatHeBench, type HeBenchOptions, type HeBenchResult } from './bench.js';
export {
  createEncoder,
  defaultWorkerCount,
  type EncoderOptions,
  type UpdateEncoder,
} from './encoder.js';
export { HeError, type HeErrorCode, HeInputError, isHeError } from './errors.js';
export {
  CONSORTIUM_KEY_TYPE,
  type ConsortiumKey,
  checkConsortiumKey,
  consortiumKeyId,
  generateConsortiumKey,
  parseConsortiumKey,
  serializeConsortiumKey,
} from './key.js';
export {
  chunkCountFor,
  DEFAULT_HE_PARAMS,
  getHeParams,
  HE_PARAM_SETS,
  type HeParams,
  type Mode,
  slotCountFor,
  sumBoundFor,
} from './params.js';
export { mulberry32 } from './random.js';
export { validateHeParams } from './seal.js';
