// Original file: protos/kpfl/v1/aggregator.proto


export interface ShareEnvelopeIn {
  'recipient'?: (string);
  'jwe'?: (string);
}

export interface ShareEnvelopeIn__Output {
  'recipient': (string);
  'jwe': (string);
}
