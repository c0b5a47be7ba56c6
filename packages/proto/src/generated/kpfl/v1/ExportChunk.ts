// Original file: protos/kpfl/v1/audit.proto


export interface ExportChunk {
  'data'?: (Buffer | Uint8Array | string);
}

export interface ExportChunk__Output {
  'data': (Buffer);
}
