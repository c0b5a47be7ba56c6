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
  | 'DIM_MISMATCH';

/** A dataset directory or file is missing, corrupt, or does not match its checksums. */
export class DatasetError extends Error {
  readonly code: DatasetErrorCode;
  /** The file the problem is about, when there is one. */
  readonly file?: string;
  constructor(code: DatasetErrorCode, message: string, file?: string) {
    super(message);
    this.name = 'DatasetError';
    this.code = code;
    this.file = file;
  }
}

/** A requested tfjs backend is not installed, cannot load, or cannot train the requested model. */
export class BackendUnavailableError extends Error {
  readonly code = 'BACKEND_UNAVAILABLE';
  readonly backend: string;
  /** npm package that provides the backend (install it to make the backend available). */
  readonly npmPackage?: string;
  constructor(backend: string, message: string, npmPackage?: string) {
    super(message);
    this.name = 'BackendUnavailableError';
    this.backend = backend;
    this.npmPackage = npmPackage;
  }
}
