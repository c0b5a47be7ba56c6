// Original file: protos/kpfl/v1/aggregator.proto


export interface DownloadAggregateRequest {
  'round'?: (number);
}

export interface DownloadAggregateRequest__Output {
  'round': (number);
}
