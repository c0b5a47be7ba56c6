/**
 * @kpfl/secagg — SecAgg+ mask cryptography (Bonawitz et al. CCS 2017; Bell et al. CCS 2020): per-round
 * X25519 keys, pairwise seeds, AES-256-CTR mask expansion mod t, masking and unmasking, the neighbour
 * graph, parameters, and Shamir shares. Pure: no network, no storage, no HE.
 */
export {
  isSecAggError,
  SECAGG_GRPC_STATUS_OF,
  SecAggError,
  type SecAggErrorCode,
  type SecAggGrpcStatus,
} from './errors.js';
export { neighbourGraph } from './graph.js';
export { type CorrectionInput, type MaskInput, maskCorrection, maskUpdate, pairSign } from './masks.js';
export { addMod, MAX_LENGTH, subMod } from './modular.js';
export { MIN_SECAGG_MEMBERS, type SecAggParameters, secaggParameters } from './parameters.js';
export { expandMask, SEED_BYTES } from './prg.js';
export { fromBase64url, type RoundGraph, roundGraph, toBase64url } from './round-graph.js';
export {
  generateRoundKeys,
  generateSelfSeed,
  type PairContext,
  pairwiseSeed,
  type RoundKeys,
  X25519_KEY_BYTES,
  type X25519KeyPair,
  x25519PublicOf,
} from './seeds.js';
export { combineShares, MAX_SECRET_BYTES, MAX_SHARE_HOLDERS, splitSecret } from './shamir.js';
export { type ChiSquareResult, chiSquareUniform, pearson } from './stats.js';
