/**
 * @kpfl/he — CKKS (mode 'he') and BFV (mode 'secure') packing, encryption, serialization, homomorphic sum,
 * decryption and unpacking over node-seal, fixed-point quantization for BFV, the aggregator's keyless
 * unmasking, and a plain codec running the same pipeline without encryption (the baseline).
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
export { dequantizeSum, quantizeUpdate } from './fixed-point.js';
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
  type BfvParams,
  type CkksParams,
  chunkCountFor,
  DEFAULT_HE_PARAMS,
  DEFAULT_SECURE_PARAMS,
  getHeParams,
  HE_PARAM_SETS,
  type HeParams,
  type HeScheme,
  type Mode,
  paramsForMode,
  slotCountFor,
  sumBoundFor,
} from './params.js';
export { mulberry32 } from './random.js';
export { validateHeParams } from './seal.js';
export { unmaskSum } from './unmask.js';
