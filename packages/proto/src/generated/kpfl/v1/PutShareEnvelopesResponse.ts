// Original file: protos/kpfl/v1/aggregator.proto


export interface PutShareEnvelopesResponse {
  'stored'?: (number);
  'shared'?: (number);
  'advertised'?: (number);
}

export interface PutShareEnvelopesResponse__Output {
  'stored': (number);
  'shared': (number);
  'advertised': (number);
}
