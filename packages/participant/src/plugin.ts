/**
 * The participant plugin interface: what a `--plugin FILE` module exports and what kpfl hands it.
 * Types only: a plugin imports them with `import type` (they vanish at run time, so a mounted
 * plugin file needs no package of its own). The loader lives in the CLI (`kpfl participant`).
 */
import type { dataCommitment, loadIdxDataset, ModelDefinition, registerModel } from '@kpfl/model';
import type * as tf from '@tensorflow/tfjs';
import type { LocalData, LocalDataOptions, loadLocalData } from './data.js';

/** What the participant hands a plugin that exports a function (so plugins need not resolve packages themselves). */
export interface ParticipantPluginContext {
  tf: typeof tf;
  registerModel: typeof registerModel;
  loadIdxDataset: typeof loadIdxDataset;
  dataCommitment: typeof dataCommitment;
  loadLocalData: typeof loadLocalData;
}

/** Options a plugin's loadData receives: the participant's settings that concern its data. */
export interface PluginDataOptions {
  /** The --dataset directory (config key participant.dataset). */
  dir: string;
  testLimit?: number;
  /** Simulation settings (--partition/--clients/--client-index/--seed), when given. */
  slice?: LocalDataOptions['slice'];
}

/**
 * A participant plugin: a module (TypeScript or JavaScript, loaded with `--plugin FILE`) whose
 * default export is either this object or a function (context) => this object.
 * - models: registered with registerModel() before anything runs; a plan names one with
 *   `kpfl rounds schedule --model NAME`.
 * - loadData: replaces the IDX loader; returns this member's local data (uint8 features scaled
 *   to [0, 1] by the trainer, uint8 labels, and a commitment that goes into every attestation).
 */
export interface ParticipantPlugin {
  models?: ModelDefinition[];
  loadData?(o: PluginDataOptions): Promise<LocalData> | LocalData;
}
