export type {
  EvaluateResult,
  FitConfig,
  FitResult,
  GlobalModel,
  ParticipantApp,
  ParticipantHooks,
  RoundReport,
  StageTiming,
} from './app.js';
export {
  AggregatorConnection,
  AggregatorError,
  type ClientTls,
  type GrpcStatusName,
} from './client.js';
export {
  type CsvDataOptions,
  DATA_FORMATS,
  type DataFormat,
  type LocalData,
  type LocalDataOptions,
  loadLocalData,
} from './data.js';
export { HeKeyStore, MemberKeys, type MemberKeysOptions } from './he-keys.js';
export { type ParticipantOptions, runParticipant } from './participant.js';
export type { ParticipantPlugin, ParticipantPluginContext, PluginDataOptions } from './plugin.js';
export { concat, SIMULATED_TRAINING, SimulatedParticipant, simulatedEncoder } from './simulated.js';
export { tfjsApp } from './tfjs-app.js';
