/**
 * @kpfl/model: tfjs models, IDX datasets, partitioning, local training, evaluation,
 * canonical flat weights and their digest (the server step is @kpfl/strategy's).
 * Knows nothing of gRPC, Postgres, HE or tokens.
 */
export {
  activeBackend,
  BACKEND_ORDER,
  BACKEND_PACKAGES,
  type BackendId,
  type BackendPreference,
  type BackendSelection,
  selectBackend,
  wasmBinaryDir,
} from './backend.js';
export {
  type CsvDataset,
  type CsvDatasetOptions,
  loadCsvDataset,
  parseCsv,
  type Standardization,
  standardization,
  standardize,
} from './csv-dataset.js';
export { dataCommitment, type ImageDataset, loadIdxDataset, manifestDigest } from './dataset.js';
export { parseDenseModelName } from './dense-models.js';
export {
  BackendUnavailableError,
  DatasetError,
  type DatasetErrorCode,
  ModelConfigError,
  type ModelConfigErrorCode,
} from './errors.js';
export {
  type ImageFolderDataset,
  type ImageFolderOptions,
  loadImageFolder,
  resizeToUint8,
} from './image-folder.js';
export { type LayersModelFile, loadLayersModelFile, saveLayersModel } from './layers-file.js';
export {
  buildModel,
  getFlatWeights,
  getModelDefinition,
  initialWeights,
  isBuiltInModel,
  type LayerSpec,
  layerShapes,
  type ModelDefinition,
  type ModelId,
  type ModelName,
  modelNames,
  parameterCount,
  registerModel,
  setFlatWeights,
  type WeightInit,
} from './models.js';
/** Layer ops with backend-specific fast gradients, for a custom model's `forward`. */
export * as ops from './ops.js';
export { formatPartitionSpec, type PartitionSpec, parsePartitionSpec, partition } from './partition.js';
export { Rng } from './rng.js';
export { evaluate, type Features, type TrainConfig, type TrainResult, trainLocal } from './train.js';
export { averageDeltas, computeDelta, weightsDigest, weightsFromBytes, weightsToBytes } from './weights.js';
