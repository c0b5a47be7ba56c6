// Original file: protos/kpfl/v1/aggregator.proto


export interface KeyEnvelope {
  'epoch'?: (number);
  'sender'?: (string);
  'jwe'?: (string);
}

export interface KeyEnvelope__Output {
  'epoch': (number);
  'sender': (string);
  'jwe': (string);
}
