// Original file: protos/kpfl/v1/aggregator.proto


export interface KeyEnvelopeIn {
  'recipient'?: (string);
  'jwe'?: (string);
}

export interface KeyEnvelopeIn__Output {
  'recipient': (string);
  'jwe': (string);
}
