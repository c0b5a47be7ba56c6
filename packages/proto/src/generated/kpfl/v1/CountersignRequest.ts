// Original file: protos/kpfl/v1/aggregator.proto


export interface CountersignRequest {
  'round'?: (number);
  'certificateJson'?: (string);
}

export interface CountersignRequest__Output {
  'round': (number);
  'certificateJson': (string);
}
