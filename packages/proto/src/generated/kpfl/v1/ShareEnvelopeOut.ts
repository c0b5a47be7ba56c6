// Original file: protos/kpfl/v1/aggregator.proto


export interface ShareEnvelopeOut {
  'sender'?: (string);
  'jwe'?: (string);
}

export interface ShareEnvelopeOut__Output {
  'sender': (string);
  'jwe': (string);
}
