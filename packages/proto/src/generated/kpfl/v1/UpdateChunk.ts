// Original file: protos/kpfl/v1/aggregator.proto


export interface UpdateChunk {
  'index'?: (number);
  'data'?: (Buffer | Uint8Array | string);
}

export interface UpdateChunk__Output {
  'index': (number);
  'data': (Buffer);
}
