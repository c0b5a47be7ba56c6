// Original file: protos/kpfl/v1/aggregator.proto


export interface GetKeyEnvelopeRequest {
  'epoch'?: (number);
}

export interface GetKeyEnvelopeRequest__Output {
  'epoch': (number);
}
