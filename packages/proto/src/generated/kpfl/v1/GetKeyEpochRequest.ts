// Original file: protos/kpfl/v1/aggregator.proto


export interface GetKeyEpochRequest {
  'epoch'?: (number);
}

export interface GetKeyEpochRequest__Output {
  'epoch': (number);
}
