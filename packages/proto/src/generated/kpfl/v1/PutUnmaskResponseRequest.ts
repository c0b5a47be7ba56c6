// Original file: protos/kpfl/v1/aggregator.proto


export interface PutUnmaskResponseRequest {
  'round'?: (number);
  'response'?: (string);
}

export interface PutUnmaskResponseRequest__Output {
  'round': (number);
  'response': (string);
}
