// Original file: protos/kpfl/v1/aggregator.proto


export interface AggregateChunk {
  'round'?: (number);
  'index'?: (number);
  'chunkCount'?: (number);
  'data'?: (Buffer | Uint8Array | string);
  'aggregateDigest'?: (string);
  'contributions'?: (number);
  'keyEpoch'?: (number);
}

export interface AggregateChunk__Output {
  'round': (number);
  'index': (number);
  'chunkCount': (number);
  'data': (Buffer);
  'aggregateDigest': (string);
  'contributions': (number);
  'keyEpoch': (number);
}
