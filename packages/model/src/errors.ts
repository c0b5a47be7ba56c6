import { KpflError } from '@kpfl/common';

/** Error codes a DatasetError can carry (stable; match on `code`, not on the message). */
export type DatasetErrorCode =
  | 'NOT_A_DIRECTORY'
  | 'MISSING_FILE'
  | 'NOT_IN_CHECKSUMS'
  | 'CHECKSUM_MISMATCH'
  | 'BAD_CHECKSUMS_FILE'
  | 'BAD_GZIP'
  | 'BAD_MAGIC'
  | 'TRUNCATED'
  | 'TRAILING_BYTES'
  | 'COUNT_MISMATCH'
  | 'DIM_MISMATCH'
  /** CSV and image-folder loaders (csv-dataset.ts, image-folder.ts). */
  | 'EMPTY_FILE'
  | 'BAD_CSV'
  | 'RAGGED_ROW'
  | 'NON_NUMERIC'
  | 'UNKNOWN_COLUMN'
  | 'LABEL_COLUMN_MISSING'
  | 'EMPTY_LABEL'
  | 'UNKNOWN_LABEL'
  | 'FEW_CLASSES'
  | 'TOO_MANY_CLASSES'
  | 'BAD_OPTIONS'
  | 'NOT_AN_IMAGE'
  | 'NO_CLASS_FOLDERS';

/** A dataset directory or file is missing, corrupt, or does not match its checksums. */
export class DatasetError extends KpflError<DatasetErrorCode> {
  override readonly name = 'DatasetError';
  /** The file the problem is about, when there is one. */
  readonly file?: string;
  constructor(code: DatasetErrorCode, message: string, file?: string) {
    super(code, message);
    this.file = file;
  }
}

/** A requested tfjs backend is not installed, cannot load, or cannot train the requested model. */
export class BackendUnavailableError extends KpflError<'BACKEND_UNAVAILABLE'> {
  override readonly name = 'BackendUnavailableError';
  readonly backend: string;
  /** npm package that provides the backend (install it to make the backend available). */
  readonly npmPackage?: string;
  constructor(backend: string, message: string, npmPackage?: string) {
    super('BACKEND_UNAVAILABLE', message);
    this.backend = backend;
    this.npmPackage = npmPackage;
  }
}

/** Error codes of a ModelConfigError. */
export type ModelConfigErrorCode =
  /** A partition spec that does not parse, or that cannot split this dataset. */
  | 'BAD_PARTITION'
  /** A client count that cannot share the dataset (not a positive integer, more clients than examples). */
  | 'BAD_CLIENTS'
  /** A custom model definition that cannot be registered. */
  | 'BAD_MODEL'
  /** A model name that is neither built in nor registered. */
  | 'UNKNOWN_MODEL'
  /** A tfjs model.json (or its weight shards) that is missing, malformed or not a classifier kpfl can train. */
  | 'BAD_MODEL_FILE'
  /** A directory to save a model into that holds files other than a saved model's. */
  | 'BAD_SAVE_DIR';

/**
 * A setting of the training setup is wrong: a partition spec, a client count, a server optimizer
 * spec, a model name, a plugin's model definition, a tfjs model file or the directory to save one
 * into. The message names the setting and its valid forms.
 */
export class ModelConfigError extends KpflError<ModelConfigErrorCode> {
  override readonly name = 'ModelConfigError';
}
