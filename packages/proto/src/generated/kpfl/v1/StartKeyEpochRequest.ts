// Original file: protos/kpfl/v1/aggregator.proto


export interface StartKeyEpochRequest {
  'rotate'?: (boolean);
  'heParams'?: (string);
}

export interface StartKeyEpochRequest__Output {
  'rotate': (boolean);
  'heParams': (string);
}
