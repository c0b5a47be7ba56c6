// Original file: protos/kpfl/v1/aggregator.proto


export interface PutUnmaskResponseResponse {
  'responses'?: (number);
  'survivors'?: (number);
}

export interface PutUnmaskResponseResponse__Output {
  'responses': (number);
  'survivors': (number);
}
